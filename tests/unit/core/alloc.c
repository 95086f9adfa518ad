/* The allocator hook (vc_global_init(&allocator)), with an allocator that
 * can tell its blocks from libc's: every block carries a header with a magic
 * number and its size, so
 *  - libc free() of one of its blocks frees a pointer malloc never returned,
 *    which AddressSanitizer reports (bad-free) and the test dies;
 *  - free_fn given a pointer it did not make (libc memory handed to
 *    vc_free) finds no magic and counts a failure;
 *  - the live-block count returns to its start after each operation (a leak
 *    through the hook shows at once, not only in LSan's exit report).
 * It drives translate, config, the manifest rendering of vc_cluster_create
 * (VC_CREATE_PRINT against an address nothing listens on: it renders
 * without a cluster) and then, as curl's torture tests do, fails the Nth
 * allocation for every N over a translate and a config load: each run must
 * return an error (VC_ENOMEM or one whose vc_error_last() agrees) or, when
 * the failure was absorbed, the same result as the unfailed run, and must
 * leave no block behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vcluster.h>

#include "canary.h"
#include "test.h"

/* ---------------------------------------------------------------- */
/* the operations                                                    */

static const char k_pod[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-0\",\"namespace\":\"shop\","
    "\"labels\":{\"app\":\"web\",\"tier\":\"front\"},\"annotations\":{\"note\":\"x\"}},"
    "\"spec\":{\"serviceAccountName\":\"default\",\"containers\":[{\"name\":\"c\",\"image\":\"nginx\","
    "\"env\":[{\"name\":\"A\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm\",\"key\":\"a\"}}}],"
    "\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":\"/data\"}]}],"
    "\"volumes\":[{\"name\":\"data\",\"secret\":{\"secretName\":\"s1\"}},"
    "{\"name\":\"cfg\",\"configMap\":{\"name\":\"cm\"}}]}}";

static const char k_inputs[] =
    "{\"namespaceLabels\":{\"team\":\"a\"},\"services\":[{\"metadata\":{\"name\":\"db\",\"namespace\":\"shop\"},"
    "\"spec\":{\"clusterIP\":\"10.96.0.20\",\"ports\":[{\"name\":\"pg\",\"port\":5432,\"protocol\":\"TCP\"}]}}]}";

static const char k_manifests[] =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: shop}\ndata: {a: b}\n"
    "---\napiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: shop}\n"
    "spec: {ports: [{port: 5432}], selector: {app: db}}\n";

static const char k_values[] =
    "controlPlane:\n"
    "  distro:\n    k8s:\n      enabled: true\n"
    "  statefulSet:\n    resources:\n      limits:\n        memory: 2Gi\n"
    "sync:\n  toHost:\n    ingresses:\n      enabled: true\n"
    "  fromHost:\n    nodes:\n      enabled: true\n";

/* One translate: a translator, a pod, a manifest stream, a name. The
 * result text (to compare runs) goes to *out, libc-allocated. */
static int op_translate(char **out)
{
    *out = NULL;
    vc_translate_options o;
    int rc = vc_translate_options_init(&o, VC_TRANSLATE_OPTIONS_VERSION);
    if (rc < 0)
        return rc;
    o.name = "my-vcluster";
    o.kube_ip = "10.96.0.1";
    o.dns_ip = "10.96.0.10";
    vc_translator *t = NULL;
    if ((rc = vc_translator_new(&t, &o)) < 0)
        return rc;
    vc_buf pod = VC_BUF_INIT, man = VC_BUF_INIT, notes = VC_BUF_INIT, name = VC_BUF_INIT;
    if ((rc = vc_translate_to_host(&pod, t, k_pod, k_inputs, 0)) < 0)
        goto out;
    if ((rc = vc_translate_manifests(&man, &notes, t, k_manifests, strlen(k_manifests), "m.yaml", NULL, 0)) < 0)
        goto out;
    if ((rc = vc_translate_host_name(&name, t, "Secret", "shop", "s1")) < 0)
        goto out;
    size_t n = pod.size + man.size + notes.size + name.size + 4;
    *out = malloc(n);
    if (*out)
        snprintf(*out, n, "%s\n%s\n%s\n%s", pod.ptr, man.ptr, notes.ptr ? notes.ptr : "", name.ptr);
out:
    vc_buf_dispose(&pod);
    vc_buf_dispose(&man);
    vc_buf_dispose(&notes);
    vc_buf_dispose(&name);
    vc_translator_free(t);
    return rc;
}

