/* ctl-cron.c: the CronWorkflow controller.  A CronWorkflow is a systemd
 * timer (cronwf.c) whose service triggers a run through the API
 * (.../trigger?scheduled=1), as Argo's controller makes them:
 * concurrencyPolicy, a Workflow NAME-<unix time>, history limits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controllers.h"
#include "crashguard.h"
#include "cronwf.h"
#include "log.h"
#include "objects.h"
#include "slice.h"
#include "jsonutil.h"
#include "phase.h"

#define LABEL_CRON "workflows.argoproj.io/cron-workflow"

typedef struct CronCtl {
        Objects *objects;
        json_t *arming;    /* "ns/name" -> {token, again}: a timer being armed, and the apply after it */
        unsigned long long armed; /* the last token given */
} CronCtl;

/* The Workflows a CronWorkflow made (label workflows.argoproj.io/cron-workflow), oldest first. */
static json_t *cron_children(CronCtl *cc, const char *ns, const char *cwf) {
        json_auto_t *items = NULL;
        json_t *out = json_array(), *w;
        size_t i;
        if (!out || store_list(cc->objects->store, &kind_workflow, ns, &items, NULL) < 0)
                return out;
        json_array_foreach(items, i, w) {
                const char *l = json_string_value(
                        json_object_get(json_object_get(json_object_get(w, "metadata"), "labels"), LABEL_CRON));
                if (l && strcmp(l, cwf) == 0)
                        json_array_append(out, w);
        }
        /* By creation time (then name). */
        size_t n = json_array_size(out);
        for (size_t x = 1; x < n; x++)
                for (size_t y = x; y > 0; y--) {
                        json_t *p = json_array_get(out, y - 1), *q = json_array_get(out, y);
                        const char *tp = json_string_value(json_object_get(json_object_get(p, "metadata"), "creationTimestamp")) ?: "";
                        const char *tq = json_string_value(json_object_get(json_object_get(q, "metadata"), "creationTimestamp")) ?: "";
                        int cmp = strcmp(tp, tq);
                        if (cmp < 0 || (cmp == 0 && strcmp(manifest_name(p), manifest_name(q)) <= 0))
                                break;
                        json_incref(p);
                        json_array_set(out, y - 1, q);
                        json_array_set_new(out, y, p);
                }
        return out;
}

static bool wf_finished(json_t *w) {
        return phase_workflow_done(json_str(json_object_get(w, "status"), "phase"));
}

/* A timer being armed: one at a time per CronWorkflow (a stop and a start
 * that two applies interleaved would leave the wrong timer, or none). */
typedef struct Arm {
        CronCtl *ctl;
        char ns[128], name[256], token[32];
} Arm;

static void arm_start(CronCtl *cc, json_t *cwf, const char *token);

/* Stores the Ready condition of cwf's timer. */
static void store_armed(CronCtl *cc, json_t *cwf, int r, const char *err, json_t *calendars) {
        char ts[32];
        json_auto_t *st = json_object_copy_or_new(json_object_get(cwf, "status"));
        if (!st)
                return;
        format_now_rfc3339(ts, sizeof ts);
        bool suspended = json_is_true(json_object_get(json_object_get(cwf, "spec"), "suspend"));
        json_object_set_new(st, "conditions",
                            json_pack("[{s:s, s:s, s:s, s:s, s:s}]", "type", "Ready", "status", r < 0 ? "False" : "True",
                                      "reason", r < 0 ? "TimerFailed" : suspended ? "Suspended" : "Scheduled", "message",
                                      r < 0 ? (err && err[0] ? err : "systemd cannot be reached")
                                            : suspended ? "suspended: no timer runs"
                                                        : "a systemd timer runs it",
                                      "lastTransitionTime", ts));
        if (calendars)
                json_object_set(st, "sdflowOnCalendar", calendars);
        if (r < 0)
                log_warning("CronWorkflow %s/%s: %s", manifest_namespace(cwf), manifest_name(cwf), err ?: "");
        (void) objects_set_status(cc->objects, &kind_cronworkflow, cwf, st, NULL);
}

static void on_armed(int r, const char *err, json_t *calendars, void *userdata) {
        _cleanup_free_ Arm *a = userdata;
        CronCtl *cc = a->ctl;
        char key[400], again[32];
        json_auto_t *cwf = NULL;
        snprintf(key, sizeof key, "%s/%s", a->ns, a->name);
        /* An apply that came meanwhile waits for the next arming. */
        snprintf(again, sizeof again, "%s",
                 json_string_value(json_object_get(json_object_get(cc->arming, key), "again")) ?: "");
        (void) json_object_del(cc->arming, key);
        if (store_get(cc->objects->store, &kind_cronworkflow, a->ns, a->name, &cwf) >= 0) {
                _cleanup_guard_ unsigned g = crashguard_enter(&kind_cronworkflow, cwf, GUARD_ADVANCE);
                store_armed(cc, cwf, r, err, calendars);
        }
        objects_settled(cc->objects, &kind_cronworkflow, a->ns, a->name, a->token);
        if (again[0] && cwf) {
                objects_reload(cc->objects, &kind_cronworkflow, &cwf);
                arm_start(cc, cwf, again);
        } else if (again[0]) /* it was deleted meanwhile: that apply is answered */
                objects_settled(cc->objects, &kind_cronworkflow, a->ns, a->name, again);
}

