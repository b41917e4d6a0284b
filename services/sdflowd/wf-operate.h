/* wf-operate.h: the pipeline engine's logic, apart from systemd and the
 * store: one pass over an Argo Workflow's node tree (status.nodes, in
 * Argo's shape), deciding what is done, skipped, omitted, retried, and
 * what may start now.  What it needs of the world comes through WfEnv, so
 * the unit tests drive it with a fake one (tests/unit/test-wf-operate.c).
 *
 * A pass is idempotent: a node that is done is never changed again; a pod
 * node that may start is marked Running with its unit and directory names
 * and its id returned in starts, for the caller to save the status and
 * then start the unit.  The caller settles a pod node when its unit ends
 * (wf_set_phase, outputs) and runs a pass again. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define WF_ARTIFACTS_BASE "/var/lib/sdflow/ns"
/* Limits that keep one workflow from exhausting the daemon; each is named
 * in the message of the node or workflow that reaches it. */
#define WF_MAX_DEPTH 100   /* templates nested in one another (Argo's maxStackDepth) */
#define WF_MAX_NODES 10000 /* nodes of one workflow; past it the workflow is terminated */
#define WF_MAX_ITEMS 10000 /* items of one withItems/withParam/withSequence */
#define WF_MAX_NAME 2048   /* length of a node's name */
#define WF_MAX_ARG 131072  /* an argument or variable of a step, with its NUL (Linux's MAX_ARG_STRLEN) */

typedef struct WfEnv {
        /* A step cached in ns under key: its outputs (a new reference; every
         * artifact they name still exists) and in from the workflow they
         * came from; NULL on a miss. */
        json_t *(*cache_lookup)(void *userdata, const char *ns, const char *key, char *from, size_t from_size);
        /* The SHA-256 (hex) an earlier step recorded for the output artifact
         * at host_path; false when there is none. */
        bool (*artifact_digest)(void *userdata, const char *host_path, char *buf, size_t size);
        /* Whether a step asking cpu (CPUQuotaPerSecUSec) and mem (bytes) fits
         * what namespace ns has left now: 1; 0 to wait; negative when it
         * never can; msg says why. */
        int (*admit)(void *userdata, const char *ns, uint64_t cpu, uint64_t mem, char *msg, size_t size);
        void *userdata;
        const char *service_account; /* {{workflow.serviceAccountName}} */
} WfEnv;

/* One pass over wf at time now (epoch seconds).  Node ids to start are
 * appended to starts; *wake_at gets the epoch second a pass is needed
 * again without any unit ending (a retry's backoff, a suspend's duration,
 * the deadline), or 0. */
void wf_operate(json_t *wf, const WfEnv *env, uint64_t now, json_t *starts, uint64_t *wake_at);

/* Settles node: phase, message (NULL: none), finishedAt. */
void wf_set_phase(json_t *node, const char *phase, const char *msg, uint64_t now);

/* A Go duration ("1m30s", "2h", "500ms") or a number of seconds; -1 if malformed. */
int64_t wf_parse_duration(json_t *v);
/* A JSON value as Argo substitutes it: a string as it is, the rest as JSON. */
char *wf_value_text(json_t *v);
/* A quantity of limits (cpu as CPUQuotaPerSecUSec, memory in bytes); UINT64_MAX if absent. */
uint64_t wf_quantity(json_t *limits, const char *what, bool cpu);
/* What a pod node's step asks of the namespace (0: no limit). */
void wf_pod_needs(json_t *node, uint64_t *cpu, uint64_t *mem);
