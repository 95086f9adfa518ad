/*
 * vcluster.yaml: loading layers, checking every key against the schema,
 * merging like helm, the typed view, cross-key validation and rendering.
 *
 * A load goes: parse (vc__yaml_parse_keys: values, and where each value and
 * each mapping key starts, in one walk) -> walk the document against schema.c, rewriting
 * legacy keys through legacy.c -> combine the explicit, legacy and implied
 * values of that file -> merge over the user's earlier layers -> build the
 * effective tree (defaults + user) -> fill the typed view -> check rules
 * that span keys. Only when all of that succeeds does the vc_config change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "config/config.h"
#include "util/yaml.h"

#define ptr_append vc__cfg_ptr_append
#define GOT(v) (vc__cfg_describe((v), got, sizeof got), got)

int vc__cfg_ptr_append(vc_buf *b, const char *seg, size_t n)
{
    if (vc__buf_put(b, "/", 1) < 0)
        return VC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int r;
        if (seg[i] == '~')
            r = vc__buf_put(b, "~0", 2);
        else if (seg[i] == '/')
            r = vc__buf_put(b, "~1", 2);
        else
            r = vc__buf_put(b, seg + i, 1);
        if (r < 0)
            return VC_ENOMEM;
    }
    return VC_OK;
}

static void ptr_cut(vc_buf *b, size_t n)
{
    b->size = n;
    if (b->ptr)
        b->ptr[n] = '\0';
}

/* ------------------------------------------------------------------ */
/* messages                                                            */

char *vc__cfg_where(const vc__cfg_layer *L, const char *ptr)
{
    const char *fn = L->name ? L->name : "<string>";
    if (L->key_marks && ptr) {
        json_t *m = json_object_get(L->key_marks, ptr);
        if (json_array_size(m) == 2)
            return vc__sprintf("%s:%lld:%lld", fn, (long long)json_integer_value(json_array_get(m, 0)),
                               (long long)json_integer_value(json_array_get(m, 1)));
    }
    if (L->marks)
        return vc__yaml_where(L->marks, fn, ptr ? ptr : "");
    return vc__strdup(fn);
}

int vc__cfg_errorf(const vc__cfg_layer *L, const char *ptr, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = vc__vsprintf(fmt, ap);
    va_end(ap);
    char *where = vc__cfg_where(L, ptr);
    int r;
    if (!msg || !where)
        r = vc__error_oom();
    else if (path && *path)
        r = vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG, "%s: %s: %s", where, path, msg);
    else
        r = vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG, "%s: %s", where, msg);
    vc__free(msg);
    vc__free(where);
    return r;
}

void vc__cfg_describe(const json_t *v, char *buf, size_t n)
{
    if (!v) {
        snprintf(buf, n, "nothing");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        /* keep messages one line and short; show control bytes as '?' */
        char tmp[64];
        size_t j = 0;
        for (size_t i = 0; i < len && j < sizeof(tmp) - 4; i++)
            tmp[j++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
        if (j < len)
            memcpy(tmp + j, "...", 3), j += 3;
        tmp[j] = '\0';
        snprintf(buf, n, "\"%s\"", tmp);
        break;
    }
    case JSON_INTEGER: snprintf(buf, n, "%lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: snprintf(buf, n, "%g", json_real_value(v)); break;
    case JSON_TRUE: snprintf(buf, n, "true"); break;
    case JSON_FALSE: snprintf(buf, n, "false"); break;
    case JSON_NULL: snprintf(buf, n, "null"); break;
    case JSON_OBJECT: snprintf(buf, n, "a mapping"); break;
    case JSON_ARRAY: snprintf(buf, n, "a list"); break;
    default: snprintf(buf, n, "a value"); break;
    }
}

/* ------------------------------------------------------------------ */
/* trees addressed by dotted paths                                     */

int vc__cfg_tree_set(json_t *tree, const char *path, json_t *v)
{
    json_t *cur = tree;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        if (!dot)
            break;
        char *seg = vc__strndup(p, (size_t)(dot - p));
        if (!seg) {
            json_decref(v);
            return vc__error_oom();
        }
        json_t *next = json_object_get(cur, seg);
        if (!json_is_object(next)) {
            next = json_object();
            if (!next || json_object_set_new(cur, seg, next) < 0) {
                vc__free(seg);
                json_decref(v);
                return vc__error_oom();
            }
        }
        vc__free(seg);
        cur = next;
        p = dot + 1;
    }
    if (json_object_set_new(cur, p, v) < 0)
        return vc__error_oom();
    return VC_OK;
}

json_t *vc__cfg_tree_get(const json_t *tree, const char *path)
{
    const json_t *cur = tree;
    const char *p = path;
    char seg[128];
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof seg || !json_is_object(cur))
            return NULL;
        memcpy(seg, p, n);
        seg[n] = '\0';
        cur = json_object_get(cur, seg);
        if (!cur || !dot)
            return (json_t *)cur;
        p = dot + 1;
    }
}

/* Call fn for every leaf of a layer tree: a schema key, or a non-mapping. */
typedef int (*leaf_fn)(const char *path, json_t *v, void *ud);

static int for_leaves(json_t *tree, vc_buf *path, leaf_fn fn, void *ud)
{
    const char *k;
    json_t *v;
    size_t base = path->size;
    json_object_foreach(tree, k, v) {
        ptr_cut(path, base);
        if ((base && vc__buf_put(path, ".", 1) < 0) || vc__buf_puts(path, k) < 0)
            return VC_ENOMEM;
        int r;
        if (json_is_object(v) && !vc__cfg_schema_find(path->ptr))
            r = for_leaves(v, path, fn, ud);
        else
            r = fn(path->ptr, v, ud);
        if (r < 0)
            return r;
    }
    ptr_cut(path, base);
    return VC_OK;
}

/* helm-style merge of `src` into `dst`: mappings merge, the rest replaces;
 * nulls are kept as "reset" markers. */
static int merge_user(json_t *dst, json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v) {
        json_t *d = json_object_get(dst, k);
        if (json_is_object(v) && json_is_object(d)) {
            if (merge_user(d, v) < 0)
                return VC_ENOMEM;
        } else if (json_object_set_new(dst, k, json_deep_copy(v)) < 0) {
            return vc__error_oom();
        }
    }
    return VC_OK;
}

