/* kubeconfig loading and merging, as kubectl does it. Fixtures are real
 * kubeconfig shapes written to a temp dir (relative paths matter). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/kube.h"
#include "test.h"

static char dir[256];

static char *fx(const char *name, const char *text)
{
    char *p = vc__sprintf("%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

static const char *PEM_CA = "-----BEGIN CERTIFICATE-----\nMIIBCA==\n-----END CERTIFICATE-----\n";

static void t_basic_files(void)
{
    char *pk = vc__sprintf("%s/pki", dir);
    mkdir(pk, 0700);
    vc__free(pk);
    char *ca = fx("pki/ca.crt", PEM_CA);
    vc__free(fx("pki/admin.crt", "CERT"));
    vc__free(fx("pki/admin.key", "KEY"));
    char *kc = fx("basic.yaml",
                  "apiVersion: v1\n"
                  "kind: Config\n"
                  "clusters:\n"
                  "- name: local\n"
                  "  cluster:\n"
                  "    server: https://127.0.0.1:6443/\n"
                  "    certificate-authority: pki/ca.crt\n"
                  "users:\n"
                  "- name: admin\n"
                  "  user:\n"
                  "    client-certificate: pki/admin.crt\n"
                  "    client-key: pki/admin.key\n"
                  "contexts:\n"
                  "- name: local\n"
                  "  context: {cluster: local, user: admin, namespace: team-a}\n"
                  "current-context: local\n"
                  "preferences: {}\n");
    vc__kube_cfg c;
    CHECK_INT(vc__kubeconfig_load(&c, kc, NULL, NULL), VC_OK);
    CHECK_STR(c.server, "https://127.0.0.1:6443");
    CHECK_STR(c.namespace_, "team-a");
    CHECK_STR(c.context, "local");
    CHECK(c.ca_data && c.ca_len == strlen(PEM_CA) && !memcmp(c.ca_data, PEM_CA, c.ca_len));
    CHECK(c.cert_data && !memcmp(c.cert_data, "CERT", 4));
    CHECK(c.key_data && !memcmp(c.key_data, "KEY", 3));
    CHECK(!c.insecure);
    vc__kube_cfg_clear(&c);
    vc__free(ca);
    vc__free(kc);
}

static void t_inline_data_and_token(void)
{
    /* base64("hello") = aGVsbG8= */
    const char *y =
        "apiVersion: v1\nkind: Config\n"
        "clusters: [{name: c, cluster: {server: 'https://10.0.0.1', certificate-authority-data: aGVsbG8=, "
        "insecure-skip-tls-verify: true, proxy-url: 'http://127.0.0.1:3128'}}]\n"
        "users: [{name: u, user: {token: abc.def}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n";
    vc__kube_cfg c;
    CHECK_INT(vc__kubeconfig_load(&c, NULL, y, NULL), VC_OK);
    CHECK(c.ca_len == 5 && !memcmp(c.ca_data, "hello", 5));
    CHECK(c.insecure);
    CHECK_STR(c.token, "abc.def");
    CHECK_STR(c.proxy_url, "http://127.0.0.1:3128");
    CHECK(c.namespace_ == NULL);
    vc__kube_cfg_clear(&c);
}

