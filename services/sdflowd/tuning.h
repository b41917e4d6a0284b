/* tuning.h: Katib Experiments.  sdflowd proposes parameter assignments
 * (lib/suggest.c, in process), runs each trial as a one-step Workflow on
 * the pipeline engine (so a trial is a transient unit in the namespace's
 * slice, as its user, with the Job container's limits, waiting for quota,
 * its output in the journal), reads the metrics from the trial's output
 * (StdOut, or a File the trial writes), and keeps the experiment's status
 * as Katib's: trials by condition, the current optimal trial, Succeeded
 * when the goal or maxTrialCount is reached, Failed at maxFailedTrialCount.
 *
 * Trials are named <experiment>-<8 characters> from the experiment's uid
 * and the trial's number, so a restarted sdflowd finds the trials it made
 * (no duplicates) and proposes the same assignments again. */
#pragma once

#include <jansson.h>
#include <systemd/sd-event.h>

#include "store.h"
#include "workflow.h"

typedef struct Tuning Tuning;

/* apply: creates (or updates) a Workflow as the API does, tells watchers;
 * returns 0 or a negative errno. */
typedef int (*TuningCreate)(json_t *workflow, void *userdata);
/* notify: the experiment's stored status changed. */
typedef void (*TuningNotify)(json_t *experiment, void *userdata);

int tuning_new(Tuning **ret, sd_event *e, Store *store, Engine *engine, TuningCreate create, TuningNotify notify,
               void *userdata);
Tuning *tuning_free(Tuning *t);

/* An experiment was stored, or one of its trials' workflows changed:
 * look at it again (soon, not inside the caller). */
void tuning_kick(Tuning *t, const char *ns, const char *name);

/* Called with each stored Workflow change: a trial's end kicks its experiment. */
void tuning_workflow_changed(Tuning *t, json_t *workflow);

/* At start: every experiment that has not ended. */
void tuning_resume_all(Tuning *t);

/* The experiment is being deleted: nothing more is proposed for it.  Its
 * trials are the workflows labelled katib.kubeflow.org/experiment=NAME;
 * the caller deletes them. */
void tuning_forget(Tuning *t, const char *ns, const char *name);
