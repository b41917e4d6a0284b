/* routes.h: which model revisions and replicas serve which host.
 *
 * sdflowd writes /run/sdflow/control/routes.json whenever an InferenceService
 * changes:
 *   {"routes": [{"host": "<isvc>.<ns>.<domain>", "namespace": ..., "name": ...,
 *                "timeoutSeconds": 60, "tokens": ["<sha256 hex>", ...],
 *                "revisions": [{"name": "<isvc>-predictor-00002", "percent": 20,
 *                               "minReplicas": 0, "maxReplicas": 3, "scaleTarget": 10,
 *                               "containerConcurrency": 0, "stableWindowSeconds": 60,
 *                               "panicWindowSeconds": 6,
 *                               "backends": ["/run/sdflow/ns/<ns>/<isvc>-2-0.sock", ...]}]}]}
 * The gateway re-reads it as soon as it is replaced (inotify), and also
 * checks its mtime at most once a second between requests; a reload never
 * drops a connection.  A revision's
 * state (requests in flight and queued, the autoscaler's history, metrics)
 * outlives reloads: it is kept while the table names it or a request still
 * uses it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "scaler.h"

/* Latency histogram bounds, seconds (Prometheus le=). */
#define LATENCY_BUCKETS 14
extern const double latency_bounds[LATENCY_BUCKETS];

typedef struct Backend {
        char *path;
        unsigned inflight;
        uint64_t requests;
} Backend;

struct Request; /* the gateway's: queued requests */

typedef struct Revision {
        struct Revision *next; /* every revision the gateway holds */
        char *ns, *isvc, *name;
        Backend *backends;
        size_t n_backends;
        ScalerConfig scale;
        unsigned container_concurrency; /* 0: no limit */
        unsigned queue_max;
        bool live;     /* named by the current table */
        unsigned refs; /* requests using it */
        unsigned inflight, queued, rr;
        struct Request *queue_head, *queue_tail;
        Scaler scaler;
        /* metrics */
        uint64_t codes[600], latency[LATENCY_BUCKETS + 1], cold_starts, count;
        double latency_sum;
} Revision;

typedef struct Route {
        char *host, *ns, *name;
        uint64_t timeout_usec; /* 0: the gateway's default */
        Revision **revs;
        unsigned *percent;
        int *weight; /* smooth weighted round robin */
        size_t n_revs;
        char **tokens; /* sha256 hex of the accepted bearer tokens; none: open */
        size_t n_tokens;
} Route;

typedef struct Routes {
        Route *routes;
        size_t n;
        Revision *revisions;
        uint64_t checked;    /* when the file was last looked at (usec) */
        uint64_t mtime_nsec; /* of the loaded file */
        ino_t ino;
} Routes;

/* Re-reads path if it changed (and a second passed since the last look,
 * unless force).  Returns 0 or a negative errno (the old table stays). */
int routes_refresh(Routes *rt, const char *path, uint64_t now, bool force);
/* Loads path now.  For tests and the first look. */
int routes_load(Routes *rt, const char *path, uint64_t now);
/* As routes_load(), from len bytes of JSON text (the fuzzer's entry). */
int routes_parse(Routes *rt, const char *text, size_t len, uint64_t now);
void routes_done(Routes *rt);

/* The route for a Host header (a port is ignored), or NULL. */
const Route *routes_by_host(const Routes *rt, const char *host, size_t len);

/* The route for a path /serving/<ns>/<name>/..., or NULL; *rest is the
 * offset of the path the model server is to see. */
const Route *routes_by_path(const Routes *rt, const char *path, size_t len, size_t *rest);

/* The revision the next request goes to, by the traffic split (smooth
 * weighted round robin: exact shares, evenly spread), or NULL when no
 * revision has traffic. */
Revision *route_pick_revision(Route *r);

/* A request holds a revision until it ends; one the table no longer names
 * is freed with its last request. */
void revision_ref(Revision *rev);
void revision_unref(Routes *rt, Revision *rev);

/* The backend a request should go to: the least busy of the replicas the
 * autoscaler wants now (at least one), or NULL when each of them is at
 * containerConcurrency. */
Backend *revision_pick_backend(Revision *rev, uint64_t now);
