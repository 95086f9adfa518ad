/* The vcluster CLI: one file per command (cmd_<name>.c), dispatched by main.c.
 * Commands use only the public API (<vcluster.h>). */
#ifndef VCLUSTER_CLI_CMD_H
#define VCLUSTER_CLI_CMD_H

#include <stdbool.h>
#include <stdio.h>

typedef struct cli_command {
    const char *name;
    const char *summary;
    /* argv[0] is the command name; returns the process exit status. */
    int (*run)(int argc, char **argv);
    void (*help)(FILE *to);
} cli_command;

/* Global flags (main.c parses them wherever they stand). */
enum { CLI_LOG_PLAIN, CLI_LOG_RAW, CLI_LOG_JSON };
typedef struct cli_globals {
    bool debug;     /* --debug: the library's log on stderr, error codes */
    bool silent;    /* -s/--silent: only errors and requested output */
    int log_output; /* --log-output: CLI_LOG_* */
} cli_globals;
extern cli_globals g_cli;
extern const char *const cli_global_help;

/* Messages on stderr through --log-output; info and warn are dropped by
 * --silent, errors never. */
void cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A boolean flag's value as cobra reads it (--flag, --flag=true|false|1|0|t|f):
 * 0, or -1 with the message printed. `arg` NULL means true. */
int cli_parse_bool(const char *flag, const char *arg, bool *out);

/* Exit statuses. */
#define CLI_OK 0
#define CLI_FAILED 1 /* the operation failed (bad input, API error) */
#define CLI_USAGE 2  /* bad command line */

int cmd_version(int argc, char **argv);
void cmd_version_help(FILE *to);
int cmd_translate(int argc, char **argv);
void cmd_translate_help(FILE *to);

int cmd_create(int argc, char **argv);
void cmd_create_help(FILE *to);
int cmd_connect(int argc, char **argv);
void cmd_connect_help(FILE *to);
int cmd_disconnect(int argc, char **argv);
void cmd_disconnect_help(FILE *to);
int cmd_list(int argc, char **argv);
void cmd_list_help(FILE *to);
int cmd_pause(int argc, char **argv);
void cmd_pause_help(FILE *to);
int cmd_resume(int argc, char **argv);
void cmd_resume_help(FILE *to);
int cmd_delete(int argc, char **argv);
void cmd_delete_help(FILE *to);
int cmd_completion(int argc, char **argv);
void cmd_completion_help(FILE *to);
int cmd_describe(int argc, char **argv);
void cmd_describe_help(FILE *to);
int cmd_render(int argc, char **argv);
void cmd_render_help(FILE *to);

/* The hidden `vcluster port-forward` (cmd_portforward.c) and the helpers
 * connect, disconnect and delete use to run and find it. */
int cmd_port_forward(int argc, char **argv);
void cmd_port_forward_help(FILE *to);

typedef struct cli_pf_spec {
    const char *kubeconfig, *context;   /* the host cluster (NULL: defaults) */
    const char *name, *ns;              /* the virtual cluster and its host namespace */
    const char *pod;                    /* NULL: a Ready control plane pod per connection */
    const char *address;                /* local address to listen on */
    int local_port;                     /* 0: a free one */
    int remote_port;                    /* 0: the pod's API server port (8443) */
    int own_group;                      /* stop the connections in flight on exit (process group leader) */
} cli_pf_spec;

typedef struct cli_pf_record {
    int pid, port;
    char address[256], name[128];
} cli_pf_record;

/* Listen and forward until SIGTERM/SIGINT; the port goes to ready_fd (>= 0). */
int cli_pf_serve(const cli_pf_spec *s, int ready_fd);
/* The live forwarder recorded for kube context `context`: 0, else -1. */
int cli_pf_lookup(const char *context, cli_pf_record *out);
/* Start one detached and record it under `context`: 0 with *out_port, else -1 (reported). */
int cli_pf_start_background(const cli_pf_spec *s, const char *context, int *out_port);
/* Stop the forwarder recorded for `context` and forget it: 1 stopped, 0 none. */
int cli_pf_stop(const char *context);
/* A forwarder as our child (for connect NAME -- COMMAND), stopped with cli_pf_stop_child. */
int cli_pf_start_child(const cli_pf_spec *s, int *out_pid, int *out_port);
void cli_pf_stop_child(int pid);

/* Print "vcluster: <what>: <message of vc_error_last()>" to stderr. */
void cli_report(const char *what);
/* True when argv[i] is -h or --help. */
int cli_is_help(const char *arg);

#endif