/* Arms cwf's timer on the loop, its answer named token; or, while one is
 * armed, after it. */
static void arm_start(CronCtl *cc, json_t *cwf, const char *token) {
        Namespaces *n = cc->objects->namespaces;
        char key[400], err[512] = "";
        snprintf(key, sizeof key, "%s/%s", manifest_namespace(cwf), manifest_name(cwf));
        json_t *run = json_object_get(cc->arming, key);
        if (run) {
                json_object_set_new(run, "again", json_string(token));
                return;
        }
        int r = -ENOTCONN;
        _cleanup_free_ Arm *a = n->bus ? calloc(1, sizeof *a) : NULL;
        /* (Untracked, a second arming could run beside it.) */
        if (a && json_object_set_new(cc->arming, key, json_pack("{s:s}", "token", token)) >= 0) {
                *a = (Arm) { .ctl = cc };
                snprintf(a->ns, sizeof a->ns, "%s", manifest_namespace(cwf));
                snprintf(a->name, sizeof a->name, "%s", manifest_name(cwf));
                snprintf(a->token, sizeof a->token, "%s", token);
                r = cronwf_arm(n, cwf, on_armed, a, err, sizeof err);
                if (r < 0)
                        (void) json_object_del(cc->arming, key);
                else
                        TAKE_PTR(a); /* on_armed()'s */
        } else if (n->bus)
                snprintf(err, sizeof err, "out of memory");
        if (r < 0)
                store_armed(cc, cwf, r, err, NULL);
}

static void arm_one(void *self, json_t *cwf) {
        CronCtl *cc = self;
        char token[32];
        snprintf(token, sizeof token, "%llu", (unsigned long long) ++cc->armed);
        arm_start(cc, cwf, token);
}

/* The timers are transient: gone after a reboot. */
static void cron_reconcile(void *self) {
        CronCtl *cc = self;
        objects_each(cc->objects, &kind_cronworkflow, NULL, arm_one, cc);
}

static int cron_admit(void *self, json_t *obj, json_t *before, json_t *profile, Diags *d, char *msg, size_t size) {
        CronCtl *cc = self;
        (void) before;
        (void) profile;
        (void) msg;
        (void) size;
        ctl_workflow_check_images(cc->objects, json_object_get(json_object_get(obj, "spec"), "workflowSpec"),
                                  "spec.workflowSpec", d);
        return d->n_errors > 0 ? 422 : 0;
}

static void cron_react(void *self, Applied *ap) {
        CronCtl *cc = self;
        if (ap->change == STORE_UNCHANGED && json_object_get(ap->stored, "status"))
                return;
        arm_one(cc, ap->stored);
        /* (One that could not even begin has its status already.) */
        objects_reload(cc->objects, &kind_cronworkflow, &ap->stored);
}

/* An apply is answered when its timer is armed (or is not). */
static bool cron_pending(void *self, json_t *stored, char *token, size_t size) {
        CronCtl *cc = self;
        char key[400];
        snprintf(key, sizeof key, "%s/%s", manifest_namespace(stored), manifest_name(stored));
        json_t *run = json_object_get(cc->arming, key);
        if (!run)
                return false;
        snprintf(token, size, "%s", json_string_value(json_object_get(run, "again")) ?: json_string_value(json_object_get(run, "token")));
        return true;
}

static bool cron_busy(void *self) {
        CronCtl *cc = self;
        return json_object_size(cc->arming) > 0;
}

/* A CronWorkflow's removal: its timer's stop job ends first. */
typedef struct Removal {
        CronCtl *ctl;
        char ns[128], name[256];
        RemoveDone done;
        void *userdata;
} Removal;

/* Its workflows go with it, as Kubernetes' garbage collector takes them in Argo. */
static void delete_runs(CronCtl *cc, const char *ns, const char *name) {
        json_auto_t *children = cron_children(cc, ns, name);
        json_t *w;
        size_t i;
        json_array_foreach(children, i, w)
                ctl_workflow_delete(cc->objects, ns, manifest_name(w), "its CronWorkflow's deletion");
}

