/* vcluster-capi-provider: reconciles `VCluster` objects
 * (infrastructure.cluster.x-k8s.io/v1alpha1) into virtual clusters with
 * libvcluster's kubernetes driver. It lists the objects every --resync-ms
 * (a periodic list, not a watch: each pass is level-based, so a missed
 * change is picked up on the next one) and reconciles them one after the
 * other on this thread. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provider.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void on_log(int level, const char *subsystem, const char *msg, void *user_data)
{
    (void)user_data;
    (void)level;
    plog("[%s] %s", subsystem, msg);
}

static const char usage[] =
    "usage: vcluster-capi-provider [options]\n"
    "  --kubeconfig PATH     host cluster (default: $KUBECONFIG, ~/.kube/config, else in-cluster)\n"
    "  --context NAME        kubeconfig context\n"
    "  --namespace NS        only VClusters of this namespace (default: all)\n"
    "  --resync-ms N         list and reconcile every N ms (default 2000)\n"
    "  --op-timeout-s N      timeout of one pause/resume/delete call (default 120)\n"
    "  --health-addr A       address of /healthz and /metrics (default 0.0.0.0)\n"
    "  --health-port N       their port (default 8081; 0: none)\n"
    "  --log-level N         the library's log: 1 error, 2 warn (default), 3 info, 4 debug\n";

/* `name` with an integer value in [lo, hi] into *out: 1; otherwise 0. */
static int num_arg(const char *a, const char *name, const char *v, long lo, long hi, long *out)
{
    char *end = NULL;
    if (strcmp(a, name) != 0)
        return 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < lo || n > hi)
        return 0;
    *out = n;
    return 1;
}

static long long mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

static int pass(provider *p)
{
    char path[400];
    if (p->watch_namespace)
        snprintf(path, sizeof path, "/apis/%s/%s/namespaces/%s/vclusters", CAPI_GROUP, CAPI_VERSION,
                 p->watch_namespace);
    else
        snprintf(path, sizeof path, "/apis/%s/%s/vclusters", CAPI_GROUP, CAPI_VERSION);
    json_t *list = NULL;
    int rc = kapi_get(p, path, &list);
    if (rc < 0) {
        plog("listing VClusters: %s", vc_error_last()->message);
        return -1;
    }
    size_t i;
    json_t *vc;
    json_array_foreach(json_object_get(list, "items"), i, vc) {
        if (stop)
            break;
        reconcile_vcluster(p, vc);
    }
    json_decref(list);
    return 0;
}

int main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *context = NULL, *health_addr = "0.0.0.0";
    long resync_ms = 2000, op_timeout_s = 120, health_port = 8081, log_level = VC_LOG_WARN;
    provider p = { 0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "vcluster-capi-provider: %s: unknown option or missing value\n%s", a, usage);
            return 2;
        }
        i++;
        if (!strcmp(a, "--kubeconfig"))
            kubeconfig = v;
        else if (!strcmp(a, "--context"))
            context = v;
        else if (!strcmp(a, "--namespace"))
            p.watch_namespace = v;
        else if (!strcmp(a, "--health-addr"))
            health_addr = v;
        else if (!num_arg(a, "--resync-ms", v, 1, 3600000, &resync_ms) &&
                 !num_arg(a, "--op-timeout-s", v, 1, 3600, &op_timeout_s) &&
                 !num_arg(a, "--health-port", v, 0, 65535, &health_port) &&
                 !num_arg(a, "--log-level", v, 1, 5, &log_level)) {
            fprintf(stderr, "vcluster-capi-provider: %s %s: unknown option or bad value\n%s", a, v, usage);
            return 2;
        }
    }
    p.op_timeout_ms = (int32_t)(op_timeout_s * 1000);

    if (vc_global_init(NULL) < 0) {
        fprintf(stderr, "vcluster-capi-provider: init: %s\n", vc_error_last()->message);
        return 1;
    }
    vc_log_set((int)log_level, on_log, NULL);
    vc_kube_options ko;
    vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    ko.kubeconfig = kubeconfig;
    ko.context = context;
    ko.flags = VC_KUBE_IN_CLUSTER_FALLBACK;
    if (vc_kube_new(&p.host, &ko) < 0) {
        fprintf(stderr, "vcluster-capi-provider: %s\n", vc_error_last()->message);
        vc_global_shutdown();
        return 1;
    }
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (health_port > 0 && health_start(&p, health_addr, (int)health_port) < 0) {
        fprintf(stderr, "vcluster-capi-provider: cannot listen on %s:%ld\n", health_addr, health_port);
        vc_kube_free(p.host);
        vc_global_shutdown();
        return 1;
    }
    const char *version = "";
    vc_version(&version);
    plog("vcluster-capi-provider %s: host %s, %s, resync %ld ms", version, vc_kube_server(p.host),
         p.watch_namespace ? p.watch_namespace : "all namespaces", resync_ms);
    while (!stop) {
        atomic_store(&p.heartbeat, mono_s());
        pass(&p);
        for (long waited = 0; waited < resync_ms && !stop; waited += 100) {
            struct timespec ts = { 0, 100 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    plog("stopping");
    vc_log_set(0, NULL, NULL);
    vc_kube_free(p.host);
    vc_global_shutdown();
    return 0;
}
