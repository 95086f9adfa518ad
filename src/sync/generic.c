/* Kinds synced virtual -> host with the same shape of reconcile:
 * Services (ClusterIP and LoadBalancer status back), ConfigMaps and Secrets
 * (only when a pod uses them, or force-sync), Endpoints (of selector-less
 * Services: the host computes the others), PersistentVolumeClaims (status
 * back), and, each behind its sync.toHost.<kind>.enabled switch, Ingresses
 * (loadBalancer status back), NetworkPolicies, PodDisruptionBudgets,
 * ServiceAccounts and the cluster-scoped PriorityClasses (host name
 * vcluster-<name>-x-<hostNs>-x-<vc>). Virtual wins: host edits to synced
 * fields are overwritten; but labels and annotations the host adds to a
 * Service are the host's, and go back to the virtual Service
 * (translate/backsync.c). A host object whose virtual twin is gone is
 * deleted, also at startup (the host informer's first list enqueues every
 * managed host object). */
#include <string.h>

#include "sync/sync.h"

#define FORCE_SYNC "vcluster.loft.sh/force-sync"
#define ROOT_CA "kube-root-ca.crt"

typedef struct gen_state {
    vc__map recreate; /* Service vkey -> "validating" | "ok" | "fail" (static strings) */
} gen_state;

static const char RC_VALIDATING[] = "validating", RC_OK[] = "ok", RC_FAIL[] = "fail";

static void gen_state_free(void *p)
{
    gen_state *g = p;
    if (!g)
        return;
    vc__map_clear(&g->recreate, NULL);
    vc__free(g);
}

static const char *ref_kind(vc__kind_id id)
{
    switch (id) {
    case VC__K_CONFIGMAP: return "configMaps";
    case VC__K_SECRET: return "secrets";
    case VC__K_PVC: return "persistentVolumeClaims";
    default: return NULL;
    }
}

/* ---- pod references: "configMaps|ns/name" -> count ----
 * A pod's volumes and env are immutable, so what it references is computed
 * once, when it is first seen, and kept per pod as "UID\nREF\nREF...". The
 * informer caches slim pods, so the references cannot be computed again from
 * the cache when the pod goes. */

static void ref_delta(vc_syncer *s, const char *ref, size_t len, int delta)
{
    char key[600];
    if (len == 0 || len >= sizeof key)
        return;
    memcpy(key, ref, len);
    key[len] = 0;
    intptr_t n = (intptr_t)vc__map_get(&s->refs, key) + delta;
    if (n <= 0)
        vc__map_del(&s->refs, key);
    else if (vc__map_put(&s->refs, key, (void *)n, NULL) < 0)
        return;
    const char *bar = strchr(key, '|');
    const char *slash = bar ? strchr(bar, '/') : NULL;
    if (!bar || !slash)
        return;
    vc__ctl_id ctl = !strncmp(key, "configMaps|", 11) ? VC__CTL_CONFIGMAPS
                     : !strncmp(key, "secrets|", 8)   ? VC__CTL_SECRETS
                                                      : VC__CTL_PVCS;
    vc__ctl *c = vc__sync_ctl_of(s, ctl);
    if (c)
        vc__sync_enqueue(s, c, bar + 1, 0);
}

/* Apply delta to every reference of a "UID\nREF\n..." record. */
static void refs_record_apply(vc_syncer *s, const char *rec, int delta)
{
    const char *p = rec ? strchr(rec, '\n') : NULL;
    while (p && *p) {
        p++;
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        ref_delta(s, p, len, delta);
        p = e;
    }
}

static char *refs_record(vc_syncer *s, const json_t *pod, const char *uid)
{
    json_t *refs = NULL;
    if (vc__translate_pod_references(&refs, s->tr, pod) < 0)
        return NULL;
    const char *ns = vc__jpath_str(pod, "metadata", "namespace");
    static const char *const kinds[] = { "configMaps", "secrets", "persistentVolumeClaims" };
    vc_buf b = VC_BUF_INIT;
    int rc = vc__buf_puts(&b, uid);
    for (int k = 0; k < 3 && rc == VC_OK && ns; k++) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(refs, kinds[k]), i, e) {
            const char *name = vc__jstr(e, "name");
            if (name && rc == VC_OK)
                rc = vc__buf_printf(&b, "\n%s|%s/%s", kinds[k], ns, name);
        }
    }
    json_decref(refs);
    if (rc < 0) {
        vc_buf_dispose(&b);
        return NULL;
    }
    return vc__buf_detach(&b);
}

