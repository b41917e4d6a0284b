/* sdflow-privd: the one process of sdflow that keeps uid 0.
 *
 * sdflowd runs as user sdflowd with no capabilities; what it may not do
 * itself (start, stop and change units, run the namespace helper) it asks
 * of this daemon over a private D-Bus connection on /run/sdflow/priv.sock
 * (socket-activated, mode 0600, sdflowd's).  Each call is checked whole
 * (policy.c) and rebuilt before it goes to systemd; a refused one is
 * answered with org.sdflow.Privileged1.Refused and logged.  It parses no
 * YAML, JSON or HTTP: only the D-Bus messages of that one peer. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "login.h"
#include "macro.h"
#include "policy.h"
#include "systemd1.h"

#define DEST SYSTEMD1_DEST
#define PATH SYSTEMD1_PATH
#define IFACE SYSTEMD1_MANAGER
#define PRIV_IFACE "org.sdflow.Privileged1"
#define REFUSED PRIV_IFACE ".Refused"
#define IDLE_EXIT_USEC (60 * USEC_PER_SEC)

typedef struct Privd {
        sd_event *event;
        sd_bus *system;
        PrivPolicy policy;
        LoginPolicy login;
        uid_t peer_uid; /* sdflowd's */
        unsigned connections, pending;
        sd_event_source *idle;
} Privd;

typedef struct Conn {
        Privd *d;
        sd_bus *bus;
        uid_t uid;
        pid_t pid;
        sd_event_source *gone;
} Conn;

typedef struct Pending {
        Privd *d;
        sd_bus_message *call;
} Pending;

static void arm_idle(Privd *d);

static int on_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        Privd *d = userdata;
        if (d->connections == 0 && d->pending == 0) {
                log_info("Idle, exiting.");
                return sd_event_exit(d->event, 0);
        }
        return 0;
}

static void arm_idle(Privd *d) {
        uint64_t now;
        sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        if (d->idle) {
                sd_event_source_set_time(d->idle, now + IDLE_EXIT_USEC);
                sd_event_source_set_enabled(d->idle, SD_EVENT_ONESHOT);
        } else
                sd_event_add_time(d->event, &d->idle, CLOCK_MONOTONIC, now + IDLE_EXIT_USEC, 0, on_idle, d);
}

static int on_systemd_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Pending *p = userdata;
        if (sd_bus_message_is_method_error(reply, NULL))
                (void) sd_bus_reply_method_error(p->call, sd_bus_message_get_error(reply));
        else {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *r = NULL;
                int k = sd_bus_message_new_method_return(p->call, &r);
                if (k >= 0)
                        k = sd_bus_message_copy(r, reply, true);
                if (k >= 0)
                        k = sd_bus_send(NULL, r, NULL);
                if (k < 0)
                        log_warning_errno(k, "Passing systemd's answer on failed: %m");
        }
        sd_bus_message_unref(p->call);
        p->d->pending--;
        if (p->d->connections == 0 && p->d->pending == 0)
                arm_idle(p->d);
        free(p);
        return 0;
}

static Pending *pending_free(Pending *p) {
        if (!p)
                return NULL;
        sd_bus_message_unref(p->call);
        free(p);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Pending *, pending_free);

static int forward(Conn *c, sd_bus_message *call, sd_bus_message *out) {
        _cleanup_(pending_freep) Pending *p = calloc(1, sizeof *p);
        if (!p)
                return sd_bus_reply_method_errorf(call, SD_BUS_ERROR_NO_MEMORY, "out of memory");
        p->d = c->d;
        p->call = sd_bus_message_ref(call);
        int r = sd_bus_call_async(c->d->system, NULL, out, on_systemd_reply, p, 0);
        if (r < 0)
                return sd_bus_reply_method_errorf(call, SD_BUS_ERROR_FAILED, "calling systemd: %s", strerror(-r));
        TAKE_PTR(p); /* on_systemd_reply() frees it */
        c->d->pending++;
        return 1;
}

