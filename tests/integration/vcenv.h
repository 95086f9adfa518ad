/* A second, bare control plane (kube-apiserver + controller-manager over
 * kine, no scheduler, no nodes) to act as the virtual cluster, started with
 * tests/cluster/hostcluster, plus small kubectl-like helpers. */
#ifndef VC_VCENV_H
#define VC_VCENV_H

#include <signal.h>
#include <sys/wait.h>

#include "itest.h"
#include "kube/kube.h"
#include "util/util.h"

typedef struct vcenv {
    char state[256];
    char kubeconfig[512];
} vcenv;

static int run_cmd(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = 0;
    if (out && cap) {
        out[0] = '\0';
        while (n + 1 < cap) {
            size_t r = fread(out + n, 1, cap - 1 - n, p);
            if (r == 0)
                break;
            n += r;
        }
        out[n] = '\0';
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
            out[--n] = '\0';
    } else {
        char tmp[512];
        while (fread(tmp, 1, sizeof tmp, p) > 0) {
        }
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *hostcluster_path(void)
{
    const char *p = getenv("VC_HOSTCLUSTER");
    return p ? p : "tests/cluster/hostcluster";
}

/* Start the virtual control plane (same service CIDR as the host, so Service
 * IPs can be mirrored). Returns 0 or fails the test with the reason. */
VC__UNUSED static int vcenv_up(vcenv *e)
{
    snprintf(e->state, sizeof e->state, "/tmp/vc-virt-XXXXXX");
    if (!mkdtemp(e->state))
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "'%s' up --state '%s' --store kine --no-scheduler --no-kwok --nodes 0 --service-cidr 10.96.0.0/12 >&2",
             hostcluster_path(), e->state);
    /* a second try on a loaded machine (the harness cleans up a failed up) */
    if (run_cmd(cmd, NULL, 0) != 0 && run_cmd(cmd, NULL, 0) != 0) {
        fprintf(stderr, "FAIL: could not start the virtual control plane (%s)\n", cmd);
        return -1;
    }
    snprintf(cmd, sizeof cmd, "'%s' kubeconfig --state '%s'", hostcluster_path(), e->state);
    if (run_cmd(cmd, e->kubeconfig, sizeof e->kubeconfig) != 0)
        return -1;
    return 0;
}

VC__UNUSED static void vcenv_down(vcenv *e)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' down --state '%s' --purge >&2", hostcluster_path(), e->state);
    run_cmd(cmd, NULL, 0);
}

static vc_kube *kube_for(const char *kubeconfig)
{
    vc_kube_options o;
    vc_kube_options_init(&o, VC_KUBE_OPTIONS_VERSION);
    o.kubeconfig = kubeconfig;
    o.qps = -1;
    vc_kube *k = NULL;
    if (vc_kube_new(&k, &o) < 0) {
        fprintf(stderr, "kube: %s\n", vc_error_last()->message);
        return NULL;
    }
    return k;
}

/* POST a JSON object (text) to a collection path; 409 AlreadyExists is fine. */
static int kcreate(vc_kube *k, const char *path, const char *json)
{
    int rc = vc_kube_request(k, NULL, NULL, "POST", path, json, NULL);
    if (rc < 0 && rc != VC_EEXISTS)
        fprintf(stderr, "create %s: %s\n", path, vc_error_last()->message);
    return rc == VC_EEXISTS ? VC_OK : rc;
}

static json_t *kget(vc_kube *k, const char *path)
{
    vc_buf b = VC_BUF_INIT;
    json_t *j = NULL;
    if (vc_kube_request(k, &b, NULL, "GET", path, NULL, NULL) == VC_OK)
        j = json_loadb(b.ptr, b.size, 0, NULL);
    vc_buf_dispose(&b);
    return j;
}

#endif