/* One config load: parse values, a --set, read a key back, render it all. */
static int op_config(char **out)
{
    *out = NULL;
    vc_config *c = NULL;
    int rc = vc_config_new(&c);
    if (rc < 0)
        return rc;
    vc_buf y = VC_BUF_INIT, v = VC_BUF_INIT;
    if ((rc = vc_config_load_string(c, k_values, "values.yaml")) < 0)
        goto out;
    if ((rc = vc_config_set(c, "controlPlane.service.spec.type", "NodePort")) < 0)
        goto out;
    if ((rc = vc_config_get(c, "sync.toHost.ingresses.enabled", &v)) < 0)
        goto out;
    if ((rc = vc_config_to_yaml(c, &y)) < 0)
        goto out;
    size_t n = y.size + v.size + 2;
    *out = malloc(n);
    if (*out)
        snprintf(*out, n, "%s\n%s", v.ptr, y.ptr);
out:
    vc_buf_dispose(&y);
    vc_buf_dispose(&v);
    vc_config_free(c);
    return rc;
}

/* The manifests of vc_cluster_create(VC_CREATE_PRINT): the host's service
 * range is looked up at an address nothing listens on and falls back to the
 * default, so no cluster is needed. */
static const char k_kubeconfig[] =
    "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
    "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\n"
    "users: [{name: u, user: {token: t}}]\n"
    "contexts: [{name: c, context: {cluster: c, user: u}}]\n";

static int op_render(char **out)
{
    *out = NULL;
    vc_kube_options ko;
    int rc = vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    if (rc < 0)
        return rc;
    ko.kubeconfig_data = k_kubeconfig;
    ko.flags = VC_KUBE_NO_RETRY;
    ko.timeout_ms = 2000;
    vc_kube *k = NULL;
    if ((rc = vc_kube_new(&k, &ko)) < 0)
        return rc;
    vc_config *c = NULL;
    vc_buf m = VC_BUF_INIT;
    if ((rc = vc_config_new(&c)) < 0)
        goto out;
    if ((rc = vc_config_load_string(c, k_values, "values.yaml")) < 0)
        goto out;
    vc_create_options co;
    if ((rc = vc_create_options_init(&co, VC_CREATE_OPTIONS_VERSION)) < 0)
        goto out;
    co.name = "alloc";
    co.flags = VC_CREATE_PRINT;
    co.config = c;
    if ((rc = vc_cluster_create(k, &co, &m)) < 0)
        goto out;
    *out = m.ptr ? strdup(m.ptr) : NULL;
out:
    vc_buf_dispose(&m);
    vc_config_free(c);
    vc_kube_free(k);
    return rc;
}

/* ---------------------------------------------------------------- */

static void t_operations_through_canary_allocator(void)
{
    struct {
        const char *what;
        int (*op)(char **);
        const char *expect;
    } ops[] = {
        { "translate", op_translate, "my-vcluster" },
        { "config", op_config, "NodePort" },
        { "render", op_render, "kind: StatefulSet" },
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        long live0 = __atomic_load_n(&g_live, __ATOMIC_RELAXED), count0 = g_count;
        char *text = NULL;
        int rc = ops[i].op(&text);
        if (rc < 0)
            fprintf(stderr, "%s: %s\n", ops[i].what, vc_error_last()->message);
        CHECK_INT(rc, VC_OK);
        CHECK_CONTAINS(text, ops[i].expect);
        CHECK(g_count > count0); /* it did go through the hook */
        CHECK_INT(__atomic_load_n(&g_live, __ATOMIC_RELAXED), live0);
        CHECK_INT(g_bad_free, 0);
        printf("# %s: %ld allocations\n", ops[i].what, g_count - count0);
        free(text);
    }
}

