/* Editing the user's kubeconfig file: merge a virtual cluster's context,
 * remove it, switch back to the previous context (what `vcluster connect`
 * and `disconnect` do). The previous context is remembered in
 * $XDG_STATE_HOME/libvcluster/previous-contexts.json, keyed by file. */
#include <string.h>
#include <sys/stat.h>

#include "lifecycle/lifecycle.h"
#include "lifecycle/proc.h"
#include "util/yaml.h"

static char *default_path(void)
{
    const char *env = getenv("KUBECONFIG");
    if (env && *env) {
        const char *colon = strchr(env, ':');
        return colon ? vc__strndup(env, (size_t)(colon - env)) : vc__strdup(env);
    }
    const char *home = getenv("HOME");
    return vc__sprintf("%s/.kube/config", home ? home : "");
}

static int load(const char *path, json_t **out)
{
    *out = NULL;
    char *txt = NULL;
    size_t len = 0;
    int rc = vc__file_read(path, &txt, &len);
    if (rc == VC_ENOTFOUND) {
        *out = json_pack("{s:s,s:s,s:[],s:[],s:[],s:s,s:{}}", "apiVersion", "v1", "kind", "Config", "clusters", "users",
                         "contexts", "current-context", "", "preferences");
        vc_error_clear();
        return *out ? VC_OK : vc__error_oom();
    }
    if (rc < 0)
        return rc;
    json_t *docs = NULL;
    rc = vc__yaml_parse(txt, len, path, &docs, NULL);
    vc__free(txt);
    if (rc < 0)
        return vc__error(VC_ECONFIG, VC_ERRCLASS_KUBECONFIG, "%s", vc_error_last()->message);
    json_t *d = json_incref(json_array_get(docs, 0));
    json_decref(docs);
    if (!d)
        d = json_object();
    if (!json_is_object(d)) {
        json_decref(d);
        return vc__error(VC_ECONFIG, VC_ERRCLASS_KUBECONFIG, "%s is not a kubeconfig (not a mapping)", path);
    }
    static const char *const lists[] = { "clusters", "users", "contexts" };
    for (size_t i = 0; i < 3; i++) {
        json_t *l = json_object_get(d, lists[i]);
        if (!l || json_is_null(l))
            json_object_set_new(d, lists[i], json_array());
        else if (!json_is_array(l)) {
            json_decref(d);
            return vc__error(VC_ECONFIG, VC_ERRCLASS_KUBECONFIG, "%s: %s is not a list", path, lists[i]);
        }
    }
    if (!json_object_get(d, "apiVersion"))
        json_object_set_new(d, "apiVersion", json_string("v1"));
    if (!json_object_get(d, "kind"))
        json_object_set_new(d, "kind", json_string("Config"));
    *out = d;
    return VC_OK;
}

static int save(const char *path, json_t *d)
{
    char *dir = vc__path_dirname(path);
    if (dir)
        vc__mkdir_p(dir, 0700);
    vc__free(dir);
    vc_buf b = VC_BUF_INIT;
    int rc = vc__yaml_emit(&b, d);
    if (rc == VC_OK)
        rc = vc__file_write(path, b.ptr, b.size, 0600);
    vc_buf_dispose(&b);
    return rc;
}

/* Replace or append the entry named like `e` in list `l`. */
static void upsert(json_t *l, json_t *e)
{
    const char *name = vc__lc_str(e, "name");
    size_t i;
    json_t *x;
    json_array_foreach(l, i, x) {
        if (vc__streq(vc__lc_str(x, "name"), name)) {
            json_array_set(l, i, e);
            return;
        }
    }
    json_array_append(l, e);
}

static char *prev_file(void)
{
    const char *x = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    return !vc__str_empty(x) ? vc__sprintf("%s/libvcluster/previous-contexts.json", x)
                             : vc__sprintf("%s/.local/state/libvcluster/previous-contexts.json", home ? home : "/tmp");
}

static void remember_previous(const char *path, const char *ctx)
{
    char *pf = prev_file();
    if (!pf)
        return;
    char *txt = NULL;
    size_t len = 0;
    json_t *o = NULL;
    if (vc__file_read(pf, &txt, &len) == VC_OK)
        o = json_loadb(txt, len, 0, NULL);
    vc__free(txt);
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    json_object_set_new(o, path, json_string(ctx));
    char *out = json_dumps(o, JSON_INDENT(2));
    char *dir = vc__path_dirname(pf);
    if (dir)
        vc__mkdir_p(dir, 0700);
    if (out)
        vc__file_write(pf, out, strlen(out), 0600);
    vc__free(dir);
    vc__free(out);
    json_decref(o);
    vc__free(pf);
    vc_error_clear();
}

