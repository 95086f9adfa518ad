/* vcluster.yaml: defaults, current keys, the 2022-era keys of the seed
 * article, helm-style merging, --set, rendering and the typed view. */
#include "config/config.h"
#include "test.h"

#define RES VC_TEST_RESOURCES "/config/"

static vc_config *load(const char *a, const char *b)
{
    vc_config *c = NULL;
    CHECK_INT(vc_config_new(&c), VC_OK);
    if (a && vc_config_load_file(c, a) != VC_OK) {
        fprintf(stderr, "load %s: %s\n", a, vc_error_last()->message);
        CHECK(0);
    }
    if (b && vc_config_load_file(c, b) != VC_OK) {
        fprintf(stderr, "load %s: %s\n", b, vc_error_last()->message);
        CHECK(0);
    }
    return c;
}

/* vc_config_backing_store() through its out parameter */
static int32_t store_of_cfg(vc_config *c)
{
    int32_t v = -1;
    CHECK_INT(vc_config_backing_store(&v, c), VC_OK);
    return v;
}

static const char *q(const json_t *map, const char *key)
{
    return json_string_value(json_object_get(map, key));
}

static void t_defaults(void)
{
    vc_config *c = load(NULL, NULL);
    const vc__cfg_values *v = vc__config_values(c);
    /* UPSTREAM.md section 3: what syncs by default */
    CHECK(v->sync.to_host.services && v->sync.to_host.endpoints && v->sync.to_host.endpoint_slices);
    CHECK(v->sync.to_host.persistent_volume_claims && v->sync.to_host.pods.enabled);
    CHECK(v->sync.to_host.config_maps.enabled && !v->sync.to_host.config_maps.all);
    CHECK(v->sync.to_host.secrets.enabled && !v->sync.to_host.secrets.all);
    CHECK(v->sync.to_host.pods.rewrite_hosts.enabled);
    CHECK(!v->sync.to_host.pods.use_secrets_for_sa_tokens);
    CHECK(!v->sync.to_host.ingresses && !v->sync.to_host.priority_classes && !v->sync.to_host.network_policies);
    CHECK(!v->sync.to_host.pod_disruption_budgets && !v->sync.to_host.service_accounts);
    CHECK(!v->sync.to_host.storage_classes && !v->sync.to_host.persistent_volumes);
    CHECK(v->sync.from_host.events);
    CHECK_INT(v->sync.from_host.csi_drivers, VC__AUTO);
    CHECK_INT(v->sync.from_host.storage_classes, VC__AUTO);
    CHECK(!v->sync.from_host.nodes.enabled && !v->sync.from_host.nodes.sync_back_changes);
    CHECK(!v->sync.from_host.nodes.selector_all);
    CHECK(!vc__config_from_host_auto(c, "storageClasses"));
    /* control plane */
    CHECK_STR(vc_config_distro(c), "k8s");
    CHECK_INT(store_of_cfg(c), VC_STORE_EMBEDDED_DATABASE);
    CHECK_INT(store_of_cfg(NULL), VC_STORE_EMBEDDED_DATABASE);
    CHECK_INT(vc_config_backing_store(NULL, c), VC_EINVAL);
    CHECK_INT(vc_config_ha_replicas(c), 1);
    CHECK_STR(vc_config_service_type(c), "ClusterIP");
    CHECK_INT(v->control_plane.stateful_set.high_availability.lease_duration, 60);
    CHECK_INT(v->control_plane.stateful_set.high_availability.renew_deadline, 40);
    CHECK_INT(v->control_plane.stateful_set.high_availability.retry_period, 15);
    CHECK(v->control_plane.coredns.enabled);
    CHECK_INT(v->control_plane.coredns.replicas, 1);
    CHECK(!v->control_plane.advanced.virtual_scheduler);
    CHECK(vc__config_persistence_enabled(c));
    CHECK_INT(v->control_plane.proxy.port, 8443);
    CHECK_STR(v->networking.advanced.cluster_domain, "cluster.local");
    CHECK(v->experimental.sync_settings.set_owner);
    CHECK_STR(v->control_plane.distro.k3s.image.repository, "rancher/k3s");
    char *ref = vc__config_image_ref(c, &v->sync.to_host.pods.rewrite_hosts.image);
    CHECK_STR(ref, "mirror.gcr.io/library/alpine:3.20");
    vc__free(ref);
    ref = vc__config_image_ref(c, &v->control_plane.backing_store.etcd.deploy.image);
    CHECK_STR(ref, "registry.k8s.io/etcd:3.6.8-0");
    vc__free(ref);
    /* F9: isolation is off, with the article's numbers ready */
    CHECK_STR(v->policies.pod_security_standard, "");
    CHECK(!v->policies.network_policy.enabled);
    CHECK(!vc__config_resource_quota_enabled(c) && !vc__config_limit_range_enabled(c));
    const json_t *rq = v->policies.resource_quota.quota;
    CHECK_INT(json_object_size(rq), 15);
    CHECK_STR(q(rq, "count/configmaps"), "100");
    CHECK_STR(q(rq, "count/endpoints"), "40");
    CHECK_STR(q(rq, "count/persistentvolumeclaims"), "20");
    CHECK_STR(q(rq, "count/pods"), "20");
    CHECK_STR(q(rq, "count/secrets"), "100");
    CHECK_STR(q(rq, "count/services"), "20");
    CHECK_STR(q(rq, "limits.cpu"), "20");
    CHECK_STR(q(rq, "limits.memory"), "40Gi");
    CHECK_STR(q(rq, "requests.cpu"), "10");
    CHECK_STR(q(rq, "requests.memory"), "20Gi");
    CHECK_STR(q(rq, "requests.storage"), "100Gi");
    CHECK_STR(q(rq, "requests.ephemeral-storage"), "60Gi");
    CHECK_STR(q(rq, "limits.ephemeral-storage"), "160Gi");
    CHECK_STR(q(rq, "services.loadbalancers"), "1");
    CHECK_STR(q(rq, "services.nodeports"), "0");
    const json_t *ld = v->policies.limit_range.default_limits, *lr = v->policies.limit_range.default_requests;
    CHECK_STR(q(ld, "cpu"), "1");
    CHECK_STR(q(ld, "memory"), "512Mi");
    CHECK_STR(q(ld, "ephemeral-storage"), "8Gi");
    CHECK_STR(q(lr, "cpu"), "100m");
    CHECK_STR(q(lr, "memory"), "128Mi");
    CHECK_STR(q(lr, "ephemeral-storage"), "3Gi");
    CHECK_INT(v->policies.network_policy.public_egress.except.n, 5);
    vc_config_free(c);
}

