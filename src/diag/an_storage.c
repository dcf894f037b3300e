/* an_storage.c — the storage analyzers: PersistentVolumeClaim, PersistentVolume and
 * StorageClass.
 *
 * PVC: Pending is normal while a volume is provisioned (ExternalProvisioning, Provisioning)
 * or while the class waits for a consumer (WaitForFirstConsumer); it is a finding when
 *   - its storageClassName names no StorageClass: PVCStorageClassMissing (high), grouped per
 *     missing class so many claims are one finding;
 *   - a ProvisioningFailed event (any, not only the latest) was recorded:
 *     PVCProvisioningFailed (high), with the provisioner's message;
 *   - it stays Pending for over 5 minutes with no class, no default class and no volume
 *     (FailedBinding "no persistent volumes available"): PVCUnbound (medium).
 * A PVC without storageClassName is not a finding by itself (the default class is applied
 * at admission; K8sGPT's false positive). Lost: PVCLost (high).
 * PV: Released (reclaim policy Retain: the data waits for a person) PVReleased (low),
 * Failed (reclaim failed) PVFailed (medium).
 * StorageClass: more than one default (storageclass.kubernetes.io/is-default-class=true, or
 * the beta annotation): StorageClassMultipleDefaults (medium). */
#include "base/common.h"

#include <string.h>

#include "diag/analyzers.h"
#include "diag/diag.h"
#include "diag/infra.h"

#define PVC_PENDING_GRACE_S 300

static bool is_default_class(struct wobj sc)
{
	uint32_t ann = wobj_get(sc, "metadata.annotations");
	static const char *const keys[] = {"storageclass.kubernetes.io/is-default-class",
					   "storageclass.beta.kubernetes.io/is-default-class"};
	for (size_t i = 0; i < KS_ARRAY_LEN(keys); i++)
		if (kube_objstore_str_eq(sc.st,
					 kube_objstore_child(sc.st, ann, keys[i], strlen(keys[i])),
					 "true", 4))
			return true;
	return false;
}

struct defaults_scan {
	size_t n;
	struct wobj first[8];
};

static int default_visit(void *p, struct wobj sc)
{
	struct defaults_scan *d = p;
	if (is_default_class(sc)) {
		if (d->n < KS_ARRAY_LEN(d->first))
			d->first[d->n] = sc;
		d->n++;
	}
	return 0;
}

struct pvc_events {
	struct wobj failed;
	size_t n_failed;
	bool failed_binding;
};

static int pvc_event_visit(void *p, struct wobj ev)
{
	struct pvc_events *pe = p;
	if (wobj_str_eq(ev, "reason", "ProvisioningFailed")) {
		pe->failed = ev;
		pe->n_failed++;
	} else if (wobj_str_eq(ev, "reason", "FailedBinding")) {
		pe->failed_binding = true;
	}
	return 0;
}