void vc__refs_update(vc_syncer *s, const char *vkey, const json_t *pod)
{
    char *have = vc__map_get(&s->pod_refs, vkey);
    const char *uid = pod ? vc__jpath_str(pod, "metadata", "uid") : NULL;
    if (!uid)
        uid = "";
    size_t ul = strlen(uid);
    if (pod && have && !strncmp(have, uid, ul) && (have[ul] == '\n' || have[ul] == 0))
        return; /* the same pod: its references cannot have changed */
    char *now = NULL;
    if (pod) {
        now = refs_record(s, pod, uid);
        if (!now) {
            VC__LOGW("sync", "pod %s: cannot compute its references: %s", vkey, vc_error_last()->message);
            return; /* the next event of the pod tries again */
        }
    }
    if (now && vc__map_put(&s->pod_refs, vkey, now, NULL) < 0) {
        vc__free(now);
        return;
    }
    if (!now)
        vc__map_del(&s->pod_refs, vkey);
    refs_record_apply(s, now, +1);
    refs_record_apply(s, have, -1);
    vc__free(have);
}

bool vc__refs_used(vc_syncer *s, const char *kind, const char *ns, const char *name)
{
    char *key = vc__sprintf("%s|%s/%s", kind, ns, name);
    bool used = key && vc__map_get(&s->refs, key) != NULL;
    vc__free(key);
    return used;
}

/* ---- informer handlers ---- */

static void on_virtual(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)old;
    (void)nobj;
    vc__ctl *c = ud;
    vc__sync_enqueue(inf->s, c, key, 0);
    /* a Service's selector decides whether its Endpoints sync */
    if (c->tk->id == VC__K_SERVICE) {
        vc__ctl *ep = vc__sync_ctl_of(inf->s, VC__CTL_ENDPOINTS);
        if (ep)
            vc__sync_enqueue(inf->s, ep, key, 0);
    }
}

static void set_dns_ip(vc_syncer *s, const char *ip)
{
    if (!ip || !*ip || vc__streq(ip, "None") || vc__streq(ip, s->dns_ip))
        return;
    vc__free(s->dns_ip);
    s->dns_ip = vc__strdup(ip);
    vc_translator_set_service_ips(s->tr, s->kube_ip, s->dns_ip);
    VC__LOGI("sync", "virtual DNS reachable in the host at %s", ip);
    vc__sync_enqueue_all(s, vc__sync_ctl_of(s, VC__CTL_PODS));
}

/* Before issue 16 every namespace's kube-root-ca.crt shared one host
 * ConfigMap, vcluster-kube-root-ca.crt-x-<vc>; now each namespace has its
 * own (kube-root-ca.crt-x-<ns>-x-<vc>, as upstream outside multi-namespace
 * mode), and the shared one a previous release left is deleted when the
 * host informer sees it (at every start, so a failed delete is retried by
 * the next run or the next event of that object). */
static void drop_legacy_root_ca(vc_syncer *s, const json_t *h)
{
    const char *name = vc__jpath_str(h, "metadata", "name");
    if (!vc__streq(name, s->tr->kube_root_ca) || vc__deleting(h))
        return;
    char *path = vc__obj_path("v1", "configmaps", s->host_ns, name, NULL);
    char *body = vc__delete_body(vc__uid_of(h), -1);
    if (path && body) {
        VC__LOGI("sync", "deleting the shared host ConfigMap %s of an earlier release (one per namespace now)", name);
        vc__sync_write(s, VC__SIDE_HOST, NULL, "ConfigMap", "", ROOT_CA, name, VC_SYNC_DELETED_HOST, "DELETE", path,
                       NULL, body, NULL, NULL);
    }
    vc__free(path);
    vc__free(body);
}

