/* login.c: see login.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "conf.h"
#include "log.h"
#include "login.h"
#include "macro.h"
#include "strv.h"

typedef struct Check {
        sd_event_source *io, *timeout;
        pid_t pid;
        int fd;
        LoginDone done;
        void *userdata;
        char user[256];
        char buf[512];
        size_t len;
} Check;

static unsigned running;

/* ---- the child ----------------------------------------------------------------- */

typedef struct Conv {
        const char *user, *password;
} Conv;

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata) {
        const Conv *cv = appdata;
        if (n <= 0 || n > PAM_MAX_NUM_MSG)
                return PAM_CONV_ERR;
        struct pam_response *r = calloc((size_t) n, sizeof *r);
        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++) {
                const char *answer = NULL;
                switch (msg[i]->msg_style) {
                case PAM_PROMPT_ECHO_OFF: /* the password */
                        answer = cv->password;
                        break;
                case PAM_PROMPT_ECHO_ON: /* the user name, asked again */
                        answer = cv->user;
                        break;
                default: /* PAM_ERROR_MSG, PAM_TEXT_INFO: nobody to show them to */
                        continue;
                }
                r[i].resp = strdup(answer);
                if (!r[i].resp) {
                        for (int k = 0; k < i; k++)
                                free(r[k].resp);
                        free(r);
                        return PAM_BUF_ERR;
                }
        }
        *resp = r;
        return PAM_SUCCESS;
}

static bool shell_allows_login(const char *shell) {
        static const char *const refusing[] = { "/usr/sbin/nologin", "/sbin/nologin", "/bin/false",
                                                "/usr/bin/false" };
        if (!shell || !shell[0])
                return true; /* an empty shell is /bin/sh (passwd(5)) */
        for (size_t i = 0; i < ELEMENTSOF(refusing); i++)
                if (strcmp(shell, refusing[i]) == 0)
                        return false;
        return true;
}

static bool in_groups(const struct passwd *pw, char *const *groups) {
        gid_t gids[512];
        int n = ELEMENTSOF(gids);
        if (getgrouplist(pw->pw_name, pw->pw_gid, gids, &n) < 0)
                return false;
        for (char *const *g = groups; *g; g++) {
                struct group *gr = getgrnam(*g);
                for (int i = 0; gr && i < n; i++)
                        if (gids[i] == gr->gr_gid)
                                return true;
        }
        return false;
}

static uint64_t mono_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

/* A refusal takes as long as PAM's failure delay (2 s, give or take a
 * quarter), whatever refused: a right password for an account that may
 * not log in here must not answer faster than a wrong one. */
static void pad_refusal(uint64_t start) {
        uint32_t r = 0;
        (void) getrandom(&r, sizeof r, GRND_NONBLOCK);
        uint64_t until = start + 1500000ULL + r % 1000000ULL, now = mono_usec();
        if (now < until) {
                struct timespec ts = { .tv_sec = (time_t) ((until - now) / 1000000ULL),
                                       .tv_nsec = (long) ((until - now) % 1000000ULL * 1000) };
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
        }
}

/* Writes "OK user" or "NO why" on fd and exits. */
__attribute__((noreturn)) static void child(int fd, const LoginPolicy *pol, const char *user, char *password, const char *rhost) {
        char out[512];
        uint64_t start = mono_usec();
        pam_handle_t *h = NULL;
        Conv cv = { user, password };
        struct pam_conv pc = { conv, &cv };
        int r = pam_start("sdflow", user, &pc, &h);
        if (r == PAM_SUCCESS && rhost && rhost[0])
                r = pam_set_item(h, PAM_RHOST, rhost);
        /* No empty password, whatever nullok in common-auth says. */
        if (r == PAM_SUCCESS)
                r = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
        const char *stage = "authentication";
        if (r == PAM_SUCCESS) {
                stage = "account";
                r = pam_acct_mgmt(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
        }
        const void *item = NULL;
        char name[256] = "";
        if (r == PAM_SUCCESS && pam_get_item(h, PAM_USER, &item) == PAM_SUCCESS && item)
                snprintf(name, sizeof name, "%s", (const char *) item);
        if (r != PAM_SUCCESS)
                snprintf(out, sizeof out, "NO %s failed: %s\n", stage, pam_strerror(h, r));
        if (h)
                pam_end(h, r);
        explicit_bzero(password, strlen(password));
        if (r == PAM_SUCCESS) {
                struct passwd *pw = name[0] ? getpwnam(name) : NULL;
                if (!pw)
                        snprintf(out, sizeof out, "NO the account is not in the user database\n");
                else if (!pol->allow_nologin && !shell_allows_login(pw->pw_shell))
                        snprintf(out, sizeof out, "NO the account's shell (%s) refuses logins\n", pw->pw_shell);
                else if (pol->groups && pol->groups[0] && !in_groups(pw, pol->groups))
                        snprintf(out, sizeof out, "NO the account is in none of LoginGroups=\n");
                else
                        snprintf(out, sizeof out, "OK %s\n", pw->pw_name);
        }
        if (strncmp(out, "NO ", 3) == 0)
                pad_refusal(start);
        size_t len = strlen(out);
        (void) !write(fd, out, len);
        _exit(0);
}

/* ---- the parent ---------------------------------------------------------------- */

static void check_end(Check *c, bool ok, const char *user, const char *why) {
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timeout);
        safe_close(c->fd);
        if (c->pid > 0) {
                (void) kill(c->pid, SIGKILL); /* gone already, or about to be */
                (void) waitpid(c->pid, NULL, 0);
        }
        running--;
        c->done(ok, user, why, c->userdata);
        free(c);
}

