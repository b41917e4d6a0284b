/* workflow.h: the pipeline engine.  Runs Argo Workflows (argoproj.io/v1alpha1,
 * what Kubeflow Pipelines v1 compiles to): every container or script step
 * is a transient oneshot service in the namespace's slice, as the
 * namespace's user, through sdflow-step (services/step), which keeps its
 * outputs under /var/lib/sdflow/ns/<ns>/artifacts/<workflow>/<node>/.
 *
 * The engine is a reconciler in Argo's shape: operate() walks the
 * templates from the entrypoint and, from the node tree in status.nodes,
 * decides what runs next; units' ends arrive as systemd's JobRemoved
 * signals.  State lives only in the stored status (written before a unit
 * is started), so a restarted sdflowd picks up where it stopped: units
 * still running are waited for, finished ones read, none started twice.
 * Workflows that run are kept in memory and written once per loop
 * iteration, however many steps ended in it. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "manifest.h"
#include "namespaces.h"
#include "store.h"

typedef struct Engine Engine;

/* notify is called with each stored change of a Workflow (to tell watchers). */
typedef void (*EngineNotify)(const Kind *k, const char *type, json_t *obj, void *userdata);

int engine_new(Engine **ret, sd_event *e, Store *store, Namespaces *n, EngineNotify notify, void *userdata);
Engine *engine_free(Engine *e);

/* A Workflow was stored (created, or its spec changed while it has not
 * run): starts it. */
void engine_submit(Engine *e, const char *ns, const char *name);

/* At start: takes up every stored Workflow that has not finished. */
void engine_resume_all(Engine *e);

/* suspend, resume, stop (runs the exit handler), terminate (does not),
 * retry (runs again what failed, keeps what succeeded).  Returns 0, or
 * -ENOENT, or -EINVAL with why in msg (e.g. retry of a running workflow). */
int engine_action(Engine *e, const char *ns, const char *name, const char *action, char *msg, size_t size);

/* The Workflow is being deleted: its running steps are stopped. */
void engine_forget(Engine *e, const char *ns, const char *name);

/* True while a workflow runs (the daemon must not exit when idle). */
bool engine_busy(Engine *e);

/* The host path of an output artifact of a finished workflow's node, by
 * the node's display name (a DAG task or step name): for an
 * InferenceService's storageUri artifact://WORKFLOW/NODE/ARTIFACT.
 * Returns 0 or -ENOENT with why in msg. */
int engine_artifact_path(Engine *e, const char *ns, const char *uri, char *path, size_t size, char *msg,
                         size_t msg_size);