static void t_article_files(void)
{
    /* 4.3 / 4.4: mapServices */
    vc_config *c = load(RES "article-host-to-vcluster.yaml", RES "article-vcluster-to-host.yaml");
    const vc__cfg_values *v = vc__config_values(c);
    CHECK_INT(v->networking.replicate_services.from_host.n, 1);
    CHECK_STR(v->networking.replicate_services.from_host.v[0].from, "default/nettool-host");
    CHECK_STR(v->networking.replicate_services.from_host.v[0].to, "default/nettool-host");
    CHECK_INT(v->networking.replicate_services.to_host.n, 1);
    CHECK_STR(v->networking.replicate_services.to_host.v[0].from, "default/nettool-virtual");
    CHECK_STR(v->networking.replicate_services.to_host.v[0].to, "nettool-virtual");
    CHECK_STR(vc__config_origin(c, "networking.replicateServices.toHost"),
              RES "article-vcluster-to-host.yaml:3:3");
    vc_config_free(c);

    /* 7: ha.yaml with --distro k8s */
    c = load(RES "article-ha.yaml", NULL);
    CHECK_INT(vc_config_set(c, "controlPlane.distro.k8s.enabled", "true"), VC_OK);
    v = vc__config_values(c);
    CHECK_STR(vc_config_distro(c), "k8s");
    CHECK_INT(vc_config_ha_replicas(c), 3);
    CHECK_INT(store_of_cfg(c), VC_STORE_DEPLOYED_ETCD);
    CHECK_INT(v->control_plane.backing_store.etcd.deploy.replicas, 3);
    CHECK_INT(v->control_plane.backing_store.etcd.deploy.volume_claim.enabled, VC__FALSE);
    CHECK_STR(v->control_plane.backing_store.etcd.deploy.image.repository, "cr7258/k8s.gcr.io.etcd");
    CHECK_STR(v->control_plane.backing_store.etcd.deploy.image.tag, "3.5.4-0");
    CHECK_STR(v->control_plane.distro.k8s.image.repository, "cr7258/k8s.gcr.io.kube-apiserver");
    CHECK_STR(v->control_plane.distro.k8s.controller_manager.image.repository,
              "cr7258/k8s.gcr.io.kube-controller-manager");
    CHECK_INT(v->control_plane.coredns.replicas, 3);
    vc_config_free(c);

    /* 8: schedule.yaml */
    c = load(RES "article-schedule.yaml", NULL);
    v = vc__config_values(c);
    CHECK(v->sync.from_host.nodes.enabled);
    CHECK(v->sync.from_host.nodes.selector_all);
    CHECK(v->control_plane.advanced.virtual_scheduler);
    CHECK(vc__config_virtual_scheduler(c));
    CHECK(vc__config_from_host_auto(c, "storageClasses"));
    CHECK(vc__config_from_host_auto(c, "csiNodes"));
    CHECK(vc__config_cluster_role_enabled(c));
    vc_config_free(c);

    /* 9: --isolate */
    c = load(RES "article-isolate.yaml", NULL);
    v = vc__config_values(c);
    CHECK_STR(v->policies.pod_security_standard, "baseline");
    CHECK(v->policies.network_policy.enabled);
    CHECK(vc__config_resource_quota_enabled(c));
    CHECK(vc__config_limit_range_enabled(c));
    CHECK_STR(q(v->policies.resource_quota.quota, "count/pods"), "20");
    vc_config_free(c);
}

