/*
 * The kubernetes driver's manifests: a tiny template engine over the YAML
 * files in templates/ (rules in templates/README.md) and the mapping from
 * vcluster.yaml values to template variables.
 */
#include <string.h>

#include "lifecycle/k8s.h"
#include "pki/pki.h"
#include "util/yaml.h"
#include "vcluster/version.h"

/* ------------------------------------------------------------------ */
/* the template engine                                                 */

const char *vc__k8s_template_text(const char *name)
{
    for (size_t i = 0; i < vc__k8s_templates_len; i++)
        if (!strcmp(vc__k8s_templates[i].name, name))
            return vc__k8s_templates[i].text;
    return NULL;
}

static int subst_var(vc_buf *out, const char *what, const char *name, size_t n, bool quoted, const json_t *vars)
{
    char key[96];
    if (n == 0 || n >= sizeof key)
        return vc__error(VC_EINVAL, VC_ERRCLASS_LIFECYCLE, "template %s: bad variable name", what);
    memcpy(key, name, n);
    key[n] = '\0';
    json_t *v = json_object_get(vars, key);
    if (!v)
        return vc__error(VC_EINVAL, VC_ERRCLASS_LIFECYCLE, "template %s: unknown variable ${%s}", what, key);
    if (quoted && !json_is_string(v) && !json_is_integer(v))
        return vc__error(VC_EINVAL, VC_ERRCLASS_LIFECYCLE, "template %s: ${%s} inside quotes must be a string", what,
                         key);
    /* No JSON_COMPACT: ", " and ": " separators keep libyaml's flow parsing happy. */
    char *j = json_dumps(v, JSON_ENCODE_ANY);
    if (!j)
        return vc__error_oom();
    int rc;
    size_t len = strlen(j);
    if (quoted && json_is_string(v))
        rc = vc__buf_put(out, j + 1, len - 2);  /* JSON string escapes are YAML double-quote escapes */
    else
        rc = vc__buf_put(out, j, len);
    vc__free(j); /* json_dumps allocates through the library allocator */
    return rc;
}

/* ${VAR} -> JSON text, or escaped text inside "..."; comments are dropped. */
static int substitute(vc_buf *out, const char *what, const char *text, const json_t *vars)
{
    bool in_dq = false;
    for (const char *p = text; *p;) {
        char c = *p;
        if (c == '\n') {
            in_dq = false;
        } else if (!in_dq && c == '#' && (p == text || p[-1] == ' ' || p[-1] == '\n')) {
            const char *e = strchr(p, '\n');
            p = e ? e : p + strlen(p);
            continue;
        } else if (in_dq && c == '\\' && p[1]) {
            if (vc__buf_put(out, p, 2) < 0)
                return VC_ENOMEM;
            p += 2;
            continue;
        } else if (c == '$' && p[1] == '{') {
            const char *e = strchr(p + 2, '}');
            if (!e)
                return vc__error(VC_EINVAL, VC_ERRCLASS_LIFECYCLE, "template %s: unterminated ${", what);
            int rc = subst_var(out, what, p + 2, (size_t)(e - p - 2), in_dq, vars);
            if (rc < 0)
                return rc;
            p = e + 1;
            continue;
        } else if (c == '"') {
            in_dq = !in_dq;
        }
        if (vc__buf_put(out, p, 1) < 0)
            return VC_ENOMEM;
        p++;
    }
    return VC_OK;
}

static bool switched_off(const json_t *v)
{
    if (json_is_null(v))
        return true;
    json_t *cond = json_object_get(v, "$if");
    return cond && !json_is_true(cond);
}

/* Drop nulls and switched-off objects, strip `$if`, splice nested lists. */
static int tidy(json_t *v);

/* Append a tidied copy of `e` (or its items when it is a list) to `keep`. */
static int keep_item(json_t *keep, json_t *e, bool splice)
{
    if (switched_off(e))
        return VC_OK;
    if (splice && json_is_array(e)) {
        size_t j;
        json_t *s;
        json_array_foreach(e, j, s) {
            int rc = keep_item(keep, s, false);
            if (rc < 0)
                return rc;
        }
        return VC_OK;
    }
    int rc = tidy(e);
    if (rc < 0)
        return rc;
    return json_array_append(keep, e) == 0 ? VC_OK : vc__error_oom();
}

static int tidy(json_t *v)
{
    if (json_is_object(v)) {
        json_object_del(v, "$if");
        const char *k;
        json_t *m;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, m) {
            if (switched_off(m)) {
                json_object_del(v, k);
                continue;
            }
            int rc = tidy(m);
            if (rc < 0)
                return rc;
        }
        return VC_OK;
    }
    if (!json_is_array(v))
        return VC_OK;
    json_t *keep = json_array();
    if (!keep)
        return vc__error_oom();
    size_t i;
    json_t *e;
    int rc = VC_OK;
    json_array_foreach(v, i, e) {
        if ((rc = keep_item(keep, e, true)) < 0)
            break;
    }
    if (rc == VC_OK && (json_array_clear(v) < 0 || json_array_extend(v, keep) < 0))
        rc = vc__error_oom();
    json_decref(keep);
    return rc;
}

int vc__k8s_render_text(const char *what, const char *text, const json_t *vars, json_t **out)
{
    *out = NULL;
    vc_buf b = VC_BUF_INIT;
    int rc = substitute(&b, what, text, vars);
    json_t *docs = NULL;
    char *file = rc == VC_OK ? vc__sprintf("templates/%s.yaml", what) /* lines survive substitution */ : NULL;
    if (rc == VC_OK)
        rc = file ? vc__yaml_parse(b.ptr ? b.ptr : "", b.size, file, &docs, NULL) : vc__error_oom();
    vc__free(file);
    vc_buf_dispose(&b);
    if (rc < 0)
        return rc;
    json_t *doc = json_array_get(docs, 0);
    if (doc && !switched_off(doc)) {
        rc = tidy(doc);
        if (rc == VC_OK)
            *out = json_incref(doc);
    }
    json_decref(docs);
    return rc;
}

int vc__k8s_render(const char *name, const json_t *vars, json_t **out)
{
    const char *t = vc__k8s_template_text(name);
    if (!t) {
        *out = NULL;
        return vc__error(VC_EINVAL, VC_ERRCLASS_LIFECYCLE, "no manifest template \"%s\"", name);
    }
    return vc__k8s_render_text(name, t, vars, out);
}

/* ------------------------------------------------------------------ */
/* values -> variables                                                 */

typedef struct vars_ctx {
    json_t *vars;
    bool oom;
} vars_ctx;

static void set(vars_ctx *c, const char *key, json_t *v)  /* steals v; NULL v is OOM */
{
    if (!v || json_object_set_new(c->vars, key, v) < 0)
        c->oom = true;
}

static void setb(vars_ctx *c, const char *key, bool b)
{
    set(c, key, json_boolean(b));
}

static void sets(vars_ctx *c, const char *key, const char *s)
{
    set(c, key, json_string(s ? s : ""));
}

/* A string, or null when empty. */
static void setn(vars_ctx *c, const char *key, const char *s)
{
    set(c, key, vc__str_empty(s) ? json_null() : json_string(s));
}

