/* The vcluster CLI: one file per command (cmd_<name>.c), dispatched by main.c.
 * Commands use only the public API (<vcluster.h>). */
#ifndef VCLUSTER_CLI_CMD_H
#define VCLUSTER_CLI_CMD_H

#include <stdio.h>

typedef struct cli_command {
    const char *name;
    const char *summary;
    /* argv[0] is the command name; returns the process exit status. */
    int (*run)(int argc, char **argv);
    void (*help)(FILE *to);
} cli_command;

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

/* Print "vcluster: <what>: <message of vc_error_last()>" to stderr. */
void cli_report(const char *what);
/* True when argv[i] is -h or --help. */
int cli_is_help(const char *arg);

#endif
