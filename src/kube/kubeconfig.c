/*
 * kubeconfig loading, as kubectl (client-go clientcmd) does it:
 *  - an explicit path list is used as given; otherwise $KUBECONFIG, a
 *    ':'-separated list whose missing files are skipped; otherwise
 *    ~/.kube/config;
 *  - files merge in order: the first file that defines a cluster, user or
 *    context name wins, and the first non-empty current-context wins;
 *  - relative file references resolve against the file that holds them.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/kube.h"
#include "util/yaml.h"

typedef struct kc_file {
    char *path;
    char *dir;
    json_t *doc;   /* the first document (object) */
    json_t *marks; /* its marks */
} kc_file;

typedef struct kc_set {
    kc_file *files;
    size_t n;
} kc_set;

static void kc_set_free(kc_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        vc__free(s->files[i].path);
        vc__free(s->files[i].dir);
        json_decref(s->files[i].doc);
        json_decref(s->files[i].marks);
    }
    vc__free(s->files);
    s->files = NULL;
    s->n = 0;
}

/* "/clusters/0/cluster/server" -> "clusters[0].cluster.server" */
static char *field_label(const char *pointer)
{
    vc_buf b = VC_BUF_INIT;
    const char *p = pointer;
    while (*p == '/') {
        p++;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        bool num = n > 0;
        for (size_t i = 0; i < n; i++)
            if (p[i] < '0' || p[i] > '9')
                num = false;
        if (num)
            vc__buf_printf(&b, "[%.*s]", (int)n, p);
        else
            vc__buf_printf(&b, "%s%.*s", b.size ? "." : "", (int)n, p);
        p += n;
    }
    if (!b.ptr)
        vc__buf_puts(&b, "(document)");
    return vc__buf_detach(&b);
}

static int kc_err(const kc_file *f, const char *pointer, const char *fmt, ...) VC__PRINTF(3, 4);
static int kc_err(const kc_file *f, const char *pointer, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = vc__vsprintf(fmt, ap);
    va_end(ap);
    char *where = vc__yaml_where(f->marks, f->path, pointer);
    char *label = field_label(pointer);
    vc__error(VC_ECONFIG, VC_ERRCLASS_KUBECONFIG, "kubeconfig %s: %s: %s", where ? where : f->path,
              label ? label : pointer, msg ? msg : "invalid");
    vc__free(msg);
    vc__free(where);
    vc__free(label);
    return VC_ECONFIG;
}

static int load_file(kc_set *s, const char *path, const char *data, bool must_exist)
{
    char *text = NULL;
    size_t len = 0;
    if (data) {
        text = vc__strdup(data);
        len = strlen(data);
        if (!text)
            return vc__error_oom();
    } else {
        int r = vc__file_read(path, &text, &len);
        if (r == VC_ENOTFOUND && !must_exist)
            return VC_OK;
        if (r < 0) {
            vc__error_prefix("kubeconfig");
            return VC_ECONFIG;
        }
    }
    json_t *docs = NULL, *marks = NULL;
    int r = vc__yaml_parse(text, len, path, &docs, &marks);
    vc__free(text);
    if (r < 0) {
        vc__error_prefix("kubeconfig");
        const vc_error *e = vc_error_last();
        return vc__error(VC_ECONFIG, VC_ERRCLASS_KUBECONFIG, "%s", e->message);
    }
    kc_file f = { 0 };
    f.path = vc__strdup(path);
    f.dir = vc__path_dirname(path);
    f.doc = json_incref(json_array_get(docs, 0));
    f.marks = json_incref(json_array_get(marks, 0));
    json_decref(docs);
    json_decref(marks);
    if (!f.doc) {
        f.doc = json_object(); /* empty file: kubectl treats it as empty config */
        f.marks = json_object();
    }
    kc_file *nf = vc__realloc(s->files, (s->n + 1) * sizeof(*nf));
    if (!nf || !f.path || !f.dir) {
        vc__free(f.path);
        vc__free(f.dir);
        json_decref(f.doc);
        json_decref(f.marks);
        if (nf)
            s->files = nf;
        return vc__error_oom();
    }
    s->files = nf;
    s->files[s->n++] = f;
    if (!json_is_object(f.doc))
        return kc_err(&s->files[s->n - 1], "", "expected a mapping (apiVersion, kind: Config, clusters, ...)");
    return VC_OK;
}

