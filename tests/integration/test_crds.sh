#!/usr/bin/env bash
# Our Karpenter v1 CRDs (deploy/crds): they install and become Established, realistic
# NodePool / EC2NodeClass manifests are accepted and get the schema defaults, invalid ones
# are rejected by the API server with its message, and the printer columns show up.
# TAP output. Needs KSWARM_TEST_KUBECONFIG and KSWARM_TEST_KUBECTL. Leaves the CRDs
# installed (other tests may share them) but deletes the objects it made.
set -uo pipefail
: "${KSWARM_TEST_KUBECONFIG:?needs the local control plane}" "${KSWARM_TEST_KUBECTL:?}"
export KUBECONFIG=$KSWARM_TEST_KUBECONFIG
kc() { "$KSWARM_TEST_KUBECTL" "$@"; }
root=$(cd "$(dirname "$0")/../.." && pwd)
crds=$root/deploy/crds
np=kst-np-$$ nc=kst-nc-$$
tmp=$(mktemp -d)
n=0 failed=0
cleanup() {
  kc delete nodepool "$np" "$np-bad" --ignore-not-found --wait=false >/dev/null 2>&1
  kc delete ec2nodeclass "$nc" --ignore-not-found --wait=false >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
check() { # description, command...
  local what=$1; shift
  n=$((n + 1))
  if "$@" >"$tmp/last.out" 2>&1; then echo "ok $n - $what"
  else failed=$((failed + 1)); echo "not ok $n - $what"; sed 's/^/# /' "$tmp/last.out" | head -20; fi
}
# rejected FILE PATTERN: the server refuses FILE (dry-run=server, nothing is created) with PATTERN in its message
rejected() {
  if kc apply --dry-run=server --validate=false -f "$1" >"$tmp/rej.out" 2>&1; then echo "accepted, expected a rejection"; return 1; fi
  cat "$tmp/rej.out"; grep -qE "$2" "$tmp/rej.out"
}

check "CRDs apply" kc apply -f "$crds/karpenter.sh_nodepools.yaml" -f "$crds/karpenter.k8s.aws_ec2nodeclasses.yaml"
check "CRDs become Established" kc wait --for condition=established --timeout=60s \
  crd/nodepools.karpenter.sh crd/ec2nodeclasses.karpenter.k8s.aws
check "schemas are structural (no NonStructuralSchema condition)" bash -c \
  "! '$KSWARM_TEST_KUBECTL' get crd nodepools.karpenter.sh ec2nodeclasses.karpenter.k8s.aws -o jsonpath='{.items[*].status.conditions[*].type}' | grep -q NonStructural"

cat >"$tmp/nodeclass.yaml" <<YAML
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: $nc
spec:
  amiSelectorTerms:
    - alias: al2023@latest
  role: KarpenterNodeRole-kst
  subnetSelectorTerms:
    - tags:
        karpenter.sh/discovery: kst-cluster
  securityGroupSelectorTerms:
    - tags:
        karpenter.sh/discovery: kst-cluster
  tags:
    team: platform
  kubelet:
    maxPods: 110
    systemReserved: {cpu: 100m, memory: 100Mi}
    evictionHard: {memory.available: 5%}
  blockDeviceMappings:
    - deviceName: /dev/xvda
      rootVolume: true
      ebs: {volumeSize: 100Gi, volumeType: gp3, encrypted: true, deleteOnTermination: true}
YAML
cat >"$tmp/nodepool.yaml" <<YAML
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: $np
spec:
  template:
    metadata:
      labels:
        workload: general-purpose
    spec:
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: $nc
      requirements:
        - key: karpenter.k8s.aws/instance-category
          operator: In
          values: [c, m, r]
          minValues: 2
        - key: karpenter.k8s.aws/instance-generation
          operator: Gt
          values: ["2"]
        - key: karpenter.sh/capacity-type
          operator: In
          values: [spot, on-demand]
        - key: kubernetes.io/arch
          operator: In
          values: [amd64, arm64]
  limits:
    cpu: 1000
    memory: 1000Gi
  weight: 50
  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    consolidateAfter: 1m
    budgets:
      - nodes: "10%"
      - nodes: "0"
        schedule: "0 9 * * mon-fri"
        duration: 8h
        reasons: [Drifted, Underutilized]
YAML

check "EC2NodeClass (alias al2023@latest, role, tag selectors) is accepted" kc apply -f "$tmp/nodeclass.yaml"
check "NodePool (general purpose) is accepted" kc apply -f "$tmp/nodepool.yaml"

kc get nodepool "$np" -o json >"$tmp/np.json" 2>&1
kc get ec2nodeclass "$nc" -o json >"$tmp/nc.json" 2>&1
jqnp() { jq -er "$1" "$tmp/np.json"; }
check "reads back: requirements and limits as sent" bash -c \
  "jq -e '.spec.template.spec.requirements | length == 4 and .[1].operator == \"Gt\" and .[1].values == [\"2\"] and .[0].minValues == 2' '$tmp/np.json' && jq -e '.spec.limits.cpu == 1000' '$tmp/np.json'"
check "default: template.spec.expireAfter = 720h" bash -c "jq -er '.spec.template.spec.expireAfter' '$tmp/np.json' | grep -qx 720h"
check "given budgets are kept (not replaced by the default)" bash -c \
  "jq -e '.spec.disruption.budgets | length == 2 and .[1].schedule == \"0 9 * * mon-fri\"' '$tmp/np.json'"
check "default: metadataOptions (httpTokens required, hop limit 1)" bash -c \
  "jq -e '.spec.metadataOptions == {httpEndpoint:\"enabled\",httpProtocolIPv6:\"disabled\",httpPutResponseHopLimit:1,httpTokens:\"required\"}' '$tmp/nc.json'"

# Karpenter requires consolidateAfter once disruption is given; a NodePool with no disruption block at all gets Karpenter's defaults for the whole block.
sed -e "s/name: $np\$/name: $np-bad/" "$tmp/nodepool.yaml" | sed '/^  disruption:/,$d' >"$tmp/minimal.yaml"
check "default: absent disruption -> consolidateAfter 0s, WhenEmptyOrUnderutilized, budgets [{nodes: 10%}]" bash -c \
  "'$KSWARM_TEST_KUBECTL' apply --dry-run=server -f '$tmp/minimal.yaml' -o json | jq -e '.spec.disruption == {consolidateAfter:\"0s\",consolidationPolicy:\"WhenEmptyOrUnderutilized\",budgets:[{nodes:\"10%\"}]}'"

sed 's/operator: Gt/operator: Foo/' "$tmp/nodepool.yaml" >"$tmp/bad-op.yaml"
check "rejected: requirement operator Foo" rejected "$tmp/bad-op.yaml" \
  'operator: Unsupported value: "Foo": supported values: "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"'
sed 's/weight: 50/weight: 101/' "$tmp/nodepool.yaml" >"$tmp/bad-weight.yaml"
check "rejected: weight 101" rejected "$tmp/bad-weight.yaml" 'spec.weight: Invalid value: 101: spec.weight in body should be less than or equal to 100'
sed 's/consolidationPolicy: WhenEmptyOrUnderutilized/consolidationPolicy: Sometimes/' "$tmp/nodepool.yaml" >"$tmp/bad-policy.yaml"
check "rejected: consolidationPolicy Sometimes" rejected "$tmp/bad-policy.yaml" \
  'spec.disruption.consolidationPolicy: Unsupported value: "Sometimes": supported values: "WhenEmpty", "WhenEmptyOrUnderutilized"'
sed 's/nodes: "10%"/nodes: "ten percent"/' "$tmp/nodepool.yaml" >"$tmp/bad-budget.yaml"
check "rejected: budget nodes 'ten percent'" rejected "$tmp/bad-budget.yaml" 'spec.disruption.budgets(\[0\])?.nodes in body should match'
sed 's/alias: al2023@latest/alias: ubuntu@latest/' "$tmp/nodeclass.yaml" >"$tmp/bad-alias.yaml"
check "rejected: EC2NodeClass alias family ubuntu" rejected "$tmp/bad-alias.yaml" 'spec.amiSelectorTerms(\[0\])?.alias in body should match'
check "nothing invalid was stored" bash -c "[ \"\$('$KSWARM_TEST_KUBECTL' get nodepools -o name | grep -c '/$np')\" = 1 ]"

# no status yet: Nodes, Ready, CPU and Memory print empty
check "get nodepools -o wide: printer columns" bash -c \
  "'$KSWARM_TEST_KUBECTL' get nodepools '$np' -o wide | head -1 | grep -qE '^NAME +NODECLASS +NODES +READY +AGE +WEIGHT +CPU +MEMORY\$' && '$KSWARM_TEST_KUBECTL' get nodepools '$np' -o wide --no-headers | grep -qE '^$np +$nc +[0-9]+[smhd] +50 *\$'"
check "get ec2nc -o wide: printer columns, Role at priority 1" bash -c \
  "'$KSWARM_TEST_KUBECTL' get ec2nc '$nc' -o wide | grep -qE '^NAME +READY +AGE +ROLE\$' && '$KSWARM_TEST_KUBECTL' get ec2nc '$nc' | head -1 | grep -qE '^NAME +READY +AGE\$' && '$KSWARM_TEST_KUBECTL' get ec2nc '$nc' -o wide --no-headers | grep -q KarpenterNodeRole-kst"
check "category karpenter lists both" bash -c \
  "'$KSWARM_TEST_KUBECTL' get karpenter -o name | grep -qx 'nodepool.karpenter.sh/$np' && '$KSWARM_TEST_KUBECTL' get karpenter -o name | grep -qx 'ec2nodeclass.karpenter.k8s.aws/$nc'"
check "delete what we made" bash -c "'$KSWARM_TEST_KUBECTL' delete nodepool '$np' && '$KSWARM_TEST_KUBECTL' delete ec2nodeclass '$nc'"
echo "1..$n"
[ "$failed" -eq 0 ]
