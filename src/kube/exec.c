/* client.authentication.k8s.io exec credential plugins (ExecCredential). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kube/kube.h"

extern char **environ;

#define EXEC_TIMEOUT_MS 60000

void vc__exec_cred_clear(vc__exec_cred *c)
{
    vc__free(c->token);
    vc__free(c->cert);
    vc__free(c->key);
    memset(c, 0, sizeof(*c));
}

/* RFC 3339 -> epoch ms (UTC, "Z" or offset). 0 on failure. */
static int64_t parse_rfc3339(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return 0;
    while (*p == '.' || (*p >= '0' && *p <= '9'))
        p++;
    int64_t off = 0;
    if (*p == '+' || *p == '-') {
        int hh = 0, mm = 0;
        if (sscanf(p + 1, "%d:%d", &hh, &mm) >= 1)
            off = ((int64_t)hh * 60 + mm) * 60 * (*p == '+' ? 1 : -1);
    }
    return ((int64_t)timegm(&tm) - off) * 1000;
}

static char **build_env(const vc__exec_cfg *e, const vc__kube_cfg *cfg, char **info_out)
{
    size_t n = 0, m = 0;
    for (char **p = environ; p && *p; p++)
        n++;
    for (char **p = e->env; p && *p; p++)
        m++;
    char **env = vc__calloc(n + m + 2, sizeof(char *));
    if (!env)
        return NULL;
    size_t k = 0;
    for (char **p = environ; p && *p; p++)
        if (!vc__str_startswith(*p, "KUBERNETES_EXEC_INFO="))
            env[k++] = *p;
    for (char **p = e->env; p && *p; p++)
        env[k++] = *p;
    json_t *spec = json_pack("{s:b}", "interactive", 0);
    if (e->provide_cluster_info && spec) {
        json_t *cl = json_pack("{s:s}", "server", cfg->server ? cfg->server : "");
        if (cl && cfg->ca_data) {
            char *b = vc__base64_encode(cfg->ca_data, cfg->ca_len);
            if (b)
                json_object_set_new(cl, "certificate-authority-data", json_string(b));
            vc__free(b);
        }
        if (cl && cfg->insecure)
            json_object_set_new(cl, "insecure-skip-tls-verify", json_true());
        if (cl)
            json_object_set_new(spec, "cluster", cl);
    }
    json_t *info = json_pack("{s:s,s:s,s:o}", "apiVersion",
                             e->api_version ? e->api_version : "client.authentication.k8s.io/v1",
                             "kind", "ExecCredential", "spec", spec);
    char *txt = info ? json_dumps(info, JSON_COMPACT) : NULL;
    json_decref(info);
    *info_out = txt ? vc__sprintf("KUBERNETES_EXEC_INFO=%s", txt) : NULL;
    vc__free(txt);
    if (*info_out)
        env[k++] = *info_out;
    env[k] = NULL;
    return env;
}

/* A running plugin: its pipes are non-blocking, so a loop can poll them
 * with its other fds and read what arrived without waiting. */
struct vc__exec_job {
    char *command;          /* for messages */
    pid_t pid;              /* -1 once reaped */
    int fd[2];              /* stdout, stderr; -1 once at EOF */
    vc_buf out[2];
    int64_t deadline;       /* monotonic ms */
    int status;
};

