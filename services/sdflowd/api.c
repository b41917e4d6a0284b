/* api.c: sdflowd's REST API, in the shape of the Kubernetes API; see api.h.
 *
 * Generic over kinds: it parses paths and bodies, checks who calls, stores,
 * watches and answers.  What a kind means (its admission, what applying or
 * deleting one does, its subresources) is its controller's (controller.h),
 * found in the table sdflowd.c gives objects_new(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "crashguard.h"
#include "frontdoor.h"
#include "kinds.h"
#include "log.h"
#include "manifest.h"
#include "rest.h"
#include "selector.h"
#include "version.h"

#define WATCH_TIMEOUT_DEFAULT_SEC 1800
#define WATCH_TIMEOUT_MAX_SEC 3600
#define WATCH_ROOM_KEPT 4096

typedef struct Watcher Watcher;
typedef struct Waiter Waiter;

struct Api {
        sd_event *event;
        Objects *objects;
        Store *store;
        gid_t admin_gid;
        FrontDoor *front; /* sessions and API tokens; NULL: only the socket's peer counts */
        Watcher *watchers;
        Waiter *waiters; /* applies answered when what their object's controller waits for is done */
        unsigned max_watches; /* per user (not for admins); 0: no limit */
        uint64_t max_object_bytes, max_namespace_bytes;
};

/* An apply answered when its controller says what it waits for is done
 * (an InferenceService's new revision is ready, or is not). */
struct Waiter {
        Waiter *next;
        Api *api;
        HttpConn *conn;
        const Kind *kind;
        char ns[128], name[256], token[300];
        int code;           /* 201 or 200 */
        char *headers;      /* X-Sdflow-Result and warnings */
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

/* ---- watchers -------------------------------------------------------------- */

DEFINE_TRIVIAL_CLEANUP_FUNC(Selector *, selector_free);

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
DEFINE_TRIVIAL_CLEANUP_FUNC(Watcher *, watcher_free);

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
        void *self;
        const ControllerType *t = objects_type(a->objects, k, &self);
        if (caller->admin)
                return true;
        if (t && t->visible)
                return t->visible(self, caller, obj);
        return caller_may_use_namespace(caller, a->store, manifest_namespace(obj));
}

