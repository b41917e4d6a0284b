/* manager.c: see manager.h.  Method signatures from org.freedesktop.systemd1(5). */
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "systemd1.h"

#define DEST SYSTEMD1_DEST
#define PATH SYSTEMD1_PATH
#define IFACE SYSTEMD1_MANAGER

static int bus_fail(int r, const sd_bus_error *e, char *err, size_t errsz, const char *what) {
        snprintf(err, errsz, "%s: %s", what, e && e->message ? e->message : strerror(-r));
        return r;
}

/* ---- the privileged side ---------------------------------------------------------- */

/* sdflowd has no right to change units: what does (StartTransientUnit,
 * StopUnit, ResetFailedUnit, SetUnitProperties) goes to sdflow-privd over
 * a private connection, which checks it and passes it on (sdflow-privd(8)).
 * Reading (GetUnit, properties) and the signals stay on the system bus.  A
 * connection that went (privd restarted) is made again at the next call;
 * calls in flight then fail with the reason. */
static sd_bus *priv_bus;
static sd_event *priv_event;

/* A call privd went with (killed, restarted) is sent again, this often at most. */
#define MAX_RESENDS 3

void manager_set_event(sd_event *e) {
        priv_event = e;
}

static int on_any_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        (void) m;
        (void) userdata;
        (void) ret_error;
        return 0;
}

int manager_watch_jobs(sd_bus *bus) {
        static sd_bus_slot *slot;
        if (slot)
                return 0;
        /* Installed and confirmed (a round trip) before any job is asked
         * for: every later per-job match is then local to sd-bus, and in
         * place the moment it is added. */
        return sd_bus_match_signal(bus, &slot, DEST, PATH, IFACE, "JobRemoved", on_any_job_removed, NULL);
}

static sd_bus *priv(void) {
        if (priv_bus && sd_bus_is_open(priv_bus) > 0)
                return priv_bus;
        priv_bus = sd_bus_flush_close_unref(priv_bus);
        sd_bus *b = NULL;
        int r = sd_bus_new(&b);
        if (r >= 0)
                r = sd_bus_set_address(b, "unix:path=" MANAGER_PRIV_SOCKET);
        if (r >= 0)
                r = sd_bus_set_description(b, "sdflow-privd");
        if (r >= 0)
                r = sd_bus_negotiate_fds(b, 1);
        if (r >= 0)
                r = sd_bus_start(b);
        /* A call that passes file descriptors waits for the handshake, with
         * no end: privd failing to start behind its listening socket would
         * hold the loop until the watchdog.  The handshake is given 2 s here. */
        for (unsigned i = 0; r >= 0 && i < 20 && (r = sd_bus_is_ready(b)) == 0; i++) {
                r = sd_bus_process(b, NULL);
                if (r >= 0)
                        r = sd_bus_wait(b, 100 * USEC_PER_MSEC);
        }
        if (r >= 0)
                r = sd_bus_is_ready(b);
        if (r == 0)
                r = -ETIMEDOUT;
        if (r >= 0 && priv_event)
                r = sd_bus_attach_event(b, priv_event, 0);
        if (r < 0) {
                log_warning_errno(r, "Connecting to sdflow-privd (" MANAGER_PRIV_SOCKET ") failed: %m");
                sd_bus_unref(b);
                return NULL;
        }
        priv_bus = b;
        return b;
}

/* A call to systemd's manager, sent through privd. */
static int priv_call(sd_bus_message **ret, const char *member) {
        sd_bus *b = priv();
        if (!b)
                return -ENOTCONN;
        return sd_bus_message_new_method_call(b, ret, DEST, PATH, IFACE, member);
}

bool manager_peer_lost(const sd_bus_error *e) {
        return sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY) || sd_bus_error_has_name(e, SD_BUS_ERROR_DISCONNECTED);
}

/* A copy of m, a call sent to privd, to send again on the connection
 * there is now. */
static int priv_copy(sd_bus_message *m, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *c = NULL;
        int r = priv_call(&c, sd_bus_message_get_member(m));
        if (r >= 0)
                r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = sd_bus_message_copy(c, m, true);
        if (r >= 0)
                *ret = TAKE_PTR(c);
        return r;
}

/* Sends a copy of m again after privd went with it in flight (killed,
 * restarted: the socket starts it again); the reply goes to cb.  Returns
 * 0 when it went, else < 0 (the caller ends with the first error). */
static int priv_resend(sd_bus_message *m, const char *what, const sd_bus_error *e, sd_bus_slot **slot,
                       sd_bus_message_handler_t cb, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *again = NULL;
        log_warning("%s got no answer from sdflow-privd (%s), sending it again.", what, e->message ?: e->name);
        int r = priv_copy(m, &again);
        if (r >= 0)
                r = sd_bus_call_async(NULL, slot, again, cb, userdata, 0);
        if (r < 0)
                log_warning_errno(r, "%s could not be sent again: %m", what);
        return r;
}

bool manager_signal_from_systemd(sd_bus_message *m) {
        /* systemd broadcasts its signals, and the bus routes a broadcast to a
         * match with sender='org.freedesktop.systemd1' only from that
         * name's owner; a signal sent to sdflowd alone (any client of the
         * bus may) passes sd-bus's own match, so it is not taken. */
        return sd_bus_message_get_destination(m) == NULL;
}

static int append_limits(sd_bus_message *m, const SliceLimits *l) {
        return sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)", "CPUQuotaPerSecUSec", "t",
                                     l->cpu_quota_per_sec_usec, "MemoryMax", "t", l->memory_max, "TasksMax", "t",
                                     l->tasks_max, "CPUAccounting", "b", 1, "MemoryAccounting", "b", 1,
                                     "TasksAccounting", "b", 1);
}