static void t_legacy_2022(void)
{
    vc_config *c = load(RES "legacy-2022.yaml", NULL);
    const vc__cfg_values *v = vc__config_values(c);
    CHECK(v->sync.to_host.services && v->sync.to_host.pods.enabled);
    CHECK(!v->sync.from_host.events);
    CHECK(v->sync.to_host.ingresses);
    CHECK(v->sync.from_host.ingress_classes); /* implied by sync.ingresses */
    CHECK(v->sync.from_host.nodes.enabled);   /* nodes.enabled beats fake-nodes */
    CHECK(!v->sync.from_host.nodes.selector_all);
    CHECK(v->sync.from_host.nodes.sync_back_changes);
    CHECK_STR(q(v->sync.from_host.nodes.selector_labels, "disktype"), "ssd");
    CHECK_STR(q(v->sync.from_host.nodes.selector_labels, "zone"), "a");
    CHECK(!v->sync.to_host.persistent_volumes);
    CHECK(v->sync.to_host.storage_classes);
    CHECK_INT(v->sync.from_host.storage_classes, VC__FALSE);
    CHECK(v->sync.to_host.priority_classes && v->sync.to_host.network_policies);
    CHECK(v->sync.to_host.pod_disruption_budgets && v->sync.to_host.service_accounts);
    CHECK(!v->sync.to_host.volume_snapshots);
    CHECK_INT(v->networking.replicate_services.to_host.n, 1);
    CHECK_INT(v->networking.replicate_services.from_host.n, 1);
    /* isolation */
    CHECK_STR(v->policies.pod_security_standard, "restricted");
    CHECK_INT(v->policies.resource_quota.enabled, VC__TRUE);
    CHECK_INT(v->policies.limit_range.enabled, VC__FALSE);
    CHECK(v->policies.network_policy.enabled);
    CHECK_STR(q(v->policies.resource_quota.quota, "count/pods"), "50");
    CHECK_STR(q(v->policies.resource_quota.quota, "requests.cpu"), "4");
    CHECK_STR(q(v->policies.resource_quota.quota, "count/secrets"), "100"); /* merged with the default */
    CHECK_INT(v->policies.network_policy.public_egress.except.n, 1);
    CHECK_STR(v->policies.network_policy.public_egress.except.v[0], "10.0.0.0/8");
    CHECK(!v->sync.to_host.namespaces.enabled);
    /* components */
    CHECK_STR(vc_config_distro(c), "k3s"); /* vcluster.image is the k3s chart's */
    CHECK_STR(v->control_plane.distro.k3s.image.tag, "v1.25.0-k3s1");
    CHECK_STR(q(v->control_plane.stateful_set.node_selector, "pool"), "control");
    CHECK_INT(v->control_plane.coredns.replicas, 2);
    CHECK_STR(vc_config_service_type(c), "LoadBalancer");
    CHECK(!v->telemetry);
    vc_config_free(c);

    /* isolation.enabled: false ignores the sub-switches (the 2022 defaults) */
    CHECK_INT(vc_config_new(&c), VC_OK);
    CHECK_INT(vc_config_load_string(c,
                                    "isolation:\n  enabled: false\n  podSecurityStandard: baseline\n"
                                    "  resourceQuota:\n    enabled: true\n  limitRange:\n    enabled: true\n"
                                    "  networkPolicy:\n    enabled: true\n  namespace: null\n",
                                    "iso-off.yaml"),
              VC_OK);
    v = vc__config_values(c);
    CHECK_STR(v->policies.pod_security_standard, "");
    CHECK(!vc__config_resource_quota_enabled(c) && !vc__config_limit_range_enabled(c));
    CHECK(!v->policies.network_policy.enabled);
    /* an override file without isolation.enabled applies its switches */
    CHECK_INT(vc_config_load_string(c, "isolation:\n  resourceQuota:\n    enabled: true\n", "iso-rq.yaml"), VC_OK);
    CHECK(vc__config_resource_quota_enabled(c));
    CHECK(!vc__config_limit_range_enabled(c)); /* isolation.enabled: false turned it off explicitly */
    vc_config_free(c);

    /* enableHA alone picks the deployed etcd; an explicit store wins */
    CHECK_INT(vc_config_new(&c), VC_OK);
    CHECK_INT(vc_config_load_string(c, "enableHA: true\n", "ha.yaml"), VC_OK);
    CHECK_INT(store_of_cfg(c), VC_STORE_DEPLOYED_ETCD);
    vc_config_free(c);
    CHECK_INT(vc_config_new(&c), VC_OK);
    CHECK_INT(vc_config_load_string(c,
                                    "enableHA: true\nembeddedEtcd:\n  enabled: true\nsyncer:\n  replicas: 3\n",
                                    "ha.yaml"),
              VC_OK);
    CHECK_INT(store_of_cfg(c), VC_STORE_EMBEDDED_ETCD);
    CHECK_INT(vc_config_ha_replicas(c), 3);
    vc_config_free(c);
}

