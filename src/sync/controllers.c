/* The registration table of the syncer's controllers: the core starts what
 * is listed here, in this order (order matters for startup only), and a
 * controller reaches another through vc__sync_ctl_of(id). The core runs
 * each one through its hooks (reconcile, tick, drain, timeout: see vc__ctl)
 * and calls none by name. Adding a kind is a line here, its id in sync.h,
 * and its file (or, for a kind the generic controller handles, its
 * translate kind). */
#include "sync/sync.h"

const vc__ctl_desc vc__controllers[] = {
    { VC__CTL_NAMESPACES, vc__ctl_namespaces_init, 0, 0 },
    { VC__CTL_SERVICES, vc__ctl_generic_init, VC__K_SERVICE, 0 },
    { VC__CTL_CONFIGMAPS, vc__ctl_generic_init, VC__K_CONFIGMAP, 0 },
    { VC__CTL_SECRETS, vc__ctl_generic_init, VC__K_SECRET, 0 },
    { VC__CTL_ENDPOINTS, vc__ctl_generic_init, VC__K_ENDPOINTS, 0 },
    { VC__CTL_PVCS, vc__ctl_generic_init, VC__K_PVC, 0 },
    { VC__CTL_PODS, vc__ctl_pods_init, 0, 0 },
    { VC__CTL_KUBE_ENDPOINTS, vc__ctl_kube_endpoints_init, 0, 0 },
    { VC__CTL_KUBE_SERVICE, vc__ctl_kube_service_init, 0, 0 },
    { VC__CTL_NODES, vc__ctl_nodes_init, 0, VC_SYNCER_NO_FAKE_NODES },
    { VC__CTL_EVENTS, vc__ctl_events_init, 0, VC_SYNCER_NO_EVENTS },
    { VC__CTL_COREDNS, vc__ctl_coredns_init, 0, VC_SYNCER_NO_COREDNS },
    { VC__CTL_REPLICATE, vc__ctl_replicate_init, 0, 0 },
    { VC__CTL_DEPLOY, vc__ctl_deploy_init, 0, 0 },
    { VC__CTL_FROMHOST_CONFIGMAPS, vc__ctl_fromhost_data_init, 0, 0 },
    { VC__CTL_FROMHOST_SECRETS, vc__ctl_fromhost_data_init, 1, 0 },
    { VC__CTL_CRDS, vc__ctl_crds_init, 0, 0 },
    { VC__CTL_INGRESSES, vc__ctl_generic_init, VC__K_INGRESS, 0 },
    { VC__CTL_NETWORKPOLICIES, vc__ctl_generic_init, VC__K_NETWORKPOLICY, 0 },
    { VC__CTL_PDBS, vc__ctl_generic_init, VC__K_PDB, 0 },
    { VC__CTL_SERVICEACCOUNTS, vc__ctl_generic_init, VC__K_SERVICEACCOUNT, 0 },
    { VC__CTL_PRIORITYCLASSES, vc__ctl_generic_init, VC__K_PRIORITYCLASS, 0 },
    { VC__CTL_FH_INGRESSCLASSES, vc__ctl_fromhost_init, VC__CTL_FH_INGRESSCLASSES, 0 },
    { VC__CTL_FH_PRIORITYCLASSES, vc__ctl_fromhost_init, VC__CTL_FH_PRIORITYCLASSES, 0 },
    { VC__CTL_FH_RUNTIMECLASSES, vc__ctl_fromhost_init, VC__CTL_FH_RUNTIMECLASSES, 0 },
    { VC__CTL_FH_CSIDRIVERS, vc__ctl_fromhost_init, VC__CTL_FH_CSIDRIVERS, 0 },
    { VC__CTL_FH_CSINODES, vc__ctl_fromhost_init, VC__CTL_FH_CSINODES, 0 },
    { VC__CTL_FH_CSISTORAGECAPACITIES, vc__ctl_fromhost_init, VC__CTL_FH_CSISTORAGECAPACITIES, 0 },
    { VC__CTL_PVS, vc__ctl_pvs_init, 0, 0 },
    { VC__CTL_STORAGECLASSES, vc__ctl_storageclasses_init, 0, 0 },
    { VC__CTL_KUBECONFIG, vc__ctl_kubeconfig_init, 0, 0 },
};

const size_t vc__n_controllers = VC__ARRAY_LEN(vc__controllers);