/* Appends (sv) with an a(sasb) ExecStart of argv. */
static int append_exec(sd_bus_message *m, char *const *argv) {
        int r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "ExecStart");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sasb");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[0]);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char **) argv);
        if (r >= 0)
                r = sd_bus_message_append(m, "b", 0);
        for (int i = 0; i < 4 && r >= 0; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

/* Appends (sv) with an as value. */
static int append_strv_prop(sd_bus_message *m, const char *name, char **values) {
        int r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, values);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* ---- environments ------------------------------------------------------------------ */

/* A unit's environment goes to sdflow-privd as Environment=; privd writes
 * it to an EnvironmentFile= of its own (root's, 0600), so that the values
 * appear neither in the unit's properties (systemctl show) nor in
 * /run/systemd/transient, which every local user can read.  Entries that
 * are not NAME=VALUE are left out. */
static int append_env(sd_bus_message *m, char *const *env) {
        size_t n = 0, k = 0;
        while (env[n])
                n++;
        _cleanup_free_ char **v = calloc(n + 1, sizeof *v); /* borrowed strings */
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *eq = strchr(env[i], '=');
                if (eq && eq != env[i])
                        v[k++] = env[i];
        }
        return k > 0 ? append_strv_prop(m, "Environment", v) : 0;
}

void manager_remove_env_file(const char *unit) {
        sd_bus *p = priv();
        if (p)
                (void) sd_bus_call_method_async(p, NULL, DEST, PATH, "org.sdflow.Privileged1", "RemoveEnvironment",
                                                NULL, NULL, "s", unit);
}

int manager_authenticate(const char *user, const char *password, const char *rhost, sd_bus_slot **slot,
                         sd_bus_message_handler_t cb, void *userdata) {
        sd_bus *p = priv();
        if (!p)
                return -ENOTCONN;
        /* PAM's failure delay and slow modules included: no timeout of ours
         * shorter than privd's own (20 s). */
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(p, &m, DEST, PATH, "org.sdflow.Privileged1", "Authenticate");
        if (r >= 0)
                r = sd_bus_message_append(m, "sss", user, password, rhost);
        if (r >= 0)
                r = sd_bus_call_async(NULL, slot, m, cb, userdata, 30 * USEC_PER_SEC);
        return r;
}

/* What a process runs with: its environment, working directory and root
 * (RootDirectory= or RootImage=); each only when given. */
static int append_process(sd_bus_message *m, const char *unit, char *const *env, const char *working_directory,
                          const char *root_directory, const char *root_image) {
        int r = 0;
        if (env && env[0])
                r = append_env(m, env);
        if (r >= 0 && working_directory)
                r = sd_bus_message_append(m, "(sv)", "WorkingDirectory", "s", working_directory);
        if (r >= 0 && root_directory)
                r = sd_bus_message_append(m, "(sv)", "RootDirectory", "s", root_directory);
        if (r >= 0 && root_image)
                r = sd_bus_message_append(m, "(sv)", "RootImage", "s", root_image);
        return r;
}

#define JOB_SEEN 4
#define STOP_GIVE_UP_USEC (15 * 60 * USEC_PER_SEC)
#define START_GIVE_UP_USEC (30 * USEC_PER_SEC)

typedef enum JobKind {
        JOB_STOP,   /* StopUnit: ends well done or skipped; a failed unit is reset after */
        JOB_START,  /* StartTransientUnit of a socket: ends well done */
        JOB_HELPER, /* StartTransientUnit of a oneshot helper: ends well when it exited 0 */
        JOB_SLICE,  /* StartTransientUnit of a slice: ends well done; one that runs gets its limits (followup) */
} JobKind;

/* Follows a job on the loop: see "a job on the event loop" below. */
static int job_run(sd_bus *bus, JobKind kind, const char *unit, sd_bus_message *m, sd_bus_message *followup,
                   uint64_t timeout_usec, const char *prog, const char *errfile, ManagerDone done, void *userdata);

int manager_ensure_slice(sd_bus *bus, const char *slice, const char *description, const SliceLimits *l,
                         ManagerDone done, void *userdata, char *err, size_t errsz) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *set = NULL;
        int r;

        r = priv_call(&m, "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", slice, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "Description", "s", description);
        if (r >= 0)
                r = append_limits(m, l);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return bus_fail(r, NULL, err, errsz, "building StartTransientUnit");
        /* If it runs already, its limits are changed in place. */
        r = priv_call(&set, "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(set, "sb", slice, 1);
        if (r >= 0)
                r = sd_bus_message_open_container(set, 'a', "(sv)");
        if (r >= 0)
                r = append_limits(set, l);
        if (r >= 0)
                r = sd_bus_message_close_container(set);
        if (r < 0)
                return bus_fail(r, NULL, err, errsz, "building SetUnitProperties");
        r = job_run(bus, JOB_SLICE, slice, m, set, START_GIVE_UP_USEC, NULL, NULL, done, userdata);
        return r < 0 ? bus_fail(r, NULL, err, errsz, "starting the slice") : 0;
}

void manager_remove_stale_errfiles(void) {
        DIR *d = opendir(MANAGER_CONTROL_DIR);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                if (strncmp(de->d_name, "sdflow-", 7) == 0 && n > 12 && strcmp(de->d_name + n - 12, ".service.err") == 0)
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        }
        closedir(d);
}

