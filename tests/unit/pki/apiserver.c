/*
 * Integration (suite 'integration'): a real kube-apiserver over kine/SQLite,
 * started from the test harness's bindir with certificates made by src/pki,
 * on free 127.0.0.1 ports. Checks /readyz with the admin client certificate
 * (curl), the rendered admin.conf (kubectl), the controller-manager
 * identity, and a service-account token signed with our EC key.
 *
 * Binaries: $VC_K8S_BINDIR, else `tests/cluster/hostcluster bindir`.
 * VC_SKIP_CLUSTER=1 skips (exit 77); missing binaries otherwise FAIL.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pki/pki.h"
#include "test.h"

extern char **environ;

static char g_dir[256];
static pid_t g_pids[2];
static const char *g_logs[2] = { "kine.log", "kube-apiserver.log" };

static void stop_all(void)
{
    for (int i = 1; i >= 0; i--) {
        if (g_pids[i] <= 0)
            continue;
        kill(g_pids[i], SIGTERM);
        for (int t = 0; t < 100; t++) {
            if (waitpid(g_pids[i], NULL, WNOHANG) == g_pids[i]) {
                g_pids[i] = 0;
                break;
            }
            usleep(100 * 1000);
        }
        if (g_pids[i] > 0) {
            kill(g_pids[i], SIGKILL);
            waitpid(g_pids[i], NULL, 0);
            g_pids[i] = 0;
        }
    }
}

static void show_logs(void)
{
    for (int i = 0; i < 2; i++) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "echo '--- last lines of %s:' >&2; tail -n 25 '%s/%s' >&2", g_logs[i], g_dir,
                 g_logs[i]);
        if (system(cmd) != 0)
            fprintf(stderr, "(no log)\n");
    }
}

static void die(const char *why)
{
    fprintf(stderr, "FAIL: %s\n", why);
    show_logs();
    stop_all();
    exit(1);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { 0 };
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &l) < 0)
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

static pid_t spawn(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, log);
    posix_spawn_file_actions_addopen(&fa, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid = -1;
    int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return r == 0 ? pid : -1;
}

static int run(const char *cmd, char *out, size_t n)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t j = fread(out, 1, n - 1, p);
    out[j] = '\0';
    return pclose(p);
}

static const char *bindir(void)
{
    static char buf[1024];
    const char *e = getenv("VC_K8S_BINDIR");
    if (e && *e)
        return e;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s/tests/cluster/hostcluster' bindir 2>/dev/null", VC_SOURCE_ROOT);
    if (run(cmd, buf, sizeof buf) != 0)
        return NULL;
    buf[strcspn(buf, "\n")] = '\0';
    return buf[0] ? buf : NULL;
}

int main(void)
{
    const char *skip = getenv("VC_SKIP_CLUSTER");
    if (skip && !strcmp(skip, "1")) {
        printf("# skipped: VC_SKIP_CLUSTER=1\n");
        return 77;
    }
    const char *bin = bindir();
    char apiserver[1100], kine[1100], kubectl[1100];
    snprintf(apiserver, sizeof apiserver, "%s/kube-apiserver", bin ? bin : "");
    snprintf(kine, sizeof kine, "%s/kine", bin ? bin : "");
    snprintf(kubectl, sizeof kubectl, "%s/kubectl", bin ? bin : "");
    if (!bin || access(apiserver, X_OK) != 0 || access(kine, X_OK) != 0) {
        fprintf(stderr, "FAIL: kube-apiserver/kine not found in %s: run `tests/cluster/hostcluster build` first, "
                        "or set VC_SKIP_CLUSTER=1 to skip integration tests\n", bin ? bin : "(no bindir)");
        return 1;
    }
    if (system("command -v curl >/dev/null 2>&1") != 0) {
        fprintf(stderr, "FAIL: curl is not installed\n");
        return 1;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/vc-pki-apiserver-XXXXXX");
    if (!mkdtemp(g_dir))
        die("mkdtemp");
    int p_store = free_port(), p_api = free_port();
    if (p_store <= 0 || p_api <= 0 || p_store == p_api)
        die("no free ports");

    char pki[400], server[64];
    snprintf(pki, sizeof pki, "%s/pki", g_dir);
    snprintf(server, sizeof server, "https://127.0.0.1:%d", p_api);
    static const char *const ips[] = { "127.0.0.1", "10.96.0.1" };
    vc__pki_dir_opts o = { 0 };
    o.name = "pki-test";
    o.ns = "vcluster-pki-test";
    o.ip_addresses = ips;
    o.n_ip_addresses = 2;
    o.server = server;
    if (vc__pki_write_dir(pki, &o) != VC_OK)
        die(vc_error_last()->message);

    char a_store[600], a_listen[64];
    snprintf(a_store, sizeof a_store, "sqlite://%s/state.db?_journal_mode=WAL&_busy_timeout=30000", g_dir);
    snprintf(a_listen, sizeof a_listen, "127.0.0.1:%d", p_store);
    char *kine_argv[] = { kine, "--endpoint", a_store, "--listen-address", a_listen, "--metrics-bind-address", "0",
                          NULL };
    g_pids[0] = spawn(kine_argv, g_logs[0]);
    if (g_pids[0] <= 0)
        die("cannot start kine");

    /* flags as upstream's hack/local-up-cluster.sh and tests/cluster/hostcluster pass them */
    char *api_argv[40];
    int na = 0;