/* Validate the shape of one named-list section: [{name: str, KEY: {...}}]. */
static int check_section(const kc_file *f, const char *section, const char *inner)
{
    json_t *arr = json_object_get(f->doc, section);
    char ptr[128];
    snprintf(ptr, sizeof ptr, "/%s", section);
    if (!arr || json_is_null(arr))
        return VC_OK;
    if (!json_is_array(arr))
        return kc_err(f, ptr, "expected a list");
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        snprintf(ptr, sizeof ptr, "/%s/%zu", section, i);
        if (!json_is_object(e))
            return kc_err(f, ptr, "expected a mapping with name and %s", inner);
        json_t *name = json_object_get(e, "name");
        char p2[160];
        snprintf(p2, sizeof p2, "%s/name", ptr);
        if (!json_is_string(name) || !*json_string_value(name))
            return kc_err(f, name ? p2 : ptr, "expected a non-empty string name");
        json_t *in = json_object_get(e, inner);
        snprintf(p2, sizeof p2, "%s/%s", ptr, inner);
        if (in && !json_is_object(in) && !json_is_null(in))
            return kc_err(f, p2, "expected a mapping");
    }
    return VC_OK;
}

/* Find the first entry named `name` in `section` across files. */
static json_t *find_named(const kc_set *s, const char *section, const char *inner, const char *name,
                          const kc_file **out_file, size_t *out_index)
{
    for (size_t fi = 0; fi < s->n; fi++) {
        json_t *arr = json_object_get(s->files[fi].doc, section);
        size_t i;
        json_t *e;
        json_array_foreach(arr, i, e) {
            if (vc__streq(json_string_value(json_object_get(e, "name")), name)) {
                *out_file = &s->files[fi];
                *out_index = i;
                json_t *in = json_object_get(e, inner);
                return in ? in : json_null();
            }
        }
    }
    return NULL;
}

typedef struct field_ctx {
    const kc_file *f;
    char base[128];
    json_t *obj;
} field_ctx;

static int get_str(field_ctx *c, const char *key, const char **out)
{
    *out = NULL;
    json_t *v = json_object_get(c->obj, key);
    if (!v || json_is_null(v))
        return VC_OK;
    if (!json_is_string(v)) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", c->base, key);
        return kc_err(c->f, p, "expected a string");
    }
    *out = json_string_value(v);
    return VC_OK;
}

static int get_bool(field_ctx *c, const char *key, bool *out)
{
    json_t *v = json_object_get(c->obj, key);
    if (!v || json_is_null(v))
        return VC_OK;
    if (!json_is_boolean(v)) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", c->base, key);
        return kc_err(c->f, p, "expected true or false");
    }
    *out = json_is_true(v);
    return VC_OK;
}

/* file or inline base64 data into out buffer */
static int get_pem(field_ctx *c, const char *file_key, const char *data_key,
                   unsigned char **out, size_t *out_len)
{
    const char *file = NULL, *data = NULL;
    int r;
    if ((r = get_str(c, file_key, &file)) < 0 || (r = get_str(c, data_key, &data)) < 0)
        return r;
    if (data && *data) {
        if (vc__base64_decode(data, strlen(data), out, out_len) < 0) {
            char p[256];
            snprintf(p, sizeof p, "%s/%s", c->base, data_key);
            return kc_err(c->f, p, "not valid base64");
        }
        return VC_OK;
    }
    if (file && *file) {
        char *path = vc__path_join(c->f->dir, file);
        if (!path)
            return vc__error_oom();
        char *txt = NULL;
        size_t len = 0;
        r = vc__file_read(path, &txt, &len);
        if (r < 0) {
            char p[256];
            snprintf(p, sizeof p, "%s/%s", c->base, file_key);
            const vc_error *e = vc_error_last();
            char *m = vc__strdup(e->message);
            kc_err(c->f, p, "cannot read %s", m ? m : path);
            vc__free(m);
            vc__free(path);
            return VC_ECONFIG;
        }
        vc__free(path);
        *out = (unsigned char *)txt;
        *out_len = len;
    }
    return VC_OK;
}

