/* api.c: routing and handlers of sdflowd's REST API; see api.h. */
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>
#include <fcntl.h>

#include <sys/random.h>
#include <grp.h>
#include <pwd.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "auth.h"
#include "crashguard.h"
#include "kinds.h"
#include "log.h"
#include "manifest.h"
#include "imagemap.h"
#include "digest.h"
#include "journal.h"
#include "probe.h"
#include "safeio.h"
#include "selector.h"
#include "serving.h"
#include "slice.h"
#include "version.h"
#include "cronwf.h"
#include "tuning.h"
#include "wf-operate.h"
#include "workflow.h"

#define WATCH_TIMEOUT_DEFAULT_SEC 1800
#define WATCH_TIMEOUT_MAX_SEC 3600
/* A new revision's readiness check: a model may take that long to load. */
#define READINESS_TIMEOUT_USEC (120 * USEC_PER_SEC)
#define MAX_WARNING_HEADERS 20
#define MAX_LOG_UNITS 16
#define WATCH_ROOM_KEPT 4096
#define API_CONTROL_DIR "/run/sdflow/control"
#define API_ROUTES_FILE API_CONTROL_DIR "/routes.json"

typedef struct Watcher Watcher;

typedef struct IsvcWaiter IsvcWaiter;

struct Api {
        sd_event *event;
        Store *store;
        Namespaces *namespaces;
        char routes_path[256], routes_path_tmp[264];
        gid_t admin_gid;
        Watcher *watchers;
        Engine *engine;
        Tuning *tuning;
        unsigned max_watches; /* per user (not for admins); 0: no limit */
        uint64_t max_object_bytes, max_namespace_bytes;
        json_t *probing;      /* "ns/name" -> the revision whose readiness check runs */
        json_t *copying;      /* "ns/name" -> the revision whose model is being copied */
        IsvcWaiter *waiters;  /* applies answered when their revision's check has */
        json_t *deleting;     /* namespaces whose Profile's deletion is under way */
};

/* An InferenceService's apply, answered when the readiness check of the
 * revision it made has (the daemon goes on meanwhile). */
struct IsvcWaiter {
        IsvcWaiter *next;
        Api *api;
        HttpConn *conn;
        char ns[128], name[256], rev[300];
        int code;        /* 201 or 200 */
        char *headers;   /* X-Sdflow-Result and warnings */
        json_t *as_applied; /* the answer, should the object be gone meanwhile */
};

struct Watcher {
        Api *api;
        Watcher *prev, *next;
        HttpConn *conn;
        const Kind *kind;
        char *ns; /* NULL: every namespace (or a cluster-scoped kind) */
        char *name; /* NULL: every object */
        Selector *selector;
        Caller caller;
        sd_event_source *timeout;
};

/* A parsed request path: /apis/GROUP/VERSION/[namespaces/NS/]PLURAL[/NAME] */
typedef struct Route {
        const Kind *kind;
        char ns[128];
        char name[256];
        bool has_ns, has_name;
        char sub[64];       /* a subresource: "contributors" */
        char sub_name[64];  /* and its item */
} Route;

/* ---- replies ------------------------------------------------------------- */

static void reply_json(HttpConn *c, int code, json_t *j, const char *extra_headers) {
        char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!s) {
                (void) http_conn_reply_error(c, 500, false, "out of memory");
                return;
        }
        size_t n = strlen(s);
        s[n] = '\n'; /* replaces the NUL: the length is passed */
        (void) http_conn_reply(c, code, "application/json", s, n + 1, extra_headers);
        free(s);
}

static const char *reason_for(int code) {
        switch (code) {
        case 400: return "BadRequest";
        case 403: return "Forbidden";
        case 404: return "NotFound";
        case 405: return "MethodNotAllowed";
        case 409: return "Conflict";
        case 410: return "Expired";
        case 413: return "RequestEntityTooLarge";
        case 415: return "UnsupportedMediaType";
        case 422: return "Invalid";
        case 429: return "TooManyRequests";
        case 503: return "ServiceUnavailable";
        default: return "InternalError";
        }
}

/* A Kubernetes Status object with the error; causes (stolen) may be NULL. */
static void reply_status(HttpConn *c, int code, const Route *rt, json_t *causes, const char *fmt, ...)
        _printf_(5, 6);
static void reply_status(HttpConn *c, int code, const Route *rt, json_t *causes, const char *fmt, ...) {
        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);

        json_t *details = json_object();
        if (rt && rt->has_name)
                json_object_set_new(details, "name", json_string(rt->name));
        if (rt && rt->kind) {
                json_object_set_new(details, "group", json_string(rt->kind->group));
                json_object_set_new(details, "kind", json_string(rt->kind->plural));
        }
        if (causes)
                json_object_set_new(details, "causes", causes);
        json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:o, s:i}", "kind", "Status", "apiVersion", "v1",
                               "metadata", "status", "Failure", "message", msg, "reason", reason_for(code),
                               "details", details, "code", code);
        reply_json(c, code, st, code == 405 ? "Allow: GET, POST, PUT, DELETE\r\n" : NULL);
}

/* ---- routing ------------------------------------------------------------- */

static int next_segment(const char **p, const char *end, char *buf, size_t size) {
        if (*p >= end || **p != '/')
                return -ENOENT;
        const char *s = *p + 1, *e = memchr(s, '/', (size_t) (end - s));
        if (!e)
                e = end;
        *p = e;
        if (e == s)
                return -EBADMSG;
        return http_unescape(s, (size_t) (e - s), buf, size);
}

/* Parses path; returns 0, -ENOENT (not an API path or unknown kind: 404) or -EBADMSG. */
static int route_parse(const char *path, size_t len, Route *rt) {
        const char *p = path, *end = path + len;
        char seg[4][256];
        int r;

        *rt = (Route) {};
        if (len < 6 || memcmp(path, "/apis/", 6) != 0)
                return -ENOENT;
        p = path + 5;
        if (next_segment(&p, end, seg[0], sizeof seg[0]) < 0 || next_segment(&p, end, seg[1], sizeof seg[1]) < 0)
                return -ENOENT;
        r = next_segment(&p, end, seg[2], sizeof seg[2]);
        if (r < 0)
                return r;
        if (strcmp(seg[2], "namespaces") == 0) {
                if (next_segment(&p, end, rt->ns, sizeof rt->ns) < 0 ||
                    next_segment(&p, end, seg[2], sizeof seg[2]) < 0)
                        return -EBADMSG;
                rt->has_ns = true;
        }
        char av[600];
        snprintf(av, sizeof av, "%s/%s", seg[0], seg[1]);
        for (size_t i = 0; kinds[i]; i++) {
                char kav[128];
                kind_api_version(kinds[i], kav, sizeof kav);
                if (strcmp(kav, av) == 0 && strcmp(kinds[i]->plural, seg[2]) == 0)
                        rt->kind = kinds[i];
        }
        if (!rt->kind)
                return -ENOENT;
        r = next_segment(&p, end, rt->name, sizeof rt->name);
        if (r >= 0)
                rt->has_name = true;
        else if (r != -ENOENT)
                return r;
        if (rt->has_name && next_segment(&p, end, rt->sub, sizeof rt->sub) >= 0) {
                /* retry: of any kind (a quarantined object; a failed workflow) */
                static const struct {
                        const Kind *kind;
                        const char *sub;
                } subs[] = {
                        { &kind_isvc, "log" },           { &kind_workflow, "log" },
                        { &kind_workflow, "suspend" },   { &kind_workflow, "resume" },
                        { &kind_workflow, "stop" },      { &kind_workflow, "terminate" },
                        { &kind_cronworkflow, "trigger" }, { &kind_profile, "contributors" },
                        { &kind_profile, "tokens" },
                };
                bool ok = strcmp(rt->sub, "retry") == 0;
                for (size_t i = 0; i < ELEMENTSOF(subs); i++)
                        ok = ok || (subs[i].kind == rt->kind && strcmp(rt->sub, subs[i].sub) == 0);
                if (!ok)
                        return -ENOENT;
                if (rt->kind == &kind_profile && strcmp(rt->sub, "retry") != 0) {
                        r = next_segment(&p, end, rt->sub_name, sizeof rt->sub_name);
                        if (r < 0 && r != -ENOENT)
                                return r;
                }
        }
        if (p != end && !(p + 1 == end && *p == '/'))
                return -ENOENT;
        if (rt->has_ns && !rt->kind->namespaced)
                return -ENOENT;
        return 0;
}

/* ---- watchers -------------------------------------------------------------- */

static Watcher *watcher_free(Watcher *w) {
        if (!w)
                return NULL;
        if (w->prev)
                w->prev->next = w->next;
        else if (w->api->watchers == w)
                w->api->watchers = w->next;
        if (w->next)
                w->next->prev = w->prev;
        sd_event_source_disable_unref(w->timeout);
        selector_free(w->selector);
        free(w->ns);
        free(w->name);
        free(w);
        return NULL;
}

static void on_watch_closed(HttpConn *c, void *userdata) {
        (void) c;
        watcher_free(userdata);
}

static int on_watch_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Watcher *w = userdata;
        HttpConn *c = w->conn;
        (void) s;
        (void) usec;
        watcher_free(w);
        (void) http_conn_stream_end(c);
        return 0;
}

static bool object_visible(Api *a, const Caller *caller, const Kind *k, json_t *obj) {
        if (caller->admin)
                return true;
        if (k == &kind_profile)
                return caller_may_see_profile(caller, a->store, obj);
        return caller_may_use_namespace(caller, a->store, manifest_namespace(obj));
}

static bool watcher_wants(Watcher *w, const Kind *k, json_t *obj) {
        const char *ns = manifest_namespace(obj);
        if (w->kind != k)
                return false;
        if (w->ns && (!ns || strcmp(w->ns, ns) != 0))
                return false;
        if (w->name && strcmp(w->name, manifest_name(obj) ?: "") != 0)
                return false;
        if (!selector_matches(w->selector, json_object_get(json_object_get(obj, "metadata"), "labels")))
                return false;
        return object_visible(w->api, &w->caller, k, obj);
}

/* Sends one event line; returns < 0 when the watcher is gone. */
static int watcher_send(Watcher *w, const char *type, json_t *obj) {
        json_t *ev = json_pack("{s:s, s:O}", "type", type, "object", obj);
        char *s = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);
        if (!s)
                return -ENOMEM;
        size_t n = strlen(s);
        s[n] = '\n';
        /* Room is kept for the line that says the watch fell behind. */
        int r = n + 1 + WATCH_ROOM_KEPT > http_conn_stream_room(w->conn) ? -ENOBUFS
                                                                         : http_conn_stream_write(w->conn, s, n + 1);
        free(s);
        if (r == -ENOBUFS) {
                /* A watcher this far behind: whole lines only, then an
                 * ERROR event, as Kubernetes ends a watch (list again). */
                HttpConn *c = w->conn;
                char line[400];
                int m = snprintf(line, sizeof line,
                                 "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                                 "\"status\":\"Failure\",\"reason\":\"Expired\",\"code\":410,\"message\":"
                                 "\"the watch fell more than %u MiB behind: list, then watch again\"}}\n",
                                 HTTP_STREAM_MAX_QUEUED >> 20);
                http_conn_set_close_handler(c, NULL, NULL); /* w goes now, not with c */
                watcher_free(w);
                if (http_conn_stream_write(c, line, (size_t) m) >= 0)
                        (void) http_conn_stream_end(c);
                return -ECONNRESET;
        }
        return r; /* on failure on_watch_closed freed w */
}

static void notify(Api *a, const Kind *k, const char *type, json_t *obj) {
        Watcher *next;
        for (Watcher *w = a->watchers; w; w = next) {
                next = w->next;
                if (watcher_wants(w, k, obj))
                        (void) watcher_send(w, type, obj);
        }
}

typedef struct Replay {
        Watcher *w;
        bool gone;
} Replay;

static int replay_event(const StoreEvent *e, void *userdata) {
        Replay *rp = userdata;
        if (!watcher_wants(rp->w, rp->w->kind, e->object))
                return 0;
        if (watcher_send(rp->w, e->type, e->object) < 0) {
                rp->gone = true;
                return -ECONNRESET;
        }
        return 0;
}

static bool unix_user_exists(const char *name) {
        struct passwd pw, *res = NULL;
        char buf[4096];
        return getpwnam_r(name, &pw, buf, sizeof buf, &res) == 0 && res;
}

/* ---- namespaces ------------------------------------------------------------ */

/* Stores status (not consumed) with the namespace's contributors in it;
 * replaces *obj (if given) by the stored object and tells the watchers. */
static void set_profile_status(Api *a, const char *name, json_t *status, json_t **obj) {
        json_t *cs, *st = json_deep_copy(status);
        if (store_contributors(a->store, name, &cs) >= 0)
                json_object_set_new(st, "contributors", cs);
        if (store_set_status(a->store, &kind_profile, NULL, name, st) >= 0) {
                json_t *now;
                if (store_get(a->store, &kind_profile, NULL, name, &now) >= 0) {
                        notify(a, &kind_profile, "MODIFIED", now);
                        if (obj) {
                                json_decref(*obj);
                                *obj = now;
                        } else
                                json_decref(now);
                }
        }
        json_decref(st);
}

