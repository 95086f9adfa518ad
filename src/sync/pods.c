/* Pods: virtual -> host with service-account tokens from the virtual API,
 * status back, binding to the node the host chose, deletion both ways. */
#include <string.h>

#include "sync/sync.h"

/* At most this many pods between "whole pod fetched" and "host create sent":
 * bounds the memory of whole pods and tokens held at once. */
#define PREPARING_MAX 256
/* The whole virtual pods kept from their watch events for their creates:
 * a burst's first few thousand plain pods (~1 KiB each) or several hundred
 * real ones. */
#define SEEN_BYTES (4u << 20)

typedef struct pods_state {
    vc__map whole;    /* vkey -> char*: the whole virtual pod (compact JSON), fetched for its create */
    vc__map fetching; /* vkey -> (void *)1 while its GET is on the wire */
    vc__map tokens;   /* vkey -> json_t* array of serviceAccountTokens inputs (complete) */
    vc__map pending;  /* vkey -> pending token fetch (struct tok_fetch*) */
    vc__map bound;    /* vkey -> uid (char*) of a pod bound by us, until the virtual cache shows its node */
    /* updates (see update_host_pod) */
    vc__map hwhole;    /* vkey -> char*: the whole host pod (compact JSON), fetched for an update */
    vc__map hfetching; /* vkey -> (void *)1 while its GET is on the wire */
    vc__map updating;  /* vkey -> (void *)1 while update writes are on the wire */
    vc__map applied;   /* vkey -> char* digest written, until the host cache shows it */
    vc__map bsync;     /* vkey -> (void *)1: the host pod's metadata may have something to copy back */
    /* vkey -> char*: the whole virtual pod as its watch event (or list page)
     * brought it, kept while it has no host twin so that its create needs no
     * GET (fetch_whole). Bounded by SEEN_BYTES; past it, the GET as before. */
    vc__map seen;
    size_t seen_bytes;
} pods_state;

typedef struct tok_fetch {
    vc_syncer *s;
    char *vkey;
    char *uid;
    json_t *reqs;     /* the requests */
    json_t *got;      /* inputs collected */
    int outstanding;
    int failed;
    bool orphaned;    /* the state went away (syncer freed): just clean up */
} tok_fetch;

static void tf_free(tok_fetch *tf)
{
    vc__free(tf->vkey);
    vc__free(tf->uid);
    json_decref(tf->reqs);
    json_decref(tf->got);
    vc__free(tf);
}

static void free_json(void *p)
{
    json_decref(p);
}

static void free_pending(void *p)
{
    tok_fetch *tf = p;
    /* requests may still be on the wire when the syncer is freed; the loop
     * is freed before controllers, so no callback can arrive afterwards */
    tf_free(tf);
}

static void pods_state_free(void *p)
{
    pods_state *ps = p;
    if (!ps)
        return;
    vc__map_clear(&ps->whole, vc__free);
    vc__map_clear(&ps->fetching, NULL);
    vc__map_clear(&ps->tokens, free_json);
    vc__map_clear(&ps->pending, free_pending);
    vc__map_clear(&ps->bound, vc__free);
    vc__map_clear(&ps->hwhole, vc__free);
    vc__map_clear(&ps->hfetching, NULL);
    vc__map_clear(&ps->updating, NULL);
    vc__map_clear(&ps->applied, vc__free);
    vc__map_clear(&ps->bsync, NULL);
    vc__map_clear(&ps->seen, vc__free);
    vc__free(ps);
}

/* What back-sync reads of a host pod, as a digest: its labels and its
 * annotations but the syncer's own (tokens, update digest, ...), with the
 * records back-sync decides by. A host event that changes it may bring
 * something to copy back (see backsync_pod). */
#define BSYNC_DIGEST "x-vc-bs"

static int bsync_digest(const json_t *pod, char out[65])
{
    static const char *const kept[] = { VC__A_HOST_ANNOTATIONS, VC__A_HOST_LABELS, VC__A_MANAGED_ANNOTATIONS,
                                        VC__A_POD_LABELS };
    const json_t *md = vc__jobj(pod, "metadata");
    json_t *ann = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(vc__jobj(md, "annotations"), k, v) {
        bool ours = !strncmp(k, "vcluster.loft.sh/", 17);
        for (size_t i = 0; ours && i < VC__ARRAY_LEN(kept); i++)
            if (!strcmp(k, kept[i]))
                ours = false;
        if (!ours && ann)
            json_object_set(ann, k, v);
    }
    json_t *view = ann ? json_pack("{s:O?,s:o}", "l", vc__jobj(md, "labels"), "a", ann) : NULL;
    char *text = view ? json_dumps(view, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(view);
    if (!text)
        return vc__error_oom();
    vc__sha256_hex(text, strlen(text), out);
    vc__free(text);
    return VC_OK;
}

/* Host pods: keep what reconciling needs. */
static void slim_host_pod(void *ud, json_t *obj)
{
    (void)ud;
    char bs[65];
    if (bsync_digest(obj, bs) == VC_OK)
        json_object_set_new(obj, BSYNC_DIGEST, json_string(bs));
    json_t *spec = json_object_get(obj, "spec");
    const char *node = json_string_value(json_object_get(spec, "nodeName"));
    json_t *keep = json_object();
    if (node)
        json_object_set_new(keep, "nodeName", json_string(node));
    json_object_set_new(obj, "spec", keep);
    /* annotations: only those that name the virtual origin (the token ones
     * alone are ~1 KiB per pod) */
    json_t *md = json_object_get(obj, "metadata");
    /* labels stay: a change made on the host goes back to the virtual pod */
    static const char *const drop[] = { "ownerReferences", "generateName", "creationTimestamp" };
    for (size_t i = 0; i < VC__ARRAY_LEN(drop); i++)
        json_object_del(md, drop[i]);
    json_t *ann = json_object_get(md, "annotations");
    if (json_is_object(ann)) {
        static const char *const keep_keys[] = { VC__A_POD_UID, VC__A_POD_NAME, VC__A_POD_NAMESPACE, VC__A_OBJ_NAME,
                                                 VC__A_OBJ_NAMESPACE, VC__A_OBJ_UID, VC__A_OBJ_KIND,
                                                 VC__A_POD_UPDATE_DIGEST };
        json_t *slim = json_object();
        for (size_t i = 0; slim && i < VC__ARRAY_LEN(keep_keys); i++) {
            json_t *v = json_object_get(ann, keep_keys[i]);
            if (v)
                json_object_set(slim, keep_keys[i], v);
        }
        if (slim)
            json_object_set_new(md, "annotations", slim);
    }
}

static const char *node_of(const json_t *pod)
{
    return pod ? vc__jpath_str(pod, "spec", "nodeName") : NULL;
}

/* Keep only the names of a container list (status back filters by them). */
static json_t *names_only(const json_t *containers)
{
    json_t *out = json_array();
    size_t i;
    json_t *ct;
    json_array_foreach(containers, i, ct) {
        json_t *n = json_object_get(ct, "name");
        if (n && out)
            json_array_append_new(out, json_pack("{s:O}", "name", n));
    }
    return out;
}

/* The status of a virtual pod is cached as a digest: the sha256 of its
 * canonical JSON (sorted keys, compact) and its top-level keys (a patch
 * removes those the host dropped). Reconcile compares digests. */
#define STATUS_DIGEST "x-vc-status"
/* ... and what an update would carry as a digest too (vc__pod_update_digest):
 * the host pod records the one it last got. */
#define UPDATE_DIGEST "x-vc-update"

static int status_sha(const json_t *st, char out[65])
{
    json_t *empty = st ? NULL : json_object();
    char *t = json_dumps(st ? st : empty, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(empty);
    if (!t)
        return vc__error_oom();
    vc__sha256_hex(t, strlen(t), out);
    vc__free(t);
    return VC_OK;
}

static json_t *status_digest(const json_t *st)
{
    char sha[65];
    if (status_sha(st, sha) < 0)
        return NULL;
    json_t *keys = json_array();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)st, k, v) {
        json_array_append_new(keys, json_string(k));
    }
    return json_pack("{s:s,s:o}", "sha", sha, "keys", keys);
}

