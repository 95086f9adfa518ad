/*
 * Golden translation cases: tests/resources/translate/NAME.in.yaml (virtual
 * manifests) -> NAME.out.yaml (what the host receives, as
 * vc_translate_manifests() renders it, then "# note: ..." lines for objects
 * left out, or a single "# error: ..." line).
 *
 * Options come from options.json in the same folder, overridden by header
 * comment lines at the top of NAME.in.yaml:
 *   # options: {"sync": ["ingresses"], "flags": ["virtual-scheduler"], "dnsIP": null}
 *   # inputs: {"namespaceLabels": {"team": "a"}}
 *
 * Usage: golden DIR [--update] [CASE...]
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <vcluster.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return b;
}

static const struct {
    const char *name;
    uint32_t bit;
} k_sync[] = {
    { "ingresses", VC_TRANSLATE_SYNC_INGRESSES },
    { "priorityclasses", VC_TRANSLATE_SYNC_PRIORITY_CLASSES },
    { "networkpolicies", VC_TRANSLATE_SYNC_NETWORK_POLICIES },
    { "poddisruptionbudgets", VC_TRANSLATE_SYNC_POD_DISRUPTION_BUDGETS },
    { "serviceaccounts", VC_TRANSLATE_SYNC_SERVICE_ACCOUNTS },
    { "storageclasses", VC_TRANSLATE_SYNC_STORAGE_CLASSES },
    { "persistentvolumes", VC_TRANSLATE_SYNC_PERSISTENT_VOLUMES },
}, k_flags[] = {
    { "no-rewrite-hosts", VC_TRANSLATE_OPT_NO_REWRITE_HOSTS },
    { "secrets-for-sa-tokens", VC_TRANSLATE_OPT_SECRETS_FOR_SA_TOKENS },
    { "virtual-scheduler", VC_TRANSLATE_OPT_VIRTUAL_SCHEDULER },
    { "from-host-priority-classes", VC_TRANSLATE_OPT_FROM_HOST_PRIORITY_CLASSES },
};

static int bits(const json_t *arr, const void *table, size_t n, uint32_t *out, const char *what)
{
    const struct {
        const char *name;
        uint32_t bit;
    } *tab = table;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        size_t k;
        for (k = 0; k < n; k++)
            if (json_is_string(v) && !strcmp(json_string_value(v), tab[k].name))
                break;
        if (k == n) {
            fprintf(stderr, "unknown %s %s\n", what, json_is_string(v) ? json_string_value(v) : "?");
            return -1;
        }
        *out |= tab[k].bit;
    }
    return 0;
}

static const char *ostr(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Run one case; returns the rendered text (malloc'ed). */
static char *run_case(const json_t *opts, const char *inputs, const char *text, size_t len, const char *fname)
{
    vc_translate_options o;
    vc_translate_options_init(&o, VC_TRANSLATE_OPTIONS_VERSION);
    o.name = ostr(opts, "name");
    o.host_namespace = ostr(opts, "hostNamespace");
    o.cluster_domain = ostr(opts, "clusterDomain");
    o.kube_ip = ostr(opts, "kubeIP");
    o.dns_ip = ostr(opts, "dnsIP");
    o.owner_uid = ostr(opts, "ownerUID");
    o.workload_service_account = ostr(opts, "workloadServiceAccount");
    o.default_priority_class = ostr(opts, "defaultPriorityClass");
    o.runtime_class = ostr(opts, "runtimeClass");
    o.rewrite_hosts_image = ostr(opts, "rewriteHostsImage");
    const char *tols[16];
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(opts, "enforceTolerations"), i, v) if (i < 16) tols[o.enforce_tolerations_count++] = json_string_value(v);
    o.enforce_tolerations = tols;
    if (bits(json_object_get(opts, "sync"), k_sync, sizeof k_sync / sizeof k_sync[0], &o.sync_to_host, "sync kind") < 0 ||
        bits(json_object_get(opts, "flags"), k_flags, sizeof k_flags / sizeof k_flags[0], &o.flags, "flag") < 0)
        return NULL;
    uint32_t flags = 0;
    if (!json_is_false(json_object_get(opts, "defaults")))
        flags |= VC_TRANSLATE_APPLY_DEFAULTS;
    if (json_is_true(json_object_get(opts, "preview")))
        flags |= VC_TRANSLATE_PREVIEW;
    if (json_is_true(json_object_get(opts, "json")))
        flags |= VC_TRANSLATE_OUTPUT_JSON;
    vc_translator *t = NULL;
    vc_buf out = VC_BUF_INIT, notes = VC_BUF_INIT, res = VC_BUF_INIT;
    char *r;
    if (vc_translator_new(&t, &o) < 0) {
        size_t n = strlen(vc_error_last()->message) + 16;
        r = malloc(n);
        snprintf(r, n, "# error: %s\n", vc_error_last()->message);
        return r;
    }
    int rc = vc_translate_manifests(&out, &notes, t, text, len, fname, inputs, flags);
    vc_translator_free(t);
    if (rc < 0) {
        const char *m = vc_error_last()->message;
        size_t n = strlen(m) + 16;
        r = malloc(n);
        snprintf(r, n, "# error: %s\n", m);
    } else {
        size_t n = out.size + notes.size * 2 + 64;
        r = malloc(n);
        size_t o2 = (size_t)snprintf(r, n, "%s", out.ptr);
        for (char *line = notes.ptr; line && *line;) {
            char *nl = strchr(line, '\n');
            o2 += (size_t)snprintf(r + o2, n - o2, "# note: %.*s\n", (int)(nl ? nl - line : (long)strlen(line)), line);
            line = nl ? nl + 1 : NULL;
        }
    }
    vc_buf_dispose(&out);
    vc_buf_dispose(&notes);
    vc_buf_dispose(&res);
    return r;
}

