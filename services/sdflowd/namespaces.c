/* namespaces.c: see namespaces.h. */
#include <sys/stat.h>
#include <pwd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kinds.h"
#include "log.h"
#include "manifest.h"
#include "namespaces.h"
#include "slice.h"

#define HELPER_TIMEOUT_USEC (60 * USEC_PER_SEC)

SliceLimits ns_profile_limits(json_t *profile, uint64_t *gpus) {
        SliceLimits l = SLICE_LIMITS_NONE;
        json_t *hard = json_object_get(json_object_get(json_object_get(profile, "spec"), "resourceQuotaSpec"), "hard");
        const char *key;
        json_t *v;
        *gpus = 0;
        json_object_foreach(hard, key, v) {
                const ProfileQuotaKey *k = profile_quota_key(key);
                Quantity q;
                if (!k || profile_quota_value(v, &q) < 0)
                        continue; /* refused at admission; never stored */
                switch (k->what) {
                case QUOTA_CPU:
                        l.cpu_quota_per_sec_usec = quantity_ceil_milli(q) * 1000;
                        break;
                case QUOTA_MEMORY:
                        l.memory_max = quantity_ceil_units(q);
                        break;
                case QUOTA_TASKS:
                        l.tasks_max = quantity_ceil_units(q);
                        break;
                case QUOTA_GPU:
                        *gpus = quantity_ceil_units(q);
                        break;
                default:
                        break;
                }
        }
        return l;
}

static json_t *limit_json(uint64_t v) {
        return v == UINT64_MAX ? json_string("infinity") : json_integer((json_int_t) v);
}

static json_t *status(const char *phase, const char *reason, const char *message, json_t *extra) {
        char ts[32];
        format_now_rfc3339(ts, sizeof ts);
        json_t *st = extra ?: json_object();
        json_object_set_new(st, "phase", json_string(phase));
        json_object_set_new(st, "conditions",
                            json_pack("[{s:s, s:s, s:s, s:s, s:s}]", "type", "Ready", "status",
                                      strcmp(phase, "Ready") == 0 ? "True" : "False", "reason", reason, "message",
                                      message, "lastTransitionTime", ts));
        return st;
}


/* The helper's argv: HELPER VERB NS USER OWNER CONTRIBUTOR...  (NULL on
 * failure: out of memory). */
static char **access_argv(Namespaces *n, const char *verb, const char *ns, const char *user, const char *owner,
                          json_t *contributors) {
        size_t k = 0, max = 6 + json_array_size(contributors);
        char **argv = calloc(max, sizeof *argv);
        if (!argv)
                return NULL;
        argv[k++] = (char *) n->helper;
        argv[k++] = (char *) verb;
        argv[k++] = (char *) ns;
        argv[k++] = (char *) user;
        argv[k++] = (char *) owner;
        size_t i;
        json_t *c;
        json_array_foreach(contributors, i, c) {
                const char *who = json_string_value(c);
                /* The owner is in already (ACL entries are one per user). */
                if (who && strcmp(who, owner) != 0)
                        argv[k++] = (char *) who;
        }
        return argv;
}

/* Both doors of the namespace (files, sockets) as sdflow-ns create leaves
 * them: root's, the namespace's group.  /run is empty after a reboot. */
static bool doors_in_place(const char *ns, const char *user) {
        struct passwd *pw = getpwnam(user);
        char path[300];
        struct stat st;
        if (!pw)
                return false;
        snprintf(path, sizeof path, "/var/lib/sdflow/ns/%s", ns);
        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 || st.st_gid != pw->pw_gid)
                return false;
        snprintf(path, sizeof path, "/run/sdflow/ns/%s", ns);
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 && st.st_gid == pw->pw_gid;
}

int ns_set_access(Namespaces *n, json_t *profile, json_t *contributors, HelperDone done, void *userdata, char *err,
                  size_t errsz) {
        const char *ns = manifest_name(profile);
        const char *owner = json_string_value(json_object_get(json_object_get(json_object_get(profile, "spec"), "owner"), "name"));
        char user[64];
        if (!n->bus) {
                snprintf(err, errsz, "systemd is not reachable over D-Bus");
                return -ENOTCONN;
        }
        ns_user_name(ns, user, sizeof user);
        _cleanup_free_ char **argv = access_argv(n, "access", ns, user, owner ?: "root", contributors);
        if (!argv) {
                snprintf(err, errsz, "out of memory");
                return -ENOMEM;
        }
        int r = manager_run_async(n->bus, "sdflow-ns-access", argv, HELPER_TIMEOUT_USEC, done, userdata, NULL, 0);
        if (r < 0)
                snprintf(err, errsz, "the helper could not start: %s", strerror(-r));
        return r;
}

