/*
 * Every vcluster.yaml key libvcluster knows: its type, its default and where
 * it lands in vc__cfg_values. Key names and defaults follow upstream
 * vcluster's chart (v0.21 and later; k3s/k0s as of v0.21). doc/config.md
 * documents the same list: keep them in step.
 */
#include <stddef.h>
#include <string.h>

#include "config/config.h"

#define F(field) offsetof(vc__cfg_values, field)
#define NF VC__CFG_NOFIELD

#define B VC__CT_BOOL
#define I VC__CT_INT
#define S VC__CT_STR
#define E VC__CT_ENUM
#define SB VC__CT_STRBOOL
#define IMG VC__CT_IMAGE
#define SL VC__CT_STRLIST
#define SM VC__CT_STRMAP
#define Q VC__CT_QUANTITIES
#define R VC__CT_RESOURCES
#define SVC VC__CT_SVCMAPS
#define OBJ VC__CT_OBJECT
#define LST VC__CT_LIST
#define SEL VC__CT_SELECTOR

#define PULL "|Always|IfNotPresent|Never"
#define NOT_NEG "0..2147483647"
#define POS "1..2147483647"
#define PORT "1..65535"
#define NODEPORT "0..65535"

#define TH "sync.toHost."
#define FH "sync.fromHost."
#define CP "controlPlane."
#define K8S "controlPlane.distro.k8s."
#define K3S "controlPlane.distro.k3s."
#define K0S "controlPlane.distro.k0s."
#define DB "controlPlane.backingStore.database."
#define ETCD "controlPlane.backingStore.etcd."
#define ED "controlPlane.backingStore.etcd.deploy."
#define SS "controlPlane.statefulSet."
#define DNS "controlPlane.coredns."
#define ADV "controlPlane.advanced."
#define PQ "policies.resourceQuota."
#define PL "policies.limitRange."
#define PN "policies.networkPolicy."

#define DISTRO_RES "{\"limits\":{\"cpu\":\"100m\",\"memory\":\"256Mi\"},\"requests\":{\"cpu\":\"40m\",\"memory\":\"64Mi\"}}"