/* A copy of a config value, or null when absent or empty. */
static void setj(vars_ctx *c, const char *key, const json_t *v)
{
    bool empty = !v || json_is_null(v) || (json_is_object(v) && json_object_size(v) == 0) ||
                 (json_is_array(v) && json_array_size(v) == 0) || (json_is_string(v) && !*json_string_value(v));
    set(c, key, empty ? json_null() : json_deep_copy(v));
}

static void setstrv(vars_ctx *c, const char *key, const vc__cfg_strv *sv)
{
    if (!sv || sv->n == 0) {
        set(c, key, json_null());
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; a && i < sv->n; i++)
        if (json_array_append_new(a, json_string(sv->v[i])) < 0)
            c->oom = true;
    set(c, key, a);
}

/* Merge string maps left to right into a new object; null when empty. */
static json_t *merged(const json_t *a, const json_t *b, const json_t *d)
{
    json_t *o = json_object();
    const json_t *parts[3] = { a, b, d };
    for (int i = 0; o && i < 3; i++)
        if (json_is_object(parts[i]) && json_object_update(o, (json_t *)parts[i]) < 0) {
            json_decref(o);
            return NULL;
        }
    if (o && json_object_size(o) == 0) {
        json_decref(o);
        return json_null();
    }
    return o;
}

static const json_t *tree(const vc_config *cfg, const char *path)
{
    return vc__cfg_tree_get(vc__config_effective(cfg), path);
}

char *vc__k8s_cluster_role_name(const char *name, const char *ns)
{
    char *s = vc__sprintf("vc-%s-v-%s", name, ns);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    if (n > 63)
        n = 63;
    while (n > 0 && s[n - 1] == '-')
        n--;
    s[n] = '\0';
    return s;
}

/* RBAC rules for customResources entries ("kind.group" or "kind.group/version"). */
static json_t *custom_rules(const json_t *crs, const char *const *verbs, size_t nverbs)
{
    json_t *rules = json_array();
    const char *key;
    json_t *cr;
    json_object_foreach((json_t *)crs, key, cr) {
        if (!rules)
            break;
        if (json_is_object(cr) && json_is_false(json_object_get(cr, "enabled")))
            continue;
        size_t n = strcspn(key, "/");
        const char *dot = memchr(key, '.', n);
        if (!dot)
            continue;
        char *res = vc__strndup(key, (size_t)(dot - key));
        char *grp = vc__strndup(dot + 1, n - (size_t)(dot - key) - 1);
        json_t *v = json_array();
        for (size_t i = 0; v && i < nverbs; i++)
            json_array_append_new(v, json_string(verbs[i]));
        json_t *r = res && grp && v ? json_pack("{s:[s],s:[s],s:o}", "apiGroups", grp, "resources", res, "verbs", v)
                                    : NULL;
        vc__free(res);
        vc__free(grp);
        if (!r || json_array_append_new(rules, r) < 0) {
            json_decref(rules);
            return NULL;
        }
    }
    if (rules && json_array_size(rules) == 0) {
        json_decref(rules);
        return json_null();
    }
    return rules;
}

/* An image reference: `img` when it names a repository, else `fallback`
 * with `fallback_tag` (non-empty) as its tag (controlPlane.distro.k8s.version). */
static char *image_of(const vc_config *cfg, const vc__cfg_image *img, const vc__cfg_image *fallback,
                      const char *fallback_tag)
{
    if (img && !vc__str_empty(img->repository))
        return vc__config_image_ref(cfg, img);
    vc__cfg_image i = *fallback;
    if (!vc__str_empty(fallback_tag))
        i.tag = fallback_tag;
    return vc__config_image_ref(cfg, &i);
}

static char *https_url(const char *endpoint)
{
    return strstr(endpoint, "://") ? vc__strdup(endpoint) : vc__sprintf("https://%s", endpoint);
}

/* Append "<flag><value>" to a list of arguments, unless value is empty. */
static void append_flag(json_t *a, const char *flag, const char *value, bool *oom)
{
    if (vc__str_empty(value))
        return;
    char *s = vc__sprintf("%s%s", flag, value);
    if (!a || !s || json_array_append_new(a, json_string(s)) < 0)
        *oom = true;
    vc__free(s);
}