static void on_host(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)key;
    vc__ctl *c = ud;
    vc_syncer *s = inf->s;
    const json_t *o = nobj ? nobj : old;
    if (c->tk->id == VC__K_CONFIGMAP && nobj)
        drop_legacy_root_ca(s, nobj);
    char *vns = NULL, *vname = NULL;
    if (vc__translate_virtual_name(&vns, &vname, s->tr, o) == VC_OK) {
        char *vkey = c->tk->namespaced ? vc__sprintf("%s/%s", vns, vname) : vc__strdup(vname);
        if (vkey)
            vc__sync_enqueue(s, c, vkey, 0);
        if (c->tk->id == VC__K_SERVICE && nobj && vc__streq(vns, "kube-system") && vc__streq(vname, "kube-dns"))
            set_dns_ip(s, vc__jpath_str(nobj, "spec", "clusterIP"));
        vc__free(vkey);
    }
    vc__free(vns);
    vc__free(vname);
}

/* ---- reconcile ---- */

static bool should_sync(vc_syncer *s, vc__ctl *c, const char *vns, const char *vname, const json_t *v)
{
    switch (c->tk->id) {
    case VC__K_CONFIGMAP:
    case VC__K_SECRET: {
        json_t *ann = json_object_get(json_object_get(v, "metadata"), "annotations");
        if (vc__streq(json_string_value(json_object_get(ann, FORCE_SYNC)), "true"))
            return true;
        if (c->tk->id == VC__K_SECRET && vc__streq(vc__jstr(v, "type"), "kubernetes.io/service-account-token"))
            return false;
        if ((c->tk->id == VC__K_CONFIGMAP && s->all_configmaps) || (c->tk->id == VC__K_SECRET && s->all_secrets))
            return true;
        return vc__refs_used(s, ref_kind(c->tk->id), vns, vname);
    }
    case VC__K_ENDPOINTS: {
        if (vc__streq(vns, "default") && vc__streq(vname, "kubernetes"))
            return false;
        vc__ctl *svc = vc__sync_ctl_of(s, VC__CTL_SERVICES);
        char key[512];
        snprintf(key, sizeof key, "%s/%s", vns, vname);
        json_t *sv = NULL;
        if (!svc || vc__informer_load(svc->virt, key, &sv) < 0 || !sv)
            return false; /* out of memory: the next resync decides again */
        json_t *sel = json_object_get(json_object_get(sv, "spec"), "selector");
        bool r = !json_is_object(sel) || json_object_size(sel) == 0;
        json_decref(sv);
        return r;
    }
    case VC__K_SERVICE: {
        /* a replica of a host Service (replicateServices.fromHost) stays virtual */
        json_t *labels = json_object_get(json_object_get(v, "metadata"), "labels");
        return json_object_get(labels, "vcluster.loft.sh/replicated-from") == NULL;
    }
    default:
        return true;
    }
}

/* The host namespace of c's objects: NULL for cluster-scoped kinds. */
static const char *host_ns_of(const vc_syncer *s, const vc__ctl *c)
{
    return c->tk->namespaced ? s->host_ns : NULL;
}

static int del_host(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *hname, const json_t *h, const char *vns,
                    const char *vname)
{
    if (vc__deleting(h))
        return VC_OK;
    int64_t wait;
    if (!vc__host_token(s, &wait))
        return VC_ITEROVER;
    char *path = vc__obj_path(c->tk->api_version, c->tk->plural, host_ns_of(s, c), hname, NULL);
    char *body = vc__delete_body(vc__uid_of(h) ? vc__uid_of(h) : "", -1);
    int rc = path && body ? vc__sync_write(s, VC__SIDE_HOST, it, c->kind, vns, vname, hname, VC_SYNC_DELETED_HOST,
                                           "DELETE", path, NULL, body, NULL, NULL)
                          : vc__error_oom();
    vc__free(path);
    vc__free(body);
    return rc;
}

