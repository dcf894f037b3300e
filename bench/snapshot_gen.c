/* snapshot_gen.c — synthetic, realistic cluster snapshots for the benchmarks (ingest,
 * informer, analyze, optimize).
 *   snapshot_gen --pods N [--seed S] [-o FILE]
 * writes one JSON document {"kind":"List","apiVersion":"v1","metadata":{...},"items":[...]}
 * holding Namespaces, Nodes, Services, Deployments, ReplicaSets, StatefulSets, DaemonSets,
 * the four karpenter.sh/v1 NodePools and exactly N Pods, one item per line (the ingest
 * scanner does not rely on the newlines; they make the file greppable). Items are in the
 * order a full list would come: by kind, then namespace and name.
 *
 * The objects are shaped as an EKS cluster with Karpenter serves them: ~30 pods per node;
 * node labels for instance type, zone, nodepool, capacity type, arch; Deployments of 3-20
 * replicas with app.kubernetes.io labels, pod-template-hash and owner references; pods with
 * images, ports, env, resources, probes, a kube-api-access-XXXXX projected volume, default
 * tolerations, conditions, container statuses (containerd IDs, image digests), pod IPs; some
 * Pending and CrashLoopBackOff pods; StatefulSet and DaemonSet pods (aws-node, kube-proxy,
 * node-exporter: their DaemonSets tolerate every taint); NodePools default (m, on-demand and
 * spot), spot-general (c/m/r, spot), compute (c, 4xlarge/8xlarge, tainted
 * workload-class=compute) and memory (r6i/r7i, on-demand), each node's instance type drawn
 * from what its pool allows, each pod placed on a node of the pool its node selector names
 * (pods selecting compute tolerate its taint) or, without one, of an untainted pool, where
 * its requests fit (DaemonSet pods counted): nodes end up about two-thirds requested, the
 * compute pool less; and managedFields as the
 * API server writes them (kube-controller-manager, kubelet, kubectl-client-side-apply, with
 * fieldsV1 derived from the object's own fields) plus last-applied-configuration
 * annotations — the parts an informer's transform strips, and most of the bytes.
 * Deterministic: the same --pods and --seed give the same bytes (time is a fixed "now"). */
#include "base/common.h"
#include "base/buf.h"
#include "base/json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define NOW 1748779200LL /* 2025-06-01T12:00:00Z */
#define PODS_PER_NODE 30

/* ---- randomness ---- */

static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int rint_(int lo, int hi) /* [lo, hi] */
{
	return lo + (int)(rnd() % (uint64_t)(hi - lo + 1));
}

static bool chance(int percent)
{
	return (int)(rnd() % 100) < percent;
}

#define PICK(arr) ((arr)[rnd() % KS_ARRAY_LEN(arr)])

/* The alphabet Kubernetes uses for generated name suffixes and template hashes. */
static void rand_alnum(char *out, int n)
{
	static const char a[] = "bcdfghjklmnpqrstvwxz2456789";
	for (int i = 0; i < n; i++)
		out[i] = a[rnd() % (sizeof a - 1)];
	out[n] = '\0';
}

static void rand_hex(char *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = "0123456789abcdef"[rnd() & 15];
	out[n] = '\0';
}