/* Apply the user tree over a copy of the defaults. A null on a schema key
 * or section puts its default back in place (so key order, and with it the
 * rendering, stays that of the schema); a null inside a map-valued key
 * deletes that entry. */
static int merge_effective(json_t *dst, json_t *src, const json_t *def, vc_buf *path)
{
    const char *k;
    json_t *v;
    size_t base = path->size;
    json_object_foreach(src, k, v) {
        ptr_cut(path, base);
        if ((base && vc__buf_put(path, ".", 1) < 0) || vc__buf_puts(path, k) < 0)
            return VC_ENOMEM;
        json_t *d = json_object_get(dst, k);
        const json_t *dd = json_object_get(def, k);
        bool schema = vc__cfg_schema_find(path->ptr) || vc__cfg_schema_is_section(path->ptr);
        if (json_is_null(v)) {
            if (schema && dd) {
                json_t *c = json_deep_copy(dd);
                if (!c || json_object_set_new(dst, k, c) < 0)
                    return vc__error_oom();
            } else {
                json_object_del(dst, k);
            }
        } else if (json_is_object(v) && json_is_object(d)) {
            if (merge_effective(d, v, dd, path) < 0)
                return VC_ENOMEM;
        } else {
            /* a fresh subtree: copy it without its reset markers */
            json_t *c = json_is_object(v) ? json_object() : json_deep_copy(v);
            if (!c || json_object_set_new(dst, k, c) < 0)
                return vc__error_oom();
            if (json_is_object(v) && merge_effective(c, v, NULL, path) < 0)
                return VC_ENOMEM;
        }
    }
    ptr_cut(path, base);
    return VC_OK;
}

/* ------------------------------------------------------------------ */
/* defaults and the typed view                                         */

static json_t *default_value(const vc__cfg_key *k)
{
    switch (k->type) {
    case VC__CT_BOOL: return json_boolean(k->def && !strcmp(k->def, "true"));
    case VC__CT_INT: return json_integer(k->def ? strtoll(k->def, NULL, 10) : 0);
    case VC__CT_STR:
    case VC__CT_ENUM: return json_string(k->def ? k->def : "");
    case VC__CT_STRBOOL:
        if (k->def && !strcmp(k->def, "auto"))
            return json_string("auto");
        return json_boolean(k->def && !strcmp(k->def, "true"));
    case VC__CT_IMAGE:
        if (!k->def)
            return json_pack("{s:s, s:s, s:s}", "registry", "", "repository", "", "tag", "");
        return json_loads(k->def, 0, NULL);
    case VC__CT_STRLIST:
    case VC__CT_SVCMAPS:
    case VC__CT_LIST: return k->def ? json_loads(k->def, 0, NULL) : json_array();
    default: return k->def ? json_loads(k->def, 0, NULL) : json_object();
    }
}

static json_t *build_defaults(void)
{
    json_t *d = json_object();
    if (!d)
        return NULL;
    for (size_t i = 0; i < vc__cfg_schema_len; i++) {
        json_t *v = default_value(&vc__cfg_schema[i]);
        if (!v || vc__cfg_tree_set(d, vc__cfg_schema[i].path, v) < 0) {
            json_decref(d);
            return NULL;
        }
    }
    return d;
}

/* After merging, put back any schema key a null removed. */
static int restore_defaults(json_t *eff, const json_t *defaults)
{
    for (size_t i = 0; i < vc__cfg_schema_len; i++) {
        const char *p = vc__cfg_schema[i].path;
        json_t *cur = vc__cfg_tree_get(eff, p);
        if (cur)
            continue;
        json_t *c = json_deep_copy(vc__cfg_tree_get(defaults, p));
        if (!c || vc__cfg_tree_set(eff, p, c) < 0)
            return vc__error_oom();
    }
    return VC_OK;
}

static void values_release(vc__cfg_values *v)
{
    for (size_t i = 0; i < vc__cfg_schema_len; i++) {
        const vc__cfg_key *k = &vc__cfg_schema[i];
        if (k->off == VC__CFG_NOFIELD)
            continue;
        char *at = (char *)v + k->off;
        if (k->type == VC__CT_STRLIST)
            vc__free(((vc__cfg_strv *)(void *)at)->v);
        else if (k->type == VC__CT_SVCMAPS)
            vc__free(((vc__cfg_svcmaps *)(void *)at)->v);
    }
    memset(v, 0, sizeof(*v));
}

static const char *str_or_empty(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "";
}

static int values_fill(vc__cfg_values *out, json_t *eff)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < vc__cfg_schema_len; i++) {
        const vc__cfg_key *k = &vc__cfg_schema[i];
        if (k->off == VC__CFG_NOFIELD)
            continue;
        json_t *v = vc__cfg_tree_get(eff, k->path);
        char *at = (char *)out + k->off;
        switch (k->type) {
        case VC__CT_BOOL: *(bool *)(void *)at = json_is_true(v); break;
        case VC__CT_INT: *(int32_t *)(void *)at = (int32_t)json_integer_value(v); break;
        case VC__CT_STR:
        case VC__CT_ENUM: *(const char **)(void *)at = str_or_empty(v); break;
        case VC__CT_STRBOOL:
            *(vc__strbool *)(void *)at = json_is_true(v) ? VC__TRUE : json_is_string(v) ? VC__AUTO : VC__FALSE;
            break;
        case VC__CT_IMAGE: {
            vc__cfg_image *img = (vc__cfg_image *)(void *)at;
            img->registry = str_or_empty(json_object_get(v, "registry"));
            img->repository = str_or_empty(json_object_get(v, "repository"));
            img->tag = str_or_empty(json_object_get(v, "tag"));
            break;
        }
        case VC__CT_STRLIST: {
            vc__cfg_strv *sv = (vc__cfg_strv *)(void *)at;
            size_t n = json_array_size(v);
            sv->n = n;
            if (n) {
                sv->v = vc__calloc(n, sizeof(char *));
                if (!sv->v) {
                    sv->n = 0;
                    values_release(out);
                    return vc__error_oom();
                }
                for (size_t j = 0; j < n; j++)
                    sv->v[j] = str_or_empty(json_array_get(v, j));
            }
            break;
        }
        case VC__CT_SVCMAPS: {
            vc__cfg_svcmaps *sm = (vc__cfg_svcmaps *)(void *)at;
            size_t n = json_array_size(v);
            sm->n = n;
            if (n) {
                sm->v = vc__calloc(n, sizeof(vc__cfg_svcmap));
                if (!sm->v) {
                    sm->n = 0;
                    values_release(out);
                    return vc__error_oom();
                }
                for (size_t j = 0; j < n; j++) {
                    json_t *e = json_array_get(v, j);
                    sm->v[j].from = str_or_empty(json_object_get(e, "from"));
                    sm->v[j].to = str_or_empty(json_object_get(e, "to"));
                }
            }
            break;
        }
        default: *(json_t **)(void *)at = v; break;
        }
    }
    return VC_OK;
}