/* The digest a host pod is to carry: its virtual pod's update digest and,
 * when its namespace has labels, those too (the host pod carries them as
 * vcluster.loft.sh/ns-label-... labels; upstream updates the pods of a
 * namespace whose labels change, and so does this: namespaces.c queues
 * them, and the digest tells them apart). */
static int want_digest(vc_syncer *s, const char *vns, const char *base, char out[65])
{
    json_t *nsl = NULL;
    int rc = vc__namespace_labels(s, vns, &nsl);
    if (rc < 0)
        return rc;
    if (!nsl) {
        snprintf(out, 65, "%s", base);
        return VC_OK;
    }
    char *t = json_dumps(nsl, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(nsl);
    char *both = t ? vc__sprintf("%s|%s", base, t) : NULL;
    vc__free(t);
    if (!both)
        return vc__error_oom();
    vc__sha256_hex(both, strlen(both), out);
    vc__free(both);
    return VC_OK;
}

static void seen_drop(pods_state *ps, const char *vkey)
{
    char *t = vc__map_del(&ps->seen, vkey);
    if (t) {
        ps->seen_bytes -= strlen(t);
        vc__free(t);
    }
}

/* Keep the whole pod of an event while it has no host twin (see `seen`). */
static void seen_keep(vc__ctl *c, json_t *obj)
{
    pods_state *ps = c->state;
    json_t *md = json_object_get(obj, "metadata");
    const char *ns = vc__jstr(md, "namespace"), *name = vc__jstr(md, "name");
    const char *node = node_of(obj);
    if (!ps || !ns || !name)
        return;
    char vkey[2 * VC__NAME_MAX + 2], hname[VC__NAME_MAX], hkey[VC__NAME_MAX + 256];
    snprintf(vkey, sizeof vkey, "%s/%s", ns, name);
    if ((node && *node) || json_object_get(md, "deletionTimestamp")) {
        /* an older event's copy (e.g. before a scheduler inside bound the
         * pod) must not be created from */
        seen_drop(ps, vkey);
        return;
    }
    vc_syncer *s = c->virt ? c->virt->s : NULL;
    if (s && c->host) {
        vc__host_name(s->tr, c->tk, ns, name, hname);
        snprintf(hkey, sizeof hkey, "%s/%s", s->host_ns, hname);
        if (vc__informer_has(c->host, hkey)) {
            seen_drop(ps, vkey);
            return;
        }
    }
    if (!json_object_get(obj, "kind"))
        json_object_set_new(obj, "kind", json_string("Pod"));
    if (!json_object_get(obj, "apiVersion"))
        json_object_set_new(obj, "apiVersion", json_string("v1"));
    seen_drop(ps, vkey); /* an older event's */
    char *text = json_dumps(obj, JSON_COMPACT);
    size_t n = text ? strlen(text) : 0;
    if (!text || ps->seen_bytes + n > SEEN_BYTES || vc__map_put(&ps->seen, vkey, text, NULL) < 0) {
        vc__free(text);
        return;
    }
    ps->seen_bytes += n;
}

/* Virtual pods are cached as records: metadata without annotations, the
 * node, the container names (status back filters by them), the status
 * fields reconcile reads (qosClass, startTime) and the status digest.
 * The whole pod is needed once, to translate it for its host create: it is
 * fetched then (fetch_whole), and dropped once the create is sent. A burst
 * of 10,000 pods thus costs a record each, not a whole pod each. */
static void slim_virtual_pod(void *ud, json_t *obj)
{
    if (ud)
        seen_keep(ud, obj);
    json_t *md = json_object_get(obj, "metadata");
    json_t *spec = json_object_get(obj, "spec");
    const char *node = node_of(obj);
    char upd[65];
    if (vc__pod_update_digest(obj, upd) < 0)
        return;
    json_t *keep = json_pack("{s:o,s:o}", "containers", names_only(json_object_get(spec, "containers")),
                             "initContainers", names_only(json_object_get(spec, "initContainers")));
    if (!keep)
        return; /* out of memory: cache the whole object */
    if (node && *node)
        json_object_set_new(keep, "nodeName", json_string(node));
    json_object_set_new(obj, "spec", keep);
    json_t *st = json_object_get(obj, "status");
    json_t *digest = status_digest(st);
    json_t *small = json_object();
    if (!digest || !small) {
        json_decref(digest);
        json_decref(small);
        return;
    }
    static const char *const kept[] = { "qosClass", "startTime" };
    for (size_t i = 0; i < VC__ARRAY_LEN(kept); i++) {
        json_t *x = json_object_get(st, kept[i]);
        if (x)
            json_object_set(small, kept[i], x);
    }
    json_object_set_new(obj, STATUS_DIGEST, digest);
    json_object_set_new(obj, UPDATE_DIGEST, json_string(upd));
    json_object_set_new(obj, "status", small);
    static const char *const drop[] = { "annotations", "ownerReferences", "generateName", "creationTimestamp" };
    for (size_t i = 0; i < VC__ARRAY_LEN(drop); i++)
        json_object_del(md, drop[i]);
}

static void on_virtual(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)inf;
    vc__ctl *c = ud;
    vc_syncer *s = c->virt->s;
    (void)old;
    vc__refs_update(s, key, nobj);
    if (!nobj) {
        pods_state *ps = c->state;
        json_decref(vc__map_del(&ps->tokens, key));
        vc__free(vc__map_del(&ps->whole, key));
        vc__free(vc__map_del(&ps->bound, key));
        vc__free(vc__map_del(&ps->hwhole, key));
        vc__free(vc__map_del(&ps->applied, key));
        vc__map_del(&ps->bsync, key);
        seen_drop(ps, key);
        vc__sync_enqueue(s, c, key, 0);
        return;
    }
    /* a pod with no host twin yet: creating it goes first */
    char hname[VC__NAME_MAX], hkey[VC__NAME_MAX + 256];
    const char *ns = vc__jpath_str(nobj, "metadata", "namespace");
    const char *name = vc__jpath_str(nobj, "metadata", "name");
    bool fresh = false;
    if (ns && name && !json_object_get(json_object_get(nobj, "metadata"), "deletionTimestamp")) {
        vc__host_name(s->tr, c->tk, ns, name, hname);
        snprintf(hkey, sizeof hkey, "%s/%s", s->host_ns, hname);
        fresh = !vc__informer_has(c->host, hkey);
    }
    if (fresh) {
        vc__sync_enqueue_high(s, c, key);
    } else {
        seen_drop(c->state, key);
        vc__sync_enqueue(s, c, key, 0);
    }
}