static void rand_uuid(char out[37])
{
	char h[33];
	rand_hex(h, 32);
	h[12] = '4';
	h[16] = "89ab"[rnd() & 3];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static void ts(char out[21], int64_t t)
{
	int64_t days = t / 86400, sod = t % 86400;
	/* civil from days (Howard Hinnant) */
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
	snprintf(out, 21, "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)(y + (m <= 2)), m, d,
		 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
}

/* ---- cJSON shorthands ---- */

static cJSON *must(cJSON *j)
{
	if (!j) {
		fprintf(stderr, "snapshot_gen: out of memory\n");
		exit(1);
	}
	return j;
}

static cJSON *O(void)
{
	return must(cJSON_CreateObject());
}

static cJSON *A(void)
{
	return must(cJSON_CreateArray());
}

static void put(cJSON *o, const char *k, cJSON *v)
{
	if (cJSON_IsArray(o))
		cJSON_AddItemToArray(o, v);
	else
		cJSON_AddItemToObject(o, k, v);
}

static void S(cJSON *o, const char *k, const char *v)
{
	put(o, k, must(cJSON_CreateString(v)));
}

static void N(cJSON *o, const char *k, double v)
{
	put(o, k, must(cJSON_CreateNumber(v)));
}

static void B(cJSON *o, const char *k, bool v)
{
	put(o, k, must(cJSON_CreateBool(v)));
}

static void Null(cJSON *o, const char *k)
{
	put(o, k, must(cJSON_CreateNull()));
}

static void T(cJSON *o, const char *k, int64_t t)
{
	char b[21];
	ts(b, t);
	S(o, k, b);
}

static cJSON *OO(cJSON *o, const char *k)
{
	cJSON *c = O();
	put(o, k, c);
	return c;
}

static cJSON *AA(cJSON *o, const char *k)
{
	cJSON *c = A();
	put(o, k, c);
	return c;
}

static cJSON *dup(const cJSON *v)
{
	return must(cJSON_Duplicate(v, true));
}

/* Insert item as member key of obj right after member prev (at the end when prev is last). */
static void insert_after(cJSON *obj, const char *prev, const char *key, cJSON *item)
{
	int idx = 0;
	for (const cJSON *c = obj->child; c; c = c->next, idx++) {
		if (strcmp(c->string, prev) == 0)
			break;
	}
	item->string = ks_strdup(key);
	if (idx + 1 >= cJSON_GetArraySize(obj))
		cJSON_AddItemToArray(obj, item);
	else
		cJSON_InsertItemInArray(obj, idx + 1, item);
}

/* ---- managedFields ---- */

/* Fields that identify the items of associative lists ("k:{...}" in fieldsV1). */
static const char *list_keys(const char *field)
{
	static const struct {
		const char *field, *keys;
	} t[] = {{"containers", "name"},     {"initContainers", "name"}, {"env", "name"},
		 {"volumes", "name"},        {"ports", "containerPort,protocol"},
		 {"volumeMounts", "mountPath"}, {"conditions", "type"},  {"podIPs", "ip"},
		 {"hostIPs", "ip"},          {"ownerReferences", "uid"}, {"addresses", "type"}};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++) {
		if (field && strcmp(t[i].field, field) == 0)
			return t[i].keys;
	}
	return NULL;
}

/* The fieldsV1 set of the members of object v, as structured-merge-diff writes it:
 * "f:name" per field, "k:{...}" per item of a keyed list, "." for a map, struct or item
 * owned as a whole. skip lists members to leave out. */
static cJSON *fset(const cJSON *v, bool dot, const char *const *skip)
{
	cJSON *f = O();
	if (dot)
		OO(f, ".");
	for (const cJSON *c = v->child; c; c = c->next) {
		bool skipped = false;
		for (const char *const *s = skip; s && *s; s++)
			skipped |= strcmp(*s, c->string) == 0;
		if (skipped)
			continue;
		char key[512];
		snprintf(key, sizeof key, "f:%s", c->string);
		const char *lk = list_keys(c->string);
		if (cJSON_IsObject(c) && c->child) {
			put(f, key, fset(c, true, NULL));
		} else if (cJSON_IsArray(c) && c->child && lk) {
			cJSON *l = OO(f, key);
			OO(l, ".");
			for (const cJSON *it = c->child; it; it = it->next) {
				cJSON *k = O();
				char names[64];
				snprintf(names, sizeof names, "%s", lk);
				char *save = NULL;
				for (char *n = strtok_r(names, ",", &save); n;
				     n = strtok_r(NULL, ",", &save)) {
					const cJSON *x = cJSON_GetObjectItemCaseSensitive(it, n);
					put(k, n, x ? dup(x) : must(cJSON_CreateString("TCP")));
				}
				char *ks = cJSON_PrintUnformatted(k);
				if (!ks)
					must(NULL);
				char ikey[1024];
				snprintf(ikey, sizeof ikey, "k:%s", ks);
				cJSON_free(ks);
				cJSON_Delete(k);
				put(l, ikey, fset(it, true, NULL));
			}
		} else {
			OO(f, key);
		}
	}
	return f;
}

static cJSON *mf_entry(const char *manager, const char *api, int64_t t, cJSON *fields,
		       const char *subresource)
{
	cJSON *e = O();
	S(e, "manager", manager);
	S(e, "operation", "Update");
	S(e, "apiVersion", api);
	T(e, "time", t);
	S(e, "fieldsType", "FieldsV1");
	put(e, "fieldsV1", fields);
	if (subresource)
		S(e, "subresource", subresource);
	return e;
}

/* {"f:metadata":{...},"f:spec":{...}} from the object's own metadata and spec. */
static cJSON *fields_meta_spec(const cJSON *obj, const char *const *meta_fields,
			       const char *const *spec_skip)
{
	cJSON *f = O();
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	cJSON *fm = OO(f, "f:metadata");
	for (const char *const *m = meta_fields; *m; m++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(md, *m);
		if (!x)
			continue;
		char key[64];
		snprintf(key, sizeof key, "f:%s", *m);
		if (strcmp(*m, "ownerReferences") == 0) {
			cJSON *l = OO(fm, key);
			OO(l, ".");
			for (const cJSON *it = x->child; it; it = it->next) {
				char ikey[128];
				snprintf(ikey, sizeof ikey, "k:{\"uid\":\"%s\"}",
					 cJSON_GetObjectItemCaseSensitive(it, "uid")->valuestring);
				OO(l, ikey);
			}
		} else if (cJSON_IsObject(x) && x->child) {
			put(fm, key, fset(x, true, NULL));
		} else {
			OO(fm, key);
		}
	}
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	if (spec)
		put(f, "f:spec", fset(spec, false, spec_skip));
	return f;
}

static void add_managed(cJSON *obj, cJSON *entry)
{
	cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	cJSON *mf = cJSON_GetObjectItemCaseSensitive(md, "managedFields");
	if (!mf)
		mf = AA(md, "managedFields");
	put(mf, NULL, entry);
}

/* kubectl apply's annotation: the manifest as applied (no status, no server fields). */
static void add_last_applied(cJSON *obj)
{
	cJSON *m = O();
	S(m, "apiVersion", cJSON_GetObjectItemCaseSensitive(obj, "apiVersion")->valuestring);
	S(m, "kind", cJSON_GetObjectItemCaseSensitive(obj, "kind")->valuestring);
	cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	cJSON *mm = OO(m, "metadata");
	static const char *keep[] = {"labels", "name", "namespace"};
	for (size_t i = 0; i < KS_ARRAY_LEN(keep); i++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(md, keep[i]);
		if (x)
			put(mm, keep[i], dup(x));
	}
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	if (spec)
		put(m, "spec", dup(spec));
	char *text = cJSON_PrintUnformatted(m);
	cJSON_Delete(m);
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(md, "annotations");
	if (!ann)
		ann = OO(md, "annotations");
	size_t n = strlen(text);
	char *nl = ks_malloc(n + 2);
	memcpy(nl, text, n);
	nl[n] = '\n';
	nl[n + 1] = '\0';
	S(ann, "kubectl.kubernetes.io/last-applied-configuration", nl);
	free(nl);
	cJSON_free(text);
}

/* ---- the cluster plan ---- */

static const char *const teams[] = {
	"payments", "checkout", "catalog", "search", "identity", "orders", "shipping",
	"inventory", "notifications", "analytics", "recommendations", "billing", "fraud",
	"pricing", "media", "messaging", "profile", "reviews", "ads", "loyalty", "ledger",
	"onboarding", "support", "growth", "platform", "data", "ml-serving", "edge", "partner",
	"risk"};
static const char *const components[] = {
	"api", "worker", "web", "gateway", "consumer", "scheduler", "sync", "indexer", "grpc",
	"admin", "webhook", "cache-warmer", "exporter", "reconciler", "router", "stream",
	"batch", "frontend", "backend", "auth"};
static const char *const zones[] = {"us-west-2a", "us-west-2b", "us-west-2c"};
static const char *const zone_ids[] = {"usw2-az1", "usw2-az2", "usw2-az3"};

struct itype {
	const char *name, *family, *size, *arch;
	int cpu, mem_gi, pods, gen;
};
static const struct itype itypes[] = {
	{"m5.xlarge", "m5", "xlarge", "amd64", 4, 16, 58, 5},
	{"m5.2xlarge", "m5", "2xlarge", "amd64", 8, 32, 58, 5},
	{"m6i.2xlarge", "m6i", "2xlarge", "amd64", 8, 32, 58, 6},
	{"m6i.4xlarge", "m6i", "4xlarge", "amd64", 16, 64, 234, 6},
	{"c6i.4xlarge", "c6i", "4xlarge", "amd64", 16, 32, 234, 6},
	{"r6i.2xlarge", "r6i", "2xlarge", "amd64", 8, 64, 58, 6},
	{"m7g.2xlarge", "m7g", "2xlarge", "arm64", 8, 32, 58, 7},
	{"c7g.4xlarge", "c7g", "4xlarge", "arm64", 16, 32, 234, 7},
};

struct node {
	char name[80], ip[16], uid[37], machine[33], boot[37], sysuuid[37], instance[20];
	int zone, itype, pool;
	bool spot;
	int64_t created;
	int subnet, index;
	int next_ip; /* pods get 10.<1+index/128>.<(index%128)*2 + k/250>.<4 + k%250> */
	char **images; /* images of the pods placed here (borrowed) */
	size_t nimages, capimages;
	int64_t free_cpu_m, free_mem_mi, free_pods; /* what the pods placed so far leave */
};

enum wkind { W_DEPLOY, W_STS, W_DS };

struct workload {
	enum wkind kind;
	int ns; /* index into the namespace list */
	char name[64], uid[37], rs_uid[37], hash[11], old_hash[11], old_rs_uid[37];
	char image[160], digest[65], side_image[96], side_digest[65];
	char team[32], component[32];
	int replicas, side; /* side: 0 none, 1 fluent-bit, 2 envoy */
	uint64_t seed;      /* template randomness */
	int64_t req_cpu_m, req_mem_mi; /* a pod's requests (from its template) */
	int64_t created, rollout;
	int rs_revision;
	char svc_uid[37], svc_ip[16];
};

/* The Karpenter NodePools and what each allows (make_nodepool writes them; plan draws each
 * node's instance type from its pool's list, so nodes and requirements agree). */
static const char *const pools[] = {"default", "spot-general", "compute", "memory"};
enum { POOL_DEFAULT, POOL_SPOT, POOL_COMPUTE, POOL_MEMORY };
static const int pool_types[][8] = {
	[POOL_DEFAULT] = {0, 1, 2, 3, 6, -1},         /* m: m5, m6i, m7g */
	[POOL_SPOT] = {0, 1, 2, 3, 4, 5, 6, 7},       /* c, m, r on spot */
	[POOL_COMPUTE] = {4, 7, -1},                  /* c: c6i, c7g (tainted) */
	[POOL_MEMORY] = {5, -1},                      /* r: r6i, on-demand */
};

static size_t pool_ntypes(int pool)
{
	size_t n = 0;
	while (n < KS_ARRAY_LEN(pool_types[pool]) && pool_types[pool][n] >= 0)
		n++;
	return n;
}

static char **ns_names;
static size_t n_ns;
static int64_t *ns_created;
static char (*ns_uid)[37];
static struct node *nodes;
static size_t n_nodes;
static struct workload *wls;
static size_t n_wl, cap_wl;
static uint64_t rv_counter = 48200000;

static char *next_rv(char out[24])
{
	rv_counter += 1 + rnd() % 40;
	snprintf(out, 24, "%llu", (unsigned long long)rv_counter);
	return out;
}

static void node_add_image(struct node *n, char *img)
{
	for (size_t i = 0; i < n->nimages; i++) {
		if (n->images[i] == img)
			return;
	}
	n->images = ks_grow(n->images, sizeof *n->images, n->nimages + 1, &n->capimages);
	n->images[n->nimages++] = img;
}

static void plan(long pods)
{
	n_nodes = (size_t)((pods + PODS_PER_NODE - 1) / PODS_PER_NODE);
	if (!n_nodes)
		n_nodes = 1;
	nodes = ks_calloc(n_nodes, sizeof *nodes);
	for (size_t i = 0; i < n_nodes; i++) {
		struct node *n = &nodes[i];
		n->zone = (int)(rnd() % 3);
		/* 40% default, 30% spot-general, 10% compute, 20% memory */
		static const int pool_of_draw[10] = {0, 0, 0, 0, 1, 1, 1, 2, 3, 3};
		n->pool = pool_of_draw[rnd() % 10];
		n->spot = n->pool == POOL_SPOT || (n->pool != POOL_MEMORY && chance(20));
		n->itype = pool_types[n->pool][rnd() % pool_ntypes(n->pool)];
		n->subnet = n->zone * 64 + (int)(i % 31) * 2;
		snprintf(n->ip, sizeof n->ip, "10.0.%d.%d", n->subnet, 2 + (int)(i / 31) % 250);
		snprintf(n->name, sizeof n->name, "ip-10-0-%d-%d.us-west-2.compute.internal",
			 n->subnet, 2 + (int)(i / 31) % 250);
		rand_uuid(n->uid);
		rand_hex(n->machine, 32);
		rand_uuid(n->boot);
		rand_uuid(n->sysuuid);
		memcpy(n->sysuuid, "ec2", 3);
		char h[18];
		rand_hex(h, 17);
		snprintf(n->instance, sizeof n->instance, "i-%s", h);
		n->created = NOW - rint_(3600, 14 * 86400);
		n->next_ip = 0;
		n->index = (int)i;
	}

	/* Namespaces: system ones, then one or two per team in use. */
	static const char *const sys[] = {"default",      "kube-system",  "kube-public",
					  "kube-node-lease", "karpenter", "monitoring",
					  "cert-manager", "ingress-nginx"};
	size_t app_ns = (size_t)(pods / 400) + 3;
	if (app_ns > KS_ARRAY_LEN(teams) * 3)
		app_ns = KS_ARRAY_LEN(teams) * 3;
	n_ns = KS_ARRAY_LEN(sys) + app_ns;
	ns_names = ks_calloc(n_ns, sizeof *ns_names);
	ns_created = ks_calloc(n_ns, sizeof *ns_created);
	ns_uid = ks_calloc(n_ns, sizeof *ns_uid);
	for (size_t i = 0; i < n_ns; i++) {
		if (i < KS_ARRAY_LEN(sys)) {
			ns_names[i] = ks_strdup(sys[i]);
		} else {
			size_t k = i - KS_ARRAY_LEN(sys);
			static const char *const env[] = {"", "-staging", "-canary"};
			ns_names[i] = ks_asprintf("%s%s", teams[k % KS_ARRAY_LEN(teams)],
						  env[k / KS_ARRAY_LEN(teams)]);
		}
		ns_created[i] = NOW - 400 * 86400 + (int64_t)i * 3600 * 7;
		rand_uuid(ns_uid[i]);
	}

	/* DaemonSets: one pod per node each; at most half the pods. */
	static const char *const ds[][3] = {
		{"aws-node", "kube-system",
		 "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1"},
		{"kube-proxy", "kube-system",
		 "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/"
		 "kube-proxy:v1.31.3-minimal-eksbuild.2"},
		{"node-exporter", "monitoring", "quay.io/prometheus/node-exporter:v1.8.2"}};
	size_t nds = 3;
	while (nds && (long)(nds * n_nodes) > pods / 2)
		nds--;
	long left = pods - (long)(nds * n_nodes);
	long sts_pods = pods / 20;
	for (size_t i = 0; i < nds + 64 + (size_t)pods / 8; i++) {
		if (n_wl == cap_wl)
			wls = ks_grow(wls, sizeof *wls, n_wl + 1, &cap_wl);
		struct workload *w = &wls[n_wl];
		memset(w, 0, sizeof *w);
		w->seed = rnd();
		rand_uuid(w->uid);
		rand_uuid(w->rs_uid);
		rand_uuid(w->old_rs_uid);
		rand_alnum(w->hash, rint_(9, 10));
		rand_alnum(w->old_hash, rint_(9, 10));
		rand_hex(w->digest, 64);
		rand_hex(w->side_digest, 64);
		w->created = NOW - rint_(20, 380) * 86400LL - rint_(0, 86399);
		w->rollout = NOW - rint_(1, 30 * 86400);
		if (w->rollout < w->created)
			w->rollout = w->created;
		w->rs_revision = rint_(1, 40);
		rand_uuid(w->svc_uid);
		snprintf(w->svc_ip, sizeof w->svc_ip, "172.20.%d.%d", rint_(0, 255), rint_(1, 254));
		if (i < nds) {
			w->kind = W_DS;
			snprintf(w->name, sizeof w->name, "%s", ds[i][0]);
			w->ns = strcmp(ds[i][1], "kube-system") == 0 ? 1 : 5;
			snprintf(w->image, sizeof w->image, "%s", ds[i][2]);
			snprintf(w->team, sizeof w->team, "%s", ds[i][0]);
			snprintf(w->component, sizeof w->component, "node-agent");
			w->replicas = (int)n_nodes;
			w->side = i == 0 ? 3 : 0; /* aws-node has the network-policy agent */
			n_wl++;
			continue;
		}
		if (left <= 0)
			break;
		w->ns = (int)(KS_ARRAY_LEN(sys) + rnd() % app_ns);
		const char *team =
			teams[(size_t)(w->ns - (int)KS_ARRAY_LEN(sys)) % KS_ARRAY_LEN(teams)];
		snprintf(w->team, sizeof w->team, "%s", team);
		snprintf(w->component, sizeof w->component, "%s", PICK(components));
		snprintf(w->name, sizeof w->name, "%s-%s", team, w->component);
		for (size_t j = nds; j < n_wl; j++) {
			if (wls[j].ns == w->ns && strcmp(wls[j].name, w->name) == 0) {
				snprintf(w->name, sizeof w->name, "%s-%s-%d", team, w->component,
					 (int)n_wl);
				break;
			}
		}
		snprintf(w->image, sizeof w->image,
			 "123456789012.dkr.ecr.us-west-2.amazonaws.com/%s/%s:v%d.%d.%d-%.7s", team,
			 w->component, rint_(1, 4), rint_(0, 30), rint_(0, 12), w->digest + 20);
		w->side = chance(25) ? rint_(1, 2) : 0;
		if (sts_pods > 0 && chance(12)) {
			w->kind = W_STS;
			w->replicas = rint_(3, 5);
			sts_pods -= w->replicas;
		} else {
			w->kind = W_DEPLOY;
			w->replicas = rint_(3, 20);
		}
		if (w->replicas > left)
			w->replicas = (int)left;
		left -= w->replicas;
		n_wl++;
	}
	if (left > 0) { /* ran out of workloads: grow the last deployment */
		wls[n_wl - 1].replicas += (int)left;
	}
	for (size_t i = 0; i < n_wl; i++) {
		if (wls[i].side == 1)
			snprintf(wls[i].side_image, sizeof wls[i].side_image,
				 "public.ecr.aws/aws-observability/"
				 "aws-for-fluent-bit:2.32.2.20240627");
		else if (wls[i].side == 2)
			snprintf(wls[i].side_image, sizeof wls[i].side_image,
				 "docker.io/envoyproxy/envoy:v1.30.4");
		else if (wls[i].side == 3)
			snprintf(wls[i].side_image, sizeof wls[i].side_image,
				 "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/"
				 "aws-network-policy-agent:v1.1.6-eksbuild.1");
	}
}

/* ---- object builders ---- */

static cJSON *labels_of(const struct workload *w, bool selector_only)
{
	cJSON *l = O();
	if (w->kind == W_DS) {
		S(l, "k8s-app", w->name);
		if (!selector_only)
			S(l, "app.kubernetes.io/name", w->name);
		return l;
	}
	S(l, "app.kubernetes.io/instance", w->team);
	S(l, "app.kubernetes.io/name", w->name);
	if (selector_only)
		return l;
	S(l, "app.kubernetes.io/component", w->component);
	S(l, "app.kubernetes.io/part-of", w->team);
	S(l, "app.kubernetes.io/managed-by", "Helm");
	S(l, "helm.sh/chart", "service-base-3.14.2");
	return l;
}

static cJSON *probe(int port, const char *path, int delay, int period)
{
	cJSON *p = O();
	cJSON *h = OO(p, "httpGet");
	S(h, "path", path);
	N(h, "port", port);
	S(h, "scheme", "HTTP");
	N(p, "initialDelaySeconds", delay);
	N(p, "timeoutSeconds", 1);
	N(p, "periodSeconds", period);
	N(p, "successThreshold", 1);
	N(p, "failureThreshold", 3);
	return p;
}

static cJSON *resources(const char *cpu, const char *mem, const char *lcpu, const char *lmem)
{
	cJSON *r = O();
	if (lcpu || lmem) {
		cJSON *l = OO(r, "limits");
		if (lcpu)
			S(l, "cpu", lcpu);
		if (lmem)
			S(l, "memory", lmem);
	}
	cJSON *q = OO(r, "requests");
	S(q, "cpu", cpu);
	S(q, "memory", mem);
	return r;
}

static cJSON *container_main(const struct workload *w)
{
	cJSON *c = O();
	S(c, "name", w->kind == W_DS ? w->name : w->component);
	S(c, "image", w->image);
	if (chance(30)) {
		cJSON *args = AA(c, "args");
		S(args, NULL, "--config=/etc/app/config.yaml");
		S(args, NULL, "--log-format=json");
	}
	int port = PICK(((const int[]){8080, 8080, 8000, 3000, 9090, 5000, 8443}));
	cJSON *ports = AA(c, "ports");
	cJSON *p = O();
	S(p, "name", "http");
	N(p, "containerPort", port);
	S(p, "protocol", "TCP");
	put(ports, NULL, p);
	if (chance(50)) {
		p = O();
		S(p, "name", "metrics");
		N(p, "containerPort", 9102);
		S(p, "protocol", "TCP");
		put(ports, NULL, p);
	}
	cJSON *env = AA(c, "env");
	static const char *const names[] = {
		"LOG_LEVEL", "OTEL_EXPORTER_OTLP_ENDPOINT", "SPRING_PROFILES_ACTIVE", "AWS_REGION",
		"DB_HOST", "REDIS_URL", "KAFKA_BROKERS", "FEATURE_FLAGS", "HTTP_TIMEOUT_MS",
		"MAX_CONNECTIONS", "CACHE_TTL", "SERVICE_NAME", "ENVIRONMENT", "JAVA_OPTS"};
	int ne = rint_(2, 8);
	for (int i = 0; i < ne; i++) {
		cJSON *e = O();
		char val[128];
		S(e, "name", names[((size_t)i * 5 + w->seed) % KS_ARRAY_LEN(names)]);
		switch (rnd() % 6) {
		case 0:
			snprintf(val, sizeof val, "http://otel-collector.monitoring.svc:4317");
			S(e, "value", val);
			break;
		case 1:
			snprintf(val, sizeof val, "%s-%d.%s.svc.cluster.local:%d", w->team, i,
				 w->team, 5432 + i);
			S(e, "value", val);
			break;
		case 2: {
			cJSON *vf = OO(e, "valueFrom");
			cJSON *sk = OO(vf, "secretKeyRef");
			snprintf(val, sizeof val, "%s-secrets", w->name);
			S(sk, "name", val);
			S(sk, "key", "password");
			break;
		}
		case 3: {
			cJSON *vf = OO(e, "valueFrom");
			cJSON *fr = OO(vf, "fieldRef");
			S(fr, "apiVersion", "v1");
			S(fr, "fieldPath", "status.podIP");
			break;
		}
		default:
			snprintf(val, sizeof val, "%d", rint_(1, 5000));
			S(e, "value", val);
		}
		put(env, NULL, e);
	}
	/* about 200m and 1 GiB a pod on average: with ~27 pods a node, the nodes end up about
	 * two-thirds requested, as in a cluster Karpenter consolidates */
	static const char *const cpus[] = {"50m", "100m", "100m", "200m", "250m", "500m"};
	static const char *const mems[] = {"128Mi", "256Mi", "512Mi", "1Gi", "2Gi", "2Gi"};
	const char *mem = PICK(mems), *cpu = PICK(cpus);
	if (w->kind == W_DS) /* node agents ask for little */
		cpu = "100m", mem = "128Mi";
	put(c, "resources", resources(cpu, mem, chance(30) ? "2" : NULL, mem));
	cJSON *vm = AA(c, "volumeMounts");
	if (w->kind != W_DS) {
		cJSON *m = O();
		S(m, "name", "config");
		B(m, "readOnly", true);
		S(m, "mountPath", "/etc/app");
		put(vm, NULL, m);
	}
	if (w->kind == W_STS) {
		cJSON *m = O();
		S(m, "name", "data");
		S(m, "mountPath", "/var/lib/data");
		put(vm, NULL, m);
	}
	put(c, "livenessProbe", probe(port, "/healthz", 10, 10));
	put(c, "readinessProbe", probe(port, "/ready", 5, 5));
	S(c, "terminationMessagePath", "/dev/termination-log");
	S(c, "terminationMessagePolicy", "File");
	S(c, "imagePullPolicy", "IfNotPresent");
	cJSON *sc = OO(c, "securityContext");
	if (w->kind == W_DS) {
		B(sc, "privileged", true);
	} else {
		cJSON *cap = OO(sc, "capabilities");
		S(AA(cap, "drop"), NULL, "ALL");
		B(sc, "runAsNonRoot", true);
		B(sc, "readOnlyRootFilesystem", true);
		B(sc, "allowPrivilegeEscalation", false);
	}
	if (!cJSON_GetArraySize(vm))
		cJSON_DeleteItemFromObjectCaseSensitive(c, "volumeMounts");
	return c;
}

static cJSON *container_side(const struct workload *w)
{
	cJSON *c = O();
	S(c, "name", w->side == 1 ? "log-router" : w->side == 2 ? "envoy" : "aws-eks-nodeagent");
	S(c, "image", w->side_image);
	if (w->side == 2) {
		cJSON *args = AA(c, "args");
		S(args, NULL, "-c");
		S(args, NULL, "/etc/envoy/envoy.yaml");
		cJSON *ports = AA(c, "ports");
		cJSON *p = O();
		S(p, "name", "envoy-admin");
		N(p, "containerPort", 9901);
		S(p, "protocol", "TCP");
		put(ports, NULL, p);
	}
	put(c, "resources", resources("50m", "64Mi", NULL, "128Mi"));
	S(c, "terminationMessagePath", "/dev/termination-log");
	S(c, "terminationMessagePolicy", "File");
	S(c, "imagePullPolicy", "IfNotPresent");
	return c;
}

static cJSON *toleration(const char *key, const char *op, const char *value, const char *effect,
			 int seconds)
{
	cJSON *t = O();
	S(t, "key", key);
	S(t, "operator", op);
	if (value)
		S(t, "value", value);
	S(t, "effect", effect);
	if (seconds >= 0)
		N(t, "tolerationSeconds", seconds);
	return t;
}

/* The pod template's spec, as the API server stores it in a Deployment (defaults set). */
static cJSON *template_spec(const struct workload *w)
{
	cJSON *s = O();
	cJSON *vols = AA(s, "volumes");
	if (w->kind != W_DS) {
		cJSON *v = O();
		S(v, "name", "config");
		cJSON *cm = OO(v, "configMap");
		char n[96];
		snprintf(n, sizeof n, "%s-config", w->name);
		S(cm, "name", n);
		N(cm, "defaultMode", 420);
		put(vols, NULL, v);
	} else {
		cJSON *v = O();
		S(v, "name", "host-root");
		cJSON *hp = OO(v, "hostPath");
		S(hp, "path", "/");
		S(hp, "type", "");
		put(vols, NULL, v);
	}
	cJSON *cs = AA(s, "containers");
	put(cs, NULL, container_main(w));
	if (w->side)
		put(cs, NULL, container_side(w));
	S(s, "restartPolicy", "Always");
	N(s, "terminationGracePeriodSeconds", w->kind == W_DS ? 1 : 30);
	S(s, "dnsPolicy", w->kind == W_DS ? "ClusterFirstWithHostNet" : "ClusterFirst");
	int sel_pool = -1;
	if (w->kind != W_DS && chance(40)) {
		cJSON *ns = OO(s, "nodeSelector");
		sel_pool = (int)(rnd() % KS_ARRAY_LEN(pools));
		S(ns, "karpenter.sh/nodepool", pools[sel_pool]);
	}
	if (w->kind == W_DS) {
		S(s, "serviceAccountName", w->name);
		B(s, "hostNetwork", true);
	} else {
		S(s, "serviceAccountName", chance(70) ? w->name : "default");
	}
	cJSON *psc = OO(s, "securityContext");
	if (w->kind != W_DS) {
		N(psc, "runAsUser", 1000);
		N(psc, "fsGroup", 2000);
	}
	if (w->kind != W_DS && chance(30)) {
		cJSON *aff = OO(s, "affinity");
		cJSON *pa = OO(aff, "podAntiAffinity");
		cJSON *pref = AA(pa, "preferredDuringSchedulingIgnoredDuringExecution");
		cJSON *t = O();
		N(t, "weight", 100);
		cJSON *pat = OO(t, "podAffinityTerm");
		cJSON *ls = OO(pat, "labelSelector");
		put(ls, "matchLabels", labels_of(w, true));
		S(pat, "topologyKey", "kubernetes.io/hostname");
		put(pref, NULL, t);
	}
	S(s, "schedulerName", "default-scheduler");
	if (w->kind == W_DS) {
		cJSON *t = AA(s, "tolerations");
		put(t, NULL, toleration("", "Exists", NULL, "NoSchedule", -1));
		cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetArrayItem(t, 0), "key");
		S(s, "priorityClassName", "system-node-critical");
	} else if (chance(40)) {
		cJSON *t = AA(s, "tolerations");
		put(t, NULL,
		    toleration("karpenter.sh/capacity-type", "Equal", "spot", "NoSchedule", -1));
	}
	if (sel_pool == POOL_COMPUTE) { /* the compute pool's nodes are tainted */
		cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "tolerations");
		if (!t)
			t = AA(s, "tolerations");
		put(t, NULL, toleration("workload-class", "Equal", "compute", "NoSchedule", -1));
	}
	B(s, "enableServiceLinks", w->kind != W_DS);
	if (w->kind == W_DEPLOY && chance(25)) {
		cJSON *tsc = AA(s, "topologySpreadConstraints");
		cJSON *t = O();
		N(t, "maxSkew", 1);
		S(t, "topologyKey", "topology.kubernetes.io/zone");
		S(t, "whenUnsatisfiable", "ScheduleAnyway");
		cJSON *ls = OO(t, "labelSelector");
		put(ls, "matchLabels", labels_of(w, true));
		put(tsc, NULL, t);
	}
	return s;
}