/* Applies a Profile's namespace and stores the resulting status; *obj is
 * replaced by the stored object with that status. */
static void reconcile_profile(Api *a, json_t **obj) {
        json_t *cs = NULL;
        (void) store_contributors(a->store, manifest_name(*obj), &cs);
        json_t *st = ns_apply(a->namespaces, *obj, cs);
        json_decref(cs);
        set_profile_status(a, manifest_name(*obj), st, obj);
        json_decref(st);
}

/* Writes the gateway's route table: every InferenceService whose replicas
 * listen, by host.  Atomically (rename), so the gateway reads a whole file. */
static void write_routes(Api *a) {
        json_t *items, *routes = json_array();
        size_t i;
        json_t *o;
        if (store_list(a->store, &kind_isvc, NULL, &items, NULL) < 0) {
                json_decref(routes);
                return;
        }
        json_t *tokens = NULL;
        if (store_tokens(a->store, NULL, &tokens) < 0) {
                /* Without the tokens, routes of namespaces that have some would be open. */
                log_warning("Cannot read the namespaces' tokens; not writing the route table.");
                json_decref(items);
                json_decref(routes);
                return;
        }
        json_array_foreach(items, i, o) {
                json_t *route = serving_route(o), *t;
                size_t k;
                if (!route)
                        continue;
                /* A namespace with tokens admits only requests that bear one. */
                json_t *hashes = json_array();
                json_array_foreach(tokens, k, t)
                        if (strcmp(json_string_value(json_object_get(t, "namespace")), manifest_namespace(o)) == 0)
                                json_array_append(hashes, json_object_get(t, "sha256"));
                if (json_array_size(hashes) > 0)
                        json_object_set(route, "tokens", hashes);
                json_decref(hashes);
                json_array_append_new(routes, route);
        }
        json_decref(tokens);
        json_decref(items);
        json_t *doc = json_pack("{s:o}", "routes", routes);
        /* Readable by the gateway (group sdflow) only: it names every route
         * and the tokens' hashes. */
        char *text = json_dumps(doc, JSON_INDENT(1));
        json_decref(doc);
        int fd = text ? open(a->routes_path_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
        bool ok = fd >= 0;
        if (ok) {
                struct group *gr = getgrnam("sdflow");
                size_t n = strlen(text);
                ok = write(fd, text, n) == (ssize_t) n && fchmod(fd, 0640) == 0 &&
                     (!gr || fchown(fd, (uid_t) -1, gr->gr_gid) == 0);
                ok = close(fd) == 0 && ok;
        }
        if (!ok || rename(a->routes_path_tmp, a->routes_path) < 0)
                log_warning_errno(errno, "Failed to write the route table %s, ignoring: %m", a->routes_path);
        free(text);
}

/* Stores status (not consumed) on obj's stored object and tells the watchers. */
static void set_status(Api *a, const Kind *k, json_t *obj, json_t *status) {
        const char *name = manifest_name(obj), *ns = manifest_namespace(obj);
        if (store_set_status(a->store, k, ns, name, status) >= 0) {
                json_t *now;
                if (store_get(a->store, k, ns, name, &now) >= 0) {
                        notify(a, k, "MODIFIED", now);
                        json_decref(now);
                }
        }
}

/* Kinds that are stored and checked but that no controller runs yet say so
 * in their status, rather than look as if they were pending. */
static void mark_not_run(Api *a, const Kind *k, json_t **obj) {
        char ts[32];
        format_now_rfc3339(ts, sizeof ts);
        json_t *st = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s}]}", "conditions", "type", "Ready", "status", "False",
                               "reason", "NotImplemented", "message",
                               "sdflow validates and stores this kind but does not run it yet", "lastTransitionTime", ts);
        const char *name = manifest_name(*obj), *ns = manifest_namespace(*obj);
        if (store_set_status(a->store, k, ns, name, st) >= 0) {
                json_t *now;
                if (store_get(a->store, k, ns, name, &now) >= 0) {
                        notify(a, k, "MODIFIED", now);
                        json_decref(*obj);
                        *obj = now;
                }
        }
        json_decref(st);
}

static void cron_reconcile(Api *a, json_t *cwf);

static void mark_quarantined(Api *a);
static void start_probe(Api *a, json_t *isvc);
static void start_copy(Api *a, json_t *isvc);
static void stop_copy(Api *a, const char *key);
static void react(Api *a, const Kind *k, json_t **storedp, StoreChange change, json_t *before, json_t *profile,
                  const char *reader);

void api_reconcile_all(Api *a) {
        json_t *items;
        size_t i;
        json_t *o;
        mark_quarantined(a);
        if (store_list(a->store, &kind_profile, NULL, &items, NULL) < 0)
                return;
        json_array_foreach(items, i, o) {
                if (crashguard_is_quarantined(o))
                        continue;
                _cleanup_guard_ unsigned g = crashguard_enter(&kind_profile, o, GUARD_RECONCILE);
                json_t *cs = NULL;
                (void) store_contributors(a->store, manifest_name(o), &cs);
                json_t *st = ns_restore(a->namespaces, o, cs);
                json_decref(cs);
                set_profile_status(a, manifest_name(o), st, NULL);
                json_decref(st);
        }
        json_decref(items);
        /* The InferenceServices' replica units, then the route table. */
        if (store_list(a->store, &kind_isvc, NULL, &items, NULL) < 0)
                return;
        json_array_foreach(items, i, o) {
                if (crashguard_is_quarantined(o))
                        continue;
                _cleanup_guard_ unsigned g = crashguard_enter(&kind_isvc, o, GUARD_RECONCILE);
                json_int_t gen = json_integer_value(json_object_get(json_object_get(o, "metadata"), "generation"));
                json_t *seen = json_object_get(json_object_get(o, "status"), "observedGeneration");
                json_auto_t *profile = NULL;
                if ((!seen || json_integer_value(seen) != gen) &&
                    store_get(a->store, &kind_profile, NULL, manifest_namespace(o), &profile) >= 0) {
                        /* sdflowd stopped between storing it and acting on it:
                         * finish what that apply began. */
                        log_info("InferenceService %s/%s: generation %lld was stored but not acted on; applying it "
                                 "now.", manifest_namespace(o), manifest_name(o), (long long) gen);
                        /* The model is read as whoever applied it (recorded before
                         * the apply went on), else as the namespace's own user. */
                        char nsuser[64];
                        ns_user_name(manifest_namespace(o), nsuser, sizeof nsuser);
                        const char *reader = json_string_value(
                                json_object_get(json_object_get(o, "status"), "sdflowModelReader"));
                        json_t *obj = json_incref(o);
                        react(a, &kind_isvc, &obj, STORE_UPDATED, NULL, profile, reader ?: nsuser);
                        json_decref(obj);
                } else {
                        serving_restore(a->namespaces, o);
                        start_copy(a, o);
                        start_probe(a, o);
                }
        }
        json_decref(items);
        write_routes(a);
        /* Workflows that were running when sdflowd stopped; the timers of
         * CronWorkflows (transient: gone after a reboot). */
        if (a->engine)
                engine_resume_all(a->engine);
        tuning_resume_all(a->tuning);
        if (store_list(a->store, &kind_cronworkflow, NULL, &items, NULL) >= 0) {
                json_array_foreach(items, i, o) {
                        if (crashguard_is_quarantined(o))
                                continue;
                        _cleanup_guard_ unsigned g = crashguard_enter(&kind_cronworkflow, o, GUARD_RECONCILE);
                        cron_reconcile(a, o);
                }
                json_decref(items);
        }
}

bool api_busy(Api *a) {
        /* Pipelines running, and new revisions being copied or checked: the
         * daemon stays for them even when nobody is connected. */
        return a && (engine_busy(a->engine) || json_object_size(a->probing) > 0 || json_object_size(a->copying) > 0 ||
                     json_object_size(a->deleting) > 0);
}

/* ---- handlers -------------------------------------------------------------- */

static bool param_true(const char *query, size_t qlen, const char *key) {
        char v[16];
        int r = http_query_get(query, qlen, key, v, sizeof v);
        return r == 0 || (r > 0 && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0));
}

static int parse_selector(HttpConn *c, const Route *rt, const char *query, size_t qlen, Selector **ret) {
        char sel[4096], err[256];
        int r = http_query_get(query, qlen, "labelSelector", sel, sizeof sel);
        if (r == -ENOENT)
                sel[0] = '\0';
        else if (r < 0) {
                reply_status(c, 400, rt, NULL, "invalid labelSelector parameter");
                return r;
        }
        if (selector_parse(sel, ret, err, sizeof err) < 0) {
                reply_status(c, 400, rt, NULL, "invalid labelSelector '%s': %s", sel, err);
                return -EINVAL;
        }
        return 0;
}

static void list_kind_json(const Kind *k, char *buf, size_t size) {
        snprintf(buf, size, "%sList", k->kind);
}

static void handle_list(Api *a, HttpConn *c, const Caller *caller, const Route *rt, const char *query, size_t qlen) {
        Selector *sel = NULL;
        json_t *items, *out;
        uint64_t rv;
        char av[128], lk[128], rvs[32];
        size_t i;
        json_t *o;

        if (parse_selector(c, rt, query, qlen, &sel) < 0)
                return;
        if (rt->has_ns && !caller_may_use_namespace(caller, a->store, rt->ns)) {
                selector_free(sel);
                reply_status(c, 403, rt, NULL, "user %s may not use namespace %s", caller->user, rt->ns);
                return;
        }
        int r = store_list(a->store, rt->kind, rt->has_ns ? rt->ns : NULL, &items, &rv);
        if (r < 0) {
                selector_free(sel);
                reply_status(c, 500, rt, NULL, "reading the store failed: %s", strerror(-r));
                return;
        }
        json_t *kept = json_array();
        json_array_foreach(items, i, o)
                if (selector_matches(sel, json_object_get(json_object_get(o, "metadata"), "labels")) &&
                    object_visible(a, caller, rt->kind, o)) {
                        if (rt->kind == &kind_isvc)
                                serving_observe(a->namespaces, o);
                        json_array_append(kept, o);
                }
        json_decref(items);
        selector_free(sel);
        kind_api_version(rt->kind, av, sizeof av);
        list_kind_json(rt->kind, lk, sizeof lk);
        snprintf(rvs, sizeof rvs, "%llu", (unsigned long long) rv);
        out = json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion", av, "kind", lk, "metadata", "resourceVersion", rvs,
                        "items", kept);
        reply_json(c, 200, out, NULL);
}