/* ------------------------------------------------------------------ */
/* rules that span keys                                                */

typedef struct xctx {
    const json_t *origins;
    const char *name;
    const json_t *effective;
} xctx;

static int xerr(const xctx *x, const char *path, const char *fmt, ...) VC__PRINTF(3, 4);
static int xerr(const xctx *x, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = vc__vsprintf(fmt, ap);
    va_end(ap);
    const char *where = json_string_value(json_object_get(x->origins, path));
    /* a key that is missing (a required value): point at the section that
     * asked for it, its `enabled` or the nearest key set above it */
    char up[256];
    snprintf(up, sizeof up, "%s", path);
    char *dot;
    while (!where && (dot = strrchr(up, '.')) != NULL) {
        *dot = '\0';
        char en[300];
        snprintf(en, sizeof en, "%s.enabled", up);
        where = json_string_value(json_object_get(x->origins, en));
        if (!where)
            where = json_string_value(json_object_get(x->origins, up));
    }
    int r = msg ? vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG, "%s: %s: %s", where ? where : x->name, path, msg)
                : vc__error_oom();
    vc__free(msg);
    return r;
}

static bool sched_in_virtual(const vc__cfg_values *v)
{
    return v->control_plane.advanced.virtual_scheduler || v->control_plane.distro.k8s.scheduler.enabled;
}

static int store_of(const vc__cfg_values *v)
{
    if (v->control_plane.backing_store.etcd.embedded.enabled)
        return VC_STORE_EMBEDDED_ETCD;
    if (v->control_plane.backing_store.etcd.deploy.enabled)
        return VC_STORE_DEPLOYED_ETCD;
    if (v->control_plane.backing_store.etcd.external.enabled)
        return VC_STORE_EXTERNAL_ETCD;
    if (v->control_plane.backing_store.database.external.enabled)
        return VC_STORE_EXTERNAL_DATABASE;
    return VC_STORE_EMBEDDED_DATABASE;
}

/* upstream adjusts a few values before validating; do the same so the
 * rendered config shows what is used */
static int normalise(json_t *eff)
{
    vc__cfg_values tmp;
    if (values_fill(&tmp, eff) < 0)
        return VC_ENOMEM;
    int r = VC_OK;
    if (sched_in_virtual(&tmp) && !tmp.sync.from_host.nodes.selector_all &&
        json_object_size(tmp.sync.from_host.nodes.selector_labels) == 0)
        r = vc__cfg_tree_set(eff, "sync.fromHost.nodes.selector.all", json_true());
    values_release(&tmp);
    return r;
}

/* experimental.deploy: manifests parse, templates render (with the
 * release's name and namespace still unknown: placeholders). */
static int check_deploy(const vc__cfg_values *v, const xctx *x)
{
    static const char *const keys[4] = { "experimental.deploy.vcluster.manifests",
                                         "experimental.deploy.vcluster.manifestsTemplate",
                                         "experimental.deploy.host.manifests",
                                         "experimental.deploy.host.manifestsTemplate" };
    const char *texts[4] = { v->experimental.deploy.manifests, v->experimental.deploy.manifests_template,
                             v->experimental.deploy.host_manifests, v->experimental.deploy.host_manifests_template };
    for (int i = 0; i < 4; i++) {
        if (vc__str_empty(texts[i]))
            continue;
        char err[512] = "";
        vc_buf b = VC_BUF_INIT;
        int r = VC_OK;
        const char *text = texts[i];
        if (i % 2) {
            r = vc__deploy_render(&b, texts[i], "vcluster", "vcluster-namespace", x->effective, err, sizeof err);
            text = b.ptr ? b.ptr : "";
        }
        json_t *objs = NULL;
        if (r == VC_OK)
            r = vc__deploy_parse(&objs, text, err, sizeof err);
        json_decref(objs);
        vc_buf_dispose(&b);
        if (r == VC_ENOMEM)
            return vc__error_oom();
        if (r < 0)
            return xerr(x, keys[i], "%s", err);
    }
    return VC_OK; /* helm: refused (refused.c) */
}

