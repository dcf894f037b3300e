#!/usr/bin/env bash
# Apply a scenario's documented fix (ground_truth.fix.steps of `kswarm sim --describe NAME
# -o json`) with real kubectl, as a user would: {{vault:MOUNT/PATH#FIELD}} in an argument is
# replaced by the value the simulated Vault holds, read over Vault's HTTP API with the
# address and token of `kswarm sim --vault-env FILE`.
#   scripts/scenario-fix.sh NAME [VAULT_ENV_FILE]
# Needs KUBECONFIG; KSWARM_BIN (default build/kswarm) and KUBECTL (default kubectl) may be set.
set -euo pipefail
name=${1:?usage: scenario-fix.sh NAME [VAULT_ENV_FILE]}
vault_env=${2:-}
ks=${KSWARM_BIN:-build/kswarm}
kubectl=${KUBECTL:-kubectl}
doc=$("$ks" sim --describe "$name" -o json)
vault_value() { # MOUNT/PATH#FIELD
  local ref=$1 mount path field
  [ -n "$vault_env" ] || { echo "scenario-fix.sh: $name needs the vault: pass its env file" >&2; exit 1; }
  # shellcheck disable=SC1090
  . "$vault_env"
  mount=${ref%%/*}; path=${ref#*/}; field=${path#*#}; path=${path%%#*}
  curl -sf -H "X-Vault-Token: $VAULT_TOKEN" "$VAULT_ADDR/v1/$mount/data/$path" |
    jq -er --arg f "$field" '.data.data[$f]'
}
nsteps=$(jq '.ground_truth.fix.steps | length' <<<"$doc")
for ((i = 0; i < nsteps; i++)); do
  mapfile -t step < <(jq -r ".ground_truth.fix.steps[$i].kubectl[]" <<<"$doc")
  for j in "${!step[@]}"; do
    while [[ ${step[$j]} =~ \{\{vault:([^}]*)\}\} ]]; do
      ref=${BASH_REMATCH[1]}
      step[$j]=${step[$j]/"{{vault:$ref}}"/$(vault_value "$ref")}
    done
  done
  "$kubectl" "${step[@]}"
done