static int dupstr(char **dst, const char *src)
{
    if (!src)
        return VC_OK;
    *dst = vc__strdup(src);
    return *dst ? VC_OK : vc__error_oom();
}

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        vc__free(*p);
    vc__free(v);
}

static void exec_free(vc__exec_cfg *e)
{
    if (!e)
        return;
    vc__free(e->command);
    strv_free(e->args);
    strv_free(e->env);
    vc__free(e->api_version);
    vc__free(e->install_hint);
    vc__free(e);
}

void vc__kube_cfg_clear(vc__kube_cfg *c)
{
    vc__free(c->server);
    vc__free(c->context);
    vc__free(c->cluster_name);
    vc__free(c->user_name);
    vc__free(c->namespace_);
    vc__free(c->ca_data);
    vc__free(c->cert_data);
    vc__free(c->key_data);
    vc__free(c->token);
    vc__free(c->token_file);
    vc__free(c->username);
    vc__free(c->password);
    vc__free(c->proxy_url);
    vc__free(c->tls_server_name);
    vc__free(c->source);
    exec_free(c->exec);
    memset(c, 0, sizeof(*c));
}

static int parse_exec(field_ctx *uc, json_t *exec, vc__kube_cfg *out)
{
    field_ctx c = { uc->f, "", exec };
    snprintf(c.base, sizeof c.base, "%.100s/exec", uc->base);
    if (!json_is_object(exec))
        return kc_err(uc->f, c.base, "expected a mapping");
    const char *cmd = NULL, *apiv = NULL, *hint = NULL;
    bool pci = false;
    int r;
    if ((r = get_str(&c, "command", &cmd)) < 0 || (r = get_str(&c, "apiVersion", &apiv)) < 0 ||
        (r = get_str(&c, "installHint", &hint)) < 0 || (r = get_bool(&c, "provideClusterInfo", &pci)) < 0)
        return r;
    if (!cmd || !*cmd) {
        char p[200];
        snprintf(p, sizeof p, "%s/command", c.base);
        return kc_err(uc->f, json_object_get(exec, "command") ? p : c.base, "exec plugin needs a command");
    }
    vc__exec_cfg *e = vc__calloc(1, sizeof(*e));
    if (!e)
        return vc__error_oom();
    out->exec = e;
    e->provide_cluster_info = pci;
    if (dupstr(&e->command, cmd) < 0 || dupstr(&e->api_version, apiv) < 0 || dupstr(&e->install_hint, hint) < 0)
        return VC_ENOMEM;
    /* a relative command with a slash is relative to the kubeconfig file */
    if (strchr(cmd, '/') && cmd[0] != '/') {
        char *abs = vc__path_join(uc->f->dir, cmd);
        if (!abs)
            return vc__error_oom();
        vc__free(e->command);
        e->command = abs;
    }
    json_t *args = json_object_get(exec, "args");
    size_t n = json_is_array(args) ? json_array_size(args) : 0;
    if (args && !json_is_null(args) && !json_is_array(args)) {
        char p[200];
        snprintf(p, sizeof p, "%s/args", c.base);
        return kc_err(uc->f, p, "expected a list of strings");
    }
    e->args = vc__calloc(n + 1, sizeof(char *));
    if (!e->args)
        return vc__error_oom();
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(args, i);
        if (!json_is_string(a)) {
            char p[200];
            snprintf(p, sizeof p, "%s/args/%zu", c.base, i);
            return kc_err(uc->f, p, "expected a string");
        }
        if (dupstr(&e->args[i], json_string_value(a)) < 0)
            return VC_ENOMEM;
    }
    json_t *env = json_object_get(exec, "env");
    n = json_is_array(env) ? json_array_size(env) : 0;
    if (env && !json_is_null(env) && !json_is_array(env)) {
        char p[200];
        snprintf(p, sizeof p, "%s/env", c.base);
        return kc_err(uc->f, p, "expected a list of {name, value}");
    }
    e->env = vc__calloc(n + 1, sizeof(char *));
    if (!e->env)
        return vc__error_oom();
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(env, i);
        const char *nm = json_string_value(json_object_get(a, "name"));
        const char *vl = json_string_value(json_object_get(a, "value"));
        if (!nm || !vl) {
            char p[200];
            snprintf(p, sizeof p, "%s/env/%zu", c.base, i);
            return kc_err(uc->f, p, "expected {name: string, value: string}");
        }
        e->env[i] = vc__sprintf("%s=%s", nm, vl);
        if (!e->env[i])
            return vc__error_oom();
    }
    return VC_OK;
}

