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
#include "cronwf.h"
#include "log.h"
#include "objects.h"
#include "slice.h"
#include "jsonutil.h"
#include "phase.h"

#define LABEL_CRON "workflows.argoproj.io/cron-workflow"

typedef struct CronCtl {
        Objects *objects;
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

/* Arms a CronWorkflow's timer and stores its status. */
static void cron_arm(void *self, json_t *cwf) {
        CronCtl *cc = self;
        Namespaces *n = cc->objects->namespaces;
        char err[512] = "", ts[32];
        json_t *cal = NULL;
        json_auto_t *st = json_object_copy_or_new(json_object_get(cwf, "status"));
        if (!st)
                return;
        int r = n->bus ? cronwf_arm(n, cwf, &cal, err, sizeof err) : -ENOTCONN;
        format_now_rfc3339(ts, sizeof ts);
        bool suspended = json_is_true(json_object_get(json_object_get(cwf, "spec"), "suspend"));
        json_object_set_new(st, "conditions",
                            json_pack("[{s:s, s:s, s:s, s:s, s:s}]", "type", "Ready", "status", r < 0 ? "False" : "True",
                                      "reason", r < 0 ? "TimerFailed" : suspended ? "Suspended" : "Scheduled", "message",
                                      r < 0 ? (err[0] ? err : "systemd cannot be reached")
                                            : suspended ? "suspended: no timer runs"
                                                        : "a systemd timer runs it",
                                      "lastTransitionTime", ts));
        if (cal)
                json_object_set_new(st, "sdflowOnCalendar", cal);
        if (r < 0)
                log_warning("CronWorkflow %s/%s: %s", manifest_namespace(cwf), manifest_name(cwf), err);
        (void) objects_set_status(cc->objects, &kind_cronworkflow, cwf, st, NULL);
}

/* The timers are transient: gone after a reboot. */
static void cron_reconcile(void *self) {
        CronCtl *cc = self;
        objects_each(cc->objects, &kind_cronworkflow, NULL, cron_arm, cc);
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
        cron_arm(cc, ap->stored);
        objects_reload(cc->objects, &kind_cronworkflow, &ap->stored);
}

/* Its timer stops; its workflows go with it, as Kubernetes' garbage
 * collector takes them in Argo. */
static int cron_remove(void *self, json_t *obj, RemoveDone done, void *userdata, char *err, size_t size) {
        CronCtl *cc = self;
        Objects *o = cc->objects;
        const char *ns = manifest_namespace(obj), *name = manifest_name(obj);
        char e[512];
        json_t *w;
        size_t i;
        (void) done;
        (void) userdata;
        if (o->namespaces->bus && cronwf_disarm(o->namespaces, ns, name, e, sizeof e) < 0) {
                snprintf(err, size, "stopping the timer failed: %s", e);
                return -EIO;
        }
        json_auto_t *children = cron_children(cc, ns, name);
        json_array_foreach(children, i, w)
                ctl_workflow_delete(o, ns, manifest_name(w), "its CronWorkflow's deletion");
        return 0;
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
        int r = wf ? objects_store(o, &kind_workflow, wf, created) : -ENOMEM;
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
        CronCtl *cc = calloc(1, sizeof *cc);
        if (!cc)
                return -ENOMEM;
        cc->objects = o;
        *ret = cc;
        return 0;
}

static void cron_free(void *self) {
        free(self);
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
        .subresources = cron_subresources,
};
