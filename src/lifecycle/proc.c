/* Local processes of the local driver: spawn detached (own session, logs to
 * files), check, stop by pid; free loopback ports; recursive removal. */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle/proc.h"

extern char **environ;

int vc__proc_spawn(pid_t *out, char *const argv[], const char *log_path)
{
    return vc__proc_spawn_env(out, argv, NULL, log_path);
}

/* environ plus `add` (NAME=value entries, NULL-terminated): a new array of
 * borrowed pointers, entries of `add` replacing those of the same name */
static char **merged_env(char *const add[])
{
    size_t n = 0, k = 0;
    while (environ && environ[n])
        n++;
    while (add && add[k])
        k++;
    char **e = vc__calloc(n + k + 1, sizeof *e);
    if (!e)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t j = 0; j < k && !replaced; j++) {
            const char *eq = strchr(add[j], '=');
            size_t nl = eq ? (size_t)(eq - add[j]) + 1 : strlen(add[j]);
            replaced = strlen(environ[i]) >= nl && memcmp(environ[i], add[j], nl) == 0;
        }
        if (!replaced)
            e[o++] = environ[i];
    }
    for (size_t j = 0; j < k; j++)
        e[o++] = add[j];
    return e;
}

int vc__proc_spawn_env(pid_t *out, char *const argv[], char *const env_add[], const char *log_path)
{
    *out = -1;
    char **env = env_add ? merged_env(env_add) : NULL;
    if (env_add && !env)
        return vc__error_oom();
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0) {
        vc__free(env);
        return vc__error(VC_EIO, VC_ERRCLASS_OS, "%s: %s", log_path, strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, logfd, 1);
    posix_spawn_file_actions_adddup2(&fa, logfd, 2);
    /* a session of its own: it outlives the program that created it */
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    pid_t pid;
    int e = posix_spawn(&pid, argv[0], &fa, &at, argv, env ? env : environ);
    vc__free(env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(logfd);
    if (e != 0)
        return vc__error(VC_EIO, VC_ERRCLASS_OS, "cannot start %s: %s", argv[0], strerror(e));
    *out = pid;
    /* until the child has exec'd, /proc/PID/cmdline still shows our own
     * command line: wait for it, so later liveness checks are meaningful */
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    for (int i = 0; i < 400; i++) {
        if (vc__proc_alive_with(pid, base, NULL))
            break;
        if (kill(pid, 0) < 0 && errno == ESRCH)
            break; /* it is gone already: the caller's checks report it */
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            /* exited (e.g. exec failed); keep the status for nobody */
            break;
        }
        vc__sleep_ms(5);
    }
    return VC_OK;
}

/* Reap our own child if it exited (no-op for other processes). */
static void reap(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, WNOHANG) < 0 && errno == EINTR) {
    }
}

bool vc__proc_alive(pid_t pid, const char *exe_name)
{
    return vc__proc_alive_with(pid, exe_name, NULL);
}

bool vc__proc_alive_with(pid_t pid, const char *exe_name, const char *arg_substring)
{
    if (pid <= 0)
        return false;
    reap(pid);
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return false;
    if (!exe_name)
        return true;
    /* guard against pid reuse: the command line must name the binary */
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* argv[0] is the first NUL-terminated string */
    const char *base = strrchr(buf, '/');
    base = base ? base + 1 : buf;
    /* zombies have an empty cmdline */
    if (n == 0 || strcmp(base, exe_name) != 0)
        return false;
    if (!arg_substring)
        return true;
    /* pids are reused quickly (pid_max can be 32768): the arguments must
     * name our state directory too */
    for (size_t i = 0; i < n; i++)
        if (!buf[i])
            buf[i] = ' ';
    if (strstr(buf, arg_substring))
        return true;
    /* or its environment (a process whose arguments cannot name it, e.g.
     * kine with its endpoint in KINE_ENDPOINT, gets VC_LOCAL_STATE=<dir>) */
    snprintf(path, sizeof path, "/proc/%ld/environ", (long)pid);
    f = fopen(path, "r");
    if (!f)
        return false;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (size_t i = 0; i + 15 < n; i += strlen(buf + i) + 1)
        if (!strncmp(buf + i, "VC_LOCAL_STATE=", 15) && strstr(buf + i + 15, arg_substring))
            return true;
    return false;
}

/* A process whose command line reads empty is exiting (its memory is gone)
 * or a zombie: wait, bounded, until it is reaped (ours) or a zombie (not
 * ours), so that "stopped" means no process of that pid is left running. A
 * pid reused by another process does not wait. */
