/* ctl-workflow.c: the Workflow controller.  Its pipeline engine
 * (workflow.c) runs the steps; this file admits workflows, hands them to
 * the engine, and answers Argo's subresources (log, suspend, resume, stop,
 * terminate, retry). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers.h"
#include "crashguard.h"
#include "imagemap.h"
#include "log.h"
#include "logs.h"
#include "manager.h"
#include "objects.h"

typedef struct WorkflowCtl {
        Objects *objects;
        Engine *engine; /* NULL: systemd cannot be reached */
} WorkflowCtl;

Engine *ctl_workflow_engine(Objects *o) {
        void *self;
        return objects_type(o, &kind_workflow, &self) && self ? ((WorkflowCtl *) self)->engine : NULL;
}

void ctl_workflow_check_images(Objects *o, json_t *spec, const char *base, Diags *d) {
        char path[160], err[512];
        ImageRoot root;
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(spec, "templates"), i, t) {
                static const char *const types[] = { "container", "script" };
                for (size_t j = 0; j < ELEMENTSOF(types); j++) {
                        const char *image = json_string_value(json_object_get(json_object_get(t, types[j]), "image"));
                        snprintf(path, sizeof path, "%s.templates[%zu].%s.image", base, i, types[j]);
                        if (image && imagemap_lookup(o->namespaces->image_map, image, &root, err, sizeof err) < 0)
                                diags_add(d, true, path, "%s", err);
                }
        }
}

void ctl_workflow_delete(Objects *o, const char *ns, const char *name, const char *by) {
        (void) objects_delete(o, &kind_workflow, ns, name, by, NULL, NULL);
}

/* Images in the map; a Workflow that has started keeps its spec:
 * spec.shutdown and spec.suspend are how Argo's users stop and pause one. */
static int workflow_admit(void *self, json_t *obj, json_t *before, json_t *profile, Diags *d, char *msg, size_t size) {
        WorkflowCtl *w = self;
        (void) profile;
        (void) msg;
        (void) size;
        ctl_workflow_check_images(w->objects, json_object_get(obj, "spec"), "spec", d);
        if (d->n_errors > 0)
                return 422;
        if (!before || !json_object_get(before, "status"))
                return 0;
        json_auto_t *x = json_deep_copy(json_object_get(before, "spec"));
        json_auto_t *y = json_deep_copy(json_object_get(obj, "spec"));
        json_object_del(x, "shutdown");
        json_object_del(x, "suspend");
        json_object_del(y, "shutdown");
        json_object_del(y, "suspend");
        if (json_equal(x, y))
                return 0;
        diags_add(d, true, "spec", "workflow %s has started: only spec.shutdown and spec.suspend may change (submit a "
                                   "new workflow, or use sdflow resubmit)", manifest_name(obj));
        return 422;
}

static void workflow_react(void *self, Applied *ap) {
        WorkflowCtl *w = self;
        char ns[128], name[256], m[256];
        if (!w->engine)
                return;
        snprintf(ns, sizeof ns, "%s", manifest_namespace(ap->stored));
        snprintf(name, sizeof name, "%s", manifest_name(ap->stored));
        if (ap->change == STORE_UPDATED && ap->before) {
                json_t *ospec = json_object_get(ap->before, "spec"), *nspec = json_object_get(ap->stored, "spec");
                const char *sd = json_string_value(json_object_get(nspec, "shutdown"));
                const char *osd = json_string_value(json_object_get(ospec, "shutdown"));
                if (sd && (!osd || strcmp(sd, osd) != 0))
                        (void) engine_action(w->engine, ns, name, strcmp(sd, "Stop") == 0 ? "stop" : "terminate", m,
                                             sizeof m);
                bool sus = json_is_true(json_object_get(nspec, "suspend"));
                if (sus != json_is_true(json_object_get(ospec, "suspend")))
                        (void) engine_action(w->engine, ns, name, sus ? "suspend" : "resume", m, sizeof m);
        }
        if (ap->change == STORE_CREATED) {
                engine_submit(w->engine, ns, name);
                objects_reload(w->objects, &kind_workflow, &ap->stored);
        }
}

