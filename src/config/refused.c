/*
 * Keys of the schema that libvcluster cannot serve (yet). Each stays in the
 * schema (so a values file written for upstream, or vc_config_to_yaml's own
 * output, still loads when it holds the key's default) but any other value
 * is a load-time error naming the key and where it was set: nothing in a
 * values file is accepted and then ignored.
 *
 * The contract is enforced by tests/unit/config/consumers.c: every schema
 * key is either read by named code outside src/config, listed here, or (for
 * the duration of issue 13) on that test's list of keys being built. A key
 * that gains a consumer leaves this table in the same change.
 */
#include <string.h>

#include "config/config.h"

#define TH "sync.toHost."
#define FH "sync.fromHost."
#define DNS "controlPlane.coredns."
#define ED "controlPlane.backingStore.etcd.deploy."
#define SS "controlPlane.statefulSet."
#define EKC "exportKubeConfig."

#define R_SYNCER "this syncer always syncs the kind; turning it off is not supported"
#define R_KIND "syncing this kind is not built in libvcluster"
#define R_DNS "the syncer builds the virtual cluster's CoreDNS manifests (upstream's, with the controlPlane.coredns " \
              "settings); replacing them wholesale is not built"
#define R_ETCD "the deployed etcd StatefulSet does not take this setting yet"
#define R_ETCD_PVC "etcd keeps its data in the control-plane pods' volume: set controlPlane.statefulSet.persistence.volumeClaim.* instead"
#define R_CPI "an Ingress for the control plane is not rendered by this driver (see doc/guide.md F3.2 for manual exposure)"
#define R_EKC "the syncer exports one kubeconfig Secret (vc-<name>, exportKubeConfig.context/server/insecure); " \
              "service-account tokens and further Secrets are not built"
#define R_PRO "a vCluster Pro / platform feature, not part of libvcluster"