/* Create (POST) or replace (PUT) the host object obj (consumed), within the
 * host write limit. */
static int host_write(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vns, const char *vname, const char *hname,
                      json_t *obj, bool replace)
{
    int64_t wait;
    if (!vc__host_token(s, &wait)) {
        json_decref(obj);
        return VC_ITEROVER;
    }
    char *path = vc__obj_path(c->tk->api_version, c->tk->plural, host_ns_of(s, c), replace ? hname : NULL, NULL);
    int rc = path ? vc__sync_write_json(s, VC__SIDE_HOST, it, c->kind, vns, vname, hname,
                                        replace ? VC_SYNC_UPDATED_HOST : VC_SYNC_CREATED_HOST, replace ? "PUT" : "POST",
                                        path, NULL, obj, NULL, NULL)
                  : vc__error_oom();
    vc__free(path);
    json_decref(obj);
    return rc;
}

/* Host-assigned Service fields kept from the host object when updating. */
static void keep_host_service_fields(json_t *dspec, const json_t *hspec)
{
    static const char *const keep[] = { "clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy",
                                        "healthCheckNodePort", "internalTrafficPolicy", "sessionAffinity" };
    for (size_t i = 0; i < VC__ARRAY_LEN(keep); i++) {
        json_t *hv = json_object_get(hspec, keep[i]);
        /* missing in the desired spec, or immutable on the host (the IPs) */
        if (hv && (!json_object_get(dspec, keep[i]) || !strcmp(keep[i], "clusterIP") || !strcmp(keep[i], "clusterIPs")))
            json_object_set(dspec, keep[i], hv);
    }
    /* ports: keep host-assigned nodePorts and defaulted fields */
    json_t *dp = json_object_get(dspec, "ports"), *hp = json_object_get(hspec, "ports");
    size_t i;
    json_t *p;
    json_array_foreach(dp, i, p) {
        json_t *h = json_array_get(hp, i);
        if (!h)
            continue;
        static const char *const pk[] = { "nodePort", "protocol", "targetPort" };
        for (size_t k = 0; k < VC__ARRAY_LEN(pk); k++)
            if (!json_object_get(p, pk[k]) && json_object_get(h, pk[k]))
                json_object_set(p, pk[k], json_object_get(h, pk[k]));
    }
}

/* The host object to PUT, or NULL when the host already matches. */
static json_t *desired_update(vc__ctl *c, const json_t *desired, const json_t *h)
{
    json_t *upd = json_deep_copy(h);
    if (!upd)
        return NULL;
    json_t *umd = json_object_get(upd, "metadata"), *dmd = json_object_get(desired, "metadata");
    static const char *const mdk[] = { "labels", "annotations" };
    for (size_t i = 0; i < 2; i++) {
        json_t *dv = json_object_get(dmd, mdk[i]);
        if (dv)
            json_object_set(umd, mdk[i], dv);
        else
            json_object_del(umd, mdk[i]);
    }
    switch (c->tk->id) {
    case VC__K_SERVICE: {
        json_t *dspec = json_deep_copy(json_object_get(desired, "spec"));
        if (dspec) {
            keep_host_service_fields(dspec, json_object_get(h, "spec"));
            json_object_set_new(upd, "spec", dspec);
        }
        break;
    }
    case VC__K_PVC: {
        /* only requests may change after creation */
        json_t *dres = json_object_get(json_object_get(desired, "spec"), "resources");
        json_t *uspec = json_object_get(upd, "spec");
        if (dres && uspec)
            json_object_set(uspec, "resources", dres);
        break;
    }
    default: {
        static const char *const data[] = { "data", "binaryData", "type", "immutable", "subsets", NULL };
        /* the fields each kind syncs; what is not listed stays the host's
         * (a ServiceAccount's secrets, a PriorityClass's globalDefault) */
        static const char *const spec[] = { "spec", NULL };
        static const char *const sa[] = { "automountServiceAccountToken", NULL };
        static const char *const pc[] = { "value", "description", "preemptionPolicy", NULL };
        const char *const *top = c->tk->id == VC__K_SERVICEACCOUNT    ? sa
                                 : c->tk->id == VC__K_PRIORITYCLASS   ? pc
                                 : c->tk->id == VC__K_INGRESS || c->tk->id == VC__K_NETWORKPOLICY ||
                                         c->tk->id == VC__K_PDB
                                     ? spec
                                     : data;
        for (size_t i = 0; top[i]; i++) {
            json_t *dv = json_object_get(desired, top[i]);
            if (dv)
                json_object_set(upd, top[i], dv);
            else
                json_object_del(upd, top[i]);
        }
        break;
    }
    }
    if (json_equal(upd, h)) {
        json_decref(upd);
        return NULL;
    }
    return upd;
}