static void on_host(void *ud, vc__informer *inf, const char *key, const json_t *old, const json_t *nobj)
{
    (void)key;
    vc__ctl *c = ud;
    vc_syncer *s = inf->s;
    const char *on = node_of(old), *nn = node_of(nobj);
    if (!vc__streq(on, nn))
        vc__nodes_use(s, on, nn);
    const json_t *o = nobj ? nobj : old;
    char *vns = NULL, *vname = NULL;
    if (vc__translate_virtual_name(&vns, &vname, s->tr, o) == VC_OK) {
        char *vkey = vc__sprintf("%s/%s", vns, vname);
        char bs[65];
        if (vkey && nobj && !vc__deleting(nobj) && bsync_digest(nobj, bs) == VC_OK &&
            !vc__streq(bs, vc__jstr(old, BSYNC_DIGEST)) && vc__translate_backsync_candidate(s->tr, nobj)) {
            /* labels or annotations changed on the host (or a first sight
             * of a pod with some the host owns): back-sync looks */
            pods_state *ps = c->state;
            vc__map_put(&ps->bsync, vkey, (void *)1, NULL);
        }
        if (vkey)
            vc__sync_enqueue(s, c, vkey, 0);
        vc__free(vkey);
    }
    vc__free(vns);
    vc__free(vname);
}

static int delete_obj(vc_syncer *s, vc__side side, vc__qitem *it, const char *ns, const char *name, const char *uid,
                      json_int_t grace, const char *vns, const char *vname, const char *hname)
{
    char *path = vc__obj_path("v1", "pods", ns, name, NULL);
    char *body = vc__delete_body(uid, grace);
    int rc = path && body ? vc__sync_write(s, side, it, "Pod", vns, vname, hname,
                                           side == VC__SIDE_HOST ? VC_SYNC_DELETED_HOST : VC_SYNC_DELETED_VIRTUAL,
                                           "DELETE", path, NULL, body, NULL, NULL)
                          : vc__error_oom();
    vc__free(path);
    vc__free(body);
    return rc;
}

/* ---- the whole virtual pod, fetched for its create ---- */

typedef struct whole_fetch {
    char *vkey, *uid;
} whole_fetch;

static void whole_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    whole_fetch *wf = ud;
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_PODS);
    pods_state *ps = c ? c->state : NULL;
    if (ps) {
        vc__map_del(&ps->fetching, wf->vkey);
        json_t *pod = rc == VC_OK ? json_loadb(body, len, 0, NULL) : NULL;
        if (pod && vc__streq(vc__uid_of(pod), wf->uid)) {
            if (!json_object_get(pod, "kind"))
                json_object_set_new(pod, "kind", json_string("Pod"));
            if (!json_object_get(pod, "apiVersion"))
                json_object_set_new(pod, "apiVersion", json_string("v1"));
            vc__slim_meta(pod);
            char *text = json_dumps(pod, JSON_COMPACT);
            json_decref(pod);
            void *old = NULL;
            if (!text || vc__map_put(&ps->whole, wf->vkey, text, &old) < 0)
                vc__free(text);
            vc__free(old);
            vc__sync_enqueue_high(s, c, wf->vkey);
        } else {
            /* gone (404: its watch event follows), replaced, or failed */
            json_decref(pod);
            if (rc != VC_ENOTFOUND)
                vc__sync_enqueue(s, c, wf->vkey, rc < 0 ? 1000 : 0);
        }
    }
    vc__free(wf->vkey);
    vc__free(wf->uid);
    vc__free(wf);
}

/* VC_OK with *out (a new reference) when the whole pod is here,
 * VC_ITEROVER while it is fetched (the answer enqueues the key). The GET asks
 * for at least the cached resourceVersion, so the API server's watch cache
 * can answer. Kept as text until used: a tree is ten times bigger. */
static int fetch_whole(vc_syncer *s, vc__ctl *c, const char *vkey, const json_t *rec, json_t **out)
{
    pods_state *ps = c->state;
    *out = NULL;
    char *seen = vc__map_del(&ps->seen, vkey);
    if (seen) {
        /* only the event of the cached record's own resourceVersion: an
         * older one lacks what came since (a node bound inside, ...) */
        const char *rv = vc__jpath_str(rec, "metadata", "resourceVersion");
        json_t *sj = json_loads(seen, 0, NULL);
        bool current = sj && rv && vc__streq(vc__jpath_str(sj, "metadata", "resourceVersion"), rv);
        json_decref(sj);
        if (!current) {
            ps->seen_bytes -= strlen(seen);
            vc__free(seen);
            seen = NULL;
        }
    }
    if (seen) {
        /* its watch event brought it whole: no GET. It moves to `whole`,
         * where it stays until the create is sent (the create waits for
         * the pod's tokens and comes back here) */
        ps->seen_bytes -= strlen(seen);
        void *old = NULL;
        if (vc__map_put(&ps->whole, vkey, seen, &old) < 0)
            vc__free(seen);
        vc__free(old);
    }
    const char *text = vc__map_get(&ps->whole, vkey);
    if (text) {
        json_t *w = json_loads(text, 0, NULL);
        if (!w)
            return vc__error_oom();
        if (vc__streq(vc__uid_of(w), vc__uid_of(rec))) {
            *out = w;
            return VC_OK;
        }
        json_decref(w);
        vc__free(vc__map_del(&ps->whole, vkey)); /* an older pod of that name */
    }
    if (vc__map_get(&ps->fetching, vkey))
        return VC_ITEROVER;
    const char *ns = vc__jpath_str(rec, "metadata", "namespace");
    const char *name = vc__jpath_str(rec, "metadata", "name");
    const char *rv = vc__jpath_str(rec, "metadata", "resourceVersion");
    char *base = vc__obj_path("v1", "pods", ns, name, NULL);
    char *path = base && rv ? vc__sprintf("%s?resourceVersion=%s", base, rv) : NULL;
    vc__free(base);
    whole_fetch *wf = vc__calloc(1, sizeof(*wf));
    if (wf) {
        wf->vkey = vc__strdup(vkey);
        wf->uid = vc__strdup(vc__uid_of(rec) ? vc__uid_of(rec) : "");
    }
    int rc = path && wf && wf->vkey && wf->uid && vc__map_put(&ps->fetching, vkey, (void *)1, NULL) == VC_OK
                 ? vc__sync_write(s, VC__SIDE_VIRT, NULL, "Pod", ns, name, "", -1, "GET", path, NULL, NULL,
                                  whole_done, wf)
                 : vc__error_oom();
    vc__free(path);
    if (rc < 0) {
        vc__map_del(&ps->fetching, vkey);
        if (wf) {
            vc__free(wf->vkey);
            vc__free(wf->uid);
            vc__free(wf);
        }
        return rc;
    }
    return VC_ITEROVER;
}

/* ---- service-account tokens, fetched from the virtual API ---- */

typedef struct tok_one {
    tok_fetch *tf;
    size_t index;
} tok_one;