static int resolve(const kc_set *s, const char *context_override, vc__kube_cfg *out)
{
    int r;
    for (size_t i = 0; i < s->n; i++) {
        const kc_file *f = &s->files[i];
        json_t *cc = json_object_get(f->doc, "current-context");
        if (cc && !json_is_null(cc) && !json_is_string(cc))
            return kc_err(f, "/current-context", "expected a string");
        if ((r = check_section(f, "clusters", "cluster")) < 0 || (r = check_section(f, "users", "user")) < 0 ||
            (r = check_section(f, "contexts", "context")) < 0)
            return r;
    }
    const char *ctx_name = context_override;
    if (vc__str_empty(ctx_name)) {
        for (size_t i = 0; i < s->n && vc__str_empty(ctx_name); i++)
            ctx_name = json_string_value(json_object_get(s->files[i].doc, "current-context"));
    }
    const char *files_desc = s->n ? s->files[0].path : "(none)";
    if (vc__str_empty(ctx_name))
        return vc__error(VC_ECONFIG, VC_ERRCLASS_KUBECONFIG,
                         "kubeconfig %s%s: no current-context is set and no context was given",
                         files_desc, s->n > 1 ? " (and others)" : "");
    const kc_file *cf = NULL;
    size_t ci = 0;
    json_t *ctx = find_named(s, "contexts", "context", ctx_name, &cf, &ci);
    if (!ctx)
        return vc__error(VC_ECONFIG, VC_ERRCLASS_KUBECONFIG, "kubeconfig %s%s: context \"%s\" not found",
                         files_desc, s->n > 1 ? " (and others)" : "", ctx_name);
    field_ctx c = { cf, "", ctx };
    snprintf(c.base, sizeof c.base, "/contexts/%zu/context", ci);
    const char *cluster = NULL, *user = NULL, *ns = NULL;
    if ((r = get_str(&c, "cluster", &cluster)) < 0 || (r = get_str(&c, "user", &user)) < 0 ||
        (r = get_str(&c, "namespace", &ns)) < 0)
        return r;
    if (vc__str_empty(cluster))
        return kc_err(cf, c.base, "context \"%s\" names no cluster", ctx_name);
    if (dupstr(&out->context, ctx_name) < 0 || dupstr(&out->cluster_name, cluster) < 0 ||
        dupstr(&out->user_name, user) < 0 || dupstr(&out->namespace_, vc__str_empty(ns) ? NULL : ns) < 0)
        return VC_ENOMEM;

    const kc_file *clf = NULL;
    size_t cli = 0;
    json_t *cl = find_named(s, "clusters", "cluster", cluster, &clf, &cli);
    if (!cl)
        return kc_err(cf, c.base, "cluster \"%s\" (of context \"%s\") not found", cluster, ctx_name);
    field_ctx cc = { clf, "", cl };
    snprintf(cc.base, sizeof cc.base, "/clusters/%zu/cluster", cli);
    if (!json_is_object(cl))
        return kc_err(clf, cc.base, "cluster \"%s\" is empty", cluster);
    const char *server = NULL, *proxy = NULL, *sni = NULL;
    if ((r = get_str(&cc, "server", &server)) < 0 || (r = get_str(&cc, "proxy-url", &proxy)) < 0 ||
        (r = get_str(&cc, "tls-server-name", &sni)) < 0 || (r = get_bool(&cc, "insecure-skip-tls-verify", &out->insecure)) < 0)
        return r;
    if (vc__str_empty(server)) {
        char p[200];
        snprintf(p, sizeof p, "%s/server", cc.base);
        return kc_err(clf, json_object_get(cl, "server") ? p : cc.base, "cluster \"%s\" has no server", cluster);
    }
    if (!vc__str_startswith(server, "https://") && !vc__str_startswith(server, "http://")) {
        char p[200];
        snprintf(p, sizeof p, "%s/server", cc.base);
        return kc_err(clf, p, "server \"%s\" must start with https:// or http://", server);
    }
    if ((r = dupstr(&out->server, server)) < 0 || (r = dupstr(&out->proxy_url, proxy)) < 0 ||
        (r = dupstr(&out->tls_server_name, sni)) < 0)
        return r;
    size_t sl = strlen(out->server);
    while (sl > 0 && out->server[sl - 1] == '/')
        out->server[--sl] = '\0';
    if ((r = get_pem(&cc, "certificate-authority", "certificate-authority-data", &out->ca_data, &out->ca_len)) < 0)
        return r;

    if (vc__str_empty(user))
        return VC_OK; /* anonymous */
    const kc_file *uf = NULL;
    size_t ui = 0;
    json_t *u = find_named(s, "users", "user", user, &uf, &ui);
    if (!u)
        return kc_err(cf, c.base, "user \"%s\" (of context \"%s\") not found", user, ctx_name);
    if (!json_is_object(u))
        return VC_OK;
    field_ctx uc = { uf, "", u };
    snprintf(uc.base, sizeof uc.base, "/users/%zu/user", ui);
    if ((r = get_pem(&uc, "client-certificate", "client-certificate-data", &out->cert_data, &out->cert_len)) < 0 ||
        (r = get_pem(&uc, "client-key", "client-key-data", &out->key_data, &out->key_len)) < 0)
        return r;
    if ((out->cert_data == NULL) != (out->key_data == NULL))
        return kc_err(uf, uc.base, "user \"%s\" has a client certificate without a key (or a key without a certificate)", user);
    const char *token = NULL, *token_file = NULL, *un = NULL, *pw = NULL;
    if ((r = get_str(&uc, "token", &token)) < 0 || (r = get_str(&uc, "tokenFile", &token_file)) < 0 ||
        (r = get_str(&uc, "username", &un)) < 0 || (r = get_str(&uc, "password", &pw)) < 0)
        return r;
    if ((r = dupstr(&out->token, vc__str_empty(token) ? NULL : token)) < 0 ||
        (r = dupstr(&out->username, un)) < 0 || (r = dupstr(&out->password, pw)) < 0)
        return r;
    if (!vc__str_empty(token_file)) {
        out->token_file = vc__path_join(uf->dir, token_file);
        if (!out->token_file)
            return vc__error_oom();
    }
    json_t *ap = json_object_get(u, "auth-provider");
    if (ap && !json_is_null(ap)) {
        const char *apn = json_string_value(json_object_get(ap, "name"));
        char p[200];
        snprintf(p, sizeof p, "%s/auth-provider", uc.base);
        return kc_err(uf, p,
                      "auth-provider \"%s\" is not supported (it was removed from kubectl too); "
                      "use an exec credential plugin instead", apn ? apn : "?");
    }
    json_t *ex = json_object_get(u, "exec");
    if (ex && !json_is_null(ex) && (r = parse_exec(&uc, ex, out)) < 0)
        return r;
    return VC_OK;
}

