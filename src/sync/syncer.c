/* The public syncer: construction, the step API, events, writes, stats. */
#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "config/config.h"
#include "sync/sync.h"
#include "util/vstruct.h"

#define DEFAULT_HOST_QPS 200.0
#define DEFAULT_HOST_BURST 400
#define DEFAULT_PER_STEP 256
/* Reconciles start only while fewer writes than this are on the wire: without
 * a bound, a burst of N pods put thousands of requests in flight at once
 * (each holding libcurl buffers: memory grew with N) and the virtual API
 * server answered them late or timed them out. */
#define MAX_IN_FLIGHT VC__SYNC_MAX_IN_FLIGHT
#define DEFAULT_RESYNC_S 300
/* upstream's pkg/coredns DefaultImage */
#define DEFAULT_COREDNS_IMAGE "coredns/coredns:1.14.2"

/* Versioned public structs (util/vstruct.h): version 2 of the options
 * begins at kubelet_address. */
VC__VSTRUCT(vc_syncer_options, VC_SYNCER_OPTIONS_VERSION,
            VC__VEND(vc_syncer_options, kubelet_address) VC__VEND(vc_syncer_options, config)
                VC__VEND(vc_syncer_options, leader_lease_name));
VC__VSTRUCT(vc_syncer_stats, VC_SYNCER_STATS_VERSION,
            VC__VEND(vc_syncer_stats, refused_pod_security) VC__VEND(vc_syncer_stats, leader_state));
VC__OPTIONS_INIT_FN(vc_syncer_options, VC_SYNCER_OPTIONS_INIT)

/* ---- events ---- */

/* An event and the error it points to, in one allocation (the event comes
 * first, so a vc_sync_event * is a sync_event *). */
typedef struct sync_event {
    vc_sync_event ev;
    vc_error err;
} sync_event;

void vc__sync_event(vc_syncer *s, int type, const char *kind, const char *vns, const char *vname, const char *hname,
                    int rc)
{
    if (type == VC_SYNC_ERROR)
        s->errors++;
    sync_event *se = vc__calloc(1, sizeof(*se));
    vc_sync_event *ev = se ? &se->ev : NULL;
    if (!ev)
        return;
    ev->type = type;
    ev->kind = vc__strdup(kind ? kind : "");
    ev->virtual_namespace = vc__strdup(vns ? vns : "");
    ev->virtual_name = vc__strdup(vname ? vname : "");
    ev->host_name = vc__strdup(hname ? hname : "");
    vc_error *err = &se->err;
    ev->error = err;
    err->code = rc;
    if (rc < 0) {
        const vc_error *e = vc_error_last();
        err->klass = e->klass;
        err->http_status = e->http_status;
        err->reason = vc__strdup(e->reason);
        err->message = vc__strdup(e->message);
    } else {
        err->reason = vc__strdup("");
        err->message = vc__strdup("");
    }
    if (!ev->kind || !ev->virtual_namespace || !ev->virtual_name || !ev->host_name || !err->reason ||
        !err->message) {
        vc_sync_event_free(ev);
        return;
    }
    if (s->ev_len == VC__MAX_EVENTS) {
        vc_sync_event_free(s->events[s->ev_head]);
        s->ev_head = (s->ev_head + 1) % s->ev_cap;
        s->ev_len--;
        s->events_dropped++;
    }
    if (s->ev_len == s->ev_cap) {
        size_t nc = s->ev_cap ? s->ev_cap * 2 : 64;
        vc_sync_event **n = vc__malloc(nc * sizeof(vc_sync_event *));
        if (!n) {
            vc_sync_event_free(ev);
            return;
        }
        for (size_t i = 0; i < s->ev_len; i++)
            n[i] = s->events[(s->ev_head + i) % s->ev_cap];
        vc__free(s->events);
        s->events = n;
        s->ev_cap = nc;
        s->ev_head = 0;
    }
    s->events[(s->ev_head + s->ev_len) % s->ev_cap] = ev;
    s->ev_len++;
}

void vc_sync_event_free(vc_sync_event *ev)
{
    if (!ev)
        return;
    vc__free((char *)ev->kind);
    vc__free((char *)ev->virtual_namespace);
    vc__free((char *)ev->virtual_name);
    vc__free((char *)ev->host_name);
    vc_error *err = &((sync_event *)ev)->err;
    vc__free((char *)err->reason);
    vc__free((char *)err->message);
    vc__free(ev);
}

int vc_syncer_next_event(vc_sync_event **out, vc_syncer *s)
{
    if (!out || !s)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "out and syncer are required");
    *out = NULL;
    if (!s->ev_len)
        return VC_ITEROVER;
    *out = s->events[s->ev_head];
    s->ev_head = (s->ev_head + 1) % s->ev_cap;
    s->ev_len--;
    return VC_OK;
}

/* ---- helpers ---- */

void vc__split_key(const char *key, char *buf, size_t cap, const char **ns, const char **name)
{
    snprintf(buf, cap, "%s", key);
    char *slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        *ns = buf;
        *name = slash + 1;
    } else {
        *ns = "";
        *name = buf;
    }
}

vc__ctl *vc__sync_ctl_of(vc_syncer *s, vc__ctl_id id)
{
    return (unsigned)id < VC__CTL_COUNT ? s->by_id[id] : NULL;
}

/* By name: only for the queue, whose keys start with the controller's name. */
vc__ctl *vc__sync_ctl(vc_syncer *s, const char *name)
{
    for (int i = 0; i < s->n_ctls; i++)
        if (!strcmp(s->ctls[i].name, name))
            return &s->ctls[i];
    return NULL;
}

/* The queue's stats slot of a key: its controller's index in s->ctls. Keys
 * come in runs of one controller (a list page, enqueue_all), so the last
 * answer is tried first. */
static int queue_slot_of(void *ud, const char *key)
{
    vc_syncer *s = ud;
    int last = s->q_last_slot;
    if (last < s->n_ctls) {
        const char *nm = s->ctls[last].name;
        size_t l = strlen(nm);
        if (!strncmp(nm, key, l) && key[l] == '|')
            return last;
    }
    size_t n = strcspn(key, "|");
    for (int i = 0; i < s->n_ctls; i++) {
        if (strlen(s->ctls[i].name) == n && !strncmp(s->ctls[i].name, key, n)) {
            s->q_last_slot = i;
            return i;
        }
    }
    return 0;
}

void vc__sync_enqueue(vc_syncer *s, vc__ctl *c, const char *vkey, int64_t delay_ms)
{
    if (s->stopping)
        return;
    char *k = vc__sprintf("%s|%s", c->name, vkey);
    if (!k)
        return;
    vc__queue_add(&s->q, k, delay_ms, vc__now_ms());
    vc__free(k);
}