static void t_current_and_merge(void)
{
    vc_config *c = load(RES "current.yaml", NULL);
    const vc__cfg_values *v = vc__config_values(c);
    CHECK(v->sync.to_host.ingresses);
    CHECK(v->sync.to_host.config_maps.all && v->sync.to_host.secrets.all);
    CHECK(v->sync.to_host.pods.use_secrets_for_sa_tokens);
    CHECK_INT(v->sync.to_host.pods.enforce_tolerations.n, 2);
    CHECK_STR(v->sync.to_host.pods.enforce_tolerations.v[0], "dedicated=tenants:NoSchedule");
    CHECK(!v->sync.to_host.pods.rewrite_hosts.enabled);
    CHECK_STR(v->sync.to_host.pods.rewrite_hosts.image.registry, "docker.io");
    CHECK_STR(v->sync.to_host.pods.rewrite_hosts.image.repository, "library/busybox");
    CHECK_STR(v->sync.to_host.pods.rewrite_hosts.image.tag, "1.36");
    CHECK(!v->sync.from_host.events);
    CHECK(!v->sync.from_host.nodes.selector_all); /* labels given: no "all" */
    CHECK(!vc__config_from_host_auto(c, "storageClasses")); /* toHost.storageClasses is on */
    CHECK_STR(vc_config_distro(c), "k3s");
    /* a partial image keeps the other parts of the default */
    CHECK_STR(v->control_plane.distro.k3s.image.repository, "rancher/k3s");
    CHECK_STR(v->control_plane.distro.k3s.image.tag, "v1.30.2-k3s1");
    CHECK_INT(store_of_cfg(c), VC_STORE_DEPLOYED_ETCD);
    CHECK_INT(vc_config_ha_replicas(c), 3);
    CHECK_STR(vc_config_service_type(c), "LoadBalancer");
    CHECK_STR(v->networking.advanced.cluster_domain, "corp.internal");
    CHECK_STR(q(v->policies.resource_quota.quota, "count/pods"), "100");
    CHECK_STR(q(v->policies.resource_quota.quota, "requests.cpu"), "2.5");
    CHECK(json_object_get(v->policies.resource_quota.quota, "services.nodeports") == NULL); /* null deletes */
    CHECK_STR(q(v->policies.limit_range.default_limits, "memory"), "1Gi");
    CHECK_STR(q(v->policies.limit_range.default_limits, "cpu"), "1");
    CHECK(!v->experimental.sync_settings.set_owner);
    const json_t *res = v->control_plane.stateful_set.resources;
    CHECK_STR(q(json_object_get(res, "limits"), "memory"), "8Gi");
    CHECK_STR(q(json_object_get(res, "requests"), "cpu"), "200m");

    /* a second file: later wins, mappings merge, null resets to the default */
    CHECK_INT(vc_config_load_file(c, RES "override.yaml"), VC_OK);
    v = vc__config_values(c);
    CHECK_STR(vc_config_service_type(c), "NodePort");
    CHECK(!v->sync.to_host.ingresses);
    CHECK(v->sync.to_host.config_maps.all); /* from the first file */
    res = v->control_plane.stateful_set.resources;
    CHECK_STR(q(json_object_get(res, "limits"), "memory"), "8Gi");
    CHECK_STR(q(json_object_get(res, "requests"), "cpu"), "500m");
    CHECK_STR(q(v->policies.resource_quota.quota, "count/pods"), "20");
    CHECK_STR(q(v->policies.resource_quota.quota, "services.nodeports"), "0");
    CHECK_STR(vc__config_origin(c, "controlPlane.service.spec.type"), RES "override.yaml:5:7");
    vc_config_free(c);
}

