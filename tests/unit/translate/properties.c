/* Property tests over generated inputs (fixed seeds: reproducible):
 *  - host names are valid DNS-1123 labels (subdomains when the virtual name
 *    has dots) and at most 63 characters;
 *  - reverse(forward(x)) == x, by annotations always, by name when unhashed;
 *  - translation is deterministic (same result twice, and from two translators);
 *  - two different virtual objects never share a host name;
 *  - label keys: host keys are valid label keys, and translated keys go back. */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>

#include <vcluster.h>

#include "check.h"
#include "translate/translate.h"

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng % n);
}

/* A random DNS-1123 label of 1..maxlen; `xsafe` avoids the two shapes that
 * make <name>-x-<ns> ambiguous (a namespace containing "-x-" or starting "x-"),
 * see doc/translate.md. */
static void gen_label(char *out, size_t maxlen, bool xsafe)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    static const char mid[] = "abcdefghijklmnopqrstuvwxyz0123456789-xx";
    for (;;) {
        size_t n = 1 + rnd((uint32_t)maxlen);
        for (size_t i = 0; i < n; i++)
            out[i] = (i == 0 || i == n - 1) ? alnum[rnd(36)] : mid[rnd(sizeof mid - 1)];
        out[n] = '\0';
        if (!xsafe || (!strstr(out, "-x-") && strncmp(out, "x-", 2) != 0))
            return;
    }
}

static void gen_subdomain(char *out, size_t maxlen)
{
    size_t parts = 1 + rnd(3), o = 0;
    for (size_t p = 0; p < parts && o + 2 < maxlen; p++) {
        char l[64];
        gen_label(l, 40, false);
        int n = snprintf(out + o, maxlen - o, "%s%s", p ? "." : "", l);
        if (n < 0 || (size_t)n >= maxlen - o)
            break;
        o += (size_t)n;
    }
    out[o] = '\0';
    if (!o)
        snprintf(out, maxlen, "a");
}

