/* vcluster version */
#include <stdio.h>

#include <vcluster.h>

#include "cmd.h"

void cmd_version_help(FILE *to)
{
    fprintf(to, "Print the vcluster CLI and libvcluster versions.\n\nUsage:\n  vcluster version\n");
}

int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "vcluster version: takes no arguments\n");
        return CLI_USAGE;
    }
    const char *lib = NULL;
    vc_version(&lib);
    printf("vcluster %s (libvcluster %s)\n", VC_VERSION_STRING, lib);
    return CLI_OK;
}
