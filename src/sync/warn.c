/* Warning events on virtual objects. When the host refuses a write (quota,
 * admission, 403, 409 on an object this cluster does not own, 422) or a
 * policy of the syncer refuses an object (pod security), the tenant sees it
 * where kubectl shows it: an Event of type Warning, reason SyncError, on the
 * virtual object, as upstream vcluster records it.
 *
 * Repeats aggregate as the kubelet's recorder does: the same message on the
 * same object updates one Event (count, lastTimestamp) instead of adding
 * Events. The table of recent events is bounded (WARN_MAX; the oldest entry
 * goes first), and an object's retries are themselves backed off by the
 * work queue, so a permanently refused object costs a write now and then,
 * not a storm. Host names in the host's message are replaced by the
 * virtual name: tenants see their own names. */
#include <string.h>
#include <time.h>

#include "sync/sync.h"

#define WARN_MAX 1024
#define WARN_MSG_MAX 1024

typedef struct warn_rec {
    char *event_name;   /* the Event's name in the virtual namespace */
    char *ns;
    int32_t count;
    bool posted;        /* the POST succeeded (else the next repeat POSTs again) */
    uint64_t seq;       /* for eviction: lower is older */
} warn_rec;

static void rec_free(void *p)
{
    warn_rec *r = p;
    if (!r)
        return;
    vc__free(r->event_name);
    vc__free(r->ns);
    vc__free(r);
}

static void now_rfc3339(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* FNV-1a, only to give an Event a stable, short name suffix (the key is not
 * a map key: no flooding concern). */
static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The host's message in the tenant's names, capped. */
static char *tenant_message(const char *msg, const char *from, const char *to)
{
    char *m = vc__str_replace(msg, from, to);
    size_t len = m ? strlen(m) : 0;
    if (len > WARN_MSG_MAX) {
        /* cut on a UTF-8 boundary and say so */
        size_t cut = WARN_MSG_MAX - 3;
        while (cut > 0 && ((unsigned char)m[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(m + cut, "...", 4);
    }
    return m;
}

typedef struct warn_done_ctx {
    char *key;
} warn_done_ctx;

static void warn_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)body;
    (void)len;
    warn_done_ctx *d = ud;
    warn_rec *r = vc__map_get(&s->warns, d->key);
    if (r) {
        if (rc == VC_OK || rc == VC_EEXISTS)
            r->posted = true;
        else
            r->posted = false; /* expired or deleted (404) or failed: POST again next time */
    }
    if (rc < 0)
        vc_error_clear(); /* best effort, like any recorder */
    vc__free(d->key);
    vc__free(d);
}

static void evict_oldest(vc_syncer *s)
{
    size_t it = 0;
    const char *k, *oldest = NULL;
    void *v;
    uint64_t min = UINT64_MAX;
    while (vc__map_next(&s->warns, &it, &k, &v)) {
        warn_rec *r = v;
        if (r->seq < min) {
            min = r->seq;
            oldest = k;
        }
    }
    if (oldest)
        rec_free(vc__map_del(&s->warns, oldest));
}

int vc__sync_warn(vc_syncer *s, const char *kind, const char *vns, const char *vname, const char *hname,
                  const char *message)
{
    const char *api_version = "v1";
    vc__ctl *owner = NULL;
    for (int i = 0; i < s->n_ctls; i++) {
        if (vc__streq(s->ctls[i].kind, kind) && s->ctls[i].virt) {
            owner = &s->ctls[i];
            break;
        }
    }
    if (owner && owner->tk && owner->tk->api_version)
        api_version = owner->tk->api_version;
    /* the object's uid, so kubectl describe finds the event */
    char vkey[512];
    snprintf(vkey, sizeof vkey, "%s%s%s", vns ? vns : "", vc__str_empty(vns) ? "" : "/", vname);
    json_t *vobj = NULL;
    if (owner && vc__informer_load(owner->virt, vkey, &vobj) < 0)
        return VC_ENOMEM;
    const char *uid = vc__uid_of(vobj);
    char *msg = tenant_message(message ? message : "", hname, vname);
    char *key = msg ? vc__sprintf("%s|%s|%s", kind, vkey, msg) : NULL;
    const char *ns = vc__str_empty(vns) ? "default" : vns;
    int rc = VC_OK;
    if (!msg || !key) {
        rc = vc__error_oom();
        goto out;
    }
    s->warnings++;
    VC__LOGW("sync", "%s %s: %s", kind, vkey, msg);
    warn_rec *r = vc__map_get(&s->warns, key);
    char ts[32];
    now_rfc3339(ts);
    json_t *body = NULL;
    const char *method;
    char *path = NULL;
    if (r && r->posted) {
        r->count++;
        r->seq = ++s->warn_seq;
        method = "PATCH";
        body = json_pack("{s:i,s:s}", "count", (json_int_t)r->count, "lastTimestamp", ts);
        path = vc__obj_path("v1", "events", r->ns, r->event_name, NULL);
    } else {
        if (!r) {
            if (vc__map_count(&s->warns) >= WARN_MAX)
                evict_oldest(s);
            r = vc__calloc(1, sizeof(*r));
            if (!r || !(r->event_name = vc__sprintf("%.200s.%016llx", vname, (unsigned long long)fnv(key) ^
                                                                                   (unsigned long long)vc__now_ms())) ||
                !(r->ns = vc__strdup(ns)) || vc__map_put(&s->warns, key, r, NULL) < 0) {
                rec_free(r);
                rc = vc__error_oom();
                goto out;
            }
            r->count = 0;
        }
        r->count++;
        r->seq = ++s->warn_seq;
        method = "POST";
        body = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s,s:s},s:s,s:s,s:s,s:{s:s},s:s,s:s,s:i,s:s,s:s}",
                         "apiVersion", "v1", "kind", "Event",
                         "metadata", "name", r->event_name, "namespace", ns,
                         "involvedObject", "apiVersion", api_version, "kind", kind, "name", vname, "namespace",
                         vc__str_empty(vns) ? "" : vns,
                         "type", "Warning", "reason", "SyncError", "message", msg,
                         "source", "component", "vcluster-syncer",
                         "firstTimestamp", ts, "lastTimestamp", ts, "count", (json_int_t)r->count,
                         "reportingComponent", "vcluster-syncer", "reportingInstance", s->name);
        if (body && uid)
            json_object_set_new(json_object_get(body, "involvedObject"), "uid", json_string(uid));
        if (body && vc__str_empty(vns))
            json_object_del(json_object_get(body, "involvedObject"), "namespace");
        path = vc__obj_path("v1", "events", ns, NULL, NULL);
    }
    warn_done_ctx *d = vc__calloc(1, sizeof(*d));
    if (d)
        d->key = vc__strdup(key);
    if (!body || !path || !d || !d->key) {
        if (d)
            vc__free(d->key);
        vc__free(d);
        rc = vc__error_oom();
    } else {
        rc = vc__sync_write_json(s, VC__SIDE_VIRT, NULL, "Event", vns, vname, hname, -1, method, path,
                                 r->posted ? "application/merge-patch+json" : NULL, body, warn_done, d);
        if (rc < 0) {
            vc__free(d->key);
            vc__free(d);
        }
    }
    json_decref(body);
    vc__free(path);
out:
    json_decref(vobj);
    vc__free(msg);
    vc__free(key);
    return rc;
}

void vc__sync_warns_free(vc_syncer *s)
{
    vc__map_clear(&s->warns, rec_free);
}
