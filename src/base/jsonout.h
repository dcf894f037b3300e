/* jsonout.h — JSON and YAML output as kubectl prints them.
 * ks_json_write_go: Go's json.MarshalIndent(v, "", "    ") of a decoded map: keys sorted,
 * 4-space indent, "<", ">", "&", U+2028 and U+2029 escaped as \u003c etc., integers without a
 * fraction, other numbers in the shortest form that reads back the same.
 * ks_yaml_write: YAML as kubectl -o yaml prints it (go-yaml's style): block style, sorted keys,
 * 2-space indent, sequences at their key's indentation, strings plain when they read back as
 * the same string, double-quoted when they would read as another type ("123", "true"),
 * single-quoted when they hold YAML indicators, literal blocks (|, |-) for several lines. */
#ifndef KS_JSONOUT_H
#define KS_JSONOUT_H

#include <cjson/cJSON.h>

struct ks_buf;
struct ks_err;

int ks_json_write_go(const cJSON *v, struct ks_buf *out);
int ks_yaml_write(const cJSON *v, struct ks_buf *out, struct ks_err *err);

#endif
