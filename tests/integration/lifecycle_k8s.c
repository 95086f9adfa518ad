/* The kubernetes driver through the public API against the real host
 * cluster (kwok nodes: pods are scheduled and reported Running/Ready, no
 * container runs): --print renders a complete stream and changes nothing;
 * create makes every host object of upstream's chart, checked field by
 * field; create again fails clearly; --upgrade changes the StatefulSet (etcd,
 * HA, images, RBAC) and prunes what is no longer asked for, and refuses
 * before changing anything what the StatefulSet cannot change; --expose makes a
 * LoadBalancer; isolation renders the F9 defaults on the running cluster;
 * pause scales to 0, annotates and deletes the workloads, and an upgrade
 * keeps it paused; resume restores; persistence uses the PVC and --keep-pvc
 * keeps it; delete leaves nothing behind.
 *
 * The clusters are created with the defaults, no values file: the harness
 * has what a real cluster has (nodes with ephemeral-storage, a default
 * StorageClass "standard" served by a dynamic provisioner), so the
 * StatefulSet keeps its "data" volumeClaimTemplate (5Gi, provisioned through
 * the default class) and its default requests, ephemeral-storage included.
 * Values are only given where a test is about them (upgrade, isolation).
 * The provisioner's volumes are directories on this machine, so the test
 * also checks that they are made and removed. */
#include <stdarg.h>

#include "canary.h"
#include "vcenv.h"
#include "lifecycle/k8s.h"
#include "util/yaml.h"

static vc_kube *H;
static char NAME[32], NS[64], NAME2[32], NS2[64];
static json_t *PRINTED;            /* the --print stream of the first create */
static char *CA_BEFORE;            /* ca.crt before the upgrade */
static char PAUSED_PV[128];        /* the PV of data-NAME-0 while paused */

static const char *UPGRADE_VALUES =
    "controlPlane:\n"
    "  backingStore:\n"
    "    etcd:\n"
    "      embedded:\n"
    "        enabled: true\n"
    "  statefulSet:\n"
    "    image: ghcr.io/example/vcluster-syncer:dev\n"
    "    highAvailability:\n"
    "      replicas: 2\n"
    "  distro:\n"
    "    k8s:\n"
    "      apiServer:\n"
    "        extraArgs: [\"--v=4\"]\n"
    "sync:\n"
    "  toHost:\n"
    "    storageClasses:\n"
    "      enabled: true\n"
    "    networkPolicies:\n"
    "      enabled: true\n";

static const char *ISOLATION_VALUES =
    "policies:\n"
    "  resourceQuota:\n"
    "    enabled: true\n"
    "  limitRange:\n"
    "    enabled: true\n"
    "  networkPolicy:\n"
    "    enabled: true\n";

/* ---- helpers ---- */

static json_t *jpath(const json_t *o, ...)
{
    va_list ap;
    va_start(ap, o);
    const char *seg;
    while (o && (seg = va_arg(ap, const char *)) != NULL) {
        if (json_is_array(o))
            o = json_array_get(o, (size_t)atoi(seg));
        else
            o = json_object_get(o, seg);
    }
    va_end(ap);
    return (json_t *)o;
}
#define J(...) jpath(__VA_ARGS__, (const char *)NULL)
#define JS(...) json_string_value(J(__VA_ARGS__))
#define JI(...) json_integer_value(J(__VA_ARGS__))

static vc_config *config_of(const char *a, const char *b)
{
    vc_config *c = NULL;
    if (vc_config_new(&c) < 0)
        return NULL;
    if ((a && vc_config_load_string(c, a, "a.yaml") < 0) || (b && vc_config_load_string(c, b, "b.yaml") < 0)) {
        fprintf(stderr, "config: %s\n", vc_error_last()->message);
        vc_config_free(c);
        return NULL;
    }
    return c;
}