/* clang-format off */
const vc__cfg_refusal vc__cfg_refused[] = {
    /* sync.toHost */
    { TH "services.enabled", NULL, R_SYNCER },
    { TH "endpoints.enabled", NULL, R_SYNCER },
    { TH "configMaps.enabled", NULL, R_SYNCER },
    { TH "secrets.enabled", NULL, R_SYNCER },
    { TH "endpointSlices.enabled", NULL, R_SYNCER },
    { TH "persistentVolumeClaims.enabled", NULL, R_SYNCER },
    { TH "pods.enabled", NULL, R_SYNCER },
    { TH "pods.translateImage", NULL, "rewriting pod images is not built" },
    { TH "pods.rewriteHosts.initContainer.resources", NULL,
      "the /etc/hosts init container's resources are fixed in this syncer" },
    { TH "pods.hybridScheduling.enabled", NULL, R_PRO },
    { TH "pods.hybridScheduling.hostSchedulers", NULL, R_PRO },
    { TH "volumeSnapshots.enabled", NULL, R_KIND },
    { TH "volumeSnapshotContents.enabled", NULL, R_KIND },
    { TH "namespaces.enabled", NULL, "syncing virtual namespaces to host namespaces is not built" },
    { TH "namespaces.mappingsOnly", NULL, "syncing virtual namespaces to host namespaces is not built" },
    { TH "namespaces.mappings.byName", NULL, "syncing virtual namespaces to host namespaces is not built" },
    { TH "resourceClaims.enabled", NULL, R_KIND },
    { TH "resourceClaimTemplates.enabled", NULL, R_KIND },
    /* sync.fromHost */
    { FH "gatewayClasses.enabled", NULL, R_KIND },
    { FH "volumeSnapshotClasses.enabled", NULL, R_KIND },
    { FH "deviceClasses.enabled", NULL, R_KIND },
    /* controlPlane.backingStore */
    /* upstream: a Secret in a connected vCluster Platform from which the
     * platform creates a database and a user per virtual cluster */
    { "controlPlane.backingStore.database.external.connector", NULL,
      "a vCluster Platform database connector (the platform provisions the database); not part of libvcluster: "
      "set controlPlane.backingStore.database.external.dataSource" },
    { "controlPlane.backingStore.database.external.identityProvider", NULL,
      "cloud identity providers for kine (RDS IAM tokens) are a vCluster Pro feature, not part of libvcluster" },
    { "controlPlane.backingStore.etcd.embedded.migrateFromDeployedEtcd", NULL, "migrating a deployed etcd is not built" },
    { ED "statefulSet.enabled", NULL, R_ETCD },
    { ED "statefulSet.extraArgs", NULL, R_ETCD },
    { ED "statefulSet.enableServiceLinks", NULL, R_ETCD },
    { ED "statefulSet.env", NULL, R_ETCD },
    { ED "statefulSet.scheduling.tolerations", NULL, R_ETCD },
    { ED "statefulSet.persistence.volumeClaim.retentionPolicy", NULL, R_ETCD_PVC },
    { ED "statefulSet.persistence.volumeClaim.size", NULL, R_ETCD_PVC },
    { ED "statefulSet.persistence.volumeClaim.storageClass", NULL, R_ETCD_PVC },
    { ED "statefulSet.persistence.volumeClaim.accessModes", NULL, R_ETCD_PVC },
    { ED "statefulSet.annotations", NULL, R_ETCD },
    { ED "statefulSet.labels", NULL, R_ETCD },
    { ED "statefulSet.pods.annotations", NULL, R_ETCD },
    { ED "statefulSet.pods.labels", NULL, R_ETCD },
    { ED "statefulSet.security.podSecurityContext", NULL, R_ETCD },
    { ED "statefulSet.security.containerSecurityContext", NULL, R_ETCD },
    { ED "statefulSet.scheduling.podManagementPolicy", NULL, R_ETCD },
    { ED "statefulSet.scheduling.nodeSelector", NULL, R_ETCD },
    { ED "statefulSet.scheduling.affinity", NULL, R_ETCD },
    { ED "statefulSet.scheduling.priorityClassName", NULL, R_ETCD },
    { ED "service.enabled", NULL, R_ETCD },
    { ED "service.annotations", NULL, R_ETCD },
    { ED "headlessService.annotations", NULL, R_ETCD },
    /* controlPlane.proxy / coredns */
    { "controlPlane.proxy.port", NULL, "the API server port is fixed by the driver (8443 in the pod, 443 on the Service)" },
    { "controlPlane.service.enabled", NULL, "the control-plane Service is always created: the syncer and connect need it" },
    { DNS "embedded", NULL, "an embedded CoreDNS is a vCluster Pro feature; CoreDNS runs as a Deployment" },
    { "controlPlane.proxy.bindAddress", NULL, "the API server binds where the driver puts it; this setting is not built" },
    { DNS "overwriteManifests", NULL, R_DNS },
    /* controlPlane.ingress / statefulSet / serviceMonitor / advanced */
    { "controlPlane.ingress.enabled", NULL, R_CPI },
    { "controlPlane.ingress.host", NULL, R_CPI },
    { "controlPlane.ingress.pathType", NULL, R_CPI },
    { "controlPlane.ingress.labels", NULL, R_CPI },
    { "controlPlane.ingress.annotations", NULL, R_CPI },
    { "controlPlane.ingress.spec", NULL, R_CPI },
    { SS "persistence.volumeClaimTemplates", NULL, "the StatefulSet's volume claims come from persistence.volumeClaim" },
    { SS "persistence.dataVolume", NULL, "the StatefulSet's data volume comes from persistence.volumeClaim" },
    { SS "persistence.binariesVolume", NULL, "the binaries volume is fixed in this driver" },
    { SS "hostAliases", NULL, "not built for the control-plane pod" },
    { "controlPlane.serviceMonitor.enabled", NULL, "a Prometheus ServiceMonitor is not rendered by this driver" },
    { "controlPlane.serviceMonitor.labels", NULL, "a Prometheus ServiceMonitor is not rendered by this driver" },
    { "controlPlane.serviceMonitor.annotations", NULL, "a Prometheus ServiceMonitor is not rendered by this driver" },
    { "controlPlane.advanced.podDisruptionBudget.enabled", NULL, "a control-plane PodDisruptionBudget is not rendered" },
    /* networking / policies */
    { "networking.resolveDNS", NULL, "DNS rewriting rules are not built" },
    { "networking.advanced.fallbackHostCluster", NULL, "falling back to host-cluster DNS is not built" },
    { "policies.networkPolicy.fallbackDns", NULL, "the isolation NetworkPolicies do not use a fallback DNS server" },
    { "policies.centralAdmission.validatingWebhooks", NULL, R_PRO },
    { "policies.centralAdmission.mutatingWebhooks", NULL, R_PRO },
    /* exportKubeConfig */
    { EKC "serviceAccount.name", NULL, R_EKC },
    { EKC "serviceAccount.namespace", NULL, R_EKC },
    { EKC "serviceAccount.clusterRole", NULL, R_EKC },
    { EKC "secret.name", NULL, R_EKC },
    { EKC "secret.namespace", NULL, R_EKC },
    { EKC "additionalSecrets", NULL, R_EKC },
    /* experimental, plugins, telemetry, logging */
    { "experimental.syncSettings.hostMetricsBindAddress", NULL, "the syncer example serves metrics on its --health address" },
    { "experimental.syncSettings.virtualMetricsBindAddress", NULL, "the syncer example serves metrics on its --health address" },
    { "experimental.deploy.vcluster.helm", NULL,
      "Helm charts are not installed by libvcluster (it has no chart renderer and reaches no chart repository); "
      "render the chart with `helm template` into experimental.deploy.vcluster.manifests" },
    { "plugins", NULL, "vcluster plugins are not supported by libvcluster" },
    /* libvcluster never sends telemetry: false says so; upstream's default
     * true permits reporting and requires nothing, so both load */
    { "telemetry.enabled", "false", "libvcluster sends no telemetry" },
    { "logging.encoding", NULL, "the library logs through vc_log_set; JSON log encoding is not built" },
};
/* clang-format on */

const size_t vc__cfg_refused_len = sizeof(vc__cfg_refused) / sizeof(vc__cfg_refused[0]);

const vc__cfg_refusal *vc__cfg_refused_find(const char *path)
{
    for (size_t i = 0; i < vc__cfg_refused_len; i++)
        if (strcmp(vc__cfg_refused[i].path, path) == 0)
            return &vc__cfg_refused[i];
    return NULL;
}