/* The removal of a workflow's artifacts, on the loop. */
typedef struct Removal {
        char ns[128], name[256];
        RemoveDone done;
        void *userdata;
} Removal;

static void on_artifacts_removed(int r, const char *err, void *userdata) {
        Removal *m = userdata;
        if (r < 0)
                log_warning("Workflow %s/%s: removing its artifacts failed, ignoring: %s", m->ns, m->name,
                            err ?: strerror(-r));
        if (m->done)
                m->done(0, NULL, m->userdata);
        free(m);
}

/* A workflow about to be deleted: its steps stop, its artifacts go.  Its
 * artifacts belong to the namespace's user: the helper removes them, and a
 * user's delete is answered when it has (so that a workflow applied again
 * under the name cannot lose its new artifacts to the old removal). */
static int workflow_remove(void *self, json_t *obj, RemoveDone done, void *userdata, char *err, size_t size) {
        WorkflowCtl *w = self;
        const char *ns = manifest_namespace(obj), *name = manifest_name(obj);
        Namespaces *n = w->objects->namespaces;
        (void) err;
        (void) size;
        if (w->engine)
                engine_forget(w->engine, ns, name);
        if (!n->bus)
                return 0;
        Removal *m = calloc(1, sizeof *m);
        if (!m)
                return 0; /* the artifacts stay; the workflow goes */
        *m = (Removal) { .done = done, .userdata = userdata };
        snprintf(m->ns, sizeof m->ns, "%s", ns);
        snprintf(m->name, sizeof m->name, "%s", name);
        char *argv[] = { (char *) n->helper, (char *) "rmwf", (char *) ns, (char *) name, NULL };
        int r = manager_run_async(n->bus, "sdflow-ns", argv, 60 * USEC_PER_SEC, on_artifacts_removed, m, NULL, 0);
        if (r < 0) {
                log_warning_errno(r, "Workflow %s/%s: removing its artifacts failed, ignoring: %m", ns, name);
                free(m);
                return 0;
        }
        return done ? 1 : 0;
}

/* A workflow that left the store otherwise (its namespace went): the
 * engine lets it go. */
static void workflow_changed(void *self, const Kind *k, const char *type, json_t *obj) {
        WorkflowCtl *w = self;
        if (w->engine && k == &kind_workflow && strcmp(type, "DELETED") == 0)
                engine_forget(w->engine, manifest_namespace(obj), manifest_name(obj));
}

static void workflow_reconcile(void *self) {
        WorkflowCtl *w = self;
        /* Workflows that were running when sdflowd stopped. */
        if (w->engine)
                engine_resume_all(w->engine);
}

static bool workflow_busy(void *self) {
        WorkflowCtl *w = self;
        return engine_busy(w->engine);
}

/* GET .../workflows/NAME/log[?node=N&tailLines=N]: the steps' journal lines
 * (of one node, by id, name or display name, when given). */