static vc_translator *mk(const char *name, uint32_t sync)
{
    vc_translate_options o;
    vc_translate_options_init(&o, VC_TRANSLATE_OPTIONS_VERSION);
    o.name = name;
    o.kube_ip = "10.96.0.1";
    o.dns_ip = "10.96.0.10";
    o.owner_uid = "uid-1";
    o.sync_to_host = sync;
    vc_translator *t = NULL;
    if (vc_translator_new(&t, &o) < 0)
        fprintf(stderr, "translator: %s\n", vc_error_last()->message);
    return t;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void prop_names(void)
{
    enum { N = 4000 };
    char **hosts = calloc(N, sizeof *hosts);
    char **keys = calloc(N, sizeof *keys);
    char vc[64];
    size_t nh = 0;
    for (int round = 0; round < 4; round++) {
        gen_label(vc, round == 0 ? 20 : 54, false);
        vc_translator *t = mk(vc, VC_TRANSLATE_SYNC_ALL);
        if (!t) {
            CHECK(t != NULL);
            continue;
        }
        nh = 0;
        for (int i = 0; i < N / 4; i++) {
            const vc__kind *k = vc__kind_get((vc__kind_id)rnd(VC__K_COUNT));
            char ns[64], name[254], hn[VC__NAME_MAX];
            gen_label(ns, 63, true);
            if (rnd(3) == 0)
                gen_subdomain(name, 200);
            else
                gen_label(name, rnd(2) ? 63 : 10, false);
            if ((k->id == VC__K_CONFIGMAP && !strcmp(name, "kube-root-ca.crt")) ||
                (k->id == VC__K_SERVICE && !strcmp(name, "kubernetes")))
                continue;
            vc__host_name(t, k, ns, name, hn);
            CHECK(strlen(hn) <= 63);
            CHECK(strchr(name, '.') ? vc__is_dns1123_subdomain(hn) : vc__is_dns1123_label(hn));
            if (strlen(hn) > 63 || !vc__is_dns1123_subdomain(hn))
                fprintf(stderr, "  bad host name for %s %s/%s: %s\n", k->kind, ns, name, hn);
            /* reverse by name: exact unless hashed */
            char *rns = NULL, *rname = NULL;
            int rc = vc__virtual_name_by_name(t, k, k->namespaced ? t->host_ns : "", hn, &rns, &rname);
            char full[1024];
            snprintf(full, sizeof full, k->namespaced ? "%s-x-%s-x-%s" : "vcluster-%s-x-%s-x-%s", name,
                     k->namespaced ? ns : t->host_ns, vc);
            if (strlen(full) <= 63) {
                CHECK(rc == VC_OK);
                if (rc == VC_OK) {
                    CHECK_STR(rname, name);
                    CHECK_STR(rns, k->namespaced ? ns : "");
                }
            }
            vc__free(rns);
            vc__free(rname);
            /* collision check key: kind-scoped */
            char key[600];
            snprintf(key, sizeof key, "%s|%s", k->namespaced ? "ns" : "cluster", hn);
            char vkey[600];
            snprintf(vkey, sizeof vkey, "%s|%s|%s", k->namespaced ? "ns" : "cluster", k->namespaced ? ns : "", name);
            hosts[nh] = strdup(key);
            keys[nh++] = strdup(vkey);
        }
        /* distinct virtual objects -> distinct host names */
        char **pairs = calloc(nh, sizeof *pairs);
        for (size_t i = 0; i < nh; i++) {
            size_t l = strlen(hosts[i]) + strlen(keys[i]) + 2;
            pairs[i] = malloc(l);
            snprintf(pairs[i], l, "%s\t%s", hosts[i], keys[i]);
        }
        qsort(pairs, nh, sizeof *pairs, cmp_str);
        for (size_t i = 1; i < nh; i++) {
            size_t hl = strcspn(pairs[i], "\t");
            if (strlen(pairs[i - 1]) >= hl && !strncmp(pairs[i - 1], pairs[i], hl) && pairs[i - 1][hl] == '\t') {
                bool same_virtual = !strcmp(pairs[i - 1] + hl, pairs[i] + hl);
                CHECK(same_virtual);
                if (!same_virtual)
                    fprintf(stderr, "  collision: %s vs %s\n", pairs[i - 1], pairs[i]);
            }
        }
        for (size_t i = 0; i < nh; i++) {
            free(pairs[i]);
            free(hosts[i]);
            free(keys[i]);
        }
        free(pairs);
        /* label keys */
        for (int i = 0; i < 200; i++) {
            char key[64], nk[64];
            gen_label(key, 30, false);
            CHECK(vc__host_label_key(t, key) == key || !strcmp(key, "release"));
            vc__ns_label_key(t, key, nk);
            const char *slash = strchr(nk, '/');
            CHECK(slash && strlen(slash + 1) <= 63 && !strncmp(nk, "vcluster.loft.sh/", 17));
        }
        static const char *const reserved[] = { "release", "vcluster.loft.sh/namespace", "vcluster.loft.sh/managed-by",
                                                "vcluster.loft.sh/controlled-by" };
        for (int i = 0; i < 4; i++) {
            const char *hk = vc__host_label_key(t, reserved[i]);
            const char *slash = strchr(hk, '/');
            CHECK(slash && strlen(slash + 1) <= 63);
            CHECK_STR(vc__virtual_label_key(t, hk), reserved[i]);
            CHECK(vc__virtual_label_key(t, reserved[i]) == NULL || i == 0);
        }
        vc_translator_free(t);
    }
    free(hosts);
    free(keys);
}

static json_t *gen_object(const vc__kind *k, const char *ns, const char *name)
{
    json_t *o = json_pack("{sssss{ss}}", "apiVersion", k->api_version, "kind", k->kind, "metadata", "name", name);
    json_t *meta = json_object_get(o, "metadata");
    if (k->namespaced)
        json_object_set_new(meta, "namespace", json_string(ns));
    json_object_set_new(meta, "uid", json_sprintf("uid-%u", rnd(1000000)));
    json_t *labels = json_object();
    for (uint32_t i = 0, n = rnd(4); i < n; i++) {
        char key[64], val[64];
        gen_label(key, 20, false);
        gen_label(val, 20, false);
        json_object_set_new(labels, key, json_string(val));
    }
    if (rnd(2))
        json_object_set_new(labels, "release", json_string("r1"));
    json_object_set_new(meta, "labels", labels);
    switch (k->id) {
    case VC__K_POD:
        json_object_set_new(o, "spec", json_pack("{s[{ssss s[{ss s{s{ssss}}}]}] s[{ss s{ss}}, {ss s{ss}}] ss}", "containers", "name", "c",
                                                 "image", "busybox", "env", "name", "X", "valueFrom", "secretKeyRef", "name", "s",
                                                 "key", "k", "volumes", "name", "v1", "configMap", "name", "cfg", "name", "v2",
                                                 "persistentVolumeClaim", "claimName", "data", "dnsPolicy", "ClusterFirst"));
        break;
    case VC__K_SERVICE:
        json_object_set_new(o, "spec", json_pack("{s{ss}s[{si}]}", "selector", "app", "x", "ports", "port", 80));
        break;
    default:
        break;
    }
    return o;
}

static void prop_objects(void)
{
    vc_translator *t = mk("my-vcluster", VC_TRANSLATE_SYNC_ALL);
    vc_translator *t2 = mk("my-vcluster", VC_TRANSLATE_SYNC_ALL);
    for (int i = 0; i < 1500 && t && t2; i++) {
        const vc__kind *k = vc__kind_get((vc__kind_id)rnd(VC__K_COUNT));
        char ns[64], name[254];
        gen_label(ns, 30, true);
        gen_label(name, rnd(2) ? 63 : 12, false);
        if (!strcmp(name, "kubernetes") || !strcmp(name, "kube-root-ca.crt"))
            continue;
        json_t *v = gen_object(k, ns, name);
        json_t *h1 = NULL, *h2 = NULL, *h3 = NULL;
        int r1 = vc__translate_to_host(&h1, NULL, t, json_deep_copy(v), NULL, 0, NULL);
        int r2 = vc__translate_to_host(&h2, NULL, t, json_deep_copy(v), NULL, 0, NULL);
        int r3 = vc__translate_to_host(&h3, NULL, t2, json_deep_copy(v), NULL, 0, NULL);
        CHECK(r1 == VC_OK);
        if (r1 != VC_OK)
            fprintf(stderr, "  %s\n", vc_error_last()->message);
        CHECK(r1 == r2 && r2 == r3);
        if (r1 == VC_OK && r2 == VC_OK && r3 == VC_OK) {
            char *d1 = json_dumps(h1, JSON_COMPACT), *d2 = json_dumps(h2, JSON_COMPACT), *d3 = json_dumps(h3, JSON_COMPACT);
            CHECK(d1 && d2 && d3 && !strcmp(d1, d2) && !strcmp(d1, d3));
            free(d1);
            free(d2);
            free(d3);
            /* reverse(forward(x)) == x through the annotations */
            char *rns = NULL, *rname = NULL;
            CHECK_RC(vc__translate_virtual_name(&rns, &rname, t, h1), VC_OK);
            CHECK_STR(rname, name);
            CHECK_STR(rns, k->namespaced ? ns : "");
            vc__free(rns);
            vc__free(rname);
            const char *hn = json_string_value(json_object_get(json_object_get(h1, "metadata"), "name"));
            CHECK(hn && strlen(hn) <= 63 && vc__is_dns1123_label(hn));
            /* every host label key is a valid qualified name (<= 63 after the prefix) */
            const char *lk;
            json_t *lv;
            json_object_foreach(json_object_get(json_object_get(h1, "metadata"), "labels"), lk, lv) {
                const char *slash = strchr(lk, '/');
                CHECK(strlen(slash ? slash + 1 : lk) <= 63);
            }
        }
        json_decref(h1);
        json_decref(h2);
        json_decref(h3);
        json_decref(v);
    }
    vc_translator_free(t);
    vc_translator_free(t2);
}

/* Separate translators on separate threads: same results as one thread. */
typedef struct thread_job {
    const char *pod;
    char *first;
    int mismatches;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    vc_translator *t = mk("threads", 0);
    for (int i = 0; t && i < 300; i++) {
        vc_buf b = VC_BUF_INIT;
        if (vc_translate_to_host(&b, t, job->pod, "{\"namespaceLabels\":{\"a\":\"b\"}}", 0) < 0) {
            job->mismatches++;
        } else if (!job->first) {
            job->first = strdup(b.ptr);
        } else if (strcmp(job->first, b.ptr) != 0) {
            job->mismatches++;
        }
        vc_buf_dispose(&b);
    }
    vc_translator_free(t);
    return NULL;
}

static void prop_threads(void)
{
    const char *pod = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"labels\":{\"release\":\"x\"}},"
                      "\"spec\":{\"dnsPolicy\":\"ClusterFirst\",\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"A\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}}]}]}}";
    thread_job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (thread_job){ pod, NULL, 0 };
        CHECK(pthread_create(&th[i], NULL, thread_main, &jobs[i]) == 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        CHECK(jobs[i].mismatches == 0);
        CHECK(jobs[i].first && jobs[0].first && !strcmp(jobs[i].first, jobs[0].first));
    }
    for (int i = 0; i < 4; i++)
        free(jobs[i].first);
}

int main(void)
{
    if (vc_global_init(NULL) < 0)
        return 1;
    prop_names();
    prop_objects();
    prop_threads();
    vc_global_shutdown();
    return check_summary("translate-properties");
}