static void t_merge_kubeconfig_env(void)
{
    char *a = fx("a.yaml",
                 "apiVersion: v1\nkind: Config\n"
                 "clusters: [{name: shared, cluster: {server: 'https://first:1'}}]\n"
                 "users: [{name: ua, user: {token: ta}}]\n"
                 "contexts: [{name: ctx-a, context: {cluster: shared, user: ua}}]\n");
    char *b = fx("b.yaml",
                 "apiVersion: v1\nkind: Config\n"
                 "clusters: [{name: shared, cluster: {server: 'https://second:2'}}, {name: own, cluster: {server: 'https://own:3'}}]\n"
                 "users: [{name: ub, user: {token: tb}}]\n"
                 "contexts: [{name: ctx-b, context: {cluster: own, user: ub, namespace: nb}}, {name: ctx-a, context: {cluster: own, user: ub}}]\n"
                 "current-context: ctx-b\n");
    char *missing = vc__sprintf("%s/does-not-exist.yaml", dir);
    char *env = vc__sprintf("%s:%s:%s", missing, a, b);
    setenv("KUBECONFIG", env, 1);
    vc__kube_cfg c;
    /* current-context comes from b (a sets none); ctx-b -> own */
    CHECK_INT(vc__kubeconfig_load(&c, NULL, NULL, NULL), VC_OK);
    CHECK_STR(c.context, "ctx-b");
    CHECK_STR(c.server, "https://own:3");
    CHECK_STR(c.token, "tb");
    CHECK_STR(c.namespace_, "nb");
    vc__kube_cfg_clear(&c);
    /* --context ctx-a: the first definition (file a) wins, and cluster "shared" from a */
    CHECK_INT(vc__kubeconfig_load(&c, NULL, NULL, "ctx-a"), VC_OK);
    CHECK_STR(c.server, "https://first:1");
    CHECK_STR(c.token, "ta");
    vc__kube_cfg_clear(&c);
    /* an explicit path beats KUBECONFIG */
    CHECK_INT(vc__kubeconfig_load(&c, a, NULL, "ctx-a"), VC_OK);
    CHECK_STR(c.server, "https://first:1");
    vc__kube_cfg_clear(&c);
    /* an explicit path that does not exist is an error naming it */
    CHECK_INT(vc__kubeconfig_load(&c, missing, NULL, NULL), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "does-not-exist.yaml");
    /* unknown context */
    CHECK_INT(vc__kubeconfig_load(&c, NULL, NULL, "nope"), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "context \"nope\" not found");
    unsetenv("KUBECONFIG");
    vc__free(a);
    vc__free(b);
    vc__free(missing);
    vc__free(env);
}

static void t_errors_name_file_line_field(void)
{
    char *bad = fx("bad-type.yaml",
                   "apiVersion: v1\n"
                   "kind: Config\n"
                   "clusters:\n"
                   "- name: c\n"
                   "  cluster:\n"
                   "    server: [not, a, string]\n"
                   "contexts: [{name: x, context: {cluster: c}}]\n"
                   "current-context: x\n");
    vc__kube_cfg c;
    CHECK_INT(vc__kubeconfig_load(&c, bad, NULL, NULL), VC_ECONFIG);
    const vc_error *e = vc_error_last();
    CHECK_INT(e->code, VC_ECONFIG);
    CHECK_CONTAINS(e->message, "bad-type.yaml:6:13");
    CHECK_CONTAINS(e->message, "clusters[0].cluster.server");
    CHECK(strchr(e->message, '\n') == NULL);

    char *syn = fx("syntax.yaml", "apiVersion: v1\nclusters:\n  - name: [unclosed\n");
    CHECK_INT(vc__kubeconfig_load(&c, syn, NULL, NULL), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "syntax.yaml:");

    char *nosrv = fx("noserver.yaml",
                     "clusters: [{name: c, cluster: {certificate-authority-data: aGVsbG8=}}]\n"
                     "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n");
    CHECK_INT(vc__kubeconfig_load(&c, nosrv, NULL, NULL), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "has no server");

    char *b64 = fx("badb64.yaml",
                   "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority-data: '!!!'}}]\n"
                   "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n");
    CHECK_INT(vc__kubeconfig_load(&c, b64, NULL, NULL), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "certificate-authority-data: not valid base64");

    char *ap = fx("authprov.yaml",
                  "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
                  "users: [{name: u, user: {auth-provider: {name: gcp, config: {}}}}]\n"
                  "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n");
    CHECK_INT(vc__kubeconfig_load(&c, ap, NULL, NULL), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "auth-provider \"gcp\" is not supported");
    CHECK_CONTAINS(vc_error_last()->message, "users[0].user.auth-provider");

    char *nocur = fx("nocurrent.yaml", "clusters: []\n");
    CHECK_INT(vc__kubeconfig_load(&c, nocur, NULL, NULL), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "no current-context");

    char *certonly = fx("certonly.yaml",
                        "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
                        "users: [{name: u, user: {client-certificate-data: aGVsbG8=}}]\n"
                        "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n");
    CHECK_INT(vc__kubeconfig_load(&c, certonly, NULL, NULL), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "without a key");

    char *notlist = fx("notlist.yaml", "clusters: {a: b}\n");
    CHECK_INT(vc__kubeconfig_load(&c, notlist, NULL, NULL), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "notlist.yaml:1:11: clusters: expected a list");

    char *dup = fx("dupkey.yaml", "clusters: []\nclusters: []\n");
    CHECK_INT(vc__kubeconfig_load(&c, dup, NULL, NULL), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "duplicate key");

    char *cafile = fx("cafile-missing.yaml",
                      "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority: nowhere/ca.crt}}]\n"
                      "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n");
    CHECK_INT(vc__kubeconfig_load(&c, cafile, NULL, NULL), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "nowhere/ca.crt");
    CHECK_CONTAINS(vc_error_last()->message, "clusters[0].cluster.certificate-authority");

    vc__free(bad);
    vc__free(syn);
    vc__free(nosrv);
    vc__free(b64);
    vc__free(ap);
    vc__free(nocur);
    vc__free(certonly);
    vc__free(notlist);
    vc__free(dup);
    vc__free(cafile);
}

