/* serving.c: see serving.h.
 *
 * Revisions, as Knative and KServe have them: the predictor's template (the
 * predictor without canaryTrafficPercent, plus the autoscaling annotations)
 * has a digest; applying a template whose digest differs from the latest
 * revision's creates revision N+1 (<isvc>-predictor-0000N) with its own model
 * copy, units and sockets.  A new revision gets traffic only once its first
 * replica answers the readiness check (GET /v2/health/ready); until then, or
 * if it never does, the revision that had all the traffic keeps it.  With
 * canaryTrafficPercent the latest ready revision gets that share and the
 * last rolled-out one the rest; without it the latest gets everything,
 * becomes the rolled-out revision and the one before is retired (its
 * units go at the next change, so requests the gateway sent before it read
 * the new route table are still answered).  The revisions
 * and the split live in the status (status.components.predictor, as KServe
 * writes it, and status.revisions with the units, which the route table
 * is made from). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "imagemap.h"
#include "kinds.h"
#include "log.h"
#include "manifest.h"
#include "quota.h"
#include "revisions.h"
#include "serving.h"
#include "slice.h"
#include "strv.h"

#define MAX_REPLICAS 16
#define DEFAULT_IDLE_SEC 60
#define DOMAIN "example.com"
#define READY_TIMEOUT_USEC (120 * USEC_PER_SEC)
#define SKLEARN_SERVER "/usr/lib/sdflow/sdflow-serve-sklearn"
#define FORWARDER "/usr/lib/sdflow/sdflow-forward"

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

/* obj[key], made an object if missing; NULL if it is something else. */
static json_t *object_member(json_t *obj, const char *key) {
        json_t *v = json_object_get(obj, key);
        if (!v) {
                v = json_object();
                json_object_set_new(obj, key, v);
        }
        return json_is_object(v) ? v : NULL;
}

void serving_default(const Namespaces *n, json_t *isvc) {
        const char *format;
        json_t *part = model_part(isvc, &format);
        if (!part)
                part = json_array_get(json_object_get(predictor(isvc), "containers"), 0);
        if (!json_is_object(part) || (!n->default_cpu && !n->default_memory))
                return;
        json_t *res = object_member(part, "resources"), *limits = res ? object_member(res, "limits") : NULL;
        json_t *requests = res ? object_member(res, "requests") : NULL;
        if (!limits || !requests)
                return;
        const char *const keys[][2] = { { "cpu", n->default_cpu }, { "memory", n->default_memory } };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (!json_object_get(limits, keys[i][0]) && keys[i][1])
                        json_object_set_new(limits, keys[i][0], json_string(keys[i][1]));
                json_t *lim = json_object_get(limits, keys[i][0]);
                if (!json_object_get(requests, keys[i][0]) && lim)
                        json_object_set(requests, keys[i][0], lim);
        }
}

int serving_admit(Store *store, json_t *isvc, json_t *profile, char *msg, size_t size) {
        const char *ns = manifest_namespace(isvc), *name = manifest_name(isvc);
        Resources quota = RESOURCES_UNSET, used = RESOURCES_UNSET, want = wants(isvc);
        uint64_t gpus;
        json_auto_t *items = NULL;
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
        return quota_admit(ns, &quota, &used, &want, msg, size);
}

/* ---- revisions ------------------------------------------------------------------ */

static const char *annotation(json_t *isvc, const char *key) {
        return json_string_value(json_object_get(json_object_get(json_object_get(isvc, "metadata"), "annotations"), key));
}

/* Seconds of a Knative duration ("60s", "2m", "500ms" rounds up); def if absent. */
static unsigned seconds_of(const char *s, unsigned def) {
        char *end;
        if (!s)
                return def;
        unsigned long v = strtoul(s, &end, 10);
        if (strcmp(end, "ms") == 0)
                return (unsigned) ((v + 999) / 1000);
        if (strcmp(end, "m") == 0)
                return (unsigned) (v * 60);
        if (strcmp(end, "h") == 0)
                return (unsigned) (v * 3600);
        return (unsigned) v;
}

/* FNV-1a of the revision's template: what makes a new revision. */
static void template_digest(json_t *isvc, char out[17]) {
        json_auto_t *t = json_deep_copy(predictor(isvc));
        json_object_del(t, "canaryTrafficPercent");
        const char *key;
        json_t *v, *ann = json_object();
        json_object_foreach(json_object_get(json_object_get(isvc, "metadata"), "annotations"), key, v)
                if (strncmp(key, "autoscaling.knative.dev/", 24) == 0)
                        json_object_set(ann, key, v);
        json_object_set_new(t, "annotations", ann);
        /* (Out of memory gives the digest of "": a new revision, not a lost one.) */
        _cleanup_free_ char *s = json_dumps(t, JSON_SORT_KEYS | JSON_COMPACT);
        uint64_t h = 0xcbf29ce484222325ULL;
        for (const char *p = s ?: ""; *p; p++)
                h = (h ^ (unsigned char) *p) * 0x100000001b3ULL;
        snprintf(out, 17, "%016llx", (unsigned long long) h);
}

static void revision_name(const char *isvc, json_int_t number, char *buf, size_t size) {
        snprintf(buf, size, "%s-predictor-%05lld", isvc, (long long) number);
}

static void unit_base(const char *ns, const char *isvc, json_int_t number, unsigned i, char *buf, size_t size) {
        /* '_' cannot occur in either name, so no two revisions share units. */
        snprintf(buf, size, "sdflow_%s_%s_%lld_%u", ns, isvc, (long long) number, i);
}

/* The replicas' units are stopped on the event loop (manager_stop()): a
 * server that ignores SIGTERM holds its stop for TimeoutStopSec=, not the
 * control plane.  A stop that could not be asked for is logged there. */