static void token_one_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    tok_one *one = ud;
    tok_fetch *tf = one->tf;
    size_t idx = one->index;
    vc__free(one);
    if (rc == VC_OK) {
        json_t *resp = json_loadb(body, len, 0, NULL);
        const char *tok = vc__jpath_str(resp, "status", "token");
        json_t *req = json_array_get(tf->reqs, idx);
        if (tok && req) {
            json_t *in = json_pack("{s:O?,s:O?,s:s}", "volume", json_object_get(req, "volume"), "source",
                                   json_object_get(req, "source"), "token", tok);
            if (in)
                json_array_append_new(tf->got, in);
        } else {
            tf->failed++;
        }
        json_decref(resp);
    } else {
        tf->failed++;
    }
    tf->outstanding--;
    if (tf->outstanding > 0)
        return;
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_PODS);
    pods_state *ps = c ? c->state : NULL;
    if (ps && vc__map_get(&ps->pending, tf->vkey) == tf) {
        vc__map_del(&ps->pending, tf->vkey);
        if (!tf->failed) {
            void *old = NULL;
            json_t *got = json_incref(tf->got);
            if (vc__map_put(&ps->tokens, tf->vkey, got, &old) < 0)
                json_decref(got);
            json_decref(old);
        }
        if (tf->failed)
            vc__sync_enqueue(s, c, tf->vkey, 1000);
        else
            vc__sync_enqueue_high(s, c, tf->vkey); /* the create can go on */
        tf_free(tf);
    }
}

/* VC_OK with *out (borrowed) when tokens are ready, VC_ITEROVER while fetching. */
static int ensure_tokens(vc_syncer *s, vc__ctl *c, const char *vkey, const json_t *v, json_t **out)
{
    pods_state *ps = c->state;
    *out = NULL;
    json_t *have = vc__map_get(&ps->tokens, vkey);
    if (have) {
        *out = have;
        return VC_OK;
    }
    if (vc__map_get(&ps->pending, vkey))
        return VC_ITEROVER;
    json_t *reqs = NULL;
    int rc = vc__translate_pod_token_requests(&reqs, s->tr, v);
    if (rc < 0)
        return rc;
    if (json_array_size(reqs) == 0) {
        json_t *empty = json_array();
        if (vc__map_put(&ps->tokens, vkey, empty, NULL) < 0) {
            json_decref(empty);
            json_decref(reqs);
            return VC_ENOMEM;
        }
        json_decref(reqs);
        *out = empty;
        return VC_OK;
    }
    tok_fetch *tf = vc__calloc(1, sizeof(*tf));
    if (!tf) {
        json_decref(reqs);
        return vc__error_oom();
    }
    tf->s = s;
    tf->vkey = vc__strdup(vkey);
    tf->reqs = reqs;
    tf->got = json_array();
    if (!tf->vkey || !tf->got || vc__map_put(&ps->pending, vkey, tf, NULL) < 0) {
        tf_free(tf);
        return vc__error_oom();
    }
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r) {
        const char *ns = json_string_value(json_object_get(r, "namespace"));
        const char *sa = json_string_value(json_object_get(r, "serviceAccountName"));
        char *body = json_dumps(json_object_get(r, "request"), JSON_COMPACT);
        char *path = vc__obj_path("v1", "serviceaccounts", ns, sa ? sa : "default", "token");
        tok_one *one = vc__calloc(1, sizeof(*one));
        int wr = VC_ENOMEM;
        if (body && path && one) {
            one->tf = tf;
            one->index = i;
            tf->outstanding++;
            wr = vc__sync_write(s, VC__SIDE_VIRT, NULL, "Pod", ns, vc__jpath_str(v, "metadata", "name"), "", 0,
                                "POST", path, NULL, body, token_one_done, one);
            if (wr < 0) {
                tf->outstanding--;
                vc__free(one);
            }
        } else {
            vc__free(one);
        }
        vc__free(body);
        vc__free(path);
        if (wr < 0)
            tf->failed++;
    }
    if (tf->outstanding == 0) { /* nothing went out */
        vc__map_del(&ps->pending, vkey);
        tf_free(tf);
        return vc__error(VC_EAPI, VC_ERRCLASS_SYNC, "cannot request service-account tokens");
    }
    return VC_ITEROVER;
}

/* Inputs: the virtual Services of the pod's namespace (service links). */
static json_t *pod_inputs(vc_syncer *s, const char *vns, json_t *tokens)
{
    json_t *in = json_object();
    if (!in)
        return NULL;
    json_object_set(in, "serviceAccountTokens", tokens);
    json_t *nsl = NULL;
    if (vc__namespace_labels(s, vns, &nsl) < 0) {
        json_decref(in);
        return NULL;
    }
    if (nsl)
        json_object_set_new(in, "namespaceLabels", nsl);
    vc__ctl *svc = vc__sync_ctl_of(s, VC__CTL_SERVICES);
    if (svc && svc->virt) {
        json_t *arr = json_array();
        size_t it = 0;
        const char *k, *text;
        size_t nl = strlen(vns);
        while (vc__informer_next(svc->virt, &it, &k, &text)) {
            if (strncmp(k, vns, nl) != 0 || k[nl] != '/')
                continue;
            json_t *sv = json_loads(text, 0, NULL);
            if (!sv || json_array_append_new(arr, sv) < 0) {
                json_decref(in);
                json_decref(arr);
                return NULL;
            }
        }
        json_object_set_new(in, "services", arr);
    }
    return in;
}

/* A binding went through (or the pod was bound already: 409): remember it, so
 * that reconciles before the virtual watch shows the node do not POST again. */
typedef struct bind_ctx {
    char *vkey, *uid;
} bind_ctx;

static void binding_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)body;
    (void)len;
    bind_ctx *b = ud;
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_PODS);
    pods_state *ps = c ? c->state : NULL;
    if (ps && (rc == VC_OK || rc == VC_ECONFLICT)) {
        char *u = vc__strdup(b->uid);
        void *old = NULL;
        if (u && vc__map_put(&ps->bound, b->vkey, u, &old) < 0)
            vc__free(u);
        vc__free(old);
    }
    vc__free(b->vkey);
    vc__free(b->uid);
    vc__free(b);
}

static void status_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)s;
    (void)ud;
    (void)rc;
    (void)body;
    (void)len;
}

/* ---- updates: a changed virtual pod reaches its host twin ----
 * The virtual record carries the digest of what an update carries
 * (UPDATE_DIGEST); the host pod records the digest it last got
 * (VC__A_POD_UPDATE_DIGEST, set on create). When they differ, both whole
 * pods are fetched, vc__translate_pod_update says what the host needs, and
 * up to four patches go out together: the pod's metadata, its spec, its
 * ephemeralcontainers and its resize subresource. When all are answered the host gets the new
 * digest, also when the host refused a change (422, 403: a Warning event on
 * the virtual pod, from the write's refusal), so a refused change is
 * reported once per virtual change and never retried in a loop, and nothing
 * is deleted or re-created for it. A transient failure leaves the digest
 * alone: the key backs off and the update is computed again. */

typedef struct hwhole_fetch {
    char *vkey, *uid;
} hwhole_fetch;

static void hwhole_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    hwhole_fetch *wf = ud;
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_PODS);
    pods_state *ps = c ? c->state : NULL;
    if (ps) {
        vc__map_del(&ps->hfetching, wf->vkey);
        json_t *pod = rc == VC_OK ? json_loadb(body, len, 0, NULL) : NULL;
        if (pod && vc__streq(vc__uid_of(pod), wf->uid)) {
            vc__slim_meta(pod);
            char *text = json_dumps(pod, JSON_COMPACT);
            void *old = NULL;
            if (!text || vc__map_put(&ps->hwhole, wf->vkey, text, &old) < 0)
                vc__free(text);
            vc__free(old);
            vc__sync_enqueue(s, c, wf->vkey, 0);
        } else if (rc != VC_ENOTFOUND) {
            vc__sync_enqueue(s, c, wf->vkey, rc < 0 ? 1000 : 0);
        }
        json_decref(pod);
    }
    vc__free(wf->vkey);
    vc__free(wf->uid);
    vc__free(wf);
}

