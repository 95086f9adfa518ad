/* `vcluster-syncer certs` (certs.c): the init container of key-free manifests. */
#ifndef VCLUSTER_SYNCER_CERTS_H
#define VCLUSTER_SYNCER_CERTS_H
int certs_main(int argc, char **argv);
#endif