static void stop_revision(Namespaces *n, json_t *rev) {
        char unit[320];
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(rev, "replicas"), i, r) {
                const char *svc = json_string_value(json_object_get(r, "unit"));
                if (!svc)
                        continue;
                snprintf(unit, sizeof unit, "%.*s.socket", (int) (strlen(svc) - strlen(".service")), svc);
                int k = manager_stop(n->bus, unit, NULL, NULL);
                if (k >= 0)
                        k = manager_stop(n->bus, svc, NULL, NULL);
                if (k < 0)
                        log_warning_errno(k, "Stopping %s: %m", svc);
                /* A custom server's environment (manager_start_replica). */
                snprintf(unit, sizeof unit, "%.*s-server.service", (int) (strlen(svc) - strlen(".service")), svc);
                manager_remove_env_file(unit);
        }
}

static void unmodel_done(int r, const char *err, void *userdata) {
        char *what = userdata;
        if (r < 0)
                log_warning("%s: cannot remove its model: %s", what, err);
        free(what);
}

/* Stops a revision's units and removes its model copy, on the event loop
 * (revision numbers are not reused, so nothing new can be in its way). */
static void drop_revision(Namespaces *n, const char *ns, const char *isvc, json_t *rev) {
        char num[32], unit[256];
        stop_revision(n, rev);
        snprintf(num, sizeof num, "%lld", (long long) json_integer_value(json_object_get(rev, "number")));
        char *const argv[] = { (char *) n->helper, (char *) "unmodel", (char *) ns, (char *) isvc, num, NULL };
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "InferenceService %s/%s revision %s", ns, isvc, num) < 0) {
                what = NULL;
                log_oom();
                return;
        }
        int r = manager_run_async(n->bus, "sdflow-ns-unmodel", argv, 60 * USEC_PER_SEC, unmodel_done, what, unit,
                                  sizeof unit);
        if (r < 0)
                log_warning_errno(r, "%s: cannot remove its model: %m", what);
        else
                TAKE_PTR(what); /* unmodel_done()'s */
}

/* What a readiness check's answer (an HTTP status, or -errno) says of a
 * revision: 0 if ready, else -errno with the reason in err. */
static int probe_verdict(const char *sock, const char *path, bool any_answer, int status, const char *body, char *err,
                         size_t errsz) {
        if (status < 0) {
                snprintf(err, errsz, "the model server did not answer its readiness check (GET %s on %s): %s; "
                                     "see sdflow logs",
                         path, sock, status == -ETIMEDOUT ? "timed out" : status == -EBADMSG ? "it closed without answering (crashed?)"
                                                                                            : strerror(-status));
                return status;
        }
        if ((status >= 200 && status < 300) || any_answer)
                return 0;
        snprintf(err, errsz, "the readiness check answered %d: %.200s", status, body ?: "");
        return -EPROTO;
}

/* command + args as a NULL-terminated vector; NULL without a command. */
static char **strv_of(json_t *command, json_t *args) {
        size_t n = json_array_size(command) + json_array_size(args), k = 0, i;
        json_t *v;
        if (json_array_size(command) == 0)
                return NULL;
        char **out = calloc(n + 1, sizeof *out);
        if (!out)
                return NULL;
        json_array_foreach(command, i, v)
                out[k++] = strdup(json_string_value(v) ?: "");
        json_array_foreach(args, i, v)
                out[k++] = strdup(json_string_value(v) ?: "");
        return strv_complete(out, k);
}

/* NAME=VALUE for env's entries, after the defaults every replica gets: one
 * prediction thread (replicas scale out, not threads) and no thread pools
 * spun up at start, which takes milliseconds off every cold start. */
static char **env_of(json_t *env) {
        static const char *const defaults[] = { "OMP_NUM_THREADS=1", "OMP_WAIT_POLICY=passive",
                                                "OPENBLAS_NUM_THREADS=1" };
        size_t nd = sizeof defaults / sizeof defaults[0], k = 0, i;
        json_t *e;
        char **out = calloc(nd + json_array_size(env) + 1, sizeof *out);
        if (!out)
                return NULL;
        for (i = 0; i < nd; i++)
                out[k++] = strdup(defaults[i]);
        json_array_foreach(env, i, e)
                if (asprintf(&out[k++], "%s=%s", json_string_value(json_object_get(e, "name")) ?: "",
                             json_string_value(json_object_get(e, "value")) ?: "") < 0)
                        out[k - 1] = NULL;
        return strv_complete(out, k);
}

/* One replica's socket on its way (manager_start_replica()). */
typedef struct ReplicaStart {
        Namespaces *n;
        char ns[128], name[256], rev[300];
        unsigned index;
} ReplicaStart;

static void on_replica_started(int r, const char *err, void *userdata) {
        ReplicaStart *rs = userdata;
        if (r < 0)
                log_warning("InferenceService %s/%s: revision %s: %s", rs->ns, rs->name, rs->rev, err);
        if (rs->n->replica_event)
                rs->n->replica_event(rs->n->replica_userdata, rs->ns, rs->name, rs->rev, rs->index, r < 0 ? r : 0, err);
        free(rs);
}

/* Starts the units of revision rev (its record has number, name and, for a
 * model, modelPath) from isvc's predictor: the replicas' sockets and
 * services, recorded in rev.replicas, and the scaling settings the gateway
 * applies.  The sockets' start jobs end on the loop (n->replica_event
 * hears of each).  Returns 0, or < 0 with a message in err (units asked
 * for are stopped again). */
