/* kind-isvc.c: serving.kserve.io/v1beta1 InferenceService, the predictor part.
 *
 * What sdflow implements of KServe's schema (pkg/apis/serving/v1beta1):
 * spec.predictor with model (modelFormat, protocolVersion, storageUri,
 * runtime, resources, args, env), the framework shorthands (sklearn:,
 * xgboost:), containers[] for a custom server, and the Knative-style
 * component extension (minReplicas, maxReplicas, scaleMetric, scaleTarget,
 * containerConcurrency, timeout, canaryTrafficPercent).  Transformers,
 * explainers and the Kubernetes pod fields that have no meaning on one host
 * are refused by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"

static const char *const formats[] = { "xgboost", "sklearn", NULL };
static const char *const protocols[] = { "v1", "v2", NULL };
static const char *const scale_metrics[] = { "concurrency", NULL };


static const Field model_format_fields[] = {
        { "name", F_STRING, FIELD_REQUIRED, .enum_values = formats },
        { "version", F_STRING },
        {},
};

#define POD_REFUSALS                                                                                   \
        { "serviceAccountName", F_REFUSED, .why = "workloads run as the namespace's system user" },    \
        { "nodeSelector", F_REFUSED, .why = "there is one node" },                                     \
        { "affinity", F_REFUSED, .why = "there is one node" },                                         \
        { "tolerations", F_REFUSED, .why = "there is one node" },                                      \
        { "volumes", F_REFUSED, .why = "models are copied into the namespace's directory" },           \
        { "imagePullSecrets", F_REFUSED, .why = "images are resolved through the image map" },         \
        { "securityContext", F_REFUSED, .why = "sdflow sandboxes every replica itself" },              \
        { "initContainers", F_REFUSED, .why = "not supported" },                                       \
        { "hostNetwork", F_REFUSED, .why = "replicas get no network but their socket" }

static const Field model_fields[] = {
        { "modelFormat", F_OBJECT, FIELD_REQUIRED, .fields = model_format_fields },
        { "protocolVersion", F_STRING, .enum_values = protocols },
        { "storageUri", F_STRING, FIELD_REQUIRED },
        { "runtime", F_STRING },
        { "resources", F_OBJECT, .fields = kind_resource_fields },
        { "args", F_ARRAY, .fields = &kind_string_field },
        { "env", F_ARRAY, .fields = &kind_env_item },
        { "image", F_REFUSED, .why = "the runtime follows modelFormat; use containers[] for a custom server" },
        {},
};

static const Field framework_fields[] = {
        { "storageUri", F_STRING, FIELD_REQUIRED },
        { "protocolVersion", F_STRING, .enum_values = protocols },
        { "runtimeVersion", F_STRING },
        { "resources", F_OBJECT, .fields = kind_resource_fields },
        { "args", F_ARRAY, .fields = &kind_string_field },
        { "env", F_ARRAY, .fields = &kind_env_item },
        {},
};

static const Field container_fields[] = {
        { "name", F_STRING },
        { "image", F_STRING, FIELD_REQUIRED },
        { "command", F_ARRAY, .fields = &kind_string_field },
        { "args", F_ARRAY, .fields = &kind_string_field },
        { "env", F_ARRAY, .fields = &kind_env_item },
        { "resources", F_OBJECT, .fields = kind_resource_fields },
        { "workingDir", F_STRING },
        { "ports", F_ANY }, /* the replica is handed its socket; ports are informational */
        { "volumeMounts", F_REFUSED, .why = "models are copied into the namespace's directory" },
        { "securityContext", F_REFUSED, .why = "sdflow sandboxes every replica itself" },
        { "livenessProbe", F_ANY },
        { "readinessProbe", F_ANY },
        {},
};
static const Field container_item = { "", F_OBJECT, .fields = container_fields };

