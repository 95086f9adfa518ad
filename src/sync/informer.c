/* Informers: a paginated list (async), then a watch from the list's
 * resourceVersion with bookmarks. 410 Gone relists and reconciles the
 * difference; other failures back off exponentially (capped at 30 s). */
#include <string.h>

#include "sync/sync.h"

#define PAGE_SIZE 500
#define WATCH_TIMEOUT_S 300
#define MAX_BACKOFF_MS 30000

static char *obj_key(const json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    if (!name)
        return NULL;
    return ns && *ns ? vc__sprintf("%s/%s", ns, name) : vc__strdup(name);
}

/* A cache entry: "RV\0TEXT\0" in one allocation. */
static char *entry_new(const char *rv, const char *text)
{
    size_t a = strlen(rv), b = strlen(text);
    char *e = vc__malloc(a + b + 2);
    if (!e)
        return NULL;
    memcpy(e, rv, a + 1);
    memcpy(e + a + 1, text, b + 1);
    return e;
}

static const char *entry_text(const char *e)
{
    return e + strlen(e) + 1;
}

int vc__informer_new(vc__informer **out, vc_syncer *s, vc_kube *kube, const char *what, const char *api_version,
                     const char *resource, const char *ns, const char *label_selector, vc__slim_fn slim,
                     vc__inf_fn fn, void *ud)
{
    vc__informer *inf = vc__calloc(1, sizeof(*inf));
    if (!inf)
        return vc__error_oom();
    inf->s = s;
    inf->kube = kube;
    inf->what = vc__strdup(what);
    inf->api_version = vc__strdup(api_version);
    inf->resource = vc__strdup(resource);
    inf->ns = ns ? vc__strdup(ns) : NULL;
    inf->label_selector = label_selector ? vc__strdup(label_selector) : NULL;
    inf->slim = slim;
    inf->fn = fn;
    inf->ud = ud;
    vc__map_init(&inf->cache);
    vc__map_init(&inf->seen);
    if (!inf->what || !inf->api_version || !inf->resource || (ns && !inf->ns) || (label_selector && !inf->label_selector)) {
        vc__informer_free(inf);
        return vc__error_oom();
    }
    *out = inf;
    return VC_OK;
}

int vc__informer_set_kind(vc__informer *inf, const char *kind)
{
    vc__free(inf->kind);
    inf->kind = vc__strdup(kind);
    return inf->kind ? VC_OK : vc__error_oom();
}

/* List items come without kind/apiVersion; translation needs them. */
static void stamp(vc__informer *inf, json_t *obj)
{
    if (inf->kind && !json_object_get(obj, "kind"))
        json_object_set_new(obj, "kind", json_string(inf->kind));
    if (!json_object_get(obj, "apiVersion"))
        json_object_set_new(obj, "apiVersion", json_string(inf->api_version));
}

/* Slim obj (in place) and make its cache entry. */
static char *entry_of(vc__informer *inf, json_t *obj)
{
    vc__slim_meta(obj); /* managedFields: never read back */
    if (inf->slim)
        inf->slim(inf->ud, obj);
    const char *rv = vc__jpath_str(obj, "metadata", "resourceVersion");
    char *text = json_dumps(obj, JSON_COMPACT);
    char *e = text ? entry_new(rv ? rv : "", text) : NULL;
    vc__free(text);
    return e;
}

void vc__informer_free(vc__informer *inf)
{
    if (!inf)
        return;
    vc__free(inf->kind);
    vc__watch_free(inf->w);
    vc__map_clear(&inf->cache, vc__free);
    vc__map_clear(&inf->seen, NULL);
    vc__free(inf->what);
    vc__free(inf->api_version);
    vc__free(inf->resource);
    vc__free(inf->ns);
    vc__free(inf->label_selector);
    vc__free(inf->field_selector);
    vc__free(inf->rv);
    vc__free(inf->cont);
    vc__free(inf);
}

void vc__informer_stop(vc__informer *inf)
{
    vc__watch_free(inf->w);
    inf->w = NULL;
    inf->state = VC__INF_STOPPED;
}

int vc__informer_load(vc__informer *inf, const char *key, json_t **out)
{
    const char *e = vc__map_get(&inf->cache, key);
    *out = NULL;
    if (!e)
        return VC_OK;
    *out = json_loads(entry_text(e), 0, NULL);
    return *out ? VC_OK : vc__error_oom();
}

bool vc__informer_has(vc__informer *inf, const char *key)
{
    return vc__map_get(&inf->cache, key) != NULL;
}

bool vc__informer_next(vc__informer *inf, size_t *it, const char **key, const char **text)
{
    void *e = NULL;
    if (!vc__map_next(&inf->cache, it, key, &e))
        return false;
    if (text)
        *text = entry_text(e);
    return true;
}

size_t vc__informer_count(vc__informer *inf)
{
    return vc__map_count(&inf->cache);
}