static int start_replicas(Namespaces *n, json_t *isvc, json_t *rev, char *err, size_t errsz) {
        const char *ns = manifest_namespace(isvc), *name = manifest_name(isvc), *format;
        const char *rname = json_string_value(json_object_get(rev, "name"));
        const char *dir_rec = json_string_value(json_object_get(rev, "modelPath"));
        json_int_t number = json_integer_value(json_object_get(rev, "number"));
        json_t *pred = predictor(isvc);
        (void) model_part(isvc, &format);
        json_t *c0 = json_array_get(json_object_get(pred, "containers"), 0);
        char user[64], slice[300], dir[512];
        ImageRoot root = {};
        ns_user_name(ns, user, sizeof user);
        if (c0) {
                const char *image = json_string_value(json_object_get(c0, "image"));
                if (imagemap_lookup(n->image_map, image, &root, err, errsz) < 0)
                        return -ENOENT;
                snprintf(dir, sizeof dir, "/var/lib/sdflow/ns/%s", ns);
        } else
                snprintf(dir, sizeof dir, "%s", dir_rec ?: "");
        json_object_set_new(rev, "replicas", json_array());

        /* Scaling, as the gateway is to apply it. */
        unsigned reps = replicas_of(isvc);
        json_int_t min = json_integer_value(json_object_get(pred, "minReplicas"));
        unsigned stable = seconds_of(annotation(isvc, "autoscaling.knative.dev/window"), 60);
        const char *pct = annotation(isvc, "autoscaling.knative.dev/panic-window-percentage");
        unsigned panic = (unsigned) ((double) stable * (pct ? strtod(pct, NULL) : 10.0) / 100.0 + 0.5);
        unsigned idle = seconds_of(annotation(isvc, "autoscaling.knative.dev/scale-to-zero-pod-retention-period"),
                                   DEFAULT_IDLE_SEC);
        json_object_set_new(rev, "minReplicas", json_integer(min));
        json_object_set_new(rev, "maxReplicas", json_integer(reps));
        json_object_set_new(rev, "scaleTarget", json_integer(json_integer_value(json_object_get(pred, "scaleTarget"))));
        json_object_set_new(rev, "containerConcurrency",
                            json_integer(json_integer_value(json_object_get(pred, "containerConcurrency"))));
        json_object_set_new(rev, "stableWindowSeconds", json_integer(stable));
        json_object_set_new(rev, "panicWindowSeconds", json_integer(panic ? panic : 1));

        /* A custom server's command line and environment. */
        _cleanup_strv_free_ char **server_argv = NULL, **env = NULL;
        unsigned port = 8080;
        if (c0) {
                server_argv = strv_of(json_object_get(c0, "command"), json_object_get(c0, "args"));
                env = env_of(json_object_get(c0, "env"));
                json_t *cp = json_object_get(json_array_get(json_object_get(c0, "ports"), 0), "containerPort");
                if (json_is_integer(cp) && json_integer_value(cp) > 0 && json_integer_value(cp) < 65536)
                        port = (unsigned) json_integer_value(cp);
        } else
                env = env_of(NULL);
        if ((c0 && !server_argv) || !env) {
                snprintf(err, errsz, "out of memory");
                return -ENOMEM;
        }

        /* Limits per replica (those admitted, divided back). */
        Resources w = wants(isvc);
        ns_slice_name(ns, slice, sizeof slice);
        for (unsigned i = 0; i < reps; i++) {
                char base[300], sock[400], model_arg[600], name_arg[300], idle_arg[64], desc[400];
                unit_base(ns, name, number, i, base, sizeof base);
                snprintf(sock, sizeof sock, "/run/sdflow/ns/%s/%s-%lld-%u.sock", ns, name, (long long) number, i);
                /* Replicas below minReplicas stay warm: they never exit. */
                unsigned my_idle = (json_int_t) i < min ? 0 : idle;
                snprintf(desc, sizeof desc, "sdflow InferenceService %s/%s revision %s replica %u", ns, name, rname, i);
                char *xgb[] = { (char *) "/usr/sbin/sdflow-serve", model_arg, name_arg, idle_arg, NULL };
                char *skl[] = { (char *) "/usr/bin/python3", (char *) "-I", (char *) SKLEARN_SERVER, model_arg,
                                name_arg, idle_arg, NULL };
                char *fwd[] = { (char *) FORWARDER, model_arg, idle_arg, (char *) "--connect-timeout=60", NULL };
                bool sklearn = !c0 && strcmp(format, "sklearn") == 0;
                if (c0) {
                        snprintf(model_arg, sizeof model_arg, "--port=%u", port);
                        snprintf(idle_arg, sizeof idle_arg, "--idle-timeout=%u", my_idle);
                } else if (sklearn) {
                        snprintf(model_arg, sizeof model_arg, "--model-dir=%s", dir);
                        snprintf(name_arg, sizeof name_arg, "--model-name=%s", name);
                        snprintf(idle_arg, sizeof idle_arg, "--idle-timeout=%u", my_idle);
                } else {
                        snprintf(model_arg, sizeof model_arg, "--set=ModelPath=%s", dir);
                        snprintf(name_arg, sizeof name_arg, "--set=ModelName=%s", name);
                        snprintf(idle_arg, sizeof idle_arg, "--idle-timeout=%us", my_idle);
                }
                ReplicaSpec spec = {
                        .base = base, .socket_path = sock, .slice = slice, .user = user, .read_only = dir,
                        .argv = c0 ? fwd : sklearn ? skl : xgb, .description = desc, .self_confined = !c0 && !sklearn,
                        .env = env, .server_argv = server_argv,
                        .root_directory = root.kind == IMAGE_DIRECTORY ? root.path : NULL,
                        .root_image = root.kind == IMAGE_DISK ? root.path : NULL,
                        .working_directory = json_string_value(json_object_get(c0, "workingDir")),
                        .cpu_quota_per_sec_usec = w.v[RES_CPU_MILLIS] == RESOURCE_UNSET ? UINT64_MAX
                                                                                         : w.v[RES_CPU_MILLIS] / reps * 1000,
                        .memory_max = w.v[RES_MEMORY_BYTES] == RESOURCE_UNSET ? UINT64_MAX : w.v[RES_MEMORY_BYTES] / reps,
                };
                /* Recorded first: a start that fails is stopped with the rest. */
                _cleanup_free_ ReplicaStart *rs = calloc(1, sizeof *rs);
                if (!rs || json_array_append_new(json_object_get(rev, "replicas"),
                                                 json_pack("{s:s+, s:s}", "unit", base, ".service", "socket", sock)) < 0) {
                        snprintf(err, errsz, "out of memory");
                        stop_revision(n, rev);
                        return -ENOMEM;
                }
                *rs = (ReplicaStart) { .n = n, .index = i };
                snprintf(rs->ns, sizeof rs->ns, "%s", ns);
                snprintf(rs->name, sizeof rs->name, "%s", name);
                snprintf(rs->rev, sizeof rs->rev, "%s", rname ?: "");
                int r = manager_start_replica(n->bus, &spec, on_replica_started, rs, err, errsz);
                if (r < 0) {
                        stop_revision(n, rev);
                        return r;
                }
                TAKE_PTR(rs); /* on_replica_started()'s */
                if (i == 0 && n->replica_event)
                        n->replica_event(n->replica_userdata, ns, name, rname ?: "", 0, 1, NULL);
        }
        return 0;
}

