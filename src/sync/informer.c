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

/* A cache entry: the generation of the list that last saw it (uint32_t),
 * then "RV\0TEXT\0", in one allocation. The generation marks what a relist
 * saw without a set of keys to build and free (10,000 keys cost a step
 * milliseconds). */
#define ENTRY_HDR sizeof(uint32_t)

static char *entry_new(const char *rv, const char *text, uint32_t gen)
{
    size_t a = strlen(rv), b = strlen(text);
    char *e = vc__malloc(ENTRY_HDR + a + b + 2);
    if (!e)
        return NULL;
    memcpy(e, &gen, ENTRY_HDR);
    memcpy(e + ENTRY_HDR, rv, a + 1);
    memcpy(e + ENTRY_HDR + a + 1, text, b + 1);
    return e;
}

static const char *entry_rv(const char *e)
{
    return e + ENTRY_HDR;
}

static const char *entry_text(const char *e)
{
    return entry_rv(e) + strlen(entry_rv(e)) + 1;
}

static uint32_t entry_gen(const char *e)
{
    uint32_t g;
    memcpy(&g, e, ENTRY_HDR);
    return g;
}

static void entry_set_gen(char *e, uint32_t gen)
{
    memcpy(e, &gen, ENTRY_HDR);
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
    char *e = text ? entry_new(rv ? rv : "", text, inf->list_gen) : NULL;
    vc__free(text);
    return e;
}

/* ---- a list page as text: {"kind":..,"metadata":{..},"items":[{..},..]}
 * scanned a value at a time, each item parsed on its own ---- */

static void page_drop(vc__informer *inf)
{
    vc_buf_dispose(&inf->page);
    vc__free(inf->page_cont);
    vc__free(inf->page_rv);
    inf->page_cont = inf->page_rv = NULL;
    inf->page_pending = inf->page_in_items = inf->page_has_items = false;
    inf->page_pos = 0;
}

static size_t skip_ws(const char *p, size_t n, size_t i)
{
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    return i;
}

/* The end of the string starting at p[i] == '"' (one past its closing
 * quote), or 0 when it does not end. */
static size_t skip_string(const char *p, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == '"')
            return i + 1;
    }
    return 0;
}

/* One past the JSON value starting at p[i], or 0 when malformed. Only the
 * nesting and strings are followed: jansson checks the rest when the value
 * is parsed. */
static size_t skip_value(const char *p, size_t n, size_t i)
{
    if (i >= n)
        return 0;
    if (p[i] == '"')
        return skip_string(p, n, i);
    if (p[i] == '{' || p[i] == '[') {
        size_t depth = 0;
        for (; i < n; i++) {
            char c = p[i];
            if (c == '"') {
                size_t e = skip_string(p, n, i);
                if (!e)
                    return 0;
                i = e - 1;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return i + 1;
            }
        }
        return 0;
    }
    while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' && p[i] != '\n' && p[i] != '\r' &&
           p[i] != '\t')
        i++;
    return i;
}

/* The next item of the page: 1 with [*start, *start + *len), 0 at the end of
 * the page (its metadata read), -1 when the text is not a list. */
static int page_next(vc__informer *inf, const char **start, size_t *len)
{
    const char *p = inf->page.ptr;
    size_t n = inf->page.size, i = inf->page_pos;
    if (i == 0) {
        i = skip_ws(p, n, 0);
        if (i >= n || p[i] != '{')
            return -1;
        i++;
    }
    for (;;) {
        i = skip_ws(p, n, i);
        if (inf->page_in_items) {
            if (i < n && p[i] == ',')
                i = skip_ws(p, n, i + 1);
            if (i < n && p[i] == ']') {
                inf->page_in_items = false;
                i++;
                continue;
            }
            size_t e = skip_value(p, n, i);
            if (!e)
                return -1;
            *start = p + i;
            *len = e - i;
            inf->page_pos = e;
            return 1;
        }
        if (i < n && p[i] == ',')
            i = skip_ws(p, n, i + 1);
        if (i < n && p[i] == '}') {
            inf->page_pos = i + 1;
            return 0;
        }
        if (i >= n || p[i] != '"')
            return -1;
        size_t ke = skip_string(p, n, i);
        if (!ke)
            return -1;
        const char *key = p + i + 1;
        size_t klen = ke - i - 2;
        i = skip_ws(p, n, ke);
        if (i >= n || p[i] != ':')
            return -1;
        i = skip_ws(p, n, i + 1);
        if (klen == 5 && !memcmp(key, "items", 5) && i < n && p[i] == '[') {
            inf->page_in_items = true;
            inf->page_has_items = true;
            i++;
            continue;
        }
        size_t e = skip_value(p, n, i);
        if (!e)
            return -1;
        if (klen == 8 && !memcmp(key, "metadata", 8)) {
            json_t *md = json_loadb(p + i, e - i, 0, NULL);
            const char *cont = json_string_value(json_object_get(md, "continue"));
            const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
            vc__free(inf->page_cont);
            vc__free(inf->page_rv);
            inf->page_cont = cont && *cont ? vc__strdup(cont) : NULL;
            inf->page_rv = rv ? vc__strdup(rv) : NULL;
            json_decref(md);
        }
        i = e;
    }
}