/* The cached object before a change, parsed, when the handler wants it. */
static json_t *old_of(vc__informer *inf, const char *e, bool always)
{
    if (!e || (!always && !inf->want_old))
        return NULL;
    json_t *o = json_loads(entry_text(e), 0, NULL);
    if (!o)
        VC__LOGW("sync", "%s: out of memory parsing a cached object", inf->what);
    return o;
}

/* Cache obj under key (slimming it) and tell the handler. */
static void put(vc__informer *inf, const char *key, json_t *obj)
{
    const char *olde = vc__map_get(&inf->cache, key);
    json_t *old = old_of(inf, olde, false);
    inf->fn(inf->ud, inf, key, old, obj);
    json_decref(old);
    char *e = entry_of(inf, obj);
    void *oldp = NULL;
    if (!e || vc__map_put(&inf->cache, key, e, &oldp) < 0) {
        /* keep the older entry: a later event or relist corrects it */
        vc__free(e);
        VC__LOGW("sync", "%s: out of memory caching %s", inf->what, key);
        return;
    }
    vc__free(oldp);
}

/* key left: drop it from the cache and tell the handler. final is the
 * server's last state of the object when known. */
static void gone(vc__informer *inf, const char *key, const json_t *final)
{
    char *e = vc__map_del(&inf->cache, key);
    if (!e)
        return;
    json_t *old = final ? NULL : old_of(inf, e, true);
    inf->fn(inf->ud, inf, key, final ? final : old, NULL);
    json_decref(old);
    vc__free(e);
}

static void backoff(vc__informer *inf, int rc, int64_t now)
{
    inf->failures++;
    int64_t d = 200LL << (inf->failures < 8 ? inf->failures : 8);
    if (d > MAX_BACKOFF_MS)
        d = MAX_BACKOFF_MS;
    inf->next_ms = now + d;
    inf->state = VC__INF_BACKOFF;
    VC__LOGW("sync", "%s: %s; retrying in %lld ms", inf->what, vc_error_last()->message, (long long)d);
    vc__sync_event(inf->s, VC_SYNC_ERROR, inf->what, "", "", "", rc);
}

/* Apply one watch event. */
static void apply(vc__informer *inf, const char *type, json_t *obj)
{
    char *key = obj_key(obj);
    if (!key)
        return;
    stamp(inf, obj);
    if (!strcmp(type, "DELETED"))
        gone(inf, key, obj);
    else if (inf->no_cache)
        inf->fn(inf->ud, inf, key, NULL, obj);
    else
        put(inf, key, obj);
    vc__free(key);
}

static void list_page_done(void *ud, int rc, long http, const char *body, size_t len);

static int start_list_page(vc__informer *inf)
{
    vc_buf path = VC_BUF_INIT;
    vc__kres r = { inf->api_version, inf->resource, inf->ns, NULL, NULL };
    vc__list_opts o = { 0 };
    o.label_selector = inf->label_selector;
    o.field_selector = inf->field_selector;
    o.limit = PAGE_SIZE;
    o.continue_token = inf->cont;
    int rc = vc__kube_path(&path, &r, &o);
    if (rc == VC_OK)
        rc = vc__kreq_start(inf->s->loop, inf->kube, "GET", path.ptr, NULL, NULL, 0, 60000, list_page_done, inf);
    vc_buf_dispose(&path);
    if (rc == VC_OK)
        inf->list_in_flight = true;
    return rc;
}

/* A relist is applied page by page; at its end, what it did not see is gone. */
static void finish_list(vc__informer *inf)
{
    if (!inf->no_cache) {
        size_t it = 0;
        const char *k;
        char **del = NULL;
        size_t n_del = 0, cap = 0;
        while (vc__map_next(&inf->cache, &it, &k, NULL)) {
            if (vc__map_get(&inf->seen, k))
                continue;
            if (n_del == cap) {
                size_t nc = cap ? cap * 2 : 16;
                char **g = vc__realloc(del, nc * sizeof(char *));
                if (!g)
                    break; /* the next relist finds the rest */
                del = g;
                cap = nc;
            }
            del[n_del++] = vc__strdup(k);
        }
        for (size_t i = 0; i < n_del; i++) {
            if (del[i])
                gone(inf, del[i], NULL);
            vc__free(del[i]);
        }
        vc__free(del);
    }
    vc__map_clear(&inf->seen, NULL);
    vc__map_init(&inf->seen);
    inf->synced = true;
    inf->failures = 0;
}

