/* Virtual Namespaces, watched for their labels: a pod created on the host
 * carries its namespace's labels as vcluster.loft.sh/ns-label-... keys (as
 * upstream; translated NetworkPolicy namespace selectors match on them).
 *
 * With policies.podSecurityStandard set, every virtual namespace gets the
 * pod-security.kubernetes.io enforce and warn labels of that level (version
 * latest), as upstream's pod security controller does, so the virtual API
 * server's PodSecurity admission refuses violating pods at once; the pod
 * syncer checks each pod again before it goes to the host. A tenant who
 * changes the labels gets them put back. Nothing else is written.
 * When a namespace's labels change, its pods are queued: their host labels
 * follow (pods.c, want_digest). */
#include <string.h>

#include "sync/sync.h"

#define PSS_ENFORCE "pod-security.kubernetes.io/enforce"
#define PSS_ENFORCE_VERSION "pod-security.kubernetes.io/enforce-version"
#define PSS_WARN "pod-security.kubernetes.io/warn"
#define PSS_WARN_VERSION "pod-security.kubernetes.io/warn-version"

static bool pss_labelled(const vc_syncer *s, const json_t *ns)
{
    json_t *l = json_object_get(json_object_get(ns, "metadata"), "labels");
    return vc__streq(vc__jstr(l, PSS_ENFORCE), s->pss) && vc__streq(vc__jstr(l, PSS_ENFORCE_VERSION), "latest") &&
           vc__streq(vc__jstr(l, PSS_WARN), s->pss) && vc__streq(vc__jstr(l, PSS_WARN_VERSION), "latest");
}

/* A namespace's labels changed: its pods' host labels follow (as
 * upstream's pod syncer does on a namespace update). */
static void pods_follow(vc_syncer *s, const char *ns)
{
    vc__ctl *pc = vc__sync_ctl_of(s, VC__CTL_PODS);
    if (!pc || !pc->virt)
        return;
    size_t it = 0, nl = strlen(ns);
    const char *k, *text;
    while (vc__informer_next(pc->virt, &it, &k, &text))
        if (!strncmp(k, ns, nl) && k[nl] == '/')
            vc__sync_enqueue(s, pc, k, 0);
}

static void on_virtual(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    vc__ctl *c = ud;
    vc_syncer *s = inf->s;
    if (s->pss && nobj && !pss_labelled(s, nobj))
        vc__sync_enqueue(s, c, key, 0);
    if (old && nobj &&
        !json_equal(json_object_get(json_object_get(old, "metadata"), "labels"),
                    json_object_get(json_object_get(nobj, "metadata"), "labels")))
        pods_follow(s, key);
}

/* Keep the labels only. */
static void slim(void *ud, json_t *obj)
{
    (void)ud;
    json_t *md = json_object_get(obj, "metadata");
    json_t *keep = json_pack("{s:O?,s:O?}", "name", json_object_get(md, "name"), "labels", json_object_get(md, "labels"));
    if (keep)
        json_object_set_new(obj, "metadata", keep);
    json_object_del(obj, "spec");
    json_object_del(obj, "status");
}

static int reconcile(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *key)
{
    if (!s->pss)
        return VC_OK; /* nothing to write: namespaces only feed pods */
    json_t *ns = NULL;
    int rc = vc__informer_load(c->virt, key, &ns);
    if (rc < 0 || !ns || pss_labelled(s, ns) || vc__deleting(ns)) {
        json_decref(ns);
        return rc;
    }
    json_decref(ns);
    json_t *patch = json_pack("{s:{s:{s:s,s:s,s:s,s:s}}}", "metadata", "labels", PSS_ENFORCE, s->pss,
                              PSS_ENFORCE_VERSION, "latest", PSS_WARN, s->pss, PSS_WARN_VERSION, "latest");
    char *path = vc__obj_path("v1", "namespaces", NULL, key, NULL);
    rc = patch && path ? vc__sync_write_json(s, VC__SIDE_VIRT, it, "Namespace", "", key, "", VC_SYNC_UPDATED_VIRTUAL,
                                             "PATCH", path, "application/merge-patch+json", patch, NULL, NULL)
                       : vc__error_oom();
    json_decref(patch);
    vc__free(path);
    return rc;
}

int vc__namespace_labels(vc_syncer *s, const char *ns, json_t **out)
{
    *out = NULL;
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_NAMESPACES);
    if (!c || !ns)
        return VC_OK;
    json_t *o = NULL;
    int rc = vc__informer_load(c->virt, ns, &o);
    if (rc == VC_OK && o) {
        json_t *l = json_object_get(json_object_get(o, "metadata"), "labels");
        if (json_is_object(l) && json_object_size(l))
            *out = json_incref(l);
    }
    json_decref(o);
    return rc;
}

int vc__ctl_namespaces_init(vc_syncer *s, vc__ctl *c, int arg)
{
    (void)arg;
    c->name = "namespaces";
    c->kind = "Namespace";
    c->reconcile = reconcile;
    int rc = vc__informer_new(&c->virt, s, s->virt, "virtual namespaces", "v1", "namespaces", NULL, NULL, slim,
                              on_virtual, c);
    if (rc == VC_OK)
        c->virt->want_old = true; /* on_virtual compares the labels */
    return rc == VC_OK ? vc__informer_set_kind(c->virt, "Namespace") : rc;
}