/* Merge "# options:" / "# inputs:" header lines into opts; *inputs gets the inputs JSON. */
static int read_header(const char *text, json_t *opts, char **inputs)
{
    const char *p = text;
    *inputs = NULL;
    while (*p == '#') {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        if (!strncmp(line, "# options:", 10)) {
            json_error_t e;
            json_t *o = json_loads(line + 10, 0, &e);
            if (!json_is_object(o)) {
                fprintf(stderr, "bad options header: %s\n", e.text);
                json_decref(o);
                return -1;
            }
            json_object_update(opts, o);
            json_decref(o);
        } else if (!strncmp(line, "# inputs:", 9)) {
            *inputs = strdup(line + 9);
        }
        p = nl ? nl + 1 : p + n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: golden DIR [--update] [CASE...]\n");
        return 2;
    }
    const char *dir = argv[1];
    int update = 0, nsel = 0;
    char **sel = calloc((size_t)argc, sizeof *sel);
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--update"))
            update = 1;
        else
            sel[nsel++] = argv[i];
    }
    if (vc_global_init(NULL) < 0)
        return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/options.json", dir);
    json_error_t err;
    json_t *base = json_load_file(path, 0, &err);
    if (!json_is_object(base)) {
        fprintf(stderr, "%s: %s\n", path, err.text);
        return 1;
    }
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return 1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l > 8 && !strcmp(de->d_name + l - 8, ".in.yaml")) {
            names = realloc(names, (n + 1) * sizeof *names);
            names[n++] = strndup(de->d_name, l - 8);
        }
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* sort for stable output */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *x = names[j];
            names[j] = names[j - 1];
            names[j - 1] = x;
        }
    int failed = 0, ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (nsel) {
            int want = 0;
            for (int k = 0; k < nsel; k++)
                want |= !strcmp(sel[k], names[i]);
            if (!want) {
                free(names[i]);
                continue;
            }
        }
        char in_path[4096], out_path[4096], shown[512];
        snprintf(in_path, sizeof in_path, "%s/%s.in.yaml", dir, names[i]);
        snprintf(out_path, sizeof out_path, "%s/%s.out.yaml", dir, names[i]);
        snprintf(shown, sizeof shown, "%s.in.yaml", names[i]);
        size_t len = 0;
        char *text = slurp(in_path, &len);
        json_t *opts = json_deep_copy(base);
        char *inputs = NULL;
        char *got = NULL;
        if (text && read_header(text, opts, &inputs) == 0)
            got = run_case(opts, inputs, text, len, shown);
        ran++;
        if (!got) {
            printf("not ok %zu - %s (could not run)\n", i + 1, names[i]);
            failed++;
        } else if (update) {
            FILE *f = fopen(out_path, "wb");
            if (f) {
                fputs(got, f);
                fclose(f);
            }
            printf("ok %zu - %s (updated)\n", i + 1, names[i]);
        } else {
            char *want = slurp(out_path, NULL);
            if (!want || strcmp(want, got) != 0) {
                printf("not ok %zu - %s\n", i + 1, names[i]);
                fprintf(stderr, "--- %s: want (%s)\n%s\n--- got\n%s\n", names[i], out_path, want ? want : "(missing)", got);
                failed++;
            } else {
                printf("ok %zu - %s\n", i + 1, names[i]);
            }
            free(want);
        }
        free(got);
        free(inputs);
        free(text);
        json_decref(opts);
        free(names[i]);
    }
    printf("1..%d\n# %d cases, %d failed\n", ran, ran, failed);
    free(names);
    free(sel);
    json_decref(base);
    vc_global_shutdown();
    if (ran == 0) {
        fprintf(stderr, "no cases found in %s\n", dir);
        return 1;
    }
    return failed ? 1 : 0;
}