/* A helper's transient unit: its name (unit_prefix-RANDOM.service), its
 * stderr file (made here, 0600) and the StartTransientUnit call. */
static int helper_message(sd_bus *bus, const char *unit_prefix, char *const *argv, char *unit, size_t unitsz,
                          char *errfile, size_t errfilesz, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        snprintf(unit, unitsz, "%s-%08x%08x.service", unit_prefix, (unsigned) random(), (unsigned) getpid());
        /* What the helper says on stderr is the reason given when it fails:
         * a file of sdflowd's (0600: it may name a user's files), handed to
         * systemd open, so that nothing opens a path of sdflowd's as root. */
        snprintf(errfile, errfilesz, MANAGER_CONTROL_DIR "/%s.err", unit);
        _cleanup_close_ int efd = open(errfile, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (efd < 0)
                return -errno;
        int r = priv_call(&m, "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)", "Type", "s", "oneshot", "CollectMode", "s",
                                          "inactive-or-failed", "Description", "s", "sdflow namespace setup",
                                          "StandardErrorFileDescriptor", "h", efd, "UMask", "u", (uint32_t) 0077);
        /* (The message has its own copy of efd.) */
        if (r >= 0)
                r = append_exec(m, argv);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0) {
                (void) unlink(errfile);
                return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

/* Why a helper's job ended with result (not "done"): the last line it
 * wrote to stderr, else what systemd said of its unit. */
static void helper_failure(const char *prog, const char *unit, const char *errfile, const char *result, char *err,
                           size_t errsz) {
        char why[600] = "", line[600];
        _cleanup_fclose_ FILE *f = fopen(errfile, "re");
        while (f && fgets(line, sizeof line, f))
                if (line[0] && line[0] != '\n')
                        snprintf(why, sizeof why, "%s", line);
        why[strcspn(why, "\n")] = '\0';
        if (why[0]) {
                snprintf(err, errsz, "%s", why);
                return;
        }
        /* Nothing on its stderr: what systemd said of it (killed, timed out). */
        char match[340];
        snprintf(match, sizeof match, "UNIT=%s", unit);
        if (journal_last_message(match, "_PID=1", why, sizeof why) < 0)
                snprintf(why, sizeof why, "see journalctl -u %s", unit);
        snprintf(err, errsz, "%s %s: %s", prog, result, why);
}

/* ---- a job on the event loop ------------------------------------------------------- */

/* A workload may take its TimeoutStopSec= to stop (one that ignores SIGTERM,
 * 90 s), a socket's start job is waited for before its path is used, and a
 * helper for its exit: the loop waits for none of them.  The job is known
 * from privd's reply, and its end from JobRemoved on the system bus; the
 * two come on different connections, in either order, so JobRemoved
 * signals of the unit seen before the reply are kept (a start job a stop
 * cancels is one of them).  A helper's unit has a name of its own
 * (random): any job of it ending is its end. */

typedef struct JobRun {
        sd_bus *bus;
        sd_bus_slot *match, *call;
        sd_event_source *timer, *defer;
        JobKind kind;
        char unit[256], job[256];
        char seen_job[JOB_SEEN][256], seen_result[JOB_SEEN][32];
        unsigned n_seen;
        char failed[32];     /* a start job's result, while systemd's reason is looked for */
        unsigned journal_tries;
        sd_bus_message *sent; /* the call, to send again should privd go with it */
        sd_bus_message *followup; /* a slice's SetUnitProperties, when it runs already */
        unsigned resends;
        bool any_job;         /* a helper's, or resent: the unit's next job end is the one */
        char errfile[300], prog[256]; /* a helper's stderr, and what it is */
        uint64_t timeout_usec;
        ManagerDone done;
        void *userdata;
        int result;
        char err[800];
} JobRun;

static JobRun *job_run_free(JobRun *h) {
        if (!h)
                return NULL;
        sd_bus_slot_unref(h->match);
        sd_bus_slot_unref(h->call);
        sd_event_source_disable_unref(h->timer);
        sd_event_source_disable_unref(h->defer);
        sd_bus_message_unref(h->sent);
        sd_bus_message_unref(h->followup);
        sd_bus_unref(h->bus);
        free(h);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(JobRun *, job_run_free);

static int on_job_deferred(sd_event_source *s, void *userdata) {
        JobRun *h = userdata;
        (void) s;
        if (h->done)
                h->done(h->result, h->err, h->userdata);
        job_run_free(h);
        return 0;
}

/* The job is over: done follows from the loop, not from within this bus
 * callback (it may ask systemd for more). */
static void job_end(JobRun *h, int r, const char *err) {
        h->match = sd_bus_slot_unref(h->match);
        h->call = sd_bus_slot_unref(h->call);
        h->timer = sd_event_source_disable_unref(h->timer);
        h->result = r;
        snprintf(h->err, sizeof h->err, "%s", err ?: "");
        if (h->errfile[0])
                (void) unlink(h->errfile);
        /* A failed unit stays loaded (and its name taken) until reset. */
        if (r >= 0 && h->kind == JOB_STOP)
                manager_reset_failed(h->bus, h->unit);
        else if (r < 0 && h->kind != JOB_HELPER) /* (a helper's caller says why it ran) */
                log_warning("%s %s: %s", h->kind == JOB_STOP ? "Stopping" : "Starting", h->unit, h->err);
        if (sd_event_add_defer(sd_bus_get_event(h->bus), &h->defer, on_job_deferred, h) < 0)
                (void) on_job_deferred(NULL, h);
}

#define JOURNAL_TRIES 20
#define JOURNAL_RETRY_USEC (50 * USEC_PER_MSEC)

static void job_reason(JobRun *h);

static int on_journal_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        JobRun *h = userdata;
        (void) s;
        (void) usec;
        h->timer = sd_event_source_disable_unref(h->timer);
        job_reason(h);
        return 0;
}

/* A failed start's reason: systemd's last words on the unit.  journald
 * may write them a little after the job's end: looked for again, on the
 * loop, for up to a second. */
static void job_reason(JobRun *h) {
        char why[400], match[340], err[800];
        snprintf(match, sizeof match, "UNIT=%s", h->unit);
        if (journal_last_message(match, "_PID=1", why, sizeof why) < 0) {
                h->timer = sd_event_source_disable_unref(h->timer);
                if (++h->journal_tries < JOURNAL_TRIES &&
                    sd_event_add_time_relative(sd_bus_get_event(h->bus), &h->timer, CLOCK_MONOTONIC,
                                               JOURNAL_RETRY_USEC, 0, on_journal_retry, h) >= 0) {
                        h->match = sd_bus_slot_unref(h->match);
                        return;
                }
                snprintf(why, sizeof why, "see journalctl -u %s", h->unit);
        }
        const char *dot = strrchr(h->unit, '.');
        snprintf(err, sizeof err, "the %s %s did not start (%s): %s", dot ? dot + 1 : "unit", h->unit, h->failed, why);
        job_end(h, -EPROTO, err);
}

static void job_ended(JobRun *h, const char *result) {
        char err[800];
        if (strcmp(result, "done") == 0 || (h->kind == JOB_STOP && strcmp(result, "skipped") == 0)) {
                job_end(h, 0, NULL);
                return;
        }
        if (h->kind == JOB_STOP) {
                snprintf(err, sizeof err, "the stop job ended %s", result);
                job_end(h, -EPROTO, err);
                return;
        }
        if (h->kind == JOB_HELPER) {
                helper_failure(h->prog, h->unit, h->errfile, result, err, sizeof err);
                job_end(h, -EPROTO, err);
                return;
        }
        /* What systemd said of it is the cause (an address in use, say). */
        snprintf(h->failed, sizeof h->failed, "%s", result);
        job_reason(h);
}

static int on_job_run_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        JobRun *h = userdata;
        uint32_t id;
        const char *path, *unit, *result;
        (void) ret_error;
        if (!manager_signal_from_systemd(m) || sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0 ||
            strcmp(unit, h->unit) != 0)
                return 0;
        if (h->job[0] || h->any_job) {
                if (h->any_job || strcmp(path, h->job) == 0)
                        job_ended(h, result);
                return 0;
        }
        /* Before the reply: kept, the oldest dropped when full. */
        if (h->n_seen == JOB_SEEN) {
                memmove(h->seen_job[0], h->seen_job[1], (JOB_SEEN - 1) * sizeof h->seen_job[0]);
                memmove(h->seen_result[0], h->seen_result[1], (JOB_SEEN - 1) * sizeof h->seen_result[0]);
                h->n_seen--;
        }
        unsigned i = h->n_seen++;
        snprintf(h->seen_job[i], sizeof h->seen_job[i], "%s", path);
        snprintf(h->seen_result[i], sizeof h->seen_result[i], "%s", result);
        return 0;
}

static int on_followup_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        JobRun *h = userdata;
        char err[800];
        (void) ret_error;
        h->call = sd_bus_slot_unref(h->call);
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        if (!e) {
                job_end(h, 0, NULL);
                return 0;
        }
        snprintf(err, sizeof err, "updating %s: %s", h->unit, e->message ?: e->name);
        job_end(h, -sd_bus_message_get_errno(reply) ?: -EIO, err);
        return 0;
}