static int cross_validate(const vc__cfg_values *v, const xctx *x)
{
    int dr = check_deploy(v, x);
    if (dr < 0)
        return dr;
    const char *distros[3] = { 0 };
    int nd = 0;
    if (v->control_plane.distro.k8s.enabled)
        distros[nd++] = "k8s";
    if (v->control_plane.distro.k3s.enabled)
        distros[nd++] = "k3s";
    if (v->control_plane.distro.k0s.enabled)
        distros[nd++] = "k0s";
    if (nd > 1) {
        char path[64];
        snprintf(path, sizeof path, "controlPlane.distro.%s.enabled", distros[1]);
        return xerr(x, path, "only one distro can be enabled, but %s and %s are both enabled", distros[0],
                    distros[1]);
    }

#define b (&v->control_plane.backing_store)
    static const char *const store_keys[] = {
        "controlPlane.backingStore.database.embedded.enabled", "controlPlane.backingStore.database.external.enabled",
        "controlPlane.backingStore.etcd.embedded.enabled", "controlPlane.backingStore.etcd.deploy.enabled",
        "controlPlane.backingStore.etcd.external.enabled"
    };
    bool on[5] = { b->database.embedded.enabled, b->database.external.enabled, b->etcd.embedded.enabled,
                   b->etcd.deploy.enabled, b->etcd.external.enabled };
    int first = -1;
    for (int i = 0; i < 5; i++) {
        if (!on[i])
            continue;
        if (first >= 0)
            return xerr(x, store_keys[i], "only one backing store can be enabled, but %s is enabled too",
                        store_keys[first] + strlen("controlPlane.backingStore."));
        first = i;
    }
#define DSS "controlPlane.backingStore.database.external.dataSourceSecret"
    bool secret = *b->database.external.data_source_secret_name || *b->database.external.data_source_secret_key;
    if (secret && *b->database.external.data_source)
        return xerr(x, DSS ".name",
                    "cannot be used together with database.external.dataSource: the dataSource comes from one of them");
    if (secret && !*b->database.external.data_source_secret_name)
        return xerr(x, DSS ".name", "required with dataSourceSecret.key: the host Secret that holds the dataSource");
    if (secret && !*b->database.external.data_source_secret_key)
        return xerr(x, DSS ".key", "required with dataSourceSecret.name: the key of that Secret that holds the dataSource");
    if (secret && !b->database.external.enabled)
        return xerr(x, DSS ".name", "needs database.external.enabled: true");
    if (b->database.external.enabled && !*b->database.external.data_source && !*b->database.external.connector &&
        !secret)
        return xerr(x, "controlPlane.backingStore.database.external.dataSource",
                    "required when database.external.enabled is true (mysql://... or postgres://...), or "
                    "dataSourceSecret.name and .key");
    if (secret && v->control_plane.distro.k0s.enabled)
        return xerr(x, DSS ".name",
                    "not supported with controlPlane.distro.k0s (k0s reads its dataSource from its config file, not "
                    "from the environment); use database.external.dataSource or the k8s or k3s distro");
#undef DSS
    if (b->etcd.external.enabled && !*b->etcd.external.endpoint)
        return xerr(x, "controlPlane.backingStore.etcd.external.endpoint",
                    "required when etcd.external.enabled is true");

    int32_t replicas = v->control_plane.stateful_set.high_availability.replicas;
    if (replicas > 1 && store_of(v) == VC_STORE_EMBEDDED_DATABASE)
        return xerr(x, "controlPlane.statefulSet.highAvailability.replicas",
                    "%d replicas need a backing store that supports high availability (etcd or an external "
                    "database); the embedded SQLite database supports 1 replica",
                    (int)replicas);
#undef b
#define ha (&v->control_plane.stateful_set.high_availability)
    if (ha->lease_duration <= ha->renew_deadline)
        return xerr(x, "controlPlane.statefulSet.highAvailability.renewDeadline",
                    "must be less than leaseDuration (%d), got %d", (int)ha->lease_duration, (int)ha->renew_deadline);
    if ((int64_t)ha->retry_period * 12 >= (int64_t)ha->renew_deadline * 10)
        return xerr(x, "controlPlane.statefulSet.highAvailability.retryPeriod",
                    "must be less than renewDeadline / 1.2 (%d), got %d", (int)ha->renew_deadline,
                    (int)ha->retry_period);
#undef ha

    if (store_of(v) == VC_STORE_DEPLOYED_ETCD && v->control_plane.backing_store.etcd.deploy.replicas != replicas)
        return xerr(x, "controlPlane.backingStore.etcd.deploy.statefulSet.highAvailability.replicas",
                    "etcd runs inside the control-plane pods in libvcluster, so it needs as many replicas as "
                    "controlPlane.statefulSet.highAvailability.replicas (%d), got %d",
                    (int)replicas, (int)v->control_plane.backing_store.etcd.deploy.replicas);
    if (sched_in_virtual(v) && !v->sync.from_host.nodes.enabled)
        return xerr(x,
                    v->control_plane.advanced.virtual_scheduler ? "controlPlane.advanced.virtualScheduler.enabled"
                                                                : "controlPlane.distro.k8s.scheduler.enabled",
                    "a scheduler inside the virtual cluster needs real nodes: set sync.fromHost.nodes.enabled "
                    "to true");
    if (v->sync.from_host.storage_classes == VC__TRUE && v->sync.to_host.storage_classes)
        return xerr(x, "sync.fromHost.storageClasses.enabled",
                    "cannot be true together with sync.toHost.storageClasses.enabled: choose one direction");
    if (v->sync.from_host.priority_classes && v->sync.to_host.priority_classes)
        return xerr(x, "sync.fromHost.priorityClasses.enabled",
                    "cannot be true together with sync.toHost.priorityClasses.enabled: choose one direction");
    char crmsg[512];
    bool cr_from = false;
    if (vc__cfg_custom_resources_check(v->sync.to_host.custom_resources, v->sync.from_host.custom_resources, &cr_from,
                                       crmsg, sizeof crmsg) < 0)
        return xerr(x, cr_from ? "sync.fromHost.customResources" : "sync.toHost.customResources", "%s", crmsg);
    if (v->sync.to_host.namespaces.mappings_only && !v->sync.to_host.namespaces.enabled)
        return xerr(x, "sync.toHost.namespaces.mappingsOnly", "needs sync.toHost.namespaces.enabled: true");
    char *sel = NULL;
    if (vc__config_label_selector(v->sync.from_host.storage_classes_selector, NULL, &sel) < 0)
        return xerr(x, "sync.fromHost.storageClasses.selector", "%s", vc_error_last()->message);
    vc__free(sel);
    return VC_OK;
}

/* ------------------------------------------------------------------ */
/* walking a document                                                  */

static int walk(vc__cfg_layer *L, json_t *obj, vc_buf *ptr, vc_buf *path);