/* The whole host pod (record `h`), as fetch_whole does for the virtual one. */
static int fetch_host_whole(vc_syncer *s, vc__ctl *c, const char *vkey, const json_t *h, json_t **out)
{
    pods_state *ps = c->state;
    *out = NULL;
    const char *text = vc__map_get(&ps->hwhole, vkey);
    if (text) {
        json_t *w = json_loads(text, 0, NULL);
        if (!w)
            return vc__error_oom();
        if (vc__streq(vc__uid_of(w), vc__uid_of(h))) {
            *out = w;
            return VC_OK;
        }
        json_decref(w);
        vc__free(vc__map_del(&ps->hwhole, vkey));
    }
    if (vc__map_get(&ps->hfetching, vkey))
        return VC_ITEROVER;
    const char *rv = vc__jpath_str(h, "metadata", "resourceVersion");
    char *base = vc__obj_path("v1", "pods", s->host_ns, vc__jpath_str(h, "metadata", "name"), NULL);
    char *path = base && rv ? vc__sprintf("%s?resourceVersion=%s", base, rv) : NULL;
    vc__free(base);
    hwhole_fetch *wf = vc__calloc(1, sizeof(*wf));
    if (wf) {
        wf->vkey = vc__strdup(vkey);
        wf->uid = vc__strdup(vc__uid_of(h) ? vc__uid_of(h) : "");
    }
    int rc = path && wf && wf->vkey && wf->uid && vc__map_put(&ps->hfetching, vkey, (void *)1, NULL) == VC_OK
                 ? vc__sync_write(s, VC__SIDE_HOST, NULL, "Pod", "", "", "", -1, "GET", path, NULL, NULL, hwhole_done,
                                  wf)
                 : vc__error_oom();
    vc__free(path);
    if (rc < 0) {
        vc__map_del(&ps->hfetching, vkey);
        if (wf) {
            vc__free(wf->vkey);
            vc__free(wf->uid);
            vc__free(wf);
        }
        return rc;
    }
    return VC_ITEROVER;
}

typedef struct upd_ctx {
    char *vkey, *vns, *vname, *hname, *digest;
    int pending;
    bool transient;   /* a write failed for a reason other than a refusal */
} upd_ctx;

static void upd_free(upd_ctx *u)
{
    vc__free(u->vkey);
    vc__free(u->vns);
    vc__free(u->vname);
    vc__free(u->hname);
    vc__free(u->digest);
    vc__free(u);
}

/* The host said no to the change itself (it stays refused until the
 * virtual pod changes again), as opposed to a failure worth retrying. */
static bool refusal(int rc, int http)
{
    return rc == VC_EFORBIDDEN || rc == VC_EINVALIDOBJ || (http >= 400 && http < 500 && http != 404 && http != 409 &&
                                                           http != 429);
}

static void digest_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)body;
    (void)len;
    upd_ctx *u = ud;
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_PODS);
    pods_state *ps = c ? c->state : NULL;
    if (ps) {
        vc__map_del(&ps->updating, u->vkey);
        if (rc == VC_OK) {
            void *old = NULL;
            char *d = vc__strdup(u->digest);
            if (!d || vc__map_put(&ps->applied, u->vkey, d, &old) < 0)
                vc__free(d);
            vc__free(old);
        } else {
            vc__sync_enqueue(s, c, u->vkey, 1000);
        }
    }
    upd_free(u);
}

static void send_digest(vc_syncer *s, upd_ctx *u)
{
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", VC__A_POD_UPDATE_DIGEST, u->digest);
    char *path = vc__obj_path("v1", "pods", s->host_ns, u->hname, NULL);
    int rc = patch && path ? vc__sync_write_json(s, VC__SIDE_HOST, NULL, "Pod", u->vns, u->vname, u->hname, 0, "PATCH",
                                                 path, "application/strategic-merge-patch+json", patch, digest_done, u)
                           : vc__error_oom();
    json_decref(patch);
    vc__free(path);
    if (rc < 0)
        digest_done(s, u, rc, NULL, 0);
}

static void upd_done(vc_syncer *s, void *ud, int rc, const char *body, size_t len)
{
    (void)body;
    (void)len;
    upd_ctx *u = ud;
    if (rc < 0 && !refusal(rc, (int)vc_error_last()->http_status))
        u->transient = true;
    if (--u->pending > 0)
        return;
    if (!u->transient) {
        send_digest(s, u);
        return;
    }
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_PODS);
    if (c)
        vc__map_del(&((pods_state *)c->state)->updating, u->vkey);
    upd_free(u);
}

static int backsync_send(vc_syncer *s, vc__qitem *it, const char *vns, const char *vname, const char *hname,
                         const json_t *whole, const json_t *hwhole, bool records);

static int update_host_pod(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey, const char *vns,
                           const char *vname, const char *hname, const json_t *v, const json_t *h)
{
    pods_state *ps = c->state;
    const char *base = vc__jstr(v, UPDATE_DIGEST);
    const char *have = vc__jstr(vc__jobj(vc__jobj(h, "metadata"), "annotations"), VC__A_POD_UPDATE_DIGEST);
    char wantbuf[65];
    if (base && want_digest(s, vns, base, wantbuf) < 0)
        return VC_ENOMEM;
    const char *want = base ? wantbuf : NULL;
    if (!want || vc__streq(want, have)) {
        vc__free(vc__map_del(&ps->applied, vkey));
        return VC_OK;
    }
    if (vc__streq(want, vc__map_get(&ps->applied, vkey)) || vc__map_get(&ps->updating, vkey))
        return VC_OK; /* written; the host watch shows it soon */
    if (!vc__map_get(&ps->whole, vkey) && !vc__map_get(&ps->fetching, vkey) &&
        vc__map_count(&ps->whole) + vc__map_count(&ps->fetching) + vc__map_count(&ps->hwhole) +
                vc__map_count(&ps->hfetching) >= PREPARING_MAX) {
        it->retry_ms = 50; /* as many whole pods in memory as creates may hold: wait for a place */
        return VC_ITEROVER;
    }
    json_t *whole = NULL, *hwhole = NULL;
    int rc = fetch_whole(s, c, vkey, v, &whole);
    if (rc != VC_OK)
        return rc;
    if ((rc = fetch_host_whole(s, c, vkey, h, &hwhole)) != VC_OK) {
        json_decref(whole);
        return rc;
    }
    int64_t wait;
    if (!vc__host_token(s, &wait)) {
        json_decref(whole);
        json_decref(hwhole);
        return VC_ITEROVER;
    }
    vc__free(vc__map_del(&ps->whole, vkey));
    vc__free(vc__map_del(&ps->hwhole, vkey));
    char digest[65];
    json_t *inputs = pod_inputs(s, vns, NULL);
    json_t *plan = NULL;
    char vdigest[65];
    rc = inputs ? vc__pod_update_digest(whole, vdigest) : vc__error_oom();
    if (rc == VC_OK)
        rc = want_digest(s, vns, vdigest, digest);
    if (rc == VC_OK)
        rc = vc__translate_pod_update(&plan, s->tr, whole, hwhole, inputs);
    if (rc == VC_OK) {
        /* the tenant may have edited a key the host owns: back (the
         * update's metadata patch carries the ownership records) */
        vc__map_del(&ps->bsync, vkey);
        rc = backsync_send(s, it, vns, vname, hname, whole, hwhole, false);
        if (rc < 0) {
            json_decref(plan);
            plan = NULL;
        }
    }
    json_decref(inputs);
    json_decref(whole);
    json_decref(hwhole);
    if (rc < 0)
        return rc;
    upd_ctx *u = vc__calloc(1, sizeof(*u));
    if (u) {
        u->vkey = vc__strdup(vkey);
        u->vns = vc__strdup(vns);
        u->vname = vc__strdup(vname);
        u->hname = vc__strdup(hname);
        u->digest = vc__strdup(digest);
    }
    if (!u || !u->vkey || !u->vns || !u->vname || !u->hname || !u->digest ||
        vc__map_put(&ps->updating, vkey, (void *)1, NULL) < 0) {
        if (u)
            upd_free(u);
        json_decref(plan);
        return vc__error_oom();
    }
    static const struct {
        const char *part, *sub;
    } parts[] = { { "ephemeral", "ephemeralcontainers" }, { "resize", "resize" }, { "patch", NULL }, { "metadata", NULL } };
    u->pending = 1; /* held while sending */
    for (size_t i = 0; i < VC__ARRAY_LEN(parts); i++) {
        json_t *body = json_object_get(plan, parts[i].part);
        if (!body)
            continue;
        char *path = vc__obj_path("v1", "pods", s->host_ns, hname, parts[i].sub);
        u->pending++;
        int wrc = path ? vc__sync_write_json(s, VC__SIDE_HOST, it, "Pod", vns, vname, hname, VC_SYNC_UPDATED_HOST,
                                             "PATCH", path, "application/strategic-merge-patch+json", body, upd_done, u)
                       : vc__error_oom();
        vc__free(path);
        if (wrc < 0) {
            u->pending--;
            u->transient = true;
        }
    }
    json_decref(plan);
    upd_done(s, u, VC_OK, NULL, 0); /* the hold */
    return VC_OK;
}