static int on_job_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        JobRun *h = userdata;
        const char *job;
        char err[800];
        (void) ret_error;
        h->call = sd_bus_slot_unref(h->call);
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        if (e && manager_peer_lost(e) && h->resends < MAX_RESENDS) {
                char what[300];
                snprintf(what, sizeof what, "The %s of %s", h->kind == JOB_STOP ? "stop" : "start", h->unit);
                if (priv_resend(h->sent, what, e, &h->call, on_job_reply, h) >= 0) {
                        h->resends++;
                        return 0;
                }
        }
        /* A slice that runs already: its limits change in place. */
        if (e && h->followup && sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists")) {
                int r = sd_bus_call_async(NULL, &h->call, h->followup, on_followup_reply, h, 0);
                if (r < 0)
                        job_end(h, r, "updating the slice: cannot send SetUnitProperties");
                return 0;
        }
        /* The first copy of a start reached systemd: its job's end is the
         * last seen, or the next. */
        if (e && h->resends > 0 && h->kind != JOB_STOP &&
            sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists")) {
                if (h->n_seen > 0)
                        job_ended(h, h->seen_result[h->n_seen - 1]);
                else
                        h->any_job = true;
                return 0;
        }
        if (e) {
                /* Not loaded: nothing to stop. */
                if (h->kind == JOB_STOP && sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit")) {
                        job_end(h, 0, NULL);
                        return 0;
                }
                if (h->kind == JOB_STOP)
                        snprintf(err, sizeof err, "StopUnit: %s", e->message ?: e->name);
                else if (h->kind == JOB_HELPER)
                        snprintf(err, sizeof err, "starting the helper: %s", e->message ?: e->name);
                else
                        snprintf(err, sizeof err, "starting %s: %s", h->unit, e->message ?: e->name);
                job_end(h, -sd_bus_message_get_errno(reply) ?: -EIO, err);
                return 0;
        }
        if (sd_bus_message_read(reply, "o", &job) < 0) {
                job_end(h, -EBADMSG, "a reply without a job");
                return 0;
        }
        snprintf(h->job, sizeof h->job, "%s", job);
        for (unsigned i = 0; i < h->n_seen; i++)
                if (strcmp(h->seen_job[i], job) == 0) {
                        job_ended(h, h->seen_result[i]);
                        return 0;
                }
        return 0;
}

