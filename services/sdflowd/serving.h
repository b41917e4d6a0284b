/* serving.h: an InferenceService becomes model replicas: for each, a
 * transient socket unit in /run/sdflow/ns/<ns>/ and its sdflow-serve
 * service in the namespace's slice, as the namespace's user, sandboxed,
 * with the predictor's limits.  The model is copied into the namespace
 * first, read with the owner's permissions. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "namespaces.h"
#include "store.h"

/* Admission: refuses (-EDQUOT, message in msg) an InferenceService whose
 * limits (per replica, times its replicas) do not fit what the other
 * InferenceServices of the namespace leave of the Profile's quota. */
int serving_admit(Store *store, json_t *isvc, json_t *profile, char *msg, size_t size);

/* KServe's defaulting: the predictor's container (model, xgboost, sklearn
 * or containers[0]) gets each of requests.cpu, requests.memory, limits.cpu
 * and limits.memory it lacks: a limit the default (PredictorDefaultCPU=,
 * PredictorDefaultMemory=), a request the limit.  Before admission, so that
 * a namespace's quota counts them, and stored so, as KServe's webhook has
 * it. */
void serving_default(const Namespaces *n, json_t *isvc);

/* reader: the Unix user whose rights a file:// storageUri is read with (the
 * caller of the apply).
 * Reconciles the revisions with the spec (a new revision for a changed
 * template, gated on its readiness check; the traffic split by
 * canaryTrafficPercent) and returns the new status (Ready, or not with the
 * reason).  Never fails otherwise. */
json_t *serving_apply(Namespaces *n, json_t *isvc, json_t *profile, const char *reader);

/* Nor is its model copy: serving_apply() leaves a new revision that
 * serves a model "copying" (Ready Unknown, Deploying).  The name of isvc's
 * revision to copy for (NULL if none); the copy started on the loop (done
 * as manager_run_async() has it; 0 or a negative errno); what it came to:
 * the new status (the replicas started and the revision "probing", or not
 * ready, ModelCopyFailed with the reason), or NULL when another apply came
 * meanwhile. */
const char *serving_copy_target(json_t *isvc);
int serving_copy_start(Namespaces *n, json_t *isvc, HelperDone done, void *userdata, char *unit, size_t unitsz);
json_t *serving_copied(Namespaces *n, json_t *isvc, const char *rev, int r, const char *why);

/* A new revision's readiness check is not waited for: serving_apply()
 * leaves the latest revision "probing" (Ready Unknown, reason Deploying).
 * Whether isvc (as stored) has such a revision, and if so its name, the
 * socket of its replica 0 and the path to GET (probe.h). */
bool serving_probe_target(json_t *isvc, const char **rev, const char **sock, const char **path);

/* The check of revision rev of isvc (as stored) answered status (an HTTP
 * status, or -errno) with body: the new status (the revision ready, or
 * stopped and not ready with the reason; the traffic split again), or NULL
 * when rev is no longer the one being checked (another apply came). */
json_t *serving_probed(Namespaces *n, json_t *isvc, const char *rev, int status, const char *body);

/* A replica of revision rev of isvc (as stored) could not start (err,
 * systemd's reason): the new status, the revision stopped and not ready
 * (ReplicaFailed), when rev is the latest and is being checked or ready;
 * else NULL (an older revision's replica, started again after a reboot:
 * logged only). */
json_t *serving_replica_failed(Namespaces *n, json_t *isvc, const char *rev, const char *err);

/* The gateway's route for an InferenceService (see services/gateway/routes.h):
 * its host, and the revisions with traffic, their share, scaling settings
 * and replica sockets; NULL when nothing serves it. */
json_t *serving_route(json_t *isvc);

/* Starts again the units of isvc's ready revisions whose sockets are gone
 * (after a reboot: transient units do not survive it), from the snapshot
 * each revision keeps.  The replicas' records in isvc's status are updated
 * in place (the same names). */
void serving_restore(Namespaces *n, json_t *isvc);

/* Adds what runs now to isvc's status (not stored): activeReplicas, in all
 * and per revision, from systemd, and Ready False (ReplicaSocketDown) while
 * a ready revision's socket is not listening. */
void serving_observe(Namespaces *n, json_t *isvc);

/* Stops the replicas and removes the model copies, on the loop: done (may
 * be NULL) follows when the copies have gone.  Returns 0 when that began,
 * or a negative errno with a message in err (done is not called). */
int serving_delete(Namespaces *n, json_t *isvc, HelperDone done, void *userdata, char *err, size_t errsz);
