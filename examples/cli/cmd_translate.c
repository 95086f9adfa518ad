/* vcluster translate: preview what the host cluster receives. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vcluster.h>

#include "cmd.h"

void cmd_translate_help(FILE *to)
{
    fprintf(to,
            "Show exactly what the host cluster would receive for virtual-cluster manifests.\n"
            "Objects that stay virtual (Deployments, Namespaces, kinds not synced) are listed on stderr.\n\n"
            "Usage:\n  vcluster translate -f FILE --name VC [flags]\n\n"
            "Flags:\n"
            "  -f, --filename FILE      YAML or JSON manifests, several documents allowed; '-' is stdin\n"
            "      --name VC            the virtual cluster's name (required)\n"
            "      --host-namespace NS  the host namespace (default vcluster-<name>)\n"
            "  -o, --output FORMAT      yaml (default) or json\n"
            "      --cluster-domain D   the cluster domain (default cluster.local)\n"
            "      --kube-ip IP         ClusterIP of the host Service <name> (default: a placeholder)\n"
            "      --dns-ip IP          ClusterIP of the virtual cluster's DNS (default: a placeholder)\n"
            "      --owner-uid UID      UID of the host Service <name>: adds owner references\n"
            "      --sync KINDS         also sync these kinds to the host, comma-separated: ingresses,\n"
            "                           priorityclasses, networkpolicies, poddisruptionbudgets,\n"
            "                           serviceaccounts, storageclasses, persistentvolumes, or all\n"
            "      --inputs FILE        runtime inputs as JSON: namespaceLabels, services, serviceAccountTokens\n"
            "      --strict             fail instead of printing placeholders for unknown IPs and tokens\n"
            "  -h, --help               this help\n\n"
            "Exit status: 0 on success, 1 on bad input (FILE:LINE:COL: field: problem), 2 on bad flags.\n");
}

static const struct {
    const char *name;
    unsigned bit;
} k_sync[] = {
    { "ingresses", VC_TRANSLATE_SYNC_INGRESSES },
    { "priorityclasses", VC_TRANSLATE_SYNC_PRIORITY_CLASSES },
    { "networkpolicies", VC_TRANSLATE_SYNC_NETWORK_POLICIES },
    { "poddisruptionbudgets", VC_TRANSLATE_SYNC_POD_DISRUPTION_BUDGETS },
    { "serviceaccounts", VC_TRANSLATE_SYNC_SERVICE_ACCOUNTS },
    { "storageclasses", VC_TRANSLATE_SYNC_STORAGE_CLASSES },
    { "persistentvolumes", VC_TRANSLATE_SYNC_PERSISTENT_VOLUMES },
    { "all", VC_TRANSLATE_SYNC_ALL },
};

static int parse_sync(const char *list, uint32_t *out)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t i;
        for (i = 0; i < sizeof k_sync / sizeof k_sync[0]; i++)
            if (!strcmp(tok, k_sync[i].name))
                break;
        if (i == sizeof k_sync / sizeof k_sync[0]) {
            fprintf(stderr, "vcluster translate: --sync: unknown kind \"%s\"\n", tok);
            return -1;
        }
        *out |= k_sync[i].bit;
    }
    return 0;
}

/* Manifests read by translate: 64 MiB at most (a cluster's worth of YAML). */
#define MANIFESTS_MAX (64u << 20)

/* The whole file (or stdin for "-"), NUL-terminated; NULL on error (errno
 * EFBIG when larger than MANIFESTS_MAX). */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            if (ferror(f)) {
                free(buf);
                buf = NULL;
            }
            break;
        }
        if (cap >= MANIFESTS_MAX) {
            /* more than a manifest stream could sensibly be */
            free(buf);
            buf = NULL;
            errno = EFBIG;
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (f != stdin)
        fclose(f);
    if (buf) {
        /* NUL-terminate: inputs are passed on as a C string */
        char *nb = realloc(buf, n + 1);
        if (!nb) {
            free(buf);
            return NULL;
        }
        buf = nb;
        buf[n] = '\0';
    }
    *len = n;
    return buf;
}