static int split_and_load(kc_set *s, const char *list, bool explicit_list)
{
    char *copy = vc__strdup(list);
    if (!copy)
        return vc__error_oom();
    int r = VC_OK;
    char *save = NULL;
    for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
        if (!*p)
            continue;
        bool dup = false;
        for (size_t i = 0; i < s->n; i++)
            if (!strcmp(s->files[i].path, p))
                dup = true;
        if (dup)
            continue;
        /* kubectl: KUBECONFIG entries that do not exist are skipped; an
         * explicit --kubeconfig must exist. */
        if ((r = load_file(s, p, NULL, explicit_list)) < 0)
            break;
    }
    vc__free(copy);
    return r;
}

int vc__kubeconfig_load(vc__kube_cfg *out, const char *paths, const char *data, const char *context)
{
    memset(out, 0, sizeof(*out));
    kc_set s = { 0 };
    int r;
    if (data) {
        r = load_file(&s, "<inline kubeconfig>", data, true);
    } else if (!vc__str_empty(paths)) {
        r = split_and_load(&s, paths, true);
    } else {
        const char *env = getenv("KUBECONFIG");
        if (!vc__str_empty(env)) {
            r = split_and_load(&s, env, false);
            if (r == VC_OK && s.n == 0)
                r = vc__error(VC_ECONFIG, VC_ERRCLASS_KUBECONFIG,
                              "kubeconfig: none of the files in KUBECONFIG=%s exists", env);
        } else {
            const char *home = getenv("HOME");
            char *def = vc__sprintf("%s/.kube/config", home ? home : "");
            if (!def)
                return vc__error_oom();
            r = load_file(&s, def, NULL, false);
            if (r == VC_OK && s.n == 0)
                r = vc__error(VC_ENOTFOUND, VC_ERRCLASS_KUBECONFIG,
                              "kubeconfig: %s does not exist and KUBECONFIG is not set", def);
            vc__free(def);
        }
    }
    if (r == VC_OK)
        r = resolve(&s, context, out);
    if (r == VC_OK && s.n) {
        out->source = s.n > 1 ? vc__sprintf("%s (+%zu more)", s.files[0].path, s.n - 1) : vc__strdup(s.files[0].path);
        if (!out->source)
            r = vc__error_oom();
    }
    kc_set_free(&s);
    if (r < 0) {
        vc__error_saved sv;
        vc__error_save(&sv);
        vc__kube_cfg_clear(out);
        vc__error_restore(&sv);
        return r == VC_ENOMEM ? r : VC_ECONFIG;
    }
    return VC_OK;
}