static void handle_get(Api *a, HttpConn *c, const Caller *caller, const Route *rt) {
        json_t *o;
        int r = store_get(a->store, rt->kind, rt->ns, rt->name, &o);
        /* Who may use the namespace learns what is missing in it (404). */
        bool member = caller->admin || (rt->has_ns && caller_may_use_namespace(caller, a->store, rt->ns));
        if (!member && (r == -ENOENT || (r >= 0 && !object_visible(a, caller, rt->kind, o)))) {
                /* As Kubernetes' authorization: 403 whether or not it exists, so names do not leak. */
                if (r >= 0)
                        json_decref(o);
                reply_status(c, 403, rt, NULL, "user %s may not get %s \"%s\"", caller->user, rt->kind->plural, rt->name);
                return;
        }
        if (r == -ENOENT) {
                reply_status(c, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                return;
        }
        if (r < 0) {
                reply_status(c, 500, rt, NULL, "reading the store failed: %s", strerror(-r));
                return;
        }
        if (rt->kind == &kind_isvc)
                serving_observe(a->namespaces, o);
        reply_json(c, 200, o, NULL);
}

static void handle_watch(Api *a, HttpConn *c, const Caller *caller, const Route *rt, const char *query, size_t qlen) {
        char v[64];
        Selector *sel = NULL;
        uint64_t since = 0, timeout = WATCH_TIMEOUT_DEFAULT_SEC;
        bool have_rv = false;
        int r;

        if (rt->has_ns && !caller_may_use_namespace(caller, a->store, rt->ns)) {
                reply_status(c, 403, rt, NULL, "user %s may not use namespace %s", caller->user, rt->ns);
                return;
        }
        if (http_query_get(query, qlen, "resourceVersion", v, sizeof v) > 0) {
                char *end;
                since = strtoull(v, &end, 10);
                if (*end) {
                        reply_status(c, 400, rt, NULL, "invalid resourceVersion '%s'", v);
                        return;
                }
                have_rv = since > 0;
        }
        if (http_query_get(query, qlen, "timeoutSeconds", v, sizeof v) > 0) {
                char *end;
                timeout = strtoull(v, &end, 10);
                if (*end || timeout == 0 || timeout > WATCH_TIMEOUT_MAX_SEC) {
                        reply_status(c, 400, rt, NULL, "timeoutSeconds must be 1..%d", WATCH_TIMEOUT_MAX_SEC);
                        return;
                }
        }
        /* A user's watches are bounded (connections are too, in lib/server);
         * administrators' are not. */
        unsigned mine = 0;
        for (Watcher *x = a->watchers; x; x = x->next)
                mine += x->caller.uid == caller->uid;
        if (!caller->admin && a->max_watches > 0 && mine >= a->max_watches) {
                reply_status(c, 429, rt, NULL, "too many watches: user %s has %u open, at most %u at once "
                                               "(MaxWatchesPerUser= in sdflowd.conf)",
                             caller->user, mine, a->max_watches);
                return;
        }
        if (parse_selector(c, rt, query, qlen, &sel) < 0)
                return;

        Watcher *w = calloc(1, sizeof *w);
        if (!w) {
                selector_free(sel);
                reply_status(c, 500, rt, NULL, "out of memory");
                return;
        }
        *w = (Watcher) { .api = a, .conn = c, .kind = rt->kind, .selector = sel, .caller = *caller };
        w->ns = rt->has_ns ? strdup(rt->ns) : NULL;
        w->name = rt->has_name ? strdup(rt->name) : NULL;
        r = sd_event_add_time_relative(a->event, &w->timeout, CLOCK_MONOTONIC, timeout * USEC_PER_SEC, 0,
                                       on_watch_timeout, w);
        if (r < 0) {
                watcher_free(w);
                reply_status(c, 500, rt, NULL, "cannot arm the watch timeout");
                return;
        }
        w->next = a->watchers;
        if (a->watchers)
                a->watchers->prev = w;
        a->watchers = w;
        if (http_conn_stream_start(c, 200, "application/json", NULL, on_watch_closed, w) < 0)
                return; /* w was freed by on_watch_closed */

        if (have_rv) {
                Replay rp = { w, false };
                r = store_events(a->store, since, rt->kind, w->ns, replay_event, &rp);
                if (rp.gone)
                        return;
                if (r == -ERANGE) {
                        json_t *st = json_pack("{s:s, s:{s:s, s:s, s:s, s:i}}", "type", "ERROR", "object", "kind",
                                               "Status", "status", "Failure", "reason", "Expired", "code", 410);
                        char *s = json_dumps(st, JSON_COMPACT);
                        json_decref(st);
                        http_conn_set_close_handler(c, NULL, NULL); /* w goes now, not with c */
                        watcher_free(w);
                        if (s && http_conn_stream_write(c, s, strlen(s)) >= 0 && http_conn_stream_write(c, "\n", 1) >= 0)
                                (void) http_conn_stream_end(c);
                        free(s);
                }
                return;
        }
        /* Without a resourceVersion: the current objects first, as ADDED. */
        json_t *items;
        uint64_t rv;
        if (store_list(a->store, rt->kind, w->ns, &items, &rv) >= 0) {
                size_t i;
                json_t *o;
                json_array_foreach(items, i, o)
                        if (watcher_wants(w, rt->kind, o) && watcher_send(w, "ADDED", o) < 0)
                                break; /* w is gone */
                json_decref(items);
        }
}

static json_t *diags_causes(const Diags *d) {
        json_t *causes = json_array();
        for (size_t i = 0; i < d->n; i++)
                if (d->items[i].error)
                        json_array_append_new(causes, json_pack("{s:s, s:s, s:s}", "reason", "FieldValueInvalid",
                                                                "field", d->items[i].path, "message", d->items[i].msg));
        return causes;
}

/* "Warning: 299 - "…"\r\n" lines for the warnings, or NULL. */
static char *warning_headers(const Diags *d) {
        char *out = NULL;
        size_t size = 0;
        int n = 0;
        FILE *f = open_memstream(&out, &size);
        if (!f)
                return NULL;
        for (size_t i = 0; i < d->n && n < MAX_WARNING_HEADERS; i++) {
                if (d->items[i].error)
                        continue;
                fputs("Warning: 299 - \"", f);
                char line[1024];
                snprintf(line, sizeof line, "%s: %s", d->items[i].path, d->items[i].msg);
                for (char *p = line; *p; p++)
                        fputc(*p == '"' || *p == '\\' || (unsigned char) *p < 0x20 ? '\'' : *p, f);
                fputs("\"\r\n", f);
                n++;
        }
        fclose(f);
        if (n == 0) {
                free(out);
                return NULL;
        }
        return out;
}

/* 400 for a text that does not parse, 422 for an invalid object, with the
 * diagnostics as the Status' causes. */
static void reply_invalid(HttpConn *c, const Route *rt, const Diags *d) {
        char *msg = diags_format(d, true, false);
        size_t n = msg ? strlen(msg) : 0;
        if (n > 0 && msg[n - 1] == '\n')
                msg[n - 1] = '\0';
        bool syntax = d->n == 1 && d->items[0].path[0] == '\0';
        reply_status(c, syntax ? 400 : 422, rt, diags_causes(d), "%s", msg ?: "invalid object");
        free(msg);
}

/* Every image the object names must be in the image map: containers and
 * scripts of a (Cron)Workflow's templates, an InferenceService's container. */
static void check_images(Api *a, json_t *obj, const Kind *k, Diags *d) {
        json_t *spec = json_object_get(obj, "spec"), *t;
        char path[160], err[512];
        ImageRoot root;
        size_t i;
        const char *base = "spec";
        if (k == &kind_cronworkflow) {
                spec = json_object_get(spec, "workflowSpec");
                base = "spec.workflowSpec";
        }
        if (k == &kind_isvc) {
                json_t *c0 = json_array_get(json_object_get(json_object_get(spec, "predictor"), "containers"), 0);
                const char *image = json_string_value(json_object_get(c0, "image"));
                if (image && imagemap_lookup(a->namespaces->image_map, image, &root, err, sizeof err) < 0)
                        diags_add(d, true, "spec.predictor.containers[0].image", "%s", err);
                return;
        }
        if (k != &kind_workflow && k != &kind_cronworkflow)
                return;
        json_array_foreach(json_object_get(spec, "templates"), i, t) {
                static const char *const types[] = { "container", "script" };
                for (size_t j = 0; j < 2; j++) {
                        const char *image = json_string_value(json_object_get(json_object_get(t, types[j]), "image"));
                        snprintf(path, sizeof path, "%s.templates[%zu].%s.image", base, i, types[j]);
                        if (image && imagemap_lookup(a->namespaces->image_map, image, &root, err, sizeof err) < 0)
                                diags_add(d, true, path, "%s", err);
                }
        }
}

/* What one object and one namespace may store.  0 when obj fits, else the
 * HTTP status to answer (msg says why). */
static int check_storage(Api *a, const Kind *k, json_t *obj, const char *ns, char *msg, size_t size) {
        char *text = json_dumps(obj, JSON_COMPACT);
        size_t n = text ? strlen(text) : 0;
        free(text);
        if (a->max_object_bytes && n > a->max_object_bytes) {
                snprintf(msg, size, "the object is %zu bytes; at most %llu bytes are stored for one object "
                                    "(MaxObjectBytes= in sdflowd.conf)", n, (unsigned long long) a->max_object_bytes);
                return 413;
        }
        uint64_t used = 0;
        if (!k->namespaced || !ns || !a->max_namespace_bytes || store_namespace_bytes(a->store, ns, &used) < 0)
                return 0;
        json_t *old = NULL;
        uint64_t old_n = 0;
        if (store_get(a->store, k, ns, manifest_name(obj), &old) >= 0) {
                char *t = json_dumps(old, JSON_COMPACT);
                old_n = t ? strlen(t) : 0;
                free(t);
                json_decref(old);
        }
        if (n > old_n && used + n - old_n > a->max_namespace_bytes) {
                snprintf(msg, size, "namespace %s's objects take %llu bytes; this one would bring them past the "
                                    "limit of %llu bytes (MaxNamespaceBytes= in sdflowd.conf): delete some first",
                         ns, (unsigned long long) used, (unsigned long long) a->max_namespace_bytes);
                return 403;
        }
        return 0;
}

/* *objp was quarantined (crashguard.h) and is to be processed again: the
 * store forgets its deaths and its status no longer says so; *objp is
 * replaced by the object as stored. */
static void release_quarantine(Api *a, const Kind *k, json_t **objp) {
        const char *uid = json_string_value(json_object_get(json_object_get(*objp, "metadata"), "uid"));
        const char *ns = manifest_namespace(*objp), *name = manifest_name(*objp);
        crashguard_release(uid);
        (void) store_crash_clear(a->store, uid);
        json_t *st = crashguard_unmark(k, json_object_get(*objp, "status")), *now;
        if (st && store_set_status(a->store, k, ns, name, st) >= 0 && store_get(a->store, k, ns, name, &now) >= 0) {
                notify(a, k, "MODIFIED", now);
                json_decref(*objp);
                *objp = now;
        }
        json_decref(st);
        log_info("%s %s%s%s is processed again (out of quarantine).", k->plural, ns ?: "", ns ? "/" : "", name);
}

/* At start: every quarantined object says so in its status, once.  Only
 * those the store names are read: parsing every object (a workflow's
 * status can be megabytes) would delay the start after a crash. */
static void mark_quarantined(Api *a) {
        char ts[32];
        json_t *rows, *row;
        size_t i;
        format_now_rfc3339(ts, sizeof ts);
        if (store_crashes(a->store, CRASHGUARD_DEATHS, &rows) < 0)
                return;
        json_array_foreach(rows, i, row) {
                const Kind *k = crashguard_kind(json_string_value(json_object_get(row, "kind")));
                json_auto_t *o = NULL;
                if (!k || store_get(a->store, k, k->namespaced ? json_string_value(json_object_get(row, "namespace")) : NULL,
                                    json_string_value(json_object_get(row, "name")), &o) < 0)
                        continue;
                json_t *st = json_object_get(o, "status");
                if (!crashguard_is_quarantined(o) || json_is_true(json_object_get(st, "sdflowQuarantined")))
                        continue;
                json_t *marked = crashguard_mark(k, st, ts);
                if (marked)
                        set_status(a, k, o, marked);
                json_decref(marked);
        }
        json_decref(rows);
}

/* ---- readiness checks, on the loop ----------------------------------------------- */

typedef struct ProbeJob {
        Api *api;
        char ns[128], name[256], rev[300];
} ProbeJob;

static void waiter_free(IsvcWaiter *w) {
        free(w->headers);
        json_decref(w->as_applied);
        free(w);
}

static void waiter_unlink(Api *a, IsvcWaiter *w) {
        for (IsvcWaiter **p = &a->waiters; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        return;
                }
}

/* The client went before its answer. */
static void on_waiter_closed(HttpConn *c, void *userdata) {
        IsvcWaiter *w = userdata;
        (void) c;
        waiter_unlink(w->api, w);
        waiter_free(w);
}

/* Answers the applies that waited for rev of ns/name, with the object as
 * stored now. */
static void answer_waiters(Api *a, const char *ns, const char *name, const char *rev) {
        json_t *now = NULL;
        bool have = store_get(a->store, &kind_isvc, ns, name, &now) >= 0;
        for (IsvcWaiter **p = &a->waiters; *p;) {
                IsvcWaiter *w = *p;
                if (strcmp(w->ns, ns) != 0 || strcmp(w->name, name) != 0 || strcmp(w->rev, rev) != 0) {
                        p = &w->next;
                        continue;
                }
                *p = w->next;
                http_conn_set_close_handler(w->conn, NULL, NULL);
                reply_json(w->conn, w->code, have ? json_incref(now) : json_incref(w->as_applied), w->headers);
                waiter_free(w);
        }
        json_decref(now);
}

static void on_probed(int status, const char *body, void *userdata) {
        ProbeJob *j = userdata;
        Api *a = j->api;
        char key[400];
        snprintf(key, sizeof key, "%s/%s", j->ns, j->name);
        if (strcmp(json_string_value(json_object_get(a->probing, key)) ?: "", j->rev) == 0)
                (void) json_object_del(a->probing, key);
        json_auto_t *isvc = NULL;
        if (store_get(a->store, &kind_isvc, j->ns, j->name, &isvc) >= 0 && !crashguard_is_quarantined(isvc)) {
                _cleanup_guard_ unsigned g = crashguard_enter(&kind_isvc, isvc, GUARD_RECONCILE);
                json_t *st = serving_probed(a->namespaces, isvc, j->rev, status, body);
                if (st) {
                        json_t *reader = json_object_get(json_object_get(isvc, "status"), "sdflowModelReader");
                        if (reader)
                                json_object_set(st, "sdflowModelReader", reader);
                        set_status(a, &kind_isvc, isvc, st);
                        write_routes(a);
                        json_decref(st);
                }
        }
        answer_waiters(a, j->ns, j->name, j->rev);
        free(j);
}

/* Starts the readiness check of isvc's new revision, if it has one and it
 * is not running yet. */
static void start_probe(Api *a, json_t *isvc) {
        const char *rev, *sock, *path;
        char key[400];
        if (!a->namespaces->bus || !serving_probe_target(isvc, &rev, &sock, &path))
                return;
        snprintf(key, sizeof key, "%s/%s", manifest_namespace(isvc), manifest_name(isvc));
        if (strcmp(json_string_value(json_object_get(a->probing, key)) ?: "", rev) == 0)
                return;
        ProbeJob *j = calloc(1, sizeof *j);
        if (!j)
                return;
        j->api = a;
        snprintf(j->ns, sizeof j->ns, "%s", manifest_namespace(isvc));
        snprintf(j->name, sizeof j->name, "%s", manifest_name(isvc));
        snprintf(j->rev, sizeof j->rev, "%s", rev);
        json_object_set_new(a->probing, key, json_string(rev));
        int r = probe_start(a->event, sock, path, READINESS_TIMEOUT_USEC, on_probed, j);
        if (r < 0)
                on_probed(r, "", j); /* it could not even begin: that is its answer */
}

/* Stops the model copy of key ("ns/name") if one runs: its end comes as a
 * failure, to a revision no longer current, whose applies are answered. */
static void stop_copy(Api *a, const char *key) {
        const char *unit = json_string_value(json_object_get(json_object_get(a->copying, key), "unit"));
        if (unit && unit[0] && a->namespaces->bus)
                manager_stop_async(a->namespaces->bus, unit);
}

static void on_copied(int r, const char *err, void *userdata) {
        ProbeJob *j = userdata;
        Api *a = j->api;
        char key[400];
        snprintf(key, sizeof key, "%s/%s", j->ns, j->name);
        if (strcmp(json_string_value(json_object_get(json_object_get(a->copying, key), "rev")) ?: "", j->rev) == 0)
                (void) json_object_del(a->copying, key);
        json_auto_t *isvc = NULL, *now = NULL;
        if (store_get(a->store, &kind_isvc, j->ns, j->name, &isvc) >= 0 && !crashguard_is_quarantined(isvc)) {
                _cleanup_guard_ unsigned g = crashguard_enter(&kind_isvc, isvc, GUARD_RECONCILE);
                json_t *st = serving_copied(a->namespaces, isvc, j->rev, r, err);
                if (st) {
                        json_t *reader = json_object_get(json_object_get(isvc, "status"), "sdflowModelReader");
                        if (reader)
                                json_object_set(st, "sdflowModelReader", reader);
                        set_status(a, &kind_isvc, isvc, st);
                        write_routes(a);
                        json_decref(st);
                }
                if (store_get(a->store, &kind_isvc, j->ns, j->name, &now) >= 0)
                        start_probe(a, now);
        }
        /* Unless this revision's check follows, its applies are answered
         * now (it failed here, or a newer apply superseded it). */
        if (strcmp(json_string_value(json_object_get(a->probing, key)) ?: "", j->rev) != 0)
                answer_waiters(a, j->ns, j->name, j->rev);
        free(j);
}

/* Starts the model copy of isvc's new revision, if it has one not under way. */
static void start_copy(Api *a, json_t *isvc) {
        const char *rev = serving_copy_target(isvc);
        char key[400];
        if (!a->namespaces->bus || !rev)
                return;
        snprintf(key, sizeof key, "%s/%s", manifest_namespace(isvc), manifest_name(isvc));
        json_t *running = json_object_get(a->copying, key);
        if (strcmp(json_string_value(json_object_get(running, "rev")) ?: "", rev) == 0)
                return;
        /* A copy for a revision a newer apply superseded is stopped: one
         * copy per InferenceService at a time, whatever its user does. */
        stop_copy(a, key);
        ProbeJob *j = calloc(1, sizeof *j);
        if (!j)
                return;
        j->api = a;
        snprintf(j->ns, sizeof j->ns, "%s", manifest_namespace(isvc));
        snprintf(j->name, sizeof j->name, "%s", manifest_name(isvc));
        snprintf(j->rev, sizeof j->rev, "%s", rev);
        char unit[256] = "";
        json_object_set_new(a->copying, key, json_pack("{s:s, s:s}", "rev", rev, "unit", ""));
        int r = serving_copy_start(a->namespaces, isvc, on_copied, j, unit, sizeof unit);
        if (r >= 0)
                json_object_set_new(json_object_get(a->copying, key), "unit", json_string(unit));
        if (r < 0) {
                char err[200];
                snprintf(err, sizeof err, "the model copy could not start: %s", strerror(-r));
                on_copied(r, err, j);
        }
}

/* What a stored object's controller does after an apply (or a retry):
 * *stored is replaced by the object as stored afterwards; before is the
 * object before the apply (NULL if new), profile its namespace's Profile. */
static void react(Api *a, const Kind *k, json_t **storedp, StoreChange change, json_t *before, json_t *profile,
                  const char *reader) {
        json_t *stored = *storedp;
        /* Copied: stored is replaced (and freed) as the controllers go on. */
        char ns_buf[128] = "", name_buf[256];
        const char *ns = NULL, *name = name_buf;
        if (manifest_namespace(stored)) {
                snprintf(ns_buf, sizeof ns_buf, "%s", manifest_namespace(stored));
                ns = ns_buf;
        }
        snprintf(name_buf, sizeof name_buf, "%s", manifest_name(stored) ?: "");
        if (k == &kind_profile) {
                const char *phase = json_string_value(json_object_get(json_object_get(stored, "status"), "phase"));
                if (change != STORE_UNCHANGED || !phase || strcmp(phase, "Ready") != 0)
                        reconcile_profile(a, &stored);
        } else if (k == &kind_isvc) {
                if (change != STORE_UNCHANGED || !json_object_get(stored, "status")) {
                        json_t *st = serving_apply(a->namespaces, stored, profile, reader);
                        /* Who the model is read as, should a restart finish this apply. */
                        json_object_set_new(st, "sdflowModelReader", json_string(reader));
                        set_status(a, k, stored, st);
                        json_decref(st);
                        write_routes(a);
                        json_t *now;
                        if (store_get(a->store, k, ns, name, &now) >= 0) {
                                json_decref(stored);
                                stored = now;
                        }
                        start_copy(a, stored);
                        start_probe(a, stored);
                        /* (A copy or check that could not even start has
                         * changed the status already.) */
                        if (store_get(a->store, k, ns, name, &now) >= 0) {
                                json_decref(stored);
                                stored = now;
                        }
                }
        } else if (k == &kind_experiment && a->tuning) {
                tuning_kick(a->tuning, ns, name);
        } else if (k == &kind_cronworkflow) {
                if (change != STORE_UNCHANGED || !json_object_get(stored, "status")) {
                        cron_reconcile(a, stored);
                        json_t *now;
                        if (store_get(a->store, k, ns, name, &now) >= 0) {
                                json_decref(stored);
                                stored = now;
                        }
                }
        } else if (k == &kind_workflow) {
                if (change == STORE_UPDATED && a->engine && before) {
                        json_t *ospec = json_object_get(before, "spec"), *nspec = json_object_get(stored, "spec");
                        const char *sd = json_string_value(json_object_get(nspec, "shutdown"));
                        const char *osd = json_string_value(json_object_get(ospec, "shutdown"));
                        char m[256];
                        if (sd && (!osd || strcmp(sd, osd) != 0))
                                (void) engine_action(a->engine, ns, name, strcmp(sd, "Stop") == 0 ? "stop" : "terminate",
                                                     m, sizeof m);
                        bool sus = json_is_true(json_object_get(nspec, "suspend"));
                        if (sus != json_is_true(json_object_get(ospec, "suspend")))
                                (void) engine_action(a->engine, ns, name, sus ? "suspend" : "resume", m, sizeof m);
                }
                if (change == STORE_CREATED && a->engine) {
                        engine_submit(a->engine, ns, name);
                        json_t *now;
                        if (store_get(a->store, k, ns, name, &now) >= 0) {
                                json_decref(stored);
                                stored = now;
                        }
                }
        } else if (!json_object_get(stored, "status"))
                mark_not_run(a, k, &stored);
        *storedp = stored;
}

static void handle_apply(Api *a, HttpConn *c, const Caller *caller, const Route *rt, const char *body, size_t len) {
        Diags d = {};
        json_t *objs = NULL, *obj, *stored = NULL, *profile = NULL, *before = NULL;
        const Kind *k;
        StoreChange change;
        char *warnings = NULL;
        int r;

        r = manifest_parse(body, len, &objs, &d);
        if (r < 0) {
                reply_invalid(c, rt, &d);
                goto out;
        }
        if (json_array_size(objs) != 1) {
                reply_status(c, 400, rt, NULL, "one object per request, got %zu", json_array_size(objs));
                goto out;
        }
        obj = json_array_get(objs, 0);
        k = kind_lookup(json_string_value(json_object_get(obj, "apiVersion")),
                        json_string_value(json_object_get(obj, "kind")));
        if (k != rt->kind) {
                reply_status(c, 400, rt, NULL, "the object is a %s, but the URL is for %s",
                             json_string_value(json_object_get(obj, "kind")), rt->kind->plural);
                goto out;
        }
        check_images(a, obj, k, &d);
        if (d.n_errors > 0) {
                reply_invalid(c, rt, &d);
                goto out;
        }
        const char *name = manifest_name(obj), *ns = manifest_namespace(obj);
        if (rt->has_name && strcmp(rt->name, name) != 0) {
                reply_status(c, 400, rt, NULL, "the name in the object (%s) is not the name in the URL (%s)", name,
                             rt->name);
                goto out;
        }
        if (k->namespaced) {
                if (rt->has_ns && ns && strcmp(rt->ns, ns) != 0) {
                        reply_status(c, 400, rt, NULL,
                                     "the namespace in the object (%s) is not the namespace in the URL (%s)", ns, rt->ns);
                        goto out;
                }
                if (!ns && !rt->has_ns) {
                        reply_status(c, 400, rt, NULL, "no namespace: set metadata.namespace or use the namespaced URL");
                        goto out;
                }
                if (!ns)
                        json_object_set_new(json_object_get(obj, "metadata"), "namespace", json_string(rt->ns));
                ns = manifest_namespace(obj);
                if (!caller_may_use_namespace(caller, a->store, ns)) {
                        reply_status(c, 403, rt, NULL, "user %s may not use namespace %s", caller->user, ns);
                        goto out;
                }
                if (store_get(a->store, &kind_profile, NULL, ns, &profile) < 0) {
                        reply_status(c, 404, rt, NULL, "namespace %s does not exist (apply a Profile named %s)", ns, ns);
                        goto out;
                }
                if (k == &kind_isvc) {
                        char msg[512];
                        serving_default(a->namespaces, obj);
                        if (serving_admit(a->store, obj, profile, msg, sizeof msg) < 0) {
                                /* As a Kubernetes ResourceQuota refusal: 403, nothing stored. */
                                reply_status(c, 403, rt, NULL, "exceeded quota: %s", msg);
                                goto out;
                        }
                }
        } else if (!caller->admin) {
                reply_status(c, 403, rt, NULL, "only administrators (root or group sdflow-admin) may change %s; "
                                               "user %s is neither", k->plural, caller->user);
                goto out;
        }

        /* A namespace's Unix user is unique: shortened names of long ones may
         * meet (sdflow-<16 chars>-<hash>), and are then refused, never shared. */
        if (k == &kind_profile) {
                json_auto_t *profiles = NULL;
                char mine[64], theirs[64];
                const char *owner = json_string_value(
                        json_object_get(json_object_get(json_object_get(obj, "spec"), "owner"), "name"));
                if (owner && !unix_user_exists(owner)) {
                        diags_add(&d, true, "spec.owner.name",
                                  "no user '%s' on this host: a Profile's owner is a Unix user (useradd)", owner);
                        reply_invalid(c, rt, &d);
                        goto out;
                }
                ns_user_name(name, mine, sizeof mine);
                json_t *o;
                size_t i;
                if (store_list(a->store, &kind_profile, NULL, &profiles, NULL) >= 0)
                        json_array_foreach(profiles, i, o) {
                                if (strcmp(manifest_name(o), name) == 0)
                                        continue;
                                ns_user_name(manifest_name(o), theirs, sizeof theirs);
                                if (strcmp(mine, theirs) == 0) {
                                        diags_add(&d, true, "metadata.name",
                                                  "namespace %s would get the Unix user %s, which is namespace %s's; "
                                                  "choose another name", name, mine, manifest_name(o));
                                        reply_invalid(c, rt, &d);
                                        goto out;
                                }
                        }
        }
        /* A namespace whose Profile is being deleted takes nothing new (as
         * Kubernetes answers for a terminating namespace). */
        if (k == &kind_profile && json_object_get(a->deleting, name)) {
                reply_status(c, 409, rt, NULL, "profiles \"%s\" is being deleted", name);
                goto out;
        }
        if (k->namespaced && json_object_get(a->deleting, ns)) {
                reply_status(c, 403, rt, NULL, "unable to create new content in namespace %s because it is being "
                             "terminated", ns);
                goto out;
        }
        {
                char msg[512];
                int code = check_storage(a, k, obj, ns, msg, sizeof msg);
                if (code) {
                        reply_status(c, code, rt, NULL, "%s%s", code == 403 ? "exceeded quota: " : "", msg);
                        goto out;
                }
        }
        /* A Workflow that has started keeps its spec; spec.shutdown and
         * spec.suspend are how Argo's users stop and pause one. */
        if (k == &kind_workflow && store_get(a->store, k, ns, name, &before) >= 0 &&
            json_object_get(before, "status")) {
                json_t *x = json_deep_copy(json_object_get(before, "spec")), *y = json_deep_copy(json_object_get(obj, "spec"));
                json_object_del(x, "shutdown");
                json_object_del(x, "suspend");
                json_object_del(y, "shutdown");
                json_object_del(y, "suspend");
                bool same = json_equal(x, y);
                json_decref(x);
                json_decref(y);
                if (!same) {
                        diags_add(&d, true, "spec", "workflow %s has started: only spec.shutdown and spec.suspend may "
                                                    "change (submit a new workflow, or use sdflow resubmit)", name);
                        reply_invalid(c, rt, &d);
                        goto out;
                }
        }
        r = store_apply(a->store, k, obj, &stored, &change);
        if (r == -ESTALE) {
                reply_status(c, 409, rt, NULL,
                             "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                             "please apply your changes to the latest version and try again", k->plural, name);
                goto out;
        }
        if (r < 0) {
                reply_status(c, 500, rt, NULL, "storing the object failed: %s", strerror(-r));
                goto out;
        }
        log_info("%s %s/%s%s%s by %s.", change == STORE_CREATED ? "Created" : change == STORE_UPDATED ? "Updated" : "Unchanged",
                 k->plural, ns ?: "", ns ? "/" : "", name, caller->user);
        if (change != STORE_UNCHANGED)
                notify(a, k, change == STORE_CREATED ? "ADDED" : "MODIFIED", stored);
        /* An object that crashed sdflowd twice is stored but not processed,
         * unless this apply changed it (the user may have fixed it). */
        bool quarantined = crashguard_is_quarantined(stored);
        if (quarantined && change == STORE_UPDATED) {
                release_quarantine(a, k, &stored);
                quarantined = false;
        }
        if (quarantined) {
                log_warning("%s %s/%s is quarantined (sdflowd stopped twice while processing it); not processed.",
                            k->plural, ns ?: "", name);
                diags_add(&d, false, "metadata.name", "%s is quarantined: sdflowd stopped twice while processing it; "
                                                      "change it, retry it (sdflow retry) or delete it", name);
        } else {
                _cleanup_guard_ unsigned g = crashguard_enter(k, stored, GUARD_APPLY);
                if (k == &kind_isvc && change != STORE_UNCHANGED) {
                        /* Recorded first: a restart that finishes this apply reads
                         * the model with this caller's rights, not more. */
                        json_t *st = json_deep_copy(json_object_get(stored, "status") ?: json_object());
                        if (json_is_object(st)) {
                                json_object_set_new(st, "sdflowModelReader", json_string(caller->user));
                                set_status(a, k, stored, st);
                        }
                        json_decref(st);
                }
                react(a, k, &stored, change, before, profile, caller->user);
        }
        /* kubectl tells created/configured/unchanged apart; so does sdflow apply. */
        char *w = warning_headers(&d);
        if (asprintf(&warnings, "X-Sdflow-Result: %s\r\n%s",
                     change == STORE_CREATED ? "created" : change == STORE_UPDATED ? "configured" : "unchanged",
                     w ?: "") < 0)
                warnings = NULL;
        free(w);
        const char *rev = NULL, *psock, *ppath;
        char key[400];
        snprintf(key, sizeof key, "%s/%s", ns ?: "", name);
        if (k == &kind_isvc && !(rev = serving_copy_target(stored)) &&
            !serving_probe_target(stored, &rev, &psock, &ppath))
                rev = NULL;
        if (k == &kind_isvc && change != STORE_UNCHANGED && rev &&
            (json_object_get(a->copying, key) || json_object_get(a->probing, key))) {
                /* Answered when the new revision's readiness check has; the
                 * daemon serves everyone else meanwhile. */
                IsvcWaiter *wt = calloc(1, sizeof *wt);
                if (wt) {
                        wt->api = a;
                        wt->conn = c;
                        snprintf(wt->ns, sizeof wt->ns, "%s", ns);
                        snprintf(wt->name, sizeof wt->name, "%s", name);
                        snprintf(wt->rev, sizeof wt->rev, "%s", rev);
                        wt->code = change == STORE_CREATED ? 201 : 200;
                        wt->headers = warnings;
                        warnings = NULL;
                        wt->as_applied = stored;
                        stored = NULL;
                        wt->next = a->waiters;
                        a->waiters = wt;
                        http_conn_set_close_handler(c, on_waiter_closed, wt);
                        goto out;
                }
        }
        reply_json(c, change == STORE_CREATED ? 201 : 200, stored, warnings);
        stored = NULL;
out:
        json_decref(before);
        free(warnings);
        json_decref(stored);
        json_decref(profile);
        json_decref(objs);
        diags_clear(&d);
}

/* A workflow about to be deleted: its steps stop, its artifacts go. */
static void workflow_release(Api *a, const char *ns, const char *name) {
        char err[512];
        if (a->engine)
                engine_forget(a->engine, ns, name);
        /* Its artifacts belong to the namespace's user: the helper removes them. */
        if (a->namespaces->bus) {
                char *argv[] = { (char *) a->namespaces->helper, (char *) "rmwf", (char *) ns, (char *) name, NULL };
                if (manager_run(a->namespaces->bus, "sdflow-ns", argv, 60 * USEC_PER_SEC, err, sizeof err) < 0)
                        log_warning("Workflow %s/%s: removing its artifacts failed, ignoring: %s", ns, name, err);
        }
}

static void workflow_delete(Api *a, const char *ns, const char *name) {
        json_t *gone;
        workflow_release(a, ns, name);
        if (store_delete(a->store, &kind_workflow, ns, name, &gone) >= 0) {
                log_info("Deleted workflows/%s/%s.", ns, name);
                notify(a, &kind_workflow, "DELETED", gone);
                json_decref(gone);
        }
}

/* The Workflows a CronWorkflow made (label workflows.argoproj.io/cron-workflow), oldest first. */
static json_t *cron_children(Api *a, const char *ns, const char *cwf) {
        json_t *items, *out = json_array(), *w;
        size_t i;
        if (store_list(a->store, &kind_workflow, ns, &items, NULL) < 0)
                return out;
        json_array_foreach(items, i, w) {
                const char *l = json_string_value(json_object_get(
                        json_object_get(json_object_get(w, "metadata"), "labels"), "workflows.argoproj.io/cron-workflow"));
                if (l && strcmp(l, cwf) == 0)
                        json_array_append(out, w);
        }
        json_decref(items);
        /* By creation time (then name). */
        size_t n = json_array_size(out);
        for (size_t x = 1; x < n; x++)
                for (size_t y = x; y > 0; y--) {
                        json_t *p = json_array_get(out, y - 1), *q = json_array_get(out, y);
                        const char *tp = json_string_value(json_object_get(json_object_get(p, "metadata"), "creationTimestamp")) ?: "";
                        const char *tq = json_string_value(json_object_get(json_object_get(q, "metadata"), "creationTimestamp")) ?: "";
                        int cmp = strcmp(tp, tq);
                        if (cmp < 0 || (cmp == 0 && strcmp(manifest_name(p), manifest_name(q)) <= 0))
                                break;
                        json_incref(p);
                        json_array_set(out, y - 1, q);
                        json_array_set_new(out, y, p);
                }
        return out;
}

static bool wf_finished(json_t *w) {
        const char *ph = json_string_value(json_object_get(json_object_get(w, "status"), "phase"));
        return ph && (strcmp(ph, "Succeeded") == 0 || strcmp(ph, "Failed") == 0 || strcmp(ph, "Error") == 0);
}

/* Arms a CronWorkflow's timer and stores its status. */
static void cron_reconcile(Api *a, json_t *cwf) {
        char err[512] = "";
        json_t *cal = NULL, *st = json_deep_copy(json_object_get(cwf, "status") ?: json_object());
        if (!json_is_object(st)) {
                json_decref(st);
                st = json_object();
        }
        int r = a->namespaces->bus ? cronwf_arm(a->namespaces, cwf, &cal, err, sizeof err) : -ENOTCONN;
        char ts[32];
        format_now_rfc3339(ts, sizeof ts);
        bool suspended = json_is_true(json_object_get(json_object_get(cwf, "spec"), "suspend"));
        json_object_set_new(st, "conditions",
                            json_pack("[{s:s, s:s, s:s, s:s, s:s}]", "type", "Ready", "status", r < 0 ? "False" : "True",
                                      "reason", r < 0 ? "TimerFailed" : suspended ? "Suspended" : "Scheduled", "message",
                                      r < 0 ? (err[0] ? err : "systemd cannot be reached")
                                            : suspended ? "suspended: no timer runs"
                                                        : "a systemd timer runs it",
                                      "lastTransitionTime", ts));
        if (cal)
                json_object_set_new(st, "sdflowOnCalendar", cal);
        if (r < 0)
                log_warning("CronWorkflow %s/%s: %s", manifest_namespace(cwf), manifest_name(cwf), err);
        set_status(a, &kind_cronworkflow, cwf, st);
        json_decref(st);
}

/* PUT .../cronworkflows/NAME/trigger[?scheduled=1]: one run, as the timer
 * makes them: concurrencyPolicy, a Workflow NAME-<unix time>, history limits. */
static void handle_cron_trigger(Api *a, HttpConn *c, const Caller *caller, const Route *rt, const char *query,
                                size_t qlen) {
        json_t *cwf;
        /* The timer's service runs as the namespace's user (sdflow-privd
         * starts no unit as root): it may trigger its own namespace's runs. */
        char nsuser[64];
        ns_user_name(rt->ns, nsuser, sizeof nsuser);
        bool timer = strcmp(caller->user, nsuser) == 0;
        if (!timer && !caller_may_use_namespace(caller, a->store, rt->ns)) {
                reply_status(c, 403, rt, NULL, "user %s may not use namespace %s", caller->user, rt->ns);
                return;
        }
        if (store_get(a->store, rt->kind, rt->ns, rt->name, &cwf) < 0) {
                reply_status(c, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                return;
        }
        json_t *spec = json_object_get(cwf, "spec");
        bool scheduled = param_true(query, qlen, "scheduled");
        const char *policy = json_string_value(json_object_get(spec, "concurrencyPolicy")) ?: "Allow";
        json_t *children = cron_children(a, rt->ns, rt->name), *w;
        size_t i, active = 0;
        json_array_foreach(children, i, w)
                active += !wf_finished(w);
        char msg[512], name[128], ts[32];
        format_now_rfc3339(ts, sizeof ts);
        json_t *st = json_deep_copy(json_object_get(cwf, "status") ?: json_object());
        if (scheduled)
                json_object_set_new(st, "lastScheduledTime", json_string(ts));
        json_t *created = NULL;
        if (active > 0 && strcmp(policy, "Forbid") == 0) {
                snprintf(msg, sizeof msg, "skipped: %zu run%s still active and concurrencyPolicy is Forbid", active,
                         active == 1 ? "" : "s");
        } else {
                if (active > 0 && strcmp(policy, "Replace") == 0 && a->engine)
                        json_array_foreach(children, i, w)
                                if (!wf_finished(w))
                                        (void) engine_action(a->engine, rt->ns, manifest_name(w), "terminate", msg,
                                                             sizeof msg);
                /* NAME-<unix time>, as Argo names them; -N after it for a second run in the same second. */
                long now = (long) time(NULL);
                json_t *exists = NULL;
                for (int k = 0; k < 100; k++) {
                        if (k == 0)
                                snprintf(name, sizeof name, "%.50s-%ld", rt->name, now);
                        else
                                snprintf(name, sizeof name, "%.50s-%ld-%d", rt->name, now, k);
                        if (store_get(a->store, &kind_workflow, rt->ns, name, &exists) < 0)
                                break;
                        json_decref(exists);
                        exists = NULL;
                }
                json_t *wf = cronwf_workflow(cwf, name), *stored = NULL;
                StoreChange change;
                int r = store_apply(a->store, &kind_workflow, wf, &stored, &change);
                json_decref(wf);
                if (r < 0) {
                        snprintf(msg, sizeof msg, "creating workflow %s failed: %s", name, strerror(-r));
                } else {
                        notify(a, &kind_workflow, "ADDED", stored);
                        if (a->engine)
                                engine_submit(a->engine, rt->ns, name);
                        snprintf(msg, sizeof msg, "created workflow %s", name);
                        created = stored;
                        log_info("CronWorkflow %s/%s: %s run, workflow %s.", rt->ns, rt->name,
                                 scheduled ? "scheduled" : "manual", name);
                }
        }
        /* History: the newest successfulJobsHistoryLimit (3) that succeeded
         * and failedJobsHistoryLimit (1) that failed are kept. */
        json_t *lim_ok = json_object_get(spec, "successfulJobsHistoryLimit");
        json_t *lim_bad = json_object_get(spec, "failedJobsHistoryLimit");
        long keep_ok = json_is_integer(lim_ok) ? (long) json_integer_value(lim_ok) : 3;
        long keep_bad = json_is_integer(lim_bad) ? (long) json_integer_value(lim_bad) : 1;
        long n_ok = 0, n_bad = 0;
        json_t *still = json_array();
        for (size_t k = json_array_size(children); k-- > 0;) {
                w = json_array_get(children, k);
                if (!wf_finished(w)) {
                        json_array_append_new(still, json_pack("{s:s, s:s, s:s, s:s, s:s}", "apiVersion",
                                                               "argoproj.io/v1alpha1", "kind", "Workflow", "namespace",
                                                               rt->ns, "name", manifest_name(w), "uid",
                                                               json_string_value(json_object_get(json_object_get(w, "metadata"), "uid")) ?: ""));
                        continue;
                }
                const char *ph = json_string_value(json_object_get(json_object_get(w, "status"), "phase"));
                bool ok = strcmp(ph, "Succeeded") == 0;
                if (ok ? ++n_ok > keep_ok : ++n_bad > keep_bad)
                        workflow_delete(a, rt->ns, manifest_name(w));
        }
        if (created)
                json_array_append_new(still, json_pack("{s:s, s:s, s:s, s:s, s:s}", "apiVersion", "argoproj.io/v1alpha1",
                                                       "kind", "Workflow", "namespace", rt->ns, "name",
                                                       manifest_name(created), "uid",
                                                       json_string_value(json_object_get(json_object_get(created, "metadata"), "uid")) ?: ""));
        json_object_set_new(st, "active", still);
        json_object_set_new(st, "sdflowLastMessage", json_string(msg));
        set_status(a, &kind_cronworkflow, cwf, st);
        json_decref(st);
        json_decref(children);
        json_t *reply = json_pack("{s:s, s:s, s:s, s:i, s:s}", "kind", "Status", "apiVersion", "v1", "status", "Success",
                                  "code", 200, "message", msg);
        if (created)
                json_object_set_new(reply, "details", json_pack("{s:s, s:s}", "name", manifest_name(created), "kind",
                                                                "workflows"));
        json_decref(created);
        json_decref(cwf);
        reply_json(c, 200, reply, NULL);
}

/* Removes rt's object from the store and answers c (when the client is
 * still there) with it. */
static void delete_stored(Api *a, HttpConn *c, const Route *rt, const char *by) {
        json_t *old = NULL;
        int r = store_delete(a->store, rt->kind, rt->ns, rt->name, &old);
        if (r == -ENOENT) {
                if (c)
                        reply_status(c, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                return;
        }
        if (r < 0) {
                if (c)
                        reply_status(c, 500, rt, NULL, "deleting the object failed: %s", strerror(-r));
                return;
        }
        if (rt->kind == &kind_isvc || rt->kind == &kind_profile)
                write_routes(a);
        const char *uid = json_string_value(json_object_get(json_object_get(old, "metadata"), "uid"));
        crashguard_release(uid);
        (void) store_crash_clear(a->store, uid ?: "");
        log_info("Deleted %s/%s%s%s by %s.", rt->kind->plural, rt->kind->namespaced ? rt->ns : "",
                 rt->kind->namespaced ? "/" : "", rt->name, by);
        notify(a, rt->kind, "DELETED", old);
        if (c)
                reply_json(c, 200, old, NULL);
        else
                json_decref(old);
}

/* A Profile's deletion, answered when its namespace has gone. */
typedef struct ProfileDeletion {
        Api *api;
        HttpConn *conn; /* NULL once the client went: the deletion goes on */
        Route rt;
        char by[64];
} ProfileDeletion;

static void on_deletion_closed(HttpConn *c, void *userdata) {
        ProfileDeletion *d = userdata;
        (void) c;
        d->conn = NULL;
}

static void on_ns_deleted(int r, const char *err, void *userdata) {
        ProfileDeletion *d = userdata;
        Api *a = d->api;
        const char *ns = d->rt.name;
        _cleanup_guard_ unsigned g = crashguard_enter_names(&kind_profile, NULL, ns, NULL, GUARD_DELETE);
        (void) json_object_del(a->deleting, ns);
        if (d->conn)
                http_conn_set_close_handler(d->conn, NULL, NULL);
        if (r < 0) {
                if (d->conn)
                        reply_status(d->conn, 500, &d->rt, NULL, "removing namespace %s failed: %s", ns, err);
                free(d);
                return;
        }
        (void) store_contributors_clear(a->store, ns);
        (void) store_token_delete(a->store, ns, NULL);
        /* The namespace's objects went with its slice and files. */
        json_t *items;
        if (store_list(a->store, &kind_isvc, ns, &items, NULL) >= 0) {
                size_t i;
                json_t *o, *gone;
                json_array_foreach(items, i, o)
                        if (store_delete(a->store, &kind_isvc, ns, manifest_name(o), &gone) >= 0) {
                                notify(a, &kind_isvc, "DELETED", gone);
                                json_decref(gone);
                        }
                json_decref(items);
        }
        delete_stored(a, d->conn, &d->rt, d->by);
        free(d);
}

static void handle_delete(Api *a, HttpConn *c, const Caller *caller, const Route *rt) {
        json_t *old = NULL;
        char err[512];
        if (rt->kind->namespaced ? !caller_may_use_namespace(caller, a->store, rt->ns) : !caller->admin) {
                reply_status(c, 403, rt, NULL, "user %s may not delete %s in %s", caller->user, rt->kind->plural,
                             rt->kind->namespaced ? rt->ns : "the cluster scope");
                return;
        }
        _cleanup_guard_ unsigned g = crashguard_enter_names(rt->kind, rt->kind->namespaced ? rt->ns : NULL, rt->name,
                                                            NULL, GUARD_DELETE);
        if (rt->kind == &kind_profile) {
                /* The namespace goes first, on the loop (its workloads may
                 * take their TimeoutStopSec=); the answer comes when it has
                 * gone.  If that fails the Profile stays, so nothing is
                 * orphaned. */
                if (store_get(a->store, rt->kind, NULL, rt->name, &old) == -ENOENT) {
                        reply_status(c, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                        return;
                }
                json_decref(old);
                old = NULL;
                if (json_object_get(a->deleting, rt->name)) {
                        reply_status(c, 409, rt, NULL, "namespace %s is being deleted", rt->name);
                        return;
                }
                ProfileDeletion *d = calloc(1, sizeof *d);
                if (!d) {
                        reply_status(c, 500, rt, NULL, "out of memory");
                        return;
                }
                *d = (ProfileDeletion) { .api = a, .conn = c, .rt = *rt };
                snprintf(d->by, sizeof d->by, "%s", caller->user);
                int k = ns_delete(a->namespaces, rt->name, on_ns_deleted, d, err, sizeof err);
                if (k < 0) {
                        free(d);
                        reply_status(c, 500, rt, NULL, "removing namespace %s failed: %s", rt->name, err);
                        return;
                }
                json_object_set_new(a->deleting, rt->name, json_true());
                http_conn_set_close_handler(c, on_deletion_closed, d);
                return;
        } else if (rt->kind == &kind_isvc) {
                json_t *isvc;
                if (store_get(a->store, rt->kind, rt->ns, rt->name, &isvc) == -ENOENT) {
                        reply_status(c, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                        return;
                }
                char key[400];
                snprintf(key, sizeof key, "%s/%s", rt->ns, rt->name);
                stop_copy(a, key); /* a model copy under way is not left running */
                int k = serving_delete(a->namespaces, isvc, err, sizeof err);
                json_decref(isvc);
                if (k < 0) {
                        reply_status(c, 500, rt, NULL, "stopping the replicas failed: %s", err);
                        return;
                }
        }
        if (rt->kind == &kind_workflow) {
                json_t *wf;
                if (store_get(a->store, rt->kind, rt->ns, rt->name, &wf) == -ENOENT) {
                        reply_status(c, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                        return;
                }
                json_decref(wf);
                workflow_release(a, rt->ns, rt->name);
        }
        if (rt->kind == &kind_experiment) {
                tuning_forget(a->tuning, rt->ns, rt->name);
                /* Its trials are workflows labelled with it (unless retained). */
                json_t *items, *w;
                size_t i;
                if (store_list(a->store, &kind_workflow, rt->ns, &items, NULL) >= 0) {
                        json_array_foreach(items, i, w) {
                                const char *l = json_string_value(json_object_get(
                                        json_object_get(json_object_get(w, "metadata"), "labels"), "katib.kubeflow.org/experiment"));
                                if (l && strcmp(l, rt->name) == 0)
                                        workflow_delete(a, rt->ns, manifest_name(w));
                        }
                        json_decref(items);
                }
        }
        if (rt->kind == &kind_cronworkflow) {
                if (a->namespaces->bus && cronwf_disarm(a->namespaces, rt->ns, rt->name, err, sizeof err) < 0) {
                        reply_status(c, 500, rt, NULL, "stopping the timer failed: %s", err);
                        return;
                }
                /* Its workflows go with it, as Kubernetes' garbage collector takes them in Argo. */
                json_t *children = cron_children(a, rt->ns, rt->name), *w;
                size_t i;
                json_array_foreach(children, i, w)
                        workflow_delete(a, rt->ns, manifest_name(w));
                json_decref(children);
        }
        delete_stored(a, c, rt, caller->user);
}

static void handle_discovery(HttpConn *c) {
        json_t *list = json_array();
        for (size_t i = 0; kinds[i]; i++) {
                const Kind *k = kinds[i];
                json_t *sn = json_array();
                for (const char *const *s = k->short_names; s && *s; s++)
                        json_array_append_new(sn, json_string(*s));
                json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "group", k->group, "version",
                                                      k->version, "kind", k->kind, "name", k->plural, "namespaced",
                                                      k->namespaced, "shortNames", sn));
        }
        reply_json(c, 200, json_pack("{s:s, s:o}", "kind", "APIResourceList", "resources", list), NULL);
}


/* The Profile a subresource request names, if the caller may see it; else
 * NULL, answered (404 for administrators when it does not exist, 403
 * otherwise, so names do not leak). */
static json_t *visible_profile(Api *a, HttpConn *c, const Caller *caller, const Route *rt, const char *what) {
        json_t *profile;
        int r = store_get(a->store, &kind_profile, NULL, rt->name, &profile);
        if (r >= 0 && caller_may_see_profile(caller, a->store, profile))
                return profile;
        if (r >= 0)
                json_decref(profile);
        if (r == -ENOENT && caller->admin)
                reply_status(c, 404, rt, NULL, "profiles \"%s\" not found", rt->name);
        else
                reply_status(c, 403, rt, NULL, "user %s may not see the %s of %s", caller->user, what, rt->name);
        return NULL;
}

/* GET .../profiles/NAME/tokens (names and creation times), POST
 * .../tokens/TOKEN (a new bearer token, shown once) or DELETE
 * .../tokens/TOKEN: the owner (or an administrator) decides who may call
 * the namespace's models through the gateway.  Only the token's SHA-256
 * is kept. */
static void handle_tokens(Api *a, HttpConn *c, const Caller *caller, const Route *rt, const HttpMessage *req) {
        json_t *profile = visible_profile(a, c, caller, rt, "tokens"), *list, *t;
        size_t i;
        int r;
        if (!profile)
                return;
        bool get = http_method_is(req, "GET"), post = http_method_is(req, "POST"), del = http_method_is(req, "DELETE");
        bool owner = caller_owns_profile(caller, profile);
        json_decref(profile);
        if ((get && rt->sub_name[0]) || (!get && !rt->sub_name[0]) || (!get && !post && !del)) {
                reply_status(c, 405, rt, NULL, "use GET .../tokens, or POST or DELETE .../tokens/NAME");
                return;
        }
        if (!get && !owner) {
                reply_status(c, 403, rt, NULL, "only the owner of %s or an administrator may change its tokens", rt->name);
                return;
        }
        if (post) {
                unsigned char raw[32];
                char token[2 * sizeof raw + 1], hex[SHA256_HEX_LEN + 1], ts[32];
                if (!name_is_dns1123_label(rt->sub_name)) {
                        json_t *causes = json_pack("[{s:s, s:s, s:s}]", "reason", "FieldValueInvalid", "field", "name",
                                                   "message", "must be a DNS-1123 label");
                        reply_status(c, 422, rt, causes, "token name '%s' is not a DNS-1123 label", rt->sub_name);
                        return;
                }
                if (getrandom(raw, sizeof raw, 0) != (ssize_t) sizeof raw) {
                        reply_status(c, 500, rt, NULL, "no random bytes: %m");
                        return;
                }
                hex_encode(raw, sizeof raw, token);
                explicit_bzero(raw, sizeof raw);
                if (sha256_hex(token, strlen(token), hex) < 0) {
                        reply_status(c, 500, rt, NULL, "hashing the token failed");
                        return;
                }
                format_now_rfc3339(ts, sizeof ts);
                r = store_token_add(a->store, rt->name, rt->sub_name, hex, ts);
                if (r == -EEXIST) {
                        reply_status(c, 409, rt, NULL, "namespace %s already has a token named %s", rt->name, rt->sub_name);
                        return;
                }
                if (r < 0) {
                        reply_status(c, 500, rt, NULL, "storing the token failed: %s", strerror(-r));
                        return;
                }
                log_info("%s created token %s of namespace %s.", caller->user, rt->sub_name, rt->name);
                write_routes(a);
                reply_json(c, 201, json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "Token", "namespace", rt->name, "name",
                                             rt->sub_name, "token", token, "created", ts), NULL);
                explicit_bzero(token, sizeof token);
                return;
        }
        if (del) {
                r = store_token_delete(a->store, rt->name, rt->sub_name);
                if (r < 0) {
                        reply_status(c, 500, rt, NULL, "removing the token failed: %s", strerror(-r));
                        return;
                }
                if (r == 0) {
                        reply_status(c, 404, rt, NULL, "namespace %s has no token named %s", rt->name, rt->sub_name);
                        return;
                }
                log_info("%s deleted token %s of namespace %s.", caller->user, rt->sub_name, rt->name);
                write_routes(a);
        }
        if (store_tokens(a->store, rt->name, &list) < 0) {
                reply_status(c, 500, rt, NULL, "reading the tokens failed");
                return;
        }
        json_array_foreach(list, i, t)
                json_object_del(t, "sha256");
        reply_json(c, 200, json_pack("{s:s, s:s, s:o}", "kind", "TokenList", "namespace", rt->name, "items", list), NULL);
}

/* GET .../profiles/NAME/contributors, PUT or DELETE .../contributors/USER:
 * the owner (or an administrator) decides who else may use the namespace. */
static void handle_contributors(Api *a, HttpConn *c, const Caller *caller, const Route *rt, const HttpMessage *req) {
        json_t *profile = visible_profile(a, c, caller, rt, "contributors"), *cs;
        int r;
        if (!profile)
                return;
        bool get = http_method_is(req, "GET"), put = http_method_is(req, "PUT"), del = http_method_is(req, "DELETE");
        if ((get && rt->sub_name[0]) || (!get && !rt->sub_name[0]) || (!get && !put && !del)) {
                json_decref(profile);
                reply_status(c, 405, rt, NULL, "use GET .../contributors, or PUT or DELETE .../contributors/USER");
                return;
        }
        if (!get) {
                if (!caller_owns_profile(caller, profile)) {
                        json_decref(profile);
                        reply_status(c, 403, rt, NULL, "only the owner of %s or an administrator may change its contributors",
                                     rt->name);
                        return;
                }
                if (put && !unix_user_exists(rt->sub_name)) {
                        json_decref(profile);
                        json_t *causes = json_pack("[{s:s, s:s, s:s}]", "reason", "FieldValueNotFound", "field",
                                                   "contributor", "message", "no such Unix user");
                        reply_status(c, 422, rt, causes, "contributor '%s' is not a Unix user on this host", rt->sub_name);
                        return;
                }
                /* The directories first: a contributor is let in on disk
                 * when the API lets them in, and out when it does. */
                json_t *now = NULL;
                char err[512];
                if (store_contributors(a->store, rt->name, &now) < 0) {
                        json_decref(profile);
                        reply_status(c, 500, rt, NULL, "reading the contributors failed");
                        return;
                }
                size_t i;
                json_t *v;
                bool listed = false;
                json_array_foreach(now, i, v) {
                        if (strcmp(json_string_value(v), rt->sub_name) == 0) {
                                listed = true;
                                break;
                        }
                }
                if (put && !listed)
                        json_array_append_new(now, json_string(rt->sub_name));
                else if (del && listed)
                        json_array_remove(now, i);
                r = listed == put ? 0 : ns_set_access(a->namespaces, profile, now, err, sizeof err);
                json_decref(now);
                if (r < 0) {
                        json_decref(profile);
                        reply_status(c, 500, rt, NULL, "giving %s access to namespace %s's directories failed: %s",
                                     rt->sub_name, rt->name, err);
                        return;
                }
                r = store_contributor_set(a->store, rt->name, rt->sub_name, put);
                if (r < 0) {
                        json_decref(profile);
                        reply_status(c, 500, rt, NULL, "storing the contributor failed: %s", strerror(-r));
                        return;
                }
                if (r > 0) {
                        log_info("%s contributor %s %s namespace %s.", caller->user, rt->sub_name,
                                 put ? "added to" : "removed from", rt->name);
                        json_t *st = json_object_get(profile, "status");
                        json_t *copy = st ? json_incref(st) : json_object();
                        set_profile_status(a, rt->name, copy, NULL);
                        json_decref(copy);
                }
        }
        json_decref(profile);
        if (store_contributors(a->store, rt->name, &cs) < 0) {
                reply_status(c, 500, rt, NULL, "reading the contributors failed");
                return;
        }
        reply_json(c, 200, json_pack("{s:s, s:s, s:o}", "kind", "ContributorList", "namespace", rt->name, "items", cs),
                   NULL);
}

/* ?tailLines=N (1..max) into *tail; false after answering 400. */
static bool query_tail(HttpConn *c, const Route *rt, const char *query, size_t qlen, unsigned max, unsigned *tail) {
        char v[32];
        if (http_query_get(query, qlen, "tailLines", v, sizeof v) > 0) {
                char *end;
                unsigned long t = strtoul(v, &end, 10);
                if (*end || t == 0 || t > max) {
                        reply_status(c, 400, rt, NULL, "tailLines must be 1..%u", max);
                        return false;
                }
                *tail = (unsigned) t;
        }
        return true;
}

/* Lines in the step's NODEDIR/stdout (all it wrote there: sdflow-step),
 * read without following links; -errno if it cannot be read. */
static int64_t stdout_lines(const char *node_dir) {
        const char *rel = node_dir ? safe_rel(WF_ARTIFACTS_BASE, node_dir) : NULL;
        char path[1100];
        if (!rel || snprintf(path, sizeof path, "%s/stdout", rel) >= (int) sizeof path)
                return -EINVAL;
        int fd = safe_open_beneath(WF_ARTIFACTS_BASE, path);
        if (fd < 0)
                return fd;
        static char buf[65536];
        int64_t lines = 0;
        char last = '\n';
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
                for (ssize_t i = 0; i < n; i++)
                        lines += buf[i] == '\n';
                last = buf[n - 1];
        }
        close(fd);
        return lines + (last != '\n');
}

/* Answers with the last tail journal lines of units, as text.  Where a
 * unit's node directory is known (dirs[i], may be NULL), it says when the
 * journal lost lines of the step's stdout (journald's rate limit), and how
 * many: what it shows is then not all there was. */
static void reply_journal(HttpConn *c, const Route *rt, char units[][300], const char *const *dirs, size_t n_units,
                          unsigned tail) {
        char *text = NULL;
        size_t len = 0;
        int r = n_units ? journal_tail(units, n_units, tail, &text, &len) : 0;
        if (r < 0) {
                reply_status(c, 500, rt, NULL, "reading the journal failed: %s", strerror(-r));
                return;
        }
        char *notes = NULL;
        size_t notes_len = 0;
        FILE *f = open_memstream(&notes, &notes_len);
        for (size_t i = 0; f && dirs && i < n_units; i++) {
                int64_t wrote = stdout_lines(dirs[i]);
                uint64_t kept = 0;
                if (wrote <= 0 || journal_count(units[i], "stdout", (uint64_t) wrote, &kept) < 0 ||
                    kept >= (uint64_t) wrote)
                        continue;
                fprintf(f, "sdflow: the journal lost %llu of the %lld lines %s wrote to stdout (journald's rate "
                           "limit: RateLimitBurst= in journald.conf); lines are missing above, all of them are in "
                           "%s/stdout\n",
                        (unsigned long long) ((uint64_t) wrote - kept), (long long) wrote, units[i], dirs[i]);
        }
        if (f)
                fclose(f);
        if (notes && notes_len > 0) {
                char *both = malloc(len + notes_len + 1);
                if (both) {
                        memcpy(both, text ?: "", len);
                        memcpy(both + len, notes, notes_len);
                        free(text);
                        text = both;
                        len += notes_len;
                }
        }
        free(notes);
        (void) http_conn_reply(c, 200, "text/plain; charset=utf-8", text ?: "", len, NULL);
        free(text);
}

/* GET .../inferenceservices/NAME/log[?tailLines=N]: the replicas' journal
 * lines, oldest first, as text. */
static void handle_log(Api *a, HttpConn *c, const Caller *caller, const Route *rt, const char *query, size_t qlen) {
        char units[MAX_LOG_UNITS][300];
        json_t *isvc;
        unsigned tail = 100;
        size_t n_units = 0, i;
        json_t *rep_;

        if (!caller_may_use_namespace(caller, a->store, rt->ns)) {
                reply_status(c, 403, rt, NULL, "user %s may not use namespace %s", caller->user, rt->ns);
                return;
        }
        if (!query_tail(c, rt, query, qlen, 10000, &tail))
                return;
        if (store_get(a->store, rt->kind, rt->ns, rt->name, &isvc) < 0) {
                reply_status(c, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                return;
        }
        json_array_foreach(json_object_get(json_object_get(isvc, "status"), "replicas"), i, rep_)
                if (n_units < MAX_LOG_UNITS && json_is_string(json_object_get(rep_, "unit")))
                        snprintf(units[n_units++], sizeof units[0], "%s", json_string_value(json_object_get(rep_, "unit")));
        json_decref(isvc);
        reply_journal(c, rt, units, NULL, n_units, tail);
}

/* GET .../workflows/NAME/log[?node=N&tailLines=N]: the steps' journal lines
 * (of one node, by id, name or display name, when given). */
static void handle_wf_log(Api *a, HttpConn *c, const Caller *caller, const Route *rt, const char *query, size_t qlen) {
        char want[256] = "";
        unsigned tail = 1000;
        json_t *wf, *n;
        const char *id;
        if (!caller_may_use_namespace(caller, a->store, rt->ns)) {
                reply_status(c, 403, rt, NULL, "user %s may not use namespace %s", caller->user, rt->ns);
                return;
        }
        if (!query_tail(c, rt, query, qlen, 100000, &tail))
                return;
        (void) http_query_get(query, qlen, "node", want, sizeof want);
        if (store_get(a->store, rt->kind, rt->ns, rt->name, &wf) < 0) {
                reply_status(c, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                return;
        }
        json_t *nodes = json_object_get(json_object_get(wf, "status"), "nodes");
        size_t cap = json_object_size(nodes) + 1, n_units = 0;
        char(*units)[300] = calloc(cap, sizeof *units);
        const char **dirs = calloc(cap, sizeof *dirs);
        json_object_foreach(nodes, id, n) {
                const char *u = json_string_value(json_object_get(n, "sdflowUnit"));
                if (!u || !units || !dirs)
                        continue;
                if (want[0] && strcmp(want, id) != 0 &&
                    strcmp(want, json_string_value(json_object_get(n, "name")) ?: "") != 0 &&
                    strcmp(want, json_string_value(json_object_get(n, "displayName")) ?: "") != 0)
                        continue;
                dirs[n_units] = json_string_value(json_object_get(n, "sdflowDir"));
                snprintf(units[n_units++], sizeof units[0], "%s", u);
        }
        if (want[0] && n_units == 0) {
                json_decref(wf);
                free(units);
                free(dirs);
                reply_status(c, 404, rt, NULL, "workflow %s has no step node '%s' that ran", rt->name, want);
                return;
        }
        reply_journal(c, rt, units, dirs, n_units, tail);
        json_decref(wf); /* after: dirs point into it */
        free(units);
        free(dirs);
}

/* PUT .../workflows/NAME/{suspend,resume,stop,terminate,retry}, as Argo's server has them. */
static void handle_wf_action(Api *a, HttpConn *c, const Caller *caller, const Route *rt) {
        char msg[512];
        if (!caller_may_use_namespace(caller, a->store, rt->ns)) {
                reply_status(c, 403, rt, NULL, "user %s may not use namespace %s", caller->user, rt->ns);
                return;
        }
        if (!a->engine) {
                reply_status(c, 503, rt, NULL, "the pipeline engine is not running (systemd cannot be reached)");
                return;
        }
        if (strcmp(rt->sub, "retry") == 0) {
                json_t *wf = NULL;
                if (store_get(a->store, rt->kind, rt->ns, rt->name, &wf) >= 0 && crashguard_is_quarantined(wf))
                        release_quarantine(a, rt->kind, &wf);
                json_decref(wf);
        }
        int r = engine_action(a->engine, rt->ns, rt->name, rt->sub, msg, sizeof msg);
        if (r == -ENOENT) {
                reply_status(c, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                return;
        }
        if (r < 0) {
                reply_status(c, 409, rt, NULL, "%s", msg);
                return;
        }
        log_info("Workflow %s/%s: %s by %s.", rt->ns, rt->name, rt->sub, caller->user);
        json_t *wf;
        if (store_get(a->store, rt->kind, rt->ns, rt->name, &wf) < 0) {
                reply_status(c, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                return;
        }
        reply_json(c, 200, wf, NULL);
}

/* PUT .../NAME/retry of an object other than a Workflow: a quarantined
 * object is processed again, as if it had just been applied. */
static void handle_retry(Api *a, HttpConn *c, const Caller *caller, const Route *rt) {
        const Kind *k = rt->kind;
        const char *ns = k->namespaced ? rt->ns : NULL;
        if (k->namespaced ? !caller_may_use_namespace(caller, a->store, rt->ns) : !caller->admin) {
                reply_status(c, 403, rt, NULL, "user %s may not change %s in %s", caller->user, k->plural,
                             k->namespaced ? rt->ns : "the cluster scope");
                return;
        }
        json_auto_t *obj = NULL, *profile = NULL;
        if (store_get(a->store, k, ns, rt->name, &obj) < 0) {
                reply_status(c, 404, rt, NULL, "%s \"%s\" not found", k->plural, rt->name);
                return;
        }
        if (!crashguard_is_quarantined(obj)) {
                reply_status(c, 409, rt, NULL, "%s \"%s\" is not quarantined: there is nothing to retry "
                                               "(apply it again to change it)", k->plural, rt->name);
                return;
        }
        if (ns && store_get(a->store, &kind_profile, NULL, ns, &profile) < 0) {
                reply_status(c, 404, rt, NULL, "namespace %s does not exist", ns);
                return;
        }
        release_quarantine(a, k, &obj);
        log_info("%s %s%s%s: retry by %s.", k->plural, ns ?: "", ns ? "/" : "", rt->name, caller->user);
        {
                _cleanup_guard_ unsigned g = crashguard_enter(k, obj, GUARD_APPLY);
                react(a, k, &obj, STORE_UPDATED, NULL, profile, caller->user);
        }
        reply_json(c, 200, TAKE_PTR(obj), NULL);
}

/* Quota and use of every namespace the caller may see, from the slices' cgroup files. */
static void handle_top(Api *a, HttpConn *c, const Caller *caller) {
        json_t *items, *out = json_array();
        size_t i;
        json_t *o;
        if (store_list(a->store, &kind_profile, NULL, &items, NULL) < 0) {
                json_decref(out);
                reply_status(c, 500, NULL, NULL, "reading the store failed");
                return;
        }
        json_array_foreach(items, i, o) {
                const char *ns = manifest_name(o);
                char cg[512];
                uint64_t v, gpus;
                if (!caller_may_see_profile(caller, a->store, o) || ns_slice_cgroup(ns, cg, sizeof cg) < 0)
                        continue;
                SliceLimits l = ns_profile_limits(o, &gpus);
                json_t *usage = json_object();
                if (cgroup_read_key(NULL, cg, "cpu.stat", "usage_usec", &v) >= 0)
                        json_object_set_new(usage, "cpuUsageUsec", json_integer((json_int_t) v));
                if (cgroup_read_u64(NULL, cg, "memory.current", &v) >= 0)
                        json_object_set_new(usage, "memoryBytes", json_integer((json_int_t) v));
                if (cgroup_read_u64(NULL, cg, "pids.current", &v) >= 0)
                        json_object_set_new(usage, "tasks", json_integer((json_int_t) v));
                json_t *quota = json_pack("{s:I}", "gpus", (json_int_t) gpus);
                if (l.cpu_quota_per_sec_usec != UINT64_MAX)
                        json_object_set_new(quota, "cpuMillis", json_integer((json_int_t) (l.cpu_quota_per_sec_usec / 1000)));
                if (l.memory_max != UINT64_MAX)
                        json_object_set_new(quota, "memoryBytes", json_integer((json_int_t) l.memory_max));
                if (l.tasks_max != UINT64_MAX)
                        json_object_set_new(quota, "tasks", json_integer((json_int_t) l.tasks_max));
                json_array_append_new(out, json_pack("{s:s, s:s, s:o, s:o}", "namespace", ns, "phase",
                                                      json_string_value(json_object_get(json_object_get(o, "status"), "phase")) ?: "Unknown",
                                                      "quota", quota, "usage", usage));
        }
        json_decref(items);
        reply_json(c, 200, json_pack("{s:s, s:o}", "kind", "NamespaceUsageList", "items", out), NULL);
}

static bool path_is(const char *p, size_t n, const char *s) {
        return strlen(s) == n && memcmp(p, s, n) == 0;
}

void api_handle(HttpConn *c, const HttpMessage *req, const char *body, size_t body_len, void *userdata) {
        Api *a = userdata;
        const char *path, *query;
        size_t path_len, query_len;
        Caller caller;
        Route rt;
        int r;

        http_target_split(req, &path, &path_len, &query, &query_len);
        bool get = http_method_is(req, "GET");

        if (path_is(path, path_len, "/healthz") || path_is(path, path_len, "/v1/version")) {
                if (!get) {
                        reply_status(c, 405, NULL, NULL, "method not allowed");
                        return;
                }
                if (path_len == 8)
                        (void) http_conn_reply(c, 200, "text/plain", "ok\n", 3, NULL);
                else
                        reply_json(c, 200,
                                   json_pack("{s:s, s:s, s:s, s:[s]}", "component", "sdflowd", "version", SDFLOW_VERSION,
                                             "gitVersion", SDFLOW_VERSION, "apiVersions", "v1"),
                                   NULL);
                return;
        }

        if (caller_identify(c, a->admin_gid, &caller) < 0) {
                reply_status(c, 403, NULL, NULL, "cannot identify the caller (the API is served on a Unix socket)");
                return;
        }
        if (path_is(path, path_len, "/v1/top/namespaces")) {
                if (get)
                        handle_top(a, c, &caller);
                else
                        reply_status(c, 405, NULL, NULL, "method not allowed");
                return;
        }
        if (path_is(path, path_len, "/apis") || path_is(path, path_len, "/apis/")) {
                if (get)
                        handle_discovery(c);
                else
                        reply_status(c, 405, NULL, NULL, "method not allowed");
                return;
        }
        r = route_parse(path, path_len, &rt);
        if (r == -EBADMSG) {
                reply_status(c, 400, NULL, NULL, "malformed API path");
                return;
        }
        if (r < 0) {
                reply_status(c, 404, NULL, NULL, "the server could not find the requested resource: %.*s",
                             (int) MIN(path_len, 200), path);
                return;
        }
        if (rt.has_ns && !name_is_dns1123_label(rt.ns)) {
                reply_status(c, 400, &rt, NULL, "'%s' is not a valid namespace name", rt.ns);
                return;
        }
        if (rt.has_name && !name_is_dns1123_label(rt.name)) {
                /* No such object can exist: every stored name is a label. */
                reply_status(c, 404, &rt, NULL, "%s \"%s\" not found", rt.kind->plural, rt.name);
                return;
        }
        if (strcmp(rt.sub, "retry") == 0 && rt.kind != &kind_workflow) {
                if (http_method_is(req, "PUT"))
                        handle_retry(a, c, &caller, &rt);
                else
                        reply_status(c, 405, &rt, NULL, "use PUT on .../retry");
                return;
        }
        if (rt.sub[0] && rt.kind == &kind_isvc) {
                if (get)
                        handle_log(a, c, &caller, &rt, query, query_len);
                else
                        reply_status(c, 405, &rt, NULL, "use GET on .../log");
                return;
        }
        if (rt.sub[0] && rt.kind == &kind_cronworkflow) {
                if (http_method_is(req, "PUT"))
                        handle_cron_trigger(a, c, &caller, &rt, query, query_len);
                else
                        reply_status(c, 405, &rt, NULL, "use PUT on .../trigger");
                return;
        }
        if (rt.sub[0] && rt.kind == &kind_workflow) {
                if (strcmp(rt.sub, "log") == 0 && get)
                        handle_wf_log(a, c, &caller, &rt, query, query_len);
                else if (strcmp(rt.sub, "log") != 0 && http_method_is(req, "PUT"))
                        handle_wf_action(a, c, &caller, &rt);
                else
                        reply_status(c, 405, &rt, NULL, "use GET on .../log, PUT on .../suspend, resume, stop, "
                                                        "terminate or retry");
                return;
        }
        if (rt.sub[0] && strcmp(rt.sub, "tokens") == 0) {
                handle_tokens(a, c, &caller, &rt, req);
                return;
        }
        if (rt.sub[0]) {
                handle_contributors(a, c, &caller, &rt, req);
                return;
        }
        if (get) {
                if (param_true(query, query_len, "watch"))
                        handle_watch(a, c, &caller, &rt, query, query_len);
                else if (rt.has_name)
                        handle_get(a, c, &caller, &rt);
                else
                        handle_list(a, c, &caller, &rt, query, query_len);
        } else if ((http_method_is(req, "POST") && !rt.has_name) || (http_method_is(req, "PUT") && rt.has_name))
                handle_apply(a, c, &caller, &rt, body, body_len);
        else if (http_method_is(req, "DELETE") && rt.has_name)
                handle_delete(a, c, &caller, &rt);
        else
                reply_status(c, 405, &rt, NULL, "%.*s is not allowed on this path", (int) req->method_len, req->method);
}

static int engine_artifact_path_cb(void *userdata, const char *ns, const char *uri, char *path, size_t size,
                                   char *msg, size_t msg_size) {
        return engine_artifact_path(userdata, ns, uri, path, size, msg, msg_size);
}

static void engine_notify(const Kind *k, const char *type, json_t *obj, void *userdata) {
        Api *a = userdata;
        notify(a, k, type, obj);
        if (k == &kind_workflow)
                tuning_workflow_changed(a->tuning, obj);
}

static void tuning_notify(json_t *experiment, void *userdata) {
        notify(userdata, &kind_experiment, "MODIFIED", experiment);
}

static void check_images(Api *a, json_t *obj, const Kind *k, Diags *d);

/* A trial's workflow, made by the tuning controller: checked as an applied
 * one is, stored, and started. */
static int tuning_create(json_t *wf, void *userdata) {
        Api *a = userdata;
        Diags d = {};
        const Kind *k = NULL;
        json_t *stored = NULL;
        StoreChange change;
        int r = manifest_check(wf, &k, &d);
        if (r >= 0 && k == &kind_workflow)
                check_images(a, wf, k, &d);
        if (r < 0 || d.n_errors > 0 || k != &kind_workflow) {
                char *m = diags_format(&d, true, false);
                log_warning("A trial's workflow was refused: %s", m ?: "invalid");
                free(m);
                diags_clear(&d);
                return -EINVAL;
        }
        diags_clear(&d);
        r = store_apply(a->store, k, wf, &stored, &change);
        if (r < 0)
                return r;
        notify(a, k, "ADDED", stored);
        if (a->engine)
                engine_submit(a->engine, manifest_namespace(stored), manifest_name(stored));
        json_decref(stored);
        return 0;
}

int api_new(Api **ret, sd_event *e, Store *store, Namespaces *namespaces, gid_t admin_gid) {
        Api *a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->event = sd_event_ref(e);
        a->store = store;
        a->namespaces = namespaces;
        snprintf(a->routes_path, sizeof a->routes_path, "%s", API_ROUTES_FILE);
        snprintf(a->routes_path_tmp, sizeof a->routes_path_tmp, "%s.tmp", API_ROUTES_FILE);
        /* The gateway (group sdflow) watches the route table's directory
         * with inotify, which needs read access to it: systemd makes it
         * sdflowd's (RuntimeDirectory=), sdflowd gives it to the group. */
        struct group *gr = getgrnam("sdflow");
        int dfd = gr ? open(API_CONTROL_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
        if (gr && (dfd < 0 || fchown(dfd, (uid_t) -1, gr->gr_gid) < 0 || fchmod(dfd, 0750) < 0))
                log_warning_errno(errno, "Cannot give %s to group sdflow, the gateway will poll the route table: %m",
                                  API_CONTROL_DIR);
        if (dfd >= 0)
                close(dfd);
        a->admin_gid = admin_gid;
        a->probing = json_object();
        a->copying = json_object();
        a->deleting = json_object();
        if (!a->probing || !a->copying || !a->deleting) {
                json_decref(a->probing);
                json_decref(a->copying);
                json_decref(a->deleting);
                free(a);
                return -ENOMEM;
        }
        if (namespaces->bus) {
                int r = engine_new(&a->engine, e, store, namespaces, engine_notify, a);
                if (r < 0)
                        log_warning_errno(r, "Cannot start the pipeline engine, workflows will not run: %m");
                else {
                        namespaces->artifact_path = engine_artifact_path_cb;
                        namespaces->artifact_userdata = a->engine;
                        r = tuning_new(&a->tuning, e, store, a->engine, tuning_create, tuning_notify, a);
                        if (r < 0)
                                log_warning_errno(r, "Cannot start the tuning controller, experiments will not run: %m");
                }
        }
        *ret = a;
        return 0;
}

void api_set_max_watches(Api *a, unsigned n) {
        a->max_watches = n;
}

void api_set_storage_limits(Api *a, uint64_t object_bytes, uint64_t namespace_bytes) {
        a->max_object_bytes = object_bytes;
        a->max_namespace_bytes = namespace_bytes;
}


Api *api_free(Api *a) {
        if (!a)
                return NULL;
        while (a->watchers)
                watcher_free(a->watchers);
        while (a->waiters) {
                IsvcWaiter *w = a->waiters;
                a->waiters = w->next;
                http_conn_set_close_handler(w->conn, NULL, NULL);
                waiter_free(w);
        }
        json_decref(a->probing);
        json_decref(a->copying);
        json_decref(a->deleting);
        tuning_free(a->tuning);
        engine_free(a->engine);
        sd_event_unref(a->event);
        free(a);
        return NULL;
}
