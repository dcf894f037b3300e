/* an_ingress.c — the Ingress analyzer.
 *
 * Class: spec.ingressClassName naming no IngressClass is IngressClassNotFound (high: no
 * controller will serve it); neither a class name nor the kubernetes.io/ingress.class
 * annotation, with no IngressClass marked default (ingressclass.kubernetes.io/
 * is-default-class=true), is IngressNoClass (medium). A class given by annotation needs no
 * IngressClass object (controllers matched it by name before IngressClass existed).
 * Backends (networking.k8s.io/v1 backend.service.{name,port.number|port.name}, and
 * v1beta1/extensions backend.{serviceName,servicePort}), default backend included:
 * IngressBackendMissing when the Service does not exist, IngressBackendPortMissing when it
 * has no such port (by number or by name). TLS: IngressTLSSecretMissing when a
 * tls[].secretName names no Secret (only when Secrets are readable at all).
 * Each missing object is reported once per Ingress, however many rules name it. */
#include "base/common.h"

#include <string.h>

#include "base/json.h"
#include "diag/analyzers.h"
#include "diag/diag.h"
#include "diag/infra.h"

struct ing_ctx {
	struct diag_ctx *cx;
	struct wobj ing;
	const char *ns, *name;
	char reported[32][256]; /* service names already reported for this Ingress */
	size_t n_reported;
};

static bool already(struct ing_ctx *ic, const char *what)
{
	for (size_t i = 0; i < ic->n_reported; i++)
		if (!strcmp(ic->reported[i], what))
			return true;
	if (ic->n_reported < KS_ARRAY_LEN(ic->reported))
		snprintf(ic->reported[ic->n_reported++], sizeof ic->reported[0], "%s", what);
	return false;
}

static void check_backend(struct ing_ctx *ic, const cJSON *be)
{
	if (!be)
		return;
	const char *svc = ks_json_str(be, "service.name");
	int64_t number = ks_json_int_or(be, "service.port.number", -1);
	const char *pname = ks_json_str(be, "service.port.name");
	if (!svc) { /* v1beta1 */
		svc = ks_json_str(be, "serviceName");
		const cJSON *sp = ks_json_get(be, "servicePort");
		if (cJSON_IsString(sp))
			pname = sp->valuestring;
		else if (cJSON_IsNumber(sp))
			number = (int64_t)sp->valuedouble;
	}
	if (!svc)
		return; /* a resource backend */
	struct diag_ctx *cx = ic->cx;
	struct world *w = cx->w;
	struct diag_ref iref = diag_ref_of(w, ic->ing);
	struct wobj s = world_get(w, WK_SERVICE, ic->ns, svc);
	char port[128];
	if (pname && *pname)
		snprintf(port, sizeof port, "%s", pname);
	else
		snprintf(port, sizeof port, "%lld", (long long)number);
	if (!wobj_ok(s)) {
		if (already(ic, svc))
			return;
		struct diag_finding *f = diag_new(cx, "Ingress", "IngressBackendMissing", DIAG_HIGH,
						  ic->ing);
		diag_set_symptom(f, "Ingress %s/%s routes to a Service that does not exist", ic->ns,
				 ic->name);
		diag_set_root_cause(f, "Ingress %s/%s sends traffic to Service %s/%s, which does not "
				    "exist: those requests get 503/404 from the controller.", ic->ns,
				    ic->name, ic->ns, svc);
		diag_ev_field(f, &iref, ".spec.rules[].http.paths[].backend", "service %s port %s", svc,
			      port);
		struct diag_ref sref = diag_ref_make("Service", ic->ns, svc, "");
		diag_ev_object(f, &sref, "not found");
		diag_set_group(f, "ingress-backend:%s/%s:%s", ic->ns, ic->name, svc);
		diag_fix_human(f, "create Service %s/%s or point the Ingress at the existing one", ic->ns,
			       svc);
		diag_fix_check(f, "kubectl -n %s get svc", ic->ns);
		f->confidence = 0.9;
		return;
	}
	if ((number < 0 && !(pname && *pname)) || infra_service_has_port(s, number, pname))
		return;
	char key[300];
	snprintf(key, sizeof key, "%s:%s", svc, port);
	if (already(ic, key))
		return;
	struct diag_ref sref = diag_ref_of(w, s);
	struct diag_finding *f = diag_new(cx, "Ingress", "IngressBackendPortMissing", DIAG_HIGH,
					  ic->ing);
	diag_set_symptom(f, "Ingress %s/%s routes to a port Service %s does not expose", ic->ns,
			 ic->name, svc);
	diag_set_root_cause(f, "Ingress %s/%s sends traffic to port %s of Service %s/%s, which has "
			    "no such port.", ic->ns, ic->name, port, ic->ns, svc);
	diag_ev_field(f, &iref, ".spec.rules[].http.paths[].backend", "service %s port %s", svc,
		      port);
	char ports[256] = "";
	size_t off = 0;
	uint32_t pl = wobj_get(s, "spec.ports");
	for (size_t i = 0; i < kube_objstore_len(s.st, pl) && off < sizeof ports; i++) {
		uint32_t p = kube_objstore_at(s.st, pl, i);
		char tmp[KUBE_OBJSTORE_STRTMP];
		const char *nm = kube_objstore_str(s.st, kube_objstore_child(s.st, p, "name", 4), tmp,
						   NULL);
		int k = snprintf(ports + off, sizeof ports - off, "%s%lld%s%s", i ? ", " : "",
				 (long long)kube_objstore_num(s.st, kube_objstore_child(s.st, p, "port", 4),
							      0),
				 nm ? "/" : "", nm ? nm : "");
		if (k > 0)
			off += (size_t)k;
	}
	diag_ev_field(f, &sref, ".spec.ports", "%s", ports);
	diag_related(f, &sref, "backend-service");
	diag_fix_human(f, "use one of the Service's ports (%s) in the Ingress backend", ports);
	f->confidence = 0.9;
}