/* Creates revision number of isvc: copies the model, starts the replicas'
 * units and checks that the first replica answers.  Returns the revision's
 * record, with "ready" and, when not ready, "reason" and "message". */
static json_t *start_revision(Namespaces *n, json_t *isvc, json_t *rev, char *err, size_t errsz);

static json_t *create_revision(Namespaces *n, json_t *isvc, json_t *profile, const char *reader, json_int_t number,
                               const char *digest) {
        const char *ns = manifest_namespace(isvc), *name = manifest_name(isvc), *format;
        const char *owner = json_string_value(json_object_get(json_object_get(json_object_get(profile, "spec"), "owner"), "name"));
        json_t *m = model_part(isvc, &format), *pred = predictor(isvc);
        char user[64], num[32], err[512], rname[300];
        revision_name(name, number, rname, sizeof rname);
        json_t *rev = json_pack("{s:s, s:I, s:s, s:b, s:[]}", "name", rname, "number", (json_int_t) number, "digest",
                                digest, "ready", 0, "replicas");
#define NOT_READY(reason_, ...)                                                                            \
        do {                                                                                               \
                char m_[600];                                                                              \
                snprintf(m_, sizeof m_, __VA_ARGS__);                                                      \
                json_object_set_new(rev, "reason", json_string(reason_));                                  \
                json_object_set_new(rev, "message", json_string(m_));                                      \
                return rev;                                                                                \
        } while (0)

        json_t *c0 = json_array_get(json_object_get(pred, "containers"), 0);
        ns_user_name(ns, user, sizeof user);
        snprintf(num, sizeof num, "%lld", (long long) number);
        if (!c0) {
                const char *uri = json_string_value(json_object_get(m, "storageUri"));
                char src[1024];
                if (uri && strncmp(uri, "artifact://", 11) == 0) {
                        /* A model a pipeline step made. */
                        char why[512] = "no pipeline engine";
                        if (!n->artifact_path ||
                            n->artifact_path(n->artifact_userdata, ns, uri, src, sizeof src, why, sizeof why) < 0)
                                NOT_READY("InvalidStorageUri", "%s", why);
                } else if (!uri || strncmp(uri, "file://", 7) != 0)
                        NOT_READY("InvalidStorageUri", "storageUri must be file:///path or artifact://WORKFLOW/STEP/ARTIFACT");
                else
                        snprintf(src, sizeof src, "%s", uri + 7);
                /* A file is read with the rights of the user who applied the
                 * InferenceService (a contributor serves only what they may
                 * read themselves); a pipeline's artifact is the namespace's,
                 * read as its user. */
                const char *as = uri && strncmp(uri, "artifact://", 11) == 0 ? user : reader;
                /* Nothing is read as root (sdflow-privd refuses it): what
                 * root applied is read as the namespace's user. */
                if (as && strcmp(as, "root") == 0)
                        as = user;
                /* The copy runs on the event loop (serving_copy_start(),
                 * serving_copied()); the replicas start after it. */
                json_object_set_new(rev, "copying", json_pack("{s:s, s:s, s:s, s:s, s:s}", "source", src, "as", as ?: user,
                                                              "owner", owner ?: "root", "format", format ?: "xgboost",
                                                              "user", user));
                json_object_set_new(rev, "reason", json_string("Deploying"));
                char msg[1600];
                snprintf(msg, sizeof msg, "revision %s is starting: copying the model from %s (as %s)", rname, src,
                         as ?: user);
                json_object_set_new(rev, "message", json_string(msg));
                return rev;
        }
        return start_revision(n, isvc, rev, err, sizeof err);
#undef NOT_READY
}

/* The second half of a new revision: its replicas, then its readiness
 * check (left "probing").  rev is returned, not ready with a reason when
 * the replicas could not start. */