/* clang-format off */
const vc__cfg_key vc__cfg_schema[] = {
    /* ---- sync.toHost ---- */
    { TH "services.enabled", B, "true", F(sync.to_host.services), 0 },
    { TH "endpoints.enabled", B, "true", F(sync.to_host.endpoints), 0 },
    { TH "endpointSlices.enabled", B, "true", F(sync.to_host.endpoint_slices), 0 },
    { TH "persistentVolumeClaims.enabled", B, "true", F(sync.to_host.persistent_volume_claims), 0 },
    { TH "configMaps.enabled", B, "true", F(sync.to_host.config_maps.enabled), 0 },
    { TH "configMaps.all", B, "false", F(sync.to_host.config_maps.all), 0 },
    { TH "secrets.enabled", B, "true", F(sync.to_host.secrets.enabled), 0 },
    { TH "secrets.all", B, "false", F(sync.to_host.secrets.all), 0 },
    { TH "pods.enabled", B, "true", F(sync.to_host.pods.enabled), 0 },
    { TH "pods.translateImage", SM, NULL, F(sync.to_host.pods.translate_image), 0 },
    { TH "pods.enforceTolerations", SL, NULL, F(sync.to_host.pods.enforce_tolerations), "toleration" },
    { TH "pods.useSecretsForSATokens", B, "false", F(sync.to_host.pods.use_secrets_for_sa_tokens), 0 },
    { TH "pods.runtimeClassName", S, "", F(sync.to_host.pods.runtime_class_name), 0 },
    { TH "pods.priorityClassName", S, "", F(sync.to_host.pods.priority_class_name), 0 },
    { TH "pods.rewriteHosts.enabled", B, "true", F(sync.to_host.pods.rewrite_hosts.enabled), 0 },
    { TH "pods.rewriteHosts.initContainer.image", IMG,
      "{\"registry\":\"mirror.gcr.io\",\"repository\":\"library/alpine\",\"tag\":\"3.20\"}",
      F(sync.to_host.pods.rewrite_hosts.image), 0 },
    { TH "pods.rewriteHosts.initContainer.resources", R,
      "{\"limits\":{\"cpu\":\"30m\",\"memory\":\"64Mi\"},\"requests\":{\"cpu\":\"30m\",\"memory\":\"64Mi\"}}",
      F(sync.to_host.pods.rewrite_hosts.resources), 0 },
    { TH "pods.hybridScheduling.enabled", B, "false", NF, 0 },
    { TH "pods.hybridScheduling.hostSchedulers", SL, NULL, NF, 0 },
    { TH "ingresses.enabled", B, "false", F(sync.to_host.ingresses), 0 },
    { TH "priorityClasses.enabled", B, "false", F(sync.to_host.priority_classes), 0 },
    { TH "networkPolicies.enabled", B, "false", F(sync.to_host.network_policies), 0 },
    { TH "podDisruptionBudgets.enabled", B, "false", F(sync.to_host.pod_disruption_budgets), 0 },
    { TH "serviceAccounts.enabled", B, "false", F(sync.to_host.service_accounts), 0 },
    { TH "storageClasses.enabled", B, "false", F(sync.to_host.storage_classes), 0 },
    { TH "persistentVolumes.enabled", B, "false", F(sync.to_host.persistent_volumes), 0 },
    { TH "volumeSnapshots.enabled", B, "false", F(sync.to_host.volume_snapshots), 0 },
    { TH "volumeSnapshotContents.enabled", B, "false", F(sync.to_host.volume_snapshot_contents), 0 },
    { TH "namespaces.enabled", B, "false", F(sync.to_host.namespaces.enabled), 0 },
    { TH "namespaces.mappingsOnly", B, "false", F(sync.to_host.namespaces.mappings_only), 0 },
    { TH "namespaces.mappings.byName", SM, NULL, NF, 0 },
    { TH "resourceClaims.enabled", B, "false", F(sync.to_host.resource_claims), 0 },
    { TH "resourceClaimTemplates.enabled", B, "false", F(sync.to_host.resource_claim_templates), 0 },
    { TH "customResources", OBJ, NULL, F(sync.to_host.custom_resources), 0 },

    /* ---- sync.fromHost ---- */
    { FH "events.enabled", B, "true", F(sync.from_host.events), 0 },
    { FH "configMaps.enabled", B, "false", F(sync.from_host.config_maps.enabled), 0 },
    { FH "configMaps.mappings.byName", SM, NULL, F(sync.from_host.config_maps.by_name), 0 },
    { FH "secrets.enabled", B, "false", F(sync.from_host.secrets.enabled), 0 },
    { FH "secrets.mappings.byName", SM, NULL, F(sync.from_host.secrets.by_name), 0 },
    { FH "csiDrivers.enabled", SB, "auto", F(sync.from_host.csi_drivers), 0 },
    { FH "csiNodes.enabled", SB, "auto", F(sync.from_host.csi_nodes), 0 },
    { FH "csiStorageCapacities.enabled", SB, "auto", F(sync.from_host.csi_storage_capacities), 0 },
    { FH "storageClasses.enabled", SB, "auto", F(sync.from_host.storage_classes), 0 },
    { FH "storageClasses.selector", SEL, NULL, F(sync.from_host.storage_classes_selector), 0 },
    { FH "ingressClasses.enabled", B, "false", F(sync.from_host.ingress_classes), 0 },
    { FH "ingressClasses.selector", SEL, NULL, NF, 0 },
    { FH "runtimeClasses.enabled", B, "false", F(sync.from_host.runtime_classes), 0 },
    { FH "runtimeClasses.selector", SEL, NULL, NF, 0 },
    { FH "priorityClasses.enabled", B, "false", F(sync.from_host.priority_classes), 0 },
    { FH "priorityClasses.selector", SEL, NULL, NF, 0 },
    { FH "gatewayClasses.enabled", B, "false", F(sync.from_host.gateway_classes), 0 },
    { FH "volumeSnapshotClasses.enabled", B, "false", F(sync.from_host.volume_snapshot_classes), 0 },
    { FH "deviceClasses.enabled", B, "false", F(sync.from_host.device_classes), 0 },
    { FH "nodes.enabled", B, "false", F(sync.from_host.nodes.enabled), 0 },
    { FH "nodes.syncBackChanges", B, "false", F(sync.from_host.nodes.sync_back_changes), 0 },
    { FH "nodes.clearImageStatus", B, "false", F(sync.from_host.nodes.clear_image_status), 0 },
    { FH "nodes.selector.all", B, "false", F(sync.from_host.nodes.selector_all), 0 },
    { FH "nodes.selector.labels", SM, NULL, F(sync.from_host.nodes.selector_labels), 0 },
    { FH "customResources", OBJ, NULL, F(sync.from_host.custom_resources), 0 },

    /* ---- controlPlane.distro ---- */
    { K8S "enabled", B, "false", F(control_plane.distro.k8s.enabled), 0 },
    { K8S "version", S, "", F(control_plane.distro.k8s.version), 0 },
    { K8S "image", IMG, "{\"registry\":\"ghcr.io\",\"repository\":\"loft-sh/kubernetes\",\"tag\":\"v1.36.0\"}",
      F(control_plane.distro.k8s.image), 0 },
    { K8S "imagePullPolicy", E, "", F(control_plane.distro.k8s.image_pull_policy), PULL },
    { K8S "apiServer.enabled", B, "true", F(control_plane.distro.k8s.api_server.enabled), 0 },
    { K8S "apiServer.command", SL, NULL, F(control_plane.distro.k8s.api_server.command), 0 },
    { K8S "apiServer.extraArgs", SL, NULL, F(control_plane.distro.k8s.api_server.extra_args), 0 },
    { K8S "apiServer.image", IMG, NULL, F(control_plane.distro.k8s.api_server.image), 0 },
    { K8S "controllerManager.enabled", B, "true", F(control_plane.distro.k8s.controller_manager.enabled), 0 },
    { K8S "controllerManager.command", SL, NULL, F(control_plane.distro.k8s.controller_manager.command), 0 },
    { K8S "controllerManager.extraArgs", SL, NULL, F(control_plane.distro.k8s.controller_manager.extra_args), 0 },
    { K8S "controllerManager.image", IMG, NULL, F(control_plane.distro.k8s.controller_manager.image), 0 },
    { K8S "scheduler.enabled", B, "false", F(control_plane.distro.k8s.scheduler.enabled), 0 },
    { K8S "scheduler.command", SL, NULL, F(control_plane.distro.k8s.scheduler.command), 0 },
    { K8S "scheduler.extraArgs", SL, NULL, F(control_plane.distro.k8s.scheduler.extra_args), 0 },
    { K8S "scheduler.image", IMG, NULL, F(control_plane.distro.k8s.scheduler.image), 0 },
    { K8S "env", LST, NULL, F(control_plane.distro.k8s.env), 0 },
    { K8S "securityContext", OBJ, NULL, F(control_plane.distro.k8s.security_context), 0 },
    { K8S "resources", R, DISTRO_RES, F(control_plane.distro.k8s.resources), 0 },
    { K3S "enabled", B, "false", F(control_plane.distro.k3s.enabled), 0 },
    { K3S "image", IMG, "{\"registry\":\"\",\"repository\":\"rancher/k3s\",\"tag\":\"v1.31.1-k3s1\"}",
      F(control_plane.distro.k3s.image), 0 },
    { K3S "imagePullPolicy", E, "", F(control_plane.distro.k3s.image_pull_policy), PULL },
    { K3S "command", SL, NULL, F(control_plane.distro.k3s.command), 0 },
    { K3S "extraArgs", SL, NULL, F(control_plane.distro.k3s.extra_args), 0 },
    { K3S "securityContext", OBJ, NULL, F(control_plane.distro.k3s.security_context), 0 },
    { K3S "resources", R, DISTRO_RES, F(control_plane.distro.k3s.resources), 0 },
    { K0S "enabled", B, "false", F(control_plane.distro.k0s.enabled), 0 },
    { K0S "config", S, "", F(control_plane.distro.k0s.config), 0 },
    { K0S "image", IMG, "{\"registry\":\"\",\"repository\":\"k0sproject/k0s\",\"tag\":\"v1.30.2-k0s.0\"}",
      F(control_plane.distro.k0s.image), 0 },
    { K0S "imagePullPolicy", E, "", F(control_plane.distro.k0s.image_pull_policy), PULL },
    { K0S "command", SL, NULL, F(control_plane.distro.k0s.command), 0 },
    { K0S "extraArgs", SL, NULL, F(control_plane.distro.k0s.extra_args), 0 },
    { K0S "securityContext", OBJ, NULL, F(control_plane.distro.k0s.security_context), 0 },
    { K0S "resources", R, DISTRO_RES, F(control_plane.distro.k0s.resources), 0 },

    /* ---- controlPlane.backingStore ---- */
    { DB "embedded.enabled", B, "false", F(control_plane.backing_store.database.embedded.enabled), 0 },
    { DB "embedded.extraArgs", SL, NULL, F(control_plane.backing_store.database.embedded.extra_args), 0 },
    { DB "external.enabled", B, "false", F(control_plane.backing_store.database.external.enabled), 0 },
    { DB "external.dataSource", S, "", F(control_plane.backing_store.database.external.data_source), "datasource" },
    { DB "external.connector", S, "", F(control_plane.backing_store.database.external.connector), 0 },
    /* libvcluster's own: upstream's chart has no such key */
    { DB "external.dataSourceSecret.name", S, "", F(control_plane.backing_store.database.external.data_source_secret_name), "dns" },
    { DB "external.dataSourceSecret.key", S, "", F(control_plane.backing_store.database.external.data_source_secret_key), "secretkey" },
    { DB "external.certFile", S, "", F(control_plane.backing_store.database.external.cert_file), 0 },
    { DB "external.keyFile", S, "", F(control_plane.backing_store.database.external.key_file), 0 },
    { DB "external.caFile", S, "", F(control_plane.backing_store.database.external.ca_file), 0 },
    { DB "external.identityProvider", S, "", NF, 0 },
    { DB "external.extraArgs", SL, NULL, F(control_plane.backing_store.database.external.extra_args), 0 },
    { ETCD "embedded.enabled", B, "false", F(control_plane.backing_store.etcd.embedded.enabled), 0 },
    { ETCD "embedded.migrateFromDeployedEtcd", B, "false",
      F(control_plane.backing_store.etcd.embedded.migrate_from_deployed_etcd), 0 },
    { ETCD "embedded.extraArgs", SL, NULL, F(control_plane.backing_store.etcd.embedded.extra_args), 0 },
    { ETCD "external.enabled", B, "false", F(control_plane.backing_store.etcd.external.enabled), 0 },
    { ETCD "external.endpoint", S, "", F(control_plane.backing_store.etcd.external.endpoint), "etcd-endpoint" },
    { ETCD "external.tls.caFile", S, "", F(control_plane.backing_store.etcd.external.ca_file), 0 },
    { ETCD "external.tls.certFile", S, "", F(control_plane.backing_store.etcd.external.cert_file), 0 },
    { ETCD "external.tls.keyFile", S, "", F(control_plane.backing_store.etcd.external.key_file), 0 },
    { ED "enabled", B, "false", F(control_plane.backing_store.etcd.deploy.enabled), 0 },
    { ED "statefulSet.enabled", B, "true", F(control_plane.backing_store.etcd.deploy.stateful_set_enabled), 0 },
    { ED "statefulSet.image", IMG, "{\"registry\":\"registry.k8s.io\",\"repository\":\"etcd\",\"tag\":\"3.6.8-0\"}",
      F(control_plane.backing_store.etcd.deploy.image), 0 },
    { ED "statefulSet.imagePullPolicy", E, "", F(control_plane.backing_store.etcd.deploy.image_pull_policy), PULL },
    { ED "statefulSet.extraArgs", SL, NULL, F(control_plane.backing_store.etcd.deploy.extra_args), 0 },
    { ED "statefulSet.env", LST, NULL, F(control_plane.backing_store.etcd.deploy.env), 0 },
    { ED "statefulSet.resources", R, "{\"requests\":{\"cpu\":\"20m\",\"memory\":\"150Mi\"}}",
      F(control_plane.backing_store.etcd.deploy.resources), 0 },
    { ED "statefulSet.enableServiceLinks", B, "true", NF, 0 },
    { ED "statefulSet.annotations", SM, NULL, NF, 0 },
    { ED "statefulSet.labels", SM, NULL, NF, 0 },
    { ED "statefulSet.pods.annotations", SM, NULL, NF, 0 },
    { ED "statefulSet.pods.labels", SM, NULL, NF, 0 },
    { ED "statefulSet.security.podSecurityContext", OBJ, NULL, NF, 0 },
    { ED "statefulSet.security.containerSecurityContext", OBJ, NULL, NF, 0 },
    { ED "statefulSet.highAvailability.replicas", I, "1", F(control_plane.backing_store.etcd.deploy.replicas), POS },
    { ED "statefulSet.scheduling.podManagementPolicy", E, "Parallel", NF, "Parallel|OrderedReady" },
    { ED "statefulSet.scheduling.nodeSelector", SM, NULL, F(control_plane.backing_store.etcd.deploy.node_selector), 0 },
    { ED "statefulSet.scheduling.affinity", OBJ, NULL, F(control_plane.backing_store.etcd.deploy.affinity), 0 },
    { ED "statefulSet.scheduling.tolerations", LST, NULL, F(control_plane.backing_store.etcd.deploy.tolerations), 0 },
    { ED "statefulSet.scheduling.priorityClassName", S, "",
      F(control_plane.backing_store.etcd.deploy.priority_class_name), 0 },
    { ED "statefulSet.persistence.volumeClaim.enabled", SB, "true",
      F(control_plane.backing_store.etcd.deploy.volume_claim.enabled), 0 },
    { ED "statefulSet.persistence.volumeClaim.retentionPolicy", E, "Retain",
      F(control_plane.backing_store.etcd.deploy.volume_claim.retention_policy), "Retain|Delete" },
    { ED "statefulSet.persistence.volumeClaim.size", S, "5Gi",
      F(control_plane.backing_store.etcd.deploy.volume_claim.size), "quantity" },
    { ED "statefulSet.persistence.volumeClaim.storageClass", S, "",
      F(control_plane.backing_store.etcd.deploy.volume_claim.storage_class), 0 },
    { ED "statefulSet.persistence.volumeClaim.accessModes", SL, "[\"ReadWriteOnce\"]",
      F(control_plane.backing_store.etcd.deploy.volume_claim.access_modes), 0 },
    { ED "service.enabled", B, "true", F(control_plane.backing_store.etcd.deploy.service_enabled), 0 },
    { ED "service.annotations", SM, NULL, NF, 0 },
    { ED "headlessService.annotations", SM, NULL, NF, 0 },

    /* ---- controlPlane.proxy / coredns / service / ingress ---- */
    { CP "proxy.bindAddress", S, "0.0.0.0", F(control_plane.proxy.bind_address), 0 },
    { CP "proxy.port", I, "8443", F(control_plane.proxy.port), PORT },
    { CP "proxy.extraSANs", SL, NULL, F(control_plane.proxy.extra_sans), 0 },
    { DNS "enabled", B, "true", F(control_plane.coredns.enabled), 0 },
    { DNS "embedded", B, "false", F(control_plane.coredns.embedded), 0 },
    { DNS "overwriteManifests", S, "", F(control_plane.coredns.overwrite_manifests), 0 },
    { DNS "overwriteConfig", S, "", F(control_plane.coredns.overwrite_config), 0 },
    { DNS "priorityClassName", S, "", F(control_plane.coredns.priority_class_name), 0 },
    { DNS "service.annotations", SM, NULL, NF, 0 },
    { DNS "service.labels", SM, NULL, NF, 0 },
    { DNS "service.spec.type", E, "ClusterIP", F(control_plane.coredns.service_type), "ClusterIP|NodePort|LoadBalancer" },
    { DNS "deployment.annotations", SM, NULL, NF, 0 },
    { DNS "deployment.labels", SM, NULL, NF, 0 },
    { DNS "deployment.image", S, "", F(control_plane.coredns.image), 0 },
    { DNS "deployment.replicas", I, "1", F(control_plane.coredns.replicas), NOT_NEG },
    { DNS "deployment.pods.labels", SM, NULL, NF, 0 },
    { DNS "deployment.pods.annotations", SM, NULL, NF, 0 },
    { DNS "deployment.nodeSelector", SM, NULL, F(control_plane.coredns.node_selector), 0 },
    { DNS "deployment.affinity", OBJ, NULL, F(control_plane.coredns.affinity), 0 },
    { DNS "deployment.tolerations", LST, NULL, F(control_plane.coredns.tolerations), 0 },
    { DNS "deployment.resources", R,
      "{\"limits\":{\"cpu\":\"1000m\",\"memory\":\"170Mi\"},\"requests\":{\"cpu\":\"20m\",\"memory\":\"64Mi\"}}",
      F(control_plane.coredns.resources), 0 },
    { DNS "deployment.topologySpreadConstraints", LST,
      "[{\"maxSkew\":1,\"topologyKey\":\"kubernetes.io/hostname\",\"whenUnsatisfiable\":\"DoNotSchedule\","
      "\"labelSelector\":{\"matchLabels\":{\"k8s-app\":\"vcluster-kube-dns\"}}}]", NF, 0 },
    { CP "service.enabled", B, "true", F(control_plane.service.enabled), 0 },
    { CP "service.labels", SM, NULL, F(control_plane.service.labels), 0 },
    { CP "service.annotations", SM, NULL, F(control_plane.service.annotations), 0 },
    { CP "service.kubeletNodePort", I, "0", F(control_plane.service.kubelet_node_port), NODEPORT },
    { CP "service.httpsNodePort", I, "0", F(control_plane.service.https_node_port), NODEPORT },
    { CP "service.spec.type", E, "ClusterIP", F(control_plane.service.type), "ClusterIP|NodePort|LoadBalancer" },
    { CP "service.spec.loadBalancerIP", S, "", NF, 0 },
    { CP "service.spec.loadBalancerSourceRanges", SL, NULL, NF, 0 },
    { CP "service.spec.externalIPs", SL, NULL, NF, 0 },
    { CP "service.spec.externalTrafficPolicy", E, "", NF, "|Cluster|Local" },
    { CP "ingress.enabled", B, "false", F(control_plane.ingress.enabled), 0 },
    { CP "ingress.host", S, "my-host.com", F(control_plane.ingress.host), 0 },
    { CP "ingress.pathType", E, "ImplementationSpecific", F(control_plane.ingress.path_type),
      "Exact|Prefix|ImplementationSpecific" },
    { CP "ingress.labels", SM, NULL, F(control_plane.ingress.labels), 0 },
    { CP "ingress.annotations", SM,
      "{\"nginx.ingress.kubernetes.io/backend-protocol\":\"HTTPS\","
      "\"nginx.ingress.kubernetes.io/ssl-passthrough\":\"true\","
      "\"nginx.ingress.kubernetes.io/ssl-redirect\":\"true\"}",
      F(control_plane.ingress.annotations), 0 },
    { CP "ingress.spec", OBJ, "{\"tls\":[]}", NF, 0 },

    /* ---- controlPlane.statefulSet ---- */
    { SS "labels", SM, NULL, F(control_plane.stateful_set.labels), 0 },
    { SS "annotations", SM, NULL, F(control_plane.stateful_set.annotations), 0 },
    { SS "imagePullPolicy", E, "", F(control_plane.stateful_set.image_pull_policy), PULL },
    { SS "image", IMG, NULL, F(control_plane.stateful_set.image), 0 },
    { SS "workingDir", S, "", F(control_plane.stateful_set.working_dir), 0 },
    { SS "command", SL, NULL, F(control_plane.stateful_set.command), 0 },
    { SS "args", SL, NULL, F(control_plane.stateful_set.args), 0 },
    { SS "env", LST, NULL, F(control_plane.stateful_set.env), 0 },
    { SS "resources", R,
      "{\"limits\":{\"ephemeral-storage\":\"10Gi\",\"memory\":\"4Gi\"},"
      "\"requests\":{\"ephemeral-storage\":\"1Gi\",\"cpu\":\"200m\",\"memory\":\"256Mi\"}}",
      F(control_plane.stateful_set.resources), 0 },
    { SS "pods.labels", SM, NULL, F(control_plane.stateful_set.pod_labels), 0 },
    { SS "pods.annotations", SM, NULL, F(control_plane.stateful_set.pod_annotations), 0 },
    { SS "highAvailability.replicas", I, "1", F(control_plane.stateful_set.high_availability.replicas), POS },
    { SS "highAvailability.leaseDuration", I, "60", F(control_plane.stateful_set.high_availability.lease_duration), POS },
    { SS "highAvailability.renewDeadline", I, "40", F(control_plane.stateful_set.high_availability.renew_deadline), POS },
    { SS "highAvailability.retryPeriod", I, "15", F(control_plane.stateful_set.high_availability.retry_period), POS },
    { SS "security.podSecurityContext", OBJ, NULL, F(control_plane.stateful_set.pod_security_context), 0 },
    { SS "security.containerSecurityContext", OBJ,
      "{\"allowPrivilegeEscalation\":false,\"runAsUser\":0,\"runAsGroup\":0}",
      F(control_plane.stateful_set.container_security_context), 0 },
    { SS "persistence.volumeClaim.enabled", SB, "auto", F(control_plane.stateful_set.volume_claim.enabled), 0 },
    { SS "persistence.volumeClaim.retentionPolicy", E, "Retain",
      F(control_plane.stateful_set.volume_claim.retention_policy), "Retain|Delete" },
    { SS "persistence.volumeClaim.size", S, "5Gi", F(control_plane.stateful_set.volume_claim.size), "quantity" },
    { SS "persistence.volumeClaim.storageClass", S, "", F(control_plane.stateful_set.volume_claim.storage_class), 0 },
    { SS "persistence.volumeClaim.accessModes", SL, "[\"ReadWriteOnce\"]",
      F(control_plane.stateful_set.volume_claim.access_modes), 0 },
    { SS "persistence.volumeClaimTemplates", LST, NULL, NF, 0 },
    { SS "persistence.addVolumes", LST, NULL, F(control_plane.stateful_set.add_volumes), 0 },
    { SS "persistence.addVolumeMounts", LST, NULL, F(control_plane.stateful_set.add_volume_mounts), 0 },
    { SS "persistence.dataVolume", LST, NULL, NF, 0 },
    { SS "persistence.binariesVolume", LST, "[{\"name\":\"binaries\",\"emptyDir\":{}}]", NF, 0 },
    { SS "enableServiceLinks", B, "true", F(control_plane.stateful_set.enable_service_links), 0 },
    { SS "scheduling.podManagementPolicy", E, "Parallel", F(control_plane.stateful_set.pod_management_policy),
      "Parallel|OrderedReady" },
    { SS "scheduling.topologySpreadConstraints", LST, NULL,
      F(control_plane.stateful_set.topology_spread_constraints), 0 },
    { SS "scheduling.priorityClassName", S, "", F(control_plane.stateful_set.priority_class_name), 0 },
    { SS "scheduling.nodeSelector", SM, NULL, F(control_plane.stateful_set.node_selector), 0 },
    { SS "scheduling.affinity", OBJ, NULL, F(control_plane.stateful_set.affinity), 0 },
    { SS "scheduling.tolerations", LST, NULL, F(control_plane.stateful_set.tolerations), 0 },
    { SS "probes.livenessProbe.enabled", B, "true", F(control_plane.stateful_set.liveness_probe), 0 },
    { SS "probes.readinessProbe.enabled", B, "true", F(control_plane.stateful_set.readiness_probe), 0 },
    { SS "probes.startupProbe.enabled", B, "true", F(control_plane.stateful_set.startup_probe), 0 },
    { SS "initContainers", LST, NULL, NF, 0 },
    { SS "sidecarContainers", LST, NULL, NF, 0 },
    { SS "hostAliases", LST, NULL, NF, 0 },
    { CP "serviceMonitor.enabled", B, "false", F(control_plane.service_monitor), 0 },
    { CP "serviceMonitor.labels", SM, NULL, NF, 0 },
    { CP "serviceMonitor.annotations", SM, NULL, NF, 0 },

    /* ---- controlPlane.advanced ---- */
    { ADV "defaultImageRegistry", S, "", F(control_plane.advanced.default_image_registry), 0 },
    { ADV "virtualScheduler.enabled", B, "false", F(control_plane.advanced.virtual_scheduler), 0 },
    { ADV "serviceAccount.enabled", B, "true", F(control_plane.advanced.service_account.enabled), 0 },
    { ADV "serviceAccount.name", S, "", F(control_plane.advanced.service_account.name), 0 },
    { ADV "serviceAccount.imagePullSecrets", LST, NULL, F(control_plane.advanced.service_account.image_pull_secrets), 0 },
    { ADV "serviceAccount.labels", SM, NULL, F(control_plane.advanced.service_account.labels), 0 },
    { ADV "serviceAccount.annotations", SM, NULL, F(control_plane.advanced.service_account.annotations), 0 },
    { ADV "workloadServiceAccount.enabled", B, "true", F(control_plane.advanced.workload_service_account.enabled), 0 },
    { ADV "workloadServiceAccount.name", S, "", F(control_plane.advanced.workload_service_account.name), 0 },
    { ADV "workloadServiceAccount.imagePullSecrets", LST, NULL,
      F(control_plane.advanced.workload_service_account.image_pull_secrets), 0 },
    { ADV "workloadServiceAccount.labels", SM, NULL, F(control_plane.advanced.workload_service_account.labels), 0 },
    { ADV "workloadServiceAccount.annotations", SM, NULL,
      F(control_plane.advanced.workload_service_account.annotations), 0 },
    { ADV "headlessService.labels", SM, NULL, NF, 0 },
    { ADV "headlessService.annotations", SM, NULL, NF, 0 },
    { ADV "globalMetadata.annotations", SM, NULL, F(control_plane.advanced.global_annotations), 0 },
    { ADV "podDisruptionBudget.enabled", B, "false", NF, 0 },

    /* ---- networking ---- */
    { "networking.replicateServices.toHost", SVC, NULL, F(networking.replicate_services.to_host), 0 },
    { "networking.replicateServices.fromHost", SVC, NULL, F(networking.replicate_services.from_host), 0 },
    { "networking.resolveDNS", LST, NULL, F(networking.resolve_dns), 0 },
    { "networking.advanced.clusterDomain", S, "cluster.local", F(networking.advanced.cluster_domain), "dns" },
    { "networking.advanced.fallbackHostCluster", B, "false", F(networking.advanced.fallback_host_cluster), 0 },
    { "networking.advanced.proxyKubelets.byHostname", B, "true",
      F(networking.advanced.proxy_kubelets_by_hostname), 0 },
    { "networking.advanced.proxyKubelets.byIP", B, "true", F(networking.advanced.proxy_kubelets_by_ip), 0 },

    /* ---- policies ---- */
    { "policies.podSecurityStandard", E, "", F(policies.pod_security_standard), "|privileged|baseline|restricted" },
    { PQ "enabled", SB, "auto", F(policies.resource_quota.enabled), 0 },
    { PQ "labels", SM, NULL, F(policies.resource_quota.labels), 0 },
    { PQ "annotations", SM, NULL, F(policies.resource_quota.annotations), 0 },
    { PQ "quota", Q,
      "{\"requests.cpu\":\"10\",\"requests.memory\":\"20Gi\",\"requests.storage\":\"100Gi\","
      "\"requests.ephemeral-storage\":\"60Gi\",\"limits.cpu\":\"20\",\"limits.memory\":\"40Gi\","
      "\"limits.ephemeral-storage\":\"160Gi\",\"services.nodeports\":\"0\",\"services.loadbalancers\":\"1\","
      "\"count/endpoints\":\"40\",\"count/pods\":\"20\",\"count/services\":\"20\",\"count/secrets\":\"100\","
      "\"count/configmaps\":\"100\",\"count/persistentvolumeclaims\":\"20\"}",
      F(policies.resource_quota.quota), 0 },
    { PQ "scopeSelector", OBJ, "{\"matchExpressions\":[]}", F(policies.resource_quota.scope_selector), 0 },
    { PQ "scopes", LST, NULL, F(policies.resource_quota.scopes), 0 },
    { PL "enabled", SB, "auto", F(policies.limit_range.enabled), 0 },
    { PL "labels", SM, NULL, F(policies.limit_range.labels), 0 },
    { PL "annotations", SM, NULL, F(policies.limit_range.annotations), 0 },
    { PL "default", Q, "{\"ephemeral-storage\":\"8Gi\",\"memory\":\"512Mi\",\"cpu\":\"1\"}",
      F(policies.limit_range.default_limits), 0 },
    { PL "defaultRequest", Q, "{\"ephemeral-storage\":\"3Gi\",\"memory\":\"128Mi\",\"cpu\":\"100m\"}",
      F(policies.limit_range.default_requests), 0 },
    { PL "min", Q, NULL, F(policies.limit_range.min), 0 },
    { PL "max", Q, NULL, F(policies.limit_range.max), 0 },
    { PN "enabled", B, "false", F(policies.network_policy.enabled), 0 },
    { PN "labels", SM, NULL, F(policies.network_policy.labels), 0 },
    { PN "annotations", SM, NULL, F(policies.network_policy.annotations), 0 },
    { PN "fallbackDns", S, "8.8.8.8", F(policies.network_policy.fallback_dns), 0 },
    { PN "controlPlane.ingress", LST, NULL, F(policies.network_policy.control_plane_ingress), 0 },
    { PN "controlPlane.egress", LST, NULL, F(policies.network_policy.control_plane_egress), 0 },
    { PN "workload.publicEgress.enabled", B, "true", F(policies.network_policy.public_egress.enabled), 0 },
    { PN "workload.publicEgress.cidr", S, "0.0.0.0/0", F(policies.network_policy.public_egress.cidr), "cidr" },
    { PN "workload.publicEgress.except", SL,
      "[\"100.64.0.0/10\",\"127.0.0.0/8\",\"10.0.0.0/8\",\"172.16.0.0/12\",\"192.168.0.0/16\"]",
      F(policies.network_policy.public_egress.except), "cidr" },
    { PN "workload.ingress", LST, NULL, F(policies.network_policy.workload_ingress), 0 },
    { PN "workload.egress", LST, NULL, F(policies.network_policy.workload_egress), 0 },
    { "policies.centralAdmission.validatingWebhooks", LST, NULL, NF, 0 },
    { "policies.centralAdmission.mutatingWebhooks", LST, NULL, NF, 0 },

    /* ---- rbac ---- */
    { "rbac.role.enabled", B, "true", F(rbac.role.enabled), 0 },
    { "rbac.role.overwriteRules", LST, NULL, F(rbac.role.overwrite_rules), 0 },
    { "rbac.role.extraRules", LST, NULL, F(rbac.role.extra_rules), 0 },
    { "rbac.clusterRole.enabled", SB, "auto", F(rbac.cluster_role.enabled), 0 },
    { "rbac.clusterRole.overwriteRules", LST, NULL, F(rbac.cluster_role.overwrite_rules), 0 },
    { "rbac.clusterRole.extraRules", LST, NULL, F(rbac.cluster_role.extra_rules), 0 },

    /* ---- exportKubeConfig ---- */
    { "exportKubeConfig.context", S, "", F(export_kube_config.context), 0 },
    { "exportKubeConfig.server", S, "", F(export_kube_config.server), "url" },
    { "exportKubeConfig.insecure", B, "false", F(export_kube_config.insecure), 0 },
    { "exportKubeConfig.serviceAccount.name", S, "", F(export_kube_config.sa_name), 0 },
    { "exportKubeConfig.serviceAccount.namespace", S, "", F(export_kube_config.sa_namespace), 0 },
    { "exportKubeConfig.serviceAccount.clusterRole", S, "", F(export_kube_config.sa_cluster_role), 0 },
    { "exportKubeConfig.secret.name", S, "", F(export_kube_config.secret_name), 0 },
    { "exportKubeConfig.secret.namespace", S, "", F(export_kube_config.secret_namespace), 0 },
    { "exportKubeConfig.additionalSecrets", LST, NULL, F(export_kube_config.additional_secrets), 0 },

    /* ---- experimental, plugins, telemetry, logging ---- */
    { "experimental.syncSettings.setOwner", B, "true", F(experimental.sync_settings.set_owner), 0 },
    { "experimental.syncSettings.hostMetricsBindAddress", S, "",
      F(experimental.sync_settings.host_metrics_bind_address), 0 },
    { "experimental.syncSettings.virtualMetricsBindAddress", S, "",
      F(experimental.sync_settings.virtual_metrics_bind_address), 0 },
    { "experimental.deploy.host.manifests", S, "", F(experimental.deploy.host_manifests), 0 },
    { "experimental.deploy.host.manifestsTemplate", S, "", F(experimental.deploy.host_manifests_template), 0 },
    { "experimental.deploy.vcluster.manifests", S, "", F(experimental.deploy.manifests), 0 },
    { "experimental.deploy.vcluster.manifestsTemplate", S, "", F(experimental.deploy.manifests_template), 0 },
    { "experimental.deploy.vcluster.helm", LST, NULL, F(experimental.deploy.helm), 0 },
    { "plugins", OBJ, NULL, F(plugins), 0 },
    { "telemetry.enabled", B, "true", F(telemetry), 0 },
    { "logging.encoding", E, "console", NF, "console|json" },
};
/* clang-format on */