/* Back-sync (translate/backsync.c) of the whole pods: the host-owned keys
 * the virtual pod lacks (or has otherwise) go to it, the host's ownership
 * records follow (unless `records` is false: an update carries them). */
static int backsync_send(vc_syncer *s, vc__qitem *it, const char *vns, const char *vname, const char *hname,
                         const json_t *whole, const json_t *hwhole, bool records)
{
    json_t *vp = NULL, *hp = NULL;
    int rc = vc__translate_backsync(&vp, &hp, s->tr, whole, hwhole);
    if (rc < 0)
        return rc;
    if (vp) {
        char *path = vc__obj_path("v1", "pods", vns, vname, NULL);
        rc = path ? vc__sync_write_json(s, VC__SIDE_VIRT, it, "Pod", vns, vname, hname, VC_SYNC_UPDATED_VIRTUAL,
                                        "PATCH", path, "application/merge-patch+json", vp, NULL, NULL)
                  : vc__error_oom();
        vc__free(path);
    }
    if (hp && records && rc == VC_OK) {
        char *path = vc__obj_path("v1", "pods", s->host_ns, hname, NULL);
        rc = path ? vc__sync_write_json(s, VC__SIDE_HOST, it, "Pod", vns, vname, hname, VC_SYNC_UPDATED_HOST,
                                        "PATCH", path, "application/merge-patch+json", hp, NULL, NULL)
                  : vc__error_oom();
        vc__free(path);
    }
    json_decref(vp);
    json_decref(hp);
    return rc;
}

/* Host-added labels and annotations go to the virtual pod: when a host
 * event changed them (on_host flags the pod), both whole pods are fetched
 * and back-sync decides. Not while an update of the host pod is on the wire
 * (its answer is another host event). */
static int backsync_pod(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey, const char *vns,
                        const char *vname, const char *hname, const json_t *v, const json_t *h)
{
    pods_state *ps = c->state;
    if (!vc__map_get(&ps->bsync, vkey))
        return VC_OK;
    if (vc__map_get(&ps->updating, vkey)) {
        /* its host event may come before the update's last answer: look
         * again soon rather than wait for another event */
        it->retry_ms = 200;
        return VC_ITEROVER;
    }
    if (!vc__map_get(&ps->whole, vkey) && !vc__map_get(&ps->fetching, vkey) &&
        vc__map_count(&ps->whole) + vc__map_count(&ps->fetching) + vc__map_count(&ps->hwhole) +
                vc__map_count(&ps->hfetching) >= PREPARING_MAX) {
        it->retry_ms = 50;
        return VC_ITEROVER;
    }
    json_t *whole = NULL, *hwhole = NULL;
    int rc = fetch_whole(s, c, vkey, v, &whole);
    if (rc != VC_OK)
        return rc;
    if ((rc = fetch_host_whole(s, c, vkey, h, &hwhole)) != VC_OK) {
        json_decref(whole);
        return rc;
    }
    int64_t wait;
    if (!vc__host_token(s, &wait)) {
        json_decref(whole);
        json_decref(hwhole);
        return VC_ITEROVER;
    }
    vc__free(vc__map_del(&ps->whole, vkey));
    vc__free(vc__map_del(&ps->hwhole, vkey));
    vc__map_del(&ps->bsync, vkey);
    rc = backsync_send(s, it, vns, vname, hname, whole, hwhole, true);
    if (rc < 0)
        vc__map_put(&ps->bsync, vkey, (void *)1, NULL); /* again with the retry */
    json_decref(whole);
    json_decref(hwhole);
    return rc;
}

static int create_host_pod(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey, const char *vns,
                           const char *vname, const char *hname, json_t *whole);