/* What the kind's controller observes now rather than stores. */
static void observe(Api *a, const Kind *k, json_t *obj) {
        void *self;
        const ControllerType *t = objects_type(a->objects, k, &self);
        if (t && t->observe)
                t->observe(self, obj);
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
        json_auto_t *ev = json_pack("{s:s, s:O}", "type", type, "object", obj);
        _cleanup_free_ char *s = json_dumps(ev, JSON_COMPACT);
        if (!s)
                return -ENOMEM;
        size_t n = strlen(s);
        s[n] = '\n';
        /* Room is kept for the line that says the watch fell behind. */
        int r = n + 1 + WATCH_ROOM_KEPT > http_conn_stream_room(w->conn) ? -ENOBUFS
                                                                         : http_conn_stream_write(w->conn, s, n + 1);
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

static void on_notify(const Kind *k, const char *type, json_t *obj, void *userdata) {
        Api *a = userdata;
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

/* ---- handlers -------------------------------------------------------------- */

static int parse_selector(HttpConn *c, const Route *rt, const char *query, size_t qlen, Selector **ret) {
        char sel[4096], err[256];
        int r = http_query_get(query, qlen, "labelSelector", sel, sizeof sel);
        if (r == -ENOENT)
                sel[0] = '\0';
        else if (r < 0) {
                rest_reply_status(c, 400, rt, NULL, "invalid labelSelector parameter");
                return r;
        }
        if (selector_parse(sel, ret, err, sizeof err) < 0) {
                rest_reply_status(c, 400, rt, NULL, "invalid labelSelector '%s': %s", sel, err);
                return -EINVAL;
        }
        return 0;
}

static void list_kind_json(const Kind *k, char *buf, size_t size) {
        snprintf(buf, size, "%sList", k->kind);
}

static void handle_list(Api *a, HttpConn *c, const Caller *caller, const Route *rt, const char *query, size_t qlen) {
        _cleanup_(selector_freep) Selector *sel = NULL;
        json_auto_t *items = NULL;
        json_t *out;
        uint64_t rv;
        char av[128], lk[128], rvs[32];
        size_t i;
        json_t *o;

        if (parse_selector(c, rt, query, qlen, &sel) < 0)
                return;
        if (rt->has_ns && !caller_may_use_namespace(caller, a->store, rt->ns)) {
                rest_reply_status(c, 403, rt, NULL, "user %s may not use namespace %s", caller->user, rt->ns);
                return;
        }
        int r = store_list(a->store, rt->kind, rt->has_ns ? rt->ns : NULL, &items, &rv);
        if (r < 0) {
                rest_reply_status(c, 500, rt, NULL, "reading the store failed: %s", strerror(-r));
                return;
        }
        json_auto_t *kept = json_array();
        json_array_foreach(items, i, o)
                if (selector_matches(sel, json_object_get(json_object_get(o, "metadata"), "labels")) &&
                    object_visible(a, caller, rt->kind, o)) {
                        observe(a, rt->kind, o);
                        /* A list with an object left out would say it is not there. */
                        if (json_array_append(kept, o) < 0) {
                                rest_reply_status(c, 500, rt, NULL, "listing %s: out of memory", rt->kind->plural);
                                return;
                        }
                }
        kind_api_version(rt->kind, av, sizeof av);
        list_kind_json(rt->kind, lk, sizeof lk);
        snprintf(rvs, sizeof rvs, "%llu", (unsigned long long) rv);
        out = json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion", av, "kind", lk, "metadata", "resourceVersion", rvs,
                        "items", TAKE_PTR(kept));
        rest_reply_json(c, 200, out, NULL);
}

static void handle_get(Api *a, HttpConn *c, const Caller *caller, const Route *rt) {
        json_auto_t *o = NULL;
        int r = store_get(a->store, rt->kind, rt->ns, rt->name, &o);
        /* Who may use the namespace learns what is missing in it (404). */
        bool member = caller->admin || (rt->has_ns && caller_may_use_namespace(caller, a->store, rt->ns));
        if (!member && (r == -ENOENT || (r >= 0 && !object_visible(a, caller, rt->kind, o)))) {
                /* As Kubernetes' authorization: 403 whether or not it exists, so names do not leak. */
                rest_reply_status(c, 403, rt, NULL, "user %s may not get %s \"%s\"", caller->user, rt->kind->plural, rt->name);
                return;
        }
        if (r == -ENOENT) {
                rest_reply_status(c, 404, rt, NULL, "%s \"%s\" not found", rt->kind->plural, rt->name);
                return;
        }
        if (r < 0) {
                rest_reply_status(c, 500, rt, NULL, "reading the store failed: %s", strerror(-r));
                return;
        }
        observe(a, rt->kind, o);
        rest_reply_json(c, 200, TAKE_PTR(o), NULL);
}

static void handle_watch(Api *a, HttpConn *c, const Caller *caller, const Route *rt, const char *query, size_t qlen) {
        char v[64];
        _cleanup_(selector_freep) Selector *sel = NULL;
        uint64_t since = 0, timeout = WATCH_TIMEOUT_DEFAULT_SEC;
        bool have_rv = false;
        int r;

        if (rt->has_ns && !caller_may_use_namespace(caller, a->store, rt->ns)) {
                rest_reply_status(c, 403, rt, NULL, "user %s may not use namespace %s", caller->user, rt->ns);
                return;
        }
        if (http_query_get(query, qlen, "resourceVersion", v, sizeof v) > 0) {
                char *end;
                since = strtoull(v, &end, 10);
                if (*end) {
                        rest_reply_status(c, 400, rt, NULL, "invalid resourceVersion '%s'", v);
                        return;
                }
                have_rv = since > 0;
        }
        if (http_query_get(query, qlen, "timeoutSeconds", v, sizeof v) > 0) {
                char *end;
                timeout = strtoull(v, &end, 10);
                if (*end || timeout == 0 || timeout > WATCH_TIMEOUT_MAX_SEC) {
                        rest_reply_status(c, 400, rt, NULL, "timeoutSeconds must be 1..%d", WATCH_TIMEOUT_MAX_SEC);
                        return;
                }
        }
        /* A user's watches are bounded (connections are too, in lib/server);
         * administrators' are not. */
        unsigned mine = 0;
        for (Watcher *x = a->watchers; x; x = x->next)
                mine += x->caller.uid == caller->uid;
        if (!caller->admin && a->max_watches > 0 && mine >= a->max_watches) {
                rest_reply_status(c, 429, rt, NULL, "too many watches: user %s has %u open, at most %u at once "
                                               "(MaxWatchesPerUser= in sdflowd.conf)",
                             caller->user, mine, a->max_watches);
                return;
        }
        if (parse_selector(c, rt, query, qlen, &sel) < 0)
                return;

        _cleanup_(watcher_freep) Watcher *new_w = calloc(1, sizeof *new_w);
        if (!new_w) {
                rest_reply_status(c, 500, rt, NULL, "out of memory");
                return;
        }
        *new_w = (Watcher) { .api = a, .conn = c, .kind = rt->kind, .selector = TAKE_PTR(sel), .caller = *caller };
        new_w->ns = rt->has_ns ? strdup(rt->ns) : NULL;
        new_w->name = rt->has_name ? strdup(rt->name) : NULL;
        /* (A watch of one namespace or name without it would see them all.) */
        if ((rt->has_ns && !new_w->ns) || (rt->has_name && !new_w->name)) {
                rest_reply_status(c, 500, rt, NULL, "out of memory");
                return;
        }
        r = sd_event_add_time_relative(a->event, &new_w->timeout, CLOCK_MONOTONIC, timeout * USEC_PER_SEC, 0,
                                       on_watch_timeout, new_w);
        if (r < 0) {
                rest_reply_status(c, 500, rt, NULL, "cannot arm the watch timeout");
                return;
        }
        Watcher *w = TAKE_PTR(new_w); /* the list's, then on_watch_closed()'s */
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
                        json_auto_t *st = json_pack("{s:s, s:{s:s, s:s, s:s, s:i}}", "type", "ERROR", "object",
                                                    "kind", "Status", "status", "Failure", "reason", "Expired", "code",
                                                    410);
                        _cleanup_free_ char *s = json_dumps(st, JSON_COMPACT);
                        http_conn_set_close_handler(c, NULL, NULL); /* w goes now, not with c */
                        watcher_free(w);
                        if (s && http_conn_stream_write(c, s, strlen(s)) >= 0 && http_conn_stream_write(c, "\n", 1) >= 0)
                                (void) http_conn_stream_end(c);
                }
                return;
        }
        /* Without a resourceVersion: the current objects first, as ADDED. */
        json_auto_t *items = NULL;
        uint64_t rv;
        if (store_list(a->store, rt->kind, w->ns, &items, &rv) >= 0) {
                size_t i;
                json_t *o;
                json_array_foreach(items, i, o)
                        if (watcher_wants(w, rt->kind, o) && watcher_send(w, "ADDED", o) < 0)
                                break; /* w is gone */
        }
}