static int on_answer(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Check *c = userdata;
        (void) s;
        (void) revents;
        ssize_t n = read(fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n > 0) {
                c->len += (size_t) n;
                if (!memchr(c->buf, '\n', c->len) && c->len < sizeof c->buf - 1)
                        return 0;
        }
        c->buf[c->len] = '\0';
        char *nl = strchr(c->buf, '\n');
        if (nl)
                *nl = '\0';
        if (strncmp(c->buf, "OK ", 3) == 0)
                check_end(c, true, c->buf + 3, NULL);
        else if (strncmp(c->buf, "NO ", 3) == 0)
                check_end(c, false, c->user, c->buf + 3);
        else
                check_end(c, false, c->user, "the PAM check ended without an answer");
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        check_end(userdata, false, ((Check *) userdata)->user, "the PAM check took too long");
        return 0;
}

int login_check(sd_event *e, const LoginPolicy *pol, const char *user, const char *password, const char *rhost,
                LoginDone done, void *userdata) {
        int fds[2];
        if (running >= LOGIN_MAX_RUNNING)
                return -EBUSY;
        if (pol->refuse_all)
                return -EACCES;
        _cleanup_free_ Check *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        snprintf(c->user, sizeof c->user, "%s", user);
        c->done = done;
        c->userdata = userdata;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0) {
                int k = errno;
                safe_close(fds[0]);
                safe_close(fds[1]);
                return -k;
        }
        if (pid == 0) {
                _cleanup_free_ char *pw = strdup(password);
                safe_close(fds[0]);
                if (!pw)
                        _exit(1);
                child(fds[1], pol, user, pw, rhost);
        }
        safe_close(fds[1]);
        c->pid = pid;
        c->fd = fds[0];
        (void) fcntl(c->fd, F_SETFL, O_NONBLOCK);
        int r = sd_event_add_io(e, &c->io, c->fd, EPOLLIN, on_answer, c);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &c->timeout, CLOCK_MONOTONIC, LOGIN_TIMEOUT_USEC, 0, on_timeout, c);
        if (r < 0) {
                sd_event_source_disable_unref(c->io);
                safe_close(c->fd);
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        running++;
        TAKE_PTR(c);
        return 0;
}

/* ---- the policy ---------------------------------------------------------------- */

typedef struct PolicySettings {
        char *groups;
        char *allow_nologin;
} PolicySettings;

static const ConfItem policy_items[] = {
        CONF_ITEM("LoginGroups", CONF_STRING, 0, 0, PolicySettings, groups),
        CONF_ITEM("LoginAllowNologinShell", CONF_STRING, 0, 0, PolicySettings, allow_nologin),
};

int login_policy_load(const char *path, LoginPolicy *ret) {
        PolicySettings s = {};
        *ret = (LoginPolicy) {};
        int r = conf_parse_file_some(path, policy_items, ELEMENTSOF(policy_items), &s);
        _cleanup_free_ char *groups = s.groups, *nologin = s.allow_nologin;
        if (r < 0 && r != -ENOENT)
                return r;
        ret->allow_nologin = nologin && (strcmp(nologin, "yes") == 0 || strcmp(nologin, "true") == 0 ||
                                         strcmp(nologin, "1") == 0);
        for (char *tok, *save = NULL, *p = groups; p || save; p = NULL) {
                tok = strtok_r(p, " \t,", &save);
                if (!tok)
                        break;
                char **one = calloc(2, sizeof *one);
                if (one)
                        one[0] = strdup(tok);
                r = one && strv_complete(one, 1) ? strv_extend(&ret->groups, one) : -ENOMEM;
                if (r < 0)
                        return r;
        }
        return 0;
}

void login_policy_done(LoginPolicy *p) {
        p->groups = strv_free(p->groups);
}