void vc__sync_enqueue_high(vc_syncer *s, vc__ctl *c, const char *vkey)
{
    if (s->stopping)
        return;
    char *k = vc__sprintf("%s|%s", c->name, vkey);
    if (!k)
        return;
    vc__queue_add_high(&s->q, k, vc__now_ms());
    vc__free(k);
}

char *vc__obj_path(const char *api_version, const char *resource, const char *ns, const char *name, const char *sub)
{
    vc_buf b = VC_BUF_INIT;
    vc__kres r = { api_version, resource, ns, name, sub };
    if (vc__kube_path(&b, &r, NULL) < 0) {
        vc_buf_dispose(&b);
        return NULL;
    }
    return b.ptr;
}

bool vc__host_token(vc_syncer *s, int64_t *wait_ms)
{
    int64_t now = vc__now_ms();
    s->host_tokens += (double)(now - s->host_tokens_ms) * s->host_qps / 1000.0;
    if (s->host_tokens > s->host_burst)
        s->host_tokens = s->host_burst;
    s->host_tokens_ms = now;
    if (s->host_tokens >= 1.0) {
        s->host_tokens -= 1.0;
        *wait_ms = 0;
        return true;
    }
    *wait_ms = (int64_t)((1.0 - s->host_tokens) * 1000.0 / s->host_qps) + 1;
    s->retry_hint_ms = *wait_ms;
    return false;
}

void vc__slim_meta(json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    if (json_is_object(md))
        json_object_del(md, "managedFields");
}

const char *vc__uid_of(const json_t *o)
{
    return vc__jpath_str(o, "metadata", "uid");
}

bool vc__host_owned_by_other(const json_t *h, const char *vns, const char *vname)
{
    json_t *ann = json_object_get(json_object_get(h, "metadata"), "annotations");
    const char *n = json_string_value(json_object_get(ann, VC__A_OBJ_NAME));
    const char *ns = json_string_value(json_object_get(ann, VC__A_OBJ_NAMESPACE));
    if (!n) {
        n = json_string_value(json_object_get(ann, VC__A_POD_NAME));
        ns = json_string_value(json_object_get(ann, VC__A_POD_NAMESPACE));
    }
    if (!n)
        return false; /* no record of an owner: the callers' own checks apply */
    return !vc__streq(n, vname) || !vc__streq(ns ? ns : "", vns ? vns : "");
}

int vc__name_taken(vc_syncer *s, vc__qitem *it, const char *kind, const char *vns, const char *vname,
                   const char *hname)
{
    (void)it;
    s->refused_name_taken++;
    int rc = vc__error(VC_EEXISTS, VC_ERRCLASS_SYNC,
                       "the host name of this %s is already used by another %s of this virtual cluster (a different "
                       "namespace and name that translate to the same host name); it is not synced while the other "
                       "exists",
                       kind, kind);
    vc__sync_warn(s, kind, vns, vname, hname, vc_error_last()->message);
    vc__error(VC_EEXISTS, VC_ERRCLASS_SYNC, "%s %s/%s: host name %s is taken by another virtual object", kind, vns,
              vname, hname);
    return rc;
}

bool vc__deleting(const json_t *o)
{
    return json_object_get(json_object_get(o, "metadata"), "deletionTimestamp") != NULL;
}

char *vc__delete_body(const char *uid, json_int_t grace)
{
    json_t *b = json_pack("{s:s,s:s}", "apiVersion", "v1", "kind", "DeleteOptions");
    if (!b)
        return NULL;
    if (grace >= 0)
        json_object_set_new(b, "gracePeriodSeconds", json_integer(grace));
    if (uid)
        json_object_set_new(b, "preconditions", json_pack("{s:s}", "uid", uid));
    char *t = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    return t;
}

int vc__sync_write_json(vc_syncer *s, vc__side side, vc__qitem *it, const char *kind, const char *vns,
                        const char *vname, const char *hname, int event_type, const char *method, const char *path,
                        const char *ctype, const json_t *body, vc__write_done done, void *ud)
{
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text)
        return vc__error_oom();
    int rc = vc__sync_write(s, side, it, kind, vns, vname, hname, event_type, method, path, ctype, text, done, ud);
    vc__free(text);
    return rc;
}

void vc__sync_enqueue_all(vc_syncer *s, vc__ctl *c)
{
    if (!c || !c->virt)
        return;
    size_t it = 0;
    const char *k;
    while (vc__informer_next(c->virt, &it, &k, NULL))
        vc__sync_enqueue(s, c, k, 0);
}

int vc__reconcile_pair(vc_syncer *s, vc__ctl *c, vc__qitem *it, const char *vkey, vc__pair_fn fn)
{
    char buf[512];
    const char *vns, *vname;
    vc__split_key(vkey, buf, sizeof buf, &vns, &vname);
    char hname[VC__NAME_MAX];
    vc__host_name(s->tr, c->tk, vns, vname, hname);
    char hkey[VC__NAME_MAX + 256];
    if (c->tk->namespaced)
        snprintf(hkey, sizeof hkey, "%s/%s", s->host_ns, hname);
    else /* cluster-scoped (PriorityClasses): the host key is the name */
        snprintf(hkey, sizeof hkey, "%s", hname);
    json_t *v = NULL, *h = NULL;
    int rc = vc__informer_load(c->virt, vkey, &v);
    if (rc == VC_OK)
        rc = vc__informer_load(c->host, hkey, &h);
    if (rc == VC_OK)
        rc = fn(s, c, it, vkey, vns, vname, hname, v, h);
    json_decref(v);
    json_decref(h);
    return rc;
}

typedef struct write_ctx {
    vc_syncer *s;
    char *qkey;
    char *kind, *vns, *vname, *hname;
    int event_type;
    vc__side side;
    vc__write_done done;
    void *ud;
    uint64_t seq;            /* writes: their number in the debug log */
} write_ctx;

static void write_ctx_free(write_ctx *w)
{
    vc__free(w->qkey);
    vc__free(w->kind);
    vc__free(w->vns);
    vc__free(w->vname);
    vc__free(w->hname);
    vc__free(w);
}

/* A host write that failed on 409 AlreadyExists or Conflict is tried again
 * soon (20 ms: the cache is usually just behind), then ever later, up to the
 * queue's longest backoff. After this many AlreadyExists in a row the
 * object is someone else's: a Warning event says so. */
#define EXISTS_WARN_AFTER 5
#define CONFLICT_DELAY_MAX_MS 30000

static int64_t conflict_delay(int failures)
{
    int64_t d = 20LL << (failures < 11 ? (failures > 0 ? failures - 1 : 0) : 10);
    return d > CONFLICT_DELAY_MAX_MS ? CONFLICT_DELAY_MAX_MS : d;
}

/* The host said no for a reason the tenant can act on or must know about:
 * quota and admission (403), invalid (422), a bad request (400) or too large
 * (413). */
