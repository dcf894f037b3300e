/* cmd_get.c — `kswarm get KIND [NAME...]`: list or show objects, as kubectl get does.
 * The default and wide outputs ask the API server for a meta.k8s.io Table, so columns are
 * the server's own (CRDs' additionalPrinterColumns included), exactly what kubectl shows. */
#include "base/common.h"
#include "base/json.h"
#include "base/jsonout.h"
#include "cli/cli.h"
#include "cli/clikube.h"

#include <stdio.h>
#include <string.h>

const char cmd_get_usage[] =
	"Usage: kswarm get KIND[,KIND...] | KIND[/NAME] [NAME...] [flags]\n\n"
	"List objects of one or several kinds, or show named ones, with kubectl's columns.\n"
	"KIND is what kubectl accepts: plural, singular, short name or kind, optionally with\n"
	"the group (deploy, deployments.apps, nodepools.karpenter.sh).\n\n"
	"Flags:\n"
	"  -n, --namespace NS        the namespace (default: the context's)\n"
	"  -A, --all-namespaces      every namespace\n"
	"  -l, --selector SEL        label selector (app=web,tier in (a,b),!canary)\n"
	"      --field-selector SEL  field selector (status.phase=Running)\n"
	"  -o, --output FORMAT       json | yaml | wide | name (default: a table)\n"
	"      --no-headers          omit the header line\n"
	"      --show-managed-fields keep metadata.managedFields in json/yaml (hidden by default)\n"
	"      --chunk-size N        page size of list requests (default 500)\n"
	"      --kubeconfig FILE     kubeconfig (default: $KUBECONFIG, ~/.kube/config)\n"
	"      --context NAME        kubeconfig context\n\n"
	"Examples:\n"
	"  kswarm get pods -A\n"
	"  kswarm get deploy,rs,svc -n shop\n"
	"  kswarm get deploy web -n shop -o yaml\n"
	"  kswarm get nodes -l karpenter.sh/nodepool=general -o wide\n"
	"  kswarm get nodepools\n";

#define TABLE_ACCEPT                                                                              \
	"application/json;as=Table;v=v1;g=meta.k8s.io,"                                           \
	"application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

struct get_args {
	struct cli_kube_flags k;
	const char *kind;
	char *kind_copy; /* when KIND/NAME was split */
	const char **names;
	int n_names;
	const char *selector, *field_selector, *output;
	bool no_headers;
	bool show_managed_fields;
	long chunk;
};

static int parse_args(int argc, char **argv, struct get_args *a)
{
	a->names = ks_calloc((size_t)argc, sizeof *a->names);
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		int r = cli_kube_flag(&a->k, argc, argv, &i, "get");
		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		const char **slot = NULL;
		if (!strcmp(s, "-l") || !strcmp(s, "--selector"))
			slot = &a->selector;
		else if (!strcmp(s, "--field-selector"))
			slot = &a->field_selector;
		else if (!strcmp(s, "-o") || !strcmp(s, "--output"))
			slot = &a->output;
		else if (!strncmp(s, "-o", 2) && s[2]) {
			a->output = s + 2 + (s[2] == '=');
			continue;
		} else if (!strncmp(s, "--output=", 9)) {
			a->output = s + 9;
			continue;
		} else if (!strncmp(s, "--selector=", 11)) {
			a->selector = s + 11;
			continue;
		} else if (!strncmp(s, "--field-selector=", 17)) {
			a->field_selector = s + 17;
			continue;
		} else if (!strcmp(s, "--no-headers")) {
			a->no_headers = true;
			continue;
		} else if (!strcmp(s, "--show-managed-fields")) {
			a->show_managed_fields = true;
			continue;
		} else if (!strcmp(s, "--chunk-size") && i + 1 < argc) {
			a->chunk = strtol(argv[++i], NULL, 10);
			continue;
		} else if (s[0] == '-' && s[1]) {
			fprintf(stderr, "kswarm get: unknown flag '%s' (see 'kswarm help get')\n", s);
			return -1;
		}
		if (slot) {
			if (i + 1 >= argc) {
				fprintf(stderr, "kswarm get: %s needs a value\n", s);
				return -1;
			}
			*slot = argv[++i];
			continue;
		}
		if (!a->kind)
			a->kind = s;
		else
			a->names[a->n_names++] = s;
	}
	if (!a->kind) {
		fprintf(stderr, "kswarm get: which kind? e.g. 'kswarm get pods' "
				"(see 'kswarm help get')\n");
		return -1;
	}
	/* KIND/NAME */
	const char *slash = strchr(a->kind, '/');
	if (slash) {
		a->names[a->n_names++] = slash + 1;
		a->kind = a->kind_copy = ks_strndup(a->kind, (size_t)(slash - a->kind));
	}
	if (a->output && strcmp(a->output, "json") && strcmp(a->output, "yaml") &&
	    strcmp(a->output, "wide") && strcmp(a->output, "name")) {
		fprintf(stderr, "kswarm get: unknown output format '%s' (json, yaml, wide, name)\n",
			a->output);
		return -1;
	}
	return 0;
}