static void storage_vars(vars_ctx *c, vc__lc *lc, const vc_config *cfg, int store)
{
    const vc__cfg_values *v = vc__config_values(cfg);
    bool k8s = vc__streq(lc->distro, "k8s");
    const char *sqlite = "sqlite:///data/state.db?_journal=WAL&cache=shared&_busy_timeout=30000&_txlock=immediate";
    bool db = store == VC_STORE_EMBEDDED_DATABASE || store == VC_STORE_EXTERNAL_DATABASE;
    bool ext_db = store == VC_STORE_EXTERNAL_DATABASE;
    bool emb_etcd = store == VC_STORE_EMBEDDED_ETCD;
    bool ext_etcd = store == VC_STORE_EXTERNAL_ETCD;
    const char *ds = v->control_plane.backing_store.database.external.data_source;
    /* dataSourceSecret: the dataSource reaches kine (k3s) as an environment
     * variable from the host Secret's key, so no password is in the
     * manifests; kine reads KINE_ENDPOINT, k3s K3S_DATASTORE_ENDPOINT (k0s
     * is refused by the values check: its dataSource is in its config) */
    const char *sec_name = v->control_plane.backing_store.database.external.data_source_secret_name;
    const char *sec_key = v->control_plane.backing_store.database.external.data_source_secret_key;
    bool from_secret = ext_db && !vc__str_empty(sec_name);
    json_t *kine_env = from_secret ? json_pack("[{s:s,s:{s:{s:s,s:s}}}]", "name", "KINE_ENDPOINT", "valueFrom",
                                               "secretKeyRef", "name", sec_name, "key", sec_key)
                                   : json_null();
    json_t *k3s_env = from_secret ? json_pack("[{s:s,s:{s:{s:s,s:s}}}]", "name", "K3S_DATASTORE_ENDPOINT",
                                              "valueFrom", "secretKeyRef", "name", sec_name, "key", sec_key)
                                  : json_null();
    set(c, "KINE_ENV", kine_env);
    set(c, "K3S_STORE_ENV", k3s_env);

    setb(c, "KINE_CONTAINER", k8s && db);
    setb(c, "EMBEDDED_ETCD", emb_etcd);
    setb(c, "EMBEDDED_ETCD_CONTAINER", k8s && emb_etcd);
    char *ep_arg = from_secret ? NULL : vc__sprintf("--endpoint=%s", ext_db ? ds : sqlite);
    if (!from_secret && !ep_arg)
        c->oom = true;
    setn(c, "KINE_ENDPOINT_ARG", ep_arg);
    vc__free(ep_arg);
    json_t *kx = json_array();
    if (kx) {
        if (ext_db) {
            append_flag(kx, "--ca-file=", v->control_plane.backing_store.database.external.ca_file, &c->oom);
            append_flag(kx, "--cert-file=", v->control_plane.backing_store.database.external.cert_file, &c->oom);
            append_flag(kx, "--key-file=", v->control_plane.backing_store.database.external.key_file, &c->oom);
            /* kine over PostgreSQL without pooled connections, as the local
             * driver: after a database restart a pooled connection made
             * kine answer 201 for a create it never wrote (doc/guide.md
             * F1.5); the user's extraArgs come after and may override it */
            /* from a Secret the scheme is not known here: the same, which
             * costs MySQL its connection pool but never loses a write */
            if (from_secret || (ds && (!strncmp(ds, "postgres://", 11) || !strncmp(ds, "postgresql://", 13))))
                append_flag(kx, "", "--datastore-max-idle-connections=-1", &c->oom);
        }
        const vc__cfg_strv *ea = ext_db ? &v->control_plane.backing_store.database.external.extra_args
                                        : &v->control_plane.backing_store.database.embedded.extra_args;
        for (size_t i = 0; i < ea->n; i++)
            append_flag(kx, "", ea->v[i], &c->oom);
    }
    set(c, "KINE_EXTRA_ARGS", kx);

    char *servers = NULL;
    json_t *etcd_args = json_array();
    if (emb_etcd) {
        servers = vc__strdup("https://127.0.0.1:2379");
        append_flag(etcd_args, "--etcd-cafile=", "/pki/ca.crt", &c->oom);
        append_flag(etcd_args, "--etcd-certfile=", "/pki/apiserver-etcd-client.crt", &c->oom);
        append_flag(etcd_args, "--etcd-keyfile=", "/pki/apiserver-etcd-client.key", &c->oom);
    } else if (ext_etcd) {
        servers = https_url(v->control_plane.backing_store.etcd.external.endpoint);
        append_flag(etcd_args, "--etcd-cafile=", v->control_plane.backing_store.etcd.external.ca_file, &c->oom);
        append_flag(etcd_args, "--etcd-certfile=", v->control_plane.backing_store.etcd.external.cert_file, &c->oom);
        append_flag(etcd_args, "--etcd-keyfile=", v->control_plane.backing_store.etcd.external.key_file, &c->oom);
    } else {
        servers = vc__strdup("http://127.0.0.1:2379");
    }
    if (!servers)
        c->oom = true;
    sets(c, "ETCD_SERVERS", servers);
    setj(c, "ETCD_CLIENT_ARGS", etcd_args);
    json_decref(etcd_args);

    /* embedded etcd: one member per replica, NAME-i.NAME-headless.NS */
    vc_buf ic = VC_BUF_INIT;
    /* deployed etcd runs in the control-plane pods: its replica count is the
     * pods' (src/config checks the two agree) */
    int32_t n = store == VC_STORE_DEPLOYED_ETCD ? v->control_plane.backing_store.etcd.deploy.replicas
                                                : vc_config_ha_replicas((vc_config *)cfg);
    for (int32_t i = 0; i < (n > 0 ? n : 1); i++)
        if (vc__buf_printf(&ic, "%s%s-%d=https://%s-%d.%s-headless.%s:2380", i ? "," : "", lc->name, (int)i, lc->name,
                           (int)i, lc->name, lc->ns) < 0)
            c->oom = true;
    sets(c, "ETCD_INITIAL_CLUSTER", ic.ptr);
    vc_buf_dispose(&ic);
    const vc__cfg_image *eimg = &v->control_plane.backing_store.etcd.deploy.image;
    char *etcd_image = vc__config_image_ref(cfg, eimg);
    sets(c, "ETCD_IMAGE", etcd_image);
    vc__free(etcd_image);
    setn(c, "ETCD_PULL_POLICY", v->control_plane.backing_store.etcd.deploy.image_pull_policy);
    setstrv(c, "ETCD_EXTRA_ARGS", &v->control_plane.backing_store.etcd.embedded.extra_args);
    setj(c, "ETCD_RESOURCES", v->control_plane.backing_store.etcd.deploy.resources);

    /* k3s: its own SQLite, --cluster-init for etcd, or an external datastore */
    json_t *k3s = json_array();
    if (k3s) {
        if (emb_etcd)
            append_flag(k3s, "", "--cluster-init", &c->oom);
        else if (ext_db)
            append_flag(k3s, "--datastore-endpoint=", from_secret ? NULL : ds, &c->oom);
        else if (ext_etcd) {
            append_flag(k3s, "--datastore-endpoint=", servers, &c->oom);
            append_flag(k3s, "--datastore-cafile=", v->control_plane.backing_store.etcd.external.ca_file, &c->oom);
            append_flag(k3s, "--datastore-certfile=", v->control_plane.backing_store.etcd.external.cert_file, &c->oom);
            append_flag(k3s, "--datastore-keyfile=", v->control_plane.backing_store.etcd.external.key_file, &c->oom);
        }
    }
    setj(c, "K3S_STORE_ARGS", k3s);
    json_decref(k3s);
    vc__free(servers);

    /* k0s: kine over SQLite in its data dir, its own etcd, or external */
    sets(c, "K0S_STORAGE_TYPE", emb_etcd || ext_etcd ? "etcd" : "kine");
    setb(c, "K0S_KINE", db);
    sets(c, "K0S_KINE_DATASOURCE",
         ext_db ? ds : "sqlite:///data/k0s/db/state.db?mode=rwc&_journal=WAL&cache=shared");
}

/* The API server's SANs as text lines ("DNS:x" / "IP:y"), for the k0s/k3s
 * args and for vc__k8s_certs(). */
static void san_vars(vars_ctx *c, vc__lc *lc, const vc_config *cfg)
{
    const vc__cfg_values *v = vc__config_values(cfg);
    json_t *sans = json_array(), *k3s = json_array();
    const char *base[3] = { NULL, NULL, NULL };
    char *a = vc__sprintf("%s.%s", lc->name, lc->ns), *b = vc__sprintf("%s.%s.svc", lc->name, lc->ns);
    base[0] = lc->name;
    base[1] = a;
    base[2] = b;
    for (int i = 0; i < 3; i++) {
        append_flag(sans, "", base[i], &c->oom);
        append_flag(k3s, "--tls-san=", base[i], &c->oom);
    }
    for (size_t i = 0; i < v->control_plane.proxy.extra_sans.n; i++) {
        append_flag(sans, "", v->control_plane.proxy.extra_sans.v[i], &c->oom);
        append_flag(k3s, "--tls-san=", v->control_plane.proxy.extra_sans.v[i], &c->oom);
    }
    if (!a || !b)
        c->oom = true;
    vc__free(a);
    vc__free(b);
    set(c, "TLS_SANS", sans);
    set(c, "K3S_TLS_SAN_ARGS", k3s);
}