static cJSON *template_meta(const struct workload *w)
{
	cJSON *m = O();
	cJSON *l = labels_of(w, false);
	put(m, "labels", l);
	if (w->kind != W_DS && chance(60)) {
		cJSON *a = OO(m, "annotations");
		S(a, "prometheus.io/scrape", "true");
		S(a, "prometheus.io/port", "9102");
		if (chance(50)) {
			char t[21];
			ts(t, w->rollout);
			S(a, "kubectl.kubernetes.io/restartedAt", t);
		}
	}
	return m;
}

struct tmpl {
	cJSON *meta, *spec;
};

static cJSON *meta_common(const char *name, const char *ns, const char *uid, int64_t created)
{
	cJSON *m = O();
	char rv[24];
	S(m, "name", name);
	if (ns)
		S(m, "namespace", ns);
	S(m, "uid", uid);
	S(m, "resourceVersion", next_rv(rv));
	return m;
}

static cJSON *owner_ref(const char *kind, const char *name, const char *uid)
{
	cJSON *o = O();
	S(o, "apiVersion", "apps/v1");
	S(o, "kind", kind);
	S(o, "name", name);
	S(o, "uid", uid);
	B(o, "controller", true);
	B(o, "blockOwnerDeletion", true);
	return o;
}

static cJSON *condition(const char *type, const char *status, int64_t t, const char *reason,
			const char *msg, bool probe_time)
{
	cJSON *c = O();
	S(c, "type", type);
	S(c, "status", status);
	if (probe_time)
		Null(c, "lastProbeTime");
	T(c, "lastTransitionTime", t);
	if (reason)
		S(c, "reason", reason);
	if (msg)
		S(c, "message", msg);
	return c;
}

