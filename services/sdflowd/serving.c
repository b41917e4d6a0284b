/* serving.c: see serving.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kinds.h"
#include "log.h"
#include "manifest.h"
#include "quota.h"
#include "serving.h"
#include "slice.h"

#define MAX_REPLICAS 16
#define DEFAULT_IDLE "60s"
#define DOMAIN "example.com"

static json_t *predictor(json_t *isvc) {
        return json_object_get(json_object_get(isvc, "spec"), "predictor");
}

/* The part that names format, storageUri and resources: model, xgboost or sklearn. */
static json_t *model_part(json_t *isvc, const char **format) {
        json_t *p = predictor(isvc), *m;
        if ((m = json_object_get(p, "model"))) {
                *format = json_string_value(json_object_get(json_object_get(m, "modelFormat"), "name"));
                return m;
        }
        if ((m = json_object_get(p, "xgboost"))) {
                *format = "xgboost";
                return m;
        }
        if ((m = json_object_get(p, "sklearn"))) {
                *format = "sklearn";
                return m;
        }
        *format = NULL;
        return NULL;
}

static unsigned replicas_of(json_t *isvc) {
        json_int_t mn = json_integer_value(json_object_get(predictor(isvc), "minReplicas"));
        json_int_t mx = json_integer_value(json_object_get(predictor(isvc), "maxReplicas"));
        json_int_t n = mx > 0 ? mx : (mn > 1 ? mn : 1);
        return (unsigned) (n > MAX_REPLICAS ? MAX_REPLICAS : n);
}

/* What one InferenceService declares: limits per replica times replicas. */
static Resources wants(json_t *isvc) {
        Resources w = RESOURCES_UNSET;
        const char *format;
        json_t *limits = json_object_get(json_object_get(model_part(isvc, &format), "resources"), "limits");
        if (!limits) {
                json_t *c0 = json_array_get(json_object_get(predictor(isvc), "containers"), 0);
                limits = json_object_get(json_object_get(c0, "resources"), "limits");
        }
        unsigned n = replicas_of(isvc);
        char text[64];
        const char *why;
        Quantity q;
        if (quantity_from_json(json_object_get(limits, "cpu"), &q, text, sizeof text, &why) == 0)
                w.v[RES_CPU_MILLIS] = quantity_ceil_milli(q) * n;
        if (quantity_from_json(json_object_get(limits, "memory"), &q, text, sizeof text, &why) == 0)
                w.v[RES_MEMORY_BYTES] = quantity_ceil_units(q) * n;
        if (quantity_from_json(json_object_get(limits, "nvidia.com/gpu"), &q, text, sizeof text, &why) == 0)
                w.v[RES_GPUS] = quantity_ceil_units(q) * n;
        w.v[RES_TASKS] = 0; /* Kubernetes has no such limit; the slice's TasksMax holds */
        return w;
}

int serving_admit(Store *store, json_t *isvc, json_t *profile, char *msg, size_t size) {
        const char *ns = manifest_namespace(isvc), *name = manifest_name(isvc);
        Resources quota = RESOURCES_UNSET, used = RESOURCES_UNSET, want = wants(isvc);
        uint64_t gpus;
        json_t *items;
        size_t i;
        json_t *o;

        SliceLimits l = ns_profile_limits(profile, &gpus);
        if (l.cpu_quota_per_sec_usec != UINT64_MAX)
                quota.v[RES_CPU_MILLIS] = l.cpu_quota_per_sec_usec / 1000;
        quota.v[RES_MEMORY_BYTES] = l.memory_max;
        quota.v[RES_GPUS] = json_object_get(json_object_get(json_object_get(json_object_get(profile, "spec"),
                                                                              "resourceQuotaSpec"), "hard"),
                                            "requests.nvidia.com/gpu") ? gpus : RESOURCE_UNSET;
        if (store_list(store, &kind_isvc, ns, &items, NULL) < 0) {
                snprintf(msg, size, "cannot read the namespace's InferenceServices");
                return -EIO;
        }
        json_array_foreach(items, i, o)
                if (strcmp(manifest_name(o), name) != 0) {
                        Resources w = wants(o);
                        quota_add(&used, &w);
                }
        json_decref(items);
        return quota_admit(ns, &quota, &used, &want, msg, size);
}

static void unit_base(const char *ns, const char *isvc, unsigned i, char *buf, size_t size) {
        /* '_' cannot occur in either name, so no two services share units. */
        snprintf(buf, size, "sdflow_%s_%s_%u", ns, isvc, i);
}

static void stop_replicas(Namespaces *n, const char *ns, const char *isvc) {
        char base[300], unit[320], err[256];
        for (unsigned i = 0; i < MAX_REPLICAS; i++) {
                unit_base(ns, isvc, i, base, sizeof base);
                snprintf(unit, sizeof unit, "%s.socket", base);
                (void) manager_stop_unit(n->bus, unit, err, sizeof err);
                snprintf(unit, sizeof unit, "%s.service", base);
                (void) manager_stop_unit(n->bus, unit, err, sizeof err);
        }
}

static json_t *status(bool ready, const char *reason, const char *message, json_t *extra) {
        char ts[32];
        format_now_rfc3339(ts, sizeof ts);
        json_t *st = extra ?: json_object();
        json_t *cond = json_array();
        const char *types[] = { "PredictorReady", "Ready" };
        for (size_t i = 0; i < 2; i++)
                json_array_append_new(cond, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", types[i], "status",
                                                      ready ? "True" : "False", "reason", reason, "message", message,
                                                      "lastTransitionTime", ts));
        json_object_set_new(st, "conditions", cond);
        return st;
}

