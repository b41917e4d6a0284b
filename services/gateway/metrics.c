/* metrics.c: see metrics.h.  Names and labels follow Prometheus' conventions;
 * namespaces, InferenceService and revision names are DNS labels, so no
 * label value needs escaping. */
#include <stdio.h>
#include <stdlib.h>

#include "macro.h"
#include "metrics.h"

#define LABELS "namespace=\"%s\",isvc=\"%s\",revision=\"%s\""

/* The next revision at or after v that the viewer may see. */
static const Revision *seen(const Revision *v, MetricsVisible visible, void *userdata) {
        while (v && visible && !visible(v->ns, userdata))
                v = v->next;
        return v;
}

#define FOR_SEEN(v) for (v = seen(rt->revisions, visible, userdata); v; v = seen(v->next, visible, userdata))

char *metrics_render(const Routes *rt, const GatewayCounters *gc, MetricsVisible visible, void *userdata,
                     size_t *len) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_fclose_ FILE *f = open_memstream(&buf, len); /* closed before buf is freed */
        const Revision *v;
        if (!f)
                return NULL;
        fprintf(f, "# HELP sdflow_gateway_requests_total Requests answered, by revision and status code.\n"
                   "# TYPE sdflow_gateway_requests_total counter\n");
        FOR_SEEN(v)
                for (int code = 100; code < 600; code++)
                        if (v->codes[code])
                                fprintf(f, "sdflow_gateway_requests_total{" LABELS ",code=\"%d\"} %llu\n", v->ns,
                                        v->isvc, v->name, code, (unsigned long long) v->codes[code]);
        fprintf(f, "# HELP sdflow_gateway_request_duration_seconds Time from a request's arrival to its answer.\n"
                   "# TYPE sdflow_gateway_request_duration_seconds histogram\n");
        FOR_SEEN(v) {
                uint64_t cum = 0;
                for (size_t i = 0; i < LATENCY_BUCKETS; i++) {
                        cum += v->latency[i];
                        fprintf(f, "sdflow_gateway_request_duration_seconds_bucket{" LABELS ",le=\"%g\"} %llu\n",
                                v->ns, v->isvc, v->name, latency_bounds[i], (unsigned long long) cum);
                }
                fprintf(f, "sdflow_gateway_request_duration_seconds_bucket{" LABELS ",le=\"+Inf\"} %llu\n", v->ns,
                        v->isvc, v->name, (unsigned long long) v->count);
                fprintf(f, "sdflow_gateway_request_duration_seconds_sum{" LABELS "} %.6f\n", v->ns, v->isvc,
                        v->name, v->latency_sum);
                fprintf(f, "sdflow_gateway_request_duration_seconds_count{" LABELS "} %llu\n", v->ns, v->isvc,
                        v->name, (unsigned long long) v->count);
        }
        fprintf(f, "# HELP sdflow_gateway_inflight_requests Requests sent to a replica and not yet answered.\n"
                   "# TYPE sdflow_gateway_inflight_requests gauge\n");
        FOR_SEEN(v)
                fprintf(f, "sdflow_gateway_inflight_requests{" LABELS "} %u\n", v->ns, v->isvc, v->name, v->inflight);
        fprintf(f, "# HELP sdflow_gateway_queued_requests Requests waiting for a replica under containerConcurrency.\n"
                   "# TYPE sdflow_gateway_queued_requests gauge\n");
        FOR_SEEN(v)
                fprintf(f, "sdflow_gateway_queued_requests{" LABELS "} %u\n", v->ns, v->isvc, v->name, v->queued);
        fprintf(f, "# HELP sdflow_gateway_desired_replicas Replicas the autoscaler wants for the revision.\n"
                   "# TYPE sdflow_gateway_desired_replicas gauge\n");
        FOR_SEEN(v)
                fprintf(f, "sdflow_gateway_desired_replicas{" LABELS "} %u\n", v->ns, v->isvc, v->name,
                        v->scaler.desired);
        fprintf(f, "# HELP sdflow_gateway_panic_mode 1 while the autoscaler is in panic mode.\n"
                   "# TYPE sdflow_gateway_panic_mode gauge\n");
        FOR_SEEN(v)
                fprintf(f, "sdflow_gateway_panic_mode{" LABELS "} %d\n", v->ns, v->isvc, v->name, v->scaler.panic);
        fprintf(f, "# HELP sdflow_gateway_cold_starts_total Requests answered by a replica that had just started.\n"
                   "# TYPE sdflow_gateway_cold_starts_total counter\n");
        FOR_SEEN(v)
                fprintf(f, "sdflow_gateway_cold_starts_total{" LABELS "} %llu\n", v->ns, v->isvc, v->name,
                        (unsigned long long) v->cold_starts);
        fprintf(f, "# HELP sdflow_gateway_replica_requests_total Requests sent to each replica.\n"
                   "# TYPE sdflow_gateway_replica_requests_total counter\n");
        FOR_SEEN(v)
                for (size_t i = 0; i < v->n_backends; i++)
                        fprintf(f, "sdflow_gateway_replica_requests_total{" LABELS ",replica=\"%zu\"} %llu\n", v->ns,
                                v->isvc, v->name, i, (unsigned long long) v->backends[i].requests);
        if (gc)
                fprintf(f, "# HELP sdflow_gateway_unrouted_requests_total Requests for no known InferenceService.\n"
                   "# TYPE sdflow_gateway_unrouted_requests_total counter\n"
                   "sdflow_gateway_unrouted_requests_total %llu\n"
                   "# HELP sdflow_gateway_unauthorized_requests_total Requests refused for a missing or wrong token.\n"
                   "# TYPE sdflow_gateway_unauthorized_requests_total counter\n"
                   "sdflow_gateway_unauthorized_requests_total %llu\n"
                   "# HELP sdflow_gateway_auth_held_requests_total Requests refused (429) while their client was "
                   "on hold after repeated wrong tokens.\n"
                   "# TYPE sdflow_gateway_auth_held_requests_total counter\n"
                   "sdflow_gateway_auth_held_requests_total %llu\n"
                   "# HELP sdflow_gateway_front_door_requests_total Requests passed on to sdflowd (login, API), "
                   "by whether it failed (5xx).\n"
                   "# TYPE sdflow_gateway_front_door_requests_total counter\n"
                   "sdflow_gateway_front_door_requests_total{failed=\"false\"} %llu\n"
                   "sdflow_gateway_front_door_requests_total{failed=\"true\"} %llu\n"
                   "# HELP sdflow_gateway_front_door_busy_total Requests refused (503) with 48 at sdflowd already.\n"
                   "# TYPE sdflow_gateway_front_door_busy_total counter\n"
                   "sdflow_gateway_front_door_busy_total %llu\n",
                (unsigned long long) gc->unrouted, (unsigned long long) gc->unauthorized,
                (unsigned long long) gc->auth_held, (unsigned long long) (gc->front_door - gc->front_door_errors),
                (unsigned long long) gc->front_door_errors, (unsigned long long) gc->front_door_busy);
        /* A write the stream could not grow for would leave the text short. */
        bool failed = ferror(f);
        if (fclose(TAKE_PTR(f)) != 0 || failed)
                return NULL;
        return TAKE_PTR(buf);
}
