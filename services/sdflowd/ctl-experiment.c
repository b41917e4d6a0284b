/* ctl-experiment.c: the Katib Experiment controller.  The tuning loop
 * (tuning.c) proposes trials and runs each as a Workflow on the pipeline
 * engine; this file hands it experiments and their trials' changes, and
 * admits each trial's workflow as an applied one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers.h"
#include "log.h"
#include "objects.h"
#include "tuning.h"

#define LABEL_EXPERIMENT_OF "katib.kubeflow.org/experiment"

typedef struct ExperimentCtl {
        Objects *objects;
        Tuning *tuning; /* NULL: no pipeline engine to run trials on */
} ExperimentCtl;

/* A trial's workflow: checked as an applied one is, stored, and started. */
static int trial_create(json_t *wf, void *userdata) {
        char err[1024];
        int r = objects_create(userdata, &kind_workflow, wf, err, sizeof err);
        if (r == -EINVAL)
                log_warning("A trial's workflow was refused: %s", err);
        return r;
}

static void tuning_notify(json_t *experiment, void *userdata) {
        objects_notify(userdata, &kind_experiment, "MODIFIED", experiment);
}

static void experiment_react(void *self, Applied *ap) {
        ExperimentCtl *x = self;
        if (x->tuning)
                tuning_kick(x->tuning, manifest_namespace(ap->stored), manifest_name(ap->stored));
        else if (!json_object_get(ap->stored, "status"))
                objects_mark_not_run(x->objects, &kind_experiment, &ap->stored);
}

/* Its trials are workflows labelled with it (unless retained): they go too. */
static int experiment_remove(void *self, json_t *obj, RemoveDone done, void *userdata, char *err, size_t size) {
        ExperimentCtl *x = self;
        const char *ns = manifest_namespace(obj), *name = manifest_name(obj);
        json_auto_t *items = NULL;
        json_t *w;
        size_t i;
        (void) done;
        (void) userdata;
        (void) err;
        (void) size;
        tuning_forget(x->tuning, ns, name);
        if (store_list(x->objects->store, &kind_workflow, ns, &items, NULL) < 0)
                return 0;
        json_array_foreach(items, i, w) {
                const char *l = json_string_value(
                        json_object_get(json_object_get(json_object_get(w, "metadata"), "labels"), LABEL_EXPERIMENT_OF));
                if (l && strcmp(l, name) == 0)
                        ctl_workflow_delete(x->objects, ns, manifest_name(w), "its Experiment's deletion");
        }
        return 0;
}

/* A trial's workflow moved on (the engine tells MODIFIED); an experiment
 * left the store with its namespace. */
static void experiment_changed(void *self, const Kind *k, const char *type, json_t *obj) {
        ExperimentCtl *x = self;
        if (k == &kind_workflow && strcmp(type, "MODIFIED") == 0)
                tuning_workflow_changed(x->tuning, obj);
        if (k == &kind_experiment && strcmp(type, "DELETED") == 0)
                tuning_forget(x->tuning, manifest_namespace(obj), manifest_name(obj));
}

static void experiment_reconcile(void *self) {
        ExperimentCtl *x = self;
        tuning_resume_all(x->tuning);
}

static int experiment_new(Objects *o, void **ret) {
        ExperimentCtl *x = calloc(1, sizeof *x);
        if (!x)
                return -ENOMEM;
        x->objects = o;
        Engine *engine = ctl_workflow_engine(o);
        if (engine) {
                int r = tuning_new(&x->tuning, o->event, o->store, engine, trial_create, tuning_notify, o);
                if (r < 0) {
                        log_warning_errno(r, "Cannot start the tuning controller, experiments will not run: %m");
                        x->tuning = NULL;
                }
        }
        *ret = x;
        return 0;
}

static void experiment_free(void *self) {
        ExperimentCtl *x = self;
        tuning_free(x->tuning);
        free(x);
}

const ControllerType ctl_experiment = {
        .kind = &kind_experiment,
        .new = experiment_new,
        .free = experiment_free,
        .reconcile = experiment_reconcile,
        .react = experiment_react,
        .remove = experiment_remove,
        .changed = experiment_changed,
};