static json_t *start_revision(Namespaces *n, json_t *isvc, json_t *rev, char *err, size_t errsz) {
        json_t *pred = predictor(isvc);
        json_t *c0 = json_array_get(json_object_get(pred, "containers"), 0);
        const char *rname = json_string_value(json_object_get(rev, "name")) ?: "";
#define NOT_READY(reason_, ...)                                                                            \
        do {                                                                                               \
                char m_[600];                                                                              \
                snprintf(m_, sizeof m_, __VA_ARGS__);                                                      \
                json_object_set_new(rev, "reason", json_string(reason_));                                  \
                json_object_set_new(rev, "message", json_string(m_));                                      \
                return rev;                                                                                \
        } while (0)

        /* A snapshot of what makes the revision, to start it again (after a
         * reboot, transient units are gone) exactly as it was. */
        json_t *ann = json_object_get(json_object_get(isvc, "metadata"), "annotations");
        json_object_set_new(rev, "template", json_pack("{s:{s:O*}, s:{s:O}}", "metadata", "annotations", ann, "spec",
                                                       "predictor", pred));
        int r = start_replicas(n, isvc, rev, err, errsz);
        if (r < 0)
                /* A custom server's image: its root comes from the image map. */
                NOT_READY(r == -ENOENT ? "ImageNotMapped" : "ReplicaFailed", "%s", err);
        /* The runtimes answer the Open Inference Protocol's readiness check;
         * a custom server its readinessProbe's path, or anything at all.
         * The check runs on the event loop (serving_probe_target(),
         * serving_probed()): loading a model holds nobody else up. */
        const char *probe = "/v2/health/ready";
        json_t *hg = json_object_get(json_object_get(c0, "readinessProbe"), "httpGet");
        if (c0)
                probe = json_string_value(json_object_get(hg, "path")) ?: "/";
        json_object_set_new(rev, "probing", json_pack("{s:s, s:b}", "path", probe, "anyAnswer", c0 && !hg));
        json_object_set_new(rev, "reason", json_string("Deploying"));
        char msg[600];
        snprintf(msg, sizeof msg, "revision %s is starting: waiting for its readiness check (GET %s)", rname, probe);
        json_object_set_new(rev, "message", json_string(msg));
        return rev;
#undef NOT_READY
}

static json_t *find_revision(json_t *revs, const char *name) {
        size_t i;
        json_t *r;
        json_array_foreach(revs, i, r)
                if (name && strcmp(json_string_value(json_object_get(r, "name")) ?: "", name) == 0)
                        return r;
        return NULL;
}

/* KServe's conditions: True, False, or Unknown while the latest revision's
 * readiness check is under way (pending). */
static json_t *conditions(bool ready, bool pending, const char *reason, const char *message) {
        char ts[32];
        format_now_rfc3339(ts, sizeof ts);
        json_t *cond = json_array();
        const char *types[] = { "PredictorReady", "Ready" };
        for (size_t i = 0; i < 2; i++)
                json_array_append_new(cond, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", types[i], "status",
                                                      ready ? "True" : pending ? "Unknown" : "False", "reason", reason,
                                                      "message", message, "lastTransitionTime", ts));
        return cond;
}

static json_t *status_of(Namespaces *n, json_t *isvc, json_t *st, json_t *revs, json_t *latest, bool ready,
                         const char *reason, const char *message);

json_t *serving_apply(Namespaces *n, json_t *isvc, json_t *profile, const char *reader) {
        const char *ns = manifest_namespace(isvc), *name = manifest_name(isvc);
        json_t *old = json_object_get(isvc, "status");
        json_t *revs = json_deep_copy(json_object_get(old, "revisions") ?: json_array());
        char url[300], digest[17];
        json_int_t generation = json_integer_value(json_object_get(json_object_get(isvc, "metadata"), "generation"));
        const char *reason = "RevisionReady", *message = "the latest revision answers; a request starts a server";

        snprintf(url, sizeof url, "http://%s.%s.%s", name, ns, DOMAIN);
        json_t *st = json_pack("{s:s, s:I}", "url", url, "observedGeneration", generation);
        if (!n->bus) {
                json_object_set_new(st, "conditions", conditions(false, false, "NoSystemd", "systemd is not reachable over D-Bus"));
                json_object_set_new(st, "revisions", revs);
                return st;
        }

        /* Which revisions there are: the latest created, the latest ready
         * (only it can get new traffic) and the one rolled out (100 %). */
        json_t *latest = json_array_get(revs, json_array_size(revs) - 1);
        template_digest(isvc, digest);
        bool ready = true, changed;
        json_int_t number;
        /* A new template makes a new revision; a latest revision that
         * failed is tried again under its number. */
        if (revisions_need(latest, digest, &number, &changed)) {
                json_t *rev = create_revision(n, isvc, profile, reader, number, digest);
                if (changed)
                        json_array_append_new(revs, rev);
                else
                        json_array_set_new(revs, json_array_size(revs) - 1, rev);
                latest = rev;
        }
        if (!json_is_true(json_object_get(latest, "ready"))) {
                ready = false;
                reason = json_string_value(json_object_get(latest, "reason"));
                message = json_string_value(json_object_get(latest, "message"));
        }
        return status_of(n, isvc, st, revs, latest, ready, reason, message);
}

/* The status from the revisions (revs, consumed; latest among them): the
 * traffic split, the revisions to retire, KServe's components and the
 * conditions, into st (consumed, returned). */