static void on_disarmed(int r, const char *err, void *userdata) {
        _cleanup_free_ Removal *m = userdata;
        char why[600];
        if (r < 0) {
                snprintf(why, sizeof why, "stopping the timer failed: %s", err ?: strerror(-r));
                m->done(r, why, m->userdata);
                return;
        }
        delete_runs(m->ctl, m->ns, m->name);
        m->done(0, NULL, m->userdata);
}

static int cron_remove(void *self, json_t *obj, RemoveDone done, void *userdata, char *err, size_t size) {
        CronCtl *cc = self;
        Objects *o = cc->objects;
        if (!o->namespaces->bus) { /* no timer to stop */
                delete_runs(cc, manifest_namespace(obj), manifest_name(obj));
                return 0;
        }
        if (!done) {
                snprintf(err, size, "a CronWorkflow's timer is only stopped on the loop");
                return -EOPNOTSUPP;
        }
        _cleanup_free_ Removal *m = calloc(1, sizeof *m);
        if (!m) {
                snprintf(err, size, "out of memory");
                return -ENOMEM;
        }
        *m = (Removal) { .ctl = cc, .done = done, .userdata = userdata };
        snprintf(m->ns, sizeof m->ns, "%s", manifest_namespace(obj));
        snprintf(m->name, sizeof m->name, "%s", manifest_name(obj));
        int r = cronwf_disarm(o->namespaces, m->ns, m->name, on_disarmed, m);
        if (r < 0) {
                snprintf(err, size, "stopping the timer failed: %s", strerror(-r));
                return r;
        }
        TAKE_PTR(m); /* on_disarmed()'s */
        return 1;
}

/* A CronWorkflow that left the store with its namespace: its timer (not
 * in the namespace's slice) stops too. */
static void cron_changed(void *self, const Kind *k, const char *type, json_t *obj) {
        CronCtl *cc = self;
        if (k == &kind_cronworkflow && strcmp(type, "DELETED") == 0 && cc->objects->namespaces->bus)
                cronwf_disarm_async(cc->objects->namespaces, manifest_namespace(obj), manifest_name(obj));
}

static json_t *workflow_ref(const char *ns, json_t *w) {
        return json_pack("{s:s, s:s, s:s, s:s, s:s}", "apiVersion", "argoproj.io/v1alpha1", "kind", "Workflow",
                         "namespace", ns, "name", manifest_name(w), "uid",
                         json_string_value(json_object_get(json_object_get(w, "metadata"), "uid")) ?: "");
}

/* One run, unless concurrencyPolicy says not; *created (if it made one)
 * is the stored Workflow, msg what happened. */