/* "pod/x", "deployment.apps/x" as kubectl -o name prints. */
/* "deployment.apps/", "pod/": how kubectl prefixes names (-o name, several kinds). */
static void kind_prefix(const struct kube_resource *r, char *out, size_t len)
{
	char kind[80];
	snprintf(kind, sizeof kind, "%s", r->kind);
	for (char *p = kind; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	if (r->group[0])
		snprintf(out, len, "%s.%s/", kind, r->group);
	else
		snprintf(out, len, "%s/", kind);
}

static void print_name(const struct kube_resource *r, const char *name)
{
	char prefix[200];
	kind_prefix(r, prefix, sizeof prefix);
	printf("%s%s\n", prefix, name);
}

static void hide_managed_fields(cJSON *obj)
{
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
}

static int print_objects(const struct get_args *a, const struct kube_resource *r, cJSON *result,
			 bool single)
{
	/* As kubectl (since 1.21): managedFields only with --show-managed-fields. */
	if (!a->show_managed_fields) {
		cJSON *it;
		if (single)
			hide_managed_fields(result);
		else
			cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(result, "items"))
				hide_managed_fields(it);
	}
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	int rc = 0;
	if (!strcmp(a->output, "name")) {
		const cJSON *it;
		if (single)
			print_name(r, ks_json_str_or(result, "metadata.name", ""));
		else
			cJSON_ArrayForEach(it, ks_json_get(result, "items"))
				print_name(r, ks_json_str_or(it, "metadata.name", ""));
		ks_buf_release(&out);
		return 0;
	}
	if (!strcmp(a->output, "json")) {
		ks_json_write_go(result, &out);
		ks_buf_appendc(&out, '\n');
	} else {
		struct ks_err err = {0};
		rc = ks_yaml_write(result, &out, &err);
		if (rc)
			fprintf(stderr, "kswarm get: %s\n", err.msg);
	}
	fwrite(out.data, 1, out.len, stdout);
	ks_buf_release(&out);
	return rc;
}

/* Turn a typed list (PodList) into what kubectl prints: {"apiVersion":"v1","items":[each
 * with its kind and apiVersion],"kind":"List","metadata":{"resourceVersion":""}}. */
static cJSON *as_list(cJSON *typed, const struct kube_resource *r)
{
	cJSON *list = cJSON_CreateObject();
	cJSON_AddStringToObject(list, "apiVersion", "v1");
	cJSON *items = cJSON_DetachItemFromObjectCaseSensitive(typed, "items");
	if (!items)
		items = cJSON_CreateArray();
	char api_version[100];
	if (r->group[0])
		snprintf(api_version, sizeof api_version, "%s/%s", r->group, r->version);
	else
		snprintf(api_version, sizeof api_version, "%s", r->version);
	cJSON *it;
	cJSON_ArrayForEach(it, items)
	{
		if (!cJSON_GetObjectItemCaseSensitive(it, "apiVersion"))
			cJSON_AddStringToObject(it, "apiVersion", api_version);
		if (!cJSON_GetObjectItemCaseSensitive(it, "kind"))
			cJSON_AddStringToObject(it, "kind", r->kind);
	}
	cJSON_AddItemToObject(list, "items", items);
	cJSON_AddStringToObject(list, "kind", "List");
	cJSON *meta = cJSON_AddObjectToObject(list, "metadata");
	cJSON_AddStringToObject(meta, "resourceVersion", "");
	cJSON_Delete(typed);
	return list;
}

static void no_resources(const struct get_args *a, const struct kube_resource *r, const char *ns)
{
	if (r->namespaced && !a->k.all_namespaces)
		fprintf(stderr, "No resources found in %s namespace.\n", ns);
	else
		fprintf(stderr, "No resources found\n");
}

/* `get deploy,rs`: each kind's table in turn (names prefixed with the kind, a blank line
 * between tables), or one List of every kind's items, as kubectl prints them. */
