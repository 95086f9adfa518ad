/* vcluster: the command-line front end of libvcluster.
 *
 *   vcluster [global flags] <command> [flags]   run a command
 *   vcluster <command> --help                   help for one command
 *   vcluster --help                             list the commands
 *
 * Global flags (upstream's): --debug, -s/--silent, --log-output
 * plain|raw|json, --context, -n/--namespace; they may come before or after
 * the command, as with upstream's CLI. New commands are a function pair in
 * a cmd_*.c file plus one line in k_commands below. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vcluster.h>

#include "cmd.h"

cli_globals g_cli = { false, false, CLI_LOG_PLAIN };

static const cli_command k_commands[] = {
    { "create", "create a virtual cluster (and connect to it)", cmd_create, cmd_create_help },
    { "connect", "point kubectl at a virtual cluster", cmd_connect, cmd_connect_help },
    { "disconnect", "switch kubectl back to the host context", cmd_disconnect, cmd_disconnect_help },
    { "list", "list virtual clusters (alias ls)", cmd_list, cmd_list_help },
    { "describe", "show a virtual cluster: status, version, backing store, images, values", cmd_describe,
      cmd_describe_help },
    { "pause", "stop a virtual cluster, keeping its data (alias sleep)", cmd_pause, cmd_pause_help },
    { "resume", "start a paused virtual cluster again (alias wakeup)", cmd_resume, cmd_resume_help },
    { "delete", "delete a virtual cluster and what it made on the host (alias rm)", cmd_delete, cmd_delete_help },
    { "render", "print the host manifests create would apply, changing nothing", cmd_render, cmd_render_help },
    { "completion", "print a completion script for bash, zsh or fish", cmd_completion, cmd_completion_help },
    { "translate", "show what the host cluster receives for virtual manifests", cmd_translate, cmd_translate_help },
    { "version", "print the vcluster and libvcluster versions", cmd_version, cmd_version_help },
};

#define N_COMMANDS (sizeof k_commands / sizeof k_commands[0])

const char *const cli_global_help =
    "Global flags:\n"
    "      --debug              print the library's debug log (and more detail on errors)\n"
    "  -s, --silent             print nothing but errors (and the requested output)\n"
    "      --log-output FORMAT  plain (default), raw (no colours, no redrawn lines) or json\n"
    "                           (one JSON object per line on stderr)\n"
    "      --context CTX        context of the host kubeconfig\n"
    "  -n, --namespace NS       host namespace\n";

static void usage(FILE *to)
{
    fprintf(to, "vcluster: virtual Kubernetes clusters\n\n"
                "Usage:\n  vcluster [global flags] <command> [flags]\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(to, "  %-10s %s\n", k_commands[i].name, k_commands[i].summary);
    fprintf(to, "\n%s\nRun 'vcluster <command> --help' for a command's flags.\n", cli_global_help);
}

int cli_is_help(const char *arg)
{
    return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

int cli_parse_bool(const char *flag, const char *arg, bool *out)
{
    if (!arg) {
        *out = true;
        return 0;
    }
    static const char *const yes[] = { "true", "True", "TRUE", "t", "T", "1" };
    static const char *const no[] = { "false", "False", "FALSE", "f", "F", "0" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!strcmp(arg, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcmp(arg, no[i])) {
            *out = false;
            return 0;
        }
    }
    fprintf(stderr, "vcluster: --%s=%.40s: expected true or false\n", flag, arg);
    return -1;
}

/* One log line on stderr: plain/raw as text, json as an object per line
 * {"level":..., "time":RFC 3339, "msg":...}. */
static void emit(const char *level, const char *msg)
{
    if (g_cli.log_output == CLI_LOG_JSON) {
        char ts[40];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(stderr, "{\"level\":\"%s\",\"time\":\"%s\",\"msg\":", level, ts);
        size_t n = strlen(msg);
        while (n && msg[n - 1] == '\n')
            n--;
        fputc('"', stderr);
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)msg[i];
            if (ch == '"' || ch == '\\')
                fprintf(stderr, "\\%c", ch);
            else if (ch == '\n')
                fputs("\\n", stderr);
            else if (ch < 0x20)
                fprintf(stderr, "\\u%04x", ch);
            else
                fputc(ch, stderr);
        }
        fputs("\"}\n", stderr);
    } else {
        size_t n = strlen(msg);
        fprintf(stderr, "%s%s", msg, n && msg[n - 1] == '\n' ? "" : "\n");
    }
    fflush(stderr);
}

__attribute__((format(printf, 3, 0))) static void vlog(const char *level, bool quiet_in_silent, const char *fmt,
                                                        va_list ap)
{
    if (quiet_in_silent && g_cli.silent)
        return;
    char buf[4096];
    vsnprintf(buf, sizeof buf, fmt, ap);
    emit(level, buf);
}

void cli_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("info", true, fmt, ap);
    va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("warn", true, fmt, ap);
    va_end(ap);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("error", false, fmt, ap);
    va_end(ap);
}

