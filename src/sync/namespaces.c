/* Virtual Namespaces, watched for their labels: a pod created on the host
 * carries its namespace's labels as vcluster.loft.sh/ns-label-... keys (as
 * upstream; translated NetworkPolicy namespace selectors match on them).
 * Nothing is written for a Namespace itself. */
#include <string.h>

#include "sync/sync.h"

static void on_virtual(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)ud;
    (void)inf;
    (void)key;
    (void)old;
    (void)nobj;
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
    (void)s;
    (void)c;
    (void)it;
    (void)key;
    return VC_OK; /* keys are never queued: enqueue_all finds them, and they only feed pods */
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
    return rc == VC_OK ? vc__informer_set_kind(c->virt, "Namespace") : rc;
}