static void t_set_get(void)
{
    vc_config *c = load(NULL, NULL);
    vc_buf b = VC_BUF_INIT;
    CHECK_INT(vc_config_set(c, "controlPlane.service.spec.type", "LoadBalancer"), VC_OK); /* --expose */
    CHECK_STR(vc_config_service_type(c), "LoadBalancer");
    CHECK_INT(vc_config_set(c, "controlPlane.distro.k0s.enabled", "true"), VC_OK); /* --distro k0s */
    CHECK_STR(vc_config_distro(c), "k0s");
    CHECK_INT(vc_config_set(c, "policies.resourceQuota.quota.requests\\.cpu", "3"), VC_OK);
    CHECK_INT(vc_config_get(c, "policies.resourceQuota.quota.requests\\.cpu", &b), VC_OK);
    CHECK_STR(b.ptr, "3");
    CHECK_INT(vc_config_set(c, "sync.toHost.pods.enforceTolerations", "[a=b:NoExecute, c]"), VC_OK);
    CHECK_INT(vc_config_get(c, "sync.toHost.pods.enforceTolerations", &b), VC_OK);
    CHECK_STR(b.ptr, "- a=b:NoExecute\n- c\n");
    CHECK_INT(vc_config_get(c, "sync.toHost.pods.enabled", &b), VC_OK);
    CHECK_STR(b.ptr, "true");
    CHECK_INT(vc_config_get(c, "controlPlane.statefulSet.highAvailability.replicas", &b), VC_OK);
    CHECK_STR(b.ptr, "1");
    CHECK_INT(vc_config_get(c, "controlPlane.distro.k8s.image", &b), VC_OK);
    CHECK_STR(b.ptr, "registry: ghcr.io\nrepository: loft-sh/kubernetes\ntag: v1.36.0\n");
    /* a 2022 key through --set works too */
    CHECK_INT(vc_config_set(c, "isolation.enabled", "true"), VC_OK);
    CHECK_STR(vc__config_values(c)->policies.pod_security_standard, "baseline");
    /* an image as a string */
    CHECK_INT(vc_config_set(c, "controlPlane.statefulSet.image", "localhost:5000/me/syncer:dev"), VC_OK);
    char *ref = vc__config_image_ref(c, &vc__config_values(c)->control_plane.stateful_set.image);
    CHECK_STR(ref, "localhost:5000/me/syncer:dev");
    vc__free(ref);
    /* "" is a value */
    CHECK_INT(vc_config_set(c, "controlPlane.distro.k0s.config", ""), VC_OK);
    /* null resets */
    CHECK_INT(vc_config_set(c, "controlPlane.service.spec.type", "null"), VC_OK);
    CHECK_STR(vc_config_service_type(c), "ClusterIP");
    vc_buf_dispose(&b);
    vc_config_free(c);
}