static json_t *host_get(const char *fmt, ...) VC__PRINTF(1, 2);
static json_t *host_get(const char *fmt, ...)
{
    char p[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    return kget(H, p);
}

static bool host_exists(const char *fmt, ...) VC__PRINTF(1, 2);
static bool host_exists(const char *fmt, ...)
{
    char p[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    json_t *j = kget(H, p);
    bool r = j != NULL;
    json_decref(j);
    return r;
}

static int list_count(const char *fmt, ...) VC__PRINTF(1, 2);
static int list_count(const char *fmt, ...)
{
    char p[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    json_t *l = kget(H, p);
    int n = l ? (int)json_array_size(json_object_get(l, "items")) : -1;
    json_decref(l);
    return n;
}

static json_t *container(const json_t *sts, const char *name)
{
    size_t i;
    json_t *c;
    const json_t *cs = J(sts, "spec", "template", "spec", "containers");
    if (!cs)
        cs = J(sts, "spec", "containers"); /* a pod */
    json_array_foreach(cs, i, c) {
        if (!strcmp(JS(c, "name"), name))
            return c;
    }
    return NULL;
}

static char *container_names(const json_t *sts)
{
    static char buf[256];
    buf[0] = '\0';
    size_t i;
    json_t *c;
    json_array_foreach(J(sts, "spec", "template", "spec", "containers"), i, c) {
        if (i)
            strncat(buf, ",", sizeof buf - strlen(buf) - 1);
        strncat(buf, JS(c, "name"), sizeof buf - strlen(buf) - 1);
    }
    return buf;
}

static bool has_arg(const json_t *ctr, const char *arg)
{
    size_t i;
    json_t *a;
    json_array_foreach(J(ctr, "args"), i, a) {
        if (!strcmp(json_string_value(a), arg))
            return true;
    }
    return false;
}

static const char *arg_value(const json_t *ctr, const char *prefix)
{
    size_t i;
    json_t *a;
    json_array_foreach(J(ctr, "args"), i, a) {
        if (!strncmp(json_string_value(a), prefix, strlen(prefix)))
            return json_string_value(a) + strlen(prefix);
    }
    return NULL;
}

static bool in_strings(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (!strcmp(json_string_value(v), s))
            return true;
    }
    return false;
}

static bool has_rule(const json_t *role, const char *group, const char *resource, const char *verb)
{
    size_t i;
    json_t *r;
    json_array_foreach(J(role, "rules"), i, r) {
        if (in_strings(J(r, "apiGroups"), group) && in_strings(J(r, "resources"), resource) &&
            in_strings(J(r, "verbs"), verb))
            return true;
    }
    return false;
}

static char *secret_value(const json_t *sec, const char *key)
{
    const char *b = JS(sec, "data", key);
    unsigned char *raw = NULL;
    size_t n = 0;
    if (!b || vc__base64_decode(b, strlen(b), &raw, &n) < 0)
        return NULL;
    char *s = vc__strndup((const char *)raw, n);
    vc__free(raw);
    return s;
}

static char STEPS[1024];
static int on_progress(const char *step, const char *msg, int32_t done, void *ud)
{
    (void)ud;
    if (done == VC_PROGRESS_WAITING)
        return 0;
    if (!strstr(STEPS, step) && strlen(STEPS) + strlen(step) + 2 < sizeof STEPS) {
        strcat(STEPS, step);
        strcat(STEPS, " ");
    }
    printf("#   [%s%s] %s\n", step, done ? " done" : "", msg);
    return 0;
}

static int create(const char *name, const char *ns, vc_config *cfg, uint32_t flags, vc_buf *out)
{
    vc_create_options o;
    vc_create_options_init(&o, VC_CREATE_OPTIONS_VERSION);
    o.name = name;
    o.host_namespace = ns;
    o.driver = "kubernetes";
    o.config = cfg;
    o.flags = flags;
    o.timeout_ms = 90000;
    o.progress = on_progress;
    int rc = vc_cluster_create(H, &o, out);
    if (rc < 0)
        printf("# create %s: %s\n", name, vc_error_last()->message);
    return rc;
}

static int upgrade_with(const char *a, const char *b, uint32_t flags)
{
    vc_config *cfg = config_of(a, b);
    int rc = cfg ? create(NAME, NULL, cfg, VC_CREATE_UPGRADE | flags, NULL) : -1;
    vc_config_free(cfg);
    return rc;
}

static vc_cluster_op_options op_opts(uint32_t flags)
{
    vc_cluster_op_options o;
    vc_cluster_op_options_init(&o, VC_CLUSTER_OP_OPTIONS_VERSION);
    o.flags = flags;
    o.timeout_ms = 90000;
    o.progress = on_progress;
    return o;
}

static int32_t state_of(const char *name, const char *ns, vc_cluster_info **keep)
{
    vc_cluster_info *i = NULL;
    if (vc_cluster_status(&i, H, name, ns) < 0)
        return -1;
    int32_t s = i->state;
    if (keep)
        *keep = i;
    else
        vc_cluster_info_free(i);
    return s;
}

static json_t *get_sts(void)
{
    return host_get("/apis/apps/v1/namespaces/%s/statefulsets/%s", NS, NAME);
}

static json_t *get_pv_of(const json_t *pvc)
{
    const char *pv = JS(pvc, "spec", "volumeName");
    return pv ? host_get("/api/v1/persistentvolumes/%s", pv) : NULL;
}

/* The claim data-NAME-0 in ns is Bound through the default StorageClass to a
 * PV the provisioner made (pinned to node when not NULL). Returns the PV's
 * name in pv (may be NULL). */
static void check_claim_pv(const char *ns, const char *name, const char *node, char *pv, size_t pvn)
{
    json_t *pvc = host_get("/api/v1/namespaces/%s/persistentvolumeclaims/data-%s-0", ns, name);
    CHECK(pvc != NULL);
    CHECK_STR(JS(pvc, "status", "phase"), "Bound");
    CHECK_STR(JS(pvc, "spec", "storageClassName"), "standard");
    CHECK_STR(JS(pvc, "status", "capacity", "storage"), "5Gi");
    CHECK_STR(JS(pvc, "metadata", "labels", "release"), name);
    json_t *v = get_pv_of(pvc);
    CHECK(v != NULL);
    CHECK_STR(JS(v, "metadata", "annotations", "pv.kubernetes.io/provisioned-by"), "libvcluster.dev/hostpath");
    CHECK_STR(JS(v, "spec", "persistentVolumeReclaimPolicy"), "Delete");
    CHECK_STR(JS(v, "spec", "claimRef", "namespace"), ns);
    CHECK(JS(v, "spec", "hostPath", "path") != NULL);
    if (node) {
        json_t *term = J(v, "spec", "nodeAffinity", "required", "nodeSelectorTerms", "0", "matchExpressions", "0");
        CHECK_STR(JS(term, "values", "0"), node);
    }
    if (pv)
        snprintf(pv, pvn, "%s", JS(v, "metadata", "name") ? JS(v, "metadata", "name") : "");
    json_decref(v);
    json_decref(pvc);
}
#define check_claim(ns, name, node) check_claim_pv(ns, name, node, NULL, 0)

/* The provisioner deletes a released PV (reclaim Delete) soon, not at once. */
static bool pv_gone(const char *pv)
{
    for (int i = 0; i < 300; i++) {
        if (!host_exists("/api/v1/persistentvolumes/%s", pv))
            return true;
        usleep(100 * 1000);
    }
    fprintf(stderr, "PV %s still exists after 30 s\n", pv);
    return false;
}

/* ---- tests ---- */

/* The template rules (src/lifecycle/templates/README.md), no cluster needed. */
static void t_templates(void)
{
    json_t *vars = json_pack("{s:s,s:n,s:b,s:b,s:[s,s],s:{s:s},s:i}", "A", "x\"y\\z\nw: #1", "N", "T", 1, "F", 0,
                             "L", "a", "b", "O", "k", "v", "I", 3);
    const char *t = "s: ${A}\n"
                    "q: \"pre-${A}-post\"\n"
                    "n: ${N}\n"
                    "i: ${I}\n"
                    "qi: \"port ${I}\"\n"
                    "list:\n"
                    "  - first\n"
                    "  - ${L}\n"
                    "  - ${N}\n"
                    "  - $if: ${F}\n"
                    "    x: 1\n"
                    "  - $if: ${T}\n"
                    "    y: 2\n"
                    "obj: ${O}\n"
                    "off:\n"
                    "  $if: ${F}\n"
                    "  z: 1\n"
                    "# a comment with \"quotes\" and ${NOT_A_VAR}\n";
    json_t *out = NULL;
    CHECK_INT(vc__k8s_render_text("test", t, vars, &out), VC_OK);
    CHECK_STR(JS(out, "s"), "x\"y\\z\nw: #1");
    CHECK_STR(JS(out, "q"), "pre-x\"y\\z\nw: #1-post");
    CHECK(J(out, "n") == NULL);
    CHECK_INT(JI(out, "i"), 3);
    CHECK_STR(JS(out, "qi"), "port 3");
    CHECK_INT(json_array_size(J(out, "list")), 4);
    CHECK_STR(JS(out, "list", "0"), "first");
    CHECK_STR(JS(out, "list", "1"), "a");
    CHECK_STR(JS(out, "list", "2"), "b");
    CHECK_INT(JI(out, "list", "3", "y"), 2);
    CHECK(J(out, "list", "3", "$if") == NULL);
    CHECK_STR(JS(out, "obj", "k"), "v");
    CHECK(J(out, "off") == NULL);
    json_decref(out);

    out = (json_t *)1;
    CHECK_INT(vc__k8s_render_text("test", "$if: ${F}\nkind: X\n", vars, &out), VC_OK);
    CHECK(out == NULL); /* switched off as a whole */
    CHECK_INT(vc__k8s_render_text("test", "a: ${MISSING}\n", vars, &out), VC_EINVAL);
    CHECK_CONTAINS(vc_error_last()->message, "template test: unknown variable ${MISSING}");
    CHECK_INT(vc__k8s_render_text("test", "a: \"${O}\"\n", vars, &out), VC_EINVAL);
    CHECK_CONTAINS(vc_error_last()->message, "inside quotes must be a string");
    CHECK_INT(vc__k8s_render_text("test", "a: ${A\n", vars, &out), VC_EINVAL);
    CHECK_INT(vc__k8s_render_text("test", "a: [${A}\n", vars, &out), VC_EINVAL);
    CHECK_CONTAINS(vc_error_last()->message, "test");
    json_decref(vars);
    CHECK(vc__k8s_template_text("statefulset") != NULL);
    CHECK(vc__k8s_template_text("nope") == NULL);
}

static void t_print(void)
{
    vc_buf out = VC_BUF_INIT;
    CHECK_INT(create(NAME, NULL, NULL, VC_CREATE_PRINT, &out), VC_OK);
    CHECK(out.size > 1000);
    json_t *docs = NULL;
    CHECK_INT(vc__yaml_parse(out.ptr ? out.ptr : "", out.size, "print", &docs, NULL), VC_OK);
    /* kind, name prefix, name suffix around NAME */
    const char *want[][3] = {
        { "Namespace", "vcluster-", "" }, { "ServiceAccount", "vc-", "" }, { "ServiceAccount", "vc-workload-", "" },
        { "Role", "vc-", "" }, { "RoleBinding", "vc-", "" }, { "Secret", "vc-config-", "" },
        { "Service", "", "" }, { "Service", "", "-headless" }, { "StatefulSet", "", "" },
    };
    CHECK_INT(json_array_size(docs), VC__ARRAY_LEN(want));
    for (size_t i = 0; i < VC__ARRAY_LEN(want); i++) {
        char name[128];
        snprintf(name, sizeof name, "%s%s%s", want[i][1], NAME, want[i][2]);
        json_t *d = json_array_get(docs, i);
        CHECK_STR(JS(d, "kind"), want[i][0]);
        CHECK_STR(JS(d, "metadata", "name"), name);
    }
    /* GitOps: no private key anywhere (not as text, not inside base64 Secret
     * data), and the same bytes when rendered again */
    CHECK(!strstr(out.ptr, "PRIVATE KEY"));
    size_t di;
    json_t *d;
    json_array_foreach(docs, di, d) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(d, "data"), k, v) {
            char *val = secret_value(d, k);
            CHECK(val != NULL);
            if (val && strstr(val, "PRIVATE KEY"))
                fprintf(stderr, "printed Secret %s holds a private key in %s\n", JS(d, "metadata", "name"), k);
            CHECK(!val || !strstr(val, "PRIVATE KEY"));
            size_t kl = strlen(k);
            CHECK(kl < 4 || strcmp(k + kl - 4, ".key") != 0);
            vc__free(val);
        }
    }
    vc_buf again = VC_BUF_INIT;
    CHECK_INT(create(NAME, NULL, NULL, VC_CREATE_PRINT, &again), VC_OK);
    CHECK_INT(again.size, out.size);
    CHECK(again.size == out.size && out.ptr && memcmp(again.ptr, out.ptr, out.size) == 0);
    vc_buf_dispose(&again);
    /* the certificates are made in the pod: init container vcluster-certs
     * (the syncer image) first, /pki an emptyDir */
    json_t *sts = json_array_get(docs, json_array_size(docs) - 1);
    json_t *init = json_array_get(json_object_get(json_object_get(json_object_get(
                                                      json_object_get(sts, "spec"), "template"), "spec"),
                                                  "initContainers"), 0);
    CHECK_STR(JS(init, "name"), "vcluster-certs");
    CHECK_STR(JS(init, "image"), JS(container(sts, "syncer"), "image"));
    CHECK(has_arg(init, "--pki-dir=/pki"));
    json_t *vols = json_object_get(json_object_get(json_object_get(json_object_get(sts, "spec"), "template"), "spec"),
                                   "volumes");
    bool certs_empty = false;
    json_array_foreach(vols, di, d) {
        if (vc__streq(JS(d, "name"), "certs"))
            certs_empty = json_is_object(json_object_get(d, "emptyDir")) && !json_object_get(d, "secret");
    }
    CHECK(certs_empty);
    /* nothing was changed on the host */
    CHECK(!host_exists("/api/v1/namespaces/%s", NS));
    PRINTED = docs;
    vc_buf_dispose(&out);

    /* without a buffer: refused */
    CHECK_INT(create(NAME, NULL, NULL, VC_CREATE_PRINT, NULL), VC_EINVAL);
}

static void t_print_distros(void)
{
    vc_buf out = VC_BUF_INIT;
    vc_create_options o;
    vc_create_options_init(&o, VC_CREATE_OPTIONS_VERSION);
    o.name = "printonly";
    o.flags = VC_CREATE_PRINT;
    const char *distros[] = { "k3s", "k0s" };
    for (int d = 0; d < 2; d++) {
        o.distro = distros[d];
        CHECK_INT(vc_cluster_create(H, &o, &out), VC_OK);
        json_t *docs = NULL;
        CHECK_INT(vc__yaml_parse(out.ptr ? out.ptr : "", out.size, "print", &docs, NULL), VC_OK);
        json_t *sts = json_array_get(docs, json_array_size(docs) - 1);
        CHECK_STR(JS(sts, "kind"), "StatefulSet");
        char want[32];
        snprintf(want, sizeof want, "%s,syncer", distros[d]);
        CHECK_STR(container_names(sts), want);
        json_t *c = container(sts, distros[d]);
        if (d == 0) {
            CHECK(has_arg(c, "--https-listen-port=8443"));
            CHECK(has_arg(c, "--tls-san=printonly.vcluster-printonly"));
            CHECK(has_arg(c, "--disable-scheduler"));
            CHECK_STR(JS(c, "image"), "rancher/k3s:v1.31.1-k3s1");
            CHECK_STR(JS(sts, "metadata", "annotations", "vcluster.loft.sh/version"), "v1.31.1-k3s1");
        } else {
            CHECK(has_arg(c, "--config=/var/lib/vcluster/k0s.yaml"));
            CHECK_STR(JS(c, "image"), "k0sproject/k0s:v1.30.2-k0s.0");
            /* its ClusterConfig is in the config Secret */
            json_t *cs = json_array_get(docs, 5);
            CHECK_STR(JS(cs, "metadata", "name"), "vc-config-printonly");
            char *k0s = secret_value(cs, "k0s.yaml");
            CHECK_CONTAINS(k0s, "kind: ClusterConfig");
            CHECK_CONTAINS(k0s, "port: 8443");
            vc__free(k0s);
        }
        json_decref(docs);
    }
    /* a separate etcd StatefulSet is not something this driver deploys */
    vc_config *cfg = config_of("controlPlane:\n  backingStore:\n    etcd:\n      deploy:\n        enabled: true\n", NULL);
    o.distro = NULL;
    o.config = cfg;
    CHECK_INT(vc_cluster_create(H, &o, &out), VC_ENOTSUPPORTED);
    CHECK_CONTAINS(vc_error_last()->message, "etcd.embedded");
    vc_config_free(cfg);
    vc_buf_dispose(&out);
}