static void wait_exited(pid_t pid)
{
    for (int i = 0; i < 100; i++) {
        reap(pid);
        if (kill(pid, 0) < 0 && errno == ESRCH)
            return;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
        FILE *f = fopen(path, "r");
        if (!f)
            return;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *rp = strrchr(buf, ')');
        if (!rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X')
            return;
        snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
        f = fopen(path, "r");
        if (!f)
            return;
        n = fread(buf, 1, 1, f);
        fclose(f);
        if (n != 0)
            return; /* a live process with a command line: not ours any more */
        vc__sleep_ms(20);
    }
}

int vc__proc_stop(pid_t pid, const char *exe_name, const char *arg_substring, int timeout_ms,
                  int (*tick)(void *), void *tick_ud)
{
    if (!vc__proc_alive_with(pid, exe_name, arg_substring))
        return VC_OK;
    kill(pid, SIGTERM);
    int64_t end = vc__now_ms() + timeout_ms;
    while (vc__now_ms() < end) {
        if (!vc__proc_alive_with(pid, exe_name, arg_substring)) {
            wait_exited(pid);
            return VC_OK;
        }
        if (tick && tick(tick_ud) != 0)
            break;
        vc__sleep_ms(50);
    }
    kill(pid, SIGKILL);
    end = vc__now_ms() + 5000;
    while (vc__now_ms() < end) {
        if (!vc__proc_alive_with(pid, exe_name, arg_substring)) {
            wait_exited(pid);
            return VC_OK;
        }
        vc__sleep_ms(50);
    }
    return vc__error(VC_EIO, VC_ERRCLASS_OS, "%s (pid %ld) does not stop", exe_name, (long)pid);
}

/* The first port of the kernel's ephemeral range (outgoing connections take
 * their local port from it), or 32768. */
static int ephemeral_low(void)
{
    int lo = 32768, hi = 0;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
    if (f) {
        if (fscanf(f, "%d %d", &lo, &hi) != 2 || lo < 1024 || lo > 65535)
            lo = 32768;
        fclose(f);
    }
    return lo;
}

/* A port the kernel chose once is free now, but any outgoing connection
 * may take it as its local port before our component listens on it (a
 * syncer started seconds later then fails with EADDRINUSE). So ports are
 * drawn at random below the ephemeral range, where only listeners live,
 * and checked by binding; the kernel's own choice is the last resort. */
int vc__free_port(void)
{
    /* Each process starts at a random place and then walks on, so the
     * ports one caller picks in a row (before any is listened on) differ,
     * and two processes rarely meet. */
    static _Atomic unsigned next;
    unsigned base = atomic_load(&next);
    if (!base) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        unsigned r = ((unsigned)getpid() * 2654435761u) ^ (unsigned)ts.tv_nsec;
        atomic_compare_exchange_strong(&next, &base, r | 1u);
    }
    int hi = ephemeral_low() - 1, lo = 20000;
    if (hi - lo < 1000) {
        lo = 10000;
        hi = 19999;
    }
    for (int tries = 0; tries < 256; tries++) {
        unsigned n = atomic_fetch_add(&next, 1u);
        int port = lo + (int)(n % (unsigned)(hi - lo + 1));
        if (vc__port_free(port))
            return port;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

bool vc__port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int vc__rm_rf(const char *path)
{
    if (access(path, F_OK) != 0)
        return VC_OK;
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
        return vc__error(VC_EIO, VC_ERRCLASS_OS, "cannot remove %s: %s", path, strerror(errno));
    return VC_OK;
}

int vc__mkdir_p(const char *path, int mode)
{
    char *p = vc__strdup(path);
    if (!p)
        return vc__error_oom();
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
                int e = errno;
                vc__free(p);
                return vc__error(VC_EIO, VC_ERRCLASS_OS, "mkdir %s: %s", path, strerror(e));
            }
            *s = '/';
        }
    }
    int rc = VC_OK;
    if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
        rc = vc__error(VC_EIO, VC_ERRCLASS_OS, "mkdir %s: %s", path, strerror(errno));
    vc__free(p);
    return rc;
}

char *vc__find_exe(const char *dir, const char *name)
{
    if (dir && *dir) {
        char *p = vc__sprintf("%s/%s", dir, name);
        if (p && access(p, X_OK) == 0)
            return p;
        vc__free(p);
        return NULL;
    }
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    char *copy = vc__strdup(path), *save = NULL;
    char *found = NULL;
    for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d && !found; d = strtok_r(NULL, ":", &save)) {
        char *p = vc__sprintf("%s/%s", d, name);
        if (p && access(p, X_OK) == 0)
            found = p;
        else
            vc__free(p);
    }
    vc__free(copy);
    return found;
}