/* ---- Service ClusterIP back: the virtual Service is re-created with the
 * host's IP (so virtual DNS answers addresses that work on the host), after a
 * dry-run proved the virtual API server accepts that IP. ---- */

typedef struct recreate_ctx {
    char *vkey;
    char *body;   /* the Service to create */
    char *path;   /* collection path */
} recreate_ctx;

static void rc_free(recreate_ctx *r)
{
    vc__free(r->vkey);
    vc__free(r->body);
    vc__free(r->path);
    vc__free(r);
}

static void recreate_created(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)body;
    (void)len;
    recreate_ctx *r = ud;
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_SERVICES);
    if (c) {
        gen_state *g = c->state;
        vc__map_del(&g->recreate, r->vkey);
        vc__sync_enqueue(s, c, r->vkey, rc < 0 ? 1000 : 0);
    }
    rc_free(r);
}

static void recreate_deleted(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)body;
    (void)len;
    recreate_ctx *r = ud;
    if (rc < 0) {
        recreate_created(s, r, rc, NULL, 0);
        return;
    }
    char buf[512];
    const char *ns, *name;
    vc__split_key(r->vkey, buf, sizeof buf, &ns, &name);
    if (vc__sync_write(s, VC__SIDE_VIRT, NULL, "Service", ns, name, "", VC_SYNC_UPDATED_VIRTUAL, "POST", r->path, NULL,
                       r->body, recreate_created, r) < 0)
        recreate_created(s, r, VC_EAPI, NULL, 0);
}

static void dryrun_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)body;
    (void)len;
    char *vkey = ud;
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_SERVICES);
    if (c) {
        gen_state *g = c->state;
        bool ok = rc == VC_OK || rc == VC_EEXISTS;
        vc__map_put(&g->recreate, vkey, (void *)(ok ? RC_OK : RC_FAIL), NULL);
        if (!ok)
            VC__LOGW("sync", "Service %s keeps its virtual ClusterIP: the virtual API server refuses the host's (%s)",
                     vkey, vc_error_last()->message);
        vc__sync_enqueue(s, c, vkey, 0);
    }
    vc__free(vkey);
}

