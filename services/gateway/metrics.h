/* metrics.h: the gateway's Prometheus metrics (text exposition format 0.0.4). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "routes.h"

typedef struct GatewayCounters {
        uint64_t unrouted;     /* no InferenceService for the host or path */
        uint64_t unauthorized; /* missing or wrong bearer token */
        uint64_t auth_held;    /* refused while the client was on hold for wrong tokens (authfail.h) */
        uint64_t front_door;   /* requests passed on to sdflowd (login, API) */
        uint64_t front_door_errors; /* of them, answered 5xx */
        uint64_t front_door_busy;   /* refused: FRONT_DOOR_MAX at sdflowd already */
} GatewayCounters;

/* Whether a namespace's series are shown (metrics_render). */
typedef bool (*MetricsVisible)(const char *ns, void *userdata);

/* Renders the revisions' counters (those of the namespaces visible() says
 * yes to; every one when visible is NULL) and, when gc is not NULL, the
 * gateway's own; returns a malloc'd text (*len bytes) or NULL when out of
 * memory. */
char *metrics_render(const Routes *rt, const GatewayCounters *gc, MetricsVisible visible, void *userdata,
                     size_t *len);
