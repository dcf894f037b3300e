/* report.h — writing a diagnosis: JSON for scripts (docs/findings.schema.json), text for
 * people. Ownership: the JSON returned is the caller's (cJSON_Delete). */
#ifndef KS_DIAG_REPORT_H
#define KS_DIAG_REPORT_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "diag/diag.h"

struct ks_buf;

struct diag_report_meta {
	const char *snapshot; /* the file the world came from, or NULL (live) */
	const char *ns;       /* the namespace analysed, or NULL */
};

/* {"cluster":{…}, "findings":[…], "stats":{…}} */
cJSON *diag_report_json(const struct diag_report *rep, const struct world *w,
			const struct diag_report_meta *m);
void diag_report_text(struct ks_buf *b, const struct diag_report *rep, const struct world *w,
		      const struct diag_report_meta *m, bool use_colour);
/* The two parts of the text: the summary lines, and one finding's block. */
void diag_report_header(struct ks_buf *b, const struct diag_report *rep, const struct world *w,
			const struct diag_report_meta *m, bool use_colour);
void diag_finding_text(struct ks_buf *b, const struct diag_finding *f, bool use_colour);
/* "kubectl patch KIND NAME -n NS --type TYPE -p 'PATCH'" for a patch remediation. */
void diag_patch_command(struct ks_buf *b, const cJSON *remediation);

#endif