static const Field predictor_fields[] = {
        { "model", F_OBJECT, .fields = model_fields },
        { "sklearn", F_OBJECT, .fields = framework_fields },
        { "xgboost", F_OBJECT, .fields = framework_fields },
        { "containers", F_ARRAY, .fields = &container_item },
        { "minReplicas", F_INT },
        { "maxReplicas", F_INT },
        { "scaleMetric", F_STRING, .enum_values = scale_metrics },
        { "scaleTarget", F_INT },
        { "containerConcurrency", F_INT },
        { "timeout", F_INT },
        { "canaryTrafficPercent", F_INT },
        { "tensorflow", F_REFUSED, .why = "supported model formats: xgboost, sklearn" },
        { "pytorch", F_REFUSED, .why = "supported model formats: xgboost, sklearn" },
        { "triton", F_REFUSED, .why = "supported model formats: xgboost, sklearn" },
        { "onnx", F_REFUSED, .why = "supported model formats: xgboost, sklearn" },
        { "lightgbm", F_REFUSED, .why = "supported model formats: xgboost, sklearn" },
        { "paddle", F_REFUSED, .why = "supported model formats: xgboost, sklearn" },
        { "pmml", F_REFUSED, .why = "supported model formats: xgboost, sklearn" },
        { "batcher", F_REFUSED, .why = "request batching is not implemented" },
        { "logger", F_REFUSED, .why = "requests are logged by the gateway" },
        { "workerSpec", F_REFUSED, .why = "multi-node serving needs a cluster" },
        POD_REFUSALS,
        {},
};

static const Field isvc_spec[] = {
        { "predictor", F_OBJECT, FIELD_REQUIRED, .fields = predictor_fields },
        { "transformer", F_REFUSED, .why = "transformers are not implemented; serve the whole pipeline in one model" },
        { "explainer", F_REFUSED, .why = "explainers are not implemented" },
        {},
};

static void check_range(json_t *pred, const char *field, json_int_t lo, json_int_t hi, Diags *d) {
        char path[128];
        json_t *v = json_object_get(pred, field);
        snprintf(path, sizeof path, "spec.predictor.%s", field);
        if (json_is_integer(v) && (json_integer_value(v) < lo || json_integer_value(v) > hi))
                diags_add(d, true, path, "%" JSON_INTEGER_FORMAT " is out of range [%" JSON_INTEGER_FORMAT
                          ", %" JSON_INTEGER_FORMAT "]", json_integer_value(v), lo, hi);
}

/* Seconds in a Knative duration of the form <n>ms|s|m|h, or -1. */
static long duration_seconds(const char *s) {
        char *end;
        if (!s || *s < '0' || *s > '9')
                return -1;
        unsigned long v = strtoul(s, &end, 10);
        if (v > 1000000)
                return -1;
        if (strcmp(end, "ms") == 0)
                return (long) ((v + 999) / 1000);
        if (strcmp(end, "s") == 0)
                return (long) v;
        if (strcmp(end, "m") == 0)
                return (long) v * 60;
        if (strcmp(end, "h") == 0)
                return (long) v * 3600;
        return -1;
}

/* The autoscaling annotations sdflow applies (Knative's names). */
static void check_annotations(json_t *obj, Diags *d) {
        json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
        const char *key;
        json_t *v;
        char path[200];
        json_object_foreach(ann, key, v) {
                const char *s = json_string_value(v);
                long secs;
                snprintf(path, sizeof path, "metadata.annotations[\"%.120s\"]", key);
                if (strncmp(key, "autoscaling.knative.dev/", 24) != 0)
                        continue;
                const char *k = key + 24; /* key itself drives the loop */
                if (strcmp(k, "window") == 0) {
                        if ((secs = duration_seconds(s)) < 1 || secs > 599)
                                diags_add(d, true, path, "'%.40s' is not a stable window between 1s and 599s "
                                          "(e.g. 60s, 2m)", s ?: "");
                } else if (strcmp(k, "scale-to-zero-pod-retention-period") == 0) {
                        if ((secs = duration_seconds(s)) < 0 || secs > 86400)
                                diags_add(d, true, path, "'%.40s' is not a duration up to 24h (e.g. 60s, 5m)", s ?: "");
                } else if (strcmp(k, "panic-window-percentage") == 0) {
                        char *end;
                        double p = s ? strtod(s, &end) : 0;
                        if (!s || *end || p < 1 || p > 100)
                                diags_add(d, true, path, "'%.40s' is not a percentage between 1 and 100", s ?: "");
                } else if (strcmp(k, "class") == 0 || strcmp(k, "metric") == 0 || strcmp(k, "target") == 0 ||
                           strcmp(k, "min-scale") == 0 || strcmp(k, "max-scale") == 0)
                        diags_add(d, true, path, "is not supported: use spec.predictor's minReplicas, maxReplicas, "
                                  "scaleMetric and scaleTarget");
                else
                        diags_add(d, false, path, "is not applied by sdflow (it applies window, "
                                  "panic-window-percentage and scale-to-zero-pod-retention-period)");
        }
}