static bool host_refusal(int rc)
{
    return rc == VC_EFORBIDDEN || rc == VC_EINVALIDOBJ || (rc == VC_EAPI && vc_error_last()->http_status >= 400 &&
                                                          vc_error_last()->http_status < 500);
}

static void refused(vc_syncer *s, const write_ctx *w, int rc)
{
    (void)rc;
    s->refused_by_host++;
    vc__error_saved saved;
    vc__error_save(&saved);
    vc__sync_warn(s, w->kind, w->vns, w->vname, w->hname, saved.message ? saved.message : "refused by the host");
    vc__error_restore(&saved);
}

static void write_done(void *ud, int rc, long http, const char *body, size_t len)
{
    (void)http;
    write_ctx *w = ud;
    vc_syncer *s = w->s;
    s->in_flight--;
    if (w->seq)
        VC__LOGD("write", "done #%llu: %d", (unsigned long long)w->seq, rc);
    /* a delete of something already gone is a success */
    if (rc == VC_ENOTFOUND && w->event_type == VC_SYNC_DELETED_HOST)
        rc = VC_OK;
    if (rc == VC_ENOTFOUND && w->event_type == VC_SYNC_DELETED_VIRTUAL)
        rc = VC_OK;
    if (w->event_type < 0) {
        /* a read: the callback deals with the result */
    } else if (rc == VC_OK) {
        if (w->event_type)
            vc__sync_event(s, w->event_type, w->kind, w->vns, w->vname, w->hname, VC_OK);
    } else if (!(rc == VC_EEXISTS && (w->event_type == VC_SYNC_CREATED_VIRTUAL || w->event_type == 0 ||
                                       w->event_type == VC_SYNC_CREATED_HOST))) {
        /* (a create that finds the object: the cache is behind; the key is
         * reconciled again, no error to report) */
        if (w->side == VC__SIDE_HOST && host_refusal(rc))
            refused(s, w, rc);
        vc__error_prefix("%s %s%s%s", w->kind, w->vns, *w->vns ? "/" : "", w->vname);
        vc__sync_event(s, VC_SYNC_ERROR, w->kind, w->vns, w->vname, w->hname, rc);
    }
    vc__qitem *qi = w->qkey ? vc__queue_item(&s->q, w->qkey) : NULL;
    if (qi && (rc == VC_EEXISTS || rc == VC_ECONFLICT) && w->event_type != VC_SYNC_CREATED_VIRTUAL) {
        /* usually the cache is a moment behind and the next try succeeds;
         * when it does not, the object on the host is not ours (an
         * unmanaged object holds the name): back off, and say so once it
         * is clearly not the cache */
        qi->failures++;
        if (rc == VC_EEXISTS && w->side == VC__SIDE_HOST && qi->failures == EXISTS_WARN_AFTER) {
            s->refused_name_taken++;
            vc__error(VC_EEXISTS, VC_ERRCLASS_SYNC,
                      "the host already has a %s of this name that this virtual cluster does not manage; "
                      "it is left alone and this %s is not synced until the name is free",
                      w->kind, w->kind);
            vc__sync_warn(s, w->kind, w->vns, w->vname, w->hname, vc_error_last()->message);
            vc__sync_event(s, VC_SYNC_ERROR, w->kind, w->vns, w->vname, w->hname, VC_EEXISTS);
        }
    }
    if (w->done)
        w->done(s, w->ud, rc, body, len);
    if (w->qkey) {
        vc__qitem *it = vc__queue_item(&s->q, w->qkey);
        if (it) {
            int64_t now = vc__now_ms();
            if (it->inflight > 0)
                it->inflight--;
            if (it->inflight == 0) {
                bool again = it->dirty || rc < 0;
                it->dirty = false;
                if (rc < 0 && rc != VC_ECONFLICT && rc != VC_EEXISTS)
                    vc__queue_done(&s->q, it, rc, now);
                else if (again && !s->stopping)
                    vc__queue_add(&s->q, w->qkey, rc < 0 ? conflict_delay(it->failures) : 0, now);
                else
                    vc__queue_done(&s->q, it, VC_OK, now);
            }
        }
    }
    write_ctx_free(w);
}

int vc__sync_write(vc_syncer *s, vc__side side, vc__qitem *it, const char *kind, const char *vns, const char *vname,
                   const char *hname, int event_type, const char *method, const char *path, const char *ctype,
                   const char *body, vc__write_done done, void *ud)
{
    write_ctx *w = vc__calloc(1, sizeof(*w));
    if (!w)
        return vc__error_oom();
    w->s = s;
    w->qkey = it ? vc__strdup(it->key) : NULL;
    w->kind = vc__strdup(kind ? kind : "");
    w->vns = vc__strdup(vns ? vns : "");
    w->vname = vc__strdup(vname ? vname : "");
    w->hname = vc__strdup(hname ? hname : "");
    w->event_type = event_type;
    w->side = side;
    w->done = done;
    w->ud = ud;
    if ((it && !w->qkey) || !w->kind || !w->vns || !w->vname || !w->hname) {
        write_ctx_free(w);
        return vc__error_oom();
    }
    vc_kube *k = side == VC__SIDE_HOST ? s->host : s->virt;
    bool read = strcmp(method, "GET") == 0;
    int32_t tmo = 30000;
    if (!read) {
        /* the fence (leader.c): a standby, or a leader past its renew
         * deadline, sends nothing; a leader's write ends by the fence plus
         * half the margin */
        int64_t now = vc__now_ms();
        if (!vc__leader_may_write(s, now)) {
            write_ctx_free(w);
            s->le.withheld++;
            return vc__error(VC_ESTATE, VC_ERRCLASS_SYNC, "%s %s not sent: this syncer is not the leader", method,
                             path);
        }
        tmo = vc__leader_write_timeout(s, now, tmo);
    }
    if (!read) {
        /* every write, before it can go out, and how long it may last (the
         * failover test reads these to prove no two leaders wrote at once) */
        w->seq = ++s->write_seq;
        VC__LOGD("write", "send #%llu %s %s %s (timeout %d ms)", (unsigned long long)w->seq,
                 side == VC__SIDE_HOST ? "host" : "virtual", method, path, (int)tmo);
    }
    int rc = vc__kreq_start(s->loop, k, method, path, ctype, body, body ? strlen(body) : 0, tmo, write_done, w);
    if (rc < 0) {
        if (w->seq)
            VC__LOGD("write", "done #%llu: %d (not sent)", (unsigned long long)w->seq, rc);
        write_ctx_free(w);
        return rc;
    }
    s->in_flight++;
    if (it)
        it->inflight++;
    if (read)
        return VC_OK;
    if (side == VC__SIDE_HOST)
        s->host_writes++;
    else
        s->virtual_writes++;
    return VC_OK;
}

/* ---- construction ---- */

