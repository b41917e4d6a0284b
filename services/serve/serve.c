/* serve.c: sdflow-serve, the native model server: one XGBoost model, KServe
 * V1 and Open Inference Protocol (V2), socket-activated, exits when idle. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "macro.h"
#include "model.h"
#include "protocol.h"
#include "sandbox.h"
#include "version.h"

typedef struct Settings {
        DaemonSettings daemon;
        char *model_path; /* ModelPath= */
        char *model_name; /* ModelName= */
        uint64_t sandbox; /* Sandbox= (1: confine after loading) */
} Settings;

typedef struct Serve {
        Model *model;
        char *name;
        bool sandbox;
} Serve;

static const Settings defaults = {
        .daemon = {
                .idle_exit_usec = 60 * USEC_PER_SEC,
                .request_timeout_usec = 30 * USEC_PER_SEC,
                .keepalive_timeout_usec = 75 * USEC_PER_SEC,
                .max_head = 16 * 1024,
                .max_body = 64 * 1024 * 1024,
                .max_connections = 1024,
        },
        .model_name = (char *) "model",
        .sandbox = 1,
};

static const ConfItem items[] = {
        CONF_ITEM("ModelPath", CONF_STRING, 0, 0, Settings, model_path),
        CONF_ITEM("ModelName", CONF_STRING, 0, 0, Settings, model_name),
        CONF_ITEM("Sandbox", CONF_UINT, 0, 1, Settings, sandbox),
};

/* The first answer of this process tells the gateway it was a cold start
 * (it counts them); later ones carry nothing extra. */
static bool answered;

static const char *first_headers(void) {
        if (answered)
                return NULL;
        answered = true;
        return "Sdflow-Cold-Start: 1\r\n";
}

/* Takes over the body it is given (NULL: out of memory). */
static void reply_body(HttpConn *c, int status, char *owned, size_t len) {
        _cleanup_free_ char *body = owned;
        if (!body) {
                (void) http_conn_reply_error(c, 500, false, "out of memory");
                return;
        }
        (void) http_conn_reply(c, status, "application/json", body, len, first_headers());
}

static void reply_err(HttpConn *c, int status, const char *msg) {
        size_t len = 0;
        char *body = protocol_error(msg, &len);
        reply_body(c, status, body, len);
}

static void reply_text(HttpConn *c, int status, const char *json) {
        (void) http_conn_reply(c, status, "application/json", json, strlen(json), first_headers());
}

/* Does [p, p+n) start with prefix, followed by the model name and then suffix exactly? */
static bool model_path_is(const char *p, size_t n, const char *prefix, const char *name, const char *suffix) {
        size_t a = strlen(prefix), b = strlen(name), c = strlen(suffix);
        return n == a + b + c && memcmp(p, prefix, a) == 0 && memcmp(p + a, name, b) == 0 &&
               memcmp(p + a + b, suffix, c) == 0;
}

static bool path_under(const char *p, size_t n, const char *prefix) {
        size_t a = strlen(prefix);
        return n > a && memcmp(p, prefix, a) == 0;
}

static void predict(Serve *s, HttpConn *c, const char *body, size_t len, bool v2) {
        char err[512];
        Matrix m;
        _cleanup_free_ char *id = NULL;
        const float *out;
        size_t dims[4], nd, rlen;
        int r = v2 ? protocol_v2_parse(body, len, model_num_features(s->model), &m, &id, err, sizeof err)
                   : protocol_v1_parse(body, len, model_num_features(s->model), &m, err, sizeof err);
        if (r < 0) {
                reply_err(c, r == -ENOMEM ? 500 : 400, r == -ENOMEM ? "out of memory" : err);
                return;
        }
        r = model_predict(s->model, m.data, m.rows, m.cols, &out, dims, &nd, err, sizeof err);
        matrix_done(&m);
        if (r < 0) {
                reply_err(c, 500, err);
                return;
        }
        char *resp = v2 ? protocol_v2_response(s->name, id, out, dims, nd, &rlen)
                        : protocol_v1_response(out, dims, nd, &rlen);
        reply_body(c, 200, resp, rlen);
}