#define ARG(...) (api_argv[na++] = vc__sprintf(__VA_ARGS__))
    ARG("%s", apiserver);
    ARG("--etcd-servers=http://127.0.0.1:%d", p_store);
    ARG("--bind-address=127.0.0.1");
    ARG("--advertise-address=127.0.0.1");
    ARG("--secure-port=%d", p_api);
    ARG("--endpoint-reconciler-type=none");
    ARG("--tls-cert-file=%s/apiserver.crt", pki);
    ARG("--tls-private-key-file=%s/apiserver.key", pki);
    ARG("--client-ca-file=%s/ca.crt", pki);
    ARG("--service-account-issuer=https://kubernetes.default.svc.cluster.local");
    ARG("--service-account-key-file=%s/sa.pub", pki);
    ARG("--service-account-signing-key-file=%s/sa.key", pki);
    ARG("--service-cluster-ip-range=10.96.0.0/12");
    ARG("--authorization-mode=Node,RBAC");
    ARG("--requestheader-client-ca-file=%s/front-proxy-ca.crt", pki);
    ARG("--requestheader-allowed-names=front-proxy-client");
    ARG("--requestheader-username-headers=X-Remote-User");
    ARG("--requestheader-group-headers=X-Remote-Group");
    ARG("--proxy-client-cert-file=%s/front-proxy-client.crt", pki);
    ARG("--proxy-client-key-file=%s/front-proxy-client.key", pki);
    ARG("--kubelet-client-certificate=%s/apiserver-kubelet-client.crt", pki);
    ARG("--kubelet-client-key=%s/apiserver-kubelet-client.key", pki);
    ARG("--profiling=false");
    ARG("--v=1");
    api_argv[na] = NULL;
    g_pids[1] = spawn(api_argv, g_logs[1]);
    for (int i = 0; i < na; i++)
        vc__free(api_argv[i]);
    if (g_pids[1] <= 0)
        die("cannot start kube-apiserver");

    char curl[1500], out[65536], cmd[12000];
    snprintf(curl, sizeof curl,
             "curl -s --max-time 10 --cacert '%s/ca.crt' --cert '%s/admin.crt' --key '%s/admin.key' https://127.0.0.1:%d",
             pki, pki, pki, p_api);
    bool ready = false;
    for (time_t end = time(NULL) + 150; time(NULL) < end;) {
        for (int i = 0; i < 2; i++)
            if (waitpid(g_pids[i], NULL, WNOHANG) == g_pids[i]) {
                g_pids[i] = 0;
                die(i ? "kube-apiserver exited" : "kine exited");
            }
        snprintf(cmd, sizeof cmd, "%s/readyz", curl);
        if (run(cmd, out, sizeof out) == 0 && !strcmp(out, "ok")) {
            ready = true;
            break;
        }
        usleep(300 * 1000);
    }
    if (!ready)
        die("kube-apiserver did not become ready with our certificates within 150 s");
    printf("ok readyz with the admin client certificate\n");

    /* who are we? the admin cert maps to system:masters */
    const char *ssr = "-X POST -H 'Content-Type: application/json' -d "
                      "'{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"SelfSubjectReview\"}' ";
    snprintf(cmd, sizeof cmd, "curl -s --max-time 10 --cacert '%s/ca.crt' --cert '%s/admin.crt' --key '%s/admin.key' %s"
                              "https://127.0.0.1:%d/apis/authentication.k8s.io/v1/selfsubjectreviews",
             pki, pki, pki, ssr, p_api);
    CHECK_INT(run(cmd, out, sizeof out), 0);
    CHECK_CONTAINS(out, "\"username\": \"kubernetes-admin\"");
    CHECK_CONTAINS(out, "system:masters");
    snprintf(cmd, sizeof cmd,
             "curl -s --max-time 10 --cacert '%s/ca.crt' --cert '%s/kube-controller-manager.crt' "
             "--key '%s/kube-controller-manager.key' %shttps://127.0.0.1:%d/apis/authentication.k8s.io/v1/selfsubjectreviews",
             pki, pki, pki, ssr, p_api);
    CHECK_INT(run(cmd, out, sizeof out), 0);
    CHECK_CONTAINS(out, "system:kube-controller-manager");

    /* the rendered kubeconfig works for kubectl */
    if (access(kubectl, X_OK) == 0) {
        snprintf(cmd, sizeof cmd, "'%s' --kubeconfig '%s/admin.conf' get --raw /readyz 2>&1", kubectl, pki);
        CHECK_INT(run(cmd, out, sizeof out), 0);
        CHECK_STR(out, "ok");
        printf("ok kubectl with admin.conf\n");
    }

    /* a service-account token signed with sa.key is accepted */
    snprintf(cmd, sizeof cmd, "%s/api/v1/namespaces/default/serviceaccounts -X POST -H 'Content-Type: application/json' "
                              "-d '{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"pki-test\"}}'",
             curl);
    CHECK_INT(run(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s/api/v1/namespaces/default/serviceaccounts/pki-test/token -X POST "
                              "-H 'Content-Type: application/json' -d "
                              "'{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\",\"spec\":{}}'",
             curl);
    CHECK_INT(run(cmd, out, sizeof out), 0);
    /* the answer is pretty-printed JSON: "token": "eyJ..." */
    char *tok = strstr(out, "\"token\":");
    if (tok)
        tok = strchr(tok + strlen("\"token\":"), '"');
    CHECK(tok != NULL);
    if (tok) {
        tok++;
        char *end = strchr(tok, '"');
        if (end)
            *end = '\0';
        char token[4096];
        snprintf(token, sizeof token, "%s", tok);
        snprintf(cmd, sizeof cmd, "curl -s --max-time 10 --cacert '%s/ca.crt' -H 'Authorization: Bearer %s' %s"
                                  "https://127.0.0.1:%d/apis/authentication.k8s.io/v1/selfsubjectreviews",
                 pki, token, ssr, p_api);
        CHECK_INT(run(cmd, out, sizeof out), 0);
        CHECK_CONTAINS(out, "system:serviceaccount:default:pki-test");
        printf("ok service-account token (ES256) accepted\n");
    }

    stop_all();
    if (!t_failures) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g_dir);
    } else {
        show_logs();
    }
    TEST_DONE();
}
