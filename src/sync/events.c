/* Events from the host namespace about synced pods (scheduling, image pulls,
 * kwok's stages...) are copied into the virtual cluster, pointed at the
 * virtual pod. */
#include <string.h>

#include "sync/sync.h"

static void slim(void *ud, json_t *obj)
{
    (void)ud;
    vc__slim_meta(obj);
}

/* Copy one host event about a synced pod into the virtual cluster. Events are
 * handled as they arrive and not cached (there are many, and they expire). */
static int copy_event(vc_syncer *s, const json_t *ev)
{
    vc__qitem *it = NULL;
    json_t *io = json_object_get(ev, "involvedObject");
    const char *pod = vc__jstr(io, "name");
    vc__ctl *pods = vc__sync_ctl(s, "pods");
    if (!pod || !pods)
        return VC_OK;
    char pkey[512];
    snprintf(pkey, sizeof pkey, "%s/%s", s->host_ns, pod);
    json_t *hp = NULL, *vp = NULL;
    if (vc__informer_load(pods->host, pkey, &hp) < 0 || !hp)
        return VC_OK; /* not one of ours (or gone) */
    char *vns = NULL, *vname = NULL;
    int nrc = vc__translate_virtual_name(&vns, &vname, s->tr, hp);
    json_decref(hp);
    if (nrc < 0)
        return VC_OK;
    char vpkey[512];
    snprintf(vpkey, sizeof vpkey, "%s/%s", vns, vname);
    if (vc__informer_load(pods->virt, vpkey, &vp) < 0)
        vc_error_clear(); /* the copy goes without the uid */
    const char *hname = vc__jpath_str(ev, "metadata", "name");
    const char *dot = hname ? strrchr(hname, '.') : NULL;
    char *name = vc__sprintf("%s%s", vname, dot ? dot : ".event");
    json_t *vev = json_deep_copy(ev);
    int rc = VC_OK;
    if (!vev || !name) {
        rc = vc__error_oom();
        goto out;
    }
    json_t *md = json_pack("{s:s,s:s}", "name", name, "namespace", vns);
    json_object_set_new(vev, "metadata", md);
    json_t *nio = json_object_get(vev, "involvedObject");
    json_object_set_new(nio, "name", json_string(vname));
    json_object_set_new(nio, "namespace", json_string(vns));
    if (vp && vc__jpath_str(vp, "metadata", "uid"))
        json_object_set_new(nio, "uid", json_string(vc__jpath_str(vp, "metadata", "uid")));
    else
        json_object_del(nio, "uid");
    json_object_del(nio, "resourceVersion");
    char *path = vc__obj_path("v1", "events", vns, NULL, NULL);
    char *body = json_dumps(vev, JSON_COMPACT);
    rc = path && body ? vc__sync_write(s, VC__SIDE_VIRT, it, "Event", vns, name, hname, VC_SYNC_CREATED_VIRTUAL, "POST",
                                       path, NULL, body, NULL, NULL)
                      : vc__error_oom();
    vc__free(path);
    vc__free(body);
out:
    json_decref(vp);
    json_decref(vev);
    vc__free(name);
    vc__free(vns);
    vc__free(vname);
    return rc;
}

static void on_host(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)ud;
    (void)key;
    (void)old;
    if (!nobj || inf->s->stopping)
        return;
    json_t *io = json_object_get(nobj, "involvedObject");
    if (!vc__streq(vc__jstr(io, "kind"), "Pod"))
        return;
    if (copy_event(inf->s, nobj) < 0)
        vc_error_clear(); /* best effort: an event is not worth a retry */
}

static int reconcile(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *hkey)
{
    (void)s;
    (void)c;
    (void)it;
    (void)hkey;
    return VC_OK; /* nothing is queued for events */
}

int vc__ctl_events_init(vc_syncer *s, vc__ctl *c)
{
    c->name = "events";
    c->kind = "Event";
    c->reconcile = reconcile;
    int rc = vc__informer_new(&c->host, s, s->host, "host events", "v1", "events", s->host_ns, NULL, slim, on_host, c);
    if (rc == VC_OK)
        c->host->no_cache = true;
    return rc == VC_OK ? vc__informer_set_kind(c->host, "Event") : rc;
}
