/* catalog.h — the EC2 instance-type catalog (data/instance-types.csv, see data/README.md):
 * specs, Karpenter allocatable resources, us-east-1 on-demand price and Spot Advisor figures
 * for each instance type, loaded from CSV into an array with a by-name index.
 *
 * Ownership: a struct cost_catalog is created by cost_catalog_load / cost_catalog_parse_mem
 * and freed by cost_catalog_free; the instance types and their strings belong to it and stay
 * valid, unchanged, until then (the catalog is immutable, so it can be shared between threads).
 * cost_catalog_default_path returns a heap string the caller frees.
 *
 * The file format (RFC 4180 CSV, LF or CRLF line endings):
 *  - the first line is a header that must name every required column (COST_CATALOG_COLUMNS),
 *    in any order; gpu_name is optional; other columns are ignored; a column named twice is
 *    an error;
 *  - every record has as many fields as the header; fields may be quoted ("a,b", "x""y");
 *  - text columns (instance_type, family, category, size, cpu_manufacturer, gpu_name) hold a
 *    valid Kubernetes label value: 1-63 of [A-Za-z0-9._-], starting and ending alphanumeric
 *    (gpu_name may be empty); arch is amd64 or arm64;
 *  - integer columns hold decimal digits only (no sign, no spaces) up to COST_CATALOG_INT_MAX;
 *    od_price_usd_hr is a decimal ("0.096", "55.04": digits with at most one '.', no exponent)
 *    greater than 0; spot_savings_pct is 0-100 and spot_interruption_bucket 0-4, and both are
 *    empty together when there is no Spot Advisor data for the type;
 *  - instance_type values are unique; at least one data row;
 *  - at most COST_CATALOG_MAX_BYTES bytes in all, at most COST_CATALOG_MAX_LINE bytes a line,
 *    no NUL bytes.
 * Errors (KS_EINVAL, KS_ETOOBIG; KS_ENOTFOUND/KS_EIO from cost_catalog_load) say
 * "NAME:LINE:COLUMN: what", LINE and COLUMN 1-based, COLUMN counted in bytes and pointing at
 * the start of the offending field, with the column name for a bad value:
 *   "data/instance-types.csv:17:5: vcpu: 'x' is not a number". */
#ifndef KS_COST_CATALOG_H
#define KS_COST_CATALOG_H

#include <stddef.h>
#include <stdint.h>

struct ks_err;

#define COST_CATALOG_MAX_BYTES (16u << 20)
#define COST_CATALOG_MAX_LINE 4096
#define COST_CATALOG_INT_MAX 2147483647 /* every integer column fits an int */
#define COST_CATALOG_COLUMNS                                                                  \
	"instance_type,family,category,generation,size,arch,vcpu,memory_mib,cpu_manufacturer,"  \
	"gpu_count,max_pods,alloc_cpu_millis,alloc_memory_mib,od_price_usd_hr,"                \
	"spot_savings_pct,spot_interruption_bucket"

/* What cost_instance_spot_price returns for a type without a spot estimate. */
#define COST_NO_SPOT_PRICE (-1.0)

enum cost_arch {
	COST_ARCH_AMD64,
	COST_ARCH_ARM64,
};

