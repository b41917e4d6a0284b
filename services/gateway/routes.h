/* routes.h: which model replicas serve which host (the route table).
 *
 * sdflowd writes /run/sdflow/routes.json whenever an InferenceService
 * changes: {"routes": [{"host": "<isvc>.<ns>.<domain>", "namespace": ...,
 * "name": ..., "backends": ["/run/sdflow/ns/<ns>/<isvc>-0.sock", ...]}]}.
 * The gateway re-reads it when its mtime changes, at most once a second,
 * between requests, so a reload never drops a connection. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct Route {
        char *host, *ns, *name;
        char **backends;
        size_t n_backends;
        size_t next; /* round robin */
} Route;

typedef struct Routes {
        Route *routes;
        size_t n;
        uint64_t checked;    /* when the file was last looked at (usec) */
        uint64_t mtime_nsec; /* of the loaded file */
        ino_t ino;
} Routes;

/* Re-reads path if it changed (and a second passed since the last look).
 * Returns 0 or a negative errno (the old table stays). */
int routes_refresh(Routes *rt, const char *path, uint64_t now);
void routes_done(Routes *rt);

/* The route for a Host header (a port is ignored), or NULL. */
const Route *routes_by_host(const Routes *rt, const char *host, size_t len);

/* The route for a path /serving/<ns>/<name>/..., or NULL; *rest is the
 * offset of the path the model server is to see. */
const Route *routes_by_path(const Routes *rt, const char *path, size_t len, size_t *rest);

/* The next backend socket, round robin. */
const char *route_next_backend(Route *r);