static int on_job_give_up(sd_event_source *s, uint64_t usec, void *userdata) {
        JobRun *h = userdata;
        char err[600];
        (void) s;
        (void) usec;
        if (h->kind == JOB_HELPER) {
                manager_stop_async(h->bus, h->unit); /* not left running */
                snprintf(err, sizeof err, "%s took longer than %llu s and was stopped", h->prog,
                         (unsigned long long) (h->timeout_usec / USEC_PER_SEC));
        } else
                snprintf(err, sizeof err, "no end of its %s job from systemd within %llu s",
                         h->kind == JOB_STOP ? "stop" : "start", (unsigned long long) (h->timeout_usec / USEC_PER_SEC));
        job_end(h, -ETIMEDOUT, err);
        return 0;
}

/* Sends m (a call to privd whose answer is a job of unit) and follows the
 * job on the loop, for timeout_usec at most; done as manager_stop() has it.
 * A helper's prog and errfile (its stderr, removed at the end), or NULL. */
static int job_run(sd_bus *bus, JobKind kind, const char *unit, sd_bus_message *m, sd_bus_message *followup,
                   uint64_t timeout_usec, const char *prog, const char *errfile, ManagerDone done, void *userdata) {
        sd_event *e = sd_bus_get_event(bus);
        char match[512];
        if (!e)
                return -ENOTCONN;
        if (strlen(unit) >= sizeof ((JobRun *) 0)->unit)
                return -EINVAL;
        _cleanup_(job_run_freep) JobRun *h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->bus = sd_bus_ref(bus);
        h->kind = kind;
        h->any_job = kind == JOB_HELPER;
        h->timeout_usec = timeout_usec;
        h->followup = followup ? sd_bus_message_ref(followup) : NULL;
        h->done = done;
        h->userdata = userdata;
        snprintf(h->unit, sizeof h->unit, "%s", unit);
        snprintf(h->prog, sizeof h->prog, "%s", prog ?: "");
        snprintf(h->errfile, sizeof h->errfile, "%s", errfile ?: "");
        /* Every JobRemoved; on_job_run_removed() takes this unit's.  (With
         * arg2='UNIT' in the rule the sandbox's bus delivered none, seen for
         * a timer's stop: a CronWorkflow's delete then waited for ever.) */
        snprintf(match, sizeof match,
                 "type='signal',sender='" DEST "',path='" PATH "',interface='" IFACE "',member='JobRemoved'");
        /* This match is local: the bus has delivered every JobRemoved to
         * this connection since manager_watch_jobs(), so none is missed
         * while the rule is on its way.  The call is sent at once, in order
         * with what the caller sends next (a start after a stop). */
        int r = sd_bus_add_match_async(bus, &h->match, match, on_job_run_removed, NULL, h);
        if (r >= 0)
                r = sd_bus_call_async(NULL, &h->call, m, on_job_reply, h, 0);
        if (r >= 0)
                h->sent = sd_bus_message_ref(m);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &h->timer, CLOCK_MONOTONIC, timeout_usec, 0, on_job_give_up, h);
        if (r < 0) {
                h->errfile[0] = '\0'; /* the caller's still */
                return r;
        }
        TAKE_PTR(h); /* the loop's now: freed once done has been told */
        return 0;
}

int manager_run_async(sd_bus *bus, const char *unit_prefix, char *const *argv, uint64_t timeout_usec,
                      HelperDone done, void *userdata, char *unit, size_t unitsz) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        char name[256], errfile[300];
        int r = helper_message(bus, unit_prefix, argv, name, sizeof name, errfile, sizeof errfile, &m);
        if (r < 0)
                return r;
        r = job_run(bus, JOB_HELPER, name, m, NULL, timeout_usec, argv[0], errfile, done, userdata);
        if (r < 0) {
                (void) unlink(errfile);
                return r;
        }
        if (unit)
                snprintf(unit, unitsz, "%s", name);
        return 0;
}

int manager_stop(sd_bus *bus, const char *unit, ManagerDone done, void *userdata) {
        sd_bus *p = priv();
        if (!p)
                return -ENOTCONN;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(p, &m, DEST, PATH, IFACE, "StopUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", unit, "replace");
        return r < 0 ? r : job_run(bus, JOB_STOP, unit, m, NULL, STOP_GIVE_UP_USEC, NULL, NULL, done, userdata);
}

/* Nothing a workload leaves in shared memory outlives it or is seen by
 * another: its own IPC namespace (System V, POSIX message queues) and its
 * own /dev/shm (PrivateDevices= binds the host's). */
static int append_private_ipc(sd_bus_message *m) {
        int r = sd_bus_message_append(m, "(sv)", "PrivateIPC", "b", 1);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "TemporaryFileSystem", "a(ss)", 1, "/dev/shm",
                                          "mode=1777,nosuid,nodev"); /* its pages count against the unit's MemoryMax= */
        return r;
}