static int reconcile_objs(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey, const char *vns,
                          const char *vname, const char *hname, const json_t *v, const json_t *h)
{
    int64_t wait;

    if (h && vc__host_owned_by_other(h, vns, vname)) {
        /* another virtual pod's host twin (the names collide): not ours */
        return v && !vc__deleting(v) ? vc__name_taken(s, it, "Pod", vns, vname, hname) : VC_OK;
    }
    if (h && !v) {
        if (vc__deleting(h))
            return VC_OK;
        if (!vc__host_token(s, &wait))
            return VC_ITEROVER;
        return delete_obj(s, VC__SIDE_HOST, it, s->host_ns, hname, vc__uid_of(h), -1, vns, vname, hname);
    }
    if (!v)
        return VC_OK;
    const char *vuid = vc__uid_of(v);
    if (vc__deleting(v)) {
        if (h) {
            if (vc__deleting(h))
                return VC_OK;
            json_t *g = json_object_get(json_object_get(v, "metadata"), "deletionGracePeriodSeconds");
            return delete_obj(s, VC__SIDE_HOST, it, s->host_ns, hname, vc__uid_of(h), g ? json_integer_value(g) : -1, vns,
                              vname, hname);
        }
        /* host side gone: nothing runs it any more, finish the virtual deletion */
        return delete_obj(s, VC__SIDE_VIRT, it, vns, vname, vuid, 0, vns, vname, hname);
    }
    if (h) {
        json_t *hann = json_object_get(json_object_get(h, "metadata"), "annotations");
        const char *owner_uid = json_string_value(json_object_get(hann, VC__A_POD_UID));
        if (!owner_uid)
            owner_uid = json_string_value(json_object_get(hann, VC__A_OBJ_UID));
        if (owner_uid && vuid && strcmp(owner_uid, vuid) != 0) {
            /* a host pod of an earlier virtual pod with the same name: replace */
            if (vc__deleting(h))
                return VC_ITEROVER;
            return delete_obj(s, VC__SIDE_HOST, it, s->host_ns, hname, vc__uid_of(h), 0, vns, vname, hname);
        }
        if (vc__deleting(h)) {
            json_t *g = json_object_get(json_object_get(h, "metadata"), "deletionGracePeriodSeconds");
            return delete_obj(s, VC__SIDE_VIRT, it, vns, vname, vuid, g ? json_integer_value(g) : -1, vns, vname, hname);
        }
        /* binding: not again while the virtual watch has not shown ours yet */
        pods_state *ps = c->state;
        const char *bound = vc__map_get(&ps->bound, vkey);
        if (bound && !node_of(v) && vc__streq(bound, vuid))
            return VC_OK; /* the watch event of the binding enqueues the key */
        if (bound)
            vc__free(vc__map_del(&ps->bound, vkey));
        json_t *binding = NULL;
        int rc = vc__translate_pod_binding(&binding, s->tr, h, v);
        if (rc == VC_ECONFLICT)
            return delete_obj(s, VC__SIDE_VIRT, it, vns, vname, vuid, 0, vns, vname, hname);
        if (rc < 0)
            return rc;
        if (binding) {
            const char *node = node_of(h);
            vc__ctl *nodes = vc__sync_ctl_of(s, VC__CTL_NODES);
            if (nodes && node && !vc__informer_has(nodes->virt, node)) {
                json_decref(binding);
                vc__sync_enqueue(s, nodes, node, 0);
                return VC_ITEROVER; /* the fake node first */
            }
            char *path = vc__obj_path("v1", "pods", vns, vname, "binding");
            char *body = json_dumps(binding, JSON_COMPACT);
            json_decref(binding);
            bind_ctx *b = vc__calloc(1, sizeof(*b));
            if (b) {
                b->vkey = vc__strdup(vkey);
                b->uid = vc__strdup(vuid ? vuid : "");
            }
            rc = path && body && b && b->vkey && b->uid
                     ? vc__sync_write(s, VC__SIDE_VIRT, it, "Pod", vns, vname, hname, VC_SYNC_BOUND, "POST", path, NULL,
                                      body, binding_done, b)
                     : vc__error_oom();
            if (rc < 0 && b) {
                vc__free(b->vkey);
                vc__free(b->uid);
                vc__free(b);
            }
            vc__free(path);
            vc__free(body);
            return rc;
        }
        /* status back */
        json_t *nv = NULL;
        rc = vc__translate_status_to_virtual(&nv, s->tr, h, v);
        if (rc < 0)
            return rc;
        json_t *nst = json_object_get(nv, "status");
        json_t *vdig = json_object_get(v, STATUS_DIGEST);
        char sha[65];
        if (status_sha(nst, sha) < 0) {
            json_decref(nv);
            return VC_ENOMEM;
        }
        if (!vc__streq(sha, vc__jstr(vdig, "sha"))) {
            /* a merge patch of the status alone: the cached pod is a slim
             * record, and a PUT would also rewrite labels and annotations.
             * Keys the host dropped are removed with null. */
            json_t *st = json_deep_copy(nst);
            size_t ki;
            json_t *kv;
            json_array_foreach(json_object_get(vdig, "keys"), ki, kv) {
                const char *sk = json_string_value(kv);
                if (st && sk && !json_object_get(st, sk))
                    json_object_set_new(st, sk, json_null());
            }
            json_t *patch = st ? json_pack("{s:o}", "status", st) : NULL;
            char *path = vc__obj_path("v1", "pods", vns, vname, "status");
            char *body = patch ? json_dumps(patch, JSON_COMPACT) : NULL;
            json_decref(patch);
            rc = path && body ? vc__sync_write(s, VC__SIDE_VIRT, it, "Pod", vns, vname, hname, VC_SYNC_UPDATED_VIRTUAL,
                                               "PATCH", path, "application/merge-patch+json", body, status_done, NULL)
                              : vc__error_oom();
            vc__free(path);
            vc__free(body);
        }
        json_decref(nv);
        if (rc == VC_OK)
            rc = update_host_pod(s, c, it, vkey, vns, vname, hname, v, h);
        if (rc == VC_OK)
            rc = backsync_pod(s, c, it, vkey, vns, vname, hname, v, h);
        return rc;
    }
    /* no host pod */
    if (node_of(v) && json_object_get(json_object_get(v, "status"), "startTime")) {
        /* it ran on the host and is gone there: let its controller replace it */
        return delete_obj(s, VC__SIDE_VIRT, it, vns, vname, vuid, 0, vns, vname, hname);
    }
    if (s->virtual_scheduler && !node_of(v))
        return VC_OK; /* the virtual scheduler places it first (its binding's event comes back here) */
    if ((s->node_labels || s->virtual_scheduler) && node_of(v)) {
        /* placed on a node: it must be one the virtual cluster has (upstream) */
        vc__ctl *nodes = vc__sync_ctl_of(s, VC__CTL_NODES);
        if (nodes && nodes->virt && !vc__informer_has(nodes->virt, node_of(v))) {
            char *msg = vc__sprintf("Given nodeName %s does not exist in virtual cluster", node_of(v));
            if (msg)
                vc__sync_warn(s, "Pod", vns, vname, hname, msg);
            vc__free(msg);
            it->retry_ms = 15000;
            return VC_ITEROVER;
        }
    }
    if (!s->kube_ip)
        return VC_ITEROVER;
    vc__ctl *nsc = vc__sync_ctl_of(s, VC__CTL_NAMESPACES);
    if (nsc && nsc->virt && !nsc->virt->synced)
        return VC_ITEROVER; /* the namespace labels go with the create */
    pods_state *ps = c->state;
    if (!vc__map_get(&ps->whole, vkey) && vc__map_count(&ps->whole) + vc__map_count(&ps->fetching) >= PREPARING_MAX) {
        it->retry_ms = 50; /* enough pods are being prepared: wait for a place */
        return VC_ITEROVER;
    }
    json_t *whole = NULL;
    int rc = fetch_whole(s, c, vkey, v, &whole);
    if (rc != VC_OK)
        return rc;
    return create_host_pod(s, c, it, vkey, vns, vname, hname, whole);
}

/* Name ownership of what the pod mounts: a ConfigMap, Secret or PVC whose
 * host name is held by another virtual object (a colliding name in another
 * namespace) must not be mounted in its place. VC_OK when every reference
 * is free or ours; VC_EEXISTS (with a Warning event on the pod) when not. */
static int references_owned(vc_syncer *s, const json_t *whole, const char *vns, const char *vname,
                            const char *hname)
{
    static const struct {
        const char *list, *ctl, *kind;
    } k_refs[] = {
        { "configMaps", "configmaps", "ConfigMap" },
        { "secrets", "secrets", "Secret" },
        { "persistentVolumeClaims", "persistentvolumeclaims", "PersistentVolumeClaim" },
    };
    json_t *refs = NULL;
    int rc = vc__translate_pod_references(&refs, s->tr, whole);
    if (rc < 0)
        return rc;
    for (size_t k = 0; k < VC__ARRAY_LEN(k_refs) && rc == VC_OK; k++) {
        vc__ctl *c = vc__sync_ctl(s, k_refs[k].ctl);
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(refs, k_refs[k].list), i, e) {
            const char *name = vc__jstr(e, "name"), *hn = vc__jstr(e, "hostName");
            if (!c || !c->host || !name || !hn)
                continue;
            char hkey[VC__NAME_MAX + 256];
            snprintf(hkey, sizeof hkey, "%s/%s", s->host_ns, hn);
            json_t *h = NULL;
            if ((rc = vc__informer_load(c->host, hkey, &h)) < 0)
                break;
            bool other = h && vc__host_owned_by_other(h, vns, name);
            json_decref(h);
            if (other) {
                s->refused_name_taken++;
                rc = vc__error(VC_EEXISTS, VC_ERRCLASS_SYNC,
                               "Pod %s references %s %s, whose host name is used by another object of this "
                               "virtual cluster (a different namespace and name that translate to the same host "
                               "name); the pod is not synced while the other exists",
                               vname, k_refs[k].kind, name);
                vc__sync_warn(s, "Pod", vns, vname, hname, vc_error_last()->message);
                vc__error(VC_EEXISTS, VC_ERRCLASS_SYNC, "Pod %s/%s: %s %s is another's on the host", vns, vname,
                          k_refs[k].kind, name);
                break;
            }
        }
    }
    json_decref(refs);
    return rc;
}