/* What one namespace's apply works on. */
typedef struct NsApply {
        Namespaces *n;
        char ns[64], slice[300], user[64];
        SliceLimits limits;
        json_t *extra; /* the status' fields besides phase and conditions */
        NsApplied done;
        void *userdata;
} NsApply;

/* Fills a (a->extra new) from profile; a failure status, or NULL. */
static json_t *apply_prepare(Namespaces *n, json_t *profile, NsApply *a) {
        const char *ns = manifest_name(profile);
        char dir[300];
        uint64_t gpus;
        a->n = n;
        if (strlen(ns) >= sizeof a->ns || ns_slice_name(ns, a->slice, sizeof a->slice) < 0)
                return status("Failed", "InvalidName", "the namespace name cannot be a slice name", NULL);
        snprintf(a->ns, sizeof a->ns, "%s", ns);
        ns_user_name(ns, a->user, sizeof a->user);
        snprintf(dir, sizeof dir, "/var/lib/sdflow/ns/%s", ns);
        a->limits = ns_profile_limits(profile, &gpus);
        a->extra = json_pack("{s:s, s:s, s:s, s:s, s:{s:o, s:o, s:o}, s:I}", "namespace", ns, "slice", a->slice,
                             "user", a->user, "directory", dir, "limits", "CPUQuotaPerSecUSec",
                             limit_json(a->limits.cpu_quota_per_sec_usec), "MemoryMax",
                             limit_json(a->limits.memory_max), "TasksMax", limit_json(a->limits.tasks_max), "gpus",
                             (json_int_t) gpus);
        if (!n->bus)
                return status("Failed", "NoSystemd", "systemd is not reachable over D-Bus", TAKE_PTR(a->extra));
        return NULL;
}