static void list_page_done(void *ud, int rc, long http, const char *body, size_t len)
{
    (void)http;
    vc__informer *inf = ud;
    inf->list_in_flight = false;
    if (inf->state != VC__INF_LISTING)
        return; /* stopped meanwhile */
    int64_t now = vc__now_ms();
    if (rc < 0) {
        vc__error_prefix("list %s", inf->what);
        backoff(inf, rc, now);
        return;
    }
    json_error_t je;
    json_t *list = json_loadb(body, len, 0, &je);
    json_t *items = json_object_get(list, "items");
    if (!json_is_array(items)) {
        json_decref(list);
        backoff(inf, vc__error(VC_EAPI, VC_ERRCLASS_SYNC, "list %s: the server answered no item list", inf->what), now);
        return;
    }
    size_t i;
    json_t *obj;
    json_array_foreach(items, i, obj) {
        char *key = obj_key(obj);
        if (!key)
            continue;
        stamp(inf, obj);
        if (inf->no_cache) {
            inf->fn(inf->ud, inf, key, NULL, obj);
        } else if (vc__map_put(&inf->seen, key, (void *)1, NULL) < 0) {
            /* without the mark the relist's end would take it for gone */
            vc__free(key);
            json_decref(list);
            backoff(inf, vc__error_oom(), now);
            return;
        } else {
            const char *e = vc__map_get(&inf->cache, key);
            const char *rv = vc__jpath_str(obj, "metadata", "resourceVersion");
            if (!e || !rv || strcmp(e, rv) != 0)
                put(inf, key, obj);
        }
        vc__free(key);
    }
    json_t *md = json_object_get(list, "metadata");
    const char *cont = json_string_value(json_object_get(md, "continue"));
    const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
    vc__free(inf->cont);
    inf->cont = cont && *cont ? vc__strdup(cont) : NULL;
    if (!inf->cont) {
        vc__free(inf->rv);
        inf->rv = rv ? vc__strdup(rv) : NULL;
    }
    json_decref(list);
    if (inf->cont) {
        int r = start_list_page(inf);
        if (r < 0)
            backoff(inf, r, now);
        return;
    }
    finish_list(inf);
    inf->state = VC__INF_IDLE; /* tick starts the watch */
}

static int start_watch(vc__informer *inf)
{
    vc__kres r = { inf->api_version, inf->resource, inf->ns, NULL, NULL };
    vc__list_opts o = { 0 };
    o.label_selector = inf->label_selector;
    o.field_selector = inf->field_selector;
    o.resource_version = inf->rv;
    o.allow_bookmarks = true;
    o.timeout_seconds = WATCH_TIMEOUT_S;
    int rc = vc__watch_start(&inf->w, inf->s->loop, inf->kube, &r, &o);
    if (rc == VC_OK)
        inf->state = VC__INF_WATCHING;
    return rc;
}

int vc__informer_tick(vc__informer *inf, int64_t now)
{
    int handled = 0;
    switch (inf->state) {
    case VC__INF_STOPPED:
    case VC__INF_LISTING:
        return 0;
    case VC__INF_BACKOFF:
        if (now < inf->next_ms)
            return 0;
        /* fall through: relist */
        inf->state = VC__INF_IDLE;
        vc__free(inf->rv);
        inf->rv = NULL;
        break;
    case VC__INF_IDLE:
    case VC__INF_WATCHING:
        break;
    }
    if (inf->state == VC__INF_IDLE) {
        if (!inf->rv) {
            vc__map_clear(&inf->seen, NULL);
            vc__map_init(&inf->seen);
            vc__free(inf->cont);
            inf->cont = NULL;
            inf->state = VC__INF_LISTING;
            if (inf->synced)
                inf->relists++;
            int rc = start_list_page(inf);
            if (rc < 0)
                backoff(inf, rc, now);
            return 0;
        }
        int rc = start_watch(inf);
        if (rc < 0) {
            backoff(inf, rc, now);
            return 0;
        }
    }
    /* WATCHING: drain events */
    const char *type;
    json_t *obj;
    while (vc__watch_next(inf->w, &type, &obj) == VC_OK) {
        handled++;
        inf->events++;
        const char *rv = vc__jpath_str(obj, "metadata", "resourceVersion");
        if (rv) {
            char *c = vc__strdup(rv);
            if (c) {
                vc__free(inf->rv);
                inf->rv = c;
            }
        }
        if (strcmp(type, "BOOKMARK") != 0)
            apply(inf, type, obj);
        json_decref(obj);
    }
    int erc = 0;
    if (vc__watch_ended(inf->w, &erc)) {
        vc__watch_free(inf->w);
        inf->w = NULL;
        inf->state = VC__INF_IDLE;
        if (erc == VC_OK) {
            inf->failures = 0; /* normal expiry: re-watch from rv at next tick */
        } else if (erc == VC_EGONE) {
            VC__LOGI("sync", "%s: resourceVersion expired, relisting", inf->what);
            vc__free(inf->rv);
            inf->rv = NULL;
        } else {
            vc__error_prefix("watch %s", inf->what);
            vc__free(inf->rv);
            inf->rv = NULL;
            backoff(inf, erc, now);
        }
    }
    return handled;
}

int64_t vc__informer_timeout(vc__informer *inf, int64_t now)
{
    if (inf->state == VC__INF_BACKOFF)
        return inf->next_ms > now ? inf->next_ms - now : 0;
    if (inf->state == VC__INF_IDLE)
        return 0;
    if (inf->state == VC__INF_WATCHING && inf->w && (vc__watch_queued(inf->w) || vc__watch_ended(inf->w, NULL)))
        return 0;
    return -1;
}