static int refused(Conn *c, sd_bus_message *call, const char *member, const char *why) {
        /* A flood (of logins, say) is not a flood of the journal: at most
         * 20 lines a second, and how many were left out. */
        static uint64_t second;
        static unsigned said, unsaid;
        uint64_t now = 0;
        (void) sd_event_now(c->d->event, CLOCK_MONOTONIC, &now);
        if (now / USEC_PER_SEC != second) {
                if (unsaid > 0)
                        log_warning("Refused %u more calls, not logged one by one.", unsaid);
                second = now / USEC_PER_SEC;
                said = unsaid = 0;
        }
        if (said++ < 20)
                log_warning("Refused %s from uid %u (pid %d): %s", member, (unsigned) c->uid, (int) c->pid, why);
        else
                unsaid++;
        return sd_bus_reply_method_errorf(call, REFUSED, "sdflow-privd refused %s: %s", member, why);
}

/* A login check under way: its call is answered when PAM has spoken. */
typedef struct LoginCall {
        Privd *d;
        sd_bus_message *call;
        char rhost[64];
} LoginCall;

static void on_login_done(bool ok, const char *user, const char *why, void *userdata) {
        LoginCall *lc = userdata;
        /* A name that is no account's may be a password typed too early. */
        const char *who = getpwnam(user) ? user : "an unknown user";
        if (ok)
                log_info("Password of %s (from %s) accepted.", who, lc->rhost[0] ? lc->rhost : "?");
        else
                log_notice("Login of %s (from %s) refused: %s", who, lc->rhost[0] ? lc->rhost : "?", why);
        int r = sd_bus_reply_method_return(lc->call, "bs", ok, ok ? user : "");
        if (r < 0)
                log_warning_errno(r, "Answering a login check failed: %m");
        sd_bus_message_unref(lc->call);
        if (--lc->d->pending == 0 && lc->d->connections == 0)
                arm_idle(lc->d);
        free(lc);
}

/* Authenticate(s user, s password, s rhost) -> (b ok, s user): a check of
 * the password through PAM, and of whether the account may log in. */
static int authenticate(Conn *c, sd_bus_message *m, char *why, size_t why_size) {
        const char *user, *password, *rhost;
        int r = sd_bus_message_read(m, "sss", &user, &password, &rhost);
        if (r < 0) {
                snprintf(why, why_size, "Authenticate takes (sss)");
                return r;
        }
        size_t ul = strlen(user);
        if (ul == 0 || ul > 255 || strlen(password) > 4096 || strlen(rhost) > 63) {
                snprintf(why, why_size, "a user name of 1 to 255 bytes, a password of at most 4096 and an address "
                                        "of at most 63");
                return -EINVAL;
        }
        for (const char *p = user; *p; p++)
                if ((unsigned char) *p < 0x21 || *p == 0x7f || *p == ':' || *p == '/') {
                        snprintf(why, why_size, "the user name has a character no account name has");
                        return -EINVAL;
                }
        _cleanup_free_ LoginCall *lc = calloc(1, sizeof *lc);
        if (!lc)
                return -ENOMEM;
        lc->d = c->d;
        snprintf(lc->rhost, sizeof lc->rhost, "%s", rhost);
        lc->call = sd_bus_message_ref(m);
        r = login_check(c->d->event, &c->d->login, user, password, rhost, on_login_done, lc);
        if (r < 0) {
                sd_bus_message_unref(lc->call);
                if (r == -EBUSY)
                        snprintf(why, why_size, "%d logins are being checked already", LOGIN_MAX_RUNNING);
                else
                        snprintf(why, why_size, "cannot start the PAM check: %s", strerror(-r));
                return r;
        }
        TAKE_PTR(lc);
        c->d->pending++;
        return 1;
}