static int service_ip_back(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey, const char *vns,
                           const char *vname, const json_t *v, json_t *nv)
{
    gen_state *g = c->state;
    const char *st = vc__map_get(&g->recreate, vkey);
    if (st == RC_VALIDATING)
        return VC_OK;
    if (st == RC_FAIL)
        return VC_OK; /* keep the virtual IP; status still flows */
    json_t *fresh = json_deep_copy(nv);
    if (!fresh)
        return vc__error_oom();
    json_t *md = json_object_get(fresh, "metadata");
    static const char *const drop[] = { "uid", "resourceVersion", "creationTimestamp", "managedFields", "generation" };
    for (size_t i = 0; i < VC__ARRAY_LEN(drop); i++)
        json_object_del(md, drop[i]);
    json_object_del(fresh, "status");
    char *body = json_dumps(fresh, JSON_COMPACT);
    json_decref(fresh);
    char *coll = vc__obj_path("v1", "services", vns, NULL, NULL);
    int rc = VC_OK;
    if (!body || !coll) {
        vc__free(body);
        vc__free(coll);
        return vc__error_oom();
    }
    if (!st) {
        /* the dry run asks only whether the virtual API server takes the
         * host's IP: the node ports go, since the Service being replaced
         * still holds its own and one of them may equal the host's (then
         * "provided port is already allocated", 3 runs of 3 with a
         * LoadBalancer of externalTrafficPolicy Local, issue 16) */
        json_t *dry = json_loads(body, 0, NULL);
        json_t *dspec = json_object_get(dry, "spec");
        json_object_del(dspec, "healthCheckNodePort");
        size_t pi;
        json_t *port;
        json_array_foreach(json_object_get(dspec, "ports"), pi, port) json_object_del(port, "nodePort");
        char *dbody = dry ? json_dumps(dry, JSON_COMPACT) : NULL;
        json_decref(dry);
        if (dbody) {
            vc__free(body);
            body = dbody;
        }
        char *dpath = vc__sprintf("%s?dryRun=All", coll);
        char *k = vc__strdup(vkey);
        vc__map_put(&g->recreate, vkey, (void *)RC_VALIDATING, NULL);
        rc = dpath && k ? vc__sync_write(s, VC__SIDE_VIRT, NULL, "Service", vns, vname, "", 0, "POST", dpath, NULL, body,
                                         dryrun_done, k)
                        : vc__error_oom();
        if (rc < 0) {
            vc__free(k);
            vc__map_del(&g->recreate, vkey);
        }
        vc__free(dpath);
    } else { /* RC_OK: delete then create */
        recreate_ctx *r = vc__calloc(1, sizeof(*r));
        char *path = vc__obj_path("v1", "services", vns, vname, NULL);
        char *db = vc__sprintf("{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\",\"preconditions\":{\"uid\":\"%s\"}}",
                               vc__uid_of(v) ? vc__uid_of(v) : "");
        if (r && path && db) {
            r->vkey = vc__strdup(vkey);
            r->body = vc__strdup(body);
            r->path = vc__strdup(coll);
            vc__map_put(&g->recreate, vkey, (void *)RC_VALIDATING, NULL);
            rc = vc__sync_write(s, VC__SIDE_VIRT, it, "Service", vns, vname, "", 0, "DELETE", path, NULL, db,
                                recreate_deleted, r);
            if (rc < 0) {
                rc_free(r);
                vc__map_del(&g->recreate, vkey);
            }
        } else {
            vc__free(r);
            rc = vc__error_oom();
        }
        vc__free(path);
        vc__free(db);
    }
    vc__free(body);
    vc__free(coll);
    return rc;
}

static int status_back(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey, const char *vns, const char *vname,
                       const char *hname, const json_t *v, const json_t *h)
{
    if (c->tk->id != VC__K_SERVICE && c->tk->id != VC__K_PVC && c->tk->id != VC__K_INGRESS)
        return VC_OK;
    json_t *nv = NULL;
    int rc = vc__translate_status_to_virtual(&nv, s->tr, h, v);
    if (rc < 0)
        return rc == VC_ENOTSUPPORTED ? VC_OK : rc;
    if (c->tk->id == VC__K_SERVICE) {
        const char *vip = vc__jpath_str(v, "spec", "clusterIP");
        const char *nip = vc__jpath_str(nv, "spec", "clusterIP");
        if (nip && vip && strcmp(nip, vip) != 0 && strcmp(vip, "None") != 0) {
            rc = service_ip_back(s, c, it, vkey, vns, vname, v, nv);
            json_decref(nv);
            return rc;
        }
    }
    if (c->tk->id == VC__K_PVC) {
        /* the volume name first (storage.c), then the status */
        bool wrote = false;
        rc = vc__pvc_volume_back(s, it, vns, vname, v, nv, &wrote);
        if (rc != VC_OK || wrote) {
            json_decref(nv);
            return rc;
        }
    }
    if (!json_equal(json_object_get(nv, "status"), json_object_get(v, "status"))) {
        char *path = vc__obj_path(c->tk->api_version, c->tk->plural, vns, vname, "status");
        char *body = json_dumps(nv, JSON_COMPACT);
        rc = path && body ? vc__sync_write(s, VC__SIDE_VIRT, it, c->kind, vns, vname, hname, VC_SYNC_UPDATED_VIRTUAL,
                                           "PUT", path, NULL, body, NULL, NULL)
                          : vc__error_oom();
        vc__free(path);
        vc__free(body);
    }
    json_decref(nv);
    return rc;
}