/* What one object and one namespace may store.  0 when obj fits, else the
 * HTTP status to answer (msg says why).  before is the object as stored, or NULL. */
static int check_storage(Api *a, const Kind *k, json_t *obj, json_t *before, const char *ns, char *msg, size_t size) {
        _cleanup_free_ char *text = json_dumps(obj, JSON_COMPACT);
        if (!text) {
                snprintf(msg, size, "out of memory while measuring the object");
                return 500;
        }
        size_t n = strlen(text);
        if (a->max_object_bytes && n > a->max_object_bytes) {
                snprintf(msg, size, "the object is %zu bytes; at most %llu bytes are stored for one object "
                                    "(MaxObjectBytes= in sdflowd.conf)", n, (unsigned long long) a->max_object_bytes);
                return 413;
        }
        uint64_t used = 0;
        if (!k->namespaced || !ns || !a->max_namespace_bytes || store_namespace_bytes(a->store, ns, &used) < 0)
                return 0;
        uint64_t old_n = 0;
        if (before) {
                _cleanup_free_ char *t = json_dumps(before, JSON_COMPACT);
                old_n = t ? strlen(t) : 0;
        }
        if (n > old_n && used + n - old_n > a->max_namespace_bytes) {
                snprintf(msg, size, "namespace %s's objects take %llu bytes; this one would bring them past the "
                                    "limit of %llu bytes (MaxNamespaceBytes= in sdflowd.conf): delete some first",
                         ns, (unsigned long long) used, (unsigned long long) a->max_namespace_bytes);
                return 403;
        }
        return 0;
}

