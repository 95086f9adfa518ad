/* libvcluster: every public module. */
#ifndef VCLUSTER_VCLUSTER_H
#define VCLUSTER_VCLUSTER_H
#include "common.h"
#include "version.h"
#include "kube.h"
#include "config.h"
#include "syncer.h"
#include "kubelet.h"
#include "lifecycle.h"
#include "translate.h"
#endif
