/* an_gateway.c — the Gateway API analyzer (only where the Gateway API is served).
 *
 * Gateway: GatewayClassNotFound when spec.gatewayClassName names no GatewayClass (checked
 * only when GatewayClasses are served); otherwise every status condition is read (K8sGPT
 * reads only the first): Accepted=False GatewayNotAccepted, Programmed=False
 * GatewayNotProgrammed, both high, with the controller's reason and message.
 * HTTPRoute: a parentRef to a Gateway that does not exist (namespace defaults to the
 * route's) HTTPRouteGatewayMissing; a backendRef to a Service (the default kind) that does
 * not exist HTTPRouteBackendMissing, or that lacks the port HTTPRouteBackendPortMissing. */
#include "base/common.h"

#include <string.h>

#include "base/json.h"
#include "diag/analyzers.h"
#include "diag/diag.h"
#include "diag/infra.h"

static void gateway_condition(struct diag_ctx *cx, struct wobj gw, const cJSON *j,
			      const char *type, const char *cause)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, ks_json_get(j, "status.conditions"))
	{
		if (strcmp(ks_json_str_or(c, "type", ""), type) ||
		    strcmp(ks_json_str_or(c, "status", ""), "False"))
			continue;
		struct world *w = cx->w;
		struct diag_ref ref = diag_ref_of(w, gw);
		const char *reason = ks_json_str_or(c, "reason", "");
		const char *msg = ks_json_str_or(c, "message", "");
		struct diag_finding *f = diag_new(cx, "Gateway", cause, DIAG_HIGH, gw);
		diag_set_symptom(f, "Gateway %s/%s is not %s", ref.ns, ref.name,
				 !strcmp(type, "Accepted") ? "accepted" : "programmed");
		diag_set_root_cause(f, "Gateway %s/%s has %s=False (%s): %s", ref.ns, ref.name, type,
				    reason, msg);
		diag_ev_field(f, &ref, ".status.conditions", "%s=False %s: %s", type, reason, msg);
		diag_fix_human(f, "fix what the Gateway controller reports (%s)", reason);
		diag_fix_check(f, "kubectl -n %s describe gateway %s", ref.ns, ref.name);
		f->confidence = 0.85;
		return;
	}
}

static int gateway_visit(void *p, struct wobj gw)
{
	struct diag_ctx *cx = p;
	struct world *w = cx->w;
	struct diag_ref ref = diag_ref_of(w, gw);
	const cJSON *j = world_json(w, gw);
	const char *cls = ks_json_str_or(j, "spec.gatewayClassName", "");
	if (world_has(w, WK_GATEWAYCLASS) && *cls &&
	    !wobj_ok(world_get(w, WK_GATEWAYCLASS, "", cls))) {
		struct diag_finding *f = diag_new(cx, "Gateway", "GatewayClassNotFound", DIAG_HIGH, gw);
		diag_set_symptom(f, "Gateway %s/%s is served by no controller", ref.ns, ref.name);
		diag_set_root_cause(f, "Gateway %s/%s uses GatewayClass %s, which does not exist.",
				    ref.ns, ref.name, cls);
		diag_ev_field(f, &ref, ".spec.gatewayClassName", "%s", cls);
		struct diag_ref cref = diag_ref_make("GatewayClass", "", cls, "");
		diag_ev_object(f, &cref, "not found");
		diag_fix_human(f, "set gatewayClassName to an installed GatewayClass");
		diag_fix_check(f, "kubectl get gatewayclass");
		f->confidence = 0.9;
		return 0;
	}
	gateway_condition(cx, gw, j, "Accepted", "GatewayNotAccepted");
	gateway_condition(cx, gw, j, "Programmed", "GatewayNotProgrammed");
	return 0;
}

static void route_missing(struct diag_ctx *cx, struct wobj route, const char *cause,
			  const char *kind, const char *ns, const char *name, const char *detail)
{
	struct world *w = cx->w;
	struct diag_ref ref = diag_ref_of(w, route);
	struct diag_finding *f = diag_new(cx, "Gateway", cause, DIAG_HIGH, route);
	diag_set_symptom(f, "HTTPRoute %s/%s does not route", ref.ns, ref.name);
	diag_set_root_cause(f, "HTTPRoute %s/%s refers to %s %s/%s%s.", ref.ns, ref.name, kind, ns,
			    name, detail);
	struct diag_ref oref = diag_ref_make(kind, ns, name, "");
	diag_ev_object(f, &oref, "%s", *detail ? detail + 2 : "not found");
	diag_set_group(f, "%s:%s/%s:%s/%s", cause, ref.ns, ref.name, ns, name);
	diag_fix_human(f, "create %s %s/%s or fix the reference in HTTPRoute %s/%s", kind, ns, name,
		       ref.ns, ref.name);
	f->confidence = 0.9;
}

static int route_visit(void *p, struct wobj route)
{
	struct diag_ctx *cx = p;
	struct world *w = cx->w;
	const char *rns = wobj_ns(w, route);
	const cJSON *j = world_json(w, route);
	const cJSON *ref;
	if (world_has(w, WK_GATEWAY)) {
		cJSON_ArrayForEach(ref, ks_json_get(j, "spec.parentRefs"))
		{
			if (strcmp(ks_json_str_or(ref, "kind", "Gateway"), "Gateway"))
				continue;
			const char *ns = ks_json_str_or(ref, "namespace", rns);
			const char *name = ks_json_str_or(ref, "name", "");
			if (!wobj_ok(world_get(w, WK_GATEWAY, ns, name)))
				route_missing(cx, route, "HTTPRouteGatewayMissing", "Gateway", ns, name,
					      ", which does not exist");
		}
	}
	const cJSON *rule;
	cJSON_ArrayForEach(rule, ks_json_get(j, "spec.rules"))
		cJSON_ArrayForEach(ref, ks_json_get(rule, "backendRefs"))
	{
		if (strcmp(ks_json_str_or(ref, "kind", "Service"), "Service") ||
		    *ks_json_str_or(ref, "group", ""))
			continue;
		const char *ns = ks_json_str_or(ref, "namespace", rns);
		const char *name = ks_json_str_or(ref, "name", "");
		struct wobj svc = world_get(w, WK_SERVICE, ns, name);
		int64_t port = ks_json_int_or(ref, "port", -1);
		if (!wobj_ok(svc)) {
			route_missing(cx, route, "HTTPRouteBackendMissing", "Service", ns, name,
				      ", which does not exist");
		} else if (port >= 0 && !infra_service_has_port(svc, port, NULL)) {
			char detail[96];
			snprintf(detail, sizeof detail, ", which has no port %lld", (long long)port);
			route_missing(cx, route, "HTTPRouteBackendPortMissing", "Service", ns, name,
				      detail);
		}
	}
	return 0;
}

void diag_an_gateway(struct diag_ctx *cx)
{
	if (world_has(cx->w, WK_GATEWAY))
		diag_each(cx, WK_GATEWAY, gateway_visit, cx);
	if (world_has(cx->w, WK_HTTPROUTE))
		diag_each(cx, WK_HTTPROUTE, route_visit, cx);
}