/* kine over an external database: PostgreSQL without pooled connections
 * (kine answered 201 for a create it never wrote after a database restart,
 * doc/guide.md F1.5), MySQL with kine's defaults. */
static void t_print_external_db(void)
{
    static const struct {
        const char *ds;
        bool flag;
    } cases[] = { { "postgres://u:p@db:5432/kine", true }, { "mysql://u:p@tcp(db:3306)/kine", false } };
    for (size_t i = 0; i < 2; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml,
                 "controlPlane:\n  backingStore:\n    database:\n      external:\n        enabled: true\n"
                 "        dataSource: \"%s\"\n",
                 cases[i].ds);
        vc_config *cfg = config_of(yaml, NULL);
        CHECK(cfg != NULL);
        vc_buf out = VC_BUF_INIT;
        vc_create_options o;
        vc_create_options_init(&o, VC_CREATE_OPTIONS_VERSION);
        o.name = "printdb";
        o.flags = VC_CREATE_PRINT;
        o.config = cfg;
        CHECK_INT(vc_cluster_create(H, &o, &out), VC_OK);
        json_t *docs = NULL;
        CHECK_INT(vc__yaml_parse(out.ptr ? out.ptr : "", out.size, "print", &docs, NULL), VC_OK);
        json_t *sts = json_array_get(docs, json_array_size(docs) - 1);
        json_t *kine = container(sts, "kine");
        CHECK(kine != NULL);
        CHECK(has_arg(kine, "--datastore-max-idle-connections=-1") == cases[i].flag);
        json_decref(docs);
        vc_buf_dispose(&out);
        vc_config_free(cfg);
    }
}

/* database.external.dataSourceSecret (libvcluster's key): kine (k3s) gets
 * the dataSource from the host Secret's key as an environment variable, so
 * the manifests hold no password; create checks the Secret first and makes
 * nothing when it is missing, lacks the key or holds no dataSource. */
static void t_datasource_secret(void)
{
    static const char *const distros[] = { "k8s", "k3s" };
    for (size_t i = 0; i < 2; i++) {
        char yaml[600];
        snprintf(yaml, sizeof yaml,
                 "controlPlane:\n  distro:\n    %s:\n      enabled: true\n  backingStore:\n    database:\n"
                 "      external:\n        enabled: true\n        dataSourceSecret:\n          name: vc-db\n"
                 "          key: ds\n",
                 distros[i]);
        vc_config *cfg = config_of(yaml, NULL);
        CHECK(cfg != NULL);
        vc_buf out = VC_BUF_INIT;
        vc_create_options o;
        vc_create_options_init(&o, VC_CREATE_OPTIONS_VERSION);
        o.name = "printsec";
        o.flags = VC_CREATE_PRINT;
        o.config = cfg;
        CHECK_INT(vc_cluster_create(H, &o, &out), VC_OK);
        CHECK(out.ptr && !strstr(out.ptr, "--endpoint=") && !strstr(out.ptr, "--datastore-endpoint") &&
              !strstr(out.ptr, "postgres://") && !strstr(out.ptr, "mysql://"));
        json_t *docs = NULL;
        CHECK_INT(vc__yaml_parse(out.ptr ? out.ptr : "", out.size, "print", &docs, NULL), VC_OK);
        json_t *sts = json_array_get(docs, json_array_size(docs) - 1);
        json_t *ctr = container(sts, i == 0 ? "kine" : "k3s");
        CHECK(ctr != NULL);
        const char *var = i == 0 ? "KINE_ENDPOINT" : "K3S_DATASTORE_ENDPOINT";
        bool found = false;
        size_t k;
        json_t *e;
        json_array_foreach(J(ctr, "env"), k, e) {
            if (!strcmp(JS(e, "name"), var)) {
                found = true;
                CHECK_STR(JS(e, "valueFrom", "secretKeyRef", "name"), "vc-db");
                CHECK_STR(JS(e, "valueFrom", "secretKeyRef", "key"), "ds");
            }
        }
        CHECK(found);
        if (i == 0)
            CHECK(has_arg(ctr, "--datastore-max-idle-connections=-1"));
        json_decref(docs);
        vc_buf_dispose(&out);
        vc_config_free(cfg);
    }

    /* create: the Secret is checked before anything is made */
    char name[32], ns[64], path[300], body[700];
    itest_name(name, sizeof name, "dss");
    snprintf(ns, sizeof ns, "vcluster-%s", name);
    vc_config *cfg = config_of("controlPlane:\n  backingStore:\n    database:\n      external:\n        enabled: true\n"
                               "        dataSourceSecret:\n          name: vc-db\n          key: ds\n",
                               NULL);
    CHECK(cfg != NULL);
    vc_create_options o;
    vc_create_options_init(&o, VC_CREATE_OPTIONS_VERSION);
    o.name = name;
    o.config = cfg;
    o.timeout_ms = 60000;
    o.flags = VC_CREATE_NO_WAIT;
    CHECK_INT(vc_cluster_create(H, &o, NULL), VC_ENOTFOUND);
    printf("# no Secret: %s\n", vc_error_last()->message);
    CHECK_CONTAINS(vc_error_last()->message, "controlPlane.backingStore.database.external.dataSourceSecret.name");
    CHECK_CONTAINS(vc_error_last()->message, "does not exist");
    CHECK(!host_exists("/api/v1/namespaces/%s", ns));
    snprintf(body, sizeof body, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "POST", "/api/v1/namespaces", body, NULL), VC_OK);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets", ns);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "POST", path,
                              "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"vc-db\"},"
                              "\"stringData\":{\"other\":\"x\",\"ds\":\"sqlite:///tmp/x.db\"}}",
                              NULL),
              VC_OK);
    CHECK_INT(vc_cluster_create(H, &o, NULL), VC_ECONFIG);
    printf("# not a dataSource: %s\n", vc_error_last()->message);
    CHECK_CONTAINS(vc_error_last()->message, "must start with mysql://, postgres:// or postgresql://");
    CHECK(!host_exists("/apis/apps/v1/namespaces/%s/statefulsets/%s", ns, name));
    vc_config *cfg2 = config_of("controlPlane:\n  backingStore:\n    database:\n      external:\n        enabled: true\n"
                                "        dataSourceSecret:\n          name: vc-db\n          key: nope\n",
                                NULL);
    o.config = cfg2;
    CHECK_INT(vc_cluster_create(H, &o, NULL), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "dataSourceSecret.key: host Secret");
    CHECK_CONTAINS(vc_error_last()->message, "has no key nope");
    o.config = cfg;
    /* a good one: applied, with the reference and not the password */
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/vc-db", ns);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "PUT", path,
                              "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"vc-db\"},"
                              "\"stringData\":{\"ds\":\"postgres://kine:Sup3rSecret@db:5432/kine\\n\"}}",
                              NULL),
              VC_OK);
    int rc = vc_cluster_create(H, &o, NULL);
    if (rc < 0)
        fprintf(stderr, "create with dataSourceSecret: %s\n", vc_error_last()->message);
    CHECK_INT(rc, VC_OK);
    json_t *sts = host_get("/apis/apps/v1/namespaces/%s/statefulsets/%s", ns, name);
    char *txt = sts ? json_dumps(sts, JSON_COMPACT) : NULL;
    CHECK(txt && strstr(txt, "\"secretKeyRef\":{\"name\":\"vc-db\",\"key\":\"ds\"}") && !strstr(txt, "Sup3rSecret"));
    vc__free(txt);
    json_decref(sts);
    /* nor in the config Secret the driver keeps */
    json_t *cs = host_get("/api/v1/namespaces/%s/secrets/vc-config-%s", ns, name);
    txt = cs ? json_dumps(cs, JSON_COMPACT) : NULL;
    CHECK(txt != NULL);
    CHECK(!txt || !strstr(txt, "U3VwM3JTZWNyZXQ")); /* base64 would hide it: check the decoded config below */
    vc__free(txt);
    json_decref(cs);
    vc_buf y = VC_BUF_INIT;
    CHECK_INT(vc_cluster_get_config(&y, H, name, NULL), VC_OK);
    CHECK(y.ptr && strstr(y.ptr, "dataSourceSecret") && !strstr(y.ptr, "Sup3rSecret"));
    vc_buf_dispose(&y);
    vc_cluster_op_options oo = op_opts(VC_DELETE_NAMESPACE);
    oo.progress = NULL;
    CHECK_INT(vc_cluster_delete(H, name, NULL, &oo), VC_OK);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", ns);
    vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL);
    vc_error_clear();
    vc_config_free(cfg);
    vc_config_free(cfg2);
}

/* The init container of --print's manifests, run here as a process with
 * the admin kubeconfig (kwok runs no container; realnode_gitops.sh runs it
 * in a pod): two replicas racing for Secret NAME-certs end up with the same
 * files, the ClusterIP of Service NAME is a SAN, vc-NAME is made. */