static json_t *status_of(Namespaces *n, json_t *isvc, json_t *st, json_t *revs, json_t *latest, bool ready,
                         const char *reason, const char *message) {
        const char *ns = manifest_namespace(isvc), *name = manifest_name(isvc);
        json_t *old = json_object_get(isvc, "status");
        json_t *oldpred = json_object_get(json_object_get(old, "components"), "predictor");
        const char *url = json_string_value(json_object_get(st, "url")) ?: "";
        const char *rolled_name = json_string_value(json_object_get(oldpred, "latestRolledoutRevision"));
        const char *prev_name = json_string_value(json_object_get(oldpred, "previousRolledoutRevision"));
        bool pending = json_object_get(latest, "probing") || json_object_get(latest, "copying");
        reason = reason ?: "RevisionFailed";
        message = message ?: "";
        json_t *canary_v = json_object_get(predictor(isvc), "canaryTrafficPercent");
        json_int_t canary = json_is_integer(canary_v) ? json_integer_value(canary_v) : 100;

        /* The traffic split, and which revisions keep their units
         * (revisions.c).  Those retired by the change before go now: the
         * gateway may have sent them a request or two until it read the
         * route table of that change, so their units stayed until this one
         * (with no traffic their servers exit when idle). */
        RevisionPlan plan;
        if (revisions_plan(revs, latest, rolled_name, prev_name, canary, &plan) < 0) {
                /* Out of memory: the revisions and the old split stay as
                 * they were (nothing retired), tried again at the next change. */
                log_oom();
                json_object_set_new(st, "revisions", revs);
                json_object_set(st, "retiredRevisions", json_object_get(old, "retiredRevisions"));
                json_object_set(st, "components", json_object_get(old, "components"));
                json_object_set_new(st, "conditions",
                                    conditions(false, true, "OutOfMemory",
                                               "sdflowd ran out of memory planning the traffic; apply again"));
                return st;
        }
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(old, "retiredRevisions"), i, r)
                drop_revision(n, ns, name, r);
        json_decref(revs);
        revs = json_incref(plan.kept);
        json_object_set(st, "retiredRevisions", plan.retired);
        json_t *ready_rev = plan.ready, *rolled = plan.rolled, *traffic = json_incref(plan.traffic);
        const char *rolled_buf = plan.rolled_name, *prev_buf = plan.previous_name;

        /* The status, KServe's shape plus sdflow's revision records. */
        json_t *comp = json_pack("{s:O, s:s}", "latestCreatedRevision", json_object_get(latest, "name"), "url", url);
        if (ready_rev)
                json_object_set(comp, "latestReadyRevision", json_object_get(ready_rev, "name"));
        if (rolled_buf[0])
                json_object_set_new(comp, "latestRolledoutRevision", json_string(rolled_buf));
        if (prev_buf[0])
                json_object_set_new(comp, "previousRolledoutRevision", json_string(prev_buf));
        json_object_set_new(comp, "traffic", traffic);
        json_object_set_new(st, "components", json_pack("{s:o}", "predictor", comp));
        json_t *all = json_array();
        json_array_foreach(revs, i, r)
                json_array_extend(all, json_object_get(r, "replicas"));
        json_object_set_new(st, "replicas", all);
        if (rolled) {
                json_object_set(st, "modelPath", json_object_get(rolled, "modelPath"));
                json_object_set_new(st, "address", json_pack("{s:s+}", "url", "unix:",
                                                             json_string_value(json_object_get(json_array_get(
                                                                     json_object_get(rolled, "replicas"), 0), "socket")) ?: ""));
        }
        json_object_set_new(st, "revisions", revs);
        /* Ready when the latest revision answers; if it does not, the one
         * before still serves, and the condition says why the latest failed. */
        if (ready && !ready_rev) {
                ready = false;
                reason = "NoReadyRevision";
                message = "no revision answers";
        }
        json_object_set_new(st, "conditions", conditions(ready, pending, reason, message));
        revisions_plan_clear(&plan);
        return st;
}

/* The latest revision of isvc, if it has member (e.g. "copying"). */
static json_t *latest_with(json_t *isvc, const char *member) {
        json_t *revs = json_object_get(json_object_get(isvc, "status"), "revisions");
        json_t *latest = json_array_get(revs, json_array_size(revs) - 1);
        return json_object_get(latest, member) ? latest : NULL;
}

const char *serving_copy_target(json_t *isvc) {
        return json_string_value(json_object_get(latest_with(isvc, "copying"), "name"));
}

int serving_copy_start(Namespaces *n, json_t *isvc, HelperDone done, void *userdata, char *unit, size_t unitsz) {
        json_t *rev = latest_with(isvc, "copying"), *cp = json_object_get(rev, "copying");
        if (!rev || !n->bus)
                return -ENOENT;
        const char *ns = manifest_namespace(isvc), *name = manifest_name(isvc);
        char num[32], max[32], secs[32];
        snprintf(num, sizeof num, "%lld", (long long) json_integer_value(json_object_get(rev, "number")));
        /* Bounded: MaxModelBytes= and ModelCopyTimeoutSec= (the helper is
         * stopped past it).  No storage quota applies (a Profile's
         * requests.storage is refused). */
        snprintf(max, sizeof max, "%llu", (unsigned long long) n->max_model_bytes);
        snprintf(secs, sizeof secs, "%llu", (unsigned long long) (n->copy_timeout_usec / USEC_PER_SEC ?: 1));
#define CP(k) ((char *) (json_string_value(json_object_get(cp, k)) ?: ""))
        char *const argv[] = { (char *) n->helper, (char *) "model", (char *) ns, CP("user"), CP("owner"), CP("source"),
                               (char *) name, num, CP("format"), max, secs, CP("as"), NULL };
#undef CP
        return manager_run_async(n->bus, "sdflow-ns-model", argv, n->copy_timeout_usec + 5 * USEC_PER_SEC, done,
                                 userdata, unit, unitsz);
}

json_t *serving_copied(Namespaces *n, json_t *isvc, const char *rev_name, int r, const char *why) {
        json_t *old = json_object_get(isvc, "status"), *cur = latest_with(isvc, "copying");
        if (!cur || strcmp(json_string_value(json_object_get(cur, "name")) ?: "", rev_name) != 0)
                return NULL; /* another apply came since: that one decides */
        json_t *revs = json_deep_copy(json_object_get(old, "revisions"));
        json_t *rev = json_array_get(revs, json_array_size(revs) - 1);
        json_object_del(rev, "copying");
        if (r < 0) {
                json_object_set_new(rev, "reason", json_string("ModelCopyFailed"));
                json_object_set_new(rev, "message", json_string(why && why[0] ? why : "the model copy failed"));
        } else {
                char dir[512], err[512];
                snprintf(dir, sizeof dir, "/var/lib/sdflow/ns/%s/models/%s/%lld", manifest_namespace(isvc),
                         manifest_name(isvc), (long long) json_integer_value(json_object_get(rev, "number")));
                json_object_set_new(rev, "modelPath", json_string(dir));
                (void) start_revision(n, isvc, rev, err, sizeof err);
        }
        json_t *st = json_pack("{s:O*, s:O*}", "url", json_object_get(old, "url"), "observedGeneration",
                               json_object_get(old, "observedGeneration"));
        return status_of(n, isvc, st, revs, rev, false, json_string_value(json_object_get(rev, "reason")),
                         json_string_value(json_object_get(rev, "message")));
}