/* What a workload unit cannot do whatever its user may: options that cost
 * a seccomp rule or a bind mount in the mount namespace the unit has
 * anyway (a replica rates 2.0 in systemd-analyze security).  Not
 * MemoryDenyWriteExecute= (JIT compilers: PyTorch, numba, XLA) nor
 * ProcSubset=pid (libraries read /proc/meminfo and /proc/cpuinfo). */
static int append_hardening(sd_bus_message *m, bool mounts) {
        int r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)", "RemoveIPC", "b", 1, "RestrictSUIDSGID", "b", 1,
                                      "RestrictRealtime", "b", 1, "ProtectClock", "b", 1, "ProtectHostname", "b", 1);
        /* These five cost mount work at each start: measured in the sandbox,
         * 25-28 ms a serial systemd-run without them, 40-42 ms with them
         * (bench/README.md).  A replica starts once per wake (its cold start
         * did not move); a pipeline step starts for every step, so steps
         * go without them: what they guard is root's to write anyway, and a
         * step has no capabilities. */
        if (r >= 0 && mounts)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)", "ProtectKernelLogs", "b", 1, "ProtectKernelModules",
                                          "b", 1, "ProtectKernelTunables", "b", 1, "ProtectControlGroups", "b", 1,
                                          "ProtectProc", "s", "invisible");
        return r;
}

/* IPAddressDeny=any, for a unit that has no IP socket anyway
 * (RestrictAddressFamilies=AF_UNIX): a second wall, and systemd-analyze
 * security counts it. */
static int append_ip_deny_all(sd_bus_message *m) {
        static const uint8_t zero[16] = { 0 };
        int r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "IPAddressDeny");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(iayu)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(iayu)");
        for (int k = 0; k < 2 && r >= 0; k++) {
                r = sd_bus_message_open_container(m, 'r', "iayu");
                if (r >= 0)
                        r = sd_bus_message_append(m, "i", k == 0 ? AF_INET : AF_INET6);
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', zero, k == 0 ? 4 : 16);
                if (r >= 0)
                        r = sd_bus_message_append(m, "u", (uint32_t) 0);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        for (int k = 0; k < 3 && r >= 0; k++)
                r = sd_bus_message_close_container(m);
        return r;
}

/* The sandbox every replica process gets, and the limits; one service's
 * properties, appended to an open a(sv). */
static int append_sandbox(sd_bus_message *m, const ReplicaSpec *sp, const char *type, uint64_t memory_max,
                          uint64_t cpu_quota, bool self_confined) {
        int r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)",
                                      "Description", "s", sp->description, "Type", "s", type, "User", "s", sp->user,
                                      "Group", "s", sp->user, "Slice", "s", sp->slice, "NoNewPrivileges", "b", 1,
                                      "PrivateNetwork", "b", 1, "PrivateTmp", "b", 1, "ProtectSystem", "s", "strict",
                                      "ProtectHome", "s", "yes", "PrivateDevices", "b", 1, "DevicePolicy", "s",
                                      "closed", "CapabilityBoundingSet", "t", (uint64_t) 0, "MemoryMax", "t",
                                      memory_max, "CPUQuotaPerSecUSec", "t", cpu_quota, "CollectMode", "s",
                                      "inactive-or-failed");
        if (r >= 0)
                r = append_private_ipc(m);
        if (r >= 0)
                r = append_hardening(m, true);
        /* (bas): true = an allow-list.  A custom server and its forwarder
         * talk TCP, on the loopback of their own network namespace. */
        if (r >= 0 && !sp->server_argv) {
                r = sd_bus_message_append(m, "(sv)", "RestrictAddressFamilies", "(bas)", 1, 1, "AF_UNIX");
                if (r >= 0)
                        r = append_ip_deny_all(m);
        }
        else if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "RestrictAddressFamilies", "(bas)", 1, 3, "AF_UNIX", "AF_INET",
                                          "AF_INET6");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "SystemCallArchitectures", "as", 1, "native",
                                          "SystemCallErrorNumber", "i", (int32_t) EPERM, "RestrictNamespaces", "t",
                                          (uint64_t) 0, "LockPersonality", "b", 1);
        /* A runtime that does not confine itself gets systemd's system-call
         * allow-list.  sdflow-serve installs a narrower one of its own once
         * its model is loaded, and systemd's would cost every cold start
         * ~20 ms (it compiles @system-service's ~400 calls at each exec). */
        if (r >= 0 && !self_confined)
                r = sd_bus_message_append(m, "(sv)", "SystemCallFilter", "(bas)", 1, 1, "@system-service");
        if (r >= 0) {
                char *ro[] = { (char *) sp->read_only, NULL };
                r = append_strv_prop(m, "ReadOnlyPaths", ro);
        }
        return r;
}

