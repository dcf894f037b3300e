/* fuzz_daemon_config.c — libFuzzer target for the daemon's configuration file
 * (daemon_config_parse). Beyond "no crash, no UB, no leak": an error is KS_EINVAL or
 * KS_ETOOBIG with a message starting with the file name and leaves the config as it was; an
 * accepted file gives values within their documented ranges. */
#include "base/common.h"
#include "daemon/config.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct daemon_config c;
	daemon_config_defaults(&c);
	struct ks_err err = {0};
	int rc = daemon_config_parse("k.yaml", (const char *)data, size, &c, &err);
	if (rc) {
		if ((rc != KS_EINVAL && rc != KS_ETOOBIG) || strncmp(err.msg, "k.yaml", 6) != 0 ||
		    c.path != NULL || c.interval_s != 30)
			abort();
	} else if (!c.path || !c.listen || !c.store || c.interval_s < 1 || c.interval_s > 86400 ||
		   c.uptime_target < 0.5 || c.uptime_target > 1 ||
		   (c.nsecret_sources && (!c.secret_sources || !c.vault_addr))) {
		abort();
	}
	daemon_config_release(&c);
	return 0;
}
