/* revisions.h: serving's decisions about an InferenceService's revisions,
 * without I/O (unit-tested alone, as wf-operate.c is for pipelines).
 *
 * A revision is a JSON object of status.revisions: "name", "number",
 * "digest" (its template's), "ready" (true once its readiness check
 * passed), "probing"/"copying" while that is under way.  serving.c does
 * what these decide: it makes the revision, starts and stops units and
 * writes the status. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

/* Whether applying a template with digest needs a revision made: a new one
 * (number latest + 1, *append true) when the template changed, or the
 * latest again under its number (*append false) when it failed and no
 * check or copy of it is under way.  Returns false when the latest stands.
 * latest is NULL for an InferenceService without revisions. */
bool revisions_need(json_t *latest, const char *digest, json_int_t *number, bool *append);

/* The traffic split and what stays, from the revisions (oldest first;
 * latest the last of them), the revision rolled out before (its name, or
 * NULL) and the one before that, and canaryTrafficPercent (100 without).
 * Every member is a new reference (NULL where there is none) or a copy.
 * Returns 0, or -ENOMEM with *ret empty (nothing decided: nothing is to
 * be retired). */
typedef struct RevisionPlan {
        json_t *traffic;  /* KServe's status.components.predictor.traffic */
        json_t *kept;     /* the revisions that keep their units */
        json_t *retired;  /* those with neither traffic nor a chance of it */
        json_t *ready;    /* the latest ready revision */
        json_t *rolled;   /* the rolled-out one, after this change */
        char rolled_name[300], previous_name[300]; /* "" for none */
} RevisionPlan;

int revisions_plan(json_t *revs, json_t *latest, const char *rolled_name, const char *previous_name,
                   json_int_t canary, RevisionPlan *ret);
void revisions_plan_clear(RevisionPlan *p);
