/* The exported kubeconfig: the Secret vc-<vcluster> in the host namespace,
 * written by the syncer as upstream's WriteKubeConfigToSecret does
 * (pkg/setup/controllers.go, pkg/util/kubeconfig/kubeconfig.go): the
 * syncer's own connection to the virtual API server (its CA, client
 * certificate and key, or token), the server replaced by
 * exportKubeConfig.server when set, insecure-skip-tls-verify (and no CA)
 * with exportKubeConfig.insecure, the context, cluster and user renamed to
 * exportKubeConfig.context when set. Keys config, certificate-authority,
 * client-certificate, client-key and token (empty when the connection has
 * none), labels app=vcluster and vcluster-name=<vcluster>, the vcluster
 * Service as owner when known. Written once the informers have listed, then
 * again every 10 s until it succeeds (upstream polls the same way); the
 * Secret is merge-patched, so labels the lifecycle set stay.
 *
 * Ownership (doc/syncer.md): the lifecycle (vc_cluster_create/upgrade)
 * writes vc-<vcluster> once at create so `connect` works before the syncer
 * runs; the syncer rewrites it at every start. Neither rewrites the other's
 * in a loop. */
#include <string.h>

#include "config/config.h"
#include "sync/sync.h"
#include "util/yaml.h"

#define RETRY_MS 10000

typedef struct kc_state {
    char *server, *context; /* exportKubeConfig.server/context, or NULL */
    bool insecure;
    bool done, pending, created;
    int64_t next_ms;
} kc_state;

static void kc_state_free(void *p)
{
    kc_state *k = p;
    if (!k)
        return;
    vc__free(k->server);
    vc__free(k->context);
    vc__free(k);
}

static int set_b64(json_t *obj, const char *key, const unsigned char *data, size_t len)
{
    char *b = vc__base64_encode(data ? data : (const unsigned char *)"", data ? len : 0);
    if (!b)
        return vc__error_oom();
    int rc = json_object_set_new(obj, key, json_string(b)) < 0 ? vc__error_oom() : VC_OK;
    vc__free(b);
    return rc;
}

/* The kubeconfig YAML of the exported view (*out vc_buf). */
static int render(vc_syncer *s, const kc_state *k, vc_buf *out)
{
    const vc__kube_cfg *c = &s->virt->cfg;
    const char *ctx = k->context ? k->context : (!vc__str_empty(c->context) ? c->context : "vcluster");
    const char *cl_name = k->context ? k->context : (!vc__str_empty(c->cluster_name) ? c->cluster_name : ctx);
    const char *us_name = k->context ? k->context : (!vc__str_empty(c->user_name) ? c->user_name : ctx);
    const char *server = k->server ? k->server : c->server;
    json_t *cl = json_pack("{s:s}", "server", server ? server : "");
    json_t *us = json_object();
    int rc = cl && us ? VC_OK : vc__error_oom();
    if (rc == VC_OK && k->insecure && json_object_set_new(cl, "insecure-skip-tls-verify", json_true()) < 0)
        rc = vc__error_oom();
    if (rc == VC_OK && !k->insecure && c->ca_data)
        rc = set_b64(cl, "certificate-authority-data", c->ca_data, c->ca_len);
    if (rc == VC_OK && c->cert_data)
        rc = set_b64(us, "client-certificate-data", c->cert_data, c->cert_len);
    if (rc == VC_OK && c->key_data)
        rc = set_b64(us, "client-key-data", c->key_data, c->key_len);
    if (rc == VC_OK && !vc__str_empty(c->token) && json_object_set_new(us, "token", json_string(c->token)) < 0)
        rc = vc__error_oom();
    json_t *doc = rc == VC_OK ? json_pack("{s:s,s:s,s:[{s:s,s:O}],s:[{s:s,s:O}],s:[{s:s,s:{s:s,s:s}}],s:s,s:{}}",
                                          "apiVersion", "v1", "kind", "Config", "clusters", "name", cl_name, "cluster",
                                          cl, "users", "name", us_name, "user", us, "contexts", "name", ctx, "context",
                                          "cluster", cl_name, "user", us_name, "current-context", ctx, "preferences")
                              : NULL;
    if (rc == VC_OK && !doc)
        rc = vc__error_oom();
    if (rc == VC_OK)
        rc = vc__yaml_emit(out, doc);
    json_decref(doc);
    json_decref(cl);
    json_decref(us);
    return rc;
}