struct cost_instance_type {
	const char *name;             /* "m5.large": node.kubernetes.io/instance-type */
	const char *family;           /* "m5" */
	const char *category;         /* "m" */
	const char *size;             /* "large", "metal-48xl" */
	const char *cpu_manufacturer; /* "intel", "amd", "aws" */
	const char *gpu_name;         /* "h100", "l4"; "" when none or when the column is absent */
	enum cost_arch arch;
	int generation;               /* 5 */
	int vcpu;
	int64_t memory_mib;           /* EC2-advertised memory */
	int gpu_count;                /* NVIDIA/AMD GPUs; Neuron accelerators are not counted */
	int max_pods;                 /* Karpenter's ENI-based default, not capped at 110 */
	int64_t alloc_cpu_millis;     /* allocatable after Karpenter's default overhead (AL2023) */
	int64_t alloc_memory_mib;
	double od_price_usd_hr;       /* us-east-1 Linux on-demand, USD per hour */
	int spot_savings_pct;         /* Spot Advisor saving vs on-demand, 0-100; -1: no data */
	int spot_interruption_bucket; /* 0 <5%, 1 5-10%, 2 10-15%, 3 15-20%, 4 >20%; -1: no data */
	int line;                     /* line of the row in the source, for messages */
	/* the integer labels as Karpenter writes them (decimal), for cost_instance_label */
	char generation_label[12], vcpu_label[12], memory_label[24], gpu_count_label[12];
};

struct cost_catalog;

/* Read and parse the CSV file at path (errors name the path). */
int cost_catalog_load(const char *path, struct cost_catalog **out, struct ks_err *err);
/* Parse len bytes of CSV (need not be NUL-terminated); name is used in messages. */
int cost_catalog_parse_mem(const char *name, const char *data, size_t len,
			   struct cost_catalog **out, struct ks_err *err);
void cost_catalog_free(struct cost_catalog *cat); /* NULL is fine */

/* The catalog file to use: $KSWARM_DATA_DIR/instance-types.csv when KSWARM_DATA_DIR is set and
 * not empty; else DIR/data/instance-types.csv when it exists, DIR being the parent of the
 * directory holding the running executable (/src/kswarm/build/kswarm -> /src/kswarm/data);
 * else /usr/share/kswarm/data/instance-types.csv. The caller frees the result. */
char *cost_catalog_default_path(void);

/* The type named name, or NULL. */
const struct cost_instance_type *cost_catalog_find(const struct cost_catalog *cat,
						   const char *name);
size_t cost_catalog_count(const struct cost_catalog *cat);
/* Iterate in file order: for (size_t i = 0; i < cost_catalog_count(c); i++) cost_catalog_at(c, i);
 * NULL when i is out of range. */
const struct cost_instance_type *cost_catalog_at(const struct cost_catalog *cat, size_t i);

const char *cost_arch_name(enum cost_arch arch); /* "amd64", "arm64" */

/* Estimated spot price, USD/hour: od_price_usd_hr * (1 - spot_savings_pct / 100).
 * When the type has no Spot Advisor data (-1) or a saving of 0 — the advisor publishes 0 for
 * every a1.* type, which we read as "no estimate" rather than "spot costs the on-demand
 * price" — it returns COST_NO_SPOT_PRICE (negative). No default discount is assumed. */
double cost_instance_spot_price(const struct cost_instance_type *it);

/* Call fn(key, value, ctx) for each label Karpenter puts on a node of this type, in this order,
 * values formatted as Karpenter writes them (integers in decimal):
 *   node.kubernetes.io/instance-type, kubernetes.io/arch,
 *   karpenter.k8s.aws/instance-family, -category, -generation, -size, -cpu, -memory (MiB),
 *   -cpu-manufacturer, and, only for types with GPU information (gpu_count > 0 or a gpu_name;
 *   Karpenter leaves them off other types), -gpu-name and -gpu-count (which is "0" for the
 *   fractional-GPU g6f/gr6f types, as Karpenter labels them).
 * A non-zero return from fn stops the walk and is returned; otherwise 0. value points into the
 * catalog (valid as long as it). */
typedef int (*cost_label_fn)(const char *key, const char *value, void *ctx);
int cost_instance_labels(const struct cost_instance_type *it, cost_label_fn fn, void *ctx);

/* The value of one of those labels for this type (pointing into the catalog), or NULL when
 * Karpenter does not put that label on it. No formatting: cheap enough to call per type per
 * requirement. */
const char *cost_instance_label(const struct cost_instance_type *it, const char *key);

#endif