static const char *ns_of(const struct workload *w)
{
	return ns_names[w->ns];
}

static char *wl_image_ref(const struct workload *w, bool side)
{
	return (char *)(side ? w->side_image : w->image);
}

static void image_id(char *out, size_t n, const char *image, const char *digest)
{
	const char *colon = strrchr(image, ':');
	const char *slash = strrchr(image, '/');
	size_t repo = colon && (!slash || colon > slash) ? (size_t)(colon - image) : strlen(image);
	snprintf(out, n, "%.*s@sha256:%s", (int)repo, image, digest);
}

static cJSON *container_status(const struct workload *w, const cJSON *c, bool side, int64_t start,
			       bool crash, const char *pod, const char *pod_uid)
{
	cJSON *s = O();
	char id[96], img[256];
	S(s, "name", cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring);
	cJSON *state = OO(s, "state");
	cJSON *last = OO(s, "lastState");
	if (crash) {
		cJSON *wt = OO(state, "waiting");
		S(wt, "reason", "CrashLoopBackOff");
		char msg[200];
		snprintf(msg, sizeof msg,
			 "back-off 5m0s restarting failed container=%s pod=%s_%s(%s)",
			 cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring, pod, ns_of(w),
			 pod_uid);
		S(wt, "message", msg);
		cJSON *term = OO(last, "terminated");
		N(term, "exitCode", 1);
		S(term, "reason", "Error");
		T(term, "startedAt", NOW - rint_(300, 600));
		T(term, "finishedAt", NOW - rint_(1, 299));
		rand_hex(id + 13, 64);
		memcpy(id, "containerd://", 13);
		S(term, "containerID", id);
	} else {
		cJSON *r = OO(state, "running");
		T(r, "startedAt", start);
	}
	B(s, "ready", !crash);
	N(s, "restartCount", crash ? rint_(5, 240) : (chance(5) ? rint_(1, 3) : 0));
	S(s, "image", cJSON_GetObjectItemCaseSensitive(c, "image")->valuestring);
	image_id(img, sizeof img, wl_image_ref(w, side), side ? w->side_digest : w->digest);
	S(s, "imageID", img);
	memcpy(id, "containerd://", 13);
	rand_hex(id + 13, 64);
	S(s, "containerID", id);
	B(s, "started", !crash);
	return s;
}

/* managedFields: the controller that created the pod, and who wrote its status last. */
static void pod_managed_fields(cJSON *pod, int64_t created, const char *status_mgr,
			       int64_t status_time)
{
	static const char *const mfields[] = {"generateName", "labels", "annotations",
					      "ownerReferences", NULL};
	static const char *const sskip[] = {"nodeName", "serviceAccount", "priority",
					    "preemptionPolicy", NULL};
	add_managed(pod, mf_entry("kube-controller-manager", "v1", created,
				  fields_meta_spec(pod, mfields, sskip), NULL));
	cJSON *fs = O();
	static const char *const stskip[] = {"qosClass", NULL};
	put(fs, "f:status", fset(cJSON_GetObjectItemCaseSensitive(pod, "status"), false, stskip));
	add_managed(pod, mf_entry(status_mgr, "v1", status_time, fs, "status"));
}

/* The projected service-account volume the ServiceAccount admission adds to every pod. */
static cJSON *api_access_volume(const char *name)
{
	cJSON *v = O();
	S(v, "name", name);
	cJSON *pr = OO(v, "projected");
	cJSON *src = AA(pr, "sources");
	cJSON *sat = OO(OO(src, NULL), "serviceAccountToken");
	N(sat, "expirationSeconds", 3607);
	S(sat, "path", "token");
	cJSON *cmi = OO(OO(src, NULL), "configMap");
	S(cmi, "name", "kube-root-ca.crt");
	cJSON *it = OO(AA(cmi, "items"), NULL);
	S(it, "key", "ca.crt");
	S(it, "path", "ca.crt");
	cJSON *dwa = OO(OO(src, NULL), "downwardAPI");
	cJSON *di = OO(AA(dwa, "items"), NULL);
	cJSON *fr = OO(di, "fieldRef");
	S(fr, "apiVersion", "v1");
	S(fr, "fieldPath", "metadata.namespace");
	S(di, "path", "namespace");
	N(pr, "defaultMode", 420);
	return v;
}

