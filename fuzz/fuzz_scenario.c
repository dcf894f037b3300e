/* fuzz_scenario.c — the scenario parser (YAML → validated scenario) and the ground-truth
 * check evaluator: a scenario that parses has each of its checks evaluated on each of its
 * objects, and its behaviors' image globs matched against its objects' names. Inputs above
 * SIM_SCENARIO_MAX_BYTES are refused by the parser itself. */
#include "base/common.h"
#include "base/json.h"
#include "sim/scenario.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_scenario *sc = NULL;
	struct ks_err err = {0};
	if (sim_scenario_parse("fuzz.yaml", (const char *)data, size, &sc, &err)) {
		if (!err.msg[0])
			abort(); /* every refusal says why */
		return 0;
	}
	static const char *const which[] = {"broken", "healthy"};
	for (size_t w = 0; w < KS_ARRAY_LEN(which); w++) {
		const cJSON *chk;
		cJSON_ArrayForEach(chk, ks_json_get(sc->truth, which[w]))
		{
			const cJSON *obj;
			cJSON_ArrayForEach(obj, sc->objects)
			{
				char found[256];
				sim_scenario_check_object(chk, obj, found, sizeof found);
				if (strlen(found) >= sizeof found)
					abort();
			}
		}
	}
	for (size_t i = 0; i < sc->n_behaviors; i++) {
		const cJSON *obj;
		cJSON_ArrayForEach(obj, sc->objects)
			if (sc->behaviors[i].image_glob)
				sim_glob_match(sc->behaviors[i].image_glob,
					       ks_json_str_or(obj, "metadata.name", ""));
	}
	sim_scenario_free(sc);
	return 0;
}
