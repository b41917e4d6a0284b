/* metrics.h: the gateway's Prometheus metrics (text exposition format 0.0.4). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "routes.h"

typedef struct GatewayCounters {
        uint64_t unrouted;     /* no InferenceService for the host or path */
        uint64_t unauthorized; /* missing or wrong bearer token */
        uint64_t auth_held;    /* refused while the client was on hold for wrong tokens (authfail.h) */
} GatewayCounters;

/* Renders every revision's counters; returns a malloc'd text (*len bytes)
 * or NULL when out of memory. */
char *metrics_render(const Routes *rt, const GatewayCounters *gc, size_t *len);
