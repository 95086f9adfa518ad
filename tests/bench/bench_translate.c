/*
 * Pod translation benchmark (not a test): a realistic pod (3 containers,
 * 6 volumes including a projected SA token, 20 env vars, probes, resources,
 * an owner reference) through
 *   1. json_deep_copy                       (baseline: the cost of copying it)
 *   2. vc__translate_to_host, in place      (the syncer's path: it owns a fresh
 *                                            object from the watch decoder)
 *   3. json_deep_copy + translate           (when it must keep the original)
 *   4. vc_translate_to_host                 (public API: parse + translate + print)
 * printing ns/op and allocations/op (counted through vc_global_init's
 * allocator hook, which jansson uses too).
 *
 *   meson compile -C build && build/tests/bench/bench_translate [iterations] [only]
 *
 * `only` (copy, inplace, both, api) runs one path, for a profiler:
 *   valgrind --tool=callgrind build/tests/bench/bench_translate 2000 inplace
 * (subtract a `copy` run of the same size: the in-place path's copies are
 * made outside the clock but not outside the profile).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <vcluster.h>

#include "translate/translate.h"

static size_t g_allocs;
static void *cm(size_t n, void *u)
{
    (void)u;
    g_allocs++;
    return malloc(n);
}
static void *cr(void *p, size_t n, void *u)
{
    (void)u;
    g_allocs++;
    return realloc(p, n);
}
static void cf(void *p, void *u)
{
    (void)u;
    free(p);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: robust to a loaded machine */
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static const char k_pod[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"checkout-7d9f8c6b5-x2x9f\",\"generateName\":\"checkout-7d9f8c6b5-\","
    "\"namespace\":\"shop\",\"uid\":\"5b2c1d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e\",\"resourceVersion\":\"48213\",\"creationTimestamp\":\"2026-05-01T10:00:00Z\","
    "\"labels\":{\"app\":\"checkout\",\"pod-template-hash\":\"7d9f8c6b5\",\"release\":\"stable\",\"tier\":\"backend\"},"
    "\"annotations\":{\"prometheus.io/scrape\":\"true\",\"prometheus.io/port\":\"9090\"},"
    "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"checkout-7d9f8c6b5\",\"uid\":\"0a0b0c0d-1111-4222-8333-444455556666\",\"controller\":true,\"blockOwnerDeletion\":true}]},"
    "\"spec\":{\"serviceAccountName\":\"checkout\",\"dnsPolicy\":\"ClusterFirst\",\"enableServiceLinks\":true,\"restartPolicy\":\"Always\","
    "\"terminationGracePeriodSeconds\":30,\"schedulerName\":\"default-scheduler\",\"priority\":0,"
    "\"securityContext\":{\"runAsNonRoot\":true,\"fsGroup\":2000},"
    "\"containers\":["
    "{\"name\":\"app\",\"image\":\"ghcr.io/shop/checkout:2.4.1\",\"ports\":[{\"containerPort\":8080,\"name\":\"http\",\"protocol\":\"TCP\"},{\"containerPort\":9090,\"name\":\"metrics\",\"protocol\":\"TCP\"}],"
    "\"env\":[{\"name\":\"LOG_LEVEL\",\"value\":\"info\"},{\"name\":\"PORT\",\"value\":\"8080\"},{\"name\":\"REGION\",\"value\":\"eu-west-1\"},"
    "{\"name\":\"DB_HOST\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"checkout-config\",\"key\":\"db_host\"}}},"
    "{\"name\":\"DB_PASSWORD\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"checkout-db\",\"key\":\"password\"}}},"
    "{\"name\":\"POD_NAME\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.name\"}}},"
    "{\"name\":\"POD_NAMESPACE\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"}}},"
    "{\"name\":\"FEATURE_FLAGS\",\"value\":\"a,b,c\"}],"
    "\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"256Mi\"},\"limits\":{\"cpu\":\"1\",\"memory\":\"512Mi\"}},"
    "\"readinessProbe\":{\"httpGet\":{\"path\":\"/ready\",\"port\":8080},\"periodSeconds\":5},"
    "\"livenessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":8080},\"periodSeconds\":10},"
    "\"volumeMounts\":[{\"name\":\"config\",\"mountPath\":\"/etc/checkout\"},{\"name\":\"tls\",\"mountPath\":\"/etc/tls\",\"readOnly\":true},"
    "{\"name\":\"cache\",\"mountPath\":\"/cache\"},{\"name\":\"kube-api-access-x7k2p\",\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\",\"readOnly\":true}]},"
    "{\"name\":\"sidecar\",\"image\":\"envoyproxy/envoy:v1.31\",\"args\":[\"-c\",\"/etc/envoy/envoy.yaml\"],"
    "\"env\":[{\"name\":\"ENVOY_UID\",\"value\":\"0\"},{\"name\":\"NODE_NAME\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"spec.nodeName\"}}},"
    "{\"name\":\"POD_IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}},{\"name\":\"APP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.labels['app']\"}}},"
    "{\"name\":\"ADMIN_PORT\",\"value\":\"9901\"},{\"name\":\"CLUSTER\",\"value\":\"checkout\"}],"
    "\"resources\":{\"requests\":{\"cpu\":\"50m\",\"memory\":\"64Mi\"}},"
    "\"volumeMounts\":[{\"name\":\"envoy\",\"mountPath\":\"/etc/envoy\"},{\"name\":\"tls\",\"mountPath\":\"/etc/tls\",\"readOnly\":true}]},"
    "{\"name\":\"log-shipper\",\"image\":\"fluent/fluent-bit:3.1\","
    "\"env\":[{\"name\":\"OUTPUT\",\"value\":\"loki\"},{\"name\":\"LOKI_URL\",\"value\":\"http://loki:3100\"},"
    "{\"name\":\"TENANT\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"loki-tenant\",\"key\":\"id\"}}},{\"name\":\"BUFFER\",\"value\":\"5MB\"},"
    "{\"name\":\"FLUSH\",\"value\":\"1\"},{\"name\":\"HOST\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"spec.nodeName\"}}}],"
    "\"volumeMounts\":[{\"name\":\"cache\",\"mountPath\":\"/cache\",\"readOnly\":true}]}],"
    "\"volumes\":[{\"name\":\"config\",\"configMap\":{\"name\":\"checkout-config\",\"defaultMode\":420}},"
    "{\"name\":\"tls\",\"secret\":{\"secretName\":\"checkout-tls\",\"defaultMode\":420}},"
    "{\"name\":\"cache\",\"emptyDir\":{\"sizeLimit\":\"1Gi\"}},"
    "{\"name\":\"envoy\",\"configMap\":{\"name\":\"envoy-config\"}},"
    "{\"name\":\"data\",\"persistentVolumeClaim\":{\"claimName\":\"checkout-data\"}},"
    "{\"name\":\"kube-api-access-x7k2p\",\"projected\":{\"defaultMode\":420,\"sources\":["
    "{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}},"
    "{\"configMap\":{\"name\":\"kube-root-ca.crt\",\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}]}},"
    "{\"downwardAPI\":{\"items\":[{\"path\":\"namespace\",\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"}}]}}]}}],"
    "\"tolerations\":[{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}]},"
    "\"status\":{\"phase\":\"Pending\",\"qosClass\":\"Burstable\"}}";