static void service_vars(vars_ctx *c, vc__lc *lc, const vc_config *cfg, const json_t *labels)
{
    const vc__cfg_values *v = vc__config_values(cfg);
    const char *type = vc_config_service_type((vc_config *)cfg);
    json_t *svc_marker = json_pack("{s:s}", "vcluster.loft.sh/service", "true");
    set(c, "SERVICE_LABELS", merged(labels, svc_marker, v->control_plane.service.labels));
    json_decref(svc_marker);
    set(c, "SERVICE_ANNOTATIONS",
        merged(v->control_plane.advanced.global_annotations, v->control_plane.service.annotations, NULL));
    sets(c, "SERVICE_TYPE", type);
    setj(c, "SERVICE_LB_IP", tree(cfg, "controlPlane.service.spec.loadBalancerIP"));
    setj(c, "SERVICE_LB_SOURCE_RANGES", tree(cfg, "controlPlane.service.spec.loadBalancerSourceRanges"));
    setj(c, "SERVICE_EXTERNAL_IPS", tree(cfg, "controlPlane.service.spec.externalIPs"));
    setj(c, "SERVICE_EXTERNAL_TRAFFIC_POLICY", tree(cfg, "controlPlane.service.spec.externalTrafficPolicy"));
    bool node_ports = vc__streq(type, "NodePort") || vc__streq(type, "LoadBalancer");
    int32_t hp = v->control_plane.service.https_node_port, kp = v->control_plane.service.kubelet_node_port;
    set(c, "HTTPS_NODE_PORT", node_ports && hp > 0 ? json_integer(hp) : json_null());
    set(c, "KUBELET_NODE_PORT", node_ports && kp > 0 ? json_integer(kp) : json_null());
    setb(c, "KUBELET_PORT", v->networking.advanced.proxy_kubelets_by_hostname && !vc__streq(type, "LoadBalancer"));
    json_t *sel = json_pack("{s:s,s:s}", VC__LC_APP_LABEL, VC__LC_APP_VALUE, VC__LC_RELEASE_LABEL, lc->name);
    set(c, "HEADLESS_LABELS", merged(sel, tree(cfg, "controlPlane.advanced.headlessService.labels"), NULL));
    json_decref(sel);
    set(c, "HEADLESS_ANNOTATIONS", merged(v->control_plane.advanced.global_annotations,
                                          tree(cfg, "controlPlane.advanced.headlessService.annotations"), NULL));
}

static void rbac_vars(vars_ctx *c, vc__k8s_plan *p, const vc_config *cfg, const json_t *labels, int store)
{
    const vc__cfg_values *v = vc__config_values(cfg);
    const json_t *glob = v->control_plane.advanced.global_annotations;
    static const char *const rw[] = { "create", "delete", "patch", "update", "get", "list", "watch" };
    static const char *const ro[] = { "get", "list", "watch" };

    sets(c, "SA", p->sa);
    sets(c, "WORKLOAD_SA", p->workload_sa);
    setb(c, "SA_CREATE", v->control_plane.advanced.service_account.enabled);
    setb(c, "WORKLOAD_SA_CREATE", v->control_plane.advanced.workload_service_account.enabled);
    set(c, "SA_LABELS", merged(labels, v->control_plane.advanced.service_account.labels, NULL));
    set(c, "SA_ANNOTATIONS", merged(glob, v->control_plane.advanced.service_account.annotations, NULL));
    setj(c, "SA_PULL_SECRETS", v->control_plane.advanced.service_account.image_pull_secrets);
    set(c, "WORKLOAD_SA_LABELS", merged(labels, v->control_plane.advanced.workload_service_account.labels, NULL));
    set(c, "WORKLOAD_SA_ANNOTATIONS", merged(glob, v->control_plane.advanced.workload_service_account.annotations, NULL));
    json_t *ps = json_array();  /* upstream: both lists for the workload account */
    if (ps) {
        json_array_extend(ps, v->control_plane.advanced.service_account.image_pull_secrets);
        json_array_extend(ps, v->control_plane.advanced.workload_service_account.image_pull_secrets);
    }
    setj(c, "WORKLOAD_SA_PULL_SECRETS", ps);
    json_decref(ps);

    const int32_t replicas = vc_config_ha_replicas((vc_config *)cfg);
    setb(c, "ROLE_CREATE", v->rbac.role.enabled);
    setb(c, "SYNC_ENDPOINTS", v->sync.to_host.endpoints);
    setb(c, "SYNC_ENDPOINTSLICES", v->sync.to_host.endpoint_slices);
    setb(c, "NEED_LEASES", replicas > 1 || store == VC_STORE_EMBEDDED_ETCD);
    setb(c, "SYNC_INGRESSES", v->sync.to_host.ingresses);
    setb(c, "SYNC_NETWORKPOLICIES", v->sync.to_host.network_policies);
    setb(c, "SYNC_SERVICEACCOUNTS", v->sync.to_host.service_accounts);
    setb(c, "SYNC_PDBS", v->sync.to_host.pod_disruption_budgets);
    setb(c, "SYNC_RESOURCECLAIMS", v->sync.to_host.resource_claims);
    setb(c, "SYNC_RESOURCECLAIMTEMPLATES", v->sync.to_host.resource_claim_templates);
    setb(c, "SYNC_VOLUMESNAPSHOTS", v->sync.to_host.volume_snapshots);
    set(c, "ROLE_CUSTOM_RULES", custom_rules(v->sync.to_host.custom_resources, rw, VC__ARRAY_LEN(rw)));
    setj(c, "ROLE_EXTRA_RULES", v->rbac.role.extra_rules);

    bool sched = vc__config_virtual_scheduler(cfg);
    bool nodes = v->sync.from_host.nodes.enabled;
    size_t ncr_to = json_object_size(v->sync.to_host.custom_resources);
    size_t ncr_from = json_object_size(v->sync.from_host.custom_resources);
    bool cr = vc__config_cluster_role_enabled(cfg);
    /* upstream's "auto" also counts these (chart _rbac.tpl) */
    if (v->rbac.cluster_role.enabled == VC__AUTO)
        cr = cr || sched || v->networking.replicate_services.from_host.n > 0 || v->sync.from_host.config_maps.enabled ||
             v->sync.from_host.secrets.enabled || ncr_to > 0 || json_array_size(v->rbac.cluster_role.extra_rules) > 0 ||
             json_array_size(v->rbac.cluster_role.overwrite_rules) > 0;
    setb(c, "CLUSTER_ROLE_CREATE", cr);
    sets(c, "CLUSTER_ROLE", p->cluster_role);
    setb(c, "SYNC_NODES", nodes);
    setb(c, "PROXY_KUBELETS",
         nodes && (v->networking.advanced.proxy_kubelets_by_ip || v->networking.advanced.proxy_kubelets_by_hostname));
    setb(c, "SYNC_NODES_BACK", nodes && v->sync.from_host.nodes.sync_back_changes);
    setb(c, "VIRTUAL_SCHEDULER", sched);
    setb(c, "FROM_HOST_STORAGECLASSES", vc__config_from_host_auto(cfg, "storageClasses"));
    setb(c, "FROM_HOST_CSINODES", vc__config_from_host_auto(cfg, "csiNodes"));
    setb(c, "FROM_HOST_CSIDRIVERS", vc__config_from_host_auto(cfg, "csiDrivers"));
    setb(c, "FROM_HOST_CSISTORAGECAPACITIES", vc__config_from_host_auto(cfg, "csiStorageCapacities"));
    setb(c, "SYNC_PERSISTENTVOLUMES", v->sync.to_host.persistent_volumes);
    setb(c, "FROM_HOST_INGRESSCLASSES", v->sync.from_host.ingress_classes);
    setb(c, "FROM_HOST_RUNTIMECLASSES", v->sync.from_host.runtime_classes);
    setb(c, "SYNC_STORAGECLASSES", v->sync.to_host.storage_classes);
    setb(c, "SYNC_PRIORITYCLASSES", v->sync.to_host.priority_classes || v->sync.from_host.priority_classes);
    setb(c, "REPLICATE_FROM_HOST", v->networking.replicate_services.from_host.n > 0);
    setb(c, "SYNC_NAMESPACES", v->sync.to_host.namespaces.enabled);
    setb(c, "FROM_HOST_CONFIGMAPS", v->sync.from_host.config_maps.enabled);
    setb(c, "FROM_HOST_SECRETS", v->sync.from_host.secrets.enabled);
    setb(c, "CRDS_READ", ncr_to > 0 || ncr_from > 0);
    set(c, "CLUSTER_ROLE_CUSTOM_RULES", custom_rules(v->sync.from_host.custom_resources, ro, VC__ARRAY_LEN(ro)));
    setj(c, "CLUSTER_ROLE_EXTRA_RULES", v->rbac.cluster_role.extra_rules);
}