/* Opens the next auxiliary unit, named name, with its a(sv). */
static int open_aux(sd_bus_message *m, const char *name) {
        int r = sd_bus_message_open_container(m, 'r', "sa(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        return r;
}

static int close_aux(sd_bus_message *m) {
        int r = sd_bus_message_close_container(m);
        return r >= 0 ? sd_bus_message_close_container(m) : r;
}

int manager_start_replica(sd_bus *bus, const ReplicaSpec *sp, ManagerDone done, void *userdata, char *err,
                          size_t errsz) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        char sock[300], svc[300], server[320];
        bool forward = sp->server_argv != NULL;
        int r;

        snprintf(sock, sizeof sock, "%s.socket", sp->base);
        snprintf(svc, sizeof svc, "%s.service", sp->base);
        snprintf(server, sizeof server, "%s-server.service", sp->base);
        r = priv_call(&m, "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", sock, "replace");
        /* The socket. */
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)", "Description", "s", sp->description,
                                          "Listen", "a(ss)", 1, "Stream", sp->socket_path, "SocketMode", "u",
                                          0666, "FileDescriptorName", "s", "model", "Slice", "s", sp->slice,
                                          "RemoveOnStop", "b", 1);
        /* A socket that systemd stops (its server crash-looped) comes back
         * after a pause: see units/sdflow-revive@.service. */
        char revive[400];
        snprintf(revive, sizeof revive, "sdflow-revive@%s.service", sock);
        if (r >= 0) {
                char *on_failure[] = { revive, NULL };
                r = append_strv_prop(m, "OnFailure", on_failure);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        /* The service the socket starts, as an auxiliary unit: the model
         * server itself, or (custom containers) sdflow-forward in front of it. */
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sa(sv))");
        if (r >= 0)
                r = open_aux(m, svc);
        if (r >= 0)
                r = forward ? append_sandbox(m, sp, "notify", 64 << 20, UINT64_MAX, false)
                            : append_sandbox(m, sp, "notify", sp->memory_max, sp->cpu_quota_per_sec_usec,
                                             sp->self_confined);
        if (r >= 0 && sp->env && sp->env[0] && !forward)
                r = append_env(m, sp->env);
        if (r >= 0 && forward) {
                /* In the server's network namespace, needing it: when the
                 * forwarder exits on idle, the server (StopWhenUnneeded=) goes too. */
                char *deps[] = { server, NULL };
                r = append_strv_prop(m, "JoinsNamespaceOf", deps);
                if (r >= 0)
                        r = append_strv_prop(m, "Requires", deps);
                if (r >= 0)
                        r = append_strv_prop(m, "After", deps);
        }
        if (r >= 0)
                r = append_exec(m, sp->argv);
        if (r >= 0)
                r = close_aux(m);
        if (r >= 0 && forward) {
                r = open_aux(m, server);
                if (r >= 0)
                        r = append_sandbox(m, sp, "simple", sp->memory_max, sp->cpu_quota_per_sec_usec, false);
                if (r >= 0)
                        r = sd_bus_message_append(m, "(sv)", "StopWhenUnneeded", "b", 1);
                if (r >= 0)
                        r = append_process(m, server, sp->env, sp->working_directory, sp->root_directory,
                                           sp->root_image);
                if (r >= 0)
                        r = append_exec(m, sp->server_argv);
                if (r >= 0)
                        r = close_aux(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return bus_fail(r, NULL, err, errsz, "building StartTransientUnit");
        /* Its path exists once the socket's start job is done: done says so. */
        r = job_run(bus, JOB_START, sock, m, NULL, START_GIVE_UP_USEC, NULL, NULL, done, userdata);
        return r < 0 ? bus_fail(r, NULL, err, errsz, "starting the replica") : 0;
}

int manager_unit_active(sd_bus *bus, const char *unit) {
        _cleanup_free_ char *path = NULL, *state = NULL;
        int r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(bus, DEST, path, "org.freedesktop.systemd1.Unit", "ActiveState", NULL, &state);
        if (r < 0)
                return r;
        return strcmp(state, "active") == 0 || strcmp(state, "activating") == 0 || strcmp(state, "reloading") == 0 ||
               strcmp(state, "deactivating") == 0;
}

/* The sandbox of a pipeline step, appended to an open a(sv).  Its files
 * are readable (UMask=0022) by whoever passes the namespace's door,
 * /var/lib/sdflow/ns/NS: its user, owner and contributors only.  Each
 * namespace option costs the step's start a few milliseconds of mount work
 * (measured: bench/README.md). */
static int append_step_sandbox(sd_bus_message *m, const StepSpec *sp) {
        int r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)",
                                      "Description", "s", sp->description, "Type", "s", "oneshot", "User", "s",
                                      sp->user, "Group", "s", sp->user, "Slice", "s", sp->slice, "NoNewPrivileges",
                                      "b", 1, "PrivateNetwork", "b", 1, "PrivateTmp", "b", 1, "ProtectSystem", "s",
                                      "strict", "ProtectHome", "s", "yes", "PrivateDevices", "b", 1, "DevicePolicy",
                                      "s", "closed", "CapabilityBoundingSet", "t", (uint64_t) 0, "MemoryMax", "t",
                                      sp->memory_max, "CPUQuotaPerSecUSec", "t", sp->cpu_quota_per_sec_usec,
                                      "TimeoutStartUSec", "t", sp->timeout_usec);
        /* No SystemCallFilter=: sdflow-step installs its own (see step.c). */
        if (r >= 0)
                r = append_private_ipc(m);
        if (r >= 0)
                r = append_hardening(m, false);
        if (r >= 0)
                r = append_ip_deny_all(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)", "RestrictAddressFamilies",
                                          "(bas)", 1, 1, "AF_UNIX", "SystemCallArchitectures", "as", 1, "native",
                                          "SystemCallErrorNumber", "i", (int32_t) EPERM, "RestrictNamespaces", "t", (uint64_t) 0,
                                          "LockPersonality", "b", 1, "UMask", "u", (uint32_t) 0022,
                                          "MemorySwapMax", "t", sp->memory_max == UINT64_MAX ? UINT64_MAX : 0);
        if (r >= 0) {
                char *rw[] = { (char *) sp->rw_path, NULL };
                r = append_strv_prop(m, "ReadWritePaths", rw);
        }
        if (r >= 0)
                r = append_process(m, sp->unit, sp->env, sp->working_directory, sp->root_directory, sp->root_image);
        if (r >= 0 && sp->n_binds > 0) {
                /* BindReadOnlyPaths=: a(ssbt) source, destination, ignore if missing, MS_REC */
                r = sd_bus_message_open_container(m, 'r', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "BindReadOnlyPaths");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "a(ssbt)");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "(ssbt)");
                for (size_t i = 0; i < sp->n_binds && r >= 0; i++)
                        r = sd_bus_message_append(m, "(ssbt)", sp->bind_src[i], sp->bind_dst[i], 0, (uint64_t) 16384);
                for (int k = 0; k < 3 && r >= 0; k++)
                        r = sd_bus_message_close_container(m);
        }
        return r;
}