/* Fail allocation N, for N = 1 .. the count of an unfailed run. */
static void torture(const char *what, int (*op)(char **))
{
    char *want = NULL;
    long live0 = g_live;
    long c0 = g_count;
    if (op(&want) < 0 || !want) {
        CHECK(!"reference run failed");
        fprintf(stderr, "%s: %s\n", what, vc_error_last()->message);
        free(want);
        return;
    }
    long total = g_count - c0;
    long errors = 0, absorbed = 0, bad = 0, spared0 = g_spared;
    /* VC_TORTURE_ONLY=what runs one operation's sweep, what:N one case (with VC_TORTURE_TRACE=1: and
     * prints where the refused allocation came from) */
    const char *only = getenv("VC_TORTURE_ONLY");
    size_t wl = strlen(what);
    bool mine = only && strncmp(only, what, wl) == 0 && (only[wl] == ':' || !only[wl]);
    long only_n = mine && only[wl] == ':' ? atol(only + wl + 1) : 0;
    if (only && !mine) {
        free(want);
        return;
    }
    for (long n = only_n ? only_n : 1; n <= (only_n ? only_n : total); n++) {
        vc_error_clear();
        pthread_mutex_lock(&g_mu);
        g_count = 0;
        g_fail_at = n;
        g_failed = 0;
        pthread_mutex_unlock(&g_mu);
        char *got = NULL;
        int rc = op(&got);
        pthread_mutex_lock(&g_mu);
        g_fail_at = 0;
        long failed = g_failed;
        pthread_mutex_unlock(&g_mu);
        long live = __atomic_load_n(&g_live, __ATOMIC_RELAXED);
        if (rc < 0) {
            errors++;
            const vc_error *e = vc_error_last();
            if (e->code != rc || !*e->message) {
                bad++;
                fprintf(stderr, "%s, allocation %ld failed: rc %d but vc_error_last() says %d \"%s\"\n", what, n,
                        rc, e->code, e->message);
            }
        } else if (failed) {
            absorbed++;
            if (!got || strcmp(got, want) != 0) {
                bad++;
                fprintf(stderr, "%s, allocation %ld failed: VC_OK with a different result\n", what, n);
            }
        }
        if (live != live0) {
            bad++;
            fprintf(stderr, "%s, allocation %ld failed: %ld blocks leaked\n", what, n, live - live0);
            live0 = live; /* report each leak once */
        }
        free(got);
    }
    CHECK_INT(bad, 0);
    CHECK(errors > 0);
    CHECK_INT(g_bad_free, 0);
    printf("# torture %s: %ld allocations, %ld runs failed cleanly, %ld absorbed the failure, "
           "%ld inside json_load*() not refused\n", what, total, errors, absorbed, g_spared - spared0);
    free(want);
}

static void t_torture_translate(void) { torture("translate", op_translate); }
static void t_torture_config(void) { torture("config", op_config); }

int main(void)
{
    if (vc_global_init(&g_alloc) < 0) {
        fprintf(stderr, "vc_global_init: %s\n", vc_error_last()->message);
        return 1;
    }
    RUN(t_operations_through_canary_allocator);
    RUN(t_torture_translate);
    RUN(t_torture_config);
    vc_global_shutdown();
    vc_error_clear();
    CHECK_INT(g_bad_free, 0);
    printf("# %ld blocks of the allocator still live after vc_global_shutdown\n", g_live);
    TEST_DONE();
}
