/* objects.c: apply, get, describe and delete. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "http.h"
#include "kinds.h"
#include "quantity.h"
#include "version.h"
#include "yamljson.h"
#include "jsonutil.h"
#include "phase.h"

/* ---- talking to the server ------------------------------------------------ */

static const char *transport_error(int r) {
        switch (r) {
        case -ENOENT:
                return "the API socket does not exist (is sdflowd.socket started?)";
        case -ECONNREFUSED:
                return "nothing is listening on the API socket (is sdflowd.socket started?)";
        case -EACCES:
                return "permission denied on the API socket";
        case -ETIMEDOUT:
                return "the server did not answer in time";
        case -EBADMSG:
                return "the server sent a malformed response";
        default:
                return strerror(-r);
        }
}

static void retry_after(const char *value, void *ud) {
        unsigned *secs = ud;
        char *end;
        unsigned long v = strtoul(value, &end, 10);
        if (end != value && *end == '\0')
                *secs = v > 5 ? 5 : (unsigned) v;
}

/* An answer 503 with Retry-After (sdflowd setting its namespaces up again
 * at start) is asked again, as kubectl's client does, for this long. */
#define UNAVAILABLE_RETRY_USEC (60 * USEC_PER_SEC)

/* Sends a request; on a transport failure prints why and returns < 0. */
static int call(Cli *cli, const char *method, const char *target, const char *body, size_t len, HttpResponse *resp) {
        /* An InferenceService's apply is answered when its new revision's
         * readiness check has (at most 120 s: a model may take that to load).
         * --request-timeout longer than these still counts. */
        uint64_t timeout = cli->timeout_usec;
        if (strcmp(method, "GET") != 0 && strstr(target, "/inferenceservices") && timeout < 150 * USEC_PER_SEC)
                timeout = 150 * USEC_PER_SEC;
        /* A Profile's apply is answered when its namespace's helper (at most
         * 60 s) and slice are done; a workflow's deletion when its artifacts'
         * removal (at most 60 s) is. */
        if (strcmp(method, "GET") != 0 && (strstr(target, "/profiles") || strstr(target, "/workflows/")) &&
            timeout < 90 * USEC_PER_SEC)
                timeout = 90 * USEC_PER_SEC;
        /* A Profile's deletion is answered when its namespace has gone: its
         * workloads may take their TimeoutStopSec= (90 s) and the kill after. */
        if (strcmp(method, "DELETE") == 0 && strstr(target, "/profiles/") && timeout < 240 * USEC_PER_SEC)
                timeout = 240 * USEC_PER_SEC;
        int r;
        for (uint64_t waited = 0;; ) {
                r = http_request(&cli->ep, method, target, body ? "application/json" : NULL, body, len, timeout,
                                 resp);
                unsigned secs = 0;
                if (r < 0 || resp->status != 503 || waited >= UNAVAILABLE_RETRY_USEC)
                        break;
                (void) http_response_headers(resp, "Retry-After", retry_after, &secs);
                if (secs == 0)
                        break;
                if (waited == 0) {
                        json_auto_t *st = json_loadb(resp->body, resp->body_len, 0, NULL);
                        fprintf(stderr, "%s (trying again for up to %llu s)\n",
                                json_string_value(json_object_get(st, "message")) ?: "sdflowd is unavailable",
                                (unsigned long long) (UNAVAILABLE_RETRY_USEC / USEC_PER_SEC));
                }
                http_response_done(resp);
                sleep(secs);
                waited += secs * USEC_PER_SEC;
        }
        if (r < 0)
                fprintf(stderr, "error: cannot reach sdflowd at %s: %s\n", cli->where ?: cli->socket,
                        cli->remote && cli->ep_error[0] ? cli->ep_error : transport_error(r));
        return r;
}

/* Prints a server error as kubectl does: Error from server (Reason): message. */
static void print_server_error(const HttpResponse *resp) {
        json_auto_t *st = json_loadb(resp->body, resp->body_len, 0, NULL);
        const char *msg = json_string_value(json_object_get(st, "message"));
        const char *reason = json_string_value(json_object_get(st, "reason"));
        if (!msg)
                msg = json_string_value(json_object_get(st, "error"));
        if (reason)
                fprintf(stderr, "Error from server (%s): %s\n", reason, msg ?: "");
        else
                fprintf(stderr, "Error from server (%d): %s\n", resp->status, msg ?: resp->body);
}

static void print_warning(const char *value, void *ud) {
        (void) ud;
        /* 299 - "text" */
        const char *q = strchr(value, '"');
        size_t n = q ? strlen(q + 1) : 0;
        if (q && n > 0 && q[n] == '"')
                n--;
        fprintf(stderr, "Warning: %.*s\n", q ? (int) n : (int) strlen(value), q ? q + 1 : value);
}

/* GETs target and parses the body; on any failure prints why and returns NULL. */
static json_t *get_json(Cli *cli, const char *target) {
        HttpResponse resp;
        json_t *j = NULL;
        if (call(cli, "GET", target, NULL, 0, &resp) < 0)
                return NULL;
        if (resp.status != 200)
                print_server_error(&resp);
        else if (!(j = json_loadb(resp.body, resp.body_len, 0, NULL)))
                fprintf(stderr, "error: the server sent a body that is not JSON\n");
        http_response_done(&resp);
        return j;
}

json_t *cli_request_json(Cli *cli, const char *method, const char *target, json_t *body) {
        HttpResponse resp;
        _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        int r = call(cli, method, target, text, text ? strlen(text) : 0, &resp);
        if (r < 0)
                return NULL;
        json_t *o = NULL;
        if (resp.status == 200 || resp.status == 201)
                o = json_loadb(resp.body, resp.body_len, 0, NULL);
        else
                print_server_error(&resp);
        http_response_done(&resp);
        return o;
}

static void url(char *buf, size_t size, const Kind *k, const char *ns, const char *name, const char *query) {
        int n;
        if (k->namespaced && ns)
                n = snprintf(buf, size, "/apis/%s/%s/namespaces/%s/%s", k->group, k->version, ns, k->plural);
        else
                n = snprintf(buf, size, "/apis/%s/%s/%s", k->group, k->version, k->plural);
        if (name)
                n += snprintf(buf + n, size - (size_t) n, "/%s", name);
        if (query && query[0])
                snprintf(buf + n, size - (size_t) n, "?%s", query);
}

static void url_escape(const char *s, char *buf, size_t size) {
        static const char hex[] = "0123456789ABCDEF";
        size_t o = 0;
        for (; *s && o + 4 < size; s++) {
                unsigned char c = (unsigned char) *s;
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~/", c))
                        buf[o++] = (char) c;
                else {
                        buf[o++] = '%';
                        buf[o++] = hex[c >> 4];
                        buf[o++] = hex[c & 15];
                }
        }
        buf[o] = '\0';
}

static const Kind *kind_arg(const char *name) {
        const Kind *k = kind_by_name(name);
        if (!k)
                fprintf(stderr, "error: the server doesn't have a resource type \"%s\" (see 'sdflow api-resources')\n",
                        name);
        return k;
}

/* The namespace to use for k: -n, else the object's, else none. */
static const char *ns_for(Cli *cli, const Kind *k, json_t *obj) {
        if (!k->namespaced)
                return NULL;
        const char *ons = obj ? manifest_namespace(obj) : NULL;
        return ons ?: cli->ns;
}