/* Value of a flag given as "--flag value" or "--flag=value". */
static const char *flag_value(int argc, char **argv, int *i, const char *shortf, const char *longf)
{
    const char *a = argv[*i];
    size_t ll = strlen(longf);
    if (!strncmp(a, longf, ll) && a[ll] == '=')
        return a + ll + 1;
    if ((shortf && !strcmp(a, shortf)) || !strcmp(a, longf)) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "vcluster translate: %s needs a value\n", a);
            return (const char *)-1;
        }
        return argv[++*i];
    }
    return NULL;
}

int cmd_translate(int argc, char **argv)
{
    vc_translate_options opts;
    vc_translate_options_init(&opts, VC_TRANSLATE_OPTIONS_VERSION);
    const char *file = NULL, *output = "yaml", *inputs_file = NULL;
    int strict = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
#define FLAG(s, l, dst)                                                                                      \
    if ((v = flag_value(argc, argv, &i, s, l))) {                                                            \
        if (v == (const char *)-1)                                                                           \
            return CLI_USAGE;                                                                                \
        (dst) = v;                                                                                           \
        continue;                                                                                            \
    }
        FLAG("-f", "--filename", file)
        FLAG(NULL, "--name", opts.name)
        FLAG(NULL, "--host-namespace", opts.host_namespace)
        FLAG("-o", "--output", output)
        FLAG(NULL, "--cluster-domain", opts.cluster_domain)
        FLAG(NULL, "--kube-ip", opts.kube_ip)
        FLAG(NULL, "--dns-ip", opts.dns_ip)
        FLAG(NULL, "--owner-uid", opts.owner_uid)
        FLAG(NULL, "--inputs", inputs_file)
#undef FLAG
        if ((v = flag_value(argc, argv, &i, NULL, "--sync"))) {
            if (v == (const char *)-1 || parse_sync(v, &opts.sync_to_host) < 0)
                return CLI_USAGE;
            continue;
        }
        if (argv[i] && !strcmp(argv[i], "--strict")) {
            strict = 1;
            continue;
        }
        fprintf(stderr, "vcluster translate: unknown flag \"%s\" (see --help)\n", argv[i]);
        return CLI_USAGE;
    }
    if (!file || !opts.name) {
        fprintf(stderr, "vcluster translate: -f FILE and --name VC are required (see --help)\n");
        return CLI_USAGE;
    }
    uint32_t flags = VC_TRANSLATE_APPLY_DEFAULTS | (strict ? 0 : VC_TRANSLATE_PREVIEW);
    if (!strcmp(output, "json"))
        flags |= VC_TRANSLATE_OUTPUT_JSON;
    else if (strcmp(output, "yaml") != 0) {
        fprintf(stderr, "vcluster translate: -o: want yaml or json, got \"%s\"\n", output);
        return CLI_USAGE;
    }
    size_t len = 0;
    errno = 0;
    char *text = read_all(file, &len);
    if (!text) {
        if (errno == EFBIG)
            fprintf(stderr, "vcluster translate: %.200s: larger than %u MiB, the limit for manifests\n", file,
                    MANIFESTS_MAX >> 20);
        else
            fprintf(stderr, "vcluster translate: cannot read %.200s: %s\n", file, strerror(errno ? errno : EIO));
        return CLI_FAILED;
    }
    char *inputs = NULL;
    if (inputs_file) {
        size_t ilen = 0;
        if (!(inputs = read_all(inputs_file, &ilen))) {
            fprintf(stderr, "vcluster translate: cannot read %s\n", inputs_file);
            free(text);
            return CLI_FAILED;
        }
    }
    vc_translator *t = NULL;
    if (vc_translator_new(&t, &opts) < 0) {
        free(inputs);
        free(text);
        cli_report("translate");
        return CLI_USAGE;
    }
    vc_buf out = VC_BUF_INIT, notes = VC_BUF_INIT;
    int rc = vc_translate_manifests(&out, &notes, t, text, len, strcmp(file, "-") ? file : "<stdin>", inputs, flags);
    int status = CLI_OK;
    if (rc < 0) {
        cli_report(NULL);
        status = CLI_FAILED;
    } else {
        fwrite(out.ptr, 1, out.size, stdout);
        for (char *line = notes.ptr; line && *line;) {
            char *nl = strchr(line, '\n');
            fprintf(stderr, "vcluster translate: %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
            line = nl ? nl + 1 : NULL;
        }
    }
    vc_buf_dispose(&out);
    vc_buf_dispose(&notes);
    vc_translator_free(t);
    free(inputs);
    free(text);
    return status;
}