static void t_certs_init(const char *kc)
{
    /* the library call alone: keys present, existing data kept */
    vc_buf b = VC_BUF_INIT;
    CHECK_INT(vc_cluster_certs_render(&b, "gx", "ns-gx", NULL, "10.0.0.9", NULL, NULL), VC_OK);
    json_t *made = json_loadb(b.ptr ? b.ptr : "", b.size, 0, NULL);
    json_t *cs = json_object_get(made, "certs");
    CHECK_STR(JS(cs, "metadata", "name"), "gx-certs");
    CHECK_STR(JS(json_object_get(made, "kubeconfig"), "metadata", "name"), "vc-gx");
    char *cakey = secret_value(cs, "ca.key"), *ca = secret_value(cs, "ca.crt");
    CHECK_CONTAINS(cakey, "PRIVATE KEY");
    CHECK_CONTAINS(JS(cs, "metadata", "annotations", VC__K8S_SANS_ANN), "IP:10.0.0.9");
    char *data = json_dumps(json_object_get(cs, "data"), JSON_COMPACT);
    CHECK_INT(vc_cluster_certs_render(&b, "gx", "ns-gx", NULL, "10.0.0.9", NULL, data), VC_OK);
    json_t *again = json_loadb(b.ptr ? b.ptr : "", b.size, 0, NULL);
    char *ca2 = secret_value(json_object_get(again, "certs"), "ca.crt");
    CHECK_STR(ca2, ca);
    CHECK_INT(vc_cluster_certs_render(&b, "gx", "ns-gx", NULL, NULL, NULL, "[1"), VC_EINVAL);
    CHECK_INT(vc_cluster_certs_render(&b, NULL, "ns-gx", NULL, NULL, NULL, NULL), VC_EINVAL);
    vc_error_clear();
    vc__free(data);
    vc__free(cakey);
    vc__free(ca);
    vc__free(ca2);
    json_decref(made);
    json_decref(again);
    vc_buf_dispose(&b);

    /* the daemon's subcommand against the host */
    const char *syncer = getenv("VC_SYNCER_BIN");
    if (!syncer) {
        printf("# VC_SYNCER_BIN not set: the certs subcommand is not run\n");
        CHECK(syncer != NULL);
        return;
    }
    char ns[64], body[512], dir[2][128], cmd[2048], out[1024];
    itest_name(ns, sizeof ns, "gitops");
    snprintf(body, sizeof body, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", ns);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "POST", "/api/v1/namespaces", body, NULL), VC_OK);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services", ns);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "POST", path,
                              "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"gx\"},"
                              "\"spec\":{\"ports\":[{\"port\":443,\"targetPort\":8443}]}}",
                              NULL),
              VC_OK);
    for (int i = 0; i < 2; i++)
        snprintf(dir[i], sizeof dir[i], "/tmp/%s-pki-%d", ns, i);
    /* two replicas at once */
    snprintf(cmd, sizeof cmd,
             "rm -rf %s %s; for d in %s %s; do '%s' certs --name gx --host-namespace %s --host-kubeconfig '%s' "
             "--service-cidr 10.96.0.0/12 --pki-dir $d 2>&1 & done; wait; diff -r %s %s && echo SAME && ls %s | wc -l",
             dir[0], dir[1], dir[0], dir[1], syncer, ns, kc, dir[0], dir[1], dir[0]);
    int64_t t0 = vc__now_ms();
    CHECK_INT(run_cmd(cmd, out, sizeof out), 0);
    printf("# two 'vcluster-syncer certs' at once: %lld ms\n%s\n", (long long)(vc__now_ms() - t0), out);
    CHECK_CONTAINS(out, "created Secret gx-certs");
    CHECK_CONTAINS(out, "made by another replica");
    CHECK_CONTAINS(out, "SAME\n25");
    json_t *svc = host_get("/api/v1/namespaces/%s/services/gx", ns);
    json_t *sec = host_get("/api/v1/namespaces/%s/secrets/gx-certs", ns);
    char want[96];
    snprintf(want, sizeof want, "IP:%s", JS(svc, "spec", "clusterIP") ? JS(svc, "spec", "clusterIP") : "?");
    CHECK_CONTAINS(JS(sec, "metadata", "annotations", VC__K8S_SANS_ANN), want);
    /* the files are the Secret's */
    char *stored = secret_value(sec, "ca.crt");
    snprintf(cmd, sizeof cmd, "cat %s/ca.crt", dir[1]);
    char file[4096];
    CHECK_INT(run_cmd(cmd, file, sizeof file), 0);
    CHECK(stored && strncmp(stored, file, strlen(file)) == 0);
    vc__free(stored);
    CHECK(host_exists("/api/v1/namespaces/%s/secrets/vc-gx", ns));
    /* a restart loads what is there */
    snprintf(cmd, sizeof cmd, "'%s' certs --name gx --host-namespace %s --host-kubeconfig '%s' --pki-dir %s 2>&1",
             syncer, ns, kc, dir[0]);
    CHECK_INT(run_cmd(cmd, out, sizeof out), 0);
    CHECK_CONTAINS(out, "using Secret gx-certs");
    json_decref(svc);
    json_decref(sec);
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir[0], dir[1]);
    run_cmd(cmd, NULL, 0);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", ns);
    vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL);
    vc_error_clear();
}

/* no values at all: what a user gets from "vcluster create NAME" */
static void t_create(void)
{
    STEPS[0] = '\0';
    CHECK_INT(create(NAME, NULL, NULL, 0, NULL), VC_OK);
    CHECK_CONTAINS(STEPS, "namespace");
    CHECK_CONTAINS(STEPS, "certificates");
    CHECK_CONTAINS(STEPS, "manifests");
    CHECK_CONTAINS(STEPS, "controlplane");
}