static void free_ctl(vc__ctl *c)
{
    vc__informer_free(c->virt);
    vc__informer_free(c->host);
    if (c->free_state)
        c->free_state(c->state);
    memset(c, 0, sizeof(*c));
}

void vc_syncer_free(vc_syncer *s)
{
    if (!s)
        return;
    /* a leader not stopped: its writes, then the Lease released (bounded) */
    vc__leader_free_release(s);
    /* the loop goes first: it owns the write contexts' transfers */
    for (int i = 0; i < s->n_ctls; i++) {
        if (s->ctls[i].virt)
            vc__informer_stop(s->ctls[i].virt);
        if (s->ctls[i].host)
            vc__informer_stop(s->ctls[i].host);
        if (s->ctls[i].stop)
            s->ctls[i].stop(s, &s->ctls[i]);
    }
    vc__kloop_free(s->loop);
    for (int i = 0; i < s->n_ctls; i++)
        free_ctl(&s->ctls[i]);
    vc__queue_clear(&s->q);
    while (s->ev_len) {
        vc_sync_event_free(s->events[s->ev_head]);
        s->ev_head = (s->ev_head + 1) % s->ev_cap;
        s->ev_len--;
    }
    vc__free(s->events);
    vc__replicate_free(s);
    json_decref(s->cr_to_host);
    json_decref(s->cr_from_host);
    vc__map_clear(&s->refs, NULL);
    vc__map_clear(&s->pod_refs, vc__free);
    vc__map_clear(&s->node_use, NULL);
    vc__sync_warns_free(s);
    vc__free(s->pss);
    json_decref(s->node_labels);
    vc__free(s->from_host_sc_selector);
    vc_translator_free(s->tr);
    vc__kube_unref(s->host);
    vc__kube_unref(s->virt);
    vc__free(s->name);
    vc__free(s->host_ns);
    vc__free(s->service_name);
    vc__free(s->domain);
    vc__free(s->coredns_image);
    vc__free(s->kubelet_address);
    vc__free(s->virt_version);
    vc__free(s->kube_ip);
    vc__free(s->dns_ip);
    vc__free(s->owner_uid);
    json_decref(s->from_host);
    vc__leader_free(s);
    vc__free(s);
}