/* ---- applies answered later -------------------------------------------------------- */

static Waiter *waiter_free(Waiter *w) {
        if (!w)
                return NULL;
        free(w->headers);
        json_decref(w->as_applied);
        free(w);
        return NULL;
}

/* The client went before its answer. */
static void on_waiter_closed(HttpConn *c, void *userdata) {
        Waiter *w = userdata;
        (void) c;
        for (Waiter **p = &w->api->waiters; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        break;
                }
        waiter_free(w);
}

/* Answers the applies that waited for token of k's ns/name, with the
 * object as stored now. */
static void on_settled(const Kind *k, const char *ns, const char *name, const char *token, void *userdata) {
        Api *a = userdata;
        json_auto_t *now = NULL;
        bool have = store_get(a->store, k, ns, name, &now) >= 0;
        for (Waiter **p = &a->waiters; *p;) {
                Waiter *w = *p;
                if (w->kind != k || strcmp(w->ns, ns ?: "") != 0 || strcmp(w->name, name) != 0 ||
                    strcmp(w->token, token) != 0) {
                        p = &w->next;
                        continue;
                }
                *p = w->next;
                http_conn_set_close_handler(w->conn, NULL, NULL);
                rest_reply_json(w->conn, w->code, json_incref(have ? now : w->as_applied), w->headers);
                waiter_free(w);
        }
}

/* Whether stored's controller has the apply's answer wait; then the
 * waiter took stored and headers. */
static bool defer_answer(Api *a, HttpConn *c, const Kind *k, json_t **stored, StoreChange change, char **headers) {
        void *self;
        const ControllerType *t = objects_type(a->objects, k, &self);
        char token[300];
        if (change == STORE_UNCHANGED || !t || !t->pending || !t->pending(self, *stored, token, sizeof token))
                return false;
        Waiter *w = calloc(1, sizeof *w);
        if (!w)
                return false;
        *w = (Waiter) { .api = a, .conn = c, .kind = k, .code = change == STORE_CREATED ? 201 : 200 };
        snprintf(w->ns, sizeof w->ns, "%s", manifest_namespace(*stored) ?: "");
        snprintf(w->name, sizeof w->name, "%s", manifest_name(*stored));
        snprintf(w->token, sizeof w->token, "%s", token);
        w->headers = TAKE_PTR(*headers);
        w->as_applied = TAKE_PTR(*stored);
        w->next = a->waiters;
        a->waiters = w;
        http_conn_set_close_handler(c, on_waiter_closed, w);
        return true;
}

/* ---- apply ----------------------------------------------------------------------- */

/* The checks that need no controller: the URL against the object, who
 * calls, the namespace.  Returns 0, or < 0 after answering; *profile is
 * the namespace's object (namespaced kinds). */
static int admit_generic(Api *a, HttpConn *c, const Caller *caller, const Route *rt, json_t *obj, json_t **profile) {
        const Kind *k = rt->kind, *nsk = objects_namespace_kind(a->objects);
        const char *name = manifest_name(obj), *ns = manifest_namespace(obj);
        if (rt->has_name && strcmp(rt->name, name) != 0) {
                rest_reply_status(c, 400, rt, NULL, "the name in the object (%s) is not the name in the URL (%s)", name,
                                  rt->name);
                return -EINVAL;
        }
        if (!k->namespaced) {
                if (caller->admin)
                        return 0;
                rest_reply_status(c, 403, rt, NULL, "only administrators (root or group sdflow-admin) may change %s; "
                                                    "user %s is neither", k->plural, caller->user);
                return -EPERM;
        }
        if (rt->has_ns && ns && strcmp(rt->ns, ns) != 0) {
                rest_reply_status(c, 400, rt, NULL, "the namespace in the object (%s) is not the namespace in the URL (%s)",
                                  ns, rt->ns);
                return -EINVAL;
        }
        if (!ns && !rt->has_ns) {
                rest_reply_status(c, 400, rt, NULL, "no namespace: set metadata.namespace or use the namespaced URL");
                return -EINVAL;
        }
        if (!ns)
                json_object_set_new(json_object_get(obj, "metadata"), "namespace", json_string(rt->ns));
        ns = manifest_namespace(obj);
        if (!caller_may_use_namespace(caller, a->store, ns)) {
                rest_reply_status(c, 403, rt, NULL, "user %s may not use namespace %s", caller->user, ns);
                return -EPERM;
        }
        if (nsk && store_get(a->store, nsk, NULL, ns, profile) < 0) {
                rest_reply_status(c, 404, rt, NULL, "namespace %s does not exist (apply a %s named %s)", ns, nsk->kind, ns);
                return -ENOENT;
        }
        return 0;
}