/* One pod of w; idx is its ordinal (StatefulSets), node NULL when Pending. */
static cJSON *make_pod(struct workload *w, const struct tmpl *t, int idx, struct node *node,
		       bool crash)
{
	char name[128], uid[37], sfx[8], gen[96], rv[24];
	rand_uuid(uid);
	rand_alnum(sfx, 5);
	if (w->kind == W_STS)
		snprintf(name, sizeof name, "%s-%d", w->name, idx);
	else if (w->kind == W_DS)
		snprintf(name, sizeof name, "%s-%s", w->name, sfx);
	else
		snprintf(name, sizeof name, "%s-%s-%s", w->name, w->hash, sfx);
	int64_t created = w->rollout + rint_(0, 180);
	if (node && created < node->created)
		created = node->created + rint_(20, 120);
	if (created > NOW - 60)
		created = NOW - 60;

	cJSON *pod = O();
	S(pod, "kind", "Pod");
	S(pod, "apiVersion", "v1");
	cJSON *md = OO(pod, "metadata");
	S(md, "name", name);
	if (w->kind == W_DS)
		snprintf(gen, sizeof gen, "%s-", w->name);
	else if (w->kind == W_DEPLOY)
		snprintf(gen, sizeof gen, "%s-%s-", w->name, w->hash);
	if (w->kind != W_STS)
		S(md, "generateName", gen);
	S(md, "namespace", ns_of(w));
	S(md, "uid", uid);
	S(md, "resourceVersion", next_rv(rv));
	T(md, "creationTimestamp", created);
	cJSON *labels = dup(cJSON_GetObjectItemCaseSensitive(t->meta, "labels"));
	if (w->kind == W_DEPLOY) {
		S(labels, "pod-template-hash", w->hash);
	} else {
		S(labels, "controller-revision-hash", w->hash);
		if (w->kind == W_STS) {
			char n[16];
			snprintf(n, sizeof n, "%d", idx);
			S(labels, "apps.kubernetes.io/pod-index", n);
			S(labels, "statefulset.kubernetes.io/pod-name", name);
		} else {
			S(labels, "pod-template-generation", "3");
		}
	}
	put(md, "labels", labels);
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(t->meta, "annotations");
	if (ann)
		put(md, "annotations", dup(ann));
	cJSON *owners = AA(md, "ownerReferences");
	if (w->kind == W_DEPLOY) {
		char rs[96];
		snprintf(rs, sizeof rs, "%s-%s", w->name, w->hash);
		put(owners, NULL, owner_ref("ReplicaSet", rs, w->rs_uid));
	} else {
		put(owners, NULL, owner_ref(w->kind == W_STS ? "StatefulSet" : "DaemonSet", w->name,
					   w->uid));
	}

	/* spec: the template's, plus what admission and the scheduler add per pod */
	cJSON *spec = OO(pod, "spec");
	char api_vol[40];
	snprintf(api_vol, sizeof api_vol, "kube-api-access-%s", sfx);
	bool has_tol = cJSON_GetObjectItemCaseSensitive(t->spec, "tolerations") != NULL;
	for (const cJSON *f = t->spec->child; f; f = f->next) {
		const char *k = f->string;
		if (strcmp(k, "volumes") == 0) {
			cJSON *vols = dup(f);
			if (w->kind == W_STS) {
				cJSON *v = O();
				S(v, "name", "data");
				cJSON *pvc = OO(v, "persistentVolumeClaim");
				char cn[160];
				snprintf(cn, sizeof cn, "data-%s", name);
				S(pvc, "claimName", cn);
				cJSON_InsertItemInArray(vols, 0, v);
			}
			put(vols, NULL, api_access_volume(api_vol));
			put(spec, k, vols);
		} else if (strcmp(k, "containers") == 0) {
			cJSON *cs = dup(f);
			for (cJSON *c = cs->child; c; c = c->next) {
				cJSON *vm = cJSON_GetObjectItemCaseSensitive(c, "volumeMounts");
				if (!vm) {
					vm = A();
					insert_after(c, "resources", "volumeMounts", vm);
				}
				cJSON *m = O();
				S(m, "name", api_vol);
				B(m, "readOnly", true);
				S(m, "mountPath", "/var/run/secrets/kubernetes.io/serviceaccount");
				put(vm, NULL, m);
			}
			put(spec, k, cs);
		} else if (strcmp(k, "serviceAccountName") == 0) {
			put(spec, k, dup(f));
			put(spec, "serviceAccount", dup(f));
			if (node)
				S(spec, "nodeName", node->name);
		} else if (strcmp(k, "securityContext") == 0) {
			put(spec, k, dup(f));
			if (w->kind == W_DS && node) {
				/* the DaemonSet controller pins each pod to its node */
				cJSON *aff = OO(spec, "affinity");
				cJSON *na = OO(aff, "nodeAffinity");
				cJSON *req = OO(na, "requiredDuringSchedulingIgnoredDuringExecutio"
						    "n");
				cJSON *terms = AA(req, "nodeSelectorTerms");
				cJSON *term = O();
				cJSON *mf = AA(term, "matchFields");
				cJSON *e = O();
				S(e, "key", "metadata.name");
				S(e, "operator", "In");
				S(AA(e, "values"), NULL, node->name);
				put(mf, NULL, e);
				put(terms, NULL, term);
			}
		} else if (strcmp(k, "tolerations") == 0 ||
			   (strcmp(k, "schedulerName") == 0 && !has_tol)) {
			cJSON *tol;
			if (strcmp(k, "schedulerName") == 0) {
				put(spec, k, dup(f));
				tol = A();
			} else {
				tol = dup(f);
			}
			if (w->kind == W_DS) {
				static const char *const ds_t[] = {"node.kubernetes.io/not-ready",
								   "node.kubernetes.io/unreachable",
								   "node.kubernetes.io/"
								   "disk-pressure",
								   "node.kubernetes.io/"
								   "memory-pressure",
								   "node.kubernetes.io/"
								   "pid-pressure",
								   "node.kubernetes.io/"
								   "unschedulable",
								   "node.kubernetes.io/"
								   "network-unavailable"};
				for (size_t i = 0; i < KS_ARRAY_LEN(ds_t); i++)
					put(tol, NULL,
					    toleration(ds_t[i], "Exists", NULL,
						       i < 2 ? "NoExecute" : "NoSchedule", -1));
			} else {
				put(tol, NULL,
				    toleration("node.kubernetes.io/not-ready", "Exists", NULL,
					       "NoExecute", 300));
				put(tol, NULL,
				    toleration("node.kubernetes.io/unreachable", "Exists", NULL,
					       "NoExecute", 300));
			}
			put(spec, "tolerations", tol);
		} else if (strcmp(k, "priorityClassName") == 0) {
			put(spec, k, dup(f));
			N(spec, "priority", 2000001000);
		} else if (strcmp(k, "enableServiceLinks") == 0) {
			if (!cJSON_GetObjectItemCaseSensitive(spec, "priority"))
				N(spec, "priority", 0);
			put(spec, k, dup(f));
			S(spec, "preemptionPolicy", "PreemptLowerPriority");
		} else {
			put(spec, k, dup(f));
		}
	}
	if (w->kind == W_STS) {
		S(spec, "hostname", name);
		S(spec, "subdomain", w->name);
	}

	/* status */
	cJSON *st = OO(pod, "status");
	int64_t sched = created + rint_(0, 2);
	cJSON *conds;
	if (!node) {
		S(st, "phase", "Pending");
		conds = AA(st, "conditions");
		char msg[256];
		snprintf(msg, sizeof msg,
			 "0/%zu nodes are available: %zu Insufficient cpu, %zu node(s) didn't "
			 "match "
			 "Pod's node affinity/selector. preemption: 0/%zu nodes are available: %zu "
			 "No "
			 "preemption victims found for incoming pod.",
			 n_nodes, n_nodes / 3 * 2, n_nodes - n_nodes / 3 * 2, n_nodes, n_nodes);
		put(conds, NULL,
		    condition("PodScheduled", "False", sched, "Unschedulable", msg, true));
		S(st, "qosClass", "Burstable");
		pod_managed_fields(pod, created, "kube-scheduler", sched);
		return pod;
	}
	S(st, "phase", "Running");
	conds = AA(st, "conditions");
	int64_t init = sched + rint_(1, 4), started = init + rint_(1, 20),
		ready = started + rint_(2, 60);
	put(conds, NULL, condition("PodReadyToStartContainers", "True", init, NULL, NULL, true));
	put(conds, NULL, condition("Initialized", "True", sched + 1, NULL, NULL, true));
	const cJSON *cs = cJSON_GetObjectItemCaseSensitive(spec, "containers");
	if (crash) {
		char msg[160];
		snprintf(msg, sizeof msg, "containers with unready status: [%s]",
			 cs->child->child->valuestring);
		put(conds, NULL, condition("Ready", "False", NOW - rint_(1, 3000),
					   "ContainersNotReady", msg, true));
		put(conds, NULL, condition("ContainersReady", "False", NOW - rint_(1, 3000),
					   "ContainersNotReady", msg, true));
	} else {
		put(conds, NULL, condition("Ready", "True", ready, NULL, NULL, true));
		put(conds, NULL, condition("ContainersReady", "True", ready, NULL, NULL, true));
	}
	put(conds, NULL, condition("PodScheduled", "True", sched, NULL, NULL, true));
	S(st, "hostIP", node->ip);
	cJSON *hips = AA(st, "hostIPs");
	cJSON *hip = O();
	S(hip, "ip", node->ip);
	put(hips, NULL, hip);
	char pip[20];
	if (w->kind == W_DS) {
		snprintf(pip, sizeof pip, "%s", node->ip); /* host network */
	} else {
		int k = node->next_ip++;
		snprintf(pip, sizeof pip, "10.%d.%d.%d", 1 + node->index / 128 % 200,
			 (node->index % 128) * 2 + k / 250 % 2, 4 + k % 250);
	}
	S(st, "podIP", pip);
	cJSON *pips = AA(st, "podIPs");
	cJSON *pi = O();
	S(pi, "ip", pip);
	put(pips, NULL, pi);
	T(st, "startTime", sched);
	cJSON *css = AA(st, "containerStatuses");
	bool side = false;
	for (const cJSON *c = cs->child; c; c = c->next) {
		put(css, NULL, container_status(w, c, side, started, crash && !side, name, uid));
		side = true;
	}
	S(st, "qosClass", "Burstable");
	node_add_image(node, wl_image_ref(w, false));
	if (w->side)
		node_add_image(node, wl_image_ref(w, true));

	pod_managed_fields(pod, created, "kubelet", ready);
	return pod;
}

static cJSON *make_namespace(size_t i)
{
	cJSON *o = O();
	S(o, "kind", "Namespace");
	S(o, "apiVersion", "v1");
	cJSON *md = meta_common(ns_names[i], NULL, ns_uid[i], ns_created[i]);
	put(o, "metadata", md);
	T(md, "creationTimestamp", ns_created[i]);
	cJSON *l = OO(md, "labels");
	S(l, "kubernetes.io/metadata.name", ns_names[i]);
	if (i >= 8) {
		S(l, "team", ns_names[i]);
		S(l, "pod-security.kubernetes.io/enforce", "baseline");
	}
	cJSON *sp = OO(o, "spec");
	S(AA(sp, "finalizers"), NULL, "kubernetes");
	cJSON *st = OO(o, "status");
	S(st, "phase", "Active");
	if (i >= 8) {
		add_last_applied(o);
		static const char *const mfields[] = {"annotations", "labels", NULL};
		add_managed(o, mf_entry("kubectl-client-side-apply", "v1", ns_created[i],
					fields_meta_spec(o, mfields, NULL), NULL));
	}
	return o;
}

static cJSON *quantity_map(const struct itype *it, bool alloc)
{
	cJSON *m = O();
	char b[32];
	snprintf(b, sizeof b, alloc ? "%dm" : "%d", alloc ? it->cpu * 1000 - 90 : it->cpu);
	S(m, "cpu", b);
	S(m, "ephemeral-storage", alloc ? "95491281146" : "104845292Ki");
	S(m, "hugepages-1Gi", "0");
	S(m, "hugepages-2Mi", "0");
	snprintf(b, sizeof b, "%dKi", it->mem_gi * 1024 * 1024 - (alloc ? 1 << 20 : 1 << 17));
	S(m, "memory", b);
	snprintf(b, sizeof b, "%d", it->pods);
	S(m, "pods", b);
	return m;
}