static int handle_key(vc__cfg_layer *L, const char *key, json_t *v, vc_buf *ptr, vc_buf *path)
{
    size_t pbase = ptr->size, dbase = path->size;
    int r = VC_OK;
    char *parent = vc__strndup(path->ptr ? path->ptr : "", dbase);
    if (!parent || ptr_append(ptr, key, strlen(key)) < 0 || (dbase && vc__buf_put(path, ".", 1) < 0) ||
        vc__buf_puts(path, key) < 0) {
        vc__free(parent);
        return vc__error_oom();
    }
    const vc__cfg_key *sk = strchr(key, '.') || !*key ? NULL : vc__cfg_schema_find(path->ptr);
    const vc__cfg_legacy *lk = NULL;
    if (sk) {
        json_t *nv = vc__cfg_check(L, sk->type, sk->extra, v, path->ptr, ptr->ptr);
        if (!nv) {
            r = vc_error_last()->code == VC_ENOMEM ? VC_ENOMEM : VC_ECONFIG; /* the check set the error */
        } else {
            char *where = vc__cfg_where(L, ptr->ptr);
            if (!where)
                json_decref(nv); /* vc__cfg_tree_set takes it, on failure too */
            if (!where || vc__cfg_tree_set(L->tree, path->ptr, nv) < 0 ||
                json_object_set_new(L->origins, path->ptr, json_string(where)) < 0)
                r = vc__error_oom();
            vc__free(where);
        }
    } else if (!strchr(key, '.') && *key && vc__cfg_schema_is_section(path->ptr)) {
        char got[96];
        if (json_is_null(v)) {
            char *where = vc__cfg_where(L, ptr->ptr);
            if (!where || vc__cfg_tree_set(L->tree, path->ptr, json_null()) < 0 ||
                json_object_set_new(L->origins, path->ptr, json_string(where)) < 0)
                r = vc__error_oom();
            vc__free(where);
        } else if (!json_is_object(v)) {
            r = vc__cfg_errorf(L, ptr->ptr, path->ptr, "expected a mapping, got %s", GOT(v));
        } else {
            r = walk(L, v, ptr, path);
        }
    } else if (!strchr(key, '.') && *key && (lk = vc__cfg_legacy_find(path->ptr)) != NULL) {
        r = vc__cfg_legacy_apply(L, lk, v, path->ptr, ptr->ptr);
    } else if (!strchr(key, '.') && *key && vc__cfg_legacy_is_section(path->ptr)) {
        char got[96];
        if (json_is_object(v))
            r = walk(L, v, ptr, path);
        else if (!json_is_null(v))
            r = vc__cfg_errorf(L, ptr->ptr, path->ptr, "expected a mapping, got %s", GOT(v));
    } else {
        size_t sl = 0;
        const char *sugg = vc__cfg_schema_suggest(parent, key, &sl);
        if (sugg)
            r = vc__cfg_errorf(L, ptr->ptr, path->ptr, "unknown key (did you mean %s%s%.*s?)", parent,
                               *parent ? "." : "", (int)sl, sugg);
        else
            r = vc__cfg_errorf(L, ptr->ptr, path->ptr, "unknown key");
    }
    vc__free(parent);
    ptr_cut(ptr, pbase);
    ptr_cut(path, dbase);
    return r;
}

static int walk(vc__cfg_layer *L, json_t *obj, vc_buf *ptr, vc_buf *path)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        int r = handle_key(L, k, v, ptr, path);
        if (r < 0)
            return r;
    }
    return VC_OK;
}

/* legacy values into the explicit tree; a clash within one file is an error */
typedef struct combine_ctx {
    vc__cfg_layer *L;
    bool weak;
} combine_ctx;

static int combine_leaf(const char *path, json_t *v, void *ud)
{
    combine_ctx *c = ud;
    vc__cfg_layer *L = c->L;
    json_t *have = vc__cfg_tree_get(L->tree, path);
    if (have && c->weak)
        return VC_OK;
    if (have) {
        json_t *from = json_object_get(L->legacy_from, path);
        const char *lkey = json_string_value(json_object_get(from, "key"));
        const char *lwhere = json_string_value(json_object_get(from, "where"));
        const char *nwhere = json_string_value(json_object_get(L->origins, path));
        return vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG,
                         "%s: %s: sets %s, which %s also sets: keep only %s", lwhere ? lwhere : L->name,
                         lkey ? lkey : path, path, nwhere ? nwhere : "this file", path);
    }
    json_t *c2 = json_deep_copy(v);
    if (!c2 || vc__cfg_tree_set(L->tree, path, c2) < 0)
        return vc__error_oom();
    json_t *from = json_object_get(L->legacy_from, path);
    json_t *where = json_object_get(from, "where");
    if (where && json_object_set(L->origins, path, where) < 0)
        return vc__error_oom();
    return VC_OK;
}

/* ------------------------------------------------------------------ */
/* loading                                                             */

static void layer_dispose(vc__cfg_layer *L)
{
    json_decref(L->marks);
    json_decref(L->key_marks);
    json_decref(L->tree);
    json_decref(L->legacy);
    json_decref(L->weak);
    json_decref(L->origins);
    json_decref(L->legacy_from);
    memset(L, 0, sizeof(*L));
}

/* Everything after the per-file walk: merge, rebuild, validate, commit. */
static int apply_layer(vc_config *cfg, vc__cfg_layer *L)
{
    json_t *user = json_deep_copy(cfg->user);
    json_t *origins = json_deep_copy(cfg->origins);
    json_t *eff = json_deep_copy(cfg->defaults);
    vc__cfg_values vals;
    memset(&vals, 0, sizeof vals);
    int r = (user && origins && eff) ? VC_OK : vc__error_oom();
    if (r == VC_OK)
        r = merge_user(user, L->tree);
    if (r == VC_OK && json_object_update(origins, L->origins) < 0)
        r = vc__error_oom();
    if (r == VC_OK) {
        vc_buf path = VC_BUF_INIT;
        r = vc__buf_grow(&path, 64) < 0 ? VC_ENOMEM : VC_OK;
        if (r == VC_OK) {
            ptr_cut(&path, 0);
            r = merge_effective(eff, user, cfg->defaults, &path);
        }
        vc_buf_dispose(&path);
    }
    if (r == VC_OK)
        r = restore_defaults(eff, cfg->defaults);
    if (r == VC_OK)
        r = normalise(eff);
    if (r == VC_OK)
        r = values_fill(&vals, eff);
    if (r == VC_OK) {
        xctx x = { origins, L->name, eff };
        r = cross_validate(&vals, &x);
        if (r < 0)
            values_release(&vals);
    }
    if (r < 0) {
        json_decref(user);
        json_decref(origins);
        json_decref(eff);
        return r;
    }
    json_decref(cfg->user);
    json_decref(cfg->origins);
    json_decref(cfg->effective);
    values_release(&cfg->values);
    cfg->user = user;
    cfg->origins = origins;
    cfg->effective = eff;
    cfg->values = vals;
    cfg->values_ready = true;
    return VC_OK;
}