static void t_objects(void)
{
    json_t *ns = host_get("/api/v1/namespaces/%s", NS);
    CHECK_STR(JS(ns, "metadata", "annotations", "vcluster.loft.sh/created"), "true");
    json_decref(ns);

    /* Service NAME: the marker and the API endpoint */
    json_t *svc = host_get("/api/v1/namespaces/%s/services/%s", NS, NAME);
    CHECK_STR(JS(svc, "metadata", "labels", "app"), "vcluster");
    CHECK_STR(JS(svc, "metadata", "labels", "release"), NAME);
    CHECK_STR(JS(svc, "metadata", "labels", "vcluster.loft.sh/driver"), "kubernetes");
    CHECK_STR(JS(svc, "metadata", "labels", "vcluster.loft.sh/service"), "true");
    CHECK_STR(JS(svc, "spec", "type"), "ClusterIP");
    CHECK_STR(JS(svc, "spec", "selector", "app"), "vcluster");
    CHECK_STR(JS(svc, "spec", "selector", "release"), NAME);
    CHECK_INT(json_array_size(J(svc, "spec", "ports")), 2);
    CHECK_STR(JS(svc, "spec", "ports", "0", "name"), "https");
    CHECK_INT(JI(svc, "spec", "ports", "0", "port"), 443);
    CHECK_INT(JI(svc, "spec", "ports", "0", "targetPort"), 8443);
    CHECK_STR(JS(svc, "spec", "ports", "1", "name"), "kubelet");
    CHECK_INT(JI(svc, "spec", "ports", "1", "port"), 10250);
    CHECK_INT(JI(svc, "spec", "ports", "1", "targetPort"), 8443);
    char cluster_ip[64];
    snprintf(cluster_ip, sizeof cluster_ip, "IP:%s", JS(svc, "spec", "clusterIP") ? JS(svc, "spec", "clusterIP") : "?");
    json_decref(svc);

    json_t *hl = host_get("/api/v1/namespaces/%s/services/%s-headless", NS, NAME);
    CHECK_STR(JS(hl, "spec", "clusterIP"), "None");
    CHECK(json_is_true(J(hl, "spec", "publishNotReadyAddresses")));
    CHECK(J(hl, "metadata", "labels", "vcluster.loft.sh/driver") == NULL); /* not a cluster marker */
    CHECK_STR(JS(hl, "metadata", "labels", "release"), NAME);
    CHECK_INT(JI(hl, "spec", "ports", "0", "targetPort"), 8443);
    json_decref(hl);

    /* ServiceAccounts and RBAC */
    json_t *sa = host_get("/api/v1/namespaces/%s/serviceaccounts/vc-%s", NS, NAME);
    CHECK_STR(JS(sa, "metadata", "labels", "release"), NAME);
    json_decref(sa);
    CHECK(host_exists("/api/v1/namespaces/%s/serviceaccounts/vc-workload-%s", NS, NAME));
    json_t *role = host_get("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles/vc-%s", NS, NAME);
    CHECK(has_rule(role, "", "pods", "create"));
    CHECK(has_rule(role, "", "pods", "delete"));
    CHECK(has_rule(role, "", "pods/status", "patch"));
    CHECK(has_rule(role, "", "services", "update"));
    CHECK(has_rule(role, "", "configmaps", "watch"));
    CHECK(has_rule(role, "", "secrets", "create"));
    CHECK(has_rule(role, "", "persistentvolumeclaims", "create"));
    CHECK(has_rule(role, "", "endpoints", "create"));        /* sync.toHost.endpoints (default on) */
    CHECK(has_rule(role, "", "events", "create"));
    CHECK(has_rule(role, "apps", "statefulsets", "get"));
    CHECK(!has_rule(role, "networking.k8s.io", "networkpolicies", "create")); /* off by default */
    CHECK(!has_rule(role, "", "serviceaccounts", "create"));
    CHECK(!has_rule(role, "coordination.k8s.io", "leases", "create"));       /* one replica, no etcd */
    json_decref(role);
    json_t *rb = host_get("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings/vc-%s", NS, NAME);
    CHECK_STR(JS(rb, "subjects", "0", "kind"), "ServiceAccount");
    char sa_name[64];
    snprintf(sa_name, sizeof sa_name, "vc-%s", NAME);
    CHECK_STR(JS(rb, "subjects", "0", "name"), sa_name);
    CHECK_STR(JS(rb, "subjects", "0", "namespace"), NS);
    CHECK_STR(JS(rb, "roleRef", "kind"), "Role");
    CHECK_STR(JS(rb, "roleRef", "name"), sa_name);
    json_decref(rb);
    CHECK(!host_exists("/apis/rbac.authorization.k8s.io/v1/clusterroles/vc-%s-v-%s", NAME, NS));

    /* Secrets: config, certificates, kubeconfig */
    json_t *cs = host_get("/api/v1/namespaces/%s/secrets/vc-config-%s", NS, NAME);
    char *yaml = secret_value(cs, "config.yaml");
    vc_config *back = NULL;
    CHECK_INT(vc_config_new(&back), VC_OK);
    CHECK_INT(vc_config_load_string(back, yaml ? yaml : "", "config.yaml"), VC_OK);
    vc_buf v = VC_BUF_INIT;
    /* no values given: the stored config has upstream's defaults */
    CHECK_INT(vc_config_get(back, "controlPlane.statefulSet.persistence.volumeClaim.enabled", &v), VC_OK);
    CHECK_STR(v.ptr, "auto");
    vc_buf_dispose(&v);
    CHECK_INT(vc_config_get(back, "controlPlane.statefulSet.persistence.volumeClaim.size", &v), VC_OK);
    CHECK_STR(v.ptr, "5Gi");
    vc_buf_dispose(&v);
    vc_config_free(back);
    vc__free(yaml);
    CHECK(J(cs, "data", "k0s.yaml") == NULL);
    json_decref(cs);

    json_t *certs = host_get("/api/v1/namespaces/%s/secrets/%s-certs", NS, NAME);
    const char *keys[] = { "ca.crt", "ca.key", "apiserver.crt", "apiserver.key", "front-proxy-ca.crt",
                           "front-proxy-client.crt", "sa.key", "sa.pub", "admin.crt", "admin.key",
                           "apiserver-kubelet-client.crt", "controller-manager.crt", "scheduler.crt",
                           "etcd-server.crt", "apiserver-etcd-client.crt", "admin.conf",
                           "controller-manager.conf", "scheduler.conf" };
    for (size_t i = 0; i < VC__ARRAY_LEN(keys); i++) {
        char *val = secret_value(certs, keys[i]);
        if (!val)
            fprintf(stderr, "missing %s\n", keys[i]);
        CHECK(val != NULL);
        vc__free(val);
    }
    char *adminconf = secret_value(certs, "admin.conf");
    CHECK_CONTAINS(adminconf, "server: https://127.0.0.1:8443");
    vc__free(adminconf);
    char dnsname[128];
    snprintf(dnsname, sizeof dnsname, "DNS:%s.%s", NAME, NS);
    CHECK_CONTAINS(JS(certs, "metadata", "annotations", "vcluster.loft.sh/apiserver-sans"), dnsname);
    CHECK_CONTAINS(JS(certs, "metadata", "annotations", "vcluster.loft.sh/apiserver-sans"), cluster_ip);
    CA_BEFORE = secret_value(certs, "ca.crt");
    json_decref(certs);

    json_t *kc = host_get("/api/v1/namespaces/%s/secrets/vc-%s", NS, NAME);
    char *config = secret_value(kc, "config");
    char server[160];
    snprintf(server, sizeof server, "server: https://%s.%s:443", NAME, NS);
    CHECK_CONTAINS(config, server);
    vc__free(config);
    CHECK(J(kc, "data", "certificate-authority") && J(kc, "data", "client-certificate") && J(kc, "data", "client-key"));
    json_decref(kc);
    vc_buf conn = VC_BUF_INIT;
    CHECK_INT(vc_cluster_connect(&conn, H, NAME, NULL, NULL), VC_OK);
    CHECK_CONTAINS(conn.ptr, server + strlen("server: "));
    vc_buf_dispose(&conn);

    /* the StatefulSet */
    json_t *sts = get_sts();
    CHECK_INT(JI(sts, "spec", "replicas"), 1);
    CHECK_INT(JI(sts, "status", "readyReplicas"), 1);
    char headless[64];
    snprintf(headless, sizeof headless, "%s-headless", NAME);
    CHECK_STR(JS(sts, "spec", "serviceName"), headless);
    CHECK_STR(JS(sts, "spec", "podManagementPolicy"), "Parallel");
    CHECK_STR(JS(sts, "spec", "selector", "matchLabels", "release"), NAME);
    CHECK_STR(JS(sts, "spec", "template", "metadata", "labels", "app"), "vcluster");
    /* persistence on by default: upstream's "data" claim, no class named (the
     * host's default class provisions it), kept when the StatefulSet goes */
    CHECK_INT(json_array_size(J(sts, "spec", "volumeClaimTemplates")), 1);
    json_t *vct = J(sts, "spec", "volumeClaimTemplates", "0");
    CHECK_STR(JS(vct, "metadata", "name"), "data");
    CHECK_STR(JS(vct, "spec", "resources", "requests", "storage"), "5Gi");
    CHECK_INT(json_array_size(J(vct, "spec", "accessModes")), 1);
    CHECK_STR(JS(vct, "spec", "accessModes", "0"), "ReadWriteOnce");
    CHECK(J(vct, "spec", "storageClassName") == NULL);
    CHECK_STR(JS(sts, "spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted"), "Retain");
    CHECK_STR(JS(sts, "spec", "persistentVolumeClaimRetentionPolicy", "whenScaled"), "Retain");
    CHECK_STR(JS(sts, "metadata", "annotations", "vcluster.loft.sh/version"), "v1.36.0");
    CHECK(JS(sts, "spec", "template", "metadata", "annotations", "vcluster.loft.sh/config-hash") != NULL);
    CHECK_STR(JS(sts, "spec", "template", "spec", "serviceAccountName"), sa_name);
    CHECK_STR(container_names(sts), "kine,kube-apiserver,kube-controller-manager,syncer");
    json_t *api = container(sts, "kube-apiserver"), *kcm = container(sts, "kube-controller-manager"),
           *syn = container(sts, "syncer"), *kine = container(sts, "kine");
    CHECK_STR(JS(api, "image"), "ghcr.io/loft-sh/kubernetes:v1.36.0");
    CHECK_STR(JS(kcm, "image"), "ghcr.io/loft-sh/kubernetes:v1.36.0");
    CHECK_STR(JS(kine, "image"), "rancher/kine:v0.17.5");
    CHECK_STR(JS(syn, "image"), "libvcluster/syncer:" VC_VERSION_STRING);
    CHECK(has_arg(api, "--secure-port=8443"));
    CHECK(has_arg(api, "--etcd-servers=http://127.0.0.1:2379"));
    CHECK(has_arg(api, "--client-ca-file=/pki/ca.crt"));
    CHECK_STR(arg_value(api, "--service-cluster-ip-range="), getenv("VC_TEST_SERVICE_CIDR") ? getenv("VC_TEST_SERVICE_CIDR") : "10.96.0.0/12");
    CHECK(has_arg(kcm, "--kubeconfig=/pki/controller-manager.conf"));
    CHECK(has_arg(kcm, "--leader-elect=false"));
    CHECK(!has_arg(syn, "--leader-elect")); /* one replica: no election */
    CHECK_STR(arg_value(syn, "--name="), NAME);
    CHECK_STR(arg_value(syn, "--host-namespace="), NS);
    CHECK(has_arg(syn, "--virtual-kubeconfig=/pki/admin.conf"));
    CHECK(has_arg(syn, "--config=/var/lib/vcluster/config.yaml"));
    /* the default requests and limits, ephemeral-storage included */
    CHECK_STR(JS(syn, "resources", "requests", "ephemeral-storage"), "1Gi");
    CHECK_STR(JS(syn, "resources", "requests", "cpu"), "200m");
    CHECK_STR(JS(syn, "resources", "requests", "memory"), "256Mi");
    CHECK_STR(JS(syn, "resources", "limits", "ephemeral-storage"), "10Gi");
    CHECK_STR(JS(syn, "resources", "limits", "memory"), "4Gi");
    CHECK(J(syn, "resources", "limits", "cpu") == NULL);
    CHECK_STR(JS(api, "resources", "requests", "cpu"), "40m");
    CHECK_STR(JS(api, "resources", "requests", "memory"), "64Mi");
    CHECK_STR(JS(api, "resources", "limits", "cpu"), "100m");
    CHECK_STR(JS(api, "resources", "limits", "memory"), "256Mi");
    CHECK(J(api, "resources", "requests", "ephemeral-storage") == NULL);
    CHECK_STR(arg_value(kine, "--listen-address="), "127.0.0.1:2379");
    json_t *vols = J(sts, "spec", "template", "spec", "volumes");
    char certs_name[64], cfg_name[64];
    snprintf(certs_name, sizeof certs_name, "%s-certs", NAME);
    snprintf(cfg_name, sizeof cfg_name, "vc-config-%s", NAME);
    CHECK_STR(JS(vols, "0", "name"), "certs");
    CHECK_STR(JS(vols, "0", "secret", "secretName"), certs_name);
    CHECK_STR(JS(vols, "1", "secret", "secretName"), cfg_name);
    CHECK_STR(JS(vols, "2", "name"), "tmp");
    CHECK_INT(json_array_size(vols), 3); /* "data" is the claim, not an emptyDir */
    bool data_mounted = false;
    size_t m;
    json_t *vm;
    json_array_foreach(J(kine, "volumeMounts"), m, vm) {
        if (!strcmp(JS(vm, "name"), "data"))
            data_mounted = !strcmp(JS(vm, "mountPath"), "/data");
    }
    CHECK(data_mounted);
    json_decref(sts);

    /* the pod kwok runs, with its requests as rendered and on a node that has
     * the ephemeral-storage they ask for */
    json_t *pod = host_get("/api/v1/namespaces/%s/pods/%s-0", NS, NAME);
    CHECK_STR(JS(pod, "status", "phase"), "Running");
    CHECK_STR(JS(container(pod, "syncer"), "resources", "requests", "ephemeral-storage"), "1Gi");
    char node[128];
    snprintf(node, sizeof node, "%s", JS(pod, "spec", "nodeName") ? JS(pod, "spec", "nodeName") : "?");
    json_decref(pod);
    json_t *n = host_get("/api/v1/nodes/%s", node);
    CHECK_STR(JS(n, "status", "allocatable", "ephemeral-storage"), "100Gi"); /* the harness's nodes */
    json_decref(n);

    /* its claim, bound through the host's default StorageClass by the
     * provisioner, on the pod's node (WaitForFirstConsumer) */
    check_claim(NS, NAME, node);

    /* --print listed exactly what exists now */
    size_t i;
    json_t *d;
    json_array_foreach(PRINTED, i, d) {
        const char *kind = JS(d, "kind"), *name = JS(d, "metadata", "name");
        if (!kind || !name) {
            CHECK(kind && name);
            continue;
        }
        const char *base = !strcmp(kind, "StatefulSet") ? "/apis/apps/v1"
                           : !strncmp(kind, "Role", 4)   ? "/apis/rbac.authorization.k8s.io/v1"
                                                         : "/api/v1";
        char plural[64];
        snprintf(plural, sizeof plural, "%s", kind);
        for (char *c = plural; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        strncat(plural, "s", sizeof plural - strlen(plural) - 1);
        bool ok = !strcmp(kind, "Namespace") ? host_exists("/api/v1/namespaces/%s", name)
                                             : host_exists("%s/namespaces/%s/%s/%s", base, NS, plural, name);
        if (!ok)
            fprintf(stderr, "printed %s %s does not exist\n", kind, name);
        CHECK(ok);
    }
}

static void t_status_list(void)
{
    vc_cluster_info *info = NULL;
    CHECK_INT(state_of(NAME, NULL, &info), VC_CLUSTER_RUNNING);
    if (info) {
        CHECK_STR(info->driver, "kubernetes");
        CHECK_STR(info->version, "v1.36.0");
        char server[160];
        snprintf(server, sizeof server, "https://%s.%s:443", NAME, NS);
        CHECK_STR(info->server, server);
        CHECK_STR(info->message, "");
        vc_cluster_info_free(info);
    }
    vc_cluster_list *l = NULL;
    CHECK_INT(vc_cluster_list_get(&l, H, NULL), VC_OK);
    bool found = false;
    for (size_t i = 0; i < vc_cluster_list_count(l); i++) {
        const vc_cluster_info *x = vc_cluster_list_at(l, i);
        char hl[64];
        snprintf(hl, sizeof hl, "%s-headless", NAME);
        CHECK(strcmp(x->name, hl) != 0); /* the headless Service is not a cluster */
        if (!strcmp(x->name, NAME)) {
            found = true;
            CHECK_INT(x->state, VC_CLUSTER_RUNNING);
            CHECK_STR(x->driver, "kubernetes");
            CHECK_STR(x->host_namespace, NS);
        }
    }
    CHECK(found);
    vc_cluster_list_free(l);
}

static void t_create_again(void)
{
    CHECK_INT(create(NAME, NULL, NULL, 0, NULL), VC_EEXISTS);
    CHECK_CONTAINS(vc_error_last()->message, "already exists");
    CHECK_CONTAINS(vc_error_last()->message, "--upgrade");
}

static void t_upgrade(void)
{
    json_t *before = get_sts();
    const char *h = JS(before, "spec", "template", "metadata", "annotations", "vcluster.loft.sh/config-hash");
    char hash_before[32];
    snprintf(hash_before, sizeof hash_before, "%s", h ? h : "");
    json_decref(before);

    CHECK_INT(upgrade_with(NULL, UPGRADE_VALUES, 0), VC_OK);
    json_t *sts = get_sts();
    CHECK_INT(JI(sts, "spec", "replicas"), 2);
    CHECK_INT(JI(sts, "status", "readyReplicas"), 2);
    CHECK_STR(container_names(sts), "etcd,kube-apiserver,kube-controller-manager,syncer");
    /* the second replica got its own claim from the provisioner */
    json_t *pvc1 = host_get("/api/v1/namespaces/%s/persistentvolumeclaims/data-%s-1", NS, NAME);
    CHECK_STR(JS(pvc1, "status", "phase"), "Bound");
    CHECK_STR(JS(pvc1, "spec", "storageClassName"), "standard");
    json_decref(pvc1);
    CHECK(strcmp(JS(sts, "spec", "template", "metadata", "annotations", "vcluster.loft.sh/config-hash"),
                 hash_before) != 0);
    json_t *api = container(sts, "kube-apiserver"), *etcd = container(sts, "etcd");
    CHECK(has_arg(api, "--etcd-servers=https://127.0.0.1:2379"));
    CHECK(has_arg(api, "--etcd-certfile=/pki/apiserver-etcd-client.crt"));
    CHECK(has_arg(api, "--v=4"));
    CHECK(has_arg(container(sts, "kube-controller-manager"), "--leader-elect=true"));
    /* the syncers elect a leader with highAvailability's timings (defaults 60/40/15 s) */
    CHECK(has_arg(container(sts, "syncer"), "--leader-elect"));
    CHECK(has_arg(container(sts, "syncer"), "--leader-elect-lease-duration=60s"));
    CHECK(has_arg(container(sts, "syncer"), "--leader-elect-renew-deadline=40s"));
    CHECK(has_arg(container(sts, "syncer"), "--leader-elect-retry-period=15s"));
    CHECK_STR(JS(container(sts, "syncer"), "image"), "ghcr.io/example/vcluster-syncer:dev");
    CHECK_STR(JS(etcd, "image"), "registry.k8s.io/etcd:3.6.8-0");
    char member[200];
    snprintf(member, sizeof member, "%s-1=https://%s-1.%s-headless.%s:2380", NAME, NAME, NAME, NS);
    CHECK_CONTAINS(arg_value(etcd, "--initial-cluster="), member);
    json_decref(sts);

    json_t *hl = host_get("/api/v1/namespaces/%s/services/%s-headless", NS, NAME);
    CHECK_INT(json_array_size(J(hl, "spec", "ports")), 3);
    CHECK_STR(JS(hl, "spec", "ports", "1", "name"), "etcd");
    json_decref(hl);
    /* RBAC follows the syncs: a ClusterRole for storage classes, leases for HA */
    json_t *cr = host_get("/apis/rbac.authorization.k8s.io/v1/clusterroles/vc-%s-v-%s", NAME, NS);
    CHECK(has_rule(cr, "storage.k8s.io", "storageclasses", "create"));
    CHECK(!has_rule(cr, "", "nodes", "get"));
    json_decref(cr);
    json_t *crb = host_get("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/vc-%s-v-%s", NAME, NS);
    CHECK_STR(JS(crb, "subjects", "0", "namespace"), NS);
    json_decref(crb);
    json_t *role = host_get("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles/vc-%s", NS, NAME);
    CHECK(has_rule(role, "networking.k8s.io", "networkpolicies", "create"));
    CHECK(has_rule(role, "coordination.k8s.io", "leases", "create"));
    json_decref(role);
    /* trust survives the upgrade */
    json_t *certs = host_get("/api/v1/namespaces/%s/secrets/%s-certs", NS, NAME);
    char *ca = secret_value(certs, "ca.crt");
    CHECK_STR(ca, CA_BEFORE);
    vc__free(ca);
    json_decref(certs);

    /* back to the defaults: one replica, kine, no ClusterRole */
    CHECK_INT(upgrade_with(NULL, NULL, 0), VC_OK);
    sts = get_sts();
    CHECK_INT(JI(sts, "spec", "replicas"), 1);
    CHECK_INT(JI(sts, "status", "readyReplicas"), 1);
    CHECK_STR(container_names(sts), "kine,kube-apiserver,kube-controller-manager,syncer");
    json_decref(sts);
    CHECK(!host_exists("/apis/rbac.authorization.k8s.io/v1/clusterroles/vc-%s-v-%s", NAME, NS));
    CHECK(!host_exists("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/vc-%s-v-%s", NAME, NS));
    /* scaled down, the StatefulSet keeps the second claim (whenScaled:
     * Retain); delete removes it (t_delete) */
    CHECK(host_exists("/api/v1/namespaces/%s/persistentvolumeclaims/data-%s-1", NS, NAME));
    check_claim(NS, NAME, NULL);
}

static const char *resource_version(char *out, size_t n, const char *fmt, ...) VC__PRINTF(3, 4);
static const char *resource_version(char *out, size_t n, const char *fmt, ...)
{
    char p[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    json_t *o = kget(H, p);
    snprintf(out, n, "%s", JS(o, "metadata", "resourceVersion") ? JS(o, "metadata", "resourceVersion") : "?");
    json_decref(o);
    return out;
}

/* What the API server will not change on the StatefulSet (the "data" claim,
 * the pod management policy) is refused before anything is applied: the
 * Service, Secrets, isolation objects and StatefulSet stay as they were. The
 * same size written another way is no change. */
static void t_upgrade_immutable(void)
{
    static const char *const refused[][2] = {
        { "controlPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        size: 10Gi\n",
          "controlPlane.statefulSet.persistence.volumeClaim.size cannot change on an existing virtual cluster" },
        { "controlPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        enabled: false\n",
          "controlPlane.statefulSet.persistence.volumeClaim.enabled cannot change" },
        { "controlPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        storageClass: fast\n",
          "volumeClaim.storageClass cannot change" },
        { "controlPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        accessModes: [ReadWriteMany]\n",
          "volumeClaim.accessModes cannot change" },
        { "controlPlane:\n  statefulSet:\n    scheduling:\n      podManagementPolicy: OrderedReady\n",
          "podManagementPolicy cannot change" },
    };
    char cfg_rv[32], svc_rv[32], rv[32];
    json_t *sts = get_sts();
    json_int_t generation = JI(sts, "metadata", "generation");
    json_decref(sts);
    char cfg_name[64];
    snprintf(cfg_name, sizeof cfg_name, "vc-config-%s", NAME);
    resource_version(cfg_rv, sizeof cfg_rv, "/api/v1/namespaces/%s/secrets/%s", NS, cfg_name);
    resource_version(svc_rv, sizeof svc_rv, "/api/v1/namespaces/%s/services/%s", NS, NAME);
    for (size_t i = 0; i < VC__ARRAY_LEN(refused); i++) {
        /* with isolation and --expose on top: neither may be applied */
        CHECK_INT(upgrade_with(refused[i][0], ISOLATION_VALUES, VC_CREATE_EXPOSE), VC_EINVAL);
        CHECK_CONTAINS(vc_error_last()->message, refused[i][1]);
        CHECK_CONTAINS(vc_error_last()->message, "nothing was changed");
    }
    sts = get_sts();
    CHECK_INT(JI(sts, "metadata", "generation"), generation); /* its spec untouched */
    json_decref(sts);
    CHECK_STR(resource_version(rv, sizeof rv, "/api/v1/namespaces/%s/secrets/%s", NS, cfg_name), cfg_rv);
    CHECK_STR(resource_version(rv, sizeof rv, "/api/v1/namespaces/%s/services/%s", NS, NAME), svc_rv);
    CHECK(!host_exists("/api/v1/namespaces/%s/resourcequotas/vc-%s", NS, NAME));
    CHECK_INT(state_of(NAME, NULL, NULL), VC_CLUSTER_RUNNING);

    CHECK_INT(upgrade_with("controlPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        size: 5120Mi\n",
                           NULL, 0), VC_OK);
    sts = get_sts();
    CHECK_STR(JS(sts, "spec", "volumeClaimTemplates", "0", "spec", "resources", "requests", "storage"), "5Gi");
    CHECK_INT(JI(sts, "status", "readyReplicas"), 1);
    json_decref(sts);
}

static void t_expose(void)
{
    CHECK_INT(upgrade_with(NULL, NULL, VC_CREATE_EXPOSE), VC_OK);
    json_t *svc = host_get("/api/v1/namespaces/%s/services/%s", NS, NAME);
    CHECK_STR(JS(svc, "spec", "type"), "LoadBalancer");
    CHECK_INT(json_array_size(J(svc, "spec", "ports")), 1); /* no kubelet port on a LoadBalancer */
    CHECK_INT(JI(svc, "spec", "ports", "0", "port"), 443);
    json_decref(svc);
    json_t *cs = host_get("/api/v1/namespaces/%s/secrets/vc-config-%s", NS, NAME);
    char *yaml = secret_value(cs, "config.yaml");
    CHECK_CONTAINS(yaml, "LoadBalancer");
    vc__free(yaml);
    json_decref(cs);

    /* no load balancer controller here: play one, then status shows its address
     * and the next upgrade puts it into the API server certificate */
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/services/%s/status", NS, NAME);
    CHECK_INT(vc_kube_request(H, NULL, NULL, "PATCH", path,
                              "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"203.0.113.10\"}]}}}",
                              "application/merge-patch+json"), VC_OK);
    vc_cluster_info *info = NULL;
    CHECK_INT(state_of(NAME, NULL, &info), VC_CLUSTER_RUNNING);
    if (info)
        CHECK_STR(info->server, "https://203.0.113.10:443");
    vc_cluster_info_free(info);
    CHECK_INT(upgrade_with(NULL, NULL, VC_CREATE_EXPOSE), VC_OK);
    json_t *certs = host_get("/api/v1/namespaces/%s/secrets/%s-certs", NS, NAME);
    CHECK_CONTAINS(JS(certs, "metadata", "annotations", "vcluster.loft.sh/apiserver-sans"), "IP:203.0.113.10");
    json_decref(certs);
}

static void t_pause(void)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", NS);
    char body[512];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"fake-workload\",\"labels\":"
             "{\"vcluster.loft.sh/managed-by\":\"%s\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}",
             NAME);
    CHECK_INT(kcreate(H, path, body), VC_OK);

    vc_cluster_op_options o = op_opts(0);
    CHECK_INT(vc_cluster_pause(H, NAME, NULL, &o), VC_OK);
    json_t *sts = get_sts();
    CHECK_INT(JI(sts, "spec", "replicas"), 0);
    CHECK_STR(JS(sts, "metadata", "annotations", "loft.sh/paused"), "true");
    CHECK_STR(JS(sts, "metadata", "annotations", "loft.sh/paused-replicas"), "1");
    CHECK(JS(sts, "metadata", "annotations", "loft.sh/paused-date") != NULL);
    json_decref(sts);
    json_t *svc = host_get("/api/v1/namespaces/%s/services/%s", NS, NAME);
    CHECK_STR(JS(svc, "metadata", "annotations", "loft.sh/paused"), "true");
    CHECK_STR(JS(svc, "metadata", "annotations", "loft.sh/paused-replicas"), "1");
    json_decref(svc);
    CHECK(!host_exists("/api/v1/namespaces/%s/pods/fake-workload", NS));
    CHECK_INT(list_count("/api/v1/namespaces/%s/pods?labelSelector=release%%3D%s", NS, NAME), 0);
    CHECK_INT(state_of(NAME, NULL, NULL), VC_CLUSTER_PAUSED);
    check_claim_pv(NS, NAME, NULL, PAUSED_PV, sizeof PAUSED_PV); /* the data stays */
    vc_cluster_list *l = NULL;
    CHECK_INT(vc_cluster_list_get(&l, H, NS), VC_OK);
    CHECK_INT(vc_cluster_list_count(l), 1);
    if (vc_cluster_list_count(l) == 1)
        CHECK_INT(vc_cluster_list_at(l, 0)->state, VC_CLUSTER_PAUSED);
    vc_cluster_list_free(l);
    CHECK_INT(vc_cluster_pause(H, NAME, NULL, &o), VC_ESTATE);
    CHECK_CONTAINS(vc_error_last()->message, "already paused");
    vc_buf kc = VC_BUF_INIT;
    CHECK_INT(vc_cluster_connect(&kc, H, NAME, NULL, NULL), VC_ESTATE);
    vc_buf_dispose(&kc);
}