json_t *serving_apply(Namespaces *n, json_t *isvc, json_t *profile) {
        const char *ns = manifest_namespace(isvc), *name = manifest_name(isvc), *format;
        const char *owner = json_string_value(json_object_get(json_object_get(json_object_get(profile, "spec"), "owner"), "name"));
        json_t *m = model_part(isvc, &format);
        char user[64], slice[300], gen[32], err[512], dir[512], url[300];
        json_int_t generation = json_integer_value(json_object_get(json_object_get(isvc, "metadata"), "generation"));

        snprintf(url, sizeof url, "http://%s.%s.%s", name, ns, DOMAIN);
        json_t *extra = json_pack("{s:s, s:I}", "url", url, "observedGeneration", generation);
        if (!n->bus)
                return status(false, "NoSystemd", "systemd is not reachable over D-Bus", extra);
        if (!m)
                return status(false, "NotImplemented", "custom containers are not run yet; use model.modelFormat", extra);
        if (strcmp(format, "xgboost") != 0)
                return status(false, "NotImplemented", "only the xgboost runtime exists yet (sdflow-serve)", extra);
        const char *uri = json_string_value(json_object_get(m, "storageUri"));
        if (!uri || strncmp(uri, "file://", 7) != 0)
                return status(false, "InvalidStorageUri", "storageUri must be file:///path", extra);

        ns_user_name(ns, user, sizeof user);
        snprintf(gen, sizeof gen, "%lld", (long long) generation);
        char *const copy[] = { (char *) n->helper, (char *) "model", (char *) ns, user, (char *) owner,
                               (char *) uri + 7, (char *) name, gen, NULL };
        if (manager_run(n->bus, "sdflow-ns-model", copy, 120 * USEC_PER_SEC, err, sizeof err) < 0)
                return status(false, "ModelCopyFailed", err, extra);
        snprintf(dir, sizeof dir, "/var/lib/sdflow/ns/%s/models/%s/%s", ns, name, gen);
        json_object_set_new(extra, "modelPath", json_string(dir));

        /* Limits per replica (those admitted, divided back). */
        Resources w = wants(isvc);
        unsigned reps = replicas_of(isvc);
        json_int_t min = json_integer_value(json_object_get(predictor(isvc), "minReplicas"));
        ns_slice_name(ns, slice, sizeof slice);
        stop_replicas(n, ns, name); /* a new generation replaces the old replicas */
        json_t *list = json_array();
        for (unsigned i = 0; i < reps; i++) {
                char base[300], sock[400], model_arg[600], name_arg[300], idle_arg[64], desc[300];
                unit_base(ns, name, i, base, sizeof base);
                snprintf(sock, sizeof sock, "/run/sdflow/ns/%s/%s-%u.sock", ns, name, i);
                snprintf(model_arg, sizeof model_arg, "--set=ModelPath=%s", dir);
                snprintf(name_arg, sizeof name_arg, "--set=ModelName=%s", name);
                /* Replicas below minReplicas stay warm: they never exit. */
                snprintf(idle_arg, sizeof idle_arg, "--idle-timeout=%s", (json_int_t) i < min ? "0" : DEFAULT_IDLE);
                snprintf(desc, sizeof desc, "sdflow InferenceService %s/%s replica %u", ns, name, i);
                char *const argv[] = { (char *) "/usr/sbin/sdflow-serve", model_arg, name_arg, idle_arg, NULL };
                ReplicaSpec spec = {
                        .base = base, .socket_path = sock, .slice = slice, .user = user, .read_only = dir,
                        .argv = argv, .description = desc,
                        .cpu_quota_per_sec_usec = w.v[RES_CPU_MILLIS] == RESOURCE_UNSET ? UINT64_MAX
                                                                                         : w.v[RES_CPU_MILLIS] / reps * 1000,
                        .memory_max = w.v[RES_MEMORY_BYTES] == RESOURCE_UNSET ? UINT64_MAX : w.v[RES_MEMORY_BYTES] / reps,
                };
                if (manager_start_replica(n->bus, &spec, err, sizeof err) < 0) {
                        json_decref(list);
                        stop_replicas(n, ns, name);
                        return status(false, "ReplicaFailed", err, extra);
                }
                json_array_append_new(list, json_pack("{s:s+, s:s}", "unit", base, ".service", "socket", sock));
        }
        json_object_set_new(extra, "replicas", list);
        json_object_set_new(extra, "address", json_pack("{s:s+}", "url", "unix:", json_string_value(json_object_get(json_array_get(list, 0), "socket"))));
        log_info("InferenceService %s/%s: %u replicas listening.", ns, name, reps);
        return status(true, "ReplicasListening", "the replicas' sockets listen; a request starts a server", extra);
}

int serving_delete(Namespaces *n, json_t *isvc, char *err, size_t errsz) {
        const char *ns = manifest_namespace(isvc), *name = manifest_name(isvc);
        if (!n->bus) {
                snprintf(err, errsz, "systemd is not reachable over D-Bus");
                return -ENOTCONN;
        }
        stop_replicas(n, ns, name);
        char *const argv[] = { (char *) n->helper, (char *) "unmodel", (char *) ns, (char *) name, NULL };
        return manager_run(n->bus, "sdflow-ns-unmodel", argv, 60 * USEC_PER_SEC, err, errsz);
}