static int default_class_visit(void *p, struct wobj cls)
{
	uint32_t ann = wobj_get(cls, "metadata.annotations");
	static const char key[] = "ingressclass.kubernetes.io/is-default-class";
	if (kube_objstore_str_eq(cls.st, kube_objstore_child(cls.st, ann, key, sizeof key - 1),
				 "true", 4)) {
		*(bool *)p = true;
		return 1;
	}
	return 0;
}

static void check_class(struct ing_ctx *ic, const cJSON *j)
{
	struct diag_ctx *cx = ic->cx;
	struct world *w = cx->w;
	struct diag_ref iref = diag_ref_of(w, ic->ing);
	const char *cls = ks_json_str(j, "spec.ingressClassName");
	const cJSON *anns = ks_json_get(j, "metadata.annotations");
	const cJSON *ann = anns ? ks_json_child(anns, "kubernetes.io/ingress.class") : NULL;
	if (!world_has(w, WK_INGRESSCLASS))
		return;
	if (cls) {
		if (wobj_ok(world_get(w, WK_INGRESSCLASS, "", cls)))
			return;
		struct diag_finding *f = diag_new(cx, "Ingress", "IngressClassNotFound", DIAG_HIGH,
						  ic->ing);
		diag_set_symptom(f, "Ingress %s/%s is served by no controller", ic->ns, ic->name);
		diag_set_root_cause(f, "Ingress %s/%s names IngressClass %s, which does not exist.",
				    ic->ns, ic->name, cls);
		diag_ev_field(f, &iref, ".spec.ingressClassName", "%s", cls);
		struct diag_ref cref = diag_ref_make("IngressClass", "", cls, "");
		diag_ev_object(f, &cref, "not found");
		diag_set_group(f, "ingressclass-missing:%s", cls);
		diag_fix_human(f, "set spec.ingressClassName to an existing IngressClass");
		diag_fix_check(f, "kubectl get ingressclass");
		f->confidence = 0.9;
		return;
	}
	if (cJSON_IsString(ann))
		return;
	bool has_default = false;
	world_each(w, WK_INGRESSCLASS, default_class_visit, &has_default);
	if (has_default)
		return;
	struct diag_finding *f = diag_new(cx, "Ingress", "IngressNoClass", DIAG_MEDIUM, ic->ing);
	diag_set_symptom(f, "Ingress %s/%s names no Ingress class", ic->ns, ic->name);
	diag_set_root_cause(f, "Ingress %s/%s has neither spec.ingressClassName nor the "
			    "kubernetes.io/ingress.class annotation, and no IngressClass is marked "
			    "default, so no controller is bound to serve it.", ic->ns, ic->name);
	diag_ev_field(f, &iref, ".spec.ingressClassName", "(unset)");
	diag_fix_human(f, "set spec.ingressClassName, or mark one IngressClass default");
	diag_fix_check(f, "kubectl get ingressclass");
	f->confidence = 0.75;
}

static void check_tls(struct ing_ctx *ic, const cJSON *j)
{
	struct diag_ctx *cx = ic->cx;
	struct world *w = cx->w;
	if (!world_has(w, WK_SECRET))
		return;
	struct diag_ref iref = diag_ref_of(w, ic->ing);
	const cJSON *t;
	cJSON_ArrayForEach(t, ks_json_get(j, "spec.tls"))
	{
		const char *secret = ks_json_str(t, "secretName");
		if (!secret || wobj_ok(world_get(w, WK_SECRET, ic->ns, secret)))
			continue;
		struct diag_finding *f = diag_new(cx, "Ingress", "IngressTLSSecretMissing", DIAG_HIGH,
						  ic->ing);
		diag_set_symptom(f, "Ingress %s/%s serves TLS without its certificate", ic->ns,
				 ic->name);
		diag_set_root_cause(f, "Ingress %s/%s uses Secret %s/%s as its TLS certificate, and "
				    "that Secret does not exist: the controller serves its default "
				    "certificate.", ic->ns, ic->name, ic->ns, secret);
		diag_ev_field(f, &iref, ".spec.tls[].secretName", "%s", secret);
		struct diag_ref sref = diag_ref_make("Secret", ic->ns, secret, "");
		diag_ev_object(f, &sref, "not found");
		diag_fix_human(f, "create TLS Secret %s/%s (or let cert-manager issue it)", ic->ns,
			       secret);
		diag_fix_check(f, "kubectl -n %s get certificate,secret", ic->ns);
		f->confidence = 0.9;
	}
}

static int ingress_visit(void *p, struct wobj ing)
{
	struct diag_ctx *cx = p;
	struct world *w = cx->w;
	struct ing_ctx ic = {.cx = cx, .ing = ing, .ns = wobj_ns(w, ing), .name = wobj_name(w, ing)};
	const cJSON *j = world_json(w, ing);
	check_class(&ic, j);
	check_backend(&ic, ks_json_get(j, "spec.defaultBackend"));
	check_backend(&ic, ks_json_get(j, "spec.backend"));
	const cJSON *rule, *path;
	cJSON_ArrayForEach(rule, ks_json_get(j, "spec.rules"))
		cJSON_ArrayForEach(path, ks_json_get(rule, "http.paths"))
			check_backend(&ic, ks_json_get(path, "backend"));
	check_tls(&ic, j);
	return 0;
}

void diag_an_ingress(struct diag_ctx *cx)
{
	diag_each(cx, WK_INGRESS, ingress_visit, cx);
}