int vc__exec_start(vc__exec_job **out, const vc__exec_cfg *e, const vc__kube_cfg *cfg)
{
    *out = NULL;
    vc__exec_job *j = vc__calloc(1, sizeof(*j));
    if (!j)
        return vc__error_oom();
    j->pid = -1;
    j->fd[0] = j->fd[1] = -1;
    j->command = vc__strdup(e->command);
    if (!j->command) {
        vc__free(j);
        return vc__error_oom();
    }
    int pout[2], perr[2];
    if (pipe2(pout, O_CLOEXEC) < 0) {
        vc__exec_job_free(j);
        return vc__error(VC_EIO, VC_ERRCLASS_OS, "exec plugin %s: pipe: %s", e->command, strerror(errno));
    }
    if (pipe2(perr, O_CLOEXEC) < 0) {
        close(pout[0]);
        close(pout[1]);
        vc__exec_job_free(j);
        return vc__error(VC_EIO, VC_ERRCLASS_OS, "exec plugin %s: pipe: %s", e->command, strerror(errno));
    }
    j->fd[0] = pout[0];
    j->fd[1] = perr[0];
    /* only our ends: the plugin writes to blocking pipes */
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(j->fd[i], F_GETFL);
        if (fl >= 0)
            fcntl(j->fd[i], F_SETFL, fl | O_NONBLOCK);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
    posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
    size_t na = 0;
    for (char **p = e->args; p && *p; p++)
        na++;
    char **argv = vc__calloc(na + 2, sizeof(char *));
    char *info = NULL;
    char **envp = build_env(e, cfg, &info);
    int rc = VC_OK;
    if (!argv || !envp) {
        rc = vc__error_oom();
        goto done_spawn;
    }
    argv[0] = e->command;
    for (size_t i = 0; i < na; i++)
        argv[i + 1] = e->args[i];
    int se = strchr(e->command, '/') ? posix_spawn(&j->pid, e->command, &fa, NULL, argv, envp)
                                     : posix_spawnp(&j->pid, e->command, &fa, NULL, argv, envp);
    if (se != 0) {
        rc = vc__error(VC_EAUTH, VC_ERRCLASS_KUBECONFIG, "exec plugin \"%s\" cannot be started: %s%s%s",
                       e->command, strerror(se), e->install_hint ? "; " : "",
                       e->install_hint ? e->install_hint : "");
        j->pid = -1;
    }
done_spawn:
    posix_spawn_file_actions_destroy(&fa);
    close(pout[1]);
    close(perr[1]);
    vc__free(argv);
    vc__free(envp);
    vc__free(info);
    if (rc < 0) {
        vc__error_saved sv;
        vc__error_save(&sv);
        vc__exec_job_free(j);
        vc__error_restore(&sv);
        return rc;
    }
    j->deadline = vc__now_ms() + EXEC_TIMEOUT_MS;
    *out = j;
    return VC_OK;
}

int vc__exec_fd(const vc__exec_job *j, int i)
{
    return j->fd[i];
}

int64_t vc__exec_deadline(const vc__exec_job *j)
{
    return j->deadline;
}

static void close_fd(vc__exec_job *j, int i)
{
    if (j->fd[i] >= 0)
        close(j->fd[i]);
    j->fd[i] = -1;
}

/* The plugin's stdout, parsed. */
static int parse_cred(vc__exec_job *j, vc__exec_cred *out)
{
    int rc = VC_OK;
    const vc_buf *so = &j->out[0];
    json_error_t je;
    json_t *cred = json_loadb(so->ptr ? so->ptr : "", so->size, 0, &je);
    json_t *st = json_object_get(cred, "status");
    const char *kind = json_string_value(json_object_get(cred, "kind"));
    if (!cred || !json_is_object(st) || !vc__streq(kind, "ExecCredential")) {
        rc = vc__error(VC_EAUTH, VC_ERRCLASS_KUBECONFIG, "exec plugin \"%s\" printed no ExecCredential with a status (%s)",
                       j->command, cred ? "missing kind/status" : je.text);
    } else {
        const char *tok = json_string_value(json_object_get(st, "token"));
        const char *crt = json_string_value(json_object_get(st, "clientCertificateData"));
        const char *key = json_string_value(json_object_get(st, "clientKeyData"));
        const char *exp = json_string_value(json_object_get(st, "expirationTimestamp"));
        if (tok && *tok && !(out->token = vc__strdup(tok)))
            rc = vc__error_oom();
        if (rc == VC_OK && crt && key) {
            out->cert = (unsigned char *)vc__strdup(crt);
            out->cert_len = strlen(crt);
            out->key = (unsigned char *)vc__strdup(key);
            out->key_len = strlen(key);
            if (!out->cert || !out->key)
                rc = vc__error_oom();
        }
        if (exp)
            out->expires_ms = parse_rfc3339(exp);
        if (rc == VC_OK && !out->token && !out->cert)
            rc = vc__error(VC_EAUTH, VC_ERRCLASS_KUBECONFIG,
                           "exec plugin \"%s\" returned neither a token nor a client certificate", j->command);
    }
    json_decref(cred);
    return rc;
}