static cJSON *make_node(struct node *n)
{
	const struct itype *it = &itypes[n->itype];
	cJSON *o = O();
	S(o, "kind", "Node");
	S(o, "apiVersion", "v1");
	cJSON *md = meta_common(n->name, NULL, n->uid, n->created);
	put(o, "metadata", md);
	T(md, "creationTimestamp", n->created);
	cJSON *l = OO(md, "labels");
	char b[64];
	S(l, "beta.kubernetes.io/arch", it->arch);
	S(l, "beta.kubernetes.io/instance-type", it->name);
	S(l, "beta.kubernetes.io/os", "linux");
	S(l, "failure-domain.beta.kubernetes.io/region", "us-west-2");
	S(l, "failure-domain.beta.kubernetes.io/zone", zones[n->zone]);
	S(l, "k8s.io/cloud-provider-aws", "a94967527effcefb5f5829f529c0a1b9");
	S(l, "karpenter.k8s.aws/ec2nodeclass", "default");
	S(l, "karpenter.k8s.aws/instance-category",
	  it->family[0] == 'm'	 ? "m"
	  : it->family[0] == 'c' ? "c"
				 : "r");
	snprintf(b, sizeof b, "%d", it->cpu);
	S(l, "karpenter.k8s.aws/instance-cpu", b);
	S(l, "karpenter.k8s.aws/instance-encryption-in-transit-supported", "true");
	S(l, "karpenter.k8s.aws/instance-family", it->family);
	snprintf(b, sizeof b, "%d", it->gen);
	S(l, "karpenter.k8s.aws/instance-generation", b);
	S(l, "karpenter.k8s.aws/instance-hypervisor", "nitro");
	snprintf(b, sizeof b, "%d", it->mem_gi * 1024);
	S(l, "karpenter.k8s.aws/instance-memory", b);
	S(l, "karpenter.k8s.aws/instance-size", it->size);
	S(l, "karpenter.sh/capacity-type", n->spot ? "spot" : "on-demand");
	S(l, "karpenter.sh/initialized", "true");
	S(l, "karpenter.sh/nodepool", pools[n->pool]);
	S(l, "karpenter.sh/registered", "true");
	S(l, "kubernetes.io/arch", it->arch);
	S(l, "kubernetes.io/hostname", n->name);
	S(l, "kubernetes.io/os", "linux");
	S(l, "node.kubernetes.io/instance-type", it->name);
	S(l, "topology.k8s.aws/zone-id", zone_ids[n->zone]);
	S(l, "topology.kubernetes.io/region", "us-west-2");
	S(l, "topology.kubernetes.io/zone", zones[n->zone]);
	cJSON *a = OO(md, "annotations");
	S(a, "alpha.kubernetes.io/provided-node-ip", n->ip);
	S(a, "karpenter.k8s.aws/ec2nodeclass-hash", "15616957348189460630");
	S(a, "karpenter.k8s.aws/ec2nodeclass-hash-version", "v3");
	S(a, "karpenter.sh/nodepool-hash", "6821555240594823858");
	S(a, "karpenter.sh/nodepool-hash-version", "v3");
	S(a, "node.alpha.kubernetes.io/ttl", "0");
	S(a, "volumes.kubernetes.io/controller-managed-attach-detach", "true");
	S(AA(md, "finalizers"), NULL, "karpenter.sh/termination");
	cJSON *owners = AA(md, "ownerReferences");
	cJSON *or = O();
	S(or, "apiVersion", "karpenter.sh/v1");
	S(or, "kind", "NodeClaim");
	snprintf(b, sizeof b, "%s-%.5s", pools[n->pool], n->uid + 24);
	S(or, "name", b);
	S(or, "uid", n->boot);
	B(or, "blockOwnerDeletion", true);
	put(owners, NULL, or);
	cJSON *sp = OO(o, "spec");
	snprintf(b, sizeof b, "aws:///%s/%s", zones[n->zone], n->instance);
	S(sp, "providerID", b);
	if (n->pool == POOL_COMPUTE) {
		cJSON *tn = AA(sp, "taints");
		cJSON *t = O();
		S(t, "key", "workload-class");
		S(t, "value", "compute");
		S(t, "effect", "NoSchedule");
		put(tn, NULL, t);
	}
	cJSON *st = OO(o, "status");
	put(st, "capacity", quantity_map(it, false));
	put(st, "allocatable", quantity_map(it, true));
	cJSON *conds = AA(st, "conditions");
	static const char *const ct[][4] = {
		{"MemoryPressure", "False", "KubeletHasSufficientMemory",
		 "kubelet has sufficient memory available"},
		{"DiskPressure", "False", "KubeletHasNoDiskPressure",
		 "kubelet has no disk pressure"},
		{"PIDPressure", "False", "KubeletHasSufficientPID",
		 "kubelet has sufficient PID available"},
		{"Ready", "True", "KubeletReady", "kubelet is posting ready status"}};
	int64_t hb = NOW - rint_(0, 240);
	for (size_t i = 0; i < KS_ARRAY_LEN(ct); i++) {
		cJSON *c = O();
		S(c, "type", ct[i][0]);
		S(c, "status", ct[i][1]);
		T(c, "lastHeartbeatTime", hb);
		T(c, "lastTransitionTime", n->created + 40 + (i == 3 ? 15 : 0));
		S(c, "reason", ct[i][2]);
		S(c, "message", ct[i][3]);
		put(conds, NULL, c);
	}
	cJSON *addrs = AA(st, "addresses");
	static const char *const at[] = {"InternalIP", "InternalDNS", "Hostname"};
	for (size_t i = 0; i < 3; i++) {
		cJSON *x = O();
		S(x, "type", at[i]);
		S(x, "address", i ? n->name : n->ip);
		put(addrs, NULL, x);
	}
	cJSON *de = OO(st, "daemonEndpoints");
	N(OO(de, "kubeletEndpoint"), "Port", 10250);
	cJSON *ni = OO(st, "nodeInfo");
	S(ni, "machineID", n->machine);
	S(ni, "systemUUID", n->sysuuid);
	S(ni, "bootID", n->boot);
	S(ni, "kernelVersion", strcmp(it->arch, "arm64") == 0 ? "6.1.119-129.201.amzn2023.aarch64"
							       : "6.1.119-129.201.amzn2023.x86_64");
	S(ni, "osImage", "Amazon Linux 2023.6.20250115");
	S(ni, "containerRuntimeVersion", "containerd://1.7.25");
	S(ni, "kubeletVersion", "v1.31.4-eks-aeac579");
	S(ni, "kubeProxyVersion", "v1.31.4-eks-aeac579");
	S(ni, "operatingSystem", "linux");
	S(ni, "architecture", it->arch);
	cJSON *imgs = AA(st, "images");
	for (size_t i = 0; i < n->nimages; i++) {
		const char *img = n->images[i];
		const struct workload *w = NULL;
		bool side = false;
		for (size_t j = 0; j < n_wl && !w; j++) {
			if (wls[j].image == img)
				w = &wls[j];
			else if (wls[j].side_image == img)
				w = &wls[j], side = true;
		}
		cJSON *x = O();
		cJSON *names = AA(x, "names");
		char id[256];
		image_id(id, sizeof id, img, side ? w->side_digest : w->digest);
		S(names, NULL, id);
		S(names, NULL, img);
		N(x, "sizeBytes", (double)(20000000 + (w->seed % 400000000)));
		put(imgs, NULL, x);
	}
	/* managedFields: karpenter (labels, taints), kubelet (metadata), kubelet status */
	static const char *const kf[] = {"labels", "finalizers", "ownerReferences", NULL};
	add_managed(o,
		    mf_entry("karpenter", "v1", n->created, fields_meta_spec(o, kf, NULL), NULL));
	static const char *const kl[] = {"annotations", NULL};
	add_managed(o, mf_entry("kubelet", "v1", n->created + 30, fields_meta_spec(o, kl, NULL),
				NULL));
	cJSON *fs = O();
	static const char *const skip_images[] = {"images", "nodeInfo", NULL};
	cJSON *fst = fset(st, false, skip_images);
	OO(fst, "f:images");
	cJSON *fni = OO(fst, "f:nodeInfo");
	OO(fni, "f:bootID");
	put(fs, "f:status", fst);
	add_managed(o, mf_entry("kubelet", "v1", hb, fs, "status"));
	return o;
}

/* One requirement of a NodePool's template: {"key":..., "operator":..., "values":[...]}. */
static void requirement(cJSON *reqs, const char *key, const char *op, const char *const *values)
{
	cJSON *r = O();
	S(r, "key", key);
	S(r, "operator", op);
	cJSON *v = AA(r, "values");
	for (; *values; values++)
		S(v, NULL, *values);
	put(reqs, NULL, r);
}

/* A karpenter.sh/v1 NodePool shaped as Karpenter's documentation writes them, its
 * requirements admitting every type plan draws for its nodes; limits at about 1.5 times what
 * its nodes hold; the status Karpenter writes (resources of its nodes, conditions). */
static cJSON *make_nodepool(int pool)
{
	static const char *const small[] = {"nano", "micro", "small", "medium", "metal", NULL};
	static const char *const both_arch[] = {"amd64", "arm64", NULL};
	static const char *const od_spot[] = {"on-demand", "spot", NULL};
	static const char *const linux_os[] = {"linux", NULL};
	static const char *const gen4[] = {"4", NULL}, *const gen5[] = {"5", NULL};
	int64_t cpu = 0, mem_gi = 0, count = 0, max_pods = 0;
	for (size_t i = 0; i < n_nodes; i++) {
		if (nodes[i].pool != pool)
			continue;
		cpu += itypes[nodes[i].itype].cpu;
		mem_gi += itypes[nodes[i].itype].mem_gi;
		max_pods += itypes[nodes[i].itype].pods;
		count++;
	}
	cJSON *o = O();
	S(o, "apiVersion", "karpenter.sh/v1");
	S(o, "kind", "NodePool");
	char uid[37], b[64];
	rand_uuid(uid);
	int64_t created = NOW - 400 * 86400LL + pool * 3600LL;
	cJSON *md = meta_common(pools[pool], NULL, uid, created);
	put(o, "metadata", md);
	T(md, "creationTimestamp", created);
	N(md, "generation", 1 + pool);
	cJSON *ann = OO(md, "annotations");
	S(ann, "karpenter.sh/nodepool-hash", "6821555240594823858");
	S(ann, "karpenter.sh/nodepool-hash-version", "v3");
	cJSON *sp = OO(o, "spec");
	if (pool == POOL_SPOT)
		N(sp, "weight", 50);
	cJSON *tpl = OO(sp, "template");
	if (pool == POOL_COMPUTE || pool == POOL_MEMORY)
		S(OO(OO(tpl, "metadata"), "labels"), "workload-class", pools[pool]);
	cJSON *ts_ = OO(tpl, "spec");
	cJSON *ref = OO(ts_, "nodeClassRef");
	S(ref, "group", "karpenter.k8s.aws");
	S(ref, "kind", "EC2NodeClass");
	S(ref, "name", "default");
	cJSON *reqs = AA(ts_, "requirements");
	switch (pool) {
	case POOL_DEFAULT:
		requirement(reqs, "karpenter.k8s.aws/instance-category", "In",
			    (const char *const[]){"m", NULL});
		requirement(reqs, "karpenter.k8s.aws/instance-generation", "Gt", gen4);
		requirement(reqs, "karpenter.k8s.aws/instance-size", "NotIn", small);
		requirement(reqs, "kubernetes.io/arch", "In", both_arch);
		requirement(reqs, "karpenter.sh/capacity-type", "In", od_spot);
		break;
	case POOL_SPOT:
		requirement(reqs, "karpenter.k8s.aws/instance-category", "In",
			    (const char *const[]){"c", "m", "r", NULL});
		requirement(reqs, "karpenter.k8s.aws/instance-generation", "Gt", gen4);
		requirement(reqs, "karpenter.k8s.aws/instance-size", "NotIn", small);
		requirement(reqs, "kubernetes.io/arch", "In", both_arch);
		requirement(reqs, "karpenter.sh/capacity-type", "In",
			    (const char *const[]){"spot", NULL});
		break;
	case POOL_COMPUTE:
		requirement(reqs, "karpenter.k8s.aws/instance-category", "In",
			    (const char *const[]){"c", NULL});
		requirement(reqs, "karpenter.k8s.aws/instance-generation", "Gt", gen5);
		requirement(reqs, "karpenter.k8s.aws/instance-size", "In",
			    (const char *const[]){"4xlarge", "8xlarge", NULL});
		requirement(reqs, "kubernetes.io/arch", "In", both_arch);
		requirement(reqs, "karpenter.sh/capacity-type", "In", od_spot);
		break;
	default:
		requirement(reqs, "karpenter.k8s.aws/instance-category", "In",
			    (const char *const[]){"r", NULL});
		requirement(reqs, "karpenter.k8s.aws/instance-family", "In",
			    (const char *const[]){"r6i", "r7i", NULL});
		requirement(reqs, "karpenter.k8s.aws/instance-size", "In",
			    (const char *const[]){"2xlarge", "4xlarge", NULL});
		requirement(reqs, "kubernetes.io/arch", "In", (const char *const[]){"amd64", NULL});
		requirement(reqs, "karpenter.sh/capacity-type", "In",
			    (const char *const[]){"on-demand", NULL});
		break;
	}
	requirement(reqs, "kubernetes.io/os", "In", linux_os);
	if (pool == POOL_COMPUTE) {
		cJSON *t = O();
		S(t, "key", "workload-class");
		S(t, "value", "compute");
		S(t, "effect", "NoSchedule");
		put(AA(ts_, "taints"), NULL, t);
	}
	S(ts_, "expireAfter", "720h");
	cJSON *lim = OO(sp, "limits");
	snprintf(b, sizeof b, "%lld", (long long)((cpu * 3 / 2 + 99) / 100 * 100));
	S(lim, "cpu", b);
	snprintf(b, sizeof b, "%lldGi", (long long)((mem_gi * 3 / 2 + 99) / 100 * 100));
	S(lim, "memory", b);
	cJSON *dis = OO(sp, "disruption");
	bool when_empty = pool == POOL_COMPUTE || pool == POOL_MEMORY;
	S(dis, "consolidationPolicy", when_empty ? "WhenEmpty" : "WhenEmptyOrUnderutilized");
	S(dis, "consolidateAfter", pool == POOL_SPOT ? "30s" : when_empty ? "5m" : "1m");
	cJSON *bud = O();
	S(bud, "nodes", pool == POOL_MEMORY ? "1" : "10%");
	put(AA(dis, "budgets"), NULL, bud);
	cJSON *st = OO(o, "status");
	cJSON *res = OO(st, "resources");
	snprintf(b, sizeof b, "%lld", (long long)cpu);
	S(res, "cpu", b);
	snprintf(b, sizeof b, "%lldGi", (long long)mem_gi);
	S(res, "memory", b);
	snprintf(b, sizeof b, "%lld", (long long)count);
	S(res, "nodes", b);
	snprintf(b, sizeof b, "%lld", (long long)max_pods);
	S(res, "pods", b);
	cJSON *conds = AA(st, "conditions");
	static const char *const ct[] = {"NodeClassReady", "ValidationSucceeded", "Ready"};
	for (size_t i = 0; i < KS_ARRAY_LEN(ct); i++) {
		cJSON *c = condition(ct[i], "True", created + 5, ct[i], "", false);
		N(c, "observedGeneration", 1 + pool);
		put(conds, NULL, c);
	}
	add_last_applied(o);
	static const char *const mf[] = {"annotations", NULL};
	add_managed(o, mf_entry("kubectl-client-side-apply", "karpenter.sh/v1", created,
				fields_meta_spec(o, mf, NULL), NULL));
	cJSON *fs = O();
	put(fs, "f:status", fset(st, false, NULL));
	add_managed(o, mf_entry("karpenter", "karpenter.sh/v1", NOW - rint_(0, 600), fs,
				"status"));
	return o;
}