static void policy_vars(vars_ctx *c, const vc_config *cfg, const json_t *labels)
{
    const vc__cfg_values *v = vc__config_values(cfg);
    const json_t *glob = v->control_plane.advanced.global_annotations;
    setb(c, "RESOURCE_QUOTA", vc__config_resource_quota_enabled(cfg));
    set(c, "QUOTA_LABELS", merged(labels, v->policies.resource_quota.labels, NULL));
    set(c, "QUOTA_ANNOTATIONS", merged(glob, v->policies.resource_quota.annotations, NULL));
    setj(c, "QUOTA_HARD", v->policies.resource_quota.quota);
    const json_t *sel = v->policies.resource_quota.scope_selector;
    setj(c, "QUOTA_SCOPE_SELECTOR", json_array_size(json_object_get(sel, "matchExpressions")) ? sel : NULL);
    setj(c, "QUOTA_SCOPES", v->policies.resource_quota.scopes);

    setb(c, "LIMIT_RANGE", vc__config_limit_range_enabled(cfg));
    set(c, "LIMIT_LABELS", merged(labels, v->policies.limit_range.labels, NULL));
    set(c, "LIMIT_ANNOTATIONS", merged(glob, v->policies.limit_range.annotations, NULL));
    setj(c, "LIMIT_DEFAULT", v->policies.limit_range.default_limits);
    setj(c, "LIMIT_DEFAULT_REQUEST", v->policies.limit_range.default_requests);
    setj(c, "LIMIT_MIN", v->policies.limit_range.min);
    setj(c, "LIMIT_MAX", v->policies.limit_range.max);

    bool np = v->policies.network_policy.enabled;
    setb(c, "NETWORK_POLICY", np);
    setb(c, "NETWORK_POLICY_DNS", np && v->control_plane.coredns.enabled && !v->control_plane.coredns.embedded);
    set(c, "NP_LABELS", merged(labels, v->policies.network_policy.labels, NULL));
    set(c, "NP_ANNOTATIONS", merged(glob, v->policies.network_policy.annotations, NULL));
    setb(c, "PUBLIC_EGRESS", v->policies.network_policy.public_egress.enabled);
    sets(c, "PUBLIC_EGRESS_CIDR", v->policies.network_policy.public_egress.cidr);
    setstrv(c, "PUBLIC_EGRESS_EXCEPT", &v->policies.network_policy.public_egress.except);
    setj(c, "NP_WORKLOAD_EGRESS", v->policies.network_policy.workload_egress);
    setj(c, "NP_WORKLOAD_INGRESS", v->policies.network_policy.workload_ingress);
    setj(c, "NP_CP_EGRESS", v->policies.network_policy.control_plane_egress);
    setj(c, "NP_CP_INGRESS", v->policies.network_policy.control_plane_ingress);
}

static void container_vars(vars_ctx *c, vc__lc *lc, vc__k8s_plan *p, const vc_config *cfg)
{
    const vc__cfg_values *v = vc__config_values(cfg);
    bool k8s = vc__streq(lc->distro, "k8s"), k3s = vc__streq(lc->distro, "k3s"), k0s = vc__streq(lc->distro, "k0s");
    bool sched = vc__config_virtual_scheduler(cfg);
    const vc__cfg_component *api = &v->control_plane.distro.k8s.api_server;
    const vc__cfg_component *cm = &v->control_plane.distro.k8s.controller_manager;
    const vc__cfg_component *sc = &v->control_plane.distro.k8s.scheduler;
    const char *kver = v->control_plane.distro.k8s.version;
    const vc__cfg_image *kimg = &v->control_plane.distro.k8s.image;

    setb(c, "DISTRO_K8S", k8s && api->enabled);
    setb(c, "DISTRO_K8S_CONTROLLER_MANAGER", k8s && cm->enabled);
    setb(c, "DISTRO_K8S_SCHEDULER", k8s && sched);
    setb(c, "DISTRO_K3S", k3s);
    setb(c, "DISTRO_K0S", k0s);
    char *ai = image_of(cfg, &api->image, kimg, kver), *ci = image_of(cfg, &cm->image, kimg, kver),
         *si = image_of(cfg, &sc->image, kimg, kver);
    sets(c, "APISERVER_IMAGE", ai);
    sets(c, "CONTROLLER_MANAGER_IMAGE", ci);
    sets(c, "SCHEDULER_IMAGE", si);
    if (!ai || !ci || !si)
        c->oom = true;
    vc__free(ai);
    vc__free(ci);
    vc__free(si);
    setn(c, "K8S_PULL_POLICY", v->control_plane.distro.k8s.image_pull_policy);
    setj(c, "K8S_ENV", v->control_plane.distro.k8s.env);
    setj(c, "K8S_RESOURCES", v->control_plane.distro.k8s.resources);
    setj(c, "K8S_SECURITY_CONTEXT", v->control_plane.distro.k8s.security_context);
    setstrv(c, "APISERVER_EXTRA_ARGS", &api->extra_args);
    setstrv(c, "CONTROLLER_MANAGER_EXTRA_ARGS", &cm->extra_args);
    setstrv(c, "SCHEDULER_EXTRA_ARGS", &sc->extra_args);
    sets(c, "LEADER_ELECT", vc_config_ha_replicas((vc_config *)cfg) > 1 ? "true" : "false");
    /* controlPlane.statefulSet.highAvailability timings, for the components
     * that elect a leader among the replicas */
    const int32_t le[3] = { v->control_plane.stateful_set.high_availability.lease_duration,
                            v->control_plane.stateful_set.high_availability.renew_deadline,
                            v->control_plane.stateful_set.high_availability.retry_period };
    static const char *const le_vars[3] = { "LEASE_DURATION", "RENEW_DEADLINE", "RETRY_PERIOD" };
    for (int i = 0; i < 3; i++) {
        char secs[24];
        snprintf(secs, sizeof secs, "%ds", (int)le[i]);
        sets(c, le_vars[i], secs);
    }
    setb(c, "LIVENESS_PROBE", v->control_plane.stateful_set.liveness_probe);
    setb(c, "READINESS_PROBE", v->control_plane.stateful_set.readiness_probe);
    setb(c, "STARTUP_PROBE", v->control_plane.stateful_set.startup_probe);
    const vc__cfg_image kine = { "", VC__K8S_KINE_REPOSITORY, VC__K8S_KINE_TAG };
    char *kimage = vc__config_image_ref(cfg, &kine);
    sets(c, "KINE_IMAGE", kimage);
    vc__free(kimage);

    const vc__cfg_distro_simple *d3 = &v->control_plane.distro.k3s, *d0 = &v->control_plane.distro.k0s;
    char *i3 = vc__config_image_ref(cfg, &d3->image), *i0 = vc__config_image_ref(cfg, &d0->image);
    sets(c, "K3S_IMAGE", i3);
    sets(c, "K0S_IMAGE", i0);
    setn(c, "K3S_PULL_POLICY", d3->image_pull_policy);
    setn(c, "K0S_PULL_POLICY", d0->image_pull_policy);
    setstrv(c, "K3S_EXTRA_ARGS", &d3->extra_args);
    setstrv(c, "K0S_EXTRA_ARGS", &d0->extra_args);
    setj(c, "K3S_RESOURCES", d3->resources);
    setj(c, "K0S_RESOURCES", d0->resources);
    setj(c, "K3S_SECURITY_CONTEXT", d3->security_context);
    setj(c, "K0S_SECURITY_CONTEXT", d0->security_context);
    set(c, "K3S_SCHEDULER_ARGS", sched ? json_null() : json_pack("[s]", "--disable-scheduler"));
    sets(c, "K0S_DISABLE_COMPONENTS",
         sched ? "konnectivity-server,csr-approver,kube-proxy,coredns,network-provider,helm,metrics-server,"
                 "kubelet-config,windows-node,autopilot"
               : "konnectivity-server,kube-scheduler,csr-approver,kube-proxy,coredns,network-provider,helm,"
                 "metrics-server,kubelet-config,windows-node,autopilot");

    /* what status shows as the version: the distro image tag (or k8s.version) */
    const char *tag = k3s ? d3->image.tag : k0s ? d0->image.tag : !vc__str_empty(kver) ? kver
                      : !vc__str_empty(api->image.repository) ? api->image.tag : kimg->tag;
    p->version = vc__strdup(tag ? tag : "");
    if (!p->version || !i3 || !i0)
        c->oom = true;
    vc__free(i3);
    vc__free(i0);

    const vc__cfg_image syncer_default = { "", VC__K8S_SYNCER_REPOSITORY, VC_VERSION_STRING };
    char *syncer = image_of(cfg, &v->control_plane.stateful_set.image, &syncer_default, NULL);
    sets(c, "SYNCER_IMAGE", syncer);
    vc__free(syncer);
    setn(c, "SYNCER_PULL_POLICY", v->control_plane.stateful_set.image_pull_policy);
    setn(c, "SYNCER_WORKING_DIR", v->control_plane.stateful_set.working_dir);
    /* replicas > 1: one syncer leads (a Lease in the host namespace), the
     * others stand by; the timings of controlPlane.statefulSet.
     * highAvailability (validated: lease > renew > 1.2 x retry) */
    json_t *sflags = json_array();
    if (sflags && !v->control_plane.coredns.enabled)
        json_array_append_new(sflags, json_string("--no-coredns"));
    if (sflags && vc_config_ha_replicas((vc_config *)cfg) > 1) {
        char arg[96];
        json_array_append_new(sflags, json_string("--leader-elect"));
        static const char *const le_flags[3] = { "--leader-elect-lease-duration", "--leader-elect-renew-deadline",
                                                 "--leader-elect-retry-period" };
        for (int i = 0; i < 3; i++) {
            snprintf(arg, sizeof arg, "%s=%ds", le_flags[i], (int)le[i]);
            json_array_append_new(sflags, json_string(arg));
        }
    }
    if (sflags && !json_array_size(sflags)) {
        json_decref(sflags);
        sflags = json_null();
    }
    set(c, "SYNCER_FLAGS", sflags);
    setj(c, "SYNCER_ENV", v->control_plane.stateful_set.env);
    setj(c, "SYNCER_RESOURCES", v->control_plane.stateful_set.resources);
    setj(c, "SYNCER_SECURITY_CONTEXT", v->control_plane.stateful_set.container_security_context);
    setj(c, "ADD_VOLUME_MOUNTS", v->control_plane.stateful_set.add_volume_mounts);
}