static NsApply *ns_apply_free(NsApply *a) {
        if (a)
                json_decref(a->extra);
        free(a);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(NsApply *, ns_apply_free);

static void on_slice_started(int r, const char *err, void *userdata) {
        _cleanup_(ns_apply_freep) NsApply *a = userdata;
        json_auto_t *st = NULL;
        if (r < 0) {
                log_warning("Namespace %s: the slice failed: %s", a->ns, err);
                st = status("Failed", "SliceFailed", err, TAKE_PTR(a->extra));
        } else {
                log_info("Namespace %s ready: %s, user %s.", a->ns, a->slice, a->user);
                st = status("Ready", "SliceActive", "the slice, user and directory are in place", TAKE_PTR(a->extra));
        }
        a->done(st, a->userdata);
}

/* The user and directories are in place: the slice, on the loop.  Returns
 * NULL (a is then on_slice_started()'s, and its done follows), or the
 * failure status when the start could not be asked for (a stays the
 * caller's). */
static json_t *start_slice(NsApply *a) {
        char desc[128], why[512];
        snprintf(desc, sizeof desc, "sdflow namespace %s", a->ns);
        int r = manager_ensure_slice(a->n->bus, a->slice, desc, &a->limits, on_slice_started, a, why, sizeof why);
        if (r >= 0)
                return NULL;
        log_warning("Namespace %s: the slice failed: %s", a->ns, why);
        return status("Failed", "SliceFailed", why, TAKE_PTR(a->extra));
}

static void on_created(int r, const char *err, void *userdata) {
        _cleanup_(ns_apply_freep) NsApply *a = userdata;
        json_auto_t *st = NULL;
        if (r < 0) {
                log_warning("Namespace %s: creating user and directory failed: %s", a->ns, err);
                st = status("Failed", "UserSetupFailed", err, TAKE_PTR(a->extra));
        } else if (!(st = start_slice(a))) {
                TAKE_PTR(a); /* the slice's end tells */
                return;
        }
        a->done(st, a->userdata);
}

json_t *ns_apply(Namespaces *n, json_t *profile, json_t *contributors, NsApplied done, void *userdata) {
        const char *owner = json_string_value(json_object_get(json_object_get(json_object_get(profile, "spec"), "owner"), "name"));
        _cleanup_(ns_apply_freep) NsApply *a = calloc(1, sizeof *a);
        if (!a)
                return status("Failed", "UserSetupFailed", "out of memory", NULL);
        json_t *st = apply_prepare(n, profile, a);
        if (st)
                return st;
        _cleanup_free_ char **argv = access_argv(n, "create", a->ns, a->user, owner, contributors);
        if (!argv)
                return status("Failed", "UserSetupFailed", "out of memory", TAKE_PTR(a->extra));
        a->done = done;
        a->userdata = userdata;
        int r = manager_run_async(n->bus, "sdflow-ns-create", argv, HELPER_TIMEOUT_USEC, on_created, a, NULL, 0);
        if (r >= 0) {
                TAKE_PTR(a); /* on_created()'s */
                return NULL;
        }
        char why[200];
        snprintf(why, sizeof why, "the helper could not start: %s", strerror(-r));
        log_warning("Namespace %s: creating user and directory failed: %s", a->ns, why);
        return status("Failed", "UserSetupFailed", why, TAKE_PTR(a->extra));
}

json_t *ns_restore(Namespaces *n, json_t *profile, json_t *contributors, NsApplied done, void *userdata) {
        _cleanup_(ns_apply_freep) NsApply *a = calloc(1, sizeof *a);
        if (!a)
                return status("Failed", "UserSetupFailed", "out of memory", NULL);
        json_t *st = apply_prepare(n, profile, a);
        if (st)
                return st;
        /* A namespace that was Ready and still has its user and directories
         * (they outlive sdflowd; /run not a reboot) needs only its slice
         * again (transient): a restart, after a crash say, is then quick.
         * Otherwise the helper runs, as for an apply.  Both on the loop. */
        const char *phase = json_string_value(json_object_get(json_object_get(profile, "status"), "phase"));
        if (!(phase && strcmp(phase, "Ready") == 0 && doors_in_place(a->ns, a->user)))
                return ns_apply(n, profile, contributors, done, userdata);
        a->done = done;
        a->userdata = userdata;
        st = start_slice(a);
        if (!st)
                TAKE_PTR(a); /* on_slice_started()'s */
        return st;
}

/* A namespace's deletion on the event loop: its slice stops (every
 * workload in it; one that ignores SIGTERM takes TimeoutStopSec=), then the
 * helper removes its user and files. */
typedef struct NsDeletion {
        Namespaces *n;
        char ns[64], user[64];
        NsDeleted done;
        void *userdata;
} NsDeletion;

static void deletion_end(NsDeletion *d, int r, const char *err) {
        if (r >= 0)
                log_info("Namespace %s removed.", d->ns);
        else
                log_warning("Namespace %s: removing it failed: %s", d->ns, err);
        d->done(r, err, d->userdata);
        free(d);
}

static void on_ns_helper_done(int r, const char *err, void *userdata) {
        deletion_end(userdata, r, err);
}

static void on_slice_stopped(int r, const char *err, void *userdata) {
        NsDeletion *d = userdata;
        char unit[256], msg[300];
        if (r < 0) {
                snprintf(msg, sizeof msg, "stopping the slice: %s", err);
                deletion_end(d, r, msg);
                return;
        }
        char *const argv[] = { (char *) d->n->helper, (char *) "delete", d->ns, d->user, NULL };
        r = manager_run_async(d->n->bus, "sdflow-ns-delete", argv, HELPER_TIMEOUT_USEC, on_ns_helper_done, d, unit,
                              sizeof unit);
        if (r < 0) {
                snprintf(msg, sizeof msg, "starting the helper: %s", strerror(-r));
                deletion_end(d, r, msg);
        }
}

int ns_delete(Namespaces *n, const char *ns, NsDeleted done, void *userdata, char *err, size_t errsz) {
        char slice[300];
        if (!n->bus) {
                snprintf(err, errsz, "systemd is not reachable over D-Bus");
                return -ENOTCONN;
        }
        if (ns_slice_name(ns, slice, sizeof slice) < 0 || strlen(ns) >= sizeof ((NsDeletion *) 0)->ns) {
                snprintf(err, errsz, "invalid namespace name");
                return -EINVAL;
        }
        NsDeletion *d = calloc(1, sizeof *d);
        if (!d) {
                snprintf(err, errsz, "out of memory");
                return -ENOMEM;
        }
        d->n = n;
        d->done = done;
        d->userdata = userdata;
        snprintf(d->ns, sizeof d->ns, "%s", ns);
        ns_user_name(ns, d->user, sizeof d->user);
        /* Stopping the slice stops every unit in it. */
        int r = manager_stop(n->bus, slice, on_slice_stopped, d);
        if (r < 0) {
                snprintf(err, errsz, "stopping the slice: %s", strerror(-r));
                free(d);
        }
        return r;
}