static int pvc_visit(void *p, struct wobj pvc)
{
	struct diag_ctx *cx = p;
	struct world *w = cx->w;
	bool lost = wobj_str_eq(pvc, "status.phase", "Lost");
	if (!lost && !wobj_str_eq(pvc, "status.phase", "Pending"))
		return 0;
	const char *ns = wobj_ns(w, pvc), *name = wobj_name(w, pvc);
	struct diag_ref ref = diag_ref_of(w, pvc);
	struct diag_finding *f;
	if (lost) {
		char vol[254] = "";
		wobj_str(pvc, "spec.volumeName", vol, sizeof vol);
		f = diag_new(cx, "PersistentVolumeClaim", "PVCLost", DIAG_HIGH, pvc);
		diag_set_symptom(f, "PersistentVolumeClaim %s/%s is Lost", ns, name);
		diag_set_root_cause(f, "The PersistentVolume %s bound to claim %s/%s no longer "
				    "exists.", vol[0] ? vol : "(unknown)", ns, name);
		diag_ev_field(f, &ref, ".status.phase", "Lost");
		diag_ev_field(f, &ref, ".spec.volumeName", "%s", vol);
		diag_fix_human(f, "restore the volume from a backup or recreate the claim");
		f->confidence = 0.9;
		return 0;
	}
	char sc_name[254];
	const char *sc = wobj_str(pvc, "spec.storageClassName", sc_name, sizeof sc_name);
	if (sc && *sc && world_has(w, WK_STORAGECLASS) &&
	    !wobj_ok(world_get(w, WK_STORAGECLASS, "", sc))) {
		f = diag_new(cx, "PersistentVolumeClaim", "PVCStorageClassMissing", DIAG_HIGH, pvc);
		diag_set_symptom(f, "PersistentVolumeClaim %s/%s is Pending", ns, name);
		diag_set_root_cause(f, "PersistentVolumeClaim %s/%s asks for StorageClass %s, which "
				    "does not exist.", ns, name, sc);
		diag_ev_field(f, &ref, ".spec.storageClassName", "%s", sc);
		struct diag_ref scref = diag_ref_make("StorageClass", "", sc, "");
		diag_ev_object(f, &scref, "not found");
		diag_set_group(f, "storageclass-missing:%s", sc);
		diag_fix_human(f, "create StorageClass %s, or recreate the claim with an existing "
			       "class (storageClassName cannot be changed on a claim)", sc);
		diag_fix_check(f, "kubectl get storageclass");
		f->confidence = 0.95;
		return 0;
	}
	struct pvc_events pe = {0};
	world_events_for(w, "PersistentVolumeClaim", ns, name, wobj_uid(w, pvc), pvc_event_visit,
			 &pe);
	if (pe.n_failed) {
		char msg[1024] = "";
		wobj_str(pe.failed, "message", msg, sizeof msg);
		f = diag_new(cx, "PersistentVolumeClaim", "PVCProvisioningFailed", DIAG_HIGH, pvc);
		diag_set_symptom(f, "PersistentVolumeClaim %s/%s is Pending", ns, name);
		diag_set_root_cause(f, "Provisioning a volume for claim %s/%s failed: %s", ns, name,
				    msg);
		diag_ev_field(f, &ref, ".status.phase", "Pending");
		diag_ev_event(f, w, pe.failed);
		if (sc && *sc) {
			diag_ev_field(f, &ref, ".spec.storageClassName", "%s", sc);
			struct wobj scw = world_get(w, WK_STORAGECLASS, "", sc);
			if (wobj_ok(scw)) {
				struct diag_ref scref = diag_ref_of(w, scw);
				diag_related(f, &scref, "storageclass");
			}
		}
		diag_fix_human(f, "fix what the provisioner reports for claim %s/%s", ns, name);
		diag_fix_check(f, "kubectl -n %s describe pvc %s", ns, name);
		diag_fix_check(f, "the CSI provisioner's logs and its cloud quota/permissions");
		f->confidence = 0.9;
		return 0;
	}
	int64_t age = infra_age_at(w, pvc, "metadata.creationTimestamp");
	if (pe.failed_binding && age > PVC_PENDING_GRACE_S) {
		f = diag_new(cx, "PersistentVolumeClaim", "PVCUnbound", DIAG_MEDIUM, pvc);
		diag_set_symptom(f, "PersistentVolumeClaim %s/%s is Pending", ns, name);
		diag_set_root_cause(f, "No PersistentVolume matches claim %s/%s and no StorageClass "
				    "provisions one for it.", ns, name);
		diag_ev_field(f, &ref, ".status.phase", "Pending (%lld s)", (long long)age);
		diag_fix_human(f, "create a matching PersistentVolume or give the claim a "
			       "StorageClass");
		f->confidence = 0.7;
	}
	return 0;
}