static void t_exec_plugin(void)
{
    char *plugin = fx("plugin.sh",
                      "#!/bin/sh\n"
                      "case \"$KUBERNETES_EXEC_INFO\" in *ExecCredential*) ;; *) echo 'no exec info' >&2; exit 3;; esac\n"
                      "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                      "\"status\":{\"token\":\"'\"$MY_TOKEN\"'\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}'\n");
    chmod(plugin, 0755);
    char *fail = fx("fail.sh", "#!/bin/sh\necho 'login required: run mycloud login' >&2\nexit 2\n");
    chmod(fail, 0755);
    char *kc = fx("exec.yaml",
                  "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
                  "users:\n"
                  "- name: u\n"
                  "  user:\n"
                  "    exec:\n"
                  "      apiVersion: client.authentication.k8s.io/v1\n"
                  "      command: ./plugin.sh\n"
                  "      args: [--flag]\n"
                  "      env: [{name: MY_TOKEN, value: secret-token}]\n"
                  "- name: f\n"
                  "  user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ./fail.sh}}\n"
                  "- name: missing\n"
                  "  user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: no-such-plugin-xyz, installHint: 'install it with apt'}}\n"
                  "contexts: [{name: x, context: {cluster: c, user: u}}, {name: ctx-y, context: {cluster: c, user: f}},"
                  " {name: ctx-z, context: {cluster: c, user: missing}}]\n"
                  "current-context: x\n");
    vc__kube_cfg c;
    CHECK_INT(vc__kubeconfig_load(&c, kc, NULL, NULL), VC_OK);
    if (!c.exec)
        fprintf(stderr, "%s\n", vc_error_last()->message);
    CHECK(c.exec != NULL);
    if (c.exec) {
        CHECK_STR(c.exec->args[0], "--flag");
        CHECK_STR(c.exec->env[0], "MY_TOKEN=secret-token");
        vc__exec_cred cred;
        CHECK_INT(vc__exec_run(c.exec, &c, &cred), VC_OK);
        CHECK_STR(cred.token, "secret-token");
        CHECK(cred.expires_ms == 4070908800000LL);
        vc__exec_cred_clear(&cred);
    }
    vc__kube_cfg_clear(&c);
    CHECK_INT(vc__kubeconfig_load(&c, kc, NULL, "ctx-y"), VC_OK);
    vc__exec_cred cred;
    CHECK_INT(vc__exec_run(c.exec, &c, &cred), VC_EAUTH);
    CHECK_CONTAINS(vc_error_last()->message, "login required: run mycloud login");
    CHECK_CONTAINS(vc_error_last()->message, "fail.sh");
    vc__kube_cfg_clear(&c);
    CHECK_INT(vc__kubeconfig_load(&c, kc, NULL, "ctx-z"), VC_OK);
    CHECK_INT(vc__exec_run(c.exec, &c, &cred), VC_EAUTH);
    CHECK_CONTAINS(vc_error_last()->message, "no-such-plugin-xyz");
    CHECK_CONTAINS(vc_error_last()->message, "install it with apt");
    vc__kube_cfg_clear(&c);
    vc__free(plugin);
    vc__free(fail);
    vc__free(kc);
}