void vc__informer_free(vc__informer *inf)
{
    if (!inf)
        return;
    vc__free(inf->kind);
    page_drop(inf);
    vc__watch_free(inf->w);
    vc__map_clear(&inf->cache, vc__free);
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
    page_drop(inf);
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
        /* keep the older entry: a later event or relist corrects it (and
         * a relist in progress must not take it for gone) */
        char *keep = vc__map_get(&inf->cache, key);
        if (keep)
            entry_set_gen(keep, inf->list_gen);
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
        void *e;
        while (vc__map_next(&inf->cache, &it, &k, &e)) {
            if (entry_gen(e) == inf->list_gen)
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
    inf->synced = true;
    inf->failures = 0;
}

/* A page arrived: kept as text, applied by apply_page() an item at a time. */
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
    page_drop(inf);
    if (vc__buf_put(&inf->page, body, len) < 0) {
        backoff(inf, vc__error_oom(), now);
        return;
    }
    inf->page_pending = true;
}

/* Apply the items of the page that arrived while the step's budget lasts;
 * at the page's end, ask for the next one or end the list. Returns the
 * number of items applied. */
static int apply_page(vc__informer *inf, int64_t now)
{
    int handled = 0, r = 1;
    const char *item;
    size_t item_len;
    while ((handled == 0 || !vc__step_over(inf->s)) && (r = page_next(inf, &item, &item_len)) == 1) {
        handled++;
        json_error_t je;
        json_t *obj = json_loadb(item, item_len, 0, &je);
        char *key = json_is_object(obj) ? obj_key(obj) : NULL;
        if (!key) {
            json_decref(obj);
            continue;
        }
        stamp(inf, obj);
        if (inf->no_cache) {
            inf->fn(inf->ud, inf, key, NULL, obj);
        } else {
            char *e = vc__map_get(&inf->cache, key);
            const char *rv = vc__jpath_str(obj, "metadata", "resourceVersion");
            if (!e || !rv || strcmp(entry_rv(e), rv) != 0)
                put(inf, key, obj); /* a new entry, of this list's generation */
            else
                entry_set_gen(e, inf->list_gen); /* seen: not gone */
        }
        vc__free(key);
        json_decref(obj);
    }
    if (r == 1)
        return handled; /* the budget is spent: more at the next step */
    if (r < 0 || !inf->page_has_items) {
        page_drop(inf);
        backoff(inf, vc__error(VC_EAPI, VC_ERRCLASS_SYNC, "list %s: the server answered no item list", inf->what), now);
        return handled;
    }
    vc__free(inf->cont);
    inf->cont = inf->page_cont;
    inf->page_cont = NULL;
    if (!inf->cont) {
        vc__free(inf->rv);
        inf->rv = inf->page_rv;
        inf->page_rv = NULL;
    }
    page_drop(inf);
    if (inf->cont) {
        int rc = start_list_page(inf);
        if (rc < 0)
            backoff(inf, rc, now);
        return handled;
    }
    finish_list(inf);
    inf->state = VC__INF_IDLE; /* tick starts the watch */
    return handled;
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
        return 0;
    case VC__INF_LISTING:
        if (!inf->page_pending)
            return 0;
        handled = apply_page(inf, now);
        if (inf->state != VC__INF_IDLE || vc__step_over(inf->s))
            return handled;
        break; /* the list ended: the watch starts now */
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
        /* a new transfer costs curl work in this step or the next (and
         * maybe a connection): wait for a step with budget left */
        if (handled > 0 || vc__step_over(inf->s))
            return handled;
        if (!inf->rv) {
            inf->list_gen++;
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
    while ((handled == 0 || !vc__step_over(inf->s)) && vc__watch_next(inf->w, &type, &obj) == VC_OK) {
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
    if (inf->state == VC__INF_LISTING && inf->page_pending)
        return 0;
    if (inf->state == VC__INF_WATCHING && inf->w && (vc__watch_queued(inf->w) || vc__watch_ended(inf->w, NULL)))
        return 0;
    return -1;
}