static int pv_visit(void *p, struct wobj pv)
{
	struct diag_ctx *cx = p;
	struct world *w = cx->w;
	bool released = wobj_str_eq(pv, "status.phase", "Released");
	if (!released && !wobj_str_eq(pv, "status.phase", "Failed"))
		return 0;
	struct diag_ref ref = diag_ref_of(w, pv);
	char policy[32] = "", claim[300] = "", cns[64] = "", cname[254] = "", msg[512] = "";
	wobj_str(pv, "spec.persistentVolumeReclaimPolicy", policy, sizeof policy);
	wobj_str(pv, "spec.claimRef.namespace", cns, sizeof cns);
	wobj_str(pv, "spec.claimRef.name", cname, sizeof cname);
	wobj_str(pv, "status.message", msg, sizeof msg);
	snprintf(claim, sizeof claim, "%s/%s", cns, cname);
	struct diag_finding *f;
	if (released) {
		f = diag_new(cx, "PersistentVolume", "PVReleased", DIAG_LOW, pv);
		diag_set_symptom(f, "PersistentVolume %s is Released", ref.name);
		diag_set_root_cause(f, "Claim %s of PersistentVolume %s was deleted and the reclaim "
				    "policy %s keeps the volume and its data until someone acts.",
				    claim, ref.name, policy[0] ? policy : "Retain");
		diag_fix_human(f, "back up or delete PersistentVolume %s (and its disk), or clear "
			       "spec.claimRef to reuse it", ref.name);
	} else {
		f = diag_new(cx, "PersistentVolume", "PVFailed", DIAG_MEDIUM, pv);
		diag_set_symptom(f, "PersistentVolume %s is Failed", ref.name);
		diag_set_root_cause(f, "Automatic reclamation of PersistentVolume %s (policy %s) "
				    "failed%s%s", ref.name, policy, msg[0] ? ": " : ".", msg);
		diag_fix_human(f, "delete the volume's disk by hand, then the PersistentVolume %s",
			       ref.name);
	}
	diag_ev_field(f, &ref, ".status.phase", "%s", released ? "Released" : "Failed");
	diag_ev_field(f, &ref, ".spec.persistentVolumeReclaimPolicy", "%s", policy);
	if (cname[0])
		diag_ev_field(f, &ref, ".spec.claimRef", "%s", claim);
	f->confidence = 0.9;
	return 0;
}

void diag_an_pvc(struct diag_ctx *cx)
{
	diag_each(cx, WK_PVC, pvc_visit, cx);
}

void diag_an_pv(struct diag_ctx *cx)
{
	if (cx->o && cx->o->ns)
		return; /* cluster-scoped */
	diag_each(cx, WK_PV, pv_visit, cx);
}

void diag_an_storageclass(struct diag_ctx *cx)
{
	if (cx->o && cx->o->ns)
		return;
	struct defaults_scan d = {0};
	world_each(cx->w, WK_STORAGECLASS, default_visit, &d);
	if (d.n < 2)
		return;
	struct world *w = cx->w;
	struct diag_finding *f = diag_new(cx, "StorageClass", "StorageClassMultipleDefaults",
					  DIAG_MEDIUM, d.first[0]);
	char names[1024] = "";
	size_t off = 0;
	for (size_t i = 0; i < d.n && i < KS_ARRAY_LEN(d.first); i++) {
		struct diag_ref r = diag_ref_of(w, d.first[i]);
		int k = snprintf(names + off, sizeof names - off, "%s%s", i ? ", " : "", r.name);
		if (k > 0 && (size_t)k < sizeof names - off)
			off += (size_t)k;
		diag_ev_field(f, &r, ".metadata.annotations", "storageclass.kubernetes.io/"
			      "is-default-class=true");
		diag_related(f, &r, "default-class");
	}
	diag_set_symptom(f, "%zu StorageClasses are marked default", d.n);
	diag_set_root_cause(f, "StorageClasses %s are all annotated as the default; claims "
			    "without a class get whichever the API server picks.", names);
	diag_set_group(f, "storageclass-defaults");
	diag_fix_human(f, "keep one default: set storageclass.kubernetes.io/is-default-class to "
		       "\"false\" on the others");
	f->confidence = 0.95;
}