static int on_message(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Conn *c = userdata;
        Privd *d = c->d;
        char why[512] = "";
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *out = NULL;
        int r;

        if (sd_bus_message_is_signal(m, "org.freedesktop.DBus.Local", "Disconnected")) {
                sd_event_source_set_enabled(c->gone, SD_EVENT_ONESHOT);
                return 1;
        }
        if (!sd_bus_message_is_method_call(m, NULL, NULL))
                return 0;
        const char *member = sd_bus_message_get_member(m) ?: "?", *iface = sd_bus_message_get_interface(m) ?: "";
        const char *path = sd_bus_message_get_path(m) ?: "";

        if (strcmp(iface, IFACE) == 0 && strcmp(path, PATH) == 0) {
                if (strcmp(member, "StartTransientUnit") == 0)
                        r = policy_start_transient(&d->policy, m, d->system, &out, why, sizeof why);
                else if (strcmp(member, "SetUnitProperties") == 0)
                        r = policy_set_properties(&d->policy, m, d->system, &out, why, sizeof why);
                else if (strcmp(member, "StopUnit") == 0 || strcmp(member, "ResetFailedUnit") == 0) {
                        bool stop = member[0] == 'S';
                        const char *unit, *mode = "replace";
                        r = sd_bus_message_has_signature(m, stop ? "ss" : "s") ? 0 : -EINVAL;
                        if (r >= 0)
                                r = stop ? sd_bus_message_read(m, "ss", &unit, &mode) : sd_bus_message_read(m, "s", &unit);
                        if (r < 0)
                                snprintf(why, sizeof why, "%s takes (%s)", member, stop ? "ss" : "s");
                        else if (stop && strcmp(mode, "replace") != 0 && strcmp(mode, "fail") != 0)
                                r = -EPERM, snprintf(why, sizeof why, "job mode %.40s is not one sdflow uses", mode);
                        else
                                r = policy_unit_name(unit, why, sizeof why);
                        if (r >= 0)
                                r = sd_bus_message_new_method_call(d->system, &out, DEST, PATH, IFACE, member);
                        if (r >= 0)
                                r = stop ? sd_bus_message_append(out, "ss", unit, mode) : sd_bus_message_append(out, "s", unit);
                } else {
                        r = -EPERM;
                        snprintf(why, sizeof why, "%s is not a call sdflow-privd passes on", member);
                }
        } else if (strcmp(iface, PRIV_IFACE) == 0 && strcmp(member, "RemoveEnvironment") == 0) {
                /* What a unit's environment file was: gone with the unit. */
                const char *unit;
                char file[600];
                r = sd_bus_message_read(m, "s", &unit);
                if (r < 0)
                        snprintf(why, sizeof why, "RemoveEnvironment takes (s)");
                else
                        r = policy_unit_name(unit, why, sizeof why);
                if (r >= 0 && policy_env_path(&d->policy, unit, file, sizeof file) >= 0) {
                        (void) unlink(file);
                        return sd_bus_reply_method_return(m, NULL);
                }
        } else if (strcmp(iface, PRIV_IFACE) == 0 && strcmp(member, "Authenticate") == 0) {
                r = authenticate(c, m, why, sizeof why);
                if (r > 0)
                        return 1;
        } else if (strcmp(iface, "org.freedesktop.DBus.Peer") == 0)
                return 0; /* sd-bus answers Ping and GetMachineId */
        else {
                r = -EPERM;
                snprintf(why, sizeof why, "%s.%s on %s is not a call sdflow-privd knows", iface, member, path);
        }
        if (r < 0)
                return refused(c, m, member, why[0] ? why : strerror(-r));
        log_debug("Passing %s on for uid %u.", member, (unsigned) c->uid);
        return forward(c, m, out);
}

static int on_gone(sd_event_source *s, void *userdata) {
        Conn *c = userdata;
        Privd *d = c->d;
        sd_bus_flush_close_unref(c->bus);
        sd_event_source_unref(c->gone);
        free(c);
        if (--d->connections == 0 && d->pending == 0)
                arm_idle(d);
        return 0;
}