static void handle_log(void *self, const Request *rq) {
        WorkflowCtl *w = self;
        const Route *rt = rq->rt;
        char want[256] = "";
        unsigned tail = 1000;
        json_auto_t *wf = NULL;
        json_t *n;
        const char *id;
        if (objects_check_namespace(w->objects, rq) < 0 ||
            !rest_query_tail(rq->conn, rt, rq->query, rq->query_len, 100000, &tail))
                return;
        (void) http_query_get(rq->query, rq->query_len, "node", want, sizeof want);
        if (store_get(w->objects->store, rt->kind, rt->ns, rt->name, &wf) < 0) {
                rest_reply_status(rq->conn, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                return;
        }
        json_t *nodes = json_object_get(json_object_get(wf, "status"), "nodes");
        size_t cap = json_object_size(nodes) + 1, n_units = 0;
        _cleanup_free_ char(*units)[LOGS_UNIT_MAX] = calloc(cap, sizeof *units);
        _cleanup_free_ const char **dirs = calloc(cap, sizeof *dirs); /* point into wf */
        if (!units || !dirs) {
                rest_reply_status(rq->conn, 500, rt, NULL, "out of memory");
                return;
        }
        json_object_foreach(nodes, id, n) {
                const char *u = json_string_value(json_object_get(n, "sdflowUnit"));
                if (!u)
                        continue;
                if (want[0] && strcmp(want, id) != 0 &&
                    strcmp(want, json_string_value(json_object_get(n, "name")) ?: "") != 0 &&
                    strcmp(want, json_string_value(json_object_get(n, "displayName")) ?: "") != 0)
                        continue;
                dirs[n_units] = json_string_value(json_object_get(n, "sdflowDir"));
                snprintf(units[n_units++], sizeof units[0], "%s", u);
        }
        if (want[0] && n_units == 0) {
                rest_reply_status(rq->conn, 404, rt, NULL, "workflow %s has no step node '%s' that ran", rt->name, want);
                return;
        }
        logs_reply(rq->conn, rt, units, dirs, n_units, tail);
}

/* PUT .../workflows/NAME/{suspend,resume,stop,terminate,retry}, as Argo's server has them. */
static void handle_action(void *self, const Request *rq) {
        WorkflowCtl *w = self;
        const Route *rt = rq->rt;
        char msg[512];
        if (objects_check_namespace(w->objects, rq) < 0)
                return;
        if (!w->engine) {
                rest_reply_status(rq->conn, 503, rt, NULL, "the pipeline engine is not running (systemd cannot be reached)");
                return;
        }
        if (strcmp(rt->sub, "retry") == 0) {
                json_auto_t *wf = NULL;
                if (store_get(w->objects->store, rt->kind, rt->ns, rt->name, &wf) >= 0 && crashguard_is_quarantined(wf))
                        objects_release_quarantine(w->objects, rt->kind, &wf);
        }
        int r = engine_action(w->engine, rt->ns, rt->name, rt->sub, msg, sizeof msg);
        if (r == -ENOENT) {
                rest_reply_status(rq->conn, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                return;
        }
        if (r < 0) {
                rest_reply_status(rq->conn, 409, rt, NULL, "%s", msg);
                return;
        }
        log_info("Workflow %s/%s: %s by %s.", rt->ns, rt->name, rt->sub, rq->caller->user);
        json_t *wf;
        if (store_get(w->objects->store, rt->kind, rt->ns, rt->name, &wf) < 0) {
                rest_reply_status(rq->conn, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                return;
        }
        rest_reply_json(rq->conn, 200, wf, NULL);
}

static void engine_notify(const Kind *k, const char *type, json_t *obj, void *userdata) {
        objects_notify(userdata, k, type, obj);
}

static int engine_artifact_path_cb(void *userdata, const char *ns, const char *uri, char *path, size_t size, char *msg,
                                   size_t msg_size) {
        return engine_artifact_path(userdata, ns, uri, path, size, msg, msg_size);
}

static int workflow_new(Objects *o, void **ret) {
        WorkflowCtl *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->objects = o;
        if (o->namespaces->bus) {
                int r = engine_new(&w->engine, o->event, o->store, o->namespaces, engine_notify, o);
                if (r < 0) {
                        log_warning_errno(r, "Cannot start the pipeline engine, workflows will not run: %m");
                        w->engine = NULL;
                } else {
                        o->namespaces->artifact_path = engine_artifact_path_cb;
                        o->namespaces->artifact_userdata = w->engine;
                }
        }
        *ret = w;
        return 0;
}

static void workflow_free(void *self) {
        WorkflowCtl *w = self;
        engine_free(w->engine);
        free(w);
}

static const Subresource workflow_subresources[] = {
        { "log", "GET", false, handle_log },
        { "suspend", "PUT", false, handle_action },
        { "resume", "PUT", false, handle_action },
        { "stop", "PUT", false, handle_action },
        { "terminate", "PUT", false, handle_action },
        { "retry", "PUT", false, handle_action },
        { NULL },
};

const ControllerType ctl_workflow = {
        .kind = &kind_workflow,
        .new = workflow_new,
        .free = workflow_free,
        .reconcile = workflow_reconcile,
        .admit = workflow_admit,
        .react = workflow_react,
        .remove = workflow_remove,
        .changed = workflow_changed,
        .busy = workflow_busy,
        .subresources = workflow_subresources,
};