int vc_syncer_new(vc_syncer **out, vc_kube *host, vc_kube *virt, const vc_syncer_options *user_opts)
{
    if (!out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "out is NULL");
    *out = NULL;
    if (!host || !virt || !user_opts)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_syncer_new needs a host and a virtual connection and options");
    /* only the bytes of the caller's version are read (util/vstruct.h) */
    vc_syncer_options o2 = VC_SYNCER_OPTIONS_INIT;
    int vrc = vc__vstruct_read(&vc_syncer_options__vs, &o2, user_opts);
    if (vrc < 0)
        return vrc;
    const vc_syncer_options *opts = &o2;
    if (vc__str_empty(opts->name))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_syncer_new: the virtual cluster name is required");
    if (!vc__str_empty(o2.kubelet_address)) {
        unsigned char ipbuf[16];
        if (inet_pton(AF_INET, o2.kubelet_address, ipbuf) != 1 && inet_pton(AF_INET6, o2.kubelet_address, ipbuf) != 1)
            return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_syncer_new: kubelet_address %s is not an IP address",
                             o2.kubelet_address);
    }
    if (o2.kubelet_port < 0 || o2.kubelet_port > 65535)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_syncer_new: kubelet_port %d out of range",
                         (int)o2.kubelet_port);
    if (o2.config && !vc__str_empty(o2.config_yaml))
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID,
                         "vc_syncer_new: config and config_yaml are both set; pass one");
    vc_syncer *s = vc__calloc(1, sizeof(*s));
    if (!s)
        return vc__error_oom();
    s->host = vc__kube_ref(host);
    s->virt = vc__kube_ref(virt);
    s->flags = opts->flags;
    s->name = vc__strdup(opts->name);
    s->host_ns = opts->host_namespace ? vc__strdup(opts->host_namespace) : vc__sprintf("vcluster-%s", opts->name);
    s->service_name = vc__strdup(opts->service_name ? opts->service_name : opts->name);
    s->domain = vc__strdup(opts->cluster_domain ? opts->cluster_domain : "cluster.local");
    s->coredns_image = vc__strdup(opts->coredns_image ? opts->coredns_image : DEFAULT_COREDNS_IMAGE);
    s->kubelet_address = vc__str_empty(o2.kubelet_address) ? NULL : vc__strdup(o2.kubelet_address);
    s->kubelet_port = o2.kubelet_port;
    s->host_qps = opts->host_qps > 0 ? opts->host_qps : DEFAULT_HOST_QPS;
    s->host_burst = opts->host_burst > 0 ? opts->host_burst : DEFAULT_HOST_BURST;
    s->host_tokens = s->host_burst;
    s->host_tokens_ms = vc__now_ms();
    s->max_per_step = opts->max_reconciles_per_step > 0 ? opts->max_reconciles_per_step : DEFAULT_PER_STEP;
    s->resync_ms = opts->resync_seconds < 0 ? -1 : 1000LL * (opts->resync_seconds ? opts->resync_seconds : DEFAULT_RESYNC_S);
    s->next_resync_ms = s->resync_ms > 0 ? vc__now_ms() + s->resync_ms : -1;
    s->kube_ip_pending = false;
    vc__queue_init(&s->q);
    s->q.slot_of = queue_slot_of;
    s->q.slot_ud = s;
    vc__map_init(&s->refs);
    vc__map_init(&s->pod_refs);
    vc__map_init(&s->node_use);
    vc__map_init(&s->warns);
    int rc = VC_OK;
    char *hosts_image = NULL; /* sync.toHost.pods.rewriteHosts.initContainer.image */
    s->coredns_replicas = 1;
    if (!s->name || !s->host_ns || !s->service_name || !s->domain || !s->coredns_image ||
        (!vc__str_empty(o2.kubelet_address) && !s->kubelet_address)) {
        rc = vc__error_oom();
        goto fail;
    }
    if ((rc = vc__kloop_new(&s->loop)) < 0)
        goto fail;
    if ((rc = vc__leader_init(s, &o2)) < 0)
        goto fail;
    vc_translate_options to;
    vc_translate_options_init(&to, VC_TRANSLATE_OPTIONS_VERSION);
    to.name = s->name;
    to.host_namespace = s->host_ns;
    to.cluster_domain = s->domain;
    if (opts->flags & VC_SYNCER_SECRETS_FOR_SA_TOKENS)
        to.flags |= VC_TRANSLATE_OPT_SECRETS_FOR_SA_TOKENS;
    /* vcluster.yaml: what syncs and how pods are rewritten; the caller's
     * parsed values, else config_yaml parsed here (older callers), else the
     * defaults */
    vc_config *own = NULL;
    const vc_config *cfg = o2.config;
    if (!cfg) {
        if ((rc = vc_config_new(&own)) < 0)
            goto fail;
        if (!vc__str_empty(o2.config_yaml) && (rc = vc_config_load_string(own, o2.config_yaml, "config")) < 0) {
            vc_config_free(own);
            goto fail;
        }
        cfg = own;
    }
    const vc__cfg_values *cv = vc__config_values(cfg);
    /* networking.advanced.proxyKubelets: upstream's defaults without a config */
    s->proxy_by_hostname = s->proxy_by_ip = true;
    if (cv) {
        s->proxy_by_hostname = cv->networking.advanced.proxy_kubelets_by_hostname;
        s->proxy_by_ip = cv->networking.advanced.proxy_kubelets_by_ip;
        if (!cv->sync.to_host.pods.rewrite_hosts.enabled)
            to.flags |= VC_TRANSLATE_OPT_NO_REWRITE_HOSTS;
        if (cv->sync.to_host.pods.use_secrets_for_sa_tokens)
            to.flags |= VC_TRANSLATE_OPT_SECRETS_FOR_SA_TOKENS;
        if (cv->sync.from_host.priority_classes)
            to.flags |= VC_TRANSLATE_OPT_FROM_HOST_PRIORITY_CLASSES;
        if (cv->sync.to_host.ingresses)
            to.sync_to_host |= VC_TRANSLATE_SYNC_INGRESSES;
        if (cv->sync.to_host.priority_classes)
            to.sync_to_host |= VC_TRANSLATE_SYNC_PRIORITY_CLASSES;
        if (cv->sync.to_host.network_policies)
            to.sync_to_host |= VC_TRANSLATE_SYNC_NETWORK_POLICIES;
        if (cv->sync.to_host.pod_disruption_budgets)
            to.sync_to_host |= VC_TRANSLATE_SYNC_POD_DISRUPTION_BUDGETS;
        if (cv->sync.to_host.service_accounts)
            to.sync_to_host |= VC_TRANSLATE_SYNC_SERVICE_ACCOUNTS;
        if (cv->sync.to_host.storage_classes)
            to.sync_to_host |= VC_TRANSLATE_SYNC_STORAGE_CLASSES;
        if (cv->sync.to_host.persistent_volumes)
            to.sync_to_host |= VC_TRANSLATE_SYNC_PERSISTENT_VOLUMES;
        to.runtime_class = vc__str_empty(cv->sync.to_host.pods.runtime_class_name) ? NULL : cv->sync.to_host.pods.runtime_class_name;
        to.default_priority_class = vc__str_empty(cv->sync.to_host.pods.priority_class_name) ? NULL : cv->sync.to_host.pods.priority_class_name;
        s->all_configmaps = cv->sync.to_host.config_maps.all;
        /* sync.toHost.pods.enforceTolerations: validated at load, added to
         * every host pod by the translator */
        to.enforce_tolerations = cv->sync.to_host.pods.enforce_tolerations.v;
        to.enforce_tolerations_count = (uint32_t)cv->sync.to_host.pods.enforce_tolerations.n;
        /* experimental.syncSettings.setOwner (default true, as upstream):
         * host objects carry an ownerReference to the host Service; not
         * with sync.toHost.namespaces (an owner cannot be in another
         * namespace; upstream skips it then too) */
        s->set_owner = cv->experimental.sync_settings.set_owner && !cv->sync.to_host.namespaces.enabled;
        s->coredns_replicas = cv->control_plane.coredns.replicas;
        if (!opts->coredns_image && !vc__str_empty(cv->control_plane.coredns.image)) {
            vc__free(s->coredns_image);
            if (!(s->coredns_image = vc__strdup(cv->control_plane.coredns.image))) {
                vc_config_free(own);
                rc = vc__error_oom();
                goto fail;
            }
        }
        if (!(hosts_image = vc__config_image_ref(cfg, &cv->sync.to_host.pods.rewrite_hosts.image))) {
            vc_config_free(own);
            rc = vc__error_oom();
            goto fail;
        }
        to.rewrite_hosts_image = hosts_image;
        if (!vc__str_empty(cv->policies.pod_security_standard) &&
            !(s->pss = vc__strdup(cv->policies.pod_security_standard))) {
            vc_config_free(own);
            rc = vc__error_oom();
            goto fail;
        }
        s->all_secrets = cv->sync.to_host.secrets.all;
        /* customResources: the controller (crds.c) outlives the config */
        const json_t *crt = cv->sync.to_host.custom_resources, *crf = cv->sync.from_host.custom_resources;
        if (!(s->cr_to_host = crt ? json_deep_copy(crt) : json_object()) ||
            !(s->cr_from_host = crf ? json_deep_copy(crf) : json_object())) {
            vc_config_free(own);
            rc = vc__error_oom();
            goto fail;
        }
        s->from_host_storage_classes = vc__config_from_host_auto(cfg, "storageClasses");
        if (rc == VC_OK && s->from_host_storage_classes)
            rc = vc__config_label_selector(cv->sync.from_host.storage_classes_selector,
                                           "sync.fromHost.storageClasses.selector", &s->from_host_sc_selector);
        if (!cv->sync.from_host.events)
            s->flags |= VC_SYNCER_NO_EVENTS;
        if (!cv->control_plane.coredns.enabled)
            s->flags |= VC_SYNCER_NO_COREDNS;
        if (cv->sync.from_host.nodes.enabled) {
            /* real nodes (realnodes.c) instead of fake ones (the flag that
             * leaves fake nodes out does not apply to them) */
            s->real_nodes = true;
            s->flags &= ~VC_SYNCER_NO_FAKE_NODES;
            s->nodes_all = cv->sync.from_host.nodes.selector_all;
            s->nodes_sync_back = cv->sync.from_host.nodes.sync_back_changes;
            s->nodes_clear_images = cv->sync.from_host.nodes.clear_image_status;
            if (json_object_size(cv->sync.from_host.nodes.selector_labels) && !s->nodes_all &&
                !(s->node_labels = json_deep_copy(cv->sync.from_host.nodes.selector_labels)))
                rc = vc__error_oom();
        }
        if (vc__config_virtual_scheduler(cfg)) {
            /* the virtual kube-scheduler places pods; the host one never sees
             * an unplaced pod (pods.c) */
            s->virtual_scheduler = true;
            to.flags |= VC_TRANSLATE_OPT_VIRTUAL_SCHEDULER;
        }
        if (rc == VC_OK)
            rc = vc__fromhost_configure(s, cfg);
        for (size_t i = 0; rc == VC_OK && i < cv->networking.replicate_services.from_host.n; i++)
            rc = vc__replicate_add(s, true, cv->networking.replicate_services.from_host.v[i].from,
                                   cv->networking.replicate_services.from_host.v[i].to);
        for (size_t i = 0; rc == VC_OK && i < cv->networking.replicate_services.to_host.n; i++)
            rc = vc__replicate_add(s, false, cv->networking.replicate_services.to_host.v[i].from,
                                   cv->networking.replicate_services.to_host.v[i].to);
        if (rc < 0) {
            vc_config_free(own);
            goto fail;
        }
    }
    rc = vc_translator_new(&s->tr, &to);
    vc__free(hosts_image);
    hosts_image = NULL;
    if (rc == VC_OK && s->node_labels)
        rc = vc__translator_set_node_selector(s->tr, s->node_labels);
    if (rc < 0) {
        vc_config_free(own);
        goto fail;
    }
    vc__translator_wait_owner(s->tr, s->set_owner);
    /* controllers: the registration table (controllers.c), in its order;
     * their init may read the values */
    s->cfg = cfg;
    for (size_t i = 0; rc == VC_OK && i < vc__n_controllers; i++) {
        const vc__ctl_desc *d = &vc__controllers[i];
        if (d->off_flag & s->flags)
            continue;
        vc__ctl *c = &s->ctls[s->n_ctls++];
        rc = d->init(s, c, d->arg);
        if (rc > 0) { /* its config leaves it off */
            free_ctl(c);
            s->n_ctls--;
            rc = VC_OK;
            continue;
        }
        if (rc == VC_OK)
            s->by_id[d->id] = c;
    }
    s->cfg = NULL;
    vc_config_free(own);
    if (rc < 0)
        goto fail;
    vc_error_clear();
    *out = s;
    return VC_OK;