/* Host-added labels and annotations to the virtual Service, and the host's
 * ownership records (unless `records` is false: the update just sent
 * carries them). *wrote: the virtual Service was patched. */
static int backsync(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vns, const char *vname, const char *hname,
                    const json_t *v, const json_t *h, bool records, bool *wrote)
{
    json_t *vp = NULL, *hp = NULL;
    int rc = vc__translate_backsync(&vp, &hp, s->tr, v, h);
    if (rc < 0)
        return rc;
    if (hp && records) {
        int64_t wait;
        char *path = vc__obj_path(c->tk->api_version, c->tk->plural, s->host_ns, hname, NULL);
        rc = !vc__host_token(s, &wait) ? VC_ITEROVER
             : path ? vc__sync_write_json(s, VC__SIDE_HOST, it, c->kind, vns, vname, hname, VC_SYNC_UPDATED_HOST,
                                          "PATCH", path, "application/merge-patch+json", hp, NULL, NULL)
                    : vc__error_oom();
        vc__free(path);
    }
    if (vp && rc == VC_OK) {
        char *path = vc__obj_path(c->tk->api_version, c->tk->plural, vns, vname, NULL);
        rc = path ? vc__sync_write_json(s, VC__SIDE_VIRT, it, c->kind, vns, vname, hname, VC_SYNC_UPDATED_VIRTUAL,
                                        "PATCH", path, "application/merge-patch+json", vp, NULL, NULL)
                  : vc__error_oom();
        vc__free(path);
        *wrote = rc == VC_OK;
    }
    json_decref(vp);
    json_decref(hp);
    return rc;
}

static int reconcile_objs(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey, const char *vns,
                          const char *vname, const char *hname, const json_t *v, const json_t *h)
{
    gen_state *g = c->state;
    if (g && vc__map_get(&g->recreate, vkey) && !v)
        return VC_OK; /* the virtual Service is being re-created: keep the host one */
    bool want = v && !vc__deleting(v) && should_sync(s, c, vns, vname, v);
    if (want && !h && c->tk->id == VC__K_PVC) {
        /* a class the fromHost selector leaves out (storage.c) */
        int cr = vc__pvc_class_check(s, vns, vname, v);
        if (cr != VC_OK)
            return cr == VC_ITEROVER ? VC_ITEROVER : VC_OK;
    }
    json_t *desired = NULL;
    if (want) {
        json_t *copy = json_deep_copy(v);
        if (!copy)
            return vc__error_oom();
        int rc = vc__translate_to_host(&desired, NULL, s->tr, copy, NULL, VC_TRANSLATE_APPLY_DEFAULTS, NULL);
        if (rc == VC_ENOTSUPPORTED)
            want = false;
        else if (rc == VC_ESTATE)
            return VC_ITEROVER;
        else if (rc < 0)
            return rc;
    }
    if (h && vc__host_owned_by_other(h, vns, vname)) {
        /* another virtual object's host twin: never ours to touch */
        json_decref(desired);
        return want ? vc__name_taken(s, it, c->kind, vns, vname, hname) : VC_OK;
    }
    if (!want) {
        json_decref(desired);
        if (h) {
            /* only ours: the informer selects managed-by, but the host's
             * endpoints controller copies a Service's labels (managed-by
             * included) onto the Endpoints it makes; what we made carries
             * the object-name annotation. Deleting the others loops. */
            json_t *hann = json_object_get(json_object_get(h, "metadata"), "annotations");
            if (!json_string_value(json_object_get(hann, VC__A_OBJ_NAME)))
                return VC_OK;
            return del_host(s, c, it, hname, h, vns, vname);
        }
        return VC_OK;
    }
    if (c->tk->id == VC__K_SERVICE) {
        /* keys the host added stay the host's (translate/backsync.c) */
        json_t *dw = json_deep_copy(desired);
        json_decref(desired);
        desired = dw;
        int rc = desired ? vc__translate_backsync_desired(s->tr, desired, v, h) : vc__error_oom();
        if (rc < 0) {
            json_decref(desired);
            return rc;
        }
    }
    if (!h)
        return host_write(s, c, it, vns, vname, hname, desired, false);
    json_t *hann = json_object_get(json_object_get(h, "metadata"), "annotations");
    const char *owner = json_string_value(json_object_get(hann, VC__A_OBJ_UID));
    /* A virtual Service that service_ip_back() re-created with the host's
     * ClusterIP has a new uid but is the same Service: keep (adopt) the host
     * twin, whose annotations the update below rewrites. Deleting it would
     * give the new host twin another IP, and loop forever. */
    const char *vip = vc__jpath_str(v, "spec", "clusterIP");
    bool same_ip = c->tk->id == VC__K_SERVICE && vip && *vip && strcmp(vip, "None") != 0 &&
                   vc__streq(vip, vc__jpath_str(h, "spec", "clusterIP"));
    if (owner && vc__uid_of(v) && strcmp(owner, vc__uid_of(v)) != 0 && !same_ip) {
        json_decref(desired);
        return del_host(s, c, it, hname, h, vns, vname); /* replaced when gone */
    }
    json_t *upd = desired_update(c, desired, h);
    json_decref(desired);
    if (upd) {
        int rc = host_write(s, c, it, vns, vname, hname, upd, true);
        if (rc != VC_OK)
            return rc;
    }
    if (c->tk->id == VC__K_SERVICE) {
        bool wrote = false;
        int rc = backsync(s, c, it, vns, vname, hname, v, h, !upd, &wrote);
        if (rc != VC_OK || wrote)
            return rc; /* the status after the virtual Service's event */
    }
    return status_back(s, c, it, vkey, vns, vname, hname, v, h);
}