int vc__exec_poll(vc__exec_job *j, vc__exec_cred *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < 2; i++) {
        while (j->fd[i] >= 0) {
            char tmp[4096];
            ssize_t n = read(j->fd[i], tmp, sizeof tmp);
            if (n > 0) {
                if (j->out[i].size < (1u << 20) && vc__buf_put(&j->out[i], tmp, (size_t)n) < 0) {
                    kill(j->pid, SIGKILL);
                    return vc__error_oom();
                }
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && errno == EAGAIN) {
                break;
            } else {
                close_fd(j, i);
            }
        }
    }
    if (j->pid > 0) {
        pid_t w = 0;
        if (j->fd[0] < 0 && j->fd[1] < 0) {
            while ((w = waitpid(j->pid, &j->status, WNOHANG)) < 0 && errno == EINTR) {
            }
        }
        if (w == j->pid || w < 0) {
            j->pid = -1;
        } else if (vc__now_ms() >= j->deadline) {
            kill(j->pid, SIGKILL);
            while (waitpid(j->pid, &j->status, 0) < 0 && errno == EINTR) {
            }
            j->pid = -1;
            return vc__error(VC_ETIMEDOUT, VC_ERRCLASS_KUBECONFIG, "exec plugin \"%s\" timed out after %d s",
                             j->command, EXEC_TIMEOUT_MS / 1000);
        } else {
            return VC__EAGAIN;
        }
    }
    int status = j->status;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        vc_buf *serr = &j->out[1];
        char *nl = serr->ptr ? strchr(serr->ptr, '\n') : NULL; /* first line of stderr */
        if (nl)
            *nl = '\0';
        return vc__error(VC_EAUTH, VC_ERRCLASS_KUBECONFIG, "exec plugin \"%s\" failed (%s %d)%s%s", j->command,
                         WIFEXITED(status) ? "exit status" : "signal",
                         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), serr->size ? ": " : "",
                         serr->size ? serr->ptr : "");
    }
    int rc = parse_cred(j, out);
    if (rc < 0) {
        vc__error_saved sv;
        vc__error_save(&sv);
        vc__exec_cred_clear(out);
        vc__error_restore(&sv);
    }
    return rc;
}

void vc__exec_job_free(vc__exec_job *j)
{
    if (!j)
        return;
    close_fd(j, 0);
    close_fd(j, 1);
    if (j->pid > 0) {
        kill(j->pid, SIGKILL);
        while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    vc_buf_dispose(&j->out[0]);
    vc_buf_dispose(&j->out[1]);
    vc__free(j->command);
    vc__free(j);
}

int vc__exec_run(const vc__exec_cfg *e, const vc__kube_cfg *cfg, vc__exec_cred *out)
{
    memset(out, 0, sizeof(*out));
    vc__exec_job *j = NULL;
    int rc = vc__exec_start(&j, e, cfg);
    if (rc < 0 || !j)
        return rc < 0 ? rc : vc__error_oom();
    while ((rc = vc__exec_poll(j, out)) == VC__EAGAIN) {
        struct pollfd pf[2] = { { j->fd[0], POLLIN, 0 }, { j->fd[1], POLLIN, 0 } };
        int64_t left = j->deadline - vc__now_ms();
        /* both pipes shut but the plugin not reaped yet: look again soon */
        int wait = j->fd[0] < 0 && j->fd[1] < 0 ? 5 : (int)(left > 0 ? left : 0);
        if (poll(pf, 2, wait < 0 ? 0 : wait) < 0 && errno != EINTR)
            break;
    }
    if (rc == VC__EAGAIN)
        rc = vc__error(VC_EIO, VC_ERRCLASS_OS, "exec plugin \"%s\": poll: %s", e->command, strerror(errno));
    vc__error_saved sv;
    vc__error_save(&sv);
    vc__exec_job_free(j);
    vc__error_restore(&sv);
    return rc;
}