/* The revision of isvc whose readiness check is to run: the latest, while
 * it has "probing". */
static json_t *probing_revision(json_t *isvc) {
        json_t *revs = json_object_get(json_object_get(isvc, "status"), "revisions");
        json_t *latest = json_array_get(revs, json_array_size(revs) - 1);
        return json_object_get(latest, "probing") ? latest : NULL;
}

bool serving_probe_target(json_t *isvc, const char **rev, const char **sock, const char **path) {
        json_t *r = probing_revision(isvc);
        *rev = json_string_value(json_object_get(r, "name"));
        *sock = json_string_value(json_object_get(json_array_get(json_object_get(r, "replicas"), 0), "socket"));
        *path = json_string_value(json_object_get(json_object_get(r, "probing"), "path"));
        return r && *rev && *sock && *path;
}

json_t *serving_probed(Namespaces *n, json_t *isvc, const char *rev_name, int status, const char *body) {
        const char *ns = manifest_namespace(isvc), *name = manifest_name(isvc);
        json_t *old = json_object_get(isvc, "status");
        json_t *probing = probing_revision(isvc);
        if (!probing || strcmp(json_string_value(json_object_get(probing, "name")) ?: "", rev_name) != 0)
                return NULL; /* another apply came since: that one decides */
        json_t *revs = json_deep_copy(json_object_get(old, "revisions"));
        json_t *rev = json_array_get(revs, json_array_size(revs) - 1);
        json_t *pr = json_object_get(rev, "probing");
        const char *sock = json_string_value(json_object_get(json_array_get(json_object_get(rev, "replicas"), 0), "socket"));
        char err[600];
        if (probe_verdict(sock ?: "", json_string_value(json_object_get(pr, "path")) ?: "/",
                          json_is_true(json_object_get(pr, "anyAnswer")), status, body, err, sizeof err) < 0) {
                stop_revision(n, rev);
                json_object_set_new(rev, "ready", json_false());
                json_object_set_new(rev, "reason", json_string("RevisionNotReady"));
                json_object_set_new(rev, "message", json_string(err));
                log_warning("InferenceService %s/%s: revision %s not ready: %s", ns, name, rev_name, err);
        } else {
                json_object_set_new(rev, "ready", json_true());
                json_object_del(rev, "reason");
                json_object_del(rev, "message");
                log_info("InferenceService %s/%s: revision %s ready, %zu replicas listening.", ns, name, rev_name,
                         json_array_size(json_object_get(rev, "replicas")));
        }
        json_object_del(rev, "probing");
        bool ready = json_is_true(json_object_get(rev, "ready"));
        json_t *st = json_pack("{s:O*, s:O*}", "url", json_object_get(old, "url"), "observedGeneration",
                               json_object_get(old, "observedGeneration"));
        return status_of(n, isvc, st, revs, rev, ready, ready ? "RevisionReady" : "RevisionNotReady",
                         ready ? "the latest revision answers; a request starts a server"
                               : json_string_value(json_object_get(rev, "message")));
}

json_t *serving_replica_failed(Namespaces *n, json_t *isvc, const char *rev_name, const char *err) {
        json_t *old = json_object_get(isvc, "status");
        json_t *cur = json_object_get(old, "revisions");
        json_t *latest = json_array_get(cur, json_array_size(cur) - 1);
        if (!latest || strcmp(json_string_value(json_object_get(latest, "name")) ?: "", rev_name) != 0 ||
            (!json_object_get(latest, "probing") && !json_is_true(json_object_get(latest, "ready"))))
                return NULL; /* not the revision that serves next, or failed already: logged only */
        json_t *revs = json_deep_copy(cur);
        json_t *rev = json_array_get(revs, json_array_size(revs) - 1);
        stop_revision(n, rev);
        json_object_del(rev, "probing");
        json_object_set_new(rev, "ready", json_false());
        json_object_set_new(rev, "reason", json_string("ReplicaFailed"));
        json_object_set_new(rev, "message", json_string(err));
        json_t *st = json_pack("{s:O*, s:O*}", "url", json_object_get(old, "url"), "observedGeneration",
                               json_object_get(old, "observedGeneration"));
        return status_of(n, isvc, st, revs, rev, false, "ReplicaFailed", err);
}

int serving_delete(Namespaces *n, json_t *isvc, HelperDone done, void *userdata, char *err, size_t errsz) {
        const char *ns = manifest_namespace(isvc), *name = manifest_name(isvc);
        size_t i;
        json_t *r;
        if (!n->bus) {
                snprintf(err, errsz, "systemd is not reachable over D-Bus");
                return -ENOTCONN;
        }
        json_array_foreach(json_object_get(json_object_get(isvc, "status"), "revisions"), i, r)
                stop_revision(n, r);
        json_array_foreach(json_object_get(json_object_get(isvc, "status"), "retiredRevisions"), i, r)
                stop_revision(n, r);
        char *const argv[] = { (char *) n->helper, (char *) "unmodel", (char *) ns, (char *) name, NULL };
        int k = manager_run_async(n->bus, "sdflow-ns-unmodel", argv, 60 * USEC_PER_SEC, done, userdata, NULL, 0);
        if (k < 0)
                snprintf(err, errsz, "the helper that removes the models could not start: %s", strerror(-k));
        return k;
}