static void kind_ref(const Kind *k, char *buf, size_t size) {
        /* kubectl's "profile.kubeflow.org" */
        snprintf(buf, size, "%s%s%s", k->kind, k->group[0] ? "." : "", k->group);
        for (char *p = buf; *p && *p != '.'; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char) (*p - 'A' + 'a');
}

/* ---- apply ------------------------------------------------------------------- */

static char *read_all(FILE *f, size_t *len) {
        char *buf = NULL;
        size_t size = 0;
        *len = 0;
        for (;;) {
                if (*len + 4096 > size) {
                        size = size ? size * 2 : 65536;
                        if (size > (64u << 20)) {
                                free(buf);
                                errno = EFBIG;
                                return NULL;
                        }
                        char *p = realloc(buf, size + 1);
                        if (!p) {
                                free(buf);
                                return NULL;
                        }
                        buf = p;
                }
                size_t n = fread(buf + *len, 1, size - *len, f);
                *len += n;
                if (n == 0)
                        break;
        }
        if (ferror(f)) {
                free(buf);
                return NULL;
        }
        buf[*len] = '\0';
        return buf;
}

static int apply_object(Cli *cli, json_t *obj, const char *source) {
        const Kind *k = kind_lookup(json_string_value(json_object_get(obj, "apiVersion")),
                                    json_string_value(json_object_get(obj, "kind")));
        char target[1024], ref[128];
        HttpResponse resp;
        const char *ns = ns_for(cli, k, obj);
        int rc = CLI_OK;

        if (k->namespaced && !ns) {
                fprintf(stderr, "error: %s: %s %s has no namespace: set metadata.namespace or use -n\n", source,
                        k->kind, manifest_name(obj));
                return CLI_FAIL;
        }
        if (k->namespaced && cli->ns && manifest_namespace(obj) && strcmp(cli->ns, manifest_namespace(obj)) != 0) {
                fprintf(stderr,
                        "error: %s: the namespace of %s %s (%s) does not match the namespace from -n (%s)\n",
                        source, k->kind, manifest_name(obj), manifest_namespace(obj), cli->ns);
                return CLI_FAIL;
        }
        url(target, sizeof target, k, ns, NULL, NULL);
        _cleanup_free_ char *body = json_dumps(obj, JSON_COMPACT);
        if (!body)
                return CLI_FAIL;
        int r = call(cli, "POST", target, body, strlen(body), &resp);
        if (r < 0)
                return CLI_FAIL;
        http_response_headers(&resp, "Warning", print_warning, NULL);
        kind_ref(k, ref, sizeof ref);
        if (resp.status == 200 || resp.status == 201) {
                char result[32] = "configured";
                json_auto_t *stored = json_loadb(resp.body, resp.body_len, 0, NULL);
                HttpMessage m;
                const char *v;
                size_t vl;
                if (http_parse_response(resp.raw, resp.head_len, resp.head_len + 1, &m) > 0 &&
                    http_header_find(&m, "X-Sdflow-Result", &v, &vl))
                        snprintf(result, sizeof result, "%.*s", (int) vl, v);
                if (cli->output && (!strcmp(cli->output, "json") || !strcmp(cli->output, "yaml"))) {
                        _cleanup_free_ char *s = !strcmp(cli->output, "json") ? json_dumps(stored, JSON_INDENT(2))
                                                                              : yamljson_dump(stored);
                        printf("%s%s", s ?: "", !strcmp(cli->output, "json") ? "\n" : "");
                } else if (cli->output && !strcmp(cli->output, "name"))
                        printf("%s/%s\n", ref, manifest_name(stored) ?: manifest_name(obj));
                else
                        printf("%s/%s %s\n", ref, manifest_name(stored) ?: manifest_name(obj), result);
                if (k == &kind_workflow && cli->submitted && manifest_name(stored))
                        json_array_append_new(cli->submitted, json_pack("{s:s, s:s}", "ns", ns, "name",
                                                                        manifest_name(stored)));
        } else {
                print_server_error(&resp);
                rc = CLI_FAIL;
        }
        http_response_done(&resp);
        return rc;
}

static int apply_text(Cli *cli, const char *text, size_t len, const char *source) {
        Diags d = {};
        json_auto_t *objs = NULL;
        int rc = CLI_OK;

        if (manifest_parse(text, len, &objs, &d) < 0) {
                _cleanup_free_ char *msg = diags_format(&d, true, true);
                /* Nothing is sent when any object of the file is invalid. */
                fprintf(stderr, "error: %s: the manifest is invalid:\n", source);
                for (char *line = msg, *nl; line && *line; line = nl ? nl + 1 : NULL) {
                        nl = strchr(line, '\n');
                        fprintf(stderr, "  %.*s\n", nl ? (int) (nl - line) : (int) strlen(line), line);
                }
                diags_clear(&d);
                return CLI_FAIL;
        }
        diags_clear(&d); /* warnings come back from the server */
        size_t i;
        json_t *o;
        json_array_foreach(objs, i, o)
                if (apply_object(cli, o, source) != CLI_OK)
                        rc = CLI_FAIL;
        return rc;
}

static int apply_path(Cli *cli, const char *path, bool top) {
        struct stat st;
        if (strcmp(path, "-") == 0) {
                size_t len;
                _cleanup_free_ char *text = read_all(stdin, &len);
                if (!text) {
                        fprintf(stderr, "error: reading standard input: %m\n");
                        return CLI_FAIL;
                }
                return apply_text(cli, text, len, "<stdin>");
        }
        if (stat(path, &st) < 0) {
                fprintf(stderr, "error: %s: %m\n", path);
                return CLI_FAIL;
        }
        if (S_ISDIR(st.st_mode)) {
                struct dirent **list;
                int n = scandir(path, &list, NULL, alphasort), rc = CLI_OK;
                if (n < 0) {
                        fprintf(stderr, "error: %s: %m\n", path);
                        return CLI_FAIL;
                }
                for (int i = 0; i < n; i++) {
                        const char *e = strrchr(list[i]->d_name, '.');
                        if (list[i]->d_name[0] != '.' && e &&
                            (!strcmp(e, ".yaml") || !strcmp(e, ".yml") || !strcmp(e, ".json"))) {
                                char sub[4096];
                                snprintf(sub, sizeof sub, "%s/%s", path, list[i]->d_name);
                                if (apply_path(cli, sub, false) != CLI_OK)
                                        rc = CLI_FAIL;
                        }
                        free(list[i]);
                }
                free(list);
                (void) top;
                return rc;
        }
        FILE *f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "error: %s: %m\n", path);
                return CLI_FAIL;
        }
        size_t len;
        _cleanup_free_ char *text = read_all(f, &len);
        fclose(f);
        if (!text) {
                fprintf(stderr, "error: reading %s: %m\n", path);
                return CLI_FAIL;
        }
        return apply_text(cli, text, len, path);
}

int cli_apply(Cli *cli, int argc, char **argv) {
        int rc = CLI_OK;
        if (argc > 1) {
                fprintf(stderr, "error: apply takes no arguments, got '%s' (use -f FILE)\n", argv[1]);
                return CLI_USAGE;
        }
        if (cli->n_files == 0) {
                fprintf(stderr, "error: must specify -f FILE, -f DIR or -f -\n");
                return CLI_USAGE;
        }
        for (size_t i = 0; i < cli->n_files; i++)
                if (apply_path(cli, cli->files[i], true) != CLI_OK)
                        rc = CLI_FAIL;
        return rc;
}