/* F9 isolation on the running cluster: the control plane's new pod is
 * admitted under the quota, gets the LimitRange's defaults where it asks for
 * nothing (ephemeral-storage included) and becomes Ready */
static void t_isolation(void)
{
    CHECK_INT(upgrade_with(NULL, ISOLATION_VALUES, 0), VC_OK);
    json_t *sts = get_sts();
    CHECK_INT(JI(sts, "spec", "replicas"), 1);
    CHECK_INT(JI(sts, "status", "readyReplicas"), 1);
    CHECK_INT(JI(sts, "status", "updatedReplicas"), 1);
    json_decref(sts);
    CHECK_INT(state_of(NAME, NULL, NULL), VC_CLUSTER_RUNNING);
    json_t *pod = host_get("/api/v1/namespaces/%s/pods/%s-0", NS, NAME);
    CHECK_STR(JS(pod, "status", "phase"), "Running");
    json_t *kine = container(pod, "kine"), *syn = container(pod, "syncer");
    CHECK_STR(JS(kine, "resources", "requests", "ephemeral-storage"), "3Gi"); /* LimitRange */
    CHECK_STR(JS(kine, "resources", "limits", "ephemeral-storage"), "8Gi");
    CHECK_STR(JS(kine, "resources", "requests", "cpu"), "40m");             /* its own */
    CHECK_STR(JS(syn, "resources", "requests", "ephemeral-storage"), "1Gi"); /* its own */
    CHECK_STR(JS(syn, "resources", "limits", "cpu"), "1");                   /* LimitRange */
    json_decref(pod);
    check_claim(NS, NAME, NULL);

    json_t *q = host_get("/api/v1/namespaces/%s/resourcequotas/vc-%s", NS, NAME);
    static const char *const quota[][2] = {
        { "count/configmaps", "100" }, { "count/endpoints", "40" }, { "count/persistentvolumeclaims", "20" },
        { "count/pods", "20" }, { "count/secrets", "100" }, { "count/services", "20" }, { "limits.cpu", "20" },
        { "limits.memory", "40Gi" }, { "requests.cpu", "10" }, { "requests.memory", "20Gi" },
        { "requests.storage", "100Gi" }, { "limits.ephemeral-storage", "160Gi" },
        { "requests.ephemeral-storage", "60Gi" }, { "services.loadbalancers", "1" }, { "services.nodeports", "0" },
    };
    for (size_t i = 0; i < VC__ARRAY_LEN(quota); i++)
        CHECK_STR(JS(q, "spec", "hard", quota[i][0]), quota[i][1]);
    CHECK_INT(json_object_size(J(q, "spec", "hard")), VC__ARRAY_LEN(quota));
    CHECK_STR(JS(q, "metadata", "labels", "release"), NAME);
    json_decref(q);
    /* the quota counts the control plane: 1Gi (syncer) + 3 x 3Gi (LimitRange)
     * of ephemeral-storage, and 2 x 5Gi of claims (data-NAME-0, and the -1
     * the scale-down in t_upgrade kept) */
    char used[32] = "", storage[32] = "";
    for (int i = 0; i < 150; i++) {
        q = host_get("/api/v1/namespaces/%s/resourcequotas/vc-%s", NS, NAME);
        const char *u = JS(q, "status", "used", "requests.ephemeral-storage"),
                   *st = JS(q, "status", "used", "requests.storage");
        snprintf(used, sizeof used, "%s", u ? u : "");
        snprintf(storage, sizeof storage, "%s", st ? st : "");
        json_decref(q);
        if (!strcmp(used, "10Gi") && !strcmp(storage, "10Gi"))
            break;
        usleep(100 * 1000);
    }
    CHECK_STR(used, "10Gi");
    CHECK_STR(storage, "10Gi");

    json_t *lr = host_get("/api/v1/namespaces/%s/limitranges/vc-%s", NS, NAME);
    json_t *lim = J(lr, "spec", "limits", "0");
    CHECK_STR(JS(lim, "type"), "Container");
    CHECK_STR(JS(lim, "default", "cpu"), "1");
    CHECK_STR(JS(lim, "default", "memory"), "512Mi");
    CHECK_STR(JS(lim, "default", "ephemeral-storage"), "8Gi");
    CHECK_STR(JS(lim, "defaultRequest", "cpu"), "100m");
    CHECK_STR(JS(lim, "defaultRequest", "memory"), "128Mi");
    CHECK_STR(JS(lim, "defaultRequest", "ephemeral-storage"), "3Gi");
    json_decref(lr);

    /* workloads: control plane, DNS, each other, public IPs but no private range */
    json_t *work = host_get("/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/vc-work-%s", NS, NAME);
    CHECK_STR(JS(work, "spec", "podSelector", "matchLabels", "vcluster.loft.sh/managed-by"), NAME);
    CHECK(in_strings(J(work, "spec", "policyTypes"), "Egress") && in_strings(J(work, "spec", "policyTypes"), "Ingress"));
    json_t *eg = J(work, "spec", "egress");
    CHECK_STR(JS(eg, "0", "to", "0", "podSelector", "matchLabels", "release"), NAME);
    CHECK_INT(JI(eg, "0", "ports", "2", "port"), 8443);
    CHECK_STR(JS(eg, "1", "to", "0", "podSelector", "matchLabels", "vcluster.loft.sh/managed-by"), NAME);
    CHECK_STR(JS(eg, "2", "to", "0", "ipBlock", "cidr"), "0.0.0.0/0");
    json_t *except = J(eg, "2", "to", "0", "ipBlock", "except");
    CHECK(in_strings(except, "10.0.0.0/8") && in_strings(except, "172.16.0.0/12") &&
          in_strings(except, "192.168.0.0/16") && in_strings(except, "100.64.0.0/10") &&
          in_strings(except, "127.0.0.0/8"));
    CHECK_STR(JS(work, "spec", "ingress", "0", "from", "0", "podSelector", "matchLabels", "release"), NAME);
    json_decref(work);
    /* control plane: host DNS and API ports only (plus its peers and workloads) */
    json_t *cp = host_get("/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/vc-cp-%s", NS, NAME);
    CHECK_STR(JS(cp, "spec", "podSelector", "matchLabels", "release"), NAME);
    CHECK_STR(JS(cp, "spec", "egress", "0", "to", "0", "podSelector", "matchLabels", "k8s-app"), "kube-dns");
    CHECK_STR(JS(cp, "spec", "egress", "0", "to", "0", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"),
              "kube-system");
    CHECK_INT(JI(cp, "spec", "egress", "1", "ports", "0", "port"), 443);
    CHECK_INT(JI(cp, "spec", "egress", "1", "ports", "2", "port"), 6443);
    CHECK(J(cp, "spec", "egress", "1", "to") == NULL);
    CHECK_INT(JI(cp, "spec", "ingress", "0", "ports", "0", "port"), 8443);
    json_decref(cp);
    CHECK(host_exists("/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/vc-kube-dns-%s", NS, NAME));
}

/* An upgrade of the paused cluster keeps it paused: isolation switched off
 * again, all pruned */
static void t_paused_upgrade(void)
{
    CHECK_INT(upgrade_with(NULL, NULL, 0), VC_OK);
    json_t *sts = get_sts();
    CHECK_INT(JI(sts, "spec", "replicas"), 0);
    CHECK_STR(JS(sts, "metadata", "annotations", "loft.sh/paused"), "true");
    CHECK_STR(JS(sts, "metadata", "annotations", "loft.sh/paused-replicas"), "1");
    json_decref(sts);
    CHECK(!host_exists("/api/v1/namespaces/%s/resourcequotas/vc-%s", NS, NAME));
    CHECK(!host_exists("/api/v1/namespaces/%s/limitranges/vc-%s", NS, NAME));
    CHECK_INT(list_count("/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies", NS), 0);
    CHECK_INT(state_of(NAME, NULL, NULL), VC_CLUSTER_PAUSED);
}

static void t_resume(void)
{
    vc_cluster_op_options o = op_opts(0);
    CHECK_INT(vc_cluster_resume(H, NAME, NULL, &o), VC_OK);
    json_t *sts = get_sts();
    CHECK_INT(JI(sts, "spec", "replicas"), 1);
    CHECK_INT(JI(sts, "status", "readyReplicas"), 1);
    CHECK(J(sts, "metadata", "annotations", "loft.sh/paused") == NULL);
    CHECK(J(sts, "metadata", "annotations", "loft.sh/paused-replicas") == NULL);
    json_decref(sts);
    json_t *svc = host_get("/api/v1/namespaces/%s/services/%s", NS, NAME);
    CHECK(J(svc, "metadata", "annotations", "loft.sh/paused") == NULL);
    json_decref(svc);
    CHECK_INT(state_of(NAME, NULL, NULL), VC_CLUSTER_RUNNING);
    char pv[128];
    check_claim_pv(NS, NAME, NULL, pv, sizeof pv);
    CHECK_STR(pv, PAUSED_PV); /* back on the same volume */
    CHECK_INT(vc_cluster_resume(H, NAME, NULL, &o), VC_ESTATE);
    CHECK_CONTAINS(vc_error_last()->message, "not paused");
}

/* Persistence with the defaults in a namespace of our own: the data claim is
 * provisioned through the host's default StorageClass, survives delete with
 * keep-pvc (and so does its PV and its directory) and is used again by the
 * next create; a plain delete removes the claim, and the provisioner then
 * the PV (reclaim Delete) and its directory. The namespace is ours, so
 * VC_DELETE_NAMESPACE keeps it. */
static void t_persistence(void)
{
    char body[1024], path[256];
    snprintf(body, sizeof body, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", NS2);
    CHECK_INT(kcreate(H, "/api/v1/namespaces", body), VC_OK);
    CHECK_INT(create(NAME2, NS2, NULL, 0, NULL), VC_OK);
    json_t *sts = host_get("/apis/apps/v1/namespaces/%s/statefulsets/%s", NS2, NAME2);
    CHECK_STR(JS(sts, "spec", "volumeClaimTemplates", "0", "metadata", "name"), "data");
    CHECK_STR(JS(sts, "spec", "volumeClaimTemplates", "0", "spec", "resources", "requests", "storage"), "5Gi");
    CHECK_STR(JS(sts, "spec", "volumeClaimTemplates", "0", "spec", "accessModes", "0"), "ReadWriteOnce");
    CHECK_STR(JS(sts, "spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted"), "Retain");
    CHECK_INT(JI(sts, "status", "readyReplicas"), 1);
    json_decref(sts);
    json_t *pod = host_get("/api/v1/namespaces/%s/pods/%s-0", NS2, NAME2);
    char node[128];
    snprintf(node, sizeof node, "%s", JS(pod, "spec", "nodeName") ? JS(pod, "spec", "nodeName") : "?");
    json_decref(pod);
    char pv[128];
    check_claim_pv(NS2, NAME2, node, pv, sizeof pv);
    json_t *v = host_get("/api/v1/persistentvolumes/%s", pv);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", JS(v, "spec", "hostPath", "path") ? JS(v, "spec", "hostPath", "path") : "/nonexistent");
    json_decref(v);
    CHECK(access(dir, F_OK) == 0); /* the provisioner made it */

    vc_cluster_op_options o = op_opts(VC_DELETE_KEEP_PVC | VC_DELETE_NAMESPACE);
    CHECK_INT(vc_cluster_delete(H, NAME2, NS2, &o), VC_OK);
    CHECK(!host_exists("/apis/apps/v1/namespaces/%s/statefulsets/%s", NS2, NAME2));
    CHECK(host_exists("/api/v1/namespaces/%s", NS2)); /* not created by vcluster: kept */
    /* kept: the claim, still Bound to its PV, and the directory */
    char kept[128];
    check_claim_pv(NS2, NAME2, NULL, kept, sizeof kept);
    CHECK_STR(kept, pv);
    usleep(1000 * 1000); /* give the provisioner a chance to be wrong */
    CHECK(host_exists("/api/v1/persistentvolumes/%s", pv));
    CHECK(access(dir, F_OK) == 0);

    /* the kept claim is used again */
    CHECK_INT(create(NAME2, NS2, NULL, 0, NULL), VC_OK);
    json_t *pvc = host_get("/api/v1/namespaces/%s/persistentvolumeclaims/data-%s-0", NS2, NAME2);
    CHECK_STR(JS(pvc, "spec", "volumeName"), pv);
    CHECK_STR(JS(pvc, "status", "phase"), "Bound");
    json_decref(pvc);
    sts = host_get("/apis/apps/v1/namespaces/%s/statefulsets/%s", NS2, NAME2);
    CHECK_INT(JI(sts, "status", "readyReplicas"), 1);
    json_decref(sts);

    /* without keep-pvc: the claim goes, and with it the PV and directory */
    o = op_opts(0);
    CHECK_INT(vc_cluster_delete(H, NAME2, NS2, &o), VC_OK);
    CHECK(!host_exists("/api/v1/namespaces/%s/persistentvolumeclaims/data-%s-0", NS2, NAME2));
    CHECK(pv_gone(pv));
    CHECK(access(dir, F_OK) != 0);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", NS2);
    vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL);
}

static void t_delete(void)
{
    /* the volumes of both replicas' claims (data-NAME-0 and the -1 the
     * scale-down kept) */
    char pvs[4][128];
    size_t npv = 0, i;
    json_t *l = host_get("/api/v1/namespaces/%s/persistentvolumeclaims", NS), *c;
    json_array_foreach(J(l, "items"), i, c) {
        if (npv < VC__ARRAY_LEN(pvs) && JS(c, "spec", "volumeName"))
            snprintf(pvs[npv++], sizeof pvs[0], "%s", JS(c, "spec", "volumeName"));
    }
    json_decref(l);
    CHECK_INT(npv, 2);

    vc_cluster_op_options o = op_opts(VC_DELETE_NAMESPACE);
    CHECK_INT(vc_cluster_delete(H, NAME, NULL, &o), VC_OK);
    CHECK(!host_exists("/api/v1/namespaces/%s", NS));
    CHECK(!host_exists("/apis/rbac.authorization.k8s.io/v1/clusterroles/vc-%s-v-%s", NAME, NS));
    CHECK(!host_exists("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/vc-%s-v-%s", NAME, NS));
    /* (the namespace is gone, so these lists are empty: nothing outlived it) */
    const char *lists[][2] = { { "/api/v1", "pods" }, { "/api/v1", "services" },
                               { "/api/v1", "persistentvolumeclaims" }, { "/apis/apps/v1", "statefulsets" },
                               { "/apis/rbac.authorization.k8s.io/v1", "roles" } };
    for (i = 0; i < VC__ARRAY_LEN(lists); i++)
        CHECK_INT(list_count("%s/namespaces/%s/%s", lists[i][0], NS, lists[i][1]), 0);
    /* and the provisioner removed their volumes (reclaim Delete) */
    for (i = 0; i < npv; i++)
        CHECK(pv_gone(pvs[i]));
    vc_cluster_info *info = NULL;
    CHECK_INT(vc_cluster_status(&info, H, NAME, NULL), VC_ENOTFOUND);
    CHECK_INT(vc_cluster_delete(H, NAME, NULL, &o), VC_ENOTFOUND);
}

static void cleanup(void)
{
    vc_cluster_op_options o = op_opts(VC_DELETE_NAMESPACE);
    o.progress = NULL;
    vc_cluster_delete(H, NAME, NULL, &o);
    o.flags = 0;
    vc_cluster_delete(H, NAME2, NS2, &o);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", NS2);
    vc_kube_request(H, NULL, NULL, "DELETE", path, NULL, NULL);
    vc_error_clear();
}

int main(void)
{
    const char *kc = itest_kubeconfig();
    /* every allocation through a canary-header allocator (tests/unit/canary.h):
     * a block released with libc free() is an ASan bad-free (merge_patch did
     * that on every pause, resume and upgrade) */
    CHECK_INT(vc_global_init(&g_alloc), VC_OK);
    H = kube_for(kc);
    if (!H)
        return 1;
    itest_name(NAME, sizeof NAME, "k8sdrv");
    snprintf(NS, sizeof NS, "vcluster-%s", NAME);
    itest_name(NAME2, sizeof NAME2, "k8spvc");
    snprintf(NS2, sizeof NS2, "own-%s", NAME2);
    RUN(t_templates);
    RUN(t_print);
    RUN(t_print_distros);
    RUN(t_print_external_db);
    RUN(t_datasource_secret);
    t_certs_init(kc);
    RUN(t_create);
    RUN(t_objects);
    RUN(t_status_list);
    RUN(t_create_again);
    RUN(t_upgrade);
    RUN(t_upgrade_immutable);
    RUN(t_expose);
    RUN(t_isolation);
    RUN(t_pause);
    RUN(t_paused_upgrade);
    RUN(t_resume);
    RUN(t_persistence);
    RUN(t_delete);
    cleanup();
    json_decref(PRINTED);
    vc__free(CA_BEFORE);
    vc_kube_free(H);
    vc_global_shutdown();
    CHECK_INT(g_bad_free, 0);
    printf("# %ld allocations through the canary allocator, %ld blocks live after shutdown\n", g_count, g_live);
    TEST_DONE();
}