static void statefulset_vars(vars_ctx *c, vc__lc *lc, const vc_config *cfg, const json_t *labels)
{
    const vc__cfg_values *v = vc__config_values(cfg);
    bool persist = vc__config_persistence_enabled(cfg);
    set(c, "STS_LABELS", merged(labels, v->control_plane.stateful_set.labels, NULL));
    sets(c, "POD_MANAGEMENT_POLICY", v->control_plane.stateful_set.pod_management_policy);
    sets(c, "PVC_RETENTION", v->control_plane.stateful_set.volume_claim.retention_policy);
    setb(c, "PERSISTENCE", persist);
    setb(c, "NO_PERSISTENCE", !persist);
    setstrv(c, "PVC_ACCESS_MODES", &v->control_plane.stateful_set.volume_claim.access_modes);
    setn(c, "PVC_STORAGE_CLASS", v->control_plane.stateful_set.volume_claim.storage_class);
    sets(c, "PVC_SIZE", v->control_plane.stateful_set.volume_claim.size);
    json_t *sel = json_pack("{s:s,s:s}", VC__LC_APP_LABEL, VC__LC_APP_VALUE, VC__LC_RELEASE_LABEL, lc->name);
    set(c, "POD_LABELS", merged(sel, v->control_plane.stateful_set.pod_labels, NULL));
    json_decref(sel);
    setb(c, "ENABLE_SERVICE_LINKS", v->control_plane.stateful_set.enable_service_links);
    setn(c, "PRIORITY_CLASS", v->control_plane.stateful_set.priority_class_name);
    setj(c, "POD_SECURITY_CONTEXT", v->control_plane.stateful_set.pod_security_context);
    setj(c, "NODE_SELECTOR", v->control_plane.stateful_set.node_selector);
    setj(c, "AFFINITY", v->control_plane.stateful_set.affinity);
    setj(c, "TOLERATIONS", v->control_plane.stateful_set.tolerations);
    setj(c, "TOPOLOGY_SPREAD", v->control_plane.stateful_set.topology_spread_constraints);
    setj(c, "INIT_CONTAINERS", tree(cfg, "controlPlane.statefulSet.initContainers"));
    setj(c, "ADD_VOLUMES", v->control_plane.stateful_set.add_volumes);
}

static int clone_config(vc_config *src, vc_config **out)
{
    vc_buf y = VC_BUF_INIT;
    vc_config *c = NULL;
    int rc = vc_config_to_yaml(src, &y);
    if (rc == VC_OK)
        rc = vc_config_new(&c);
    if (rc == VC_OK)
        rc = vc_config_load_string(c, y.ptr ? y.ptr : "", "effective values");
    vc_buf_dispose(&y);
    if (rc < 0) {
        vc_config_free(c);
        return rc;
    }
    *out = c;
    return VC_OK;
}