static void handle(HttpConn *c, const HttpMessage *req, const char *body, size_t body_len, void *userdata) {
        Serve *s = userdata;
        const char *p, *q;
        size_t n, qn;
        char buf[512];
        bool get = http_method_is(req, "GET"), post = http_method_is(req, "POST");

        http_target_split(req, &p, &n, &q, &qn);
        if (get && (model_path_is(p, n, "/v2/health/live", "", "") || model_path_is(p, n, "/v2/health/ready", "", ""))) {
                reply_text(c, 200, n == 15 ? "{\"live\":true}\n" : "{\"ready\":true}\n");
                return;
        }
        if (get && model_path_is(p, n, "/v2", "", "")) {
                snprintf(buf, sizeof buf, "{\"name\":\"sdflow-serve\",\"version\":\"%s\",\"extensions\":[]}\n",
                         SDFLOW_VERSION);
                reply_text(c, 200, buf);
                return;
        }
        if (get && model_path_is(p, n, "/v1/models", "", "")) {
                snprintf(buf, sizeof buf, "{\"models\":[\"%s\"]}\n", s->name);
                reply_text(c, 200, buf);
                return;
        }
        if (model_path_is(p, n, "/v1/models/", s->name, ":predict") ||
            model_path_is(p, n, "/v2/models/", s->name, "/infer")) {
                if (!post) {
                        reply_err(c, 405, "use POST");
                        return;
                }
                predict(s, c, body, body_len, p[2] == '2');
                return;
        }
        if (get && (model_path_is(p, n, "/v1/models/", s->name, "") ||
                    model_path_is(p, n, "/v2/models/", s->name, "/ready"))) {
                snprintf(buf, sizeof buf, "{\"name\":\"%s\",\"ready\":true}\n", s->name);
                reply_text(c, 200, buf);
                return;
        }
        if (get && model_path_is(p, n, "/v2/models/", s->name, "")) {
                snprintf(buf, sizeof buf,
                         "{\"name\":\"%s\",\"versions\":[],\"platform\":\"xgboost\","
                         "\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[-1,%zu]}],"
                         "\"outputs\":[{\"name\":\"" PROTOCOL_OUTPUT_NAME "\",\"datatype\":\"FP32\",\"shape\":[-1]}]}\n",
                         s->name, model_num_features(s->model));
                reply_text(c, 200, buf);
                return;
        }
        if (path_under(p, n, "/v1/models/") || path_under(p, n, "/v2/models/")) {
                snprintf(buf, sizeof buf, "model not found: this server serves \"%s\"", s->name);
                reply_err(c, 404, buf);
                return;
        }
        reply_err(c, 404, "not found: see /v1/models/NAME:predict and /v2/models/NAME/infer");
}

static Serve *serve_free(Serve *s) {
        if (!s)
                return NULL;
        model_free(s->model);
        free(s->name);
        free(s);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Serve *, serve_free);

static void teardown(void *userdata) {
        serve_free(userdata);
}

static int setup(sd_event *e, void *settings, void **userdata) {
        Settings *st = settings;
        char err[512];
        int r;
        (void) e;

        if (!st->model_path || !st->model_path[0])
                return log_error_errno(EINVAL, "No model: set ModelPath= (or --set=ModelPath=FILE).");
        _cleanup_(serve_freep) Serve *s = calloc(1, sizeof *s);
        if (!s)
                return log_oom();
        s->name = strdup(st->model_name ?: "model");
        if (!s->name) /* every request's path is matched against it */
                return log_oom();
        /* A directory holds the model under one of KServe's usual names. */
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s", st->model_path);
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
                static const char *const names[] = { "model.json", "model.ubj", "model.bst" };
                for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                        snprintf(path, sizeof path, "%s/%s", st->model_path, names[i]);
                        if (access(path, R_OK) == 0)
                                break;
                }
        }
        r = model_load(path, &s->model, err, sizeof err);
        if (r < 0)
                return log_error_errno(r, "Failed to load model %s: %s", st->model_path, err);
        /* One prediction before the sandbox, so that lazy set-up in the
         * library (allocations, CPU detection) is done while it may be. */
        _cleanup_free_ float *zero = calloc(model_num_features(s->model), sizeof(float));
        if (!zero) /* not "does not predict" with an err nobody wrote */
                return log_oom();
        const float *out;
        size_t dims[4], nd;
        r = model_predict(s->model, zero, 1, model_num_features(s->model), &out, dims, &nd, err, sizeof err);
        if (r < 0)
                return log_error_errno(r, "The model does not predict: %s", err);
        s->sandbox = st->sandbox;
        log_info("Serving model %s from %s (%zu features).", s->name, st->model_path, model_num_features(s->model));
        *userdata = TAKE_PTR(s);
        return 0;
}

static int confine(void *userdata) {
        Serve *s = userdata;
        if (!s->sandbox)
                return 0;
        int r = sandbox_serve();
        if (r < 0)
                return log_error_errno(r, "Failed to confine the server: %m");
        return 0;
}

static const DaemonInfo info = {
        .program = "sdflow-serve",
        .summary = "The sdflow native model server: XGBoost models over KServe V1 and V2.",
        .man = "sdflow-serve(8)",
        .config_path = "/etc/sdflow/serve.conf",
        .socket_name = "model",
        .defaults = &defaults,
        .settings_size = sizeof defaults,
        .items = items,
        .n_items = ELEMENTSOF(items),
        .setup = setup,
        .confine = confine,
        .teardown = teardown,
        .handler = handle,
        .status = "Serving the model.",
};

int main(int argc, char **argv) {
        return daemon_main(&info, argc, argv);
}