static void cron_run(CronCtl *cc, json_t *cwf, json_t *children, bool scheduled, json_t **created, char *msg,
                     size_t size) {
        Objects *o = cc->objects;
        const char *ns = manifest_namespace(cwf), *cname = manifest_name(cwf);
        const char *policy = json_string_value(json_object_get(json_object_get(cwf, "spec"), "concurrencyPolicy")) ?: "Allow";
        Engine *engine = ctl_workflow_engine(o);
        size_t i, active = 0;
        json_t *w;
        char name[128];
        json_array_foreach(children, i, w)
                active += !wf_finished(w);
        if (active > 0 && strcmp(policy, "Forbid") == 0) {
                snprintf(msg, size, "skipped: %zu run%s still active and concurrencyPolicy is Forbid", active,
                         active == 1 ? "" : "s");
                return;
        }
        if (active > 0 && strcmp(policy, "Replace") == 0 && engine)
                json_array_foreach(children, i, w)
                        if (!wf_finished(w))
                                (void) engine_action(engine, ns, manifest_name(w), "terminate", msg, size);
        /* NAME-<unix time>, as Argo names them; -N after it for a second run in the same second. */
        long now = (long) time(NULL);
        for (int k = 0; k < 100; k++) {
                json_auto_t *exists = NULL;
                if (k == 0)
                        snprintf(name, sizeof name, "%.50s-%ld", cname, now);
                else
                        snprintf(name, sizeof name, "%.50s-%ld-%d", cname, now, k);
                if (store_get(o->store, &kind_workflow, ns, name, &exists) < 0)
                        break;
        }
        json_auto_t *wf = cronwf_workflow(cwf, name);
        /* When it was due, as Argo's controller records it ({{workflow.scheduledTime}}):
         * a scheduled run's minute (the timer may fire a little after it). */
        char due[32];
        time_t t = scheduled ? (time_t) (now - now % 60) : (time_t) now;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(due, sizeof due, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_t *md = json_object_get(wf, "metadata"), *ann = json_object_get(md, "annotations");
        if (md && !ann && json_object_set_new(md, "annotations", json_object()) >= 0)
                ann = json_object_get(md, "annotations");
        int r = ann && json_object_set_new(ann, "workflows.argoproj.io/scheduled-time", json_string(due)) >= 0
                        ? objects_store(o, &kind_workflow, wf, created)
                        : -ENOMEM;
        if (r < 0) {
                snprintf(msg, size, "creating workflow %s failed: %s", name, strerror(-r));
                return;
        }
        snprintf(msg, size, "created workflow %s", name);
        log_info("CronWorkflow %s/%s: %s run, workflow %s.", ns, cname, scheduled ? "scheduled" : "manual", name);
}

/* PUT .../cronworkflows/NAME/trigger[?scheduled=1]: one run, as the timer makes them. */
static void handle_trigger(void *self, const Request *rq) {
        CronCtl *cc = self;
        Objects *o = cc->objects;
        const Route *rt = rq->rt;
        json_auto_t *cwf = NULL, *children = NULL, *created = NULL;
        /* The timer's service runs as the namespace's user (sdflow-privd
         * starts no unit as root): it may trigger its own namespace's runs. */
        char nsuser[64], msg[512], ts[32];
        ns_user_name(rt->ns, nsuser, sizeof nsuser);
        if (strcmp(rq->caller->user, nsuser) != 0 && objects_check_namespace(o, rq) < 0)
                return;
        if (store_get(o->store, rt->kind, rt->ns, rt->name, &cwf) < 0) {
                rest_reply_status(rq->conn, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                return;
        }
        json_t *spec = json_object_get(cwf, "spec"), *w;
        bool scheduled = rest_param_true(rq->query, rq->query_len, "scheduled");
        children = cron_children(cc, rt->ns, rt->name);
        format_now_rfc3339(ts, sizeof ts);
        json_auto_t *st = json_object_copy_or_new(json_object_get(cwf, "status"));
        if (!children || !st) {
                rest_reply_status(rq->conn, 500, rt, NULL, "out of memory");
                return;
        }
        if (scheduled)
                json_object_set_new(st, "lastScheduledTime", json_string(ts));
        cron_run(cc, cwf, children, scheduled, &created, msg, sizeof msg);
        /* History: the newest successfulJobsHistoryLimit (3) that succeeded
         * and failedJobsHistoryLimit (1) that failed are kept. */
        json_t *lim_ok = json_object_get(spec, "successfulJobsHistoryLimit");
        json_t *lim_bad = json_object_get(spec, "failedJobsHistoryLimit");
        long keep_ok = json_is_integer(lim_ok) ? (long) json_integer_value(lim_ok) : 3;
        long keep_bad = json_is_integer(lim_bad) ? (long) json_integer_value(lim_bad) : 1;
        long n_ok = 0, n_bad = 0;
        json_t *still = json_array();
        for (size_t k = json_array_size(children); k-- > 0;) {
                w = json_array_get(children, k);
                if (!wf_finished(w)) {
                        json_array_append_new(still, workflow_ref(rt->ns, w));
                        continue;
                }
                const char *ph = json_string_value(json_object_get(json_object_get(w, "status"), "phase"));
                bool ok = strcmp(ph, "Succeeded") == 0;
                if (ok ? ++n_ok > keep_ok : ++n_bad > keep_bad)
                        ctl_workflow_delete(o, rt->ns, manifest_name(w), "its CronWorkflow's history limit");
        }
        if (created)
                json_array_append_new(still, workflow_ref(rt->ns, created));
        json_object_set_new(st, "active", still);
        json_object_set_new(st, "sdflowLastMessage", json_string(msg));
        (void) objects_set_status(o, &kind_cronworkflow, cwf, st, NULL);
        json_t *reply = json_pack("{s:s, s:s, s:s, s:i, s:s}", "kind", "Status", "apiVersion", "v1", "status", "Success",
                                  "code", 200, "message", msg);
        if (created)
                json_object_set_new(reply, "details", json_pack("{s:s, s:s}", "name", manifest_name(created), "kind",
                                                                "workflows"));
        rest_reply_json(rq->conn, 200, reply, NULL);
}

static int cron_new(Objects *o, void **ret) {
        _cleanup_free_ CronCtl *cc = calloc(1, sizeof *cc);
        if (!cc)
                return -ENOMEM;
        cc->objects = o;
        cc->arming = json_object();
        if (!cc->arming)
                return -ENOMEM;
        *ret = TAKE_PTR(cc);
        return 0;
}

static void cron_free(void *self) {
        CronCtl *cc = self;
        json_decref(cc->arming);
        free(cc);
}

static const Subresource cron_subresources[] = {
        { "trigger", "PUT", false, handle_trigger },
        { NULL },
};

const ControllerType ctl_cronworkflow = {
        .kind = &kind_cronworkflow,
        .new = cron_new,
        .free = cron_free,
        .reconcile = cron_reconcile,
        .admit = cron_admit,
        .react = cron_react,
        .remove = cron_remove,
        .changed = cron_changed,
        .busy = cron_busy,
        .pending = cron_pending,
        .subresources = cron_subresources,
};