/* A connection that could not be set up (on_gone() ends one that was). */
static Conn *conn_free(Conn *c) {
        if (!c)
                return NULL;
        sd_bus_flush_close_unref(c->bus);
        sd_event_source_unref(c->gone);
        free(c);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Conn *, conn_free);

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Privd *d = userdata;
        _cleanup_close_ int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
                return 0;
        struct ucred uc;
        socklen_t len = sizeof uc;
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 || (uc.uid != 0 && uc.uid != d->peer_uid)) {
                log_warning("Refused a connection from uid %d (pid %d): only sdflowd and root may connect.",
                            len == sizeof uc ? (int) uc.uid : -1, len == sizeof uc ? (int) uc.pid : -1);
                return 0;
        }
        _cleanup_(conn_freep) Conn *c = calloc(1, sizeof *c);
        sd_id128_t id;
        int r = c ? sd_id128_randomize(&id) : -ENOMEM;
        if (r >= 0)
                r = sd_bus_new(&c->bus);
        if (r >= 0)
                r = sd_bus_set_fd(c->bus, cfd, cfd);
        if (r >= 0)
                TAKE_FD(cfd); /* the bus closes it */
        if (r >= 0)
                r = sd_bus_set_server(c->bus, 1, id);
        if (r >= 0)
                r = sd_bus_negotiate_fds(c->bus, 1);
        if (r >= 0)
                r = sd_bus_add_filter(c->bus, NULL, on_message, c);
        if (r >= 0)
                r = sd_bus_start(c->bus);
        if (r >= 0)
                r = sd_bus_attach_event(c->bus, d->event, 0);
        if (r >= 0)
                r = sd_event_add_defer(d->event, &c->gone, on_gone, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->gone, SD_EVENT_OFF);
        if (r < 0) {
                log_warning_errno(r, "Setting up a connection failed: %m");
                return 0;
        }
        c->d = d;
        c->uid = uc.uid;
        c->pid = uc.pid;
        TAKE_PTR(c); /* on_gone() frees it */
        d->connections++;
        if (d->idle)
                sd_event_source_set_enabled(d->idle, SD_EVENT_OFF);
        log_debug("Connection from uid %u (pid %d).", (unsigned) uc.uid, (int) uc.pid);
        return 0;
}

/* ImageMap= of sdflowd.conf (root's file, as is the map), else the default. */
/* The image map sdflowd uses: ImageMap= of its configuration file. */
typedef struct PrivSettings {
        char *image_map;
} PrivSettings;

static const ConfItem priv_settings[] = {
        CONF_ITEM("ImageMap", CONF_STRING, 0, 0, PrivSettings, image_map),
};

static char *image_map_path(void) {
        PrivSettings s = {};
        int r = conf_parse_file_some("/etc/sdflow/sdflowd.conf", priv_settings, ELEMENTSOF(priv_settings), &s);
        _cleanup_free_ char *map = s.image_map;
        if (r < 0 || !map || map[0] != '/')
                return strdup("/etc/sdflow/images.conf");
        return TAKE_PTR(map);
}

int main(int argc, char **argv) {
        Privd d = {
                .policy = { .helper = "/usr/lib/sdflow/sdflow-ns", .env_dir = "/run/sdflow/env" },
        };
        int r, n;

        log_setup("sdflow-privd");
        if (argc > 1) {
                printf("%s [--help]\n\nThe privileged side of sdflowd: checks and passes on its calls to systemd.\n"
                       "Started by sdflow-privd.socket; see sdflow-privd(8).\n",
                       program_invocation_short_name);
                return strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? 0 : 2;
        }
        struct passwd *pw = getpwnam("sdflowd");
        if (!pw) {
                log_error("There is no user sdflowd (sysusers.d/sdflow.conf).");
                return 1;
        }
        d.peer_uid = pw->pw_uid;
        _cleanup_free_ char *map = image_map_path();
        if (!map)
                return log_oom(), 1;
        d.policy.image_map = map;
        r = login_policy_load("/etc/sdflow/sdflowd.conf", &d.login);
        if (r < 0)
                log_error_errno(r, "Reading LoginGroups= from /etc/sdflow/sdflowd.conf failed, refusing every "
                                   "login: %m");
        d.login.refuse_all = r < 0;
        n = sd_listen_fds(1);
        if (n != 1) {
                log_error("Expected one listening socket from systemd (sdflow-privd.socket), got %d.", n);
                return 1;
        }
        r = sd_event_default(&d.event);
        if (r >= 0)
                r = sd_bus_open_system(&d.system);
        if (r >= 0)
                r = sd_bus_attach_event(d.system, d.event, 0);
        if (r >= 0)
                r = sd_event_add_io(d.event, NULL, SD_LISTEN_FDS_START, EPOLLIN, on_accept, &d);
        if (r < 0) {
                log_error_errno(r, "Setting up failed: %m");
                return 1;
        }
        arm_idle(&d);
        r = daemon_run(d.event, "Passing sdflowd's calls on to systemd");
        sd_bus_flush_close_unref(d.system);
        sd_event_unref(d.event);
        login_policy_done(&d.login);
        return r < 0 ? 1 : 0;
}