/* Translate the whole virtual pod (consumed) and create it on the host. */
static int create_host_pod(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey, const char *vns,
                           const char *vname, const char *hname, json_t *whole)
{
    pods_state *ps = c->state;
    int64_t wait;
    if (s->pss) {
        /* policies.podSecurityStandard: checked before anything reaches the
         * host (the virtual API server's own PodSecurity admission sees only
         * namespaces the labels reached, and not pods created before) */
        char *why = NULL;
        int prc = vc__pod_security_check(whole, s->pss, &why);
        if (prc < 0 || why) {
            if (why) {
                s->refused_pod_security++;
                char *msg = vc__sprintf("Pod %s is forbidden: %s", vname, why);
                if (msg)
                    vc__sync_warn(s, "Pod", vns, vname, hname, msg);
                vc__error(VC_EFORBIDDEN, VC_ERRCLASS_SYNC, "%s", msg ? msg : why);
                vc__sync_event(s, VC_SYNC_ERROR, "Pod", vns, vname, hname, VC_EFORBIDDEN);
                vc__free(msg);
                vc__free(why);
            }
            json_decref(whole);
            json_decref(vc__map_del(&ps->tokens, vkey));
            vc__free(vc__map_del(&ps->whole, vkey));
            /* refused for good: the pod's next change (or the resync) looks again */
            return prc < 0 ? prc : VC_OK;
        }
    }
    int orc = references_owned(s, whole, vns, vname, hname);
    if (orc < 0) {
        json_decref(whole);
        json_decref(vc__map_del(&ps->tokens, vkey));
        vc__free(vc__map_del(&ps->whole, vkey));
        return orc;
    }
    json_t *tokens = NULL;
    int rc = ensure_tokens(s, c, vkey, whole, &tokens);
    if (rc == VC_OK && !vc__host_token(s, &wait))
        rc = VC_ITEROVER;
    json_t *inputs = rc == VC_OK ? pod_inputs(s, vns, tokens) : NULL;
    if (rc != VC_OK || !inputs) {
        json_decref(whole);
        return rc != VC_OK ? rc : vc__error_oom();
    }
    json_t *hobj = NULL, *extra = NULL;
    /* the update digest of what is translated: no update until it changes */
    char base[65], digest[65];
    if (vc__pod_update_digest(whole, base) < 0 || want_digest(s, vns, base, digest) < 0) {
        json_decref(inputs);
        json_decref(whole);
        return VC_ENOMEM;
    }
    rc = vc__translate_to_host(&hobj, &extra, s->tr, whole, inputs, VC_TRANSLATE_APPLY_DEFAULTS, NULL);
    json_decref(inputs);
    if (rc < 0) {
        /* no write follows: give the host write token back. Kept, pods
         * waiting for the DNS IP spent the whole budget every second and
         * starved the Service that brings the IP (a livelock at low qps). */
        s->host_tokens += 1.0;
        if (s->host_tokens > s->host_burst)
            s->host_tokens = s->host_burst;
    }
    if (rc == VC_ESTATE) {
        /* waiting for the DNS service IP (or another runtime fact) */
        return VC_ITEROVER;
    }
    if (rc < 0)
        return rc;
    size_t i;
    json_t *x;
    json_array_foreach(extra, i, x) {
        const char *xk = vc__jstr(x, "kind");
        if (!vc__streq(xk, "Secret"))
            continue;
        char *p = vc__obj_path("v1", "secrets", s->host_ns, NULL, NULL);
        char *b = json_dumps(x, JSON_COMPACT);
        if (p && b)
            vc__sync_write(s, VC__SIDE_HOST, NULL, "Secret", vns, vname, vc__jpath_str(x, "metadata", "name"), 0,
                           "POST", p, NULL, b, NULL, NULL);
        vc__free(p);
        vc__free(b);
    }
    json_decref(extra);
    json_t *hmd = json_object_get(hobj, "metadata");
    json_t *hann = json_copy(json_object_get(hmd, "annotations"));
    if (!hann || vc__set_str(hann, VC__A_POD_UPDATE_DIGEST, digest) < 0 ||
        json_object_set_new(hmd, "annotations", json_incref(hann)) < 0) {
        json_decref(hann);
        json_decref(hobj);
        return vc__error_oom();
    }
    json_decref(hann);
    char *path = vc__obj_path("v1", "pods", s->host_ns, NULL, NULL);
    char *body = json_dumps(hobj, JSON_COMPACT);
    json_decref(hobj);
    rc = path && body ? vc__sync_write(s, VC__SIDE_HOST, it, "Pod", vns, vname, hname, VC_SYNC_CREATED_HOST, "POST",
                                       path, NULL, body, NULL, NULL)
                      : vc__error_oom();
    vc__free(path);
    vc__free(body);
    /* tokens are single-use per creation; the whole pod is not needed again */
    json_decref(vc__map_del(&ps->tokens, vkey));
    vc__free(vc__map_del(&ps->whole, vkey));
    return rc;
}

static int reconcile(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey)
{
    return vc__reconcile_pair(s, c, it, vkey, reconcile_objs);
}

int vc__ctl_pods_init(vc_syncer *s, vc__ctl *c, int arg)
{
    (void)arg;
    c->name = "pods";
    c->kind = "Pod";
    c->tk = vc__kind_get(VC__K_POD);
    c->reconcile = reconcile;
    pods_state *ps = vc__calloc(1, sizeof(*ps));
    if (!ps)
        return vc__error_oom();
    vc__map_init(&ps->whole);
    vc__map_init(&ps->fetching);
    vc__map_init(&ps->tokens);
    vc__map_init(&ps->pending);
    vc__map_init(&ps->bound);
    vc__map_init(&ps->seen);
    c->state = ps;
    c->free_state = pods_state_free;
    char *sel = vc__sprintf("%s=%s", VC__L_MARKER, s->name);
    if (!sel)
        return vc__error_oom();
    int rc = vc__informer_new(&c->virt, s, s->virt, "virtual pods", "v1", "pods", NULL, NULL, slim_virtual_pod,
                              on_virtual, c);
    if (rc == VC_OK)
        rc = vc__informer_new(&c->host, s, s->host, "host pods", "v1", "pods", s->host_ns, sel, slim_host_pod, on_host,
                              c);
    vc__free(sel);
    if (rc == VC_OK)
        rc = vc__informer_set_kind(c->virt, "Pod");
    if (rc == VC_OK)
        rc = vc__informer_set_kind(c->host, "Pod");
    if (rc == VC_OK)
        c->host->want_old = true; /* on_host follows node changes */
    return rc;
}