static cJSON *make_service(const struct workload *w)
{
	cJSON *o = O();
	S(o, "kind", "Service");
	S(o, "apiVersion", "v1");
	cJSON *md = meta_common(w->name, ns_of(w), w->svc_uid, w->created);
	put(o, "metadata", md);
	T(md, "creationTimestamp", w->created);
	put(md, "labels", labels_of(w, false));
	cJSON *sp = OO(o, "spec");
	cJSON *ports = AA(sp, "ports");
	cJSON *p = O();
	S(p, "name", "http");
	S(p, "protocol", "TCP");
	N(p, "port", 80);
	N(p, "targetPort", 8080);
	put(ports, NULL, p);
	put(sp, "selector", labels_of(w, true));
	if (w->kind == W_STS) {
		S(sp, "clusterIP", "None");
		S(AA(sp, "clusterIPs"), NULL, "None");
	} else {
		S(sp, "clusterIP", w->svc_ip);
		S(AA(sp, "clusterIPs"), NULL, w->svc_ip);
	}
	S(sp, "type", "ClusterIP");
	S(sp, "sessionAffinity", "None");
	S(AA(sp, "ipFamilies"), NULL, "IPv4");
	S(sp, "ipFamilyPolicy", "SingleStack");
	S(sp, "internalTrafficPolicy", "Cluster");
	cJSON *st = OO(o, "status");
	OO(st, "loadBalancer");
	add_last_applied(o);
	static const char *const mfields[] = {"annotations", "labels", NULL};
	static const char *const sskip[] = {"clusterIP", "clusterIPs", "ipFamilies",
					    "ipFamilyPolicy", NULL};
	add_managed(o, mf_entry("kubectl-client-side-apply", "v1", w->created,
				fields_meta_spec(o, mfields, sskip), NULL));
	return o;
}

/* Deployment, ReplicaSet (current: replicas; old: 0), StatefulSet or DaemonSet. */
static cJSON *make_controller(const struct workload *w, const struct tmpl *t, const char *kind,
			      bool old_rs)
{
	cJSON *o = O();
	char name[128];
	const char *hash = old_rs ? w->old_hash : w->hash;
	bool rs = strcmp(kind, "ReplicaSet") == 0;
	if (rs)
		snprintf(name, sizeof name, "%s-%s", w->name, hash);
	else
		snprintf(name, sizeof name, "%s", w->name);
	S(o, "kind", kind);
	S(o, "apiVersion", "apps/v1");
	cJSON *md = meta_common(name, ns_of(w), rs ? (old_rs ? w->old_rs_uid : w->rs_uid) : w->uid,
				w->created);
	put(o, "metadata", md);
	int64_t created = rs ? (old_rs ? w->created : w->rollout) : w->created;
	N(md, "generation", rs ? (old_rs ? 3 : 1) : w->rs_revision + 1);
	T(md, "creationTimestamp", created);
	cJSON *labels = labels_of(w, false);
	if (rs)
		S(labels, "pod-template-hash", hash);
	put(md, "labels", labels);
	cJSON *ann = OO(md, "annotations");
	char b[64];
	if (rs || strcmp(kind, "Deployment") == 0) {
		snprintf(b, sizeof b, "%d", old_rs ? w->rs_revision - 1 : w->rs_revision);
		S(ann, "deployment.kubernetes.io/revision", b);
	}
	if (rs) {
		snprintf(b, sizeof b, "%d", w->replicas);
		S(ann, "deployment.kubernetes.io/desired-replicas", b);
		snprintf(b, sizeof b, "%d", w->replicas + w->replicas / 4 + 1);
		S(ann, "deployment.kubernetes.io/max-replicas", b);
		S(ann, "meta.helm.sh/release-name", w->team);
		put(AA(md, "ownerReferences"), NULL, owner_ref("Deployment", w->name, w->uid));
	} else {
		S(ann, "meta.helm.sh/release-name", w->team);
		S(ann, "meta.helm.sh/release-namespace", ns_of(w));
	}
	cJSON *sp = OO(o, "spec");
	int replicas = old_rs ? 0 : w->replicas;
	if (w->kind != W_DS)
		N(sp, "replicas", replicas);
	cJSON *sel = OO(sp, "selector");
	cJSON *ml = labels_of(w, true);
	if (rs)
		S(ml, "pod-template-hash", hash);
	put(sel, "matchLabels", ml);
	if (w->kind == W_STS && !rs)
		S(sp, "serviceName", w->name);
	cJSON *tp = OO(sp, "template");
	cJSON *tm = dup(t->meta);
	if (rs)
		S(cJSON_GetObjectItemCaseSensitive(tm, "labels"), "pod-template-hash", hash);
	put(tp, "metadata", tm);
	put(tp, "spec", dup(t->spec));
	if (!rs) {
		cJSON *strat = OO(sp, w->kind == W_DEPLOY ? "strategy" : "updateStrategy");
		S(strat, "type", w->kind == W_STS ? "RollingUpdate" : "RollingUpdate");
		cJSON *ru = OO(strat, "rollingUpdate");
		if (w->kind == W_DEPLOY) {
			S(ru, "maxUnavailable", "25%");
			S(ru, "maxSurge", "25%");
		} else if (w->kind == W_DS) {
			N(ru, "maxUnavailable", 1);
			N(ru, "maxSurge", 0);
		} else {
			N(ru, "partition", 0);
		}
		N(sp, "revisionHistoryLimit", 10);
		if (w->kind == W_DEPLOY)
			N(sp, "progressDeadlineSeconds", 600);
		if (w->kind == W_STS) {
			S(sp, "podManagementPolicy", "OrderedReady");
			cJSON *vct = AA(sp, "volumeClaimTemplates");
			cJSON *pvc = O();
			S(pvc, "apiVersion", "v1");
			S(pvc, "kind", "PersistentVolumeClaim");
			cJSON *pm = OO(pvc, "metadata");
			S(pm, "name", "data");
			cJSON *ps = OO(pvc, "spec");
			S(AA(ps, "accessModes"), NULL, "ReadWriteOnce");
			put(OO(ps, "resources"), "requests", O());
			S(cJSON_GetObjectItemCaseSensitive(
				  cJSON_GetObjectItemCaseSensitive(ps, "resources"), "requests"),
			  "storage", "100Gi");
			S(ps, "storageClassName", "gp3");
			S(ps, "volumeMode", "Filesystem");
			cJSON *pst = OO(pvc, "status");
			S(pst, "phase", "Pending");
			put(vct, NULL, pvc);
		}
	}
	cJSON *st = OO(o, "status");
	if (w->kind == W_DS) {
		N(st, "currentNumberScheduled", w->replicas);
		N(st, "numberMisscheduled", 0);
		N(st, "desiredNumberScheduled", w->replicas);
		N(st, "numberReady", w->replicas);
		N(st, "observedGeneration", w->rs_revision + 1);
		N(st, "updatedNumberScheduled", w->replicas);
		N(st, "numberAvailable", w->replicas);
	} else {
		N(st, "observedGeneration", rs ? (old_rs ? 3 : 1) : w->rs_revision + 1);
		N(st, "replicas", replicas);
		if (replicas) {
			N(st, rs ? "fullyLabeledReplicas" : "updatedReplicas", replicas);
			N(st, "readyReplicas", replicas);
			N(st, "availableReplicas", replicas);
		}
		if (strcmp(kind, "Deployment") == 0) {
			cJSON *conds = AA(st, "conditions");
			cJSON *c = condition("Available", "True", w->rollout + 90,
					     "MinimumReplicasAvailable",
					     "Deployment has minimum availability.", false);
			T(c, "lastUpdateTime", w->rollout + 90);
			put(conds, NULL, c);
			snprintf(name, sizeof name,
				 "ReplicaSet \"%s-%s\" has successfully progressed.", w->name,
				 w->hash);
			c = condition("Progressing", "True", w->created + 30,
				      "NewReplicaSetAvailable", name, false);
			T(c, "lastUpdateTime", w->rollout + 95);
			put(conds, NULL, c);
		}
		if (w->kind == W_STS) {
			char rev[96];
			snprintf(rev, sizeof rev, "%s-%s", w->name, w->hash);
			S(st, "currentRevision", rev);
			S(st, "updateRevision", rev);
			N(st, "collisionCount", 0);
			N(st, "currentReplicas", replicas);
			N(st, "updatedReplicas", replicas);
		}
	}
	/* managedFields */
	if (rs) {
		static const char *const mf[] = {"annotations", "labels", "ownerReferences", NULL};
		add_managed(o, mf_entry("kube-controller-manager", "apps/v1", created,
					fields_meta_spec(o, mf, NULL), NULL));
	} else {
		add_last_applied(o);
		static const char *const mf[] = {"annotations", "labels", NULL};
		add_managed(o,
			    mf_entry(w->kind == W_DEPLOY ? "kubectl-client-side-apply" : "helm",
				     "apps/v1", w->rollout, fields_meta_spec(o, mf, NULL), NULL));
	}
	cJSON *fs = O();
	put(fs, "f:status", fset(st, false, NULL));
	add_managed(o, mf_entry("kube-controller-manager", "apps/v1", w->rollout + 95, fs,
				"status"));
	return o;
}