static void t_in_cluster(void)
{
    char *sa = vc__sprintf("%s/sa", dir);
    mkdir(sa, 0700);
    char *t = fx("sa/token", "tok123\n");
    char *ca = fx("sa/ca.crt", PEM_CA);
    char *ns = fx("sa/namespace", "vcluster-demo\n");
    unsetenv("KUBERNETES_SERVICE_HOST");
    vc__kube_cfg c;
    CHECK_INT(vc__kube_incluster(&c, sa), VC_ECONFIG);
    CHECK_CONTAINS(vc_error_last()->message, "KUBERNETES_SERVICE_HOST");
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    CHECK_INT(vc__kube_incluster(&c, sa), VC_OK);
    CHECK_STR(c.server, "https://10.96.0.1:443");
    CHECK_STR(c.namespace_, "vcluster-demo");
    CHECK(c.token_file && strstr(c.token_file, "sa/token"));
    vc__kube_cfg_clear(&c);
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    CHECK_INT(vc__kube_incluster(&c, sa), VC_OK);
    CHECK_STR(c.server, "https://[fd00::1]:443");
    vc__kube_cfg_clear(&c);
    /* public API: in-cluster flag */
    vc_kube_options o;
    CHECK_INT(vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION), VC_OK);
    o.flags = VC_KUBE_IN_CLUSTER;
    o.in_cluster_dir = sa;
    vc_kube *k = NULL;
    CHECK_INT(vc_kube_new(&k, &o), VC_OK);
    CHECK_STR(vc_kube_namespace(k), "vcluster-demo");
    vc_kube_free(k);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    vc__free(sa);
    vc__free(t);
    vc__free(ca);
    vc__free(ns);
}

static void t_public_new(void)
{
    vc_kube_options o;
    CHECK_INT(vc_kube_options_init(&o, 99), VC_EVERSION);
    CHECK_INT(vc_kube_options_init(&o, 1), VC_OK);
    o.kubeconfig_data = "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                        "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n";
    o.default_namespace = "override";
    vc_kube *k = NULL;
    CHECK_INT(vc_kube_new(&k, &o), VC_OK);
    CHECK_STR(vc_kube_server(k), "https://127.0.0.1:1");
    CHECK_STR(vc_kube_namespace(k), "override");
    CHECK_STR(vc_kube_context(k), "x");
    vc_kube_free(k);
    vc_kube_free(NULL);
    o.version = 7;
    CHECK_INT(vc_kube_new(&k, &o), VC_EVERSION);
    CHECK(k == NULL);
}

int main(void)
{
    vc_global_init(NULL);
    snprintf(dir, sizeof dir, "/tmp/vc-kubeconfig-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(t_basic_files);
    RUN(t_inline_data_and_token);
    RUN(t_merge_kubeconfig_env);
    RUN(t_errors_name_file_line_field);
    RUN(t_exec_plugin);
    RUN(t_in_cluster);
    RUN(t_public_new);
    char *cmd = vc__sprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    vc__free(cmd);
    vc_global_shutdown();
    TEST_DONE();
}