void cli_report(const char *what)
{
    const vc_error *e = vc_error_last();
    const char *m = e->message[0] ? e->message : vc_strerror(e->code);
    if (what && *what)
        cli_error("vcluster: %s: %s", what, m);
    else
        cli_error("%s", m);
    if (g_cli.debug)
        cli_error("  (status %d %s, HTTP %d)", e->code, vc_strerror(e->code), e->http_status);
}

/* --debug: the library's log, on stderr */
static void on_log(int level, const char *subsystem, const char *msg, void *ud)
{
    (void)ud;
    static const char *const names[] = { "", "error", "warn", "info", "debug", "trace" };
    char buf[4096];
    snprintf(buf, sizeof buf, "[%s] %s", subsystem ? subsystem : "", msg ? msg : "");
    emit(level >= 1 && level <= 5 ? names[level] : "debug", buf);
}

/* Take the global-only flags (--debug, -s/--silent, --log-output) out of
 * argv wherever they are (before "--"), and move the command name to
 * argv[1] when global flags that commands also take (--context, -n,
 * --namespace, --kubeconfig) come before it. Returns -1 on a bad value. */
static int take_globals(int *argc, char **argv)
{
    int out = 1;
    bool dash = false;
    for (int i = 1; i < *argc; i++) {
        char *a = argv[i];
        if (dash || !strcmp(a, "--")) {
            dash = true;
            argv[out++] = a;
            continue;
        }
        if (!strcmp(a, "--debug") || !strncmp(a, "--debug=", 8)) {
            if (cli_parse_bool("debug", a[7] ? a + 8 : NULL, &g_cli.debug) < 0)
                return -1;
        } else if (!strcmp(a, "-s") || !strcmp(a, "--silent") || !strncmp(a, "--silent=", 9)) {
            if (cli_parse_bool("silent", !strncmp(a, "--silent=", 9) ? a + 9 : NULL, &g_cli.silent) < 0)
                return -1;
        } else if (!strcmp(a, "--log-output") || !strncmp(a, "--log-output=", 13)) {
            const char *v = a[12] ? a + 13 : (i + 1 < *argc ? argv[++i] : "");
            if (!strcmp(v, "plain"))
                g_cli.log_output = CLI_LOG_PLAIN;
            else if (!strcmp(v, "raw"))
                g_cli.log_output = CLI_LOG_RAW;
            else if (!strcmp(v, "json"))
                g_cli.log_output = CLI_LOG_JSON;
            else {
                fprintf(stderr, "vcluster: --log-output %.40s: use plain, raw or json\n", v);
                return -1;
            }
        } else {
            argv[out++] = a;
        }
    }
    *argc = out;
    argv[out] = NULL;
    /* the command: the first word that is not a flag or a flag's value */
    static const char *const with_value[] = { "--context", "--namespace", "-n", "--kubeconfig" };
    int cmd = 1;
    while (cmd < *argc && argv[cmd][0] == '-' && strcmp(argv[cmd], "--") != 0) {
        bool takes = false;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
            if (!strcmp(argv[cmd], with_value[k]))
                takes = true;
        if (cli_is_help(argv[cmd]) || !strcmp(argv[cmd], "--version"))
            return 0;
        cmd += takes ? 2 : 1;
    }
    if (cmd > 1 && cmd < *argc) {
        char *name = argv[cmd];
        memmove(argv + 2, argv + 1, (size_t)(cmd - 1) * sizeof(char *));
        argv[1] = name;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (take_globals(&argc, argv) < 0)
        return CLI_USAGE;
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (cli_is_help(argv[1]) || !strcmp(argv[1], "help")) {
        if (argc > 2) {
            for (size_t i = 0; i < N_COMMANDS; i++)
                if (!strcmp(argv[2], k_commands[i].name)) {
                    k_commands[i].help(stdout);
                    return CLI_OK;
                }
        }
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version"))
        return cmd_version(1, argv + 1);
    /* upstream's aliases */
    static const char *const aliases[][2] = {
        { "ls", "list" }, { "rm", "delete" }, { "sleep", "pause" }, { "wakeup", "resume" }
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(argv[1], aliases[i][0]))
            argv[1] = (char *)aliases[i][1];
    if (!strcmp(argv[1], "port-forward")) {
        /* hidden: the forwarder `vcluster connect` starts */
        for (int a = 2; a < argc; a++)
            if (cli_is_help(argv[a])) {
                cmd_port_forward_help(stdout);
                return CLI_OK;
            }
        if (vc_global_init(NULL) < 0) {
            cli_report("init");
            return CLI_FAILED;
        }
        int rc = cmd_port_forward(argc - 1, argv + 1);
        vc_global_shutdown();
        return rc;
    }
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[1], k_commands[i].name) != 0)
            continue;
        for (int a = 2; a < argc && strcmp(argv[a], "--") != 0; a++)
            if (cli_is_help(argv[a])) {
                k_commands[i].help(stdout);
                return CLI_OK;
            }
        if (vc_global_init(NULL) < 0) {
            cli_report("init");
            return CLI_FAILED;
        }
        if (g_cli.debug)
            vc_log_set(VC_LOG_DEBUG, on_log, NULL);
        int rc = k_commands[i].run(argc - 1, argv + 1);
        vc_log_set(0, NULL, NULL);
        vc_global_shutdown();
        return rc;
    }
    fprintf(stderr, "vcluster: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
