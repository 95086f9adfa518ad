/* vcluster: the command-line front end of libvcluster.
 *
 *   vcluster <command> [flags]     run a command
 *   vcluster <command> --help      help for one command
 *   vcluster --help                list the commands
 *
 * New commands (create, connect, list, pause, resume, delete) are one file
 * each, cmd_<name>.c, plus one line in k_commands below. */
#include <stdio.h>
#include <string.h>

#include <vcluster.h>

#include "cmd.h"

static const cli_command k_commands[] = {
    { "create", "create a virtual cluster (and connect to it)", cmd_create, cmd_create_help },
    { "connect", "point kubectl at a virtual cluster", cmd_connect, cmd_connect_help },
    { "disconnect", "switch kubectl back to the host context", cmd_disconnect, cmd_disconnect_help },
    { "list", "list virtual clusters", cmd_list, cmd_list_help },
    { "pause", "stop a virtual cluster and its host workloads, keeping its data", cmd_pause, cmd_pause_help },
    { "resume", "start a paused virtual cluster again", cmd_resume, cmd_resume_help },
    { "delete", "delete a virtual cluster and what it created on the host", cmd_delete, cmd_delete_help },
    { "completion", "print a bash completion script", cmd_completion, cmd_completion_help },
    { "translate", "show what the host cluster receives for virtual manifests", cmd_translate, cmd_translate_help },
    { "version", "print the vcluster and libvcluster versions", cmd_version, cmd_version_help },
};

#define N_COMMANDS (sizeof k_commands / sizeof k_commands[0])

static void usage(FILE *to)
{
    fprintf(to, "vcluster: virtual Kubernetes clusters\n\n"
                "Usage:\n  vcluster <command> [flags]\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(to, "  %-10s %s\n", k_commands[i].name, k_commands[i].summary);
    fprintf(to, "\nRun 'vcluster <command> --help' for a command's flags.\n");
}

int cli_is_help(const char *arg)
{
    return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

void cli_report(const char *what)
{
    const vc_error *e = vc_error_last();
    if (what && *what)
        fprintf(stderr, "vcluster: %s: %s\n", what, e->message[0] ? e->message : vc_strerror(e->code));
    else
        fprintf(stderr, "%s\n", e->message[0] ? e->message : vc_strerror(e->code));
}

int main(int argc, char **argv)
{
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
    static const char *const aliases[][2] = { { "ls", "list" }, { "rm", "delete" }, { "sleep", "pause" } };
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
        for (int a = 2; a < argc; a++)
            if (cli_is_help(argv[a])) {
                k_commands[i].help(stdout);
                return CLI_OK;
            }
        if (vc_global_init(NULL) < 0) {
            cli_report("init");
            return CLI_FAILED;
        }
        int rc = k_commands[i].run(argc - 1, argv + 1);
        vc_global_shutdown();
        return rc;
    }
    fprintf(stderr, "vcluster: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
