/* pause: the sandbox process of a pod (containerd's sandbox image).
 *
 * It holds the pod's namespaces open and does nothing else: it sleeps until
 * SIGINT or SIGTERM, then exits 0. As PID 1 of a shared PID namespace it is
 * the parent of orphans, so it reaps every child that exits (SIGCHLD).
 * Written for libvcluster's test harness; built with `gcc -static -Os` by
 * tests/cluster/images. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t child_exited;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_child(int sig)
{
    (void)sig;
    child_exited = 1;
}

static void reap(void)
{
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

int main(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
        puts("pause (libvcluster test harness) 1.0");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "usage: %s [-v|--version]\n", argv[0]);
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        return 1;
    sa.sa_handler = on_child;
    sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    if (sigaction(SIGCHLD, &sa, NULL) < 0)
        return 1;

    /* The three signals are blocked except inside sigsuspend(), so none can
     * slip in between the checks and the sleep. */
    sigset_t block, wait_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &block, &wait_mask) < 0)
        return 1;
    sigdelset(&wait_mask, SIGINT);
    sigdelset(&wait_mask, SIGTERM);
    sigdelset(&wait_mask, SIGCHLD);

    if (getpid() != 1)
        fprintf(stderr, "pause: not running as PID 1; orphans will not be reaped here\n");

    reap(); /* children inherited before the handler was in place */
    while (!stop_requested) {
        sigsuspend(&wait_mask); /* the pause(): returns after a handler ran */
        if (child_exited) {
            child_exited = 0;
            reap();
        }
    }
    return 0;
}