int vc__k8s_plan_init(vc__k8s_plan *p, vc__lc *lc)
{
    memset(p, 0, sizeof(*p));
    int rc = VC_OK;
    p->cfg = lc->config;
    if (lc->flags & VC_CREATE_EXPOSE) {
        /* --expose is a value like any other (upstream sets it in the values),
         * so the config Secret records it; the caller's config stays as it was */
        if ((rc = clone_config(lc->config, &p->own_cfg)) < 0 ||
            (rc = vc_config_set(p->own_cfg, "controlPlane.service.spec.type", "LoadBalancer")) < 0)
            goto fail;
        p->cfg = p->own_cfg;
    }
    const vc__cfg_values *v = vc__config_values(p->cfg);
    int store = vc__lc_store_kind(lc, p->cfg);
    if (store == VC_STORE_DEPLOYED_ETCD) {
        rc = vc__error(VC_ENOTSUPPORTED, VC_ERRCLASS_LIFECYCLE,
                       "controlPlane.backingStore.etcd.deploy (a separate etcd StatefulSet) is not supported by the "
                       "kubernetes driver; use controlPlane.backingStore.etcd.embedded.enabled: true");
        goto fail;
    }
    p->config_replicas = vc_config_ha_replicas(p->cfg);
    if (p->config_replicas < 1)
        p->config_replicas = 1;
    p->replicas = p->config_replicas;
    p->cluster_role = vc__k8s_cluster_role_name(lc->name, lc->ns);
    const char *san = v->control_plane.advanced.service_account.name;
    const char *wsan = v->control_plane.advanced.workload_service_account.name;
    p->sa = vc__str_empty(san) ? vc__sprintf("vc-%s", lc->name) : vc__strdup(san);
    p->workload_sa = vc__str_empty(wsan) ? vc__sprintf("vc-workload-%s", lc->name) : vc__strdup(wsan);
    p->vars = json_object();
    if (!p->cluster_role || !p->sa || !p->workload_sa || !p->vars) {
        rc = vc__error_oom();
        goto fail;
    }
    return VC_OK;
fail:
    vc__k8s_plan_clear(p);
    return rc;
}

void vc__k8s_plan_clear(vc__k8s_plan *p)
{
    json_decref(p->vars);
    vc_config_free(p->own_cfg);
    vc__free(p->service_cidr);
    vc__free(p->cluster_role);
    vc__free(p->sa);
    vc__free(p->workload_sa);
    vc__free(p->version);
    vc__free(p->service_ip);
    vc__free(p->lb_address);
    memset(p, 0, sizeof(*p));
}

int vc__k8s_plan_vars(vc__k8s_plan *p, vc__lc *lc)
{
    const vc_config *cfg = p->cfg;
    const vc__cfg_values *v = vc__config_values(cfg);
    vars_ctx c = { p->vars, false };
    json_t *labels = vc__lc_labels(lc->name, p->driver ? p->driver : VC__K8S_DRIVER);
    if (!labels)
        return vc__error_oom();
    sets(&c, "NAME", lc->name);
    sets(&c, "NAMESPACE", lc->ns);
    sets(&c, "CLUSTER_DOMAIN", v->networking.advanced.cluster_domain);
    sets(&c, "SERVICE_CIDR", p->service_cidr ? p->service_cidr : VC__K8S_DEFAULT_SERVICE_CIDR);
    set(&c, "LABELS", json_deep_copy(labels));
    set(&c, "SELECTOR", json_pack("{s:s,s:s}", VC__LC_APP_LABEL, VC__LC_APP_VALUE, VC__LC_RELEASE_LABEL, lc->name));
    set(&c, "ANNOTATIONS", merged(v->control_plane.advanced.global_annotations, NULL, NULL));
    const int store = vc__lc_store_kind(lc, cfg);
    rbac_vars(&c, p, cfg, labels, store);
    service_vars(&c, lc, cfg, labels);
    policy_vars(&c, cfg, labels);
    storage_vars(&c, lc, cfg, store);
    san_vars(&c, lc, cfg);
    container_vars(&c, lc, p, cfg);
    statefulset_vars(&c, lc, cfg, labels);
    json_decref(labels);
    return c.oom ? vc__error_oom() : VC_OK;
}

/* ------------------------------------------------------------------ */
/* rendering the whole set                                             */

/* The containers in pod order; each template switches itself on or off. */
static const char *const k_containers[] = {
    "container-kine", "container-etcd", "container-kube-apiserver", "container-kube-controller-manager",
    "container-kube-scheduler", "container-k3s", "container-k0s", "container-syncer",
};

/* Host objects in apply order (the StatefulSet last: everything it mounts exists). */
static const char *const k_objects[] = {
    "serviceaccount", "serviceaccount-workload", "role", "rolebinding", "clusterrole", "clusterrolebinding",
    "resourcequota", "limitrange", "networkpolicy-workloads", "networkpolicy-control-plane",
    "networkpolicy-kube-dns", "secret-config", "secret-certs", "service", "service-headless", "statefulset",
};

/* Config commands/args that replace a container's defaults. */
static void apply_overrides(json_t *ctr, const vc__cfg_values *v)
{
    const char *name = json_string_value(json_object_get(ctr, "name"));
    const vc__cfg_strv *cmd = NULL, *args = NULL;
    if (vc__streq(name, "kube-apiserver"))
        cmd = &v->control_plane.distro.k8s.api_server.command;
    else if (vc__streq(name, "kube-controller-manager"))
        cmd = &v->control_plane.distro.k8s.controller_manager.command;
    else if (vc__streq(name, "kube-scheduler"))
        cmd = &v->control_plane.distro.k8s.scheduler.command;
    else if (vc__streq(name, "k3s"))
        cmd = &v->control_plane.distro.k3s.command;
    else if (vc__streq(name, "k0s"))
        cmd = &v->control_plane.distro.k0s.command;
    else if (vc__streq(name, "syncer")) {
        cmd = &v->control_plane.stateful_set.command;
        args = &v->control_plane.stateful_set.args;
    }
    const vc__cfg_strv *sv[2] = { cmd, args };
    const char *key[2] = { "command", "args" };
    for (int i = 0; i < 2; i++) {
        if (!sv[i] || sv[i]->n == 0)
            continue;
        json_t *a = json_array();
        for (size_t k = 0; a && k < sv[i]->n; k++)
            json_array_append_new(a, json_string(sv[i]->v[k]));
        json_object_set_new(ctr, key[i], a);
    }
}

/* rbac.*.overwriteRules replace a Role's or ClusterRole's rules entirely. */
static void overwrite_rules(json_t *obj, const vc__cfg_values *v)
{
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const json_t *ow = vc__streq(kind, "Role") ? v->rbac.role.overwrite_rules
                       : vc__streq(kind, "ClusterRole") ? v->rbac.cluster_role.overwrite_rules : NULL;
    if (json_array_size(ow))
        json_object_set_new(obj, "rules", json_deep_copy(ow));
}

/* Render the templates `names` (those switched off render nothing), each
 * adjusted by fix(), into a new array. */
static int render_each(vc__k8s_plan *p, const char *const *names, size_t n,
                       void (*fix)(json_t *obj, const vc__cfg_values *v), json_t **out)
{
    const vc__cfg_values *v = vc__config_values(p->cfg);
    *out = NULL;
    json_t *list = json_array();
    if (!list)
        return vc__error_oom();
    for (size_t i = 0; i < n; i++) {
        json_t *obj = NULL;
        int rc = vc__k8s_render(names[i], p->vars, &obj);
        if (rc < 0) {
            json_decref(list);
            return rc;
        }
        if (!obj)
            continue;
        fix(obj, v);
        json_array_append_new(list, obj);
    }
    *out = list;
    return VC_OK;
}

static int render_containers(vc__k8s_plan *p, json_t **out)
{
    json_t *list = NULL;
    int rc = render_each(p, k_containers, VC__ARRAY_LEN(k_containers), apply_overrides, &list);
    if (rc < 0)
        return rc;
    const json_t *sidecars = tree(p->cfg, "controlPlane.statefulSet.sidecarContainers");
    if (json_is_array(sidecars))
        json_array_extend(list, (json_t *)sidecars);
    *out = list;
    return VC_OK;
}

