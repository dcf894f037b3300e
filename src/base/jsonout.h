/* jsonout.h — JSON and YAML output as kubectl prints them.
 * ks_json_write_go: Go's json.MarshalIndent(v, "", "    ") of a decoded map: keys sorted,
 * 4-space indent, "<", ">", "&", U+2028 and U+2029 escaped as \u003c etc., integers without a
 * fraction, other numbers in the shortest form that reads back the same.
 * ks_yaml_write: YAML in block style with sorted keys and 2-space indent (libfyaml), the shape
 * of kubectl -o yaml. */
#ifndef KS_JSONOUT_H
#define KS_JSONOUT_H

#include <cjson/cJSON.h>

struct ks_buf;
struct ks_err;

int ks_json_write_go(const cJSON *v, struct ks_buf *out);
int ks_yaml_write(const cJSON *v, struct ks_buf *out, struct ks_err *err);

#endif