static int layer_init(vc__cfg_layer *L, const char *name)
{
    memset(L, 0, sizeof(*L));
    L->name = name;
    L->tree = json_object();
    L->legacy = json_object();
    L->weak = json_object();
    L->origins = json_object();
    L->legacy_from = json_object();
    if (!L->tree || !L->legacy || !L->weak || !L->origins || !L->legacy_from) {
        layer_dispose(L);
        return vc__error_oom();
    }
    return VC_OK;
}

/* A refused key (refused.c) loads only with its default: anything else is
 * an error at the place that set it, naming the legacy key when one did. */
static int check_refused(const vc_config *cfg, const vc__cfg_layer *L)
{
    for (size_t i = 0; i < vc__cfg_refused_len; i++) {
        const vc__cfg_refusal *rf = &vc__cfg_refused[i];
        json_t *v = vc__cfg_tree_get(L->tree, rf->path);
        if (!v || json_is_null(v) || json_equal(v, vc__cfg_tree_get(cfg->defaults, rf->path)))
            continue;
        if (rf->also_ok) {
            json_t *ok = json_loads(rf->also_ok, JSON_DECODE_ANY, NULL);
            bool same = ok && json_equal(v, ok);
            json_decref(ok);
            if (same)
                continue;
        }
        char shown[96];
        vc__cfg_describe(v, shown, sizeof shown);
        const char *where = json_string_value(json_object_get(L->origins, rf->path));
        json_t *from = json_object_get(L->legacy_from, rf->path);
        const char *lkey = json_string_value(json_object_get(from, "key"));
        const char *lwhere = json_string_value(json_object_get(from, "where"));
        if (lkey)
            return vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG,
                             "%s: %s: sets %s to %s, which libvcluster does not support: %s (only the default "
                             "is accepted)",
                             lwhere ? lwhere : L->name, lkey, rf->path, shown, rf->reason);
        return vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG,
                         "%s: %s: %s is not supported: %s (only the default is accepted)", where ? where : L->name,
                         rf->path, shown, rf->reason);
    }
    return VC_OK;
}

/* Walk `doc` (a mapping) into L and apply it. */
static int load_doc(vc_config *cfg, vc__cfg_layer *L, json_t *doc)
{
    vc_buf ptr = VC_BUF_INIT, path = VC_BUF_INIT;
    int r = vc__buf_grow(&ptr, 64) < 0 || vc__buf_grow(&path, 64) < 0 ? VC_ENOMEM : VC_OK;
    if (r == VC_OK) {
        ptr_cut(&ptr, 0);
        ptr_cut(&path, 0);
        r = walk(L, doc, &ptr, &path);
    }
    if (r == VC_OK)
        r = vc__cfg_legacy_finish(L, doc);
    if (r == VC_OK) {
        combine_ctx c = { L, false };
        vc__buf_clear(&path);
        r = for_leaves(L->legacy, &path, combine_leaf, &c);
        if (r == VC_OK) {
            c.weak = true;
            vc__buf_clear(&path);
            r = for_leaves(L->weak, &path, combine_leaf, &c);
        }
    }
    vc_buf_dispose(&ptr);
    vc_buf_dispose(&path);
    if (r == VC_OK)
        r = check_refused(cfg, L);
    if (r == VC_OK)
        r = apply_layer(cfg, L);
    return r;
}

static int load_text(vc_config *cfg, const char *data, size_t len, const char *name)
{
    json_t *docs = NULL, *marks = NULL, *keys = NULL;
    if (len > VC__FILE_MAX)
        return vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG, "%.200s: larger than %d MiB, the limit for a vcluster.yaml",
                         name, VC__FILE_MAX >> 20);
    /* one walk gives the values, where each value starts and where each key
     * starts (unknown-key messages point at the key) */
    int r = vc__yaml_parse_keys(data, len, name, &docs, &marks, &keys);
    if (r < 0) {
        if (r != VC_ENOMEM)
            return vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG, "%s", vc_error_last()->message);
        return r;
    }
    vc__cfg_layer L;
    if ((r = layer_init(&L, name)) < 0) {
        json_decref(docs);
        json_decref(marks);
        json_decref(keys);
        return r;
    }
    L.marks = json_incref(json_array_get(marks, 0));
    size_t ndocs = json_array_size(docs);
    json_t *doc = json_array_get(docs, 0);
    char got[96];
    if (ndocs > 1) {
        char *where = vc__yaml_where(json_array_get(marks, 1), name, "");
        r = where ? vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG,
                              "%s: expected one YAML document, found %zu (values files hold one mapping)", where,
                              ndocs)
                  : vc__error_oom();
        vc__free(where);
    } else if (ndocs == 1 && !json_is_object(doc)) {
        r = vc__cfg_errorf(&L, "", NULL, "expected a mapping of keys at the top level, got %s", GOT(doc));
    } else {
        L.key_marks = json_incref(json_array_get(keys, 0));
        json_t *empty = ndocs ? NULL : json_object();
        r = load_doc(cfg, &L, ndocs ? doc : empty);
        json_decref(empty);
    }
    layer_dispose(&L);
    json_decref(docs);
    json_decref(marks);
    json_decref(keys);
    return r;
}

/* ------------------------------------------------------------------ */
/* public API                                                          */