/* ---- placement ---- */

/* A quantity as the generator writes them ("50m", "2", "128Mi", "1Gi") in milli-units or MiB. */
static int64_t qty(const char *q, bool cpu)
{
	if (!q)
		return 0;
	char *end;
	long long v = strtoll(q, &end, 10);
	if (cpu)
		return *end == 'm' ? v : v * 1000;
	return *end == 'G' ? v * 1024 : *end == 'M' ? v : v / 1048576;
}

/* The requests of a pod template's containers: milli-cores and MiB. */
static void template_requests(const cJSON *spec, int64_t *cpu_m, int64_t *mem_mi)
{
	*cpu_m = *mem_mi = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, ks_json_get(spec, "containers")) {
		*cpu_m += qty(ks_json_str(c, "resources.requests.cpu"), true);
		*mem_mi += qty(ks_json_str(c, "resources.requests.memory"), false);
	}
}

/* A node among list[0..n) with room for the requests: up to 16 random draws, else the draw
 * with the most CPU left (the pods are then overcommitted there, as a real scheduler would
 * not do; it happens only when the pool is full). */
static struct node *place(const size_t *list, size_t n, int64_t cpu_m, int64_t mem_mi)
{
	struct node *best = NULL;
	for (int k = 0; k < 16; k++) {
		struct node *nd = &nodes[list[rnd() % n]];
		if (nd->free_cpu_m >= cpu_m && nd->free_mem_mi >= mem_mi && nd->free_pods > 0)
			return nd;
		if (!best || nd->free_cpu_m > best->free_cpu_m)
			best = nd;
	}
	return best;
}

/* ---- output ---- */

struct out {
	FILE *f;
	bool first;
	size_t items, bytes;
	size_t by_kind[9];
	struct ks_buf b;
};

static void emit(struct out *o, cJSON *item, int kind)
{
	char *s = cJSON_PrintUnformatted(item);
	if (!s) {
		fprintf(stderr, "snapshot_gen: printing failed\n");
		exit(1);
	}
	size_t n = strlen(s);
	if (!o->first)
		fputs(",\n", o->f);
	o->first = false;
	fwrite(s, 1, n, o->f);
	o->bytes += n;
	o->items++;
	o->by_kind[kind]++;
	cJSON_free(s);
	cJSON_Delete(item);
}

enum { K_NS, K_NODE, K_SVC, K_DEPLOY, K_RS, K_STS, K_DS, K_NODEPOOL, K_POD };

static void usage(void)
{
	fprintf(stderr, "usage: snapshot_gen --pods N [--seed S] [-o FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long pods = -1;
	uint64_t seed = 1;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pods") == 0 && i + 1 < argc)
			pods = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			path = argv[++i];
		else
			usage();
	}
	if (pods < 1 || pods > 10000000)
		usage();
	rng = seed * 0x2545f4914f6cdd1dULL + 1;
	plan(pods);

	struct out o = {.first = true};
	o.f = path ? fopen(path, "w") : stdout;
	if (!o.f) {
		fprintf(stderr, "snapshot_gen: %s: %s\n", path, strerror(errno));
		return 1;
	}
	static char obuf[1 << 20];
	setvbuf(o.f, obuf, _IOFBF, sizeof obuf);
	fprintf(o.f, "{\"kind\":\"List\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
		     "\"%llu\"},\"items\":[\n",
		(unsigned long long)(rv_counter + 10000000));

	for (size_t i = 0; i < n_ns; i++)
		emit(&o, make_namespace(i), K_NS);

	/* Pods first in memory (nodes list the images of their pods), written last. */
	struct tmpl *tm = ks_calloc(n_wl, sizeof *tm);
	for (size_t i = 0; i < n_wl; i++) {
		uint64_t save = rng;
		rng = wls[i].seed;
		tm[i].meta = template_meta(&wls[i]);
		tm[i].spec = template_spec(&wls[i]);
		rng = save;
	}
	FILE *pf = tmpfile();
	if (!pf) {
		fprintf(stderr, "snapshot_gen: tmpfile: %s\n", strerror(errno));
		return 1;
	}
	struct out po = {.f = pf, .first = true};
	/* The nodes a pod may land on: its node selector's pool; without one, any pool the
	 * pod tolerates (every one but the tainted compute pool). */
	size_t *by_pool[KS_ARRAY_LEN(pools) + 1], n_by_pool[KS_ARRAY_LEN(pools) + 1] = {0};
	enum { UNTAINTED = KS_ARRAY_LEN(pools) };
	for (size_t p = 0; p <= UNTAINTED; p++)
		by_pool[p] = ks_calloc(n_nodes, sizeof *by_pool[p]);
	for (size_t i = 0; i < n_nodes; i++) {
		size_t p = (size_t)nodes[i].pool;
		by_pool[p][n_by_pool[p]++] = i;
		if (p != POOL_COMPUTE)
			by_pool[UNTAINTED][n_by_pool[UNTAINTED]++] = i;
	}
	/* Room on each node: its allocatable less what every DaemonSet's pod asks for. */
	int64_t ds_cpu = 0, ds_mem = 0, ds_pods = 0;
	for (size_t i = 0; i < n_wl; i++) {
		int64_t c, m;
		template_requests(tm[i].spec, &c, &m);
		if (wls[i].kind == W_DS)
			ds_cpu += c, ds_mem += m, ds_pods++;
		wls[i].req_cpu_m = c;
		wls[i].req_mem_mi = m;
	}
	for (size_t i = 0; i < n_nodes; i++) {
		const struct itype *it = &itypes[nodes[i].itype];
		nodes[i].free_cpu_m = it->cpu * 1000 - 90 - ds_cpu;
		nodes[i].free_mem_mi = it->mem_gi * 1024 - 1024 - ds_mem;
		nodes[i].free_pods = it->pods - ds_pods;
	}
	/* Spread each workload's pods over those nodes in random order, where they fit. */
	for (size_t i = 0; i < n_wl; i++) {
		struct workload *w = &wls[i];
		const cJSON *selector = ks_json_get(tm[i].spec, "nodeSelector");
		const char *sel =
			cJSON_GetStringValue(ks_json_child(selector, "karpenter.sh/nodepool"));
		size_t allowed = UNTAINTED;
		for (size_t p = 0; sel && p < KS_ARRAY_LEN(pools); p++)
			if (!strcmp(sel, pools[p]))
				allowed = p;
		for (int r = 0; r < w->replicas; r++) {
			struct node *nd;
			if (w->kind == W_DS)
				nd = &nodes[r];
			else if (n_by_pool[allowed])
				nd = place(by_pool[allowed], n_by_pool[allowed], w->req_cpu_m,
					   w->req_mem_mi);
			else
				nd = &nodes[rnd() % n_nodes];
			bool pending = w->kind == W_DEPLOY && chance(1);
			if (!pending && w->kind != W_DS) {
				nd->free_cpu_m -= w->req_cpu_m;
				nd->free_mem_mi -= w->req_mem_mi;
				nd->free_pods--;
			}
			bool crash = !pending && w->kind == W_DEPLOY && chance(1);
			emit(&po, make_pod(w, &tm[i], r, pending ? NULL : nd, crash), K_POD);
		}
	}
	for (size_t p = 0; p <= UNTAINTED; p++)
		free(by_pool[p]);
	for (size_t i = 0; i < n_nodes; i++)
		emit(&o, make_node(&nodes[i]), K_NODE);
	for (size_t i = 0; i < n_wl; i++) {
		if (wls[i].kind != W_DS)
			emit(&o, make_service(&wls[i]), K_SVC);
	}
	for (size_t i = 0; i < n_wl; i++) {
		if (wls[i].kind == W_DEPLOY)
			emit(&o, make_controller(&wls[i], &tm[i], "Deployment", false), K_DEPLOY);
	}
	for (size_t i = 0; i < n_wl; i++) {
		if (wls[i].kind != W_DEPLOY)
			continue;
		emit(&o, make_controller(&wls[i], &tm[i], "ReplicaSet", false), K_RS);
		if (wls[i].rs_revision > 1)
			emit(&o, make_controller(&wls[i], &tm[i], "ReplicaSet", true), K_RS);
	}
	for (size_t i = 0; i < n_wl; i++) {
		if (wls[i].kind == W_STS)
			emit(&o, make_controller(&wls[i], &tm[i], "StatefulSet", false), K_STS);
	}
	for (size_t i = 0; i < n_wl; i++) {
		if (wls[i].kind == W_DS)
			emit(&o, make_controller(&wls[i], &tm[i], "DaemonSet", false), K_DS);
	}
	for (size_t p = 0; p < KS_ARRAY_LEN(pools); p++)
		emit(&o, make_nodepool((int)p), K_NODEPOOL);
	/* append the pods */
	fflush(pf);
	rewind(pf);
	if (po.items) {
		if (!o.first)
			fputs(",\n", o.f);
		o.first = false;
		char buf[1 << 16];
		size_t n;
		while ((n = fread(buf, 1, sizeof buf, pf)) > 0)
			fwrite(buf, 1, n, o.f);
		o.items += po.items;
		o.bytes += po.bytes;
		o.by_kind[K_POD] = po.items;
	}
	fclose(pf);
	fputs("\n]}\n", o.f);
	if (fflush(o.f) || ferror(o.f)) {
		fprintf(stderr, "snapshot_gen: write failed: %s\n", strerror(errno));
		return 1;
	}
	if (path)
		fclose(o.f);
	fprintf(stderr,
		"snapshot_gen: %zu items (%zu namespaces, %zu nodes, %zu services, %zu "
		"deployments, "
		"%zu replicasets, %zu statefulsets, %zu daemonsets, %zu nodepools, %zu pods), "
		"%.1f MB, %.0f bytes/pod\n",
		o.items, o.by_kind[K_NS], o.by_kind[K_NODE], o.by_kind[K_SVC], o.by_kind[K_DEPLOY],
		o.by_kind[K_RS], o.by_kind[K_STS], o.by_kind[K_DS], o.by_kind[K_NODEPOOL],
		o.by_kind[K_POD],
		(double)o.bytes / 1e6, (double)po.bytes / (double)(po.items ? po.items : 1));
	for (size_t i = 0; i < n_wl; i++) {
		cJSON_Delete(tm[i].meta);
		cJSON_Delete(tm[i].spec);
	}
	free(tm);
	for (size_t i = 0; i < n_nodes; i++)
		free(nodes[i].images);
	free(nodes);
	for (size_t i = 0; i < n_ns; i++)
		free(ns_names[i]);
	free(ns_names);
	free(ns_created);
	free(ns_uid);
	free(wls);
	return 0;
}