static void handle_apply(Api *a, HttpConn *c, const Caller *caller, const Route *rt, const char *body, size_t len) {
        Diags d = {};
        json_auto_t *objs = NULL, *profile = NULL, *before = NULL;
        json_auto_t *stored = NULL;
        json_t *obj;
        const Kind *k = rt->kind;
        StoreChange change;
        _cleanup_free_ char *headers = NULL;
        char msg[512] = "";
        void *self;
        const ControllerType *t = objects_type(a->objects, k, &self);
        int r;

        r = manifest_parse(body, len, &objs, &d);
        if (r < 0) {
                rest_reply_invalid(c, rt, &d);
                goto out;
        }
        if (json_array_size(objs) != 1) {
                rest_reply_status(c, 400, rt, NULL, "one object per request, got %zu", json_array_size(objs));
                goto out;
        }
        obj = json_array_get(objs, 0);
        if (kind_lookup(json_string_value(json_object_get(obj, "apiVersion")),
                        json_string_value(json_object_get(obj, "kind"))) != k) {
                rest_reply_status(c, 400, rt, NULL, "the object is a %s, but the URL is for %s",
                                  json_string_value(json_object_get(obj, "kind")), k->plural);
                goto out;
        }
        if (admit_generic(a, c, caller, rt, obj, &profile) < 0)
                goto out;
        const char *name = manifest_name(obj), *ns = manifest_namespace(obj);
        /* An object being deleted, or the content of a namespace being
         * deleted: nothing new (as Kubernetes answers for a terminating
         * namespace), before what its controller would say of it. */
        const Kind *nsk = objects_namespace_kind(a->objects);
        if (objects_deleting(a->objects, k, ns, name)) {
                rest_reply_status(c, 409, rt, NULL, "%s \"%s\" is being deleted", k->plural, name);
                goto out;
        }
        if (k->namespaced && nsk && objects_deleting(a->objects, nsk, NULL, ns)) {
                rest_reply_status(c, 403, rt, NULL, "unable to create new content in namespace %s because it is being "
                                                    "terminated", ns);
                goto out;
        }
        (void) store_get(a->store, k, ns, name, &before);
        int code = t && t->admit ? t->admit(self, obj, before, profile, &d, msg, sizeof msg) : 0;
        if (d.n_errors > 0) {
                rest_reply_invalid(c, rt, &d);
                goto out;
        }
        if (code) {
                rest_reply_status(c, code, rt, NULL, "%s", msg);
                goto out;
        }
        code = check_storage(a, k, obj, before, ns, msg, sizeof msg);
        if (code) {
                rest_reply_status(c, code, rt, NULL, "%s%s", code == 403 ? "exceeded quota: " : "", msg);
                goto out;
        }
        r = store_apply(a->store, k, obj, &stored, &change);
        if (r == -ESTALE) {
                rest_reply_status(c, 409, rt, NULL,
                                  "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                                  "please apply your changes to the latest version and try again", k->plural, name);
                goto out;
        }
        if (r < 0) {
                rest_reply_status(c, 500, rt, NULL, "storing the object failed: %s", strerror(-r));
                goto out;
        }
        log_info("%s %s/%s%s%s by %s.", change == STORE_CREATED ? "Created" : change == STORE_UPDATED ? "Updated" : "Unchanged",
                 k->plural, ns ?: "", ns ? "/" : "", name, caller->user);
        if (change != STORE_UNCHANGED)
                objects_notify(a->objects, k, change == STORE_CREATED ? "ADDED" : "MODIFIED", stored);
        /* An object that crashed sdflowd twice is stored but not processed,
         * unless this apply changed it (the user may have fixed it). */
        bool quarantined = crashguard_is_quarantined(stored);
        if (quarantined && change == STORE_UPDATED) {
                objects_release_quarantine(a->objects, k, &stored);
                quarantined = false;
        }
        if (quarantined) {
                log_warning("%s %s/%s is quarantined (sdflowd stopped twice while processing it); not processed.",
                            k->plural, ns ?: "", name);
                diags_add(&d, false, "metadata.name", "%s is quarantined: sdflowd stopped twice while processing it; "
                                                      "change it, retry it (sdflow retry) or delete it", name);
        } else {
                _cleanup_guard_ unsigned g = crashguard_enter(k, stored, GUARD_APPLY);
                Applied ap = { .stored = stored, .change = change, .before = before, .profile = profile,
                               .by = caller->user, .applied = change != STORE_UNCHANGED };
                objects_react(a->objects, k, &ap);
                stored = ap.stored;
        }
        /* kubectl tells created/configured/unchanged apart; so does sdflow apply. */
        char *w = rest_warning_headers(&d);
        if (asprintf(&headers, "X-Sdflow-Result: %s\r\n%s",
                     change == STORE_CREATED ? "created" : change == STORE_UPDATED ? "configured" : "unchanged",
                     w ?: "") < 0)
                headers = NULL;
        free(w);
        if (!defer_answer(a, c, k, &stored, change, &headers))
                rest_reply_json(c, change == STORE_CREATED ? 201 : 200, TAKE_PTR(stored), headers);
out:
        diags_clear(&d);
}

/* ---- delete and retry ---------------------------------------------------------------- */

/* A deletion, answered when it is done (at once, or when the namespace
 * has gone). */
typedef struct DeleteReply {
        HttpConn *conn; /* NULL once the client went: the deletion goes on */
        Route rt;
} DeleteReply;

static void on_delete_closed(HttpConn *c, void *userdata) {
        DeleteReply *d = userdata;
        (void) c;
        d->conn = NULL;
}

static void on_deleted(int r, const char *err, json_t *old, void *userdata) {
        DeleteReply *d = userdata;
        if (d->conn) {
                http_conn_set_close_handler(d->conn, NULL, NULL);
                if (r < 0)
                        rest_reply_status(d->conn, r == -EBUSY ? 409 : 500, &d->rt, NULL, "%s",
                                          err && err[0] ? err : strerror(-r));
                else
                        rest_reply_json(d->conn, 200, json_incref(old), NULL);
        }
        free(d);
}

static void handle_delete(Api *a, HttpConn *c, const Caller *caller, const Route *rt) {
        const Kind *k = rt->kind;
        if (k->namespaced ? !caller_may_use_namespace(caller, a->store, rt->ns) : !caller->admin) {
                rest_reply_status(c, 403, rt, NULL, "user %s may not delete %s in %s", caller->user, k->plural,
                                  k->namespaced ? rt->ns : "the cluster scope");
                return;
        }
        _cleanup_free_ DeleteReply *d = calloc(1, sizeof *d);
        if (!d) {
                rest_reply_status(c, 500, rt, NULL, "out of memory");
                return;
        }
        *d = (DeleteReply) { .conn = c, .rt = *rt };
        /* Set first: a deletion that goes on clears conn should the client go. */
        http_conn_set_close_handler(c, on_delete_closed, d);
        int r = objects_delete(a->objects, k, k->namespaced ? rt->ns : NULL, rt->name, caller->user, on_deleted, d);
        if (r >= 0)
                TAKE_PTR(d); /* on_deleted()'s (it may have run already) */
        else {
                http_conn_set_close_handler(c, NULL, NULL);
                if (r == -ENOENT)
                        rest_reply_status(c, 404, rt, NULL, "%s \"%s\" not found", k->plural, rt->name);
                else if (r == -EBUSY)
                        rest_reply_status(c, 409, rt, NULL, "%s \"%s\" is being deleted", k->plural, rt->name);
                else
                        rest_reply_status(c, 500, rt, NULL, "deleting the object failed: %s", strerror(-r));
        }
}

/* PUT .../NAME/retry of a kind whose controller has no retry of its own:
 * a quarantined object is processed again, as if it had just been applied. */
static void handle_retry(Api *a, HttpConn *c, const Caller *caller, const Route *rt) {
        const Kind *k = rt->kind, *nsk = objects_namespace_kind(a->objects);
        const char *ns = k->namespaced ? rt->ns : NULL;
        if (k->namespaced ? !caller_may_use_namespace(caller, a->store, rt->ns) : !caller->admin) {
                rest_reply_status(c, 403, rt, NULL, "user %s may not change %s in %s", caller->user, k->plural,
                                  k->namespaced ? rt->ns : "the cluster scope");
                return;
        }
        json_auto_t *obj = NULL, *profile = NULL;
        if (store_get(a->store, k, ns, rt->name, &obj) < 0) {
                rest_reply_status(c, 404, rt, NULL, "%s \"%s\" not found", k->plural, rt->name);
                return;
        }
        if (!crashguard_is_quarantined(obj)) {
                rest_reply_status(c, 409, rt, NULL, "%s \"%s\" is not quarantined: there is nothing to retry "
                                                    "(apply it again to change it)", k->plural, rt->name);
                return;
        }
        if (ns && nsk && store_get(a->store, nsk, NULL, ns, &profile) < 0) {
                rest_reply_status(c, 404, rt, NULL, "namespace %s does not exist", ns);
                return;
        }
        objects_release_quarantine(a->objects, k, &obj);
        log_info("%s %s%s%s: retry by %s.", k->plural, ns ?: "", ns ? "/" : "", rt->name, caller->user);
        {
                _cleanup_guard_ unsigned g = crashguard_enter(k, obj, GUARD_APPLY);
                Applied ap = { .stored = TAKE_PTR(obj), .change = STORE_UPDATED, .profile = profile, .by = caller->user };
                objects_react(a->objects, k, &ap);
                obj = ap.stored;
        }
        rest_reply_json(c, 200, TAKE_PTR(obj), NULL);
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
        rest_reply_json(c, 200, json_pack("{s:s, s:o}", "kind", "APIResourceList", "resources", list), NULL);
}

/* ---- dispatch ---------------------------------------------------------------------- */

static bool path_is(const char *p, size_t n, const char *s) {
        return strlen(s) == n && memcmp(p, s, n) == 0;
}

/* A path outside /apis that a controller answers; false if none does. */
static bool dispatch_extra_path(Api *a, const Request *rq, const char *path, size_t path_len) {
        for (size_t i = 0; i < a->objects->n; i++)
                for (const ExtraPath *x = a->objects->types[i]->paths; x && x->path; x++) {
                        if (!path_is(path, path_len, x->path))
                                continue;
                        if (x->method && !http_method_is(rq->msg, x->method))
                                rest_reply_status(rq->conn, 405, NULL, NULL, "method not allowed");
                        else
                                x->handle(a->objects->ctl[i], rq);
                        return true;
                }
        return false;
}

/* .../NAME/SUB[/ITEM]: the kind's controller's, or the generic retry. */
static void dispatch_subresource(Api *a, const Request *rq, const char *path, size_t path_len) {
        const Route *rt = rq->rt;
        void *self;
        const ControllerType *t = objects_type(a->objects, rt->kind, &self);
        for (const Subresource *s = t ? t->subresources : NULL; s && s->name; s++) {
                if (strcmp(s->name, rt->sub) != 0)
                        continue;
                if (rt->sub_name[0] && !s->item)
                        break; /* 404 */
                if (s->method && !http_method_is(rq->msg, s->method))
                        rest_reply_status(rq->conn, 405, rt, NULL, "use %s on .../%s", s->method, s->name);
                else
                        s->handle(self, rq);
                return;
        }
        if (strcmp(rt->sub, "retry") == 0 && !rt->sub_name[0]) {
                if (http_method_is(rq->msg, "PUT"))
                        handle_retry(a, rq->conn, rq->caller, rt);
                else
                        rest_reply_status(rq->conn, 405, rt, NULL, "use PUT on .../retry");
                return;
        }
        rest_reply_status(rq->conn, 404, NULL, NULL, "the server could not find the requested resource: %.*s",
                          (int) MIN(path_len, 200), path);
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
                        rest_reply_status(c, 405, NULL, NULL, "method not allowed");
                        return;
                }
                if (path_len == 8)
                        (void) http_conn_reply(c, 200, "text/plain", "ok\n", 3, NULL);
                else
                        rest_reply_json(c, 200,
                                        json_pack("{s:s, s:s, s:s, s:[s]}", "component", "sdflowd", "version",
                                                  SDFLOW_VERSION, "gitVersion", SDFLOW_VERSION, "apiVersions", "v1"),
                                        NULL);
                return;
        }

        /* Who: the user a session cookie or an API token names, else the
         * socket's peer, except the gateway's, which stands for nobody. */
        FrontRequest fr = {};
        int who = a->front ? frontdoor_identify(a->front, c, req, &caller, &fr) : 0;
        bool known = who > 0;
        if (who == 0 && !fr.via_gateway) {
                if (caller_identify(c, a->admin_gid, &caller) < 0) {
                        rest_reply_status(c, 403, NULL, NULL,
                                          "cannot identify the caller (the API is served on a Unix socket)");
                        return;
                }
                known = true;
        }
        /* A browser's session changes nothing from another site's page. */
        if (who > 0 && fr.credential == FRONT_SESSION && !get && !http_method_is(req, "HEAD") &&
            !frontdoor_same_origin(req, &fr)) {
                rest_reply_status(c, 403, NULL, NULL,
                                  "a cross-site request is refused: a change made with a session needs an Origin "
                                  "header of this host");
                return;
        }
        if (a->front && frontdoor_handle(a->front, c, req, body, body_len, known ? &caller : NULL, &fr))
                return;
        if (!known) {
                rest_reply_status(c, 401, NULL, NULL, "%s",
                                  fr.why[0] ? fr.why
                                            : "log in (POST /login) or give an API token (Authorization: Bearer)");
                return;
        }
        /* At start, until every controller has brought back what it runs
         * (a namespace's user and directories after a reboot, on the loop),
         * what would change something waits: reads are served. */
        if (!get && objects_starting(a->objects)) {
                rest_reply_status(c, 503, NULL, NULL,
                                  "sdflowd is starting: it is setting the namespaces up again; retry in a moment");
                return;
        }
        Request rq = { .conn = c, .msg = req, .caller = &caller, .query = query, .query_len = query_len,
                       .body = body, .body_len = body_len };
        if (dispatch_extra_path(a, &rq, path, path_len))
                return;
        if (path_is(path, path_len, "/apis") || path_is(path, path_len, "/apis/")) {
                if (get)
                        handle_discovery(c);
                else
                        rest_reply_status(c, 405, NULL, NULL, "method not allowed");
                return;
        }
        r = route_parse(path, path_len, &rt);
        if (r == -EBADMSG) {
                rest_reply_status(c, 400, NULL, NULL, "malformed API path");
                return;
        }
        if (r < 0) {
                rest_reply_status(c, 404, NULL, NULL, "the server could not find the requested resource: %.*s",
                                  (int) MIN(path_len, 200), path);
                return;
        }
        if (rt.has_ns && !name_is_dns1123_label(rt.ns)) {
                rest_reply_status(c, 400, &rt, NULL, "'%s' is not a valid namespace name", rt.ns);
                return;
        }
        if (rt.has_name && !name_is_dns1123_label(rt.name)) {
                /* No such object can exist: every stored name is a label. */
                rest_reply_status(c, 404, &rt, NULL, "%s \"%s\" not found", rt.kind->plural, rt.name);
                return;
        }
        if (rt.sub[0]) {
                rq.rt = &rt;
                dispatch_subresource(a, &rq, path, path_len);
                return;
        }
        if (get) {
                if (rest_param_true(query, query_len, "watch"))
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
                rest_reply_status(c, 405, &rt, NULL, "%.*s is not allowed on this path", (int) req->method_len,
                                  req->method);
}

/* ---- life ---------------------------------------------------------------------------- */

int api_new(Api **ret, sd_event *e, Objects *objects, gid_t admin_gid) {
        Api *a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->event = sd_event_ref(e);
        a->objects = objects;
        a->store = objects->store;
        a->admin_gid = admin_gid;
        objects_listen(objects, &(ObjectsListener) { .notify = on_notify, .settled = on_settled, .userdata = a });
        *ret = a;
        return 0;
}

void api_set_front_door(Api *a, FrontDoor *f) {
        a->front = f;
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
        objects_listen(a->objects, &(ObjectsListener) {});
        while (a->watchers)
                watcher_free(a->watchers);
        while (a->waiters) {
                Waiter *w = a->waiters;
                a->waiters = w->next;
                http_conn_set_close_handler(w->conn, NULL, NULL);
                waiter_free(w);
        }
        sd_event_unref(a->event);
        free(a);
        return NULL;
}