/* submit -f FILE [-w]: apply (a Workflow with generateName gets a new name
 * each time), then with -w follow each workflow created until it ends. */
int cli_submit(Cli *cli, int argc, char **argv) {
        cli->submitted = json_array();
        bool watch = cli->watch;
        cli->watch = false;
        int rc = cli_apply(cli, argc, argv);
        size_t i;
        json_t *w;
        json_array_foreach(cli->submitted, i, w)
                if (watch && rc == CLI_OK)
                        rc = cli_watch_workflow(cli, json_string_value(json_object_get(w, "ns")),
                                                json_string_value(json_object_get(w, "name")));
        json_decref(cli->submitted);
        cli->submitted = NULL;
        return rc;
}

/* ---- get ----------------------------------------------------------------------- */

static void age(json_t *obj, char *buf, size_t size) {
        const char *ts = json_string_value(json_object_get(json_object_get(obj, "metadata"), "creationTimestamp"));
        struct tm tm = {};
        if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
                snprintf(buf, size, "<unknown>");
                return;
        }
        long d = (long) (time(NULL) - timegm(&tm));
        if (d < 0)
                d = 0;
        if (d < 120)
                snprintf(buf, size, "%lds", d);
        else if (d < 7200)
                snprintf(buf, size, "%ldm", d / 60);
        else if (d < 172800)
                snprintf(buf, size, "%ldh", d / 3600);
        else
                snprintf(buf, size, "%ldd", d / 86400);
}

