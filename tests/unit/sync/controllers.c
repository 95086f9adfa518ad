/* The controllers' registration table (src/sync/controllers.c): every id
 * is registered exactly once; the syncer starts what the table lists, in
 * its order, minus what the flags turn off; controllers reach each other by
 * id (vc__sync_ctl_of), and the queue's name dispatch finds the same ones.
 * No request is made before the first step: an unreachable server will do. */
#include "sync/sync.h"
#include "test.h"

static vc_kube *kube(void)
{
    static const char kc[] = "apiVersion: v1\nkind: Config\n"
                             "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                             "users: [{name: u, user: {token: t}}]\n"
                             "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n";
    vc_kube_options ko;
    vc_kube_options_init(&ko, VC_KUBE_OPTIONS_VERSION);
    ko.kubeconfig_data = kc;
    vc_kube *k = NULL;
    return vc_kube_new(&k, &ko) == VC_OK ? k : NULL;
}

static void t_table(void)
{
    int seen[VC__CTL_COUNT] = { 0 };
    CHECK_INT((int)vc__n_controllers, VC__CTL_COUNT);
    for (size_t i = 0; i < vc__n_controllers; i++) {
        CHECK((unsigned)vc__controllers[i].id < VC__CTL_COUNT && vc__controllers[i].init != NULL);
        if ((unsigned)vc__controllers[i].id < VC__CTL_COUNT)
            seen[vc__controllers[i].id]++;
    }
    for (int id = 0; id < VC__CTL_COUNT; id++)
        CHECK_INT(seen[id], 1);
}

/* Controllers a vcluster.yaml switch turns on (all off by default). */
static const vc__ctl_id opt_in[] = {
    VC__CTL_INGRESSES,          VC__CTL_NETWORKPOLICIES,    VC__CTL_PDBS,          VC__CTL_SERVICEACCOUNTS,
    VC__CTL_PRIORITYCLASSES,    VC__CTL_FH_INGRESSCLASSES,  VC__CTL_FH_PRIORITYCLASSES,
    VC__CTL_FH_RUNTIMECLASSES,  VC__CTL_FH_CSIDRIVERS,      VC__CTL_FH_CSINODES,
    VC__CTL_FH_CSISTORAGECAPACITIES,
};

static bool is_opt_in(vc__ctl_id id)
{
    for (size_t i = 0; i < sizeof opt_in / sizeof opt_in[0]; i++)
        if (opt_in[i] == id)
            return true;
    return false;
}

/* Every opt-in switch on (priority classes go one way: toHost here). */
static const char ALL_ON[] = "sync:\n  toHost:\n"
                             "    ingresses: {enabled: true}\n    networkPolicies: {enabled: true}\n"
                             "    podDisruptionBudgets: {enabled: true}\n    serviceAccounts: {enabled: true}\n"
                             "    priorityClasses: {enabled: true}\n"
                             "  fromHost:\n    ingressClasses: {enabled: true}\n    runtimeClasses: {enabled: true}\n"
                             "    csiDrivers: {enabled: true}\n    csiNodes: {enabled: true}\n"
                             "    csiStorageCapacities: {enabled: true}\n";

static void run_with(uint32_t flags, const char *config)
{
    vc_kube *k = kube();
    CHECK(k != NULL);
    vc_syncer_options o;
    vc_syncer_options_init(&o, VC_SYNCER_OPTIONS_VERSION);
    o.name = "tbl";
    o.flags = flags;
    o.config_yaml = config;
    vc_syncer *s = NULL;
    CHECK_INT(vc_syncer_new(&s, k, k, &o), VC_OK);
    if (!s) {
        vc_kube_free(k);
        return;
    }
    int n = 0;
    for (size_t i = 0; i < vc__n_controllers; i++) {
        const vc__ctl_desc *d = &vc__controllers[i];
        vc__ctl *c = vc__sync_ctl_of(s, d->id);
        if (d->off_flag & flags) {
            CHECK(c == NULL);
            continue;
        }
        /* off by its config: never started */
        bool on = !is_opt_in(d->id) || (config && d->id != VC__CTL_FH_PRIORITYCLASSES);
        if (!on) {
            CHECK(c == NULL);
            continue;
        }
        /* started in table order, reachable by id and by its queue name */
        CHECK(c == &s->ctls[n]);
        CHECK(c && c->name && (c->reconcile || c->tick || c->drain));
        /* a hook that asks for steps can be run */
        CHECK(c && (!c->timeout || c->tick || c->drain));
        CHECK(c && vc__sync_ctl(s, c->name) == c);
        n++;
    }
    CHECK_INT(s->n_ctls, n);
    CHECK(vc__sync_ctl_of(s, VC__CTL_COUNT) == NULL);
    CHECK_STR(vc__sync_ctl_of(s, VC__CTL_PODS)->name, "pods");
    CHECK_STR(vc__sync_ctl_of(s, VC__CTL_SERVICES)->name, "services");
    vc_syncer_free(s);
    vc_kube_free(k);
}

static void run(uint32_t flags)
{
    run_with(flags, NULL);
}

static void t_started(void)
{
    run_with(0, ALL_ON);
    run_with(VC_SYNCER_NO_FAKE_NODES, ALL_ON);
    run(0);
    run(VC_SYNCER_NO_EVENTS);
    run(VC_SYNCER_NO_FAKE_NODES | VC_SYNCER_NO_EVENTS);
    run(VC_SYNCER_NO_COREDNS);
}

int main(void)
{
    vc_global_init(NULL);
    RUN(t_table);
    RUN(t_started);
    vc_global_shutdown();
    TEST_DONE();
}