static void isvc_validate(json_t *obj, Diags *d) {
        json_t *pred = json_object_get(json_object_get(obj, "spec"), "predictor");
        char path[128];
        int kinds_given = 0;
        const char *which[] = { "model", "sklearn", "xgboost", "containers" };

        for (size_t i = 0; i < sizeof which / sizeof which[0]; i++)
                if (json_object_get(pred, which[i]))
                        kinds_given++;
        if (kinds_given != 1)
                diags_add(d, true, "spec.predictor",
                          "give exactly one of model, sklearn, xgboost or containers (got %d)", kinds_given);

        check_annotations(obj, d);
        /* A custom server: one container, started by its command (sdflow
         * runs no image entrypoints). */
        json_t *containers = json_object_get(pred, "containers");
        if (json_array_size(containers) > 1)
                diags_add(d, true, "spec.predictor.containers", "has %zu containers: sidecars are not supported, give one",
                          json_array_size(containers));
        json_t *c0 = json_array_get(containers, 0);
        if (c0 && json_array_size(json_object_get(c0, "command")) == 0)
                diags_add(d, true, "spec.predictor.containers[0].command",
                          "is required: sdflow does not know image entrypoints; give the server's command line");
        check_range(pred, "minReplicas", 0, 16, d);
        check_range(pred, "maxReplicas", 0, 16, d);
        check_range(pred, "scaleTarget", 1, 100000, d);
        check_range(pred, "containerConcurrency", 0, 100000, d);
        check_range(pred, "timeout", 1, 3600, d);
        check_range(pred, "canaryTrafficPercent", 0, 100, d);
        json_t *mn = json_object_get(pred, "minReplicas"), *mx = json_object_get(pred, "maxReplicas");
        if (json_is_integer(mn) && json_is_integer(mx) && json_integer_value(mx) != 0 &&
            json_integer_value(mx) < json_integer_value(mn))
                diags_add(d, true, "spec.predictor.maxReplicas", "%" JSON_INTEGER_FORMAT " is less than minReplicas (%" JSON_INTEGER_FORMAT ")",
                          json_integer_value(mx), json_integer_value(mn));

        /* storageUri: file:// here (remote stores cannot be reached). */
        for (size_t i = 0; i < 3; i++) {
                const char *uri = json_string_value(json_object_get(json_object_get(pred, which[i]), "storageUri"));
                snprintf(path, sizeof path, "spec.predictor.%s.storageUri", which[i]);
                if (uri && strncmp(uri, "artifact://", 11) == 0) {
                        const char *p = uri + 11;
                        int parts = 1;
                        for (const char *q = p; *q; q++)
                                parts += *q == '/';
                        if (parts != 3 || strstr(p, "//") || p[strlen(p) - 1] == '/' || strstr(p, ".."))
                                diags_add(d, true, path, "'%.100s' must be artifact://WORKFLOW/STEP/ARTIFACT", uri);
                } else if (uri && strncmp(uri, "file:///", 8) != 0 && strncmp(uri, "pvc://", 6) != 0)
                        diags_add(d, true, path,
                                  "'%.100s' cannot be fetched on this host: use file:///path or "
                                  "artifact://WORKFLOW/STEP/ARTIFACT (gs://, s3:// and "
                                  "http(s):// need a network sdflow does not use)", uri);
                else if (uri && strncmp(uri, "pvc://", 6) == 0)
                        diags_add(d, true, path, "pvc:// needs Kubernetes volumes: use file:///path");
                else if (uri && (strstr(uri, "/../") || strstr(uri, "/./")))
                        diags_add(d, true, path, "'%.100s' must be a normalised absolute path", uri);
        }
        /* Resources: quantities that the namespace quota can count. */
        json_t *res = json_object_get(json_object_get(pred, "model"), "resources");
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(res, "limits"), key, v)
                if (strcmp(key, "cpu") && strcmp(key, "memory") && strcmp(key, "nvidia.com/gpu")) {
                        snprintf(path, sizeof path, "spec.predictor.model.resources.limits.%s", key);
                        diags_add(d, true, path, "is not supported (cpu, memory, nvidia.com/gpu)");
                }
}

static const char *const isvc_short[] = { "isvc", "inferenceservice", NULL };

const Kind kind_isvc = {
        .group = "serving.kserve.io",
        .version = "v1beta1",
        .kind = "InferenceService",
        .plural = "inferenceservices",
        .short_names = isvc_short,
        .namespaced = true,
        .spec = isvc_spec,
        .spec_required = true,
        .validate = isvc_validate,
};
