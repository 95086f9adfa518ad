/* `vcluster-syncer lb` (lb.c): the TCP balancer in front of the local
 * driver's API server replicas. */
#ifndef VCLUSTER_SYNCER_LB_H
#define VCLUSTER_SYNCER_LB_H
int lb_main(int argc, char **argv);
#endif
