/* A single-context kubeconfig as YAML text (what `vcluster connect --print`
 * and the vc-<name> Secret's `config` key hold). */
#include <jansson.h>
#include <string.h>

#include "pki/pki.h"
#include "util/yaml.h"

static int set_b64(json_t *obj, const char *key, const char *pem)
{
    char *b64 = vc__base64_encode((const unsigned char *)pem, strlen(pem));
    if (!b64)
        return vc__error_oom();
    int r = json_object_set_new(obj, key, json_string(b64)) < 0 ? vc__error_oom() : VC_OK;
    vc__free(b64);
    return r;
}

int vc__kubeconfig_render(vc_buf *out, const vc__kubeconfig_spec *spec)
{
    if (!out || !spec || vc__str_empty(spec->server))
        return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "kubeconfig: a server URL is required");
    if (!vc__str_startswith(spec->server, "https://") && !vc__str_startswith(spec->server, "http://"))
        return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "kubeconfig: server \"%.100s\" is not an http(s) URL",
                         spec->server);
    if ((spec->client_cert_pem == NULL) != (spec->client_key_pem == NULL))
        return vc__error(VC_EINVAL, VC_ERRCLASS_PKI, "kubeconfig: a client certificate needs its key and the other way");
    const char *ctx = vc__str_empty(spec->context) ? "vcluster" : spec->context;
    const char *cluster = vc__str_empty(spec->cluster_name) ? ctx : spec->cluster_name;
    const char *user = vc__str_empty(spec->user_name) ? ctx : spec->user_name;

    json_t *doc = json_object(), *cl = json_object(), *us = json_object(), *cx = json_object();
    int r = (doc && cl && us && cx) ? VC_OK : vc__error_oom();
    if (r == VC_OK && json_object_set_new(cl, "server", json_string(spec->server)) < 0)
        r = vc__error_oom();
    if (r == VC_OK && spec->ca_pem)
        r = set_b64(cl, "certificate-authority-data", spec->ca_pem);
    if (r == VC_OK && spec->insecure && json_object_set_new(cl, "insecure-skip-tls-verify", json_true()) < 0)
        r = vc__error_oom();
    if (r == VC_OK && spec->client_cert_pem)
        r = set_b64(us, "client-certificate-data", spec->client_cert_pem);
    if (r == VC_OK && spec->client_key_pem)
        r = set_b64(us, "client-key-data", spec->client_key_pem);
    if (r == VC_OK && spec->token && json_object_set_new(us, "token", json_string(spec->token)) < 0)
        r = vc__error_oom();
    if (r == VC_OK && (json_object_set_new(cx, "cluster", json_string(cluster)) < 0 ||
                       json_object_set_new(cx, "user", json_string(user)) < 0 ||
                       (!vc__str_empty(spec->ns) && json_object_set_new(cx, "namespace", json_string(spec->ns)) < 0)))
        r = vc__error_oom();
    if (r == VC_OK) {
        json_t *full = json_pack("{s:s, s:s, s:[{s:s, s:O}], s:[{s:s, s:O}], s:[{s:s, s:O}], s:s, s:{}}",
                                 "apiVersion", "v1", "kind", "Config",
                                 "clusters", "name", cluster, "cluster", cl,
                                 "users", "name", user, "user", us,
                                 "contexts", "name", ctx, "context", cx,
                                 "current-context", ctx, "preferences");
        if (!full) {
            r = vc__error_oom();
        } else {
            json_decref(doc);
            doc = full;
        }
    }
    if (r == VC_OK && vc__buf_set(out, "") < 0)
        r = VC_ENOMEM;
    if (r == VC_OK)
        r = vc__yaml_emit(out, doc);
    json_decref(doc);
    json_decref(cl);
    json_decref(us);
    json_decref(cx);
    return r;
}