static int reconcile(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey)
{
    return vc__reconcile_pair(s, c, it, vkey, reconcile_objs);
}

int vc__ctl_generic_init(vc_syncer *s, vc__ctl *c, int kind_id)
{
    vc__kind_id id = (vc__kind_id)kind_id;
    const vc__kind *tk = vc__kind_get(id);
    if (!vc__kind_synced(s->tr, tk))
        return VC_ITEROVER; /* sync.toHost.<kind>.enabled is false */
    c->tk = tk;
    c->kind = c->tk->kind;
    c->name = c->tk->plural;
    c->reconcile = reconcile;
    if (id == VC__K_SERVICE) {
        gen_state *g = vc__calloc(1, sizeof(*g));
        if (!g)
            return vc__error_oom();
        vc__map_init(&g->recreate);
        c->state = g;
        c->free_state = gen_state_free;
    }
    char what[64], hwhat[64];
    snprintf(what, sizeof what, "virtual %s", c->tk->plural);
    snprintf(hwhat, sizeof hwhat, "host %s", c->tk->plural);
    /* cluster-scoped host objects carry the marker of this cluster in this
     * host namespace (translate: marker_cluster) */
    char *sel = vc__sprintf("%s=%s", VC__L_MARKER, c->tk->namespaced ? s->name : s->tr->marker_cluster);
    if (!sel)
        return vc__error_oom();
    int rc = vc__informer_new(&c->virt, s, s->virt, what, c->tk->api_version, c->tk->plural, NULL, NULL, NULL,
                              on_virtual, c);
    if (rc == VC_OK)
        rc = vc__informer_new(&c->host, s, s->host, hwhat, c->tk->api_version, c->tk->plural, host_ns_of(s, c), sel,
                              NULL, on_host, c);
    vc__free(sel);
    if (rc == VC_OK)
        rc = vc__informer_set_kind(c->virt, c->kind);
    if (rc == VC_OK)
        rc = vc__informer_set_kind(c->host, c->kind);
    return rc;
}