int vc__kube_incluster(vc__kube_cfg *out, const char *dir)
{
    memset(out, 0, sizeof(*out));
    const char *d = dir ? dir : "/var/run/secrets/kubernetes.io/serviceaccount";
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return vc__error(VC_ECONFIG, VC_ERRCLASS_KUBECONFIG,
                         "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set "
                         "(not running in a pod?)");
    int r;
    bool v6 = strchr(host, ':') != NULL;
    out->server = vc__sprintf(v6 ? "https://[%s]:%s" : "https://%s:%s", host, port);
    out->token_file = vc__sprintf("%s/token", d);
    out->source = vc__sprintf("in-cluster (%s)", d);
    out->context = vc__strdup("");
    char *ca_path = vc__sprintf("%s/ca.crt", d);
    char *ns_path = vc__sprintf("%s/namespace", d);
    if (!out->server || !out->token_file || !out->source || !ca_path || !ns_path || !out->context) {
        vc__free(ca_path);
        vc__free(ns_path);
        vc__kube_cfg_clear(out);
        return vc__error_oom();
    }
    if (access(out->token_file, R_OK) != 0) {
        r = vc__error(VC_ECONFIG, VC_ERRCLASS_KUBECONFIG, "in-cluster config: cannot read %s", out->token_file);
        goto fail;
    }
    char *txt = NULL;
    size_t len = 0;
    if (vc__file_read(ca_path, &txt, &len) < 0) {
        vc__error_prefix("in-cluster config");
        r = VC_ECONFIG;
        goto fail;
    }
    out->ca_data = (unsigned char *)txt;
    out->ca_len = len;
    if (vc__file_read(ns_path, &txt, &len) == VC_OK) {
        while (len > 0 && (txt[len - 1] == '\n' || txt[len - 1] == ' '))
            txt[--len] = '\0';
        out->namespace_ = txt;
    }
    vc_error_clear();
    vc__free(ca_path);
    vc__free(ns_path);
    return VC_OK;
fail:
    vc__free(ca_path);
    vc__free(ns_path);
    {
        vc__error_saved sv;
        vc__error_save(&sv);
        vc__kube_cfg_clear(out);
        vc__error_restore(&sv);
    }
    return r;
}