int vc_config_new(vc_config **out)
{
    if (!out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_config_new: out is NULL");
    *out = NULL;
    vc_config *cfg = vc__calloc(1, sizeof(*cfg));
    if (!cfg)
        return vc__error_oom();
    cfg->defaults = build_defaults();
    cfg->user = json_object();
    cfg->origins = json_object();
    cfg->effective = cfg->defaults ? json_deep_copy(cfg->defaults) : NULL;
    if (!cfg->defaults || !cfg->user || !cfg->origins || !cfg->effective ||
        values_fill(&cfg->values, cfg->effective) < 0) {
        vc_config_free(cfg);
        return vc__error_oom();
    }
    cfg->values_ready = true;
    *out = cfg;
    return VC_OK;
}

void vc_config_free(vc_config *cfg)
{
    if (!cfg)
        return;
    values_release(&cfg->values);
    json_decref(cfg->defaults);
    json_decref(cfg->user);
    json_decref(cfg->origins);
    json_decref(cfg->effective);
    vc__free(cfg);
}

int vc_config_load_string(vc_config *cfg, const char *text, const char *name)
{
    if (!cfg || !text)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_config_load_string: %s is NULL", cfg ? "text" : "cfg");
    return load_text(cfg, text, strlen(text), name ? name : "<string>");
}

int vc_config_load_file(vc_config *cfg, const char *path)
{
    if (!cfg || !path)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_config_load_file: %s is NULL", cfg ? "path" : "cfg");
    char *data = NULL;
    size_t len = 0;
    int r = vc__file_read(path, &data, &len);
    if (r < 0)
        return r;
    r = load_text(cfg, data, len, path);
    vc__free(data);
    return r;
}

/* Split "a.b\.c" into segments; returns a JSON array of strings. */
/* Split a dotted key; NULL with *oom false: an empty segment; NULL with
 * *oom true: out of memory (the error is set). */
static json_t *split_key(const char *key, bool *oom)
{
    *oom = false;
    json_t *segs = json_array();
    vc_buf seg = VC_BUF_INIT;
    if (!segs || vc__buf_grow(&seg, 16) < 0)
        goto oom;
    ptr_cut(&seg, 0);
    for (const char *p = key;; p++) {
        if (*p == '\\' && p[1] == '.') {
            if (vc__buf_put(&seg, ".", 1) < 0)
                goto oom;
            p++;
        } else if (*p == '.' || !*p) {
            if (seg.size == 0) {
                vc_buf_dispose(&seg);
                json_decref(segs);
                return NULL; /* empty segment */
            }
            if (json_array_append_new(segs, json_string(seg.ptr)) < 0)
                goto oom;
            ptr_cut(&seg, 0);
            if (!*p)
                break;
        } else if (vc__buf_put(&seg, p, 1) < 0) {
            goto oom;
        }
    }
    vc_buf_dispose(&seg);
    return segs;
oom:
    vc_buf_dispose(&seg);
    json_decref(segs);
    *oom = true;
    vc__error_oom();
    return NULL;
}

int vc_config_set(vc_config *cfg, const char *key, const char *value)
{
    if (!cfg || !key || !value)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_config_set: %s is NULL",
                         !cfg ? "cfg" : !key ? "key" : "value");
    char *name = strlen(value) <= 80 ? vc__sprintf("--set %s=%s", key, value) : vc__sprintf("--set %s", key);
    bool oom = false;
    json_t *segs = split_key(key, &oom);
    json_t *docs = NULL;
    int r = VC_OK;
    if (!name || oom) {
        r = vc__error_oom();
    } else if (!segs || json_array_size(segs) == 0) {
        r = vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG, "%s: invalid key \"%s\"", name, key);
    } else if ((r = vc__yaml_parse(value, strlen(value), name, &docs, NULL)) < 0) {
        if (r != VC_ENOMEM)
            r = vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG, "%s", vc_error_last()->message);
    } else if (json_array_size(docs) > 1) {
        r = vc__error(VC_ECONFIG, VC_ERRCLASS_CONFIG, "%s: the value holds several YAML documents", name);
    }
    if (r == VC_OK) {
        /* vc__yaml_parse drops a document that is only null: "null", "~" */
        json_t *v = json_array_size(docs) ? json_incref(json_array_get(docs, 0))
                                          : (*value ? json_null() : json_string(""));
        for (size_t i = json_array_size(segs); v && i-- > 0;) {
            json_t *o = json_object();
            if (!o)
                json_decref(v); /* json_object_set_new takes v, on failure too */
            if (!o || json_object_set_new(o, json_string_value(json_array_get(segs, i)), v) < 0) {
                json_decref(o);
                v = NULL;
                break;
            }
            v = o;
        }
        vc__cfg_layer L;
        if (!v)
            r = vc__error_oom();
        else if ((r = layer_init(&L, name)) == VC_OK) {
            r = load_doc(cfg, &L, v);
            layer_dispose(&L);
        }
        json_decref(v);
    }
    json_decref(docs);
    json_decref(segs);
    vc__free(name);
    return r;
}

int vc_config_get(vc_config *cfg, const char *key, vc_buf *out)
{
    if (!cfg || !key || !out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_config_get: %s is NULL",
                         !cfg ? "cfg" : !key ? "key" : "out");
    bool oom = false;
    json_t *segs = split_key(key, &oom);
    if (!segs)
        return oom ? VC_ENOMEM : vc__error(VC_ENOTFOUND, VC_ERRCLASS_CONFIG, "%s: no such key", key);
    json_t *cur = cfg->effective;
    size_t i;
    json_t *s;
    json_array_foreach(segs, i, s) {
        cur = json_is_object(cur) ? json_object_get(cur, json_string_value(s)) : NULL;
        if (!cur)
            break;
    }
    json_decref(segs);
    if (!cur)
        return vc__error(VC_ENOTFOUND, VC_ERRCLASS_CONFIG, "%s: no such key", key);
    vc__buf_clear(out);
    switch (json_typeof(cur)) {
    case JSON_STRING: return vc__buf_set(out, json_string_value(cur));
    case JSON_INTEGER: return vc__buf_set(out, "") < 0 ? VC_ENOMEM
                                                        : vc__buf_printf(out, "%lld", (long long)json_integer_value(cur));
    case JSON_REAL: return vc__buf_set(out, "") < 0 ? VC_ENOMEM : vc__buf_printf(out, "%.17g", json_real_value(cur));
    case JSON_TRUE: return vc__buf_set(out, "true");
    case JSON_FALSE: return vc__buf_set(out, "false");
    case JSON_NULL: return vc__buf_set(out, "null");
    default:
        if (vc__buf_set(out, "") < 0)
            return VC_ENOMEM;
        return vc__yaml_emit(out, cur);
    }
}