const size_t vc__cfg_schema_len = sizeof(vc__cfg_schema) / sizeof(vc__cfg_schema[0]);

const vc__cfg_key *vc__cfg_schema_find(const char *path)
{
    for (size_t i = 0; i < vc__cfg_schema_len; i++)
        if (strcmp(vc__cfg_schema[i].path, path) == 0)
            return &vc__cfg_schema[i];
    return NULL;
}

bool vc__cfg_schema_is_section(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < vc__cfg_schema_len; i++) {
        const char *p = vc__cfg_schema[i].path;
        if (strncmp(p, path, n) == 0 && p[n] == '.')
            return true;
    }
    return false;
}

/* Levenshtein distance, case-insensitive, capped for short strings. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[64];
    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            char ca = a[i - 1], cb = b[j - 1];
            if (ca >= 'A' && ca <= 'Z')
                ca = (char)(ca - 'A' + 'a');
            if (cb >= 'A' && cb <= 'Z')
                cb = (char)(cb - 'A' + 'a');
            size_t best = prev + (ca == cb ? 0 : 1);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

const char *vc__cfg_schema_suggest(const char *parent, const char *key, size_t *out_len)
{
    size_t pn = strlen(parent), kl = strlen(key);
    const char *best = NULL;
    size_t best_len = 0, best_d = (size_t)-1;
    for (size_t i = 0; i < vc__cfg_schema_len; i++) {
        const char *p = vc__cfg_schema[i].path;
        const char *child;
        if (pn == 0) {
            child = p;
        } else {
            if (strncmp(p, parent, pn) != 0 || p[pn] != '.')
                continue;
            child = p + pn + 1;
        }
        const char *dot = strchr(child, '.');
        size_t cl = dot ? (size_t)(dot - child) : strlen(child);
        size_t d = edit_distance(key, kl, child, cl);
        if (d < best_d) {
            best_d = d;
            best = child;
            best_len = cl;
        }
    }
    /* close enough: a typo, a case slip, or a plural */
    size_t limit = kl <= 4 ? 1 : (kl <= 10 ? 2 : 3);
    if (!best || best_d > limit)
        return NULL;
    *out_len = best_len;
    return best;
}