fail: {
    vc__error_saved sv;
    vc__error_save(&sv);
    vc__free(hosts_image);
    vc_syncer_free(s);
    vc__error_restore(&sv);
}
    return rc;
}

int vc_syncer_get_fd(vc_syncer *s)
{
    if (!s)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "syncer is NULL");
    return vc__kloop_fd(s->loop);
}

int vc_syncer_wakeup(vc_syncer *s)
{
    if (!s)
        return VC_EINVAL;
    return vc__kloop_wakeup(s->loop);
}

int vc_syncer_stop(vc_syncer *s)
{
    if (!s)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "syncer is NULL");
    vc__leader_stop(s);
    s->stopping = true;
    for (int i = 0; i < s->n_ctls; i++) {
        if (s->ctls[i].virt)
            vc__informer_stop(s->ctls[i].virt);
        if (s->ctls[i].host)
            vc__informer_stop(s->ctls[i].host);
        if (s->ctls[i].stop)
            s->ctls[i].stop(s, &s->ctls[i]);
    }
    return vc__kloop_wakeup(s->loop);
}

/* ---- the kube IP: ClusterIP of the host Service fronting the API server ---- */

/* Every key again, spread over steps (defined with the step below). */
static void enqueue_all(vc_syncer *s);

static void kube_ip_done(void *ud, int rc, long http, const char *body, size_t len)
{
    (void)http;
    vc_syncer *s = ud;
    s->kube_ip_pending = false;
    if (rc < 0) {
        vc__error_prefix("host Service %s/%s (the virtual API server)", s->host_ns, s->service_name);
        vc__sync_event(s, VC_SYNC_ERROR, "Service", "", s->service_name, s->service_name, rc);
        s->kube_ip_next_ms = vc__now_ms() + 2000;
        return;
    }
    json_t *svc = json_loadb(body, len, 0, NULL);
    const char *ip = vc__jpath_str(svc, "spec", "clusterIP");
    const char *uid = vc__jpath_str(svc, "metadata", "uid");
    if (ip && *ip && strcmp(ip, "None") != 0) {
        s->kube_ip = vc__strdup(ip);
        s->owner_uid = uid ? vc__strdup(uid) : NULL;
        if (s->set_owner)
            (void)vc__translator_set_owner(s->tr, uid);
        vc_translator_set_service_ips(s->tr, s->kube_ip, s->dns_ip);
        VC__LOGI("sync", "virtual API server reachable in the host at %s", ip);
        /* pods waiting for it, and (setOwner) namespaced objects waiting for
         * their owner: every key again, a slice per step (10,000 keys at
         * once cost one step 20 ms under ASan). Before the informers have
         * listed nothing is needed: ready queues everything. */
        if (s->ready_reported)
            enqueue_all(s);
    } else {
        vc__error(VC_ESTATE, VC_ERRCLASS_SYNC, "host Service %s/%s has no ClusterIP yet", s->host_ns, s->service_name);
        s->kube_ip_next_ms = vc__now_ms() + 2000;
    }
    json_decref(svc);
}

static void kube_ip_tick(vc_syncer *s, int64_t now)
{
    if (s->kube_ip || s->kube_ip_pending || now < s->kube_ip_next_ms)
        return;
    char *path = vc__obj_path("v1", "services", s->host_ns, s->service_name, NULL);
    if (path && vc__kreq_start(s->loop, s->host, "GET", path, NULL, NULL, 0, 10000, kube_ip_done, s) == VC_OK)
        s->kube_ip_pending = true;
    else
        s->kube_ip_next_ms = now + 2000;
    vc__free(path);
}

/* ---- the step ---- */

static bool all_synced(vc_syncer *s)
{
    for (int i = 0; i < s->n_ctls; i++) {
        if (s->ctls[i].virt && !s->ctls[i].virt->synced)
            return false;
        if (s->ctls[i].host && !s->ctls[i].host->synced)
            return false;
    }
    return true;
}

static bool ctl_synced(vc__ctl *c)
{
    return (!c->virt || c->virt->synced) && (!c->host || c->host->synced);
}

static int run_queue(vc_syncer *s, int64_t now)
{
    int n = 0, popped = 0;
    vc__qitem *it;
    /* popped counts the keys put back unreconciled too (their controller not
     * synced yet): 10,000 of them cost milliseconds */
    while (n < s->max_per_step && s->in_flight < MAX_IN_FLIGHT && (popped == 0 || !vc__step_over(s)) &&
           (it = vc__queue_pop(&s->q, now))) {
        popped++;
        char ctl_name[32];
        const char *bar = strchr(it->key, '|');
        if (!bar || (size_t)(bar - it->key) >= sizeof ctl_name) {
            vc__queue_forget(&s->q, it);
            continue;
        }
        memcpy(ctl_name, it->key, (size_t)(bar - it->key));
        ctl_name[bar - it->key] = '\0';
        vc__ctl *c = vc__sync_ctl(s, ctl_name);
        if (!c || !c->reconcile) {
            vc__queue_forget(&s->q, it);
            continue;
        }
        if (!ctl_synced(c)) {
            vc__queue_done(&s->q, it, VC_ITEROVER, now);
            continue;
        }
        s->reconciles++;
        s->retry_hint_ms = 0;
        vc__hist_observe(&c->queue_wait, (double)it->wait_us / 1e6);
        int64_t t0 = vc__sync_now_us();
        int rc = c->reconcile(s, c, it, bar + 1);
        vc__hist_observe(&c->rec_time, (double)(vc__sync_now_us() - t0) / 1e6);
        if (rc == VC_ITEROVER && s->retry_hint_ms > 0)
            it->retry_ms = s->retry_hint_ms; /* the host write limiter's wait, not the default 1 s */
        if (rc < 0)
            c->rec_err++;
        else if (rc == VC_ITEROVER && s->retry_hint_ms > 0)
            c->rec_requeue_after++;
        else if (rc == VC_ITEROVER)
            c->rec_requeue++;
        else
            c->rec_ok++;
        if (rc < 0) {
            char buf[512];
            const char *ns, *name;
            vc__split_key(bar + 1, buf, sizeof buf, &ns, &name);
            vc__sync_event(s, VC_SYNC_ERROR, c->kind, ns, name, "", rc);
        }
        vc__queue_done(&s->q, it, rc, now);
        n++;
    }
    return n;
}