/* Entries of a default mapping that the user deleted (with null) come back
 * on every load, since mappings merge: render them as null so the output
 * loads back to the same configuration. */
static int mark_deleted(json_t *out, const json_t *defaults)
{
    const char *k;
    json_t *d;
    json_object_foreach((json_t *)defaults, k, d) {
        json_t *o = json_object_get(out, k);
        if (!o) {
            if (json_object_set_new(out, k, json_null()) < 0)
                return vc__error_oom();
        } else if (json_is_object(o) && json_is_object(d) && mark_deleted(o, d) < 0) {
            return VC_ENOMEM;
        }
    }
    return VC_OK;
}

int vc_config_to_yaml(vc_config *cfg, vc_buf *out)
{
    if (!cfg || !out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_config_to_yaml: %s is NULL", cfg ? "out" : "cfg");
    if (vc__buf_set(out, "") < 0)
        return VC_ENOMEM;
    json_t *copy = json_deep_copy(cfg->effective);
    if (!copy)
        return vc__error_oom();
    int r = mark_deleted(copy, cfg->defaults);
    if (r == VC_OK)
        r = vc__yaml_emit(out, copy);
    json_decref(copy);
    return r;
}

const char *vc_config_distro(vc_config *cfg)
{
    if (!cfg)
        return "k8s";
    if (cfg->values.control_plane.distro.k3s.enabled)
        return "k3s";
    if (cfg->values.control_plane.distro.k0s.enabled)
        return "k0s";
    return "k8s";
}

int vc_config_backing_store(int32_t *out, vc_config *cfg)
{
    if (!out)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "vc_config_backing_store: out is NULL");
    *out = cfg ? store_of(&cfg->values) : VC_STORE_EMBEDDED_DATABASE;
    return VC_OK;
}

int32_t vc_config_ha_replicas(vc_config *cfg)
{
    return cfg ? cfg->values.control_plane.stateful_set.high_availability.replicas : 1;
}

const char *vc_config_service_type(vc_config *cfg)
{
    return cfg ? cfg->values.control_plane.service.type : "ClusterIP";
}

/* ------------------------------------------------------------------ */
/* internal accessors                                                  */

const vc__cfg_values *vc__config_values(const vc_config *cfg)
{
    return &cfg->values;
}

const json_t *vc__config_effective(const vc_config *cfg)
{
    return cfg->effective;
}

const json_t *vc__config_user(const vc_config *cfg)
{
    return cfg->user;
}

const char *vc__config_origin(const vc_config *cfg, const char *path)
{
    return json_string_value(json_object_get(cfg->origins, path));
}

static bool strbool_pair(vc__strbool self, vc__strbool other)
{
    /* upstream chart: on when "true", or when "auto" and the partner is "true" */
    return self == VC__TRUE || (self == VC__AUTO && other == VC__TRUE);
}

bool vc__config_resource_quota_enabled(const vc_config *cfg)
{
    return strbool_pair(cfg->values.policies.resource_quota.enabled, cfg->values.policies.limit_range.enabled);
}

bool vc__config_limit_range_enabled(const vc_config *cfg)
{
    return strbool_pair(cfg->values.policies.limit_range.enabled, cfg->values.policies.resource_quota.enabled);
}

bool vc__config_virtual_scheduler(const vc_config *cfg)
{
    return sched_in_virtual(&cfg->values);
}

bool vc__config_from_host_auto(const vc_config *cfg, const char *which)
{
    const vc__cfg_values *v = &cfg->values;
    vc__strbool s;
    if (!strcmp(which, "csiDrivers"))
        s = v->sync.from_host.csi_drivers;
    else if (!strcmp(which, "csiNodes"))
        s = v->sync.from_host.csi_nodes;
    else if (!strcmp(which, "csiStorageCapacities"))
        s = v->sync.from_host.csi_storage_capacities;
    else if (!strcmp(which, "storageClasses"))
        s = v->sync.from_host.storage_classes;
    else
        return false;
    if (s != VC__AUTO)
        return s == VC__TRUE;
    bool on = sched_in_virtual(v) && v->sync.to_host.persistent_volume_claims;
    if (!strcmp(which, "storageClasses"))
        on = on && !v->sync.to_host.storage_classes;
    return on;
}

bool vc__config_persistence_enabled(const vc_config *cfg)
{
    vc__strbool s = cfg->values.control_plane.stateful_set.volume_claim.enabled;
    if (s != VC__AUTO)
        return s == VC__TRUE;
    int store = store_of(&cfg->values);
    /* deployed etcd keeps its data in the control-plane pods: its
     * persistence switch (2022: etcd.storage.persistence) decides */
    if (store == VC_STORE_DEPLOYED_ETCD)
        return cfg->values.control_plane.backing_store.etcd.deploy.volume_claim.enabled != VC__FALSE;
    return store == VC_STORE_EMBEDDED_DATABASE || store == VC_STORE_EMBEDDED_ETCD;
}

bool vc__config_cluster_role_enabled(const vc_config *cfg)
{
    const vc__cfg_values *v = &cfg->values;
    if (v->rbac.cluster_role.enabled != VC__AUTO)
        return v->rbac.cluster_role.enabled == VC__TRUE;
    return v->sync.from_host.nodes.enabled || v->sync.to_host.storage_classes || v->sync.to_host.priority_classes ||
           v->sync.to_host.persistent_volumes || v->sync.from_host.ingress_classes ||
           v->sync.from_host.runtime_classes || v->sync.from_host.priority_classes ||
           vc__config_from_host_auto(cfg, "storageClasses") || vc__config_from_host_auto(cfg, "csiDrivers") ||
           vc__config_from_host_auto(cfg, "csiNodes") || vc__config_from_host_auto(cfg, "csiStorageCapacities") ||
           v->sync.to_host.namespaces.enabled || json_object_size(v->sync.from_host.custom_resources) > 0;
}
