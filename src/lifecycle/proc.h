/* Local processes, ports and files for the local driver. */
#ifndef VC_LIFECYCLE_PROC_H
#define VC_LIFECYCLE_PROC_H

#include <sys/types.h>

#include "util/util.h"

/* Start argv[0] detached (own session), stdin /dev/null, stdout+stderr
 * appended to log_path. */
int vc__proc_spawn(pid_t *out, char *const argv[], const char *log_path);
/* Same, with env_add (NAME=value, NULL-terminated) added to the
 * environment: for secrets that must not show in /proc/PID/cmdline. */
int vc__proc_spawn_env(pid_t *out, char *const argv[], char *const env_add[], const char *log_path);
/* True when pid runs and its argv[0] basename is exe_name (NULL: any). */
bool vc__proc_alive(pid_t pid, const char *exe_name);
/* Same, and its arguments contain arg_substring (NULL: no check), or its
 * environment has VC_LOCAL_STATE=<value containing arg_substring>. */
bool vc__proc_alive_with(pid_t pid, const char *exe_name, const char *arg_substring);
/* SIGTERM, wait up to timeout_ms, then SIGKILL; only if alive_with().
 * While waiting, tick(tick_ud) runs every 50 ms (tick may be NULL); when it
 * returns non-zero the wait for SIGTERM ends at once and SIGKILL follows, so
 * a cancelled caller still leaves the process stopped. */
int vc__proc_stop(pid_t pid, const char *exe_name, const char *arg_substring, int timeout_ms,
                  int (*tick)(void *), void *tick_ud);
/* A currently free 127.0.0.1 TCP port below the ephemeral range (so no
 * outgoing connection takes it before it is listened on), or -1. */
int vc__free_port(void);
bool vc__port_free(int port);
int vc__rm_rf(const char *path);
int vc__mkdir_p(const char *path, int mode);
/* dir/name if executable; with dir NULL, search PATH. Caller frees. */
char *vc__find_exe(const char *dir, const char *name);

/* ---- backing-store endpoints (endpoint.c) ---- */
/* ep with the password of its userinfo replaced by *** (caller frees). */
char *vc__endpoint_mask(const char *ep);
/* VC_OK when the store at `endpoint` accepts a TCP (or unix) connection
 * within timeout_ms, or when its form names no address to check; else
 * VC_ECONNECT naming the endpoint (masked) and the config key. etcd: a
 * comma-separated list of [http(s)://]host[:port], any member will do;
 * else a kine dataSource (mysql://, postgres://). */
int vc__endpoint_check(const char *endpoint, bool etcd, const char *key, int timeout_ms);

#endif