/* The Secret as a merge patch (create: the whole object). */
static char *secret_json(vc_syncer *s, const kc_state *k, bool create)
{
    vc_buf kc = VC_BUF_INIT;
    if (render(s, k, &kc) < 0)
        return NULL;
    const vc__kube_cfg *c = &s->virt->cfg;
    json_t *data = json_object();
    int rc = data ? VC_OK : vc__error_oom();
    if (rc == VC_OK)
        rc = set_b64(data, "config", (const unsigned char *)kc.ptr, kc.size);
    if (rc == VC_OK)
        rc = set_b64(data, "certificate-authority", k->insecure ? NULL : c->ca_data, c->ca_len);
    if (rc == VC_OK)
        rc = set_b64(data, "client-certificate", c->cert_data, c->cert_len);
    if (rc == VC_OK)
        rc = set_b64(data, "client-key", c->key_data, c->key_len);
    if (rc == VC_OK)
        rc = set_b64(data, "token", (const unsigned char *)c->token, c->token ? strlen(c->token) : 0);
    vc_buf_dispose(&kc);
    char name[300];
    snprintf(name, sizeof name, "vc-%s", s->name);
    json_t *doc = rc == VC_OK ? json_pack("{s:{s:s,s:{s:s,s:s}},s:s,s:O}", "metadata", "name", name, "labels", "app",
                                          "vcluster", "vcluster-name", s->name, "type", "Opaque", "data", data)
                              : NULL;
    json_decref(data);
    if (doc && create) {
        json_object_set_new(doc, "apiVersion", json_string("v1"));
        json_object_set_new(doc, "kind", json_string("Secret"));
    }
    if (doc && s->owner_uid && s->service_name) {
        /* upstream: the vcluster Service owns it when setOwner is on */
        json_t *ow = json_pack("[{s:s,s:s,s:s,s:s}]", "apiVersion", "v1", "kind", "Service", "name", s->service_name,
                               "uid", s->owner_uid);
        if (s->set_owner && ow)
            json_object_set_new(json_object_get(doc, "metadata"), "ownerReferences", ow);
        else
            json_decref(ow);
    }
    char *t = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    char *r = t ? vc__strdup(t) : NULL;
    vc__free(t);
    return r;
}

static void write_secret(vc_syncer *s, kc_state *k, bool create);

/* The PATCH's expected 404 (no Secret yet: POST it) is no sync error, so
 * these requests go to the loop directly rather than through
 * vc__sync_write (asking vc__leader_may_write themselves: a standby, or a
 * leader past its renew deadline, writes nothing); failures are logged and
 * retried. */
static void written(void *ud, int rc, long http, const char *body, size_t len)
{
    (void)http;
    (void)body;
    (void)len;
    vc_syncer *s = ud;
    vc__ctl *c = vc__sync_ctl_of(s, VC__CTL_KUBECONFIG);
    kc_state *k = c ? c->state : NULL;
    if (!k)
        return;
    k->pending = false;
    if (rc == VC_ENOTFOUND && !k->created) {
        k->created = true; /* not there: create it (once per round) */
        write_secret(s, k, true);
        return;
    }
    if (rc == VC_OK) {
        k->done = true;
        VC__LOGI("sync", "kubeconfig Secret %s/vc-%s written", s->host_ns, s->name);
        return;
    }
    VC__LOGW("sync", "writing the kubeconfig Secret %s/vc-%s: %s (again in %d s)", s->host_ns, s->name,
             vc_error_last()->message, RETRY_MS / 1000);
    k->next_ms = vc__now_ms() + RETRY_MS;
}

static void write_secret(vc_syncer *s, kc_state *k, bool create)
{
    char name[300];
    snprintf(name, sizeof name, "vc-%s", s->name);
    char *body = secret_json(s, k, create);
    char *path = vc__obj_path("v1", "secrets", s->host_ns, create ? NULL : name, NULL);
    /* not through vc__sync_write, so the leader's fence is asked here */
    int64_t now = vc__now_ms();
    int rc = !vc__leader_may_write(s, now) ? VC_ESTATE
             : body && path ? vc__kreq_start(s->loop, s->host, create ? "POST" : "PATCH", path,
                                             create ? "application/json" : "application/merge-patch+json", body,
                                             strlen(body), vc__leader_write_timeout(s, now, 30000), written, s)
                            : vc__error_oom();
    vc__free(body);
    vc__free(path);
    if (rc == VC_OK) {
        k->pending = true;
        s->host_writes++;
    } else {
        k->next_ms = vc__now_ms() + RETRY_MS;
    }
}

static int tick(vc_syncer *s, vc__ctl *c, bool synced, int64_t now)
{
    kc_state *k = c->state;
    /* after the informers listed (the owner Service's uid is known by then
     * when there is one) */
    if (k->done || k->pending || !synced || now < k->next_ms)
        return 0;
    k->created = false;
    write_secret(s, k, false);
    return 1;
}

static int64_t timeout(vc_syncer *s, vc__ctl *c, int64_t now)
{
    (void)s;
    kc_state *k = c->state;
    if (k->done || k->pending)
        return -1;
    return k->next_ms > now ? k->next_ms - now : 0;
}

int vc__ctl_kubeconfig_init(vc_syncer *s, vc__ctl *c, int arg)
{
    (void)arg;
    const vc__cfg_values *cv = vc__config_values(s->cfg);
    kc_state *k = vc__calloc(1, sizeof *k);
    if (!k)
        return vc__error_oom();
    c->name = "kubeconfig";
    c->kind = "Secret";
    c->tick = tick;
    c->timeout = timeout;
    c->state = k;
    c->free_state = kc_state_free;
    if (cv) {
        const char *srv = cv->export_kube_config.server, *ctx = cv->export_kube_config.context;
        if ((!vc__str_empty(srv) && !(k->server = vc__strdup(srv))) ||
            (!vc__str_empty(ctx) && !(k->context = vc__strdup(ctx))))
            return vc__error_oom();
        k->insecure = cv->export_kube_config.insecure;
    }
    return VC_OK;
}