static const char *quota_of(json_t *obj, const char *a, const char *b) {
        json_t *hard = json_object_get(json_object_get(json_object_get(obj, "spec"), "resourceQuotaSpec"), "hard");
        static char buf[4][64];
        static int next;
        json_t *v = json_object_get(hard, a);
        if (!v && b)
                v = json_object_get(hard, b);
        if (!v)
                return "-";
        char *out = buf[next++ % 4];
        if (json_is_string(v))
                snprintf(out, 64, "%s", json_string_value(v));
        else if (json_is_integer(v))
                snprintf(out, 64, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else
                snprintf(out, 64, "%g", json_number_value(v));
        return out;
}

typedef struct Table {
        bool header_done;
        bool wide;
        bool show_ns;
        const Kind *kind;
} Table;

/* URL READY PREV LATEST LATESTREADYREVISION REPLICAS [PREVROLLEDOUTREVISION REASON] */
static void isvc_columns(Table *t, json_t *o, const char *ready, const char *reason) {
        json_t *st = json_object_get(o, "status");
        json_t *pred = json_object_get(json_object_get(st, "components"), "predictor");
        char prev[16] = "", latest[16] = "", reps[16] = "-";
        size_t i;
        json_t *tr;
        json_array_foreach(json_object_get(pred, "traffic"), i, tr)
                snprintf(json_is_true(json_object_get(tr, "latestRevision")) ? latest : prev, sizeof prev, "%lld",
                         (long long) json_integer_value(json_object_get(tr, "percent")));
        if (json_is_integer(json_object_get(st, "activeReplicas")))
                snprintf(reps, sizeof reps, "%lld/%zu", (long long) json_integer_value(json_object_get(st, "activeReplicas")),
                         json_array_size(json_object_get(st, "replicas")));
        printf("%-44s %-7s %-5s %-6s %-30s %-8s ", json_string_value(json_object_get(st, "url")) ?: "", ready, prev,
               latest, json_string_value(json_object_get(pred, "latestReadyRevision")) ?: "", reps);
        if (t->wide)
                printf("%-30s %-18s ", json_string_value(json_object_get(pred, "previousRolledoutRevision")) ?: "",
                       reason);
}

static void table_row(Table *t, json_t *o, const char *event) {
        char a[32];
        bool profile = t->kind == &kind_profile;
        if (!t->header_done) {
                if (t->show_ns)
                        printf("%-20s ", "NAMESPACE");
                printf("%-30s ", "NAME");
                if (profile)
                        printf("%-16s %-8s %-10s %-5s ", "OWNER", "CPU", "MEMORY", "GPU");
                else if (t->kind == &kind_isvc) {
                        /* As kubectl shows KServe's, plus the replicas running. */
                        printf("%-44s %-7s %-5s %-6s %-30s %-8s ", "URL", "READY", "PREV", "LATEST",
                               "LATESTREADYREVISION", "REPLICAS");
                        if (t->wide)
                                printf("%-30s %-18s ", "PREVROLLEDOUTREVISION", "REASON");
                }
                else if (t->kind == &kind_workflow)
                        wf_header();
                else if (t->kind == &kind_experiment)
                        exp_header();
                else
                        printf("%-7s %-18s ", "READY", "REASON");
                if (profile && t->wide)
                        printf("%-10s ", "PROCESSES");
                printf("AGE\n");
                t->header_done = true;
        }
        if (t->show_ns)
                printf("%-20s ", manifest_namespace(o) ?: "");
        printf("%-30s ", manifest_name(o) ?: "");
        if (profile) {
                const char *owner = json_string_value(
                        json_object_get(json_object_get(json_object_get(o, "spec"), "owner"), "name"));
                printf("%-16s %-8s %-10s %-5s ", owner ?: "-", quota_of(o, "cpu", "limits.cpu"),
                       quota_of(o, "memory", "limits.memory"), quota_of(o, "requests.nvidia.com/gpu", NULL));
                if (t->wide)
                        printf("%-10s ", quota_of(o, "sdflow.io/processes", NULL));
        } else {
                /* The Ready condition, as kubectl shows it for KServe. */
                const char *ready = "Unknown", *reason = "";
                size_t i;
                json_t *cond;
                json_array_foreach(json_object_get(json_object_get(o, "status"), "conditions"), i, cond)
                        if (!strcmp(json_string_value(json_object_get(cond, "type")) ?: "", "Ready")) {
                                ready = json_string_value(json_object_get(cond, "status")) ?: "Unknown";
                                reason = json_string_value(json_object_get(cond, "reason")) ?: "";
                        }
                if (t->kind == &kind_isvc)
                        isvc_columns(t, o, ready, reason);
                else if (t->kind == &kind_workflow)
                        wf_columns(o);
                else if (t->kind == &kind_experiment)
                        exp_columns(o);
                else
                        printf("%-7s %-18s ", ready, reason);
        }
        age(o, a, sizeof a);
        printf("%s%s%s\n", a, event ? "   " : "", event ?: "");
        fflush(stdout);
}

static void print_object(Cli *cli, Table *t, json_t *o, const char *event) {
        char ref[128];
        if (cli->output && !strcmp(cli->output, "json")) {
                json_dumpf(o, stdout, JSON_INDENT(2));
                putchar('\n');
        } else if (cli->output && !strcmp(cli->output, "yaml")) {
                _cleanup_free_ char *s = yamljson_dump(o);
                printf("%s", s ?: "");
        } else if (cli->output && !strcmp(cli->output, "name")) {
                kind_ref(t->kind, ref, sizeof ref);
                printf("%s/%s\n", ref, manifest_name(o));
        } else
                table_row(t, o, event);
        fflush(stdout);
}

typedef struct WatchCtx {
        Cli *cli;
        Table *table;
        bool first_batch_done;
        json_t *wf_seen; /* watching one workflow (or experiment): what was shown */
        bool wf_failed;
        bool experiment;
} WatchCtx;

static int on_watch_line(const char *line, size_t len, void *ud) {
        WatchCtx *w = ud;
        json_auto_t *ev = json_loadb(line, len, 0, NULL);
        const char *type = json_string_value(json_object_get(ev, "type"));
        json_t *obj = json_object_get(ev, "object");
        if (type && strcmp(type, "ERROR") == 0) {
                fprintf(stderr, "error: the watch ended: %s\n",
                        json_string_value(json_object_get(obj, "reason")) ?: "server error");
                return -EIO;
        }
        if (type && obj && w->wf_seen) {
                int done = w->experiment ? exp_watch_event(obj, w->wf_seen) : wf_watch_event(obj, w->wf_seen);
                if (done) {
                        const char *ph = json_string_value(json_object_get(json_object_get(obj, "status"), "phase"));
                        w->wf_failed = w->experiment ? false : !ph || strcmp(ph, "Succeeded") != 0;
                        return -ECANCELED; /* finished: stop watching */
                }
        } else if (type && obj)
                print_object(w->cli, w->table, obj, w->cli->output ? NULL : type);
        return 0;
}

static int do_watch(Cli *cli, const Kind *k, const char *ns, const char *name, const char *rv, Table *t) {
        char target[2048], query[1200], sel[1024] = "";
        HttpResponse err;
        WatchCtx w = { cli, t, false, NULL, false, false };
        json_auto_t *seen = NULL; /* w.wf_seen's */
        /* One workflow (or experiment) in a table: its progress, until it finishes. */
        if ((k == &kind_workflow || k == &kind_experiment) && name && !cli->output) {
                w.wf_seen = seen = json_object();
                w.experiment = k == &kind_experiment;
        }

        if (cli->selector)
                url_escape(cli->selector, sel, sizeof sel);
        snprintf(query, sizeof query, "watch=1&resourceVersion=%s%s%s", rv ?: "0", sel[0] ? "&labelSelector=" : "", sel);
        url(target, sizeof target, k, ns, name, query);
        int r = http_stream(&cli->ep, target, on_watch_line, &w, &err);
        if (r == 1) {
                print_server_error(&err);
                http_response_done(&err);
                return CLI_FAIL;
        }
        if (r < 0) {
                fprintf(stderr, "error: cannot watch through %s: %s\n", cli->where ?: cli->socket,
                        cli->remote && cli->ep_error[0] ? cli->ep_error : transport_error(r));
                return CLI_FAIL;
        }
        return w.wf_failed ? CLI_FAIL : CLI_OK;
}

int cli_watch_workflow(Cli *cli, const char *ns, const char *name) {
        Table t = { .kind = &kind_workflow };
        const char *saved = cli->output;
        cli->output = NULL;
        int rc = do_watch(cli, &kind_workflow, ns, name, "0", &t);
        cli->output = saved;
        return rc;
}

/* A workflow that has ended (Succeeded, Failed, Error), or an experiment (Succeeded, Failed). */
static bool object_ended(const Kind *k, json_t *o) {
        json_t *st = json_object_get(o, "status");
        return k == &kind_workflow ? phase_workflow_done(json_str(st, "phase")) : phase_experiment_done(st);
}

int cli_get(Cli *cli, int argc, char **argv) {
        char target[2048], sel[1024] = "", query[1100] = "";
        const Kind *k;
        HttpResponse resp;
        int rc = CLI_OK;

        if (argc < 2) {
                fprintf(stderr, "error: get needs a kind (see 'sdflow api-resources')\n");
                return CLI_USAGE;
        }
        if (!(k = kind_arg(argv[1])))
                return CLI_FAIL;
        if (k->namespaced && !cli->ns && !cli->all_namespaces) {
                fprintf(stderr, "error: %s are namespaced: use -n NAMESPACE or -A\n", k->plural);
                return CLI_USAGE;
        }
        const char *ns = k->namespaced && !cli->all_namespaces ? cli->ns : NULL;
        Table t = { .wide = cli->output && !strcmp(cli->output, "wide"), .show_ns = k->namespaced && !ns, .kind = k };
        if (t.wide)
                cli->output = NULL;

        if (argc > 2) {
                /* Named objects. */
                if (cli->watch && argc > 3) {
                        fprintf(stderr, "error: --watch takes at most one name\n");
                        return CLI_USAGE;
                }
                bool several = argc > 3 && cli->output && (!strcmp(cli->output, "json") || !strcmp(cli->output, "yaml"));
                json_auto_t *list = several ? json_array() : NULL, *last = NULL;
                const char *last_rv = NULL;
                for (int i = 2; i < argc; i++) {
                        url(target, sizeof target, k, ns, argv[i], NULL);
                        if (call(cli, "GET", target, NULL, 0, &resp) < 0)
                                return CLI_FAIL;
                        if (resp.status != 200) {
                                print_server_error(&resp);
                                rc = CLI_FAIL;
                        } else {
                                json_t *o = json_loadb(resp.body, resp.body_len, 0, NULL);
                                if (list)
                                        json_array_append(list, o);
                                else
                                        print_object(cli, &t, o, NULL);
                                /* One workflow in a table: its node tree too, as argo get shows it. */
                                if (k == &kind_workflow && !cli->output && !t.wide && !cli->watch)
                                        wf_print_tree(o);
                                json_decref(last);
                                last = o;
                        }
                        http_response_done(&resp);
                }
                if (list) {
                        char av[128];
                        kind_api_version(k, av, sizeof av);
                        json_auto_t *l = json_pack("{s:s, s:s, s:o}", "apiVersion", "v1", "kind", "List", "items",
                                                   TAKE_PTR(list));
                        print_object(cli, &t, l, NULL);
                }
                if (cli->watch && last)
                        last_rv = json_string_value(json_object_get(json_object_get(last, "metadata"), "resourceVersion"));
                /* A workflow or experiment that has ended: its last state, no wait for changes that will not come. */
                if (cli->watch && rc == CLI_OK && last && !cli->output && (k == &kind_workflow || k == &kind_experiment) &&
                    object_ended(k, last)) {
                        json_auto_t *seen = json_object();
                        (void) (k == &kind_workflow ? wf_watch_event(last, seen) : exp_watch_event(last, seen));
                        const char *ph = json_string_value(json_object_get(json_object_get(last, "status"), "phase"));
                        return k == &kind_workflow && (!ph || strcmp(ph, "Succeeded") != 0) ? CLI_FAIL : CLI_OK;
                }
                if (cli->watch && rc == CLI_OK)
                        rc = do_watch(cli, k, ns, argv[2], last_rv, &t);
                return rc;
        }

        if (cli->selector) {
                url_escape(cli->selector, sel, sizeof sel);
                snprintf(query, sizeof query, "labelSelector=%s", sel);
        }
        url(target, sizeof target, k, ns, NULL, query);
        json_auto_t *list = get_json(cli, target);
        if (!list)
                return CLI_FAIL;
        json_t *items = json_object_get(list, "items");
        if (cli->output && (!strcmp(cli->output, "json") || !strcmp(cli->output, "yaml")))
                print_object(cli, &t, list, NULL);
        else {
                size_t i;
                json_t *o;
                json_array_foreach(items, i, o)
                        print_object(cli, &t, o, NULL);
                if (json_array_size(items) == 0 && !cli->watch)
                        fprintf(stderr, "No resources found%s%s.\n", ns ? " in namespace " : "", ns ?: "");
        }
        char rv[32];
        snprintf(rv, sizeof rv, "%s",
                 json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion")) ?: "0");
        if (cli->watch)
                rc = do_watch(cli, k, ns, NULL, rv, &t);
        return rc;
}

/* ---- describe ------------------------------------------------------------------- */

static void print_indented(const char *title, json_t *v) {
        if (!v || (json_is_object(v) && json_object_size(v) == 0))
                return;
        printf("%s:\n", title);
        _cleanup_free_ char *s = yamljson_dump(v);
        for (char *line = s, *nl; line && *line; line = nl ? nl + 1 : NULL) {
                nl = strchr(line, '\n');
                printf("  %.*s\n", nl ? (int) (nl - line) : (int) strlen(line), line);
        }
}

static void print_map(const char *title, json_t *m) {
        const char *k;
        json_t *v;
        bool first = true;
        printf("%-14s", title);
        json_object_foreach(m, k, v) {
                printf("%s%s=%s\n", first ? "" : "              ", k, json_string_value(v) ?: "");
                first = false;
        }
        if (first)
                printf("<none>\n");
}

int cli_describe(Cli *cli, int argc, char **argv) {
        char target[1024];
        const Kind *k;

        if (argc != 3) {
                fprintf(stderr, "error: describe takes KIND NAME\n");
                return CLI_USAGE;
        }
        if (!(k = kind_arg(argv[1])))
                return CLI_FAIL;
        if (k->namespaced && !cli->ns) {
                fprintf(stderr, "error: %s are namespaced: use -n NAMESPACE\n", k->plural);
                return CLI_USAGE;
        }
        url(target, sizeof target, k, cli->ns, argv[2], NULL);
        json_auto_t *o = get_json(cli, target);
        if (!o)
                return CLI_FAIL;
        json_t *md = json_object_get(o, "metadata");
        printf("%-14s%s\n", "Name:", manifest_name(o));
        if (k->namespaced)
                printf("%-14s%s\n", "Namespace:", manifest_namespace(o));
        print_map("Labels:", json_object_get(md, "labels"));
        print_map("Annotations:", json_object_get(md, "annotations"));
        printf("%-14s%s\n", "API Version:", json_string_value(json_object_get(o, "apiVersion")));
        printf("%-14s%s\n", "Kind:", json_string_value(json_object_get(o, "kind")));
        printf("Metadata:\n  Creation Timestamp:  %s\n  Generation:          %" JSON_INTEGER_FORMAT
               "\n  Resource Version:    %s\n  UID:                 %s\n",
               json_string_value(json_object_get(md, "creationTimestamp")) ?: "",
               json_integer_value(json_object_get(md, "generation")),
               json_string_value(json_object_get(md, "resourceVersion")) ?: "",
               json_string_value(json_object_get(md, "uid")) ?: "");
        print_indented("Spec", json_object_get(o, "spec"));
        print_indented("Status", json_object_get(o, "status"));
        if (k == &kind_experiment)
                exp_print_trials(o);
        return CLI_OK;
}

/* ---- delete ------------------------------------------------------------------- */

static bool confirm(Cli *cli, const Kind *k, const char *name) {
        char answer[16];
        if (cli->yes || k != &kind_profile)
                return true;
        if (!isatty(STDIN_FILENO)) {
                fprintf(stderr,
                        "error: deleting profile %s removes its namespace's workloads, files and user; "
                        "pass --yes to confirm\n", name);
                return false;
        }
        fprintf(stderr, "Delete profile %s, with every workload, file and the system user of namespace %s? [y/N] ",
                name, name);
        if (!fgets(answer, sizeof answer, stdin))
                return false;
        return answer[0] == 'y' || answer[0] == 'Y';
}

static int delete_one(Cli *cli, const Kind *k, const char *ns, const char *name) {
        char target[1024], ref[128];
        HttpResponse resp;
        int rc = CLI_OK;
        if (!confirm(cli, k, name))
                return CLI_FAIL;
        url(target, sizeof target, k, ns, name, NULL);
        if (call(cli, "DELETE", target, NULL, 0, &resp) < 0)
                return CLI_FAIL;
        kind_ref(k, ref, sizeof ref);
        if (resp.status == 200)
                printf("%s \"%s\" deleted\n", ref, name);
        else {
                print_server_error(&resp);
                rc = CLI_FAIL;
        }
        http_response_done(&resp);
        return rc;
}

int cli_delete(Cli *cli, int argc, char **argv) {
        int rc = CLI_OK;
        if (cli->n_files > 0) {
                if (argc > 1) {
                        fprintf(stderr, "error: delete -f takes no other arguments\n");
                        return CLI_USAGE;
                }
                for (size_t f = 0; f < cli->n_files; f++) {
                        FILE *fp = strcmp(cli->files[f], "-") ? fopen(cli->files[f], "re") : stdin;
                        size_t len;
                        _cleanup_free_ char *text = fp ? read_all(fp, &len) : NULL;
                        if (fp && fp != stdin)
                                fclose(fp);
                        if (!text) {
                                fprintf(stderr, "error: %s: %m\n", cli->files[f]);
                                rc = CLI_FAIL;
                                continue;
                        }
                        Diags d = {};
                        json_auto_t *objs = NULL;
                        if (manifest_parse(text, len, &objs, &d) < 0) {
                                _cleanup_free_ char *msg = diags_format(&d, true, false);
                                fprintf(stderr, "error: %s: the manifest is invalid:\n%s", cli->files[f], msg ?: "");
                                rc = CLI_FAIL;
                        } else {
                                size_t i;
                                json_t *o;
                                json_array_foreach(objs, i, o) {
                                        const Kind *k = kind_lookup(json_string_value(json_object_get(o, "apiVersion")),
                                                                    json_string_value(json_object_get(o, "kind")));
                                        if (delete_one(cli, k, ns_for(cli, k, o), manifest_name(o)) != CLI_OK)
                                                rc = CLI_FAIL;
                                }
                        }
                        diags_clear(&d);
                }
                return rc;
        }
        if (argc < 3) {
                fprintf(stderr, "error: delete takes KIND NAME... or -f FILE\n");
                return CLI_USAGE;
        }
        const Kind *k = kind_arg(argv[1]);
        if (!k)
                return CLI_FAIL;
        if (k->namespaced && !cli->ns) {
                fprintf(stderr, "error: %s are namespaced: use -n NAMESPACE\n", k->plural);
                return CLI_USAGE;
        }
        for (int i = 2; i < argc; i++)
                if (delete_one(cli, k, cli->ns, argv[i]) != CLI_OK)
                        rc = CLI_FAIL;
        return rc;
}

/* ---- api-resources and version ------------------------------------------------ */

int cli_api_resources(Cli *cli, int argc, char **argv) {
        (void) cli;
        (void) argv;
        if (argc > 1) {
                fprintf(stderr, "error: api-resources takes no arguments\n");
                return CLI_USAGE;
        }
        /* Columns as wide as their widest cell, as kubectl prints them. */
        char av[16][128], sn[16][128];
        int w[3] = { 4, 10, 10 };
        size_t n = 0;
        for (; kinds[n] && n < 16; n++) {
                kind_api_version(kinds[n], av[n], sizeof av[n]);
                sn[n][0] = '\0';
                for (const char *const *x = kinds[n]->short_names; x && *x; x++)
                        snprintf(sn[n] + strlen(sn[n]), sizeof sn[n] - strlen(sn[n]), "%s%s", sn[n][0] ? "," : "", *x);
                int l[3] = { (int) strlen(kinds[n]->plural), (int) strlen(sn[n]), (int) strlen(av[n]) };
                for (int k = 0; k < 3; k++)
                        w[k] = l[k] > w[k] ? l[k] : w[k];
        }
        printf("%-*s   %-*s   %-*s   %-10s   %s\n", w[0], "NAME", w[1], "SHORTNAMES", w[2], "APIVERSION", "NAMESPACED",
               "KIND");
        for (size_t i = 0; i < n; i++)
                printf("%-*s   %-*s   %-*s   %-10s   %s\n", w[0], kinds[i]->plural, w[1], sn[i], w[2], av[i],
                       kinds[i]->namespaced ? "true" : "false", kinds[i]->kind);
        return CLI_OK;
}

int cli_version(Cli *cli, int argc, char **argv) {
        HttpResponse resp;
        json_auto_t *server = NULL;
        int r;

        if (argc > 1) {
                fprintf(stderr, "error: version takes no arguments, got '%s'\n", argv[1]);
                return CLI_USAGE;
        }
        r = http_request(&cli->ep, "GET", "/v1/version", NULL, NULL, 0, cli->timeout_usec, &resp);
        if (r >= 0) {
                if (resp.status == 200)
                        server = json_loadb(resp.body, resp.body_len, 0, NULL);
                if (!server || !json_is_string(json_object_get(server, "version")))
                        fprintf(stderr, "error: %s answered %d with an unexpected body\n", cli->where ?: cli->socket, resp.status);
                http_response_done(&resp);
        } else
                fprintf(stderr, "error: cannot reach sdflowd at %s: %s\n", cli->where ?: cli->socket,
                        cli->remote && cli->ep_error[0] ? cli->ep_error : transport_error(r));

        const char *sv = server ? json_string_value(json_object_get(server, "version")) : NULL;
        if (cli->output && strcmp(cli->output, "json") == 0) {
                json_auto_t *o = json_pack("{s:{s:s}}", "clientVersion", "gitVersion", SDFLOW_VERSION);
                if (sv)
                        json_object_set_new(o, "serverVersion", json_pack("{s:s}", "gitVersion", sv));
                json_dumpf(o, stdout, JSON_INDENT(2));
                putchar('\n');
        } else if (cli->output && strcmp(cli->output, "yaml") == 0) {
                printf("clientVersion:\n  gitVersion: %s\n", SDFLOW_VERSION);
                if (sv)
                        printf("serverVersion:\n  gitVersion: %s\n", sv);
        } else {
                printf("Client Version: %s\n", SDFLOW_VERSION);
                if (sv)
                        printf("Server Version: %s\n", sv);
        }
        return sv ? CLI_OK : CLI_FAIL;
}

/* ---- top ---------------------------------------------------------------------- */

static void fmt_bytes(json_t *v, char *buf, size_t size) {
        if (!json_is_integer(v)) {
                snprintf(buf, size, "-");
                return;
        }
        quantity_format((Quantity) json_integer_value(v) * QUANTITY_NANO, true, buf, size);
        /* Round to Mi for readability when not exact. */
        if (strlen(buf) > 8)
                snprintf(buf, size, "%.0fMi", (double) json_integer_value(v) / 1048576.0);
}

static double now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int cli_top(Cli *cli, int argc, char **argv) {
        if (argc != 2 || (strcmp(argv[1], "namespaces") && strcmp(argv[1], "namespace") && strcmp(argv[1], "ns"))) {
                fprintf(stderr, "error: top takes one argument: namespaces\n");
                return CLI_USAGE;
        }
        /* CPU use is a rate: two samples a second apart. */
        double t0 = now_sec();
        json_auto_t *a = get_json(cli, "/v1/top/namespaces");
        if (!a)
                return CLI_FAIL;
        usleep(1000000);
        json_auto_t *b = get_json(cli, "/v1/top/namespaces");
        double dt = now_sec() - t0;
        if (!b)
                return CLI_FAIL;
        if (cli->output && !strcmp(cli->output, "json")) {
                json_dumpf(b, stdout, JSON_INDENT(2));
                putchar('\n');
        } else {
                printf("%-24s %-9s %-10s %-12s %-12s %-12s %-5s\n", "NAMESPACE", "PHASE", "CPU", "CPU-QUOTA", "MEMORY",
                       "MEMORY-QUOTA", "TASKS");
                size_t i;
                json_t *o;
                json_array_foreach(json_object_get(b, "items"), i, o) {
                        const char *ns = json_string_value(json_object_get(o, "namespace"));
                        json_t *u = json_object_get(o, "usage"), *q = json_object_get(o, "quota");
                        json_t *u0 = NULL;
                        size_t j;
                        json_t *p;
                        json_array_foreach(json_object_get(a, "items"), j, p)
                                if (!strcmp(json_string_value(json_object_get(p, "namespace")) ?: "", ns))
                                        u0 = json_object_get(p, "usage");
                        char cpu[32] = "-", cq[32] = "-", mem[32], mq[32], tasks[48];
                        json_t *c1 = json_object_get(u, "cpuUsageUsec"), *c0 = json_object_get(u0, "cpuUsageUsec");
                        if (json_is_integer(c1) && json_is_integer(c0))
                                snprintf(cpu, sizeof cpu, "%.0fm",
                                         (double) (json_integer_value(c1) - json_integer_value(c0)) / 1000.0 / dt);
                        if (json_is_integer(json_object_get(q, "cpuMillis")))
                                snprintf(cq, sizeof cq, "%" JSON_INTEGER_FORMAT "m",
                                         json_integer_value(json_object_get(q, "cpuMillis")));
                        fmt_bytes(json_object_get(u, "memoryBytes"), mem, sizeof mem);
                        fmt_bytes(json_object_get(q, "memoryBytes"), mq, sizeof mq);
                        json_t *tu = json_object_get(u, "tasks"), *tq = json_object_get(q, "tasks");
                        snprintf(tasks, sizeof tasks, "-");
                        if (json_is_integer(tu))
                                snprintf(tasks, sizeof tasks, "%" JSON_INTEGER_FORMAT, json_integer_value(tu));
                        if (json_is_integer(tq))
                                snprintf(tasks + strlen(tasks), sizeof tasks - strlen(tasks), "/%" JSON_INTEGER_FORMAT,
                                         json_integer_value(tq));
                        printf("%-24s %-9s %-10s %-12s %-12s %-12s %s\n", ns,
                               json_string_value(json_object_get(o, "phase")) ?: "", cpu, cq, mem, mq, tasks);
                }
        }
        return CLI_OK;
}

/* ---- contributors --------------------------------------------------------------- */

int cli_contributor(Cli *cli, int argc, char **argv) {
        char target[512];
        HttpResponse resp;
        int rc = CLI_OK;

        if (argc < 3 || (strcmp(argv[1], "list") && strcmp(argv[1], "add") && strcmp(argv[1], "remove")) ||
            (!strcmp(argv[1], "list") && argc != 3) || (strcmp(argv[1], "list") && argc < 4)) {
                fprintf(stderr, "error: use: contributor list NAMESPACE | contributor add|remove NAMESPACE USER...\n");
                return CLI_USAGE;
        }
        if (!name_is_dns1123_label(argv[2])) {
                fprintf(stderr, "error: '%s' is not a valid namespace name\n", argv[2]);
                return CLI_USAGE;
        }
        if (!strcmp(argv[1], "list")) {
                snprintf(target, sizeof target, "/apis/kubeflow.org/v1/profiles/%s/contributors", argv[2]);
                json_auto_t *l = get_json(cli, target);
                if (!l)
                        return CLI_FAIL;
                size_t i;
                json_t *v;
                json_array_foreach(json_object_get(l, "items"), i, v)
                        printf("%s\n", json_string_value(v));
                return CLI_OK;
        }
        bool add = !strcmp(argv[1], "add");
        for (int i = 3; i < argc; i++) {
                char user[200];
                url_escape(argv[i], user, sizeof user);
                snprintf(target, sizeof target, "/apis/kubeflow.org/v1/profiles/%s/contributors/%s", argv[2], user);
                if (call(cli, add ? "PUT" : "DELETE", target, NULL, 0, &resp) < 0)
                        return CLI_FAIL;
                if (resp.status == 200)
                        printf("%s %s namespace %s\n", argv[i], add ? "may now use" : "may no longer use", argv[2]);
                else {
                        print_server_error(&resp);
                        rc = CLI_FAIL;
                }
                http_response_done(&resp);
        }
        return rc;
}

/* ---- tokens ---------------------------------------------------------------------- */

/* "3600", "90s", "30m", "12h", "30d" in seconds; -1 if malformed. */
static long long parse_duration(const char *s) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || end == s || v <= 0)
                return -1;
        long long mul = !*end || !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600
                        : !strcmp(end, "d") ? 86400 : 0;
        if (!mul || v > LLONG_MAX / mul)
                return -1;
        return v * mul;
}