static void t_render_round_trip(void)
{
    const char *files[] = { NULL, RES "current.yaml", RES "legacy-2022.yaml", RES "article-ha.yaml" };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        vc_config *a = load(files[i], NULL);
        vc_buf y1 = VC_BUF_INIT, y2 = VC_BUF_INIT;
        CHECK_INT(vc_config_to_yaml(a, &y1), VC_OK);
        vc_config *b = NULL;
        CHECK_INT(vc_config_new(&b), VC_OK);
        int r = vc_config_load_string(b, y1.ptr, "rendered.yaml");
        if (r != VC_OK)
            fprintf(stderr, "%s\n", vc_error_last()->message);
        CHECK_INT(r, VC_OK);
        CHECK_INT(vc_config_to_yaml(b, &y2), VC_OK);
        CHECK_STR(y2.ptr, y1.ptr);
        CHECK_STR(vc_config_distro(a), vc_config_distro(b));
        CHECK_INT(store_of_cfg(a), store_of_cfg(b));
        /* current keys only */
        CHECK(!strstr(y1.ptr, "mapServices") && !strstr(y1.ptr, "isolation:") && !strstr(y1.ptr, "enableHA"));
        CHECK_CONTAINS(y1.ptr, "sync:\n  toHost:\n    services:\n      enabled: true\n");
        CHECK_CONTAINS(y1.ptr, "      count/configmaps: \"100\"\n");
        vc_buf_dispose(&y1);
        vc_buf_dispose(&y2);
        vc_config_free(a);
        vc_config_free(b);
    }
}

static void t_helpers(void)
{
    CHECK(vc__config_valid_quantity("512Mi") && vc__config_valid_quantity("100m") && vc__config_valid_quantity("1"));
    CHECK(vc__config_valid_quantity("2.5") && vc__config_valid_quantity("1e3") && vc__config_valid_quantity("+1Gi"));
    CHECK(!vc__config_valid_quantity("") && !vc__config_valid_quantity("Gi") && !vc__config_valid_quantity("1GB"));
    CHECK(!vc__config_valid_quantity("1 Gi") && !vc__config_valid_quantity("1e"));
    CHECK(vc__config_valid_toleration("*") && vc__config_valid_toleration("key"));
    CHECK(vc__config_valid_toleration("key=value:NoSchedule") && vc__config_valid_toleration("key:NoExecute"));
    CHECK(vc__config_valid_toleration("example.com/key=v"));
    CHECK(!vc__config_valid_toleration("a=b=c") && !vc__config_valid_toleration("a:b:c"));
    CHECK(!vc__config_valid_toleration("=v") && !vc__config_valid_toleration("k=v:Never"));
    CHECK(vc__config_valid_dns_subdomain("cluster.local") && !vc__config_valid_dns_subdomain("-a.b"));
    CHECK(!vc__config_valid_dns_subdomain("a..b") && !vc__config_valid_dns_subdomain("A.b"));
    json_t *img = vc__config_parse_image("rancher/k3s:v1.25.0-k3s1");
    CHECK_STR(q(img, "registry"), "");
    CHECK_STR(q(img, "repository"), "rancher/k3s");
    CHECK_STR(q(img, "tag"), "v1.25.0-k3s1");
    json_decref(img);
    img = vc__config_parse_image("k8s.gcr.io/etcd:3.5.4-0");
    CHECK_STR(q(img, "registry"), "k8s.gcr.io");
    CHECK_STR(q(img, "repository"), "etcd");
    json_decref(img);
    img = vc__config_parse_image("nginx");
    CHECK_STR(q(img, "repository"), "nginx");
    CHECK_STR(q(img, "tag"), "");
    json_decref(img);
    img = vc__config_parse_image("ghcr.io/a/b@sha256:abcd");
    CHECK_STR(q(img, "registry"), "ghcr.io");
    CHECK_STR(q(img, "repository"), "a/b@sha256:abcd");
    json_decref(img);
    CHECK(vc__config_parse_image("") == NULL);
    CHECK(vc__config_parse_image("a b") == NULL);
    CHECK(vc__config_parse_image("repo:") == NULL);
    /* the default registry applies to images without one */
    vc_config *c = load(NULL, NULL);
    CHECK_INT(vc_config_set(c, "controlPlane.advanced.defaultImageRegistry", "mirror.corp/"), VC_OK);
    char *ref = vc__config_image_ref(c, &vc__config_values(c)->control_plane.distro.k3s.image);
    CHECK_STR(ref, "mirror.corp/rancher/k3s:v1.31.1-k3s1");
    vc__free(ref);
    vc_config_free(c);
    vc_config_free(NULL);
}