/* The gateway's entry for one InferenceService, or NULL when nothing serves. */
json_t *serving_route(json_t *isvc) {
        json_t *st = json_object_get(isvc, "status");
        json_t *pred = json_object_get(json_object_get(st, "components"), "predictor");
        const char *url = json_string_value(json_object_get(st, "url"));
        json_auto_t *revs = json_array();
        size_t i;
        json_t *t;
        if (!url || strncmp(url, "http://", 7) != 0)
                return NULL;
        json_array_foreach(json_object_get(pred, "traffic"), i, t) {
                json_t *rev = find_revision(json_object_get(st, "revisions"),
                                            json_string_value(json_object_get(t, "revisionName")));
                json_auto_t *backends = json_array();
                json_t *rep;
                size_t k;
                json_array_foreach(json_object_get(rev, "replicas"), k, rep)
                        json_array_append(backends, json_object_get(rep, "socket"));
                if (!rev || json_array_size(backends) == 0)
                        continue;
                json_array_append_new(
                        revs, json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:o}", "name",
                                        json_object_get(rev, "name"), "percent", json_object_get(t, "percent"),
                                        "minReplicas", json_object_get(rev, "minReplicas"), "maxReplicas",
                                        json_object_get(rev, "maxReplicas"), "scaleTarget",
                                        json_object_get(rev, "scaleTarget"), "containerConcurrency",
                                        json_object_get(rev, "containerConcurrency"), "stableWindowSeconds",
                                        json_object_get(rev, "stableWindowSeconds"), "panicWindowSeconds",
                                        json_object_get(rev, "panicWindowSeconds"), "backends", TAKE_PTR(backends)));
        }
        if (json_array_size(revs) == 0)
                return NULL;
        json_t *route = json_pack("{s:s, s:s, s:s, s:o}", "host", url + 7, "namespace", manifest_namespace(isvc),
                                  "name", manifest_name(isvc), "revisions", TAKE_PTR(revs));
        json_t *timeout = json_object_get(predictor(isvc), "timeout");
        if (json_is_integer(timeout))
                json_object_set(route, "timeoutSeconds", timeout);
        return route;
}

void serving_observe(Namespaces *n, json_t *isvc) {
        json_t *st = json_object_get(isvc, "status"), *rev, *rep;
        size_t i, k;
        json_int_t total = 0;
        if (!n->bus || !st)
                return;
        char down[320] = "";
        json_array_foreach(json_object_get(st, "revisions"), i, rev) {
                json_int_t active = 0;
                json_array_foreach(json_object_get(rev, "replicas"), k, rep) {
                        const char *unit = json_string_value(json_object_get(rep, "unit"));
                        if (unit && manager_unit_active(n->bus, unit) > 0)
                                active++;
                        /* A ready revision's socket that systemd stopped (its
                         * server crash-looped) answers nothing until revived. */
                        if (unit && json_is_true(json_object_get(rev, "ready")) && !down[0]) {
                                char sock[320];
                                snprintf(sock, sizeof sock, "%.*s.socket", (int) (strlen(unit) - strlen(".service")),
                                         unit);
                                if (manager_unit_active(n->bus, sock) == 0)
                                        snprintf(down, sizeof down, "%s", sock);
                        }
                }
                json_object_set_new(rev, "activeReplicas", json_integer(active));
                total += active;
        }
        json_object_set_new(st, "activeReplicas", json_integer(total));
        if (down[0]) {
                char msg[512];
                snprintf(msg, sizeof msg, "%s is not listening (its server failed to start too often); "
                                          "sdflow-revive@%s.service starts it again shortly", down, down);
                json_t *cond;
                json_array_foreach(json_object_get(st, "conditions"), i, cond)
                        if (!strcmp(json_string_value(json_object_get(cond, "type")) ?: "", "Ready")) {
                                json_object_set_new(cond, "status", json_string("False"));
                                json_object_set_new(cond, "reason", json_string("ReplicaSocketDown"));
                                json_object_set_new(cond, "message", json_string(msg));
                        }
        }
}

void serving_restore(Namespaces *n, json_t *isvc) {
        const char *ns = manifest_namespace(isvc), *name = manifest_name(isvc);
        json_t *revs = json_object_get(json_object_get(isvc, "status"), "revisions"), *rev;
        size_t i;
        if (!n->bus)
                return;
        json_array_foreach(revs, i, rev) {
                json_t *tmpl = json_object_get(rev, "template");
                json_t *r0 = json_array_get(json_object_get(rev, "replicas"), 0);
                const char *svc = json_string_value(json_object_get(r0, "unit"));
                char sock[320], err[512];
                /* Ready ones, and one whose readiness check was under way
                 * (it runs again, see serving_probe_target()). */
                if ((!json_is_true(json_object_get(rev, "ready")) && !json_object_get(rev, "probing")) || !svc)
                        continue;
                snprintf(sock, sizeof sock, "%.*s.socket", (int) (strlen(svc) - strlen(".service")), svc);
                if (manager_unit_active(n->bus, sock) > 0)
                        continue;
                if (!tmpl) {
                        log_warning("InferenceService %s/%s: revision %s has no units and no template to start "
                                    "them from (made by an older sdflow); apply it again.", ns, name,
                                    json_string_value(json_object_get(rev, "name")));
                        continue;
                }
                /* Transient units do not survive a reboot: start them again, as they were. */
                json_auto_t *as_was = json_deep_copy(tmpl);
                json_t *md = json_object_get(as_was, "metadata");
                if (!md) {
                        log_oom();
                        continue;
                }
                json_object_set_new(md, "name", json_string(name));
                json_object_set_new(md, "namespace", json_string(ns));
                if (json_is_null(json_object_get(md, "annotations")))
                        json_object_del(md, "annotations");
                stop_revision(n, rev); /* whatever is left of them (failed units) */
                if (start_replicas(n, as_was, rev, err, sizeof err) < 0)
                        log_warning("InferenceService %s/%s: cannot start revision %s again: %s", ns, name,
                                    json_string_value(json_object_get(rev, "name")), err);
                else
                        log_info("InferenceService %s/%s: revision %s is started again.", ns, name,
                                 json_string_value(json_object_get(rev, "name")));
        }
}