static int get_kinds(const struct get_args *a, struct kube_client *c)
{
	if (a->n_names > 0) {
		fprintf(stderr, "kswarm get: names go with one kind at a time (use KIND/NAME)\n");
		return CLI_USAGE;
	}
	bool table = !a->output || !strcmp(a->output, "wide");
	bool wide = a->output && !strcmp(a->output, "wide");
	struct ks_err err = {0};
	char *kinds = ks_strdup(a->kind);
	const struct kube_api_resource *res[32];
	int n = 0;
	for (char *save = NULL, *k = strtok_r(kinds, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		if (n == (int)KS_ARRAY_LEN(res)) {
			fprintf(stderr, "kswarm get: at most %d kinds at once\n", n);
			free(kinds);
			return CLI_USAGE;
		}
		res[n] = kube_discovery_find(c->discovery, k, &err);
		if (!res[n]) {
			fprintf(stderr, "error: %s\n", err.msg);
			free(kinds);
			return CLI_FAIL;
		}
		n++;
	}
	free(kinds);
	const char *ns = a->k.all_namespaces ? NULL : cli_kube_namespace(&a->k, c);
	cJSON *all = NULL;
	int printed = 0, status = CLI_OK;
	for (int i = 0; i < n; i++) {
		struct kube_resource r = res[i]->r;
		struct kube_list_opts lo = {
			.label_selector = a->selector,
			.field_selector = a->field_selector,
			.limit = a->chunk > 0 ? a->chunk : 500,
			.accept = table ? TABLE_ACCEPT : NULL,
		};
		cJSON *result = NULL;
		if (kube_list(c, &r, ns, &lo, &result, &err)) {
			fprintf(stderr, "Error from server: %s\n", err.msg);
			status = CLI_FAIL;
			continue;
		}
		if (table) {
			if (ks_json_len(ks_json_get(result, "rows")) > 0) {
				char prefix[200];
				kind_prefix(&r, prefix, sizeof prefix);
				if (printed++)
					putchar('\n');
				cli_print_table(stdout, result, a->k.all_namespaces && r.namespaced,
						wide, a->no_headers, prefix);
			}
			cJSON_Delete(result);
			continue;
		}
		cJSON *l = as_list(result, &r);
		if (!all) {
			all = l;
			continue;
		}
		cJSON *items = cJSON_DetachItemFromObjectCaseSensitive(l, "items");
		cJSON *it, *dst = cJSON_GetObjectItemCaseSensitive(all, "items");
		while (items && (it = cJSON_DetachItemFromArray(items, 0)))
			cJSON_AddItemToArray(dst, it);
		cJSON_Delete(items);
		cJSON_Delete(l);
	}
	if (table && !printed && status == CLI_OK)
		no_resources(a, &res[0]->r, ns);
	if (!table && all) {
		if (!strcmp(a->output, "name")) {
			/* Each item names its own kind. */
			const cJSON *it;
			if (!ks_json_len(ks_json_get(all, "items")))
				no_resources(a, &res[0]->r, ns);
			cJSON_ArrayForEach(it, ks_json_get(all, "items"))
			{
				const char *iv = ks_json_str_or(it, "apiVersion", "");
				const char *slash = strchr(iv, '/');
				struct kube_resource r;
				memset(&r, 0, sizeof r);
				snprintf(r.kind, sizeof r.kind, "%s", ks_json_str_or(it, "kind", ""));
				if (slash)
					snprintf(r.group, sizeof r.group, "%.*s", (int)(slash - iv), iv);
				print_name(&r, ks_json_str_or(it, "metadata.name", ""));
			}
		} else {
			print_objects(a, &res[0]->r, all, false);
		}
	}
	cJSON_Delete(all);
	return status;
}

int cmd_get(int argc, char **argv)
{
	struct get_args a = {0};
	int status = CLI_USAGE;
	struct kube_client c = {0};
	bool connected = false;
	if (parse_args(argc, argv, &a))
		goto out;
	status = CLI_FAIL;
	if (cli_kube_connect(&a.k, &c))
		goto out;
	connected = true;
	struct ks_err err = {0};
	if (kube_discovery_ensure(&c, &err)) {
		fprintf(stderr, "kswarm get: discovery: %s\n", err.msg);
		goto out;
	}
	if (strchr(a.kind, ',')) {
		status = get_kinds(&a, &c);
		goto out;
	}
	const struct kube_api_resource *ar = kube_discovery_find(c.discovery, a.kind, &err);
	if (!ar) {
		fprintf(stderr, "error: %s\n", err.msg);
		goto out;
	}
	struct kube_resource r = ar->r;
	const char *ns = a.k.all_namespaces ? NULL : cli_kube_namespace(&a.k, &c);
	bool table = !a.output || !strcmp(a.output, "wide");
	bool wide = a.output && !strcmp(a.output, "wide");
	status = CLI_OK;

	if (a.n_names > 0) {
		if (a.k.all_namespaces && r.namespaced)
			ns = cli_kube_namespace(&a.k, &c);
		cJSON *table_acc = NULL;
		cJSON *list = cJSON_CreateArray();
		for (int i = 0; i < a.n_names; i++) {
			cJSON *obj = NULL;
			int rc;
			if (table) {
				struct ks_buf path;
				ks_buf_init(&path, 8192);
				kube_path(&path, &r, ns, a.names[i]);
				struct kube_http_req req = {.method = "GET", .path = path.data,
							    .accept = TABLE_ACCEPT};
				struct kube_http_resp resp;
				rc = kube_http_do(c.http, &req, &resp, &err);
				if (!rc)
					obj = ks_json_parse(resp.body.data, resp.body.len,
							    resp.body.max, &err);
				if (!rc && !obj)
					rc = err.code;
				kube_http_resp_release(&resp);
				ks_buf_release(&path);
			} else {
				rc = kube_get(&c, &r, ns, a.names[i], &obj, &err);
			}
			if (rc) {
				if (rc == KS_ENOTFOUND)
					fprintf(stderr,
						"Error from server (NotFound): %s \"%s\" not found\n",
						r.resource, a.names[i]);
				else
					fprintf(stderr, "Error from server: %s\n", err.msg);
				status = CLI_FAIL;
				continue;
			}
			if (table) {
				/* Gather rows of every name into one table. */
				if (!table_acc) {
					table_acc = obj;
					continue;
				}
				cJSON *rows = cJSON_GetObjectItemCaseSensitive(table_acc, "rows");
				cJSON *more = cJSON_DetachItemFromObjectCaseSensitive(obj, "rows");
				cJSON *row;
				while (rows && more && (row = cJSON_DetachItemFromArray(more, 0)))
					cJSON_AddItemToArray(rows, row);
				cJSON_Delete(more);
				cJSON_Delete(obj);
			} else {
				cJSON_AddItemToArray(list, obj);
			}
		}
		if (table && table_acc)
			cli_print_table(stdout, table_acc, false, wide, a.no_headers, NULL);
		else if (!table && a.n_names == 1 && cJSON_GetArraySize(list) == 1)
			print_objects(&a, &r, cJSON_GetArrayItem(list, 0), true);
		else if (!table && cJSON_GetArraySize(list) > 0) {
			cJSON *wrapper = cJSON_CreateObject();
			cJSON_AddItemToObject(wrapper, "items", list);
			list = NULL;
			cJSON *l = as_list(wrapper, &r);
			print_objects(&a, &r, l, false);
			cJSON_Delete(l);
		}
		cJSON_Delete(table_acc);
		cJSON_Delete(list);
		goto out;
	}

	struct kube_list_opts lo = {
		.label_selector = a.selector,
		.field_selector = a.field_selector,
		.limit = a.chunk > 0 ? a.chunk : 500,
		.accept = table ? TABLE_ACCEPT : NULL,
	};
	cJSON *result = NULL;
	if (kube_list(&c, &r, ns, &lo, &result, &err)) {
		fprintf(stderr, "Error from server: %s\n", err.msg);
		status = CLI_FAIL;
		goto out;
	}
	if (table) {
		int n = ks_json_len(ks_json_get(result, "rows"));
		if (n == 0)
			no_resources(&a, &r, ns);
		else
			cli_print_table(stdout, result, a.k.all_namespaces && r.namespaced, wide,
					a.no_headers, NULL);
		cJSON_Delete(result);
	} else {
		/* A Table list is merged by rows; a JSON one by items. */
		cJSON *l = as_list(result, &r);
		if (!strcmp(a.output, "name") && !ks_json_len(ks_json_get(l, "items")))
			no_resources(&a, &r, ns);
		print_objects(&a, &r, l, false);
		cJSON_Delete(l);
	}
out:
	if (connected)
		kube_client_close(&c);
	free(a.kind_copy);
	free(a.names);
	return status;
}