/* The files in examples/values (the backing stores, doc/guide.md F1.5) load and
 * choose the store they say; etcd endpoints of every accepted form */
static void t_example_values(void)
{
    static const struct {
        const char *file;
        int32_t store;
    } ex[] = { { "sqlite.yaml", VC_STORE_EMBEDDED_DATABASE },
               { "etcd.yaml", VC_STORE_EMBEDDED_ETCD },
               { "external-etcd.yaml", VC_STORE_EXTERNAL_ETCD },
               { "postgres.yaml", VC_STORE_EXTERNAL_DATABASE },
               { "mysql.yaml", VC_STORE_EXTERNAL_DATABASE } };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/../../examples/values/%s", VC_TEST_RESOURCES, ex[i].file);
        vc_config *c = NULL;
        CHECK_INT(vc_config_new(&c), VC_OK);
        int rc = vc_config_load_file(c, path);
        if (rc < 0)
            fprintf(stderr, "%s: %s\n", ex[i].file, vc_error_last()->message);
        CHECK_INT(rc, VC_OK);
        int32_t st = 0;
        CHECK_INT(vc_config_backing_store(&st, c), VC_OK);
        CHECK_INT(st, ex[i].store);
        vc_config_free(c);
    }
    static const char *const good[] = { "etcd-0:2379", "http://127.0.0.1:2379", "https://[::1]:2379",
                                        "a.b.svc:2379,https://c:2379/", "etcd" };
    static const char *const bad[] = { "", "unix:///run/etcd.sock", "https://", "etcd:0", "etcd:99999",
                                       "a:2379,,b:2379", "https://etcd:2379/v3", "Etcd_0:2379" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        vc_config *c = NULL;
        CHECK_INT(vc_config_new(&c), VC_OK);
        char q[128];
        snprintf(q, sizeof q, "\"%s\"", good[i]);
        int rc = vc_config_set(c, "controlPlane.backingStore.etcd.external.endpoint", q);
        if (rc < 0)
            fprintf(stderr, "%s: %s\n", good[i], vc_error_last()->message);
        CHECK_INT(rc, VC_OK);
        vc_config_free(c);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vc_config *c = NULL;
        CHECK_INT(vc_config_new(&c), VC_OK);
        char q[128];
        snprintf(q, sizeof q, "\"%s\"", bad[i]);
        int rc = vc_config_set(c, "controlPlane.backingStore.etcd.external.endpoint", q);
        /* "" is the default (no endpoint), not an error by itself */
        if (bad[i][0]) {
            CHECK_INT(rc, VC_ECONFIG);
            CHECK_CONTAINS(vc_error_last()->message, "not an etcd endpoint");
        }
        vc_config_free(c);
    }
}

/* doc/config.md lists every key of the schema */
static void t_doc_lists_every_key(void)
{
    char *doc = NULL;
    CHECK_INT(vc__file_read(VC_TEST_RESOURCES "/../../doc/config.md", &doc, NULL), VC_OK);
    if (!doc)
        return;
    for (size_t i = 0; i < vc__cfg_schema_len; i++) {
        char needle[300];
        snprintf(needle, sizeof needle, "| `%s` |", vc__cfg_schema[i].path);
        if (!strstr(doc, needle)) {
            fprintf(stderr, "doc/config.md does not list %s\n", vc__cfg_schema[i].path);
            CHECK(0);
        }
    }
    vc__free(doc);
}

int main(void)
{
    RUN(t_doc_lists_every_key);
    RUN(t_example_values);
    RUN(t_defaults);
    RUN(t_article_files);
    RUN(t_legacy_2022);
    RUN(t_current_and_merge);
    RUN(t_set_get);
    RUN(t_render_round_trip);
    RUN(t_helpers);
    TEST_DONE();
}