static const char k_inputs[] =
    "{\"namespaceLabels\":{\"kubernetes.io/metadata.name\":\"shop\",\"team\":\"payments\"},"
    "\"serviceAccountTokens\":[{\"volume\":\"kube-api-access-x7k2p\",\"token\":\"eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.payload.signature\",\"annotationSuffix\":\"q8w3z1rt\"}]}";

#define BATCH 16
#define RUN(what) (!only || !strcmp(only, what))

typedef struct result {
    double ns;
    double allocs;
} result;

static void print(const char *what, result r, result base)
{
    printf("  %-42s %9.0f ns/op  %7.1f allocs/op  %5.2fx copy time\n", what, r.ns, r.allocs, r.ns / base.ns);
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 20000;
    const char *only = argc > 2 ? argv[2] : NULL;
    if (iters < BATCH)
        iters = BATCH;
    vc_allocator a = { VC_ALLOCATOR_VERSION, cm, cr, cf, NULL };
    if (vc_global_init(&a) < 0)
        return 1;
    vc_translate_options o;
    vc_translate_options_init(&o, VC_TRANSLATE_OPTIONS_VERSION);
    o.name = "my-vcluster";
    o.kube_ip = "10.96.0.1";
    o.dns_ip = "10.96.0.10";
    o.owner_uid = "8a3f0c2e-1b6d-4e5f-9a7b-0c1d2e3f4a5b";
    vc_translator *t = NULL;
    if (vc_translator_new(&t, &o) < 0) {
        fprintf(stderr, "%s\n", vc_error_last()->message);
        return 1;
    }
    json_t *pod = json_loads(k_pod, 0, NULL);
    json_t *inputs = json_loads(k_inputs, 0, NULL);
    if (!pod || !inputs)
        return 1;
    json_t *batch[BATCH];
    long rounds = iters / BATCH, n = rounds * BATCH;

    /* warm up and sanity check */
    json_t *h = NULL;
    if (vc__translate_to_host(&h, NULL, t, json_deep_copy(pod), inputs, 0, NULL) < 0) {
        fprintf(stderr, "translate: %s\n", vc_error_last()->message);
        return 1;
    }
    json_decref(h);

    /* 1. baseline: deep copy */
    result copy = { 0, 0 };
    for (long r = 0; r < (RUN("copy") ? rounds : 0); r++) {
        size_t a0 = g_allocs;
        double t0 = now_ns();
        for (int i = 0; i < BATCH; i++)
            batch[i] = json_deep_copy(pod);
        copy.ns += now_ns() - t0;
        copy.allocs += (double)(g_allocs - a0);
        for (int i = 0; i < BATCH; i++)
            json_decref(batch[i]);
    }
    copy.ns /= (double)n;
    copy.allocs /= (double)n;
    if (copy.ns <= 0)
        copy.ns = 1; /* a run of one other path: the ratios are meaningless */

    /* 2. in-place translation of owned copies (copies made outside the clock) */
    result inplace = { 0, 0 };
    for (long r = 0; r < (RUN("inplace") ? rounds : 0); r++) {
        for (int i = 0; i < BATCH; i++)
            batch[i] = json_deep_copy(pod);
        size_t a0 = g_allocs;
        double t0 = now_ns();
        for (int i = 0; i < BATCH; i++) {
            json_t *out = NULL;
            vc__translate_to_host(&out, NULL, t, batch[i], inputs, 0, NULL);
            batch[i] = out;
        }
        inplace.ns += now_ns() - t0;
        inplace.allocs += (double)(g_allocs - a0);
        for (int i = 0; i < BATCH; i++)
            json_decref(batch[i]);
    }
    inplace.ns /= (double)n;
    inplace.allocs /= (double)n;

    /* 3. copy + translate */
    result both = { 0, 0 };
    if (RUN("both")) {
        size_t a0 = g_allocs;
        double t0 = now_ns();
        for (long i = 0; i < n; i++) {
            json_t *out = NULL;
            vc__translate_to_host(&out, NULL, t, json_deep_copy(pod), inputs, 0, NULL);
            json_decref(out);
        }
        both.ns = (now_ns() - t0) / (double)n;
        both.allocs = (double)(g_allocs - a0) / (double)n;
    }

    /* 4. the public string API */
    result api = { 0, 0 };
    if (RUN("api")) {
        long m = n / 4 > 0 ? n / 4 : 1;
        vc_buf b = VC_BUF_INIT;
        size_t a0 = g_allocs;
        double t0 = now_ns();
        for (long i = 0; i < m; i++)
            vc_translate_to_host(&b, t, k_pod, k_inputs, 0);
        api.ns = (now_ns() - t0) / (double)m;
        api.allocs = (double)(g_allocs - a0) / (double)m;
        vc_buf_dispose(&b);
    }

    printf("bench_translate: pod with 3 containers, 6 volumes, 20 env vars; %ld iterations\n", n);
    print("json_deep_copy (baseline)", copy, copy);
    print("vc__translate_to_host, in place", inplace, copy);
    print("json_deep_copy + vc__translate_to_host", both, copy);
    print("vc_translate_to_host (parse+translate+print)", api, copy);
    /* Issue 18 goal 7 (set when the copy took 18.5-20 us): in place <= 8 us and
     * <= 100 allocations, the string API <= 40 us. On a shared machine the
     * absolute times move with the load, so the verdict is on the ratio to
     * the copy measured in this run: <= 0.42x and <= 2.1x (8 and 40 us over
     * 19 us). */
    if (!only) {
        printf("goal (issue 18): in place <= 0.42x copy and <= 100 allocs: %s; string API <= 2.1x copy: %s\n",
               inplace.ns / copy.ns <= 0.42 && inplace.allocs <= 100 ? "met" : "NOT met",
               api.ns / copy.ns <= 2.1 ? "met" : "NOT met");
    }

    json_decref(pod);
    json_decref(inputs);
    vc_translator_free(t);
    vc_global_shutdown();
    return 0;
}