int manager_start_step(sd_bus *bus, const StepSpec *sp, sd_bus_message_handler_t cb, void *userdata, char *err,
                       size_t errsz) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r = priv_call(&m, "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", sp->unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = append_step_sandbox(m, sp);
        if (r >= 0)
                r = append_exec(m, sp->argv);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return bus_fail(r, NULL, err, errsz, "building StartTransientUnit");
        r = sd_bus_call_async(NULL, NULL, m, cb, userdata, 0);
        if (r < 0)
                return bus_fail(r, NULL, err, errsz, "sending StartTransientUnit");
        return 0;
}

int manager_subscribe(sd_bus *bus, sd_bus_slot **slot, sd_bus_message_handler_t cb, void *userdata) {
        int r = sd_bus_match_signal(bus, slot, DEST, PATH, IFACE, "JobRemoved", cb, userdata);
        if (r < 0)
                return r;
        return sd_bus_call_method_async(bus, NULL, DEST, PATH, IFACE, "Subscribe", NULL, NULL, "");
}

int manager_unit_result(sd_bus *bus, const char *unit, char *state, size_t state_size, char *result,
                        size_t result_size, int *exit_status) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        _cleanup_free_ char *s = NULL, *res = NULL;
        int32_t status = 0;
        int r = sd_bus_call_method(bus, DEST, PATH, IFACE, "GetUnit", &e, &reply, "s", unit);
        if (r < 0)
                return sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit") ? -ENOENT : r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, DEST, path, "org.freedesktop.systemd1.Unit", "ActiveState", NULL,
                                               &s);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, DEST, path, "org.freedesktop.systemd1.Service", "Result", NULL,
                                               &res);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, DEST, path, "org.freedesktop.systemd1.Service", "ExecMainStatus",
                                                NULL, 'i', &status);
        if (r >= 0) {
                snprintf(state, state_size, "%s", s);
                snprintf(result, result_size, "%s", res);
                *exit_status = status;
        }
        return r < 0 ? r : 0;
}

void manager_reset_failed(sd_bus *bus, const char *unit) {
        sd_bus *p = priv();
        if (p)
                (void) sd_bus_call_method_async(p, NULL, DEST, PATH, IFACE, "ResetFailedUnit", NULL, NULL, "s", unit);
}

void manager_stop_async(sd_bus *bus, const char *unit) {
        sd_bus *p = priv();
        if (p)
                (void) sd_bus_call_method_async(p, NULL, DEST, PATH, IFACE, "StopUnit", NULL, NULL, "ss", unit,
                                                "replace");
}

int manager_start_timer(sd_bus *bus, const char *base, char *const *calendars, bool persistent, char *const *argv,
                        const char *user, const char *slice, const char *description, ManagerDone done, void *userdata,
                        char *err, size_t errsz) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        char timer[300], svc[300];
        int r;

        snprintf(timer, sizeof timer, "%s.timer", base);
        snprintf(svc, sizeof svc, "%s.service", base);
        /* (A changed schedule replaces the timer: the caller stopped it.) */
        r = priv_call(&m, "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", timer, "replace");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "Description", "s", description, "Persistent", "b",
                                          (int) persistent, "AccuracyUSec", "t", (uint64_t) 1000000, "RemainAfterElapse",
                                          "b", 1);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "TimersCalendar");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(ss)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(ss)");
        for (size_t i = 0; calendars[i] && r >= 0; i++)
                r = sd_bus_message_append(m, "(ss)", "OnCalendar", calendars[i]);
        for (int k = 0; k < 3 && r >= 0; k++)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        /* The service the timer starts: a client of the API, nothing more. */
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sa(sv))");
        if (r >= 0)
                r = open_aux(m, svc);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)", "Description", "s",
                                          description, "Type", "s", "oneshot", "CollectMode", "s",
                                          "inactive-or-failed", "NoNewPrivileges", "b", 1, "PrivateNetwork", "b", 1,
                                          "PrivateTmp", "b", 1, "ProtectSystem", "s", "strict", "ProtectHome", "s",
                                          "yes", "CapabilityBoundingSet", "t", (uint64_t) 0, "PrivateDevices", "b", 1);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "User", "s", user, "Group", "s", user, "Slice", "s",
                                          slice, "RestrictAddressFamilies", "(bas)", 1, 1, "AF_UNIX");
        if (r >= 0)
                r = append_hardening(m, false);
        if (r >= 0)
                r = append_ip_deny_all(m);
        if (r >= 0)
                r = append_exec(m, argv);
        if (r >= 0)
                r = close_aux(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return bus_fail(r, NULL, err, errsz, "building StartTransientUnit");
        r = job_run(bus, JOB_START, timer, m, NULL, START_GIVE_UP_USEC, NULL, NULL, done, userdata);
        return r < 0 ? bus_fail(r, NULL, err, errsz, "starting the timer") : 0;
}
