/* libvcluster umbrella header: includes every public module. */
#ifndef VCLUSTER_H
#define VCLUSTER_H
#include "vcluster/vcluster.h"
#endif
