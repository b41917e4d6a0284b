/* scaler.c: see scaler.h. */
#include <math.h>
#include <string.h>

#include "scaler.h"

#define USEC 1000000ULL

void scaler_init(Scaler *s, uint64_t now, unsigned initial) {
        memset(s, 0, sizeof *s);
        s->started = s->last = now;
        s->desired = initial;
}

/* Adds the current level from s->last up to now into the buckets. */
static void accumulate(Scaler *s, uint64_t now) {
        if (now <= s->last)
                return;
        uint64_t t = s->last;
        /* Older than the ring holds does not matter. */
        if (now - t > (uint64_t) SCALER_BUCKETS * USEC)
                t = now - (uint64_t) SCALER_BUCKETS * USEC;
        while (t < now) {
                uint64_t sec = t / USEC, end = (sec + 1) * USEC;
                if (end > now)
                        end = now;
                size_t i = sec % SCALER_BUCKETS;
                if (s->second[i] != sec) {
                        s->second[i] = sec;
                        s->sum[i] = 0;
                }
                s->sum[i] += (double) s->level * (double) (end - t);
                t = end;
        }
        s->last = now;
}

void scaler_change(Scaler *s, uint64_t now, int delta) {
        accumulate(s, now);
        if (delta < 0 && (unsigned) -delta > s->level)
                s->level = 0;
        else
                s->level = (unsigned) ((int) s->level + delta);
}

double scaler_average(Scaler *s, uint64_t now, uint64_t window_usec) {
        accumulate(s, now);
        if (window_usec > (uint64_t) (SCALER_BUCKETS - 1) * USEC)
                window_usec = (uint64_t) (SCALER_BUCKETS - 1) * USEC;
        uint64_t span = now - s->started < window_usec ? now - s->started : window_usec;
        if (span == 0)
                return s->level;
        /* Whole seconds back to the start of the window (the oldest one counts whole). */
        uint64_t first = (now - span) / USEC, cur = now / USEC;
        double total = 0;
        for (uint64_t sec = first; sec <= cur; sec++) {
                size_t i = sec % SCALER_BUCKETS;
                if (s->second[i] == sec)
                        total += s->sum[i];
        }
        /* The oldest bucket holds time before the window too: count its span. */
        uint64_t covered = now - (first * USEC < s->started ? s->started : first * USEC);
        return covered ? total / (double) covered : s->level;
}

static unsigned ceil_div(double v, unsigned target) {
        double d = ceil(v / (double) target - 1e-9);
        return d <= 0 ? 0 : d > 1e6 ? 1000000u : (unsigned) d;
}

unsigned scaler_decide(Scaler *s, const ScalerConfig *c, uint64_t now) {
        unsigned target = c->target ? c->target : 1;
        double stable = scaler_average(s, now, c->stable_usec);
        double panic = scaler_average(s, now, c->panic_usec);
        unsigned want_stable = ceil_div(stable, target), want_panic = ceil_div(panic, target);
        unsigned ready = s->desired ? s->desired : 1;

        if (panic / ready >= 2.0 * target) {
                if (!s->panic)
                        s->panic = true;
                s->panic_since = now; /* panic lasts a stable window past the last trigger */
        } else if (s->panic && now >= s->panic_since + c->stable_usec)
                s->panic = false;

        unsigned want = s->panic ? (want_panic > s->desired ? want_panic : s->desired) : want_stable;
        if (want < c->min_replicas)
                want = c->min_replicas;
        if (c->max_replicas && want > c->max_replicas)
                want = c->max_replicas;
        s->desired = want;
        return want;
}