/* Every cached virtual key of every controller, into the queue (startup
 * and resync): spread over steps by enqueue_all_tick(), since 10,000 keys
 * cost a step about 10 ms. */
static void enqueue_all(vc_syncer *s)
{
    s->enq_pending = true;
    s->enq_ctl = 0;
    s->enq_it = 0;
    s->enq_slots = NULL;
}

void vc__sync_leader_started(vc_syncer *s)
{
    /* what changed while another syncer led (or nobody did): every key
     * again, as at startup; keys queued meanwhile by the informers are
     * still queued */
    if (s->resync_ms > 0)
        s->next_resync_ms = vc__now_ms() + s->resync_ms;
    if (s->ready_reported)
        enqueue_all(s);
}

static int enqueue_all_tick(vc_syncer *s)
{
    int n = 0;
    while (s->enq_pending) {
        if (s->enq_ctl >= s->n_ctls) {
            s->enq_pending = false;
            break;
        }
        vc__ctl *c = &s->ctls[s->enq_ctl];
        if (c->virt) {
            /* a cache that grew since the last step was rehashed: its
             * iteration starts again (the queue drops the duplicates) */
            const void *slots = c->virt->cache.slots;
            if (s->enq_slots && slots != s->enq_slots)
                s->enq_it = 0;
            s->enq_slots = slots;
            const char *k;
            while (vc__informer_next(c->virt, &s->enq_it, &k, NULL)) {
                vc__sync_enqueue(s, c, k, 0);
                if (++n % 16 == 0 && vc__step_over(s))
                    return n;
            }
        }
        s->enq_ctl++;
        s->enq_it = 0;
        s->enq_slots = NULL;
    }
    return n;
}

int vc_syncer_step(vc_syncer *s, int32_t timeout_ms, int32_t *out)
{
    if (out)
        *out = VC_STEP_IDLE;
    if (!s)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "syncer is NULL");
    if (s->stopped) {
        if (out)
            *out = VC_STEP_STOPPED;
        return VC_OK;
    }
    int64_t now;
    int32_t wait = timeout_ms < 0 ? 0 : timeout_ms;
    if (wait > 0) {
        int64_t t = 0;
        vc_syncer_get_timeout(s, &t);
        if (t >= 0 && t < wait)
            wait = (int32_t)t;
    }
    /* the budget counts from the step's start, I/O included; when the
     * caller asked to wait, from the end of the wait (the I/O then has none) */
    s->step_deadline_us = vc__sync_now_us() + VC__STEP_BUDGET_US;
    vc__kloop_budget(s->loop, wait > 0 ? 0 : s->step_deadline_us);
    int rc = vc__kloop_run(s->loop, wait, NULL);
    if (rc < 0)
        return rc;
    if (wait > 0)
        s->step_deadline_us = vc__sync_now_us() + VC__STEP_BUDGET_US;
    now = vc__now_ms();
    if (s->stopping) {
        bool releasing = vc__leader_stop_step(s, now);
        if (s->in_flight == 0 && !releasing) {
            s->stopped = true;
            if (out)
                *out = VC_STEP_STOPPED;
        } else if (out) {
            *out = VC_STEP_PROGRESS;
        }
        return VC_OK;
    }
    int work = 0;
    vc__leader_tick(s, now);
    /* a standby keeps its informers (and the reads they need) going and
     * runs no controller: nothing of it writes */
    bool active = vc__leader_active(s, now);
    kube_ip_tick(s, now);
    /* round robin: the budget may run out before the last informer, so
     * each step starts with another one */
    int first = s->n_ctls ? (int)(s->tick_rr++ % (uint32_t)s->n_ctls) : 0;
    for (int j = 0; j < s->n_ctls; j++) {
        vc__ctl *c = &s->ctls[(first + j) % s->n_ctls];
        if (c->virt)
            work += vc__informer_tick(c->virt, now);
        if (c->host)
            work += vc__informer_tick(c->host, now);
    }
    bool synced = all_synced(s);
    if (synced && !s->ready_reported) {
        s->ready_reported = true;
        vc__sync_event(s, VC_SYNC_READY, "", "", "", "", VC_OK);
        /* startup: every key of both sides, so orphans of a previous run go */
        enqueue_all(s);
    }
    if (active) {
        for (int i = 0; i < s->n_ctls; i++)
            if (s->ctls[i].tick)
                work += s->ctls[i].tick(s, &s->ctls[i], synced, now);
        if (s->resync_ms > 0 && now >= s->next_resync_ms) {
            s->next_resync_ms = now + s->resync_ms;
            if (synced)
                enqueue_all(s);
        }
        if (s->enq_pending)
            work += enqueue_all_tick(s);
        work += run_queue(s, now);
        for (int i = 0; i < s->n_ctls; i++)
            if (s->ctls[i].drain)
                work += s->ctls[i].drain(s, &s->ctls[i]);
    }
    if (out) {
        if (work > 0 || s->in_flight > 0)
            *out = VC_STEP_PROGRESS;
        else if (active && synced && vc__queue_depth(&s->q) == 0 && !s->enq_pending && s->kube_ip)
            *out = VC_STEP_SYNCED;
        else
            *out = VC_STEP_IDLE;
    }
    return VC_OK;
}

int vc_syncer_get_timeout(vc_syncer *s, int64_t *out_ms)
{
    if (!s || !out_ms)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "syncer and out_ms are required");
    int64_t now = vc__now_ms();
    int64_t best = vc__kloop_timeout(s->loop);