static char *yaml_b64(const char *text, size_t len)
{
    return vc__base64_encode((const unsigned char *)text, len);
}

/* config.yaml (and k0s.yaml) for Secret vc-config-NAME, plus a hash of them
 * and the certificates for the pod template. */
static int config_vars(vc__k8s_plan *p, vc__lc *lc, const json_t *certs_data, char hash[65])
{
    const vc__cfg_values *v = vc__config_values(p->cfg);
    vars_ctx c = { p->vars, false };
    vc_buf y = VC_BUF_INIT, k0 = VC_BUF_INIT;
    int rc = vc_config_to_yaml(p->cfg, &y);
    if (rc == VC_OK && vc__streq(lc->distro, "k0s")) {
        if (!vc__str_empty(v->control_plane.distro.k0s.config)) {
            rc = vc__buf_set(&k0, v->control_plane.distro.k0s.config);
        } else {
            json_t *kc = NULL;
            rc = vc__k8s_render("k0s-config", p->vars, &kc);
            if (rc == VC_OK)
                rc = vc__yaml_emit(&k0, kc);
            json_decref(kc);
        }
    }
    if (rc < 0) {
        vc_buf_dispose(&y);
        vc_buf_dispose(&k0);
        return rc;
    }
    char *b1 = yaml_b64(y.ptr ? y.ptr : "", y.size);
    char *b2 = k0.size ? yaml_b64(k0.ptr, k0.size) : NULL;
    sets(&c, "CONFIG_YAML_B64", b1);
    setn(&c, "K0S_CONFIG_B64", b2);
    if (!b1 || (k0.size && !b2))
        c.oom = true;
    /* the hash: config, k0s config and certificates */
    char *certs = json_dumps(certs_data, JSON_SORT_KEYS | JSON_COMPACT);
    vc_buf all = VC_BUF_INIT;
    if (vc__buf_puts(&all, b1 ? b1 : "") < 0 || vc__buf_puts(&all, b2 ? b2 : "") < 0 ||
        vc__buf_puts(&all, certs ? certs : "") < 0)
        c.oom = true;
    vc__sha256_hex(all.ptr ? all.ptr : "", all.size, hash);
    vc_buf_dispose(&all);
    vc__free(certs);
    vc__free(b1);
    vc__free(b2);
    vc_buf_dispose(&y);
    vc_buf_dispose(&k0);
    return c.oom ? vc__error_oom() : VC_OK;
}

int vc__k8s_render_rbac(vc__k8s_plan *p, json_t **out)
{
    static const char *const k_rbac[] = { "serviceaccount", "role", "rolebinding", "clusterrole", "clusterrolebinding" };
    return render_each(p, k_rbac, VC__ARRAY_LEN(k_rbac), overwrite_rules, out);
}

/* Key-free StatefulSet: /pki is an emptyDir that the init container
 * "vcluster-certs" fills (from Secret NAME-certs, made if missing). */
static int certs_init_container(vc__k8s_plan *p, json_t *sts)
{
    json_t *spec = json_object_get(json_object_get(json_object_get(sts, "spec"), "template"), "spec");
    json_t *vols = json_object_get(spec, "volumes");
    size_t i;
    json_t *vol;
    json_array_foreach(vols, i, vol) {
        if (vc__streq(vc__lc_str(vol, "name"), "certs")) {
            json_object_del(vol, "secret");
            if (json_object_set_new(vol, "emptyDir", json_object()) < 0)
                return vc__error_oom();
        }
    }
    json_t *ctr = NULL;
    int rc = vc__k8s_render("container-certs", p->vars, &ctr);
    if (rc < 0)
        return rc;
    json_t *inits = json_object_get(spec, "initContainers");
    if (!json_is_array(inits)) {
        inits = json_array();
        if (!inits || json_object_set_new(spec, "initContainers", inits) < 0) {
            json_decref(ctr);
            return vc__error_oom();
        }
    }
    /* first: the user's init containers may want /pki */
    return ctr && json_array_insert_new(inits, 0, ctr) == 0 ? VC_OK : vc__error_oom();
}

int vc__k8s_render_all(vc__k8s_plan *p, vc__lc *lc, const json_t *certs_data, const char *sans,
                       json_t *kubeconfig_secret, json_t **out)
{
    *out = NULL;
    int rc;
    const vc__cfg_values *v = vc__config_values(p->cfg);
    vars_ctx c = { p->vars, false };
    char hash[65];
    set(&c, "CERTS_DATA", certs_data ? json_deep_copy(certs_data) : json_object());
    json_t *sans_ann = json_pack("{s:s}", VC__K8S_SANS_ANN, sans ? sans : "");
    set(&c, "CERTS_ANNOTATIONS", merged(v->control_plane.advanced.global_annotations, sans_ann, NULL));
    json_decref(sans_ann);
    if (c.oom)
        return vc__error_oom();
    if ((rc = config_vars(p, lc, certs_data, hash)) < 0)
        return rc;

    /* replicas and the StatefulSet's annotations (version; pause state kept on upgrade) */
    json_t *sts_ann = json_pack("{s:s}", VC__LC_VERSION_ANN, p->version ? p->version : "");
    if (sts_ann && p->paused) {
        char n[16];
        snprintf(n, sizeof n, "%d", (int)p->config_replicas);
        json_object_set_new(sts_ann, VC__LC_PAUSED_ANN, json_string("true"));
        json_object_set_new(sts_ann, VC__LC_PAUSED_REPLICAS_ANN, json_string(n));
    }
    set(&c, "STS_ANNOTATIONS", merged(v->control_plane.advanced.global_annotations,
                                      v->control_plane.stateful_set.annotations, sts_ann));
    json_decref(sts_ann);
    set(&c, "REPLICAS", json_integer(p->paused ? 0 : p->replicas));
    json_t *hash_ann = json_pack("{s:s%}", VC__K8S_CONFIG_HASH_ANN, hash, (size_t)16);
    set(&c, "POD_ANNOTATIONS", merged(v->control_plane.stateful_set.pod_annotations, hash_ann, NULL));
    json_decref(hash_ann);
    if (c.oom)
        return vc__error_oom();

    json_t *containers = NULL;
    if ((rc = render_containers(p, &containers)) < 0)
        return rc;
    set(&c, "CONTAINERS", containers);
    if (c.oom)
        return vc__error_oom();

    json_t *list = json_array();
    if (!list)
        return vc__error_oom();
    for (size_t i = 0; i < VC__ARRAY_LEN(k_objects); i++) {
        json_t *obj = NULL;
        if ((rc = vc__k8s_render(k_objects[i], p->vars, &obj)) < 0) {
            json_decref(list);
            return rc;
        }
        if (!obj)
            continue;
        if (!certs_data && !strcmp(k_objects[i], "secret-certs")) {
            json_decref(obj); /* key-free: the init container makes it */
            continue;
        }
        if (!certs_data && !strcmp(k_objects[i], "statefulset") && (rc = certs_init_container(p, obj)) < 0) {
            json_decref(obj);
            json_decref(list);
            return rc;
        }
        overwrite_rules(obj, v);
        json_array_append_new(list, obj);
        if (!strcmp(k_objects[i], "secret-certs") && kubeconfig_secret)
            json_array_append(list, kubeconfig_secret);
    }
    *out = list;
    return VC_OK;
}