static void format_epoch(json_t *v, char *buf, size_t size) {
        time_t t = (time_t) json_integer_value(v);
        struct tm tm;
        if (t <= 0 || !gmtime_r(&t, &tm))
                snprintf(buf, size, "never");
        else
                strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* sdflow token list|create|delete --user: personal API tokens (sdflow-login(8)). */
static int user_tokens(Cli *cli, int argc, char **argv) {
        char target[300], created[32], expires[32], used[32];
        bool list = argc == 2 && !strcmp(argv[1], "list");
        bool create = argc == 3 && !strcmp(argv[1], "create");
        bool del = argc == 3 && (!strcmp(argv[1], "delete") || !strcmp(argv[1], "revoke"));
        if (!list && !create && !del) {
                fprintf(stderr, "error: use: token list --user | token create --user NAME [--expires=30d] | "
                                "token delete --user NAME\n");
                return CLI_USAGE;
        }
        if (list) {
                json_auto_t *l = get_json(cli, "/api/tokens");
                if (!l)
                        return CLI_FAIL;
                size_t i;
                json_t *v;
                if (json_array_size(json_object_get(l, "items")) == 0) {
                        fprintf(stderr, "No API tokens.\n");
                        return CLI_OK;
                }
                printf("%-24s %-21s %-21s %s\n", "NAME", "CREATED", "EXPIRES", "LAST-USED");
                json_array_foreach(json_object_get(l, "items"), i, v) {
                        format_epoch(json_object_get(v, "created"), created, sizeof created);
                        format_epoch(json_object_get(v, "expires"), expires, sizeof expires);
                        format_epoch(json_object_get(v, "lastUsed"), used, sizeof used);
                        printf("%-24s %-21s %-21s %s\n", json_string_value(json_object_get(v, "name")) ?: "", created,
                               expires, used);
                }
                return CLI_OK;
        }
        if (create) {
                json_auto_t *body = json_pack("{s:s}", "name", argv[2]);
                if (cli->expires) {
                        long long secs = parse_duration(cli->expires);
                        if (secs < 0) {
                                fprintf(stderr, "error: --expires: '%s' is not a duration (3600, 90m, 12h, 30d)\n",
                                        cli->expires);
                                return CLI_USAGE;
                        }
                        json_object_set_new(body, "expirationSeconds", json_integer(secs));
                }
                json_auto_t *o = cli_request_json(cli, "POST", "/api/tokens", body);
                if (!o)
                        return CLI_FAIL;
                /* Shown once: only its hash is kept. */
                format_epoch(json_object_get(o, "expires"), expires, sizeof expires);
                printf("%s\n", json_string_value(json_object_get(o, "token")) ?: "");
                fprintf(stderr, "API token %s made; it expires %s and is not shown again.\n", argv[2], expires);
                return CLI_OK;
        }
        snprintf(target, sizeof target, "/api/tokens/%.200s", argv[2]);
        json_auto_t *o = cli_request_json(cli, "DELETE", target, NULL);
        if (!o)
                return CLI_FAIL;
        printf("API token %s revoked\n", argv[2]);
        return CLI_OK;
}

int cli_session(Cli *cli, int argc, char **argv) {
        char target[300], created[32], expires[32], used[32];
        bool list = argc == 2 && !strcmp(argv[1], "list");
        bool revoke = argc == 3 && (!strcmp(argv[1], "revoke") || !strcmp(argv[1], "delete"));
        if (!list && !revoke) {
                fprintf(stderr, "error: use: session list | session revoke ID\n");
                return CLI_USAGE;
        }
        if (revoke) {
                snprintf(target, sizeof target, "/api/sessions/%.100s", argv[2]);
                json_auto_t *o = cli_request_json(cli, "DELETE", target, NULL);
                if (!o)
                        return CLI_FAIL;
                printf("session %s revoked\n", argv[2]);
                return CLI_OK;
        }
        json_auto_t *l = get_json(cli, "/api/sessions");
        if (!l)
                return CLI_FAIL;
        if (json_array_size(json_object_get(l, "items")) == 0) {
                fprintf(stderr, "No sessions.\n");
                return CLI_OK;
        }
        size_t i;
        json_t *v;
        printf("%-12s %-16s %-16s %-21s %-21s %s\n", "ID", "USER", "ADDRESS", "CREATED", "LAST-USED", "EXPIRES");
        json_array_foreach(json_object_get(l, "items"), i, v) {
                format_epoch(json_object_get(v, "created"), created, sizeof created);
                format_epoch(json_object_get(v, "lastUsed"), used, sizeof used);
                format_epoch(json_object_get(v, "expires"), expires, sizeof expires);
                printf("%-12s %-16s %-16s %-21s %-21s %s%s\n", json_string_value(json_object_get(v, "id")) ?: "",
                       json_string_value(json_object_get(v, "user")) ?: "",
                       json_string_value(json_object_get(v, "address")) ?: "", created, used, expires,
                       json_is_true(json_object_get(v, "current")) ? " (this one)" : "");
        }
        return CLI_OK;
}

int cli_token(Cli *cli, int argc, char **argv) {
        char target[512];
        HttpResponse resp;
        if (cli->user_tokens)
                return user_tokens(cli, argc, argv);
        bool list = argc == 3 && !strcmp(argv[1], "list");
        bool create = argc == 4 && !strcmp(argv[1], "create"), del = argc == 4 && !strcmp(argv[1], "delete");
        if (!list && !create && !del) {
                fprintf(stderr, "error: use: token list NAMESPACE | token create|delete NAMESPACE NAME\n");
                return CLI_USAGE;
        }
        if (!name_is_dns1123_label(argv[2])) {
                fprintf(stderr, "error: '%s' is not a valid namespace name\n", argv[2]);
                return CLI_USAGE;
        }
        if (!list && !name_is_dns1123_label(argv[3])) {
                fprintf(stderr, "error: token name '%s' is not a DNS-1123 label (a-z, 0-9, '-')\n", argv[3]);
                return CLI_USAGE;
        }
        if (list) {
                snprintf(target, sizeof target, "/apis/kubeflow.org/v1/profiles/%s/tokens", argv[2]);
                json_auto_t *l = get_json(cli, target);
                if (!l)
                        return CLI_FAIL;
                size_t i;
                json_t *v;
                if (json_array_size(json_object_get(l, "items")) > 0)
                        printf("%-30s %s\n", "NAME", "CREATED");
                json_array_foreach(json_object_get(l, "items"), i, v)
                        printf("%-30s %s\n", json_string_value(json_object_get(v, "name")),
                               json_string_value(json_object_get(v, "created")));
                return CLI_OK;
        }
        snprintf(target, sizeof target, "/apis/kubeflow.org/v1/profiles/%s/tokens/%s", argv[2], argv[3]);
        if (call(cli, create ? "POST" : "DELETE", target, NULL, 0, &resp) < 0)
                return CLI_FAIL;
        int rc = CLI_OK;
        if (create && resp.status == 201) {
                /* Shown once: only its hash is kept. */
                json_auto_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
                printf("%s\n", json_string_value(json_object_get(j, "token")) ?: "");
        } else if (del && resp.status == 200)
                printf("token %s of namespace %s deleted\n", argv[3], argv[2]);
        else {
                print_server_error(&resp);
                rc = CLI_FAIL;
        }
        http_response_done(&resp);
        return rc;
}

/* ---- predict ------------------------------------------------------------------- */

int cli_predict(Cli *cli, int argc, char **argv) {
        char target[512], path[300];
        HttpResponse resp;
        if (argc != 2 || cli->n_files != 1) {
                fprintf(stderr, "error: use: predict NAME -n NAMESPACE -f INPUT.json (or -f -)\n");
                return CLI_USAGE;
        }
        if (!cli->ns) {
                fprintf(stderr, "error: InferenceServices are namespaced: use -n NAMESPACE\n");
                return CLI_USAGE;
        }
        url(target, sizeof target, &kind_isvc, cli->ns, argv[1], NULL);
        json_auto_t *isvc = get_json(cli, target);
        if (!isvc)
                return CLI_FAIL;
        /* The rolled-out revision's first replica (status.address.url is unix:PATH). */
        const char *addr = json_string_value(
                json_object_get(json_object_get(json_object_get(isvc, "status"), "address"), "url"));
        const char *sock = addr && strncmp(addr, "unix:", 5) == 0 && addr[5] ? addr + 5 : NULL;
        if (!sock) {
                fprintf(stderr, "error: inferenceservice %s has no replica (see 'sdflow describe isvc %s -n %s')\n",
                        argv[1], argv[1], cli->ns);
                return CLI_FAIL;
        }
        snprintf(path, sizeof path, "%s", sock);

        FILE *f = strcmp(cli->files[0], "-") ? fopen(cli->files[0], "re") : stdin;
        size_t len;
        _cleanup_free_ char *body = f ? read_all(f, &len) : NULL;
        if (f && f != stdin)
                fclose(f);
        if (!body) {
                fprintf(stderr, "error: %s: %m\n", cli->files[0]);
                return CLI_FAIL;
        }
        /* V1 bodies have "instances"; Open Inference Protocol bodies "inputs" with tensors. */
        json_t *j = json_loadb(body, len, 0, NULL);
        bool v2 = json_is_array(json_object_get(j, "inputs")) && json_is_object(json_array_get(json_object_get(j, "inputs"), 0));
        json_decref(j);
        if (v2)
                snprintf(target, sizeof target, "/v2/models/%s/infer", argv[1]);
        else
                snprintf(target, sizeof target, "/v1/models/%s:predict", argv[1]);
        int r = http_unix_request(path, "POST", target, "application/json", body, len, cli->timeout_usec, &resp);
        if (r < 0) {
                fprintf(stderr, "error: cannot reach the replica at %s: %s\n", path, transport_error(r));
                return CLI_FAIL;
        }
        int rc = CLI_OK;
        if (resp.status == 200)
                fwrite(resp.body, 1, resp.body_len, stdout);
        else {
                fprintf(stderr, "Error from the model server (%d): %.*s", resp.status, (int) resp.body_len, resp.body);
                rc = CLI_FAIL;
        }
        http_response_done(&resp);
        return rc;
}

/* ---- logs ------------------------------------------------------------------------ */

int cli_logs(Cli *cli, int argc, char **argv) {
        char target[600], query[32];
        HttpResponse resp;
        const char *slash = argc == 2 || argc == 3 ? strchr(argv[1], '/') : NULL;
        if (!slash) {
                fprintf(stderr, "error: use: logs isvc/NAME | wf/NAME [NODE] -n NAMESPACE [--tail=N]\n");
                return CLI_USAGE;
        }
        char kind[64];
        snprintf(kind, sizeof kind, "%.*s", (int) (slash - argv[1]), argv[1]);
        /* A Katib trial runs as a workflow of the same name. */
        if (strcmp(kind, "trial") == 0 || strcmp(kind, "trials") == 0)
                snprintf(kind, sizeof kind, "wf");
        const Kind *k = kind_arg(kind);
        if (!k)
                return CLI_FAIL;
        if (k != &kind_isvc && k != &kind_workflow) {
                fprintf(stderr, "error: logs are kept for inferenceservices and workflows, not %s\n", k->plural);
                return CLI_USAGE;
        }
        if (argc == 3 && k != &kind_workflow) {
                fprintf(stderr, "error: only a workflow's logs take a node name\n");
                return CLI_USAGE;
        }
        if (!cli->ns) {
                fprintf(stderr, "error: %s are namespaced: use -n NAMESPACE\n", k->plural);
                return CLI_USAGE;
        }
        snprintf(query, sizeof query, "tailLines=%u", cli->tail ? cli->tail : k == &kind_workflow ? 1000 : 100);
        url(target, sizeof target, k, cli->ns, slash + 1, NULL);
        snprintf(target + strlen(target), sizeof target - strlen(target), "/log?%s", query);
        if (argc == 3) {
                char node[300];
                url_escape(argv[2], node, sizeof node);
                snprintf(target + strlen(target), sizeof target - strlen(target), "&node=%s", node);
        }
        if (call(cli, "GET", target, NULL, 0, &resp) < 0)
                return CLI_FAIL;
        int rc = CLI_OK;
        if (resp.status == 200)
                fwrite(resp.body, 1, resp.body_len, stdout);
        else {
                print_server_error(&resp);
                rc = CLI_FAIL;
        }
        http_response_done(&resp);
        return rc;
}