#define CONSIDER(v)                                                                                                    \
    do {                                                                                                               \
        int64_t _v = (v);                                                                                              \
        if (_v >= 0 && (best < 0 || _v < best))                                                                        \
            best = _v;                                                                                                 \
    } while (0)
    /* a standby's controllers wait for leadership: their timers count only
     * when leading (the Lease's do always) */
    bool active = vc__leader_active(s, now);
    if (active && s->in_flight < MAX_IN_FLIGHT) /* else a completed write wakes the fd */
        CONSIDER(vc__queue_timeout(&s->q, now));
    for (int i = 0; i < s->n_ctls; i++) {
        if (s->ctls[i].virt)
            CONSIDER(vc__informer_timeout(s->ctls[i].virt, now));
        if (s->ctls[i].host)
            CONSIDER(vc__informer_timeout(s->ctls[i].host, now));
    }
    for (int i = 0; active && i < s->n_ctls; i++)
        if (s->ctls[i].timeout)
            CONSIDER(s->ctls[i].timeout(s, &s->ctls[i], now));
    if (active && s->enq_pending)
        CONSIDER(0);
    if (!s->kube_ip && !s->kube_ip_pending)
        CONSIDER(s->kube_ip_next_ms > now ? s->kube_ip_next_ms - now : 0);
    if (active && s->resync_ms > 0)
        CONSIDER(s->next_resync_ms > now ? s->next_resync_ms - now : 0);
    CONSIDER(vc__leader_timeout(s, now));
    if (s->stopping)
        best = s->in_flight || s->le.pending ? best : 0;
#undef CONSIDER
    *out_ms = best;
    return VC_OK;
}

int vc_syncer_stats_get(vc_syncer *s, vc_syncer_stats *user_out)
{
    if (!s || !user_out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "syncer and out are required");
    /* filled in full here; only the bytes of the caller's version are
     * written back (util/vstruct.h) */
    vc_syncer_stats st = { 0 };
    vc_syncer_stats *out = &st;
    for (int i = 0; i < s->n_ctls; i++) {
        vc__informer *infs[2] = { s->ctls[i].virt, s->ctls[i].host };
        for (int j = 0; j < 2; j++) {
            if (!infs[j])
                continue;
            out->informers++;
            if (infs[j]->synced)
                out->informers_synced++;
            out->relists += infs[j]->relists;
            if (j == 0)
                out->virtual_objects += vc__informer_count(infs[j]);
            else
                out->host_objects += vc__informer_count(infs[j]);
        }
    }
    out->queue_depth = (uint32_t)vc__queue_depth(&s->q);
    out->in_flight = (uint32_t)s->in_flight;
    out->events_dropped = (uint32_t)s->events_dropped;
    out->host_writes = s->host_writes;
    out->virtual_writes = s->virtual_writes;
    out->errors = s->errors;
    out->reconciles = s->reconciles;
    out->refused_pod_security = s->refused_pod_security;
    out->refused_by_host = s->refused_by_host;
    out->refused_name_taken = s->refused_name_taken;
    out->warnings = s->warnings;
    out->leader_state = (uint32_t)vc__leader_state(s);
    out->leader_acquired = (uint32_t)s->le.acquired;
    out->lease_renewals = s->le.renewals;
    out->writes_withheld = s->le.withheld;
    return vc__vstruct_write(&vc_syncer_stats__vs, user_out, &st);
}

VC__VSTRUCT(vc_syncer_controller_stats, VC_SYNCER_CONTROLLER_STATS_VERSION, );
VC__VSTRUCT(vc_syncer_request_stats, VC_SYNCER_REQUEST_STATS_VERSION, );

int vc_syncer_controller_stats_get(vc_syncer *s, uint32_t index, vc_syncer_controller_stats *user_out)
{
    if (!s || !user_out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "syncer and out are required");
    if (user_out->version < 1 || user_out->version > VC_SYNCER_CONTROLLER_STATS_VERSION)
        return vc__vstruct_write(&vc_syncer_controller_stats__vs, user_out, user_out); /* VC_EVERSION */
    if (index >= (uint32_t)s->n_ctls)
        return VC_ITEROVER;
    vc__ctl *c = &s->ctls[index];
    vc_syncer_controller_stats st = { 0 };
    st.name = c->name;
    st.kind = c->kind ? c->kind : "";
    st.queue_depth = s->q.depth[index];
    st.queue_adds = s->q.adds[index];
    st.queue_retries = s->q.retries[index];
    st.reconcile_success = c->rec_ok;
    st.reconcile_error = c->rec_err;
    st.reconcile_requeue = c->rec_requeue;
    st.reconcile_requeue_after = c->rec_requeue_after;
    st.virtual_objects = c->virt ? vc__informer_count(c->virt) : 0;
    st.host_objects = c->host ? vc__informer_count(c->host) : 0;
    st.synced = ctl_synced(c) ? 1 : 0;
    vc__hist_export(&c->rec_time, &c->rec_time_out);
    vc__hist_export(&c->queue_wait, &c->queue_wait_out);
    st.reconcile_time = &c->rec_time_out;
    st.queue_wait = &c->queue_wait_out;
    return vc__vstruct_write(&vc_syncer_controller_stats__vs, user_out, &st);
}

int vc_syncer_request_stats_get(vc_syncer *s, uint32_t index, vc_syncer_request_stats *user_out)
{
    if (!s || !user_out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "syncer and out are required");
    if (user_out->version < 1 || user_out->version > VC_SYNCER_REQUEST_STATS_VERSION)
        return vc__vstruct_write(&vc_syncer_request_stats__vs, user_out, user_out); /* VC_EVERSION */
    vc__kreq_row *r = vc__kloop_row(s->loop, index);
    if (!r)
        return VC_ITEROVER;
    vc_syncer_request_stats st = { 0 };
    st.code = r->code;
    st.cluster = r->kube == s->host ? "host" : "virtual";
    st.host = r->host;
    st.method = r->method;
    st.count = r->count;
    vc__hist_export(&r->latency, &r->latency_out);
    st.latency = &r->latency_out;
    return vc__vstruct_write(&vc_syncer_request_stats__vs, user_out, &st);
}

int vc_syncer_stats_json(vc_syncer *s, vc_buf *out)
{
    if (!s || !out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "syncer and out are required");
    json_t *o = json_object();
    if (!o)
        return vc__error_oom();
    for (int i = 0; i < s->n_ctls; i++) {
        vc__ctl *c = &s->ctls[i];
        json_t *k = json_pack("{s:I,s:I,s:b}", "virtual", (json_int_t)(c->virt ? vc__informer_count(c->virt) : 0),
                              "host", (json_int_t)(c->host ? vc__informer_count(c->host) : 0), "synced",
                              ctl_synced(c));
        if (k)
            json_object_set_new(o, c->kind, k);
    }
    char *txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (!txt)
        return vc__error_oom();
    vc_buf_dispose(out);
    int rc = vc__buf_set(out, txt);
    vc__free(txt);
    return rc;
}