static char *take_previous(const char *path)
{
    char *pf = prev_file();
    char *txt = NULL;
    size_t len = 0;
    char *r = NULL;
    if (pf && vc__file_read(pf, &txt, &len) == VC_OK) {
        json_t *o = json_loadb(txt, len, 0, NULL);
        const char *c = json_string_value(json_object_get(o, path));
        if (c) {
            r = vc__strdup(c);
            json_object_del(o, path);
            char *out = json_dumps(o, JSON_INDENT(2));
            if (out)
                vc__file_write(pf, out, strlen(out), 0600);
            vc__free(out);
        }
        json_decref(o);
    }
    vc__free(txt);
    vc__free(pf);
    vc_error_clear();
    return r;
}

int vc_kubeconfig_merge(const char *path, const char *kubeconfig_yaml, const char *use_context)
{
    if (!kubeconfig_yaml)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "kubeconfig_yaml is required");
    char *p = path ? vc__strdup(path) : default_path();
    if (!p)
        return vc__error_oom();
    json_t *dst = NULL, *docs = NULL;
    int rc = load(p, &dst);
    if (rc == VC_OK) {
        rc = vc__yaml_parse(kubeconfig_yaml, strlen(kubeconfig_yaml), "<new kubeconfig>", &docs, NULL);
        if (rc < 0)
            rc = VC_ECONFIG;
    }
    json_t *src = json_array_get(docs, 0);
    if (rc == VC_OK && !json_is_object(src))
        rc = vc__error(VC_ECONFIG, VC_ERRCLASS_KUBECONFIG, "the kubeconfig to merge is empty");
    if (rc == VC_OK) {
        static const char *const lists[] = { "clusters", "users", "contexts" };
        for (size_t i = 0; i < 3; i++) {
            size_t k;
            json_t *e;
            json_array_foreach(json_object_get(src, lists[i]), k, e) upsert(json_object_get(dst, lists[i]), e);
        }
        if (use_context) {
            const char *cur = json_string_value(json_object_get(dst, "current-context"));
            if (cur && *cur && strcmp(cur, use_context) != 0 && !strstr(cur, "vcluster_"))
                remember_previous(p, cur);
            json_object_set_new(dst, "current-context", json_string(use_context));
        }
        rc = save(p, dst);
    }
    json_decref(dst);
    json_decref(docs);
    vc__free(p);
    return rc;
}

static bool used_by_context(json_t *contexts, const char *key, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(contexts, i, c) {
        if (vc__streq(vc__lc_str(json_object_get(c, "context"), key), name))
            return true;
    }
    return false;
}

static void remove_named(json_t *l, const char *name)
{
    for (size_t i = json_array_size(l); i-- > 0;)
        if (vc__streq(vc__lc_str(json_array_get(l, i), "name"), name))
            json_array_remove(l, i);
}

int vc_kubeconfig_remove_context(const char *path, const char *context)
{
    if (!context)
        return vc__error(VC_EINVAL, VC_ERRCLASS_INVALID, "context is required");
    char *p = path ? vc__strdup(path) : default_path();
    if (!p)
        return vc__error_oom();
    json_t *d = NULL;
    int rc = load(p, &d);
    if (rc == VC_OK) {
        json_t *contexts = json_object_get(d, "contexts");
        json_t *found = NULL;
        size_t i;
        json_t *c;
        json_array_foreach(contexts, i, c) {
            if (vc__streq(vc__lc_str(c, "name"), context))
                found = json_incref(c);
        }
        if (!found) {
            rc = vc__error(VC_ENOTFOUND, VC_ERRCLASS_KUBECONFIG, "%s has no context %s", p, context);
        } else {
            remove_named(contexts, context);
            const char *cl = vc__lc_str(json_object_get(found, "context"), "cluster");
            const char *us = vc__lc_str(json_object_get(found, "context"), "user");
            if (cl && !used_by_context(contexts, "cluster", cl))
                remove_named(json_object_get(d, "clusters"), cl);
            if (us && !used_by_context(contexts, "user", us))
                remove_named(json_object_get(d, "users"), us);
            if (vc__streq(json_string_value(json_object_get(d, "current-context")), context)) {
                char *prev = take_previous(p);
                json_object_set_new(d, "current-context", json_string(prev ? prev : ""));
                vc__free(prev);
            }
            json_decref(found);
            rc = save(p, d);
        }
    }
    json_decref(d);
    vc__free(p);
    return rc;
}

int vc_kubeconfig_restore_context(const char *path, vc_buf *out_context)
{
    char *p = path ? vc__strdup(path) : default_path();
    if (!p)
        return vc__error_oom();
    json_t *d = NULL;
    int rc = load(p, &d);
    if (rc == VC_OK) {
        char *prev = take_previous(p);
        if (!prev) {
            rc = vc__error(VC_ENOTFOUND, VC_ERRCLASS_KUBECONFIG,
                           "no previous context remembered for %s (not connected with vcluster connect?)", p);
        } else {
            json_object_set_new(d, "current-context", json_string(prev));
            rc = save(p, d);
            if (rc == VC_OK && out_context) {
                vc_buf_dispose(out_context);
                rc = vc__buf_set(out_context, prev);
            }
            vc__free(prev);
        }
    }
    json_decref(d);
    vc__free(p);
    return rc;
}
