/* cronwf.c: see cronwf.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "macro.h"
#include "cronwf.h"
#include "manager.h"
#include "manifest.h"
#include "slice.h"

#define SDFLOW_CLI "/usr/bin/sdflow"

static void timer_base(const char *ns, const char *name, char *buf, size_t size) {
        snprintf(buf, size, "sdflow-cron_%s_%s", ns, name);
}

/* The OnCalendar= lines of cwf's schedules, or NULL with why in err. */
static json_t *calendar_lines(json_t *cwf, char *err, size_t errsz) {
        json_t *spec = json_object_get(cwf, "spec"), *s;
        const char *tz = json_string_value(json_object_get(spec, "timezone"));
        size_t i;
        json_auto_t *schedules = json_array(), *lines = json_array();
        /* (A schedule or a line lost would be a run missed without a word.) */
        bool oom = !schedules || !lines;
        if (!oom && json_is_string(json_object_get(spec, "schedule")))
                oom = json_array_append(schedules, json_object_get(spec, "schedule")) < 0;
        json_array_foreach(json_object_get(spec, "schedules"), i, s)
                oom |= json_array_append(schedules, s) < 0;
        json_array_foreach(schedules, i, s) {
                char out[CRON_MAX_EVENTS][CRON_EVENT_MAX];
                int k = cron_to_oncalendar(json_string_value(s), tz, out, err, errsz);
                if (k < 0)
                        return NULL;
                for (int j = 0; j < k; j++)
                        oom |= json_array_append_new(lines, json_string(out[j])) < 0;
        }
        if (oom) {
                snprintf(err, errsz, "out of memory");
                return NULL;
        }
        return TAKE_PTR(lines);
}

typedef struct Arming {
        Namespaces *n;
        json_t *cwf, *lines;
        CronArmed done;
        void *userdata;
} Arming;

static Arming *arming_free(Arming *a) {
        if (a) {
                json_decref(a->cwf);
                json_decref(a->lines);
        }
        free(a);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Arming *, arming_free);

static void arming_end(Arming *a, int r, const char *err) {
        a->done(r, err, a->lines, a->userdata);
        arming_free(a);
}

static void on_timer_started(int r, const char *err, void *userdata) {
        arming_end(userdata, r, r < 0 ? err : NULL);
}

static void on_old_timer_stopped(int r, const char *err, void *userdata) {
        Arming *a = userdata;
        json_t *spec = json_object_get(a->cwf, "spec"), *s;
        const char *ns = manifest_namespace(a->cwf), *name = manifest_name(a->cwf);
        char base[300], desc[400], why[512] = "", user[64], slice[300];
        size_t i;
        if (r < 0) {
                snprintf(why, sizeof why, "stopping the timer: %s", err ?: strerror(-r));
                arming_end(a, r, why);
                return;
        }
        if (json_is_true(json_object_get(spec, "suspend"))) {
                arming_end(a, 0, NULL);
                return;
        }
        timer_base(ns, name, base, sizeof base);
        size_t nl = json_array_size(a->lines);
        _cleanup_free_ char **cal = calloc(nl + 1, sizeof *cal);
        if (!cal) {
                arming_end(a, -ENOMEM, "out of memory");
                return;
        }
        json_array_foreach(a->lines, i, s)
                cal[i] = (char *) json_string_value(s);
        char *argv[] = { (char *) SDFLOW_CLI, (char *) "-n", (char *) ns, (char *) "trigger", (char *) name,
                         (char *) "--scheduled", NULL };
        snprintf(desc, sizeof desc, "sdflow CronWorkflow %s/%s", ns, name);
        /* startingDeadlineSeconds: a run missed while the host was down
         * happens when it is up again (Persistent=). */
        bool persistent = json_is_integer(json_object_get(spec, "startingDeadlineSeconds"));
        /* The run is asked for as the namespace's user, from its slice
         * (sdflow-privd lets no unit run as root); the API lets that user
         * trigger its own namespace's CronWorkflows and nothing else. */
        ns_user_name(ns, user, sizeof user);
        r = ns_slice_name(ns, slice, sizeof slice);
        if (r < 0)
                snprintf(why, sizeof why, "invalid namespace name");
        else
                r = manager_start_timer(a->n->bus, base, cal, persistent, argv, user, slice, desc, on_timer_started, a,
                                        why, sizeof why);
        if (r < 0)
                arming_end(a, r, why); /* else on_timer_started() ends it */
}

int cronwf_arm(Namespaces *n, json_t *cwf, CronArmed done, void *userdata, char *err, size_t errsz) {
        char base[300], timer[320];
        timer_base(manifest_namespace(cwf), manifest_name(cwf), base, sizeof base);
        snprintf(timer, sizeof timer, "%s.timer", base);
        json_auto_t *lines = calendar_lines(cwf, err, errsz);
        if (!lines)
                return -EINVAL; /* (err says which: a schedule, or memory) */
        _cleanup_(arming_freep) Arming *a = calloc(1, sizeof *a);
        if (!a) {
                snprintf(err, errsz, "out of memory");
                return -ENOMEM;
        }
        *a = (Arming) { .n = n, .cwf = json_incref(cwf), .lines = TAKE_PTR(lines), .done = done, .userdata = userdata };
        /* A changed schedule replaces the timer: the old one stops first. */
        int r = manager_stop(n->bus, timer, on_old_timer_stopped, a);
        if (r < 0) {
                snprintf(err, errsz, "stopping the timer: %s", strerror(-r));
                return r;
        }
        TAKE_PTR(a); /* on_old_timer_stopped()'s */
        return 0;
}

int cronwf_disarm(Namespaces *n, const char *ns, const char *name, ManagerDone done, void *userdata) {
        char base[300], timer[320];
        timer_base(ns, name, base, sizeof base);
        snprintf(timer, sizeof timer, "%s.timer", base);
        return manager_stop(n->bus, timer, done, userdata);
}

void cronwf_disarm_async(Namespaces *n, const char *ns, const char *name) {
        char base[300], timer[320];
        timer_base(ns, name, base, sizeof base);
        snprintf(timer, sizeof timer, "%s.timer", base);
        manager_stop_async(n->bus, timer);
}

json_t *cronwf_workflow(json_t *cwf, const char *name) {
        json_t *spec = json_object_get(cwf, "spec");
        json_t *wmd = json_object_get(spec, "workflowMetadata");
        json_t *labels = json_deep_copy(json_object_get(wmd, "labels") ?: json_object());
        json_object_set_new(labels, "workflows.argoproj.io/cron-workflow", json_string(manifest_name(cwf)));
        json_t *md = json_pack("{s:s, s:s, s:o}", "name", name, "namespace", manifest_namespace(cwf), "labels", labels);
        if (json_object_get(wmd, "annotations"))
                json_object_set(md, "annotations", json_object_get(wmd, "annotations"));
        return json_pack("{s:s, s:s, s:o, s:O}", "apiVersion", "argoproj.io/v1alpha1", "kind", "Workflow", "metadata",
                         md, "spec", json_object_get(spec, "workflowSpec"));
}
