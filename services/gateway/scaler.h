/* scaler.h: how many replicas a revision needs, as Knative's autoscaler
 * (KPA) decides it, from the concurrency the gateway sees.
 *
 * The gateway tells the scaler each time the number of requests in flight
 * or queued for a revision changes; the scaler integrates that level over
 * one-second buckets.  The desired number of replicas is
 * ceil(average concurrency over the stable window / scaleTarget), or, in
 * panic mode, ceil(average over the panic window / scaleTarget) and never
 * fewer than before.  Panic starts when the panic-window average per
 * current replica reaches twice the target, and ends a stable window after
 * it last did.  The result is clamped to [minReplicas, maxReplicas]; 0
 * means no replica is needed (the revision has scaled to zero).  No I/O, no
 * clock: the caller passes the time in microseconds. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define SCALER_BUCKETS 600 /* the longest stable window, in seconds */

typedef struct ScalerConfig {
        unsigned min_replicas, max_replicas; /* max 0: no limit */
        unsigned target;                     /* concurrency per replica, > 0 */
        uint64_t stable_usec, panic_usec;    /* windows; panic <= stable */
} ScalerConfig;

typedef struct Scaler {
        double sum[SCALER_BUCKETS];     /* concurrency x microseconds in that second */
        uint64_t second[SCALER_BUCKETS];
        uint64_t started, last;         /* first and last observation */
        unsigned level;                 /* requests in flight or queued now */
        unsigned desired;
        bool panic;
        uint64_t panic_since;
} Scaler;

void scaler_init(Scaler *s, uint64_t now, unsigned initial);

/* The level changes by delta (+1 a request arrives, -1 one ends). */
void scaler_change(Scaler *s, uint64_t now, int delta);

/* Average concurrency over the last window_usec. */
double scaler_average(Scaler *s, uint64_t now, uint64_t window_usec);

/* Decides and returns the desired replicas (also kept in s->desired). */
unsigned scaler_decide(Scaler *s, const ScalerConfig *c, uint64_t now);
