/* gateway.c: sdflow-gateway, the HTTP ingress for models.
 *
 * It takes its TCP socket from systemd, routes a request by its Host
 * (<isvc>.<ns>.<domain>) or by the path /serving/<ns>/<isvc>/..., checks
 * the namespace's bearer token if it has any, picks a revision by the
 * traffic split and, within it, the least busy of the replicas the
 * autoscaler wants, and proxies the request to that replica's socket; a
 * replica scaled to zero is started by the connection.  Under
 * containerConcurrency a request that finds every wanted replica busy
 * waits in the revision's queue (503 when that is full). */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "authfail.h"
#include "daemon.h"
#include "log.h"
#include "digest.h"
#include "metrics.h"
#include "proxy.h"
#include "routes.h"
#include "tls.h"
#include "version.h"

typedef struct Settings {
        DaemonSettings daemon;
        char *routes_path; /* RoutesFile= */
        char *metrics_tokens_path; /* MetricsTokenFile= */
        char *tls_cert; /* TLSCertificate= */
        char *tls_key;  /* TLSKey= */
        char *api_socket; /* APISocket=: sdflowd's, behind the front door */
} Settings;

typedef struct Gateway {
        sd_event *event;
        sd_event_source *watch; /* inotify on the route table's directory */
        Routes routes;
        ProxyPool *pool;
        char *routes_path;
        char *metrics_tokens_path;
        uint64_t timeout_usec;
        GatewayCounters counters;
        AuthFail authfail; /* clients that keep giving wrong tokens */
        SSL_CTX *tls;      /* NULL: no HTTPS (no certificate) */
        char *api_socket;
        unsigned front_inflight; /* requests at sdflowd now (FRONT_DOOR_MAX) */
} Gateway;

/* One proxied request, from arrival to answer. */
typedef struct Request {
        Gateway *g;
        Revision *rev;
        Backend *backend; /* NULL while it waits */
        Proxy *proxy;
        uint64_t start;
        struct Request *next, *prev; /* in rev's queue */
        bool queued;
} Request;

static uint64_t now_usec(Gateway *g) {
        uint64_t now = 0;
        (void) sd_event_now(g->event, CLOCK_MONOTONIC, &now);
        return now;
}

static void dispatch(Request *q, Backend *b) {
        q->backend = b;
        b->inflight++;
        b->requests++;
        q->rev->inflight++;
        proxy_send(q->proxy, b->path); /* may end q at once */
}

static void enqueue(Request *q) {
        Revision *rev = q->rev;
        q->queued = true;
        q->prev = rev->queue_tail;
        if (rev->queue_tail)
                rev->queue_tail->next = q;
        else
                rev->queue_head = q;
        rev->queue_tail = q;
        rev->queued++;
}

static void unqueue(Request *q) {
        Revision *rev = q->rev;
        if (q->prev)
                q->prev->next = q->next;
        else
                rev->queue_head = q->next;
        if (q->next)
                q->next->prev = q->prev;
        else
                rev->queue_tail = q->prev;
        q->next = q->prev = NULL;
        q->queued = false;
        rev->queued--;
}

/* Sends waiting requests to replicas that have room, oldest first. */
static void drain(Gateway *g, Revision *rev) {
        while (rev->queue_head) {
                Backend *b = revision_pick_backend(rev, now_usec(g));
                if (!b)
                        return;
                Request *q = rev->queue_head;
                unqueue(q);
                dispatch(q, b);
        }
}

static void on_done(Proxy *p, int status, bool cold, void *userdata) {
        Request *q = userdata;
        Gateway *g = q->g;
        Revision *rev = q->rev;
        uint64_t now = now_usec(g);
        (void) p;

        if (q->backend) {
                q->backend->inflight--;
                rev->inflight--;
        } else if (q->queued)
                unqueue(q);
        scaler_change(&rev->scaler, now, -1);
        if (status >= 100 && status < 600)
                rev->codes[status]++;
        double secs = (double) (now - q->start) / 1e6;
        size_t i = 0;
        while (i < LATENCY_BUCKETS && secs > latency_bounds[i])
                i++;
        rev->latency[i]++;
        rev->latency_sum += secs;
        rev->count++;
        if (cold)
                rev->cold_starts++;
        free(q);
        drain(g, rev);
        revision_unref(&g->routes, rev);
}

/* The SHA-256 (hex) of the request's bearer token (Authorization: Bearer
 * T) into hex[65]; false without one. */
static bool bearer_digest(const HttpMessage *req, char hex[65]) {
        const char *v;
        size_t vl;
        if (!http_header_find(req, "authorization", &v, &vl) || vl <= 7 || strncasecmp(v, "Bearer ", 7) != 0)
                return false;
        return sha256_hex(v + 7, vl - 7, hex) == 0;
}

/* Whether digest (bearer_digest) is one of the route's tokens: compared by
 * SHA-256 so that the table holds no token itself, in constant time. */
static bool route_token(const Route *rt, const char *digest) {
        bool ok = false;
        for (size_t k = 0; k < rt->n_tokens; k++)
                if (strlen(rt->tokens[k]) == 64 && CRYPTO_memcmp(rt->tokens[k], digest, 64) == 0)
                        ok = true;
        return ok;
}

/* Whether the request may use the route: an open one, or one of its tokens. */
static bool authorized(const Route *rt, const HttpMessage *req) {
        char hex[65];
        if (rt->n_tokens == 0)
                return true;
        return bearer_digest(req, hex) && route_token(rt, hex);
}

/* 429 to a client on hold for wrong tokens (authfail.h), for wait usec more. */
static void reply_held(Gateway *g, HttpConn *c, const char *addr, uint64_t wait) {
        char b[300], h[64];
        unsigned long long secs = (unsigned long long) (wait + 999999) / 1000000;
        snprintf(b, sizeof b, "{\"error\":\"too many wrong bearer tokens from %s: try again in %llu s\",\"code\":429}\n",
                 addr, secs);
        snprintf(h, sizeof h, "Retry-After: %llu\r\n", secs);
        g->counters.auth_held++;
        (void) http_conn_reply(c, 429, "application/json", b, strlen(b), h);
}

/* Whether digest is one of the administrators' metrics tokens: the SHA-256
 * (hex) of each, one per line of MetricsTokenFile= ('#' starts a comment).
 * Read at each scrape, so that a token added or removed counts at once. */
static bool metrics_admin(const Gateway *g, const char *digest) {
        if (!g->metrics_tokens_path || !g->metrics_tokens_path[0])
                return false;
        _cleanup_fclose_ FILE *f = fopen(g->metrics_tokens_path, "re");
        if (!f)
                return false;
        char line[256];
        bool ok = false, continued = false;
        while (fgets(line, sizeof line, f)) {
                /* The rest of a line too long for the buffer is not a line of its own. */
                bool whole = strchr(line, '\n') != NULL;
                if (!continued) {
                        char *p = line + strspn(line, " \t");
                        size_t n = strcspn(p, " \t\r\n#");
                        if (n == 64) {
                                for (size_t i = 0; i < 64; i++)
                                        p[i] = (char) tolower((unsigned char) p[i]);
                                if (CRYPTO_memcmp(p, digest, 64) == 0)
                                        ok = true;
                        }
                }
                continued = !whole;
        }
        return ok;
}

typedef struct MetricsViewer {
        const Gateway *g;
        const char *digest;
} MetricsViewer;

/* A namespace's series are for those who hold one of its tokens (and an
 * open namespace's for the administrators only: nothing says who its users are). */
static bool metrics_ns_visible(const char *ns, void *userdata) {
        const MetricsViewer *v = userdata;
        for (size_t i = 0; i < v->g->routes.n; i++) {
                const Route *rt = &v->g->routes.routes[i];
                if (strcmp(rt->ns, ns) == 0 && rt->n_tokens > 0 && route_token(rt, v->digest))
                        return true;
        }
        return false;
}

/* /metrics: everything to an administrator's token (MetricsTokenFile=), a
 * namespace's series to a holder of that namespace's token, nothing to
 * anyone else: series name namespaces and InferenceServices.  Guessing is
 * held back as for models (authfail.h). */
static void reply_metrics(Gateway *g, HttpConn *c, const HttpMessage *req) {
        size_t len = 0;
        uint64_t now = now_usec(g), wait = 0;
        const char *addr = http_conn_peer(c)->addr;
        char digest[65];
        bool have = bearer_digest(req, digest), admin = have && metrics_admin(g, digest);
        /* An administrator's token is served even while its address is on
         * hold: everyone local shares 127.0.0.1, and one of them guessing
         * must not blind the administrator's scraper. */
        if (!admin && authfail_held(&g->authfail, addr, now, &wait)) {
                reply_held(g, c, addr, wait);
                return;
        }
        MetricsViewer viewer = { g, digest };
        bool some = admin;
        for (size_t i = 0; i < g->routes.n && have && !some; i++)
                some = g->routes.routes[i].n_tokens > 0 && route_token(&g->routes.routes[i], digest);
        if (!some) {
                static const char b[] = "{\"error\":\"/metrics needs a bearer token (Authorization: Bearer TOKEN): "
                                        "an administrator's (MetricsTokenFile=) or a namespace's\",\"code\":401}\n";
                g->counters.unauthorized++;
                if (have && authfail_record(&g->authfail, addr, now))
                        log_warning("Client %s gave %d wrong bearer tokens within %llu s: on hold.", addr,
                                    AUTHFAIL_BURST, (unsigned long long) (AUTHFAIL_WINDOW_USEC / 1000000));
                (void) http_conn_reply(c, 401, "application/json", b, sizeof b - 1,
                                       "WWW-Authenticate: Bearer realm=\"sdflow\"\r\n");
                return;
        }
        /* What the autoscaler wants as of now, not as of the last request. */
        for (Revision *rev = g->routes.revisions; rev; rev = rev->next)
                (void) scaler_decide(&rev->scaler, &rev->scale, now);
        _cleanup_free_ char *text = admin ? metrics_render(&g->routes, &g->counters, NULL, NULL, &len)
                                          : metrics_render(&g->routes, NULL, metrics_ns_visible, &viewer, &len);
        if (!text) {
                (void) http_conn_reply_error(c, 500, false, "out of memory");
                return;
        }
        (void) http_conn_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, NULL);
}

/* ---- the front door ------------------------------------------------------------ */

static bool path_is(const char *path, size_t len, const char *s) {
        return strlen(s) == len && memcmp(path, s, len) == 0;
}

static bool path_under(const char *path, size_t len, const char *prefix) {
        size_t n = strlen(prefix);
        return len >= n && memcmp(path, prefix, n) == 0;
}

/* What sdflowd answers behind the gateway: the login, the landing page and
 * the API (which checks the session or token itself). */
static bool front_door_path(const char *path, size_t len) {
        return path_is(path, len, "/") || path_is(path, len, "/login") || path_is(path, len, "/logout") ||
               path_is(path, len, "/api") || path_under(path, len, "/api/") || path_is(path, len, "/apis") ||
               path_under(path, len, "/apis/");
}

static bool peer_local(const HttpPeer *peer) {
        return peer->family == AF_UNIX || strcmp(peer->addr, "127.0.0.1") == 0 || strcmp(peer->addr, "::1") == 0 ||
               strncmp(peer->addr, "127.", 4) == 0;
}

/* Requests at sdflowd at once, from everyone behind the gateway: sdflowd
 * keeps the rest of its connections (256, and 64 for one peer) for the
 * local socket's users. */
#define FRONT_DOOR_MAX 48

/* The client's address and how it came, for the server behind. */
static void forwarded_headers(HttpConn *c, char *out, size_t size) {
        const HttpPeer *peer = http_conn_peer(c);
        snprintf(out, size, "X-Forwarded-For: %s\r\nX-Forwarded-Proto: %s\r\n",
                 peer->family == AF_UNIX ? "local" : peer->addr, http_conn_secure(c) ? "https" : "http");
}

static void on_front_done(Proxy *p, int status, bool cold, void *userdata) {
        Gateway *g = userdata;
        (void) p;
        (void) cold;
        g->front_inflight--;
        g->counters.front_door++;
        if (status >= 500)
                g->counters.front_door_errors++;
}

/* Passes the request on to sdflowd as it came, with who sent it and how:
 * the gateway asserts no identity (sdflowd checks the session cookie or
 * token itself), it only says the client's address and whether it came
 * over TLS.  Passwords, cookies and tokens are never logged here. */
static void front_door(Gateway *g, HttpConn *c, const HttpMessage *req, const char *body, size_t body_len) {
        const HttpPeer *peer = http_conn_peer(c);
        bool secure = http_conn_secure(c);
        if (!secure && !peer_local(peer)) {
                (void) http_conn_reply_error(c, 403, false,
                                             "the login and the API are served over HTTPS only (port 8443): plain "
                                             "HTTP is for models, and for clients on this host");
                return;
        }
        if (g->front_inflight >= FRONT_DOOR_MAX) {
                static const char busy[] = "{\"error\":\"the front door is busy: try again in a moment\",\"code\":503}\n";
                g->counters.front_door_busy++;
                (void) http_conn_reply(c, 503, "application/json", busy, sizeof busy - 1, "Retry-After: 1\r\n");
                return;
        }
        const char *host;
        size_t host_len;
        char hostbuf[256] = "localhost", extra[160];
        if (http_header_find(req, "host", &host, &host_len) && host_len > 0 && host_len < sizeof hostbuf)
                snprintf(hostbuf, sizeof hostbuf, "%.*s", (int) host_len, host);
        forwarded_headers(c, extra, sizeof extra);
        Proxy *p = proxy_new(g->event, g->pool, c, req, body, body_len, req->target, req->target_len, hostbuf,
                             &(ProxyOptions) { .extra_headers = extra }, g->timeout_usec, on_front_done, g);
        if (p) {
                g->front_inflight++;
                proxy_send(p, g->api_socket);
        }
}

static void gateway_handle(HttpConn *c, const HttpMessage *req, const char *body, size_t body_len,
                           void *userdata) {
        const char *path, *query;
        size_t path_len, query_len;

        Gateway *g = userdata;
        http_target_split(req, &path, &path_len, &query, &query_len);
        if (path_len == 8 && memcmp(path, "/healthz", 8) == 0) {
                (void) http_conn_reply(c, 200, "text/plain", "ok\n", 3, NULL);
                return;
        }
        if (path_len == 11 && memcmp(path, "/v1/version", 11) == 0) {
                static const char v[] = "{\"component\":\"sdflow-gateway\",\"version\":\"" SDFLOW_VERSION "\"}\n";
                (void) http_conn_reply(c, 200, "application/json", v, sizeof v - 1, NULL);
                return;
        }
        uint64_t now = now_usec(g);
        int r = routes_refresh(&g->routes, g->routes_path, now, false);
        if (r < 0)
                log_warning_errno(r, "Failed to read the route table %s, keeping the old one: %m", g->routes_path);
        const char *host;
        size_t host_len, rest = 0;
        Route *rt = NULL;
        if (http_header_find(req, "host", &host, &host_len))
                rt = (Route *) routes_by_host(&g->routes, host, host_len);
        /* A model's host is the model's; any other gets the front door. */
        if (!rt && front_door_path(path, path_len)) {
                front_door(g, c, req, body, body_len);
                return;
        }
        if (!rt)
                rt = (Route *) routes_by_path(&g->routes, req->target, req->target_len, &rest);
        if (!rt && !(path_len == 8 && memcmp(path, "/metrics", 8) == 0) &&
            routes_refresh(&g->routes, g->routes_path, now, true) >= 0) {
                /* Perhaps just created, and the table not read yet: look again. */
                if (http_header_find(req, "host", &host, &host_len))
                        rt = (Route *) routes_by_host(&g->routes, host, host_len);
                if (!rt)
                        rt = (Route *) routes_by_path(&g->routes, req->target, req->target_len, &rest);
        }
        if (!rt) {
                /* The gateway's own metrics, for a host that is no model's. */
                if (path_len == 8 && memcmp(path, "/metrics", 8) == 0) {
                        reply_metrics(g, c, req);
                        return;
                }
                g->counters.unrouted++;
                (void) http_conn_reply_error(c, 404, false, "no InferenceService for this host or path");
                return;
        }
        /* A client that keeps guessing tokens is put on hold: its tokens
         * are not even looked at until the hold ends. */
        const char *addr = http_conn_peer(c)->addr;
        uint64_t wait = 0;
        if (rt->n_tokens > 0 && authfail_held(&g->authfail, addr, now, &wait)) {
                reply_held(g, c, addr, wait);
                return;
        }
        if (!authorized(rt, req)) {
                static const char b[] = "{\"error\":\"this InferenceService's namespace requires a bearer token "
                                        "(Authorization: Bearer TOKEN) and none given matches\",\"code\":401}\n";
                g->counters.unauthorized++;
                if (authfail_record(&g->authfail, addr, now))
                        log_warning("Client %s gave %d wrong or missing bearer tokens within %llu s: on hold.", addr,
                                    AUTHFAIL_BURST, (unsigned long long) (AUTHFAIL_WINDOW_USEC / 1000000));
                (void) http_conn_reply(c, 401, "application/json", b, sizeof b - 1,
                                       "WWW-Authenticate: Bearer realm=\"sdflow\"\r\n");
                return;
        }
        Revision *rev = route_pick_revision(rt);
        if (!rev) {
                (void) http_conn_reply_error(c, 503, false, "the InferenceService has no revision with traffic");
                return;
        }
        _cleanup_free_ Request *nq = calloc(1, sizeof *nq);
        if (!nq) {
                (void) http_conn_reply_error(c, 500, false, "out of memory");
                return;
        }
        nq->g = g;
        nq->rev = rev;
        nq->start = now;
        /* On failure c is answered already, and on_done() is not called. */
        char extra[160];
        forwarded_headers(c, extra, sizeof extra);
        nq->proxy = proxy_new(g->event, g->pool, c, req, body, body_len, req->target + rest, req->target_len - rest,
                              rt->host, &(ProxyOptions) { .extra_headers = extra, .workload = true },
                              rt->timeout_usec ?: g->timeout_usec, on_done, nq);
        if (!nq->proxy)
                return;
        Request *q = TAKE_PTR(nq); /* from here on, on_done() frees it */
        revision_ref(rev);
        scaler_change(&rev->scaler, now, +1);
        /* First come, first served: nobody overtakes a waiting request. */
        Backend *b = rev->queue_head ? NULL : revision_pick_backend(rev, now);
        if (b)
                dispatch(q, b);
        else if (rev->queued >= rev->queue_max)
                proxy_fail(q->proxy, 503, "every replica is at containerConcurrency and the queue is full");
        else
                enqueue(q);
}

static const Settings defaults = {
        .daemon = {
                .idle_exit_usec = 300 * USEC_PER_SEC,
                .request_timeout_usec = 30 * USEC_PER_SEC,
                .keepalive_timeout_usec = 75 * USEC_PER_SEC,
                .max_head = 16 * 1024,
                .max_body = 16 * 1024 * 1024,
                .max_connections = 4096,
                /* Half-open connections (slowloris) cannot crowd out others:
                 * the oldest go for new ones, per client and in all. */
                .max_per_peer = 1024,
                .max_pending = 512,
                /* A burst of a few hundred clients from one address (a
                 * proxy, a load test) is not a slowloris. */
                .max_pending_per_peer = 256,
        },
        .routes_path = (char *) "/run/sdflow/control/routes.json",
        .metrics_tokens_path = (char *) "/etc/sdflow/metrics-tokens",
        /* Debian's own default for its servers (package ssl-cert). */
        .tls_cert = (char *) "/etc/ssl/certs/ssl-cert-snakeoil.pem",
        .tls_key = (char *) "/etc/ssl/private/ssl-cert-snakeoil.key",
        .api_socket = (char *) "/run/sdflow/api.sock",
};

static const ConfItem items[] = {
        CONF_ITEM("RoutesFile", CONF_STRING, 0, 0, Settings, routes_path),
        CONF_ITEM("MetricsTokenFile", CONF_STRING, 0, 0, Settings, metrics_tokens_path),
        CONF_ITEM("TLSCertificate", CONF_STRING, 0, 0, Settings, tls_cert),
        CONF_ITEM("TLSKey", CONF_STRING, 0, 0, Settings, tls_key),
        CONF_ITEM("APISocket", CONF_STRING, 0, 0, Settings, api_socket),
};

static int on_routes_changed(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        Gateway *g = userdata;
        const char *base = strrchr(g->routes_path, '/');
        (void) s;
        base = base ? base + 1 : g->routes_path;
        if (ev->len > 0 && strcmp(ev->name, base) == 0) {
                int r = routes_refresh(&g->routes, g->routes_path, now_usec(g), true);
                if (r < 0)
                        log_warning_errno(r, "Failed to read the route table %s, keeping the old one: %m",
                                          g->routes_path);
        }
        return 0;
}

/* Reloads the table the moment sdflowd replaces it (by rename), before
 * the next request is handled; without inotify, the mtime check remains. */
static void watch_routes(Gateway *g) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", g->routes_path);
        char *slash = strrchr(dir, '/');
        if (!slash)
                return;
        *slash = '\0';
        int r = sd_event_add_inotify(g->event, &g->watch, dir[0] ? dir : "/", IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE,
                                     on_routes_changed, g);
        if (r < 0) {
                log_warning_errno(r, "Cannot watch %s, re-reading the route table at most once a second: %m", dir);
                return;
        }
        (void) sd_event_source_set_priority(g->watch, SD_EVENT_PRIORITY_IMPORTANT);
}

static Gateway *gateway_free(Gateway *g) {
        if (!g)
                return NULL;
        sd_event_source_disable_unref(g->watch);
        routes_done(&g->routes);
        proxy_pool_free(g->pool);
        free(g->routes_path);
        free(g->metrics_tokens_path);
        free(g->api_socket);
        SSL_CTX_free(g->tls);
        free(g);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Gateway *, gateway_free);

static int setup(sd_event *e, void *settings, void **userdata) {
        Settings *s = settings;
        _cleanup_(gateway_freep) Gateway *g = calloc(1, sizeof *g);
        if (!g)
                return log_oom();
        g->event = e;
        g->pool = proxy_pool_new(e);
        if (!g->pool)
                return log_oom();
        g->routes_path = strdup(s->routes_path ?: "/run/sdflow/control/routes.json");
        if (!g->routes_path)
                return log_oom();
        if (s->metrics_tokens_path) {
                /* Without it, no administrator's token would be accepted. */
                g->metrics_tokens_path = strdup(s->metrics_tokens_path);
                if (!g->metrics_tokens_path)
                        return log_oom();
        }
        g->api_socket = strdup(s->api_socket ?: "/run/sdflow/api.sock");
        if (!g->api_socket)
                return log_oom();
        /* Without a certificate there is no HTTPS, but models are still served. */
        char err[1024];
        if (s->tls_cert && s->tls_cert[0] && s->tls_key && s->tls_key[0] &&
            tls_server_context(s->tls_cert, s->tls_key, &g->tls, err, sizeof err) < 0)
                log_error("HTTPS is off: %s (TLSCertificate=, TLSKey= in gateway.conf)", err);
        /* A model answers within the request timeout (or the InferenceService's
         * own), or the client gets 504. */
        g->timeout_usec = s->daemon.request_timeout_usec;
        watch_routes(g);
        *userdata = TAKE_PTR(g);
        return 0;
}

static void teardown(void *userdata) {
        gateway_free(userdata);
}

static int gateway_tls(void *userdata, const HttpTransport **ret, void **ret_ctx) {
        Gateway *g = userdata;
        *ret = g->tls ? &tls_transport : NULL;
        *ret_ctx = g->tls;
        return 0;
}

/* --check: whether HTTPS would come up, and with what certificate. */
static int gateway_check(const void *settings) {
        const Settings *s = settings;
        TlsCertInfo ci;
        char err[1024];
        SSL_CTX *ctx = NULL;
        if (!s->tls_cert || !s->tls_cert[0]) {
                printf("HTTPS: off (no TLSCertificate=)\n");
                return 0;
        }
        int r = tls_cert_info(s->tls_cert, &ci, err, sizeof err);
        if (r == -ENOENT && strcmp(s->tls_cert, defaults.tls_cert) == 0) {
                /* Not set up, rather than set up wrong: the gateway still serves models. */
                printf("HTTPS: off: %s (package ssl-cert makes it; or set TLSCertificate=, TLSKey=)\n", err);
                return 0;
        }
        if (r < 0 || tls_server_context(s->tls_cert, s->tls_key ?: "", &ctx, err, sizeof err) < 0) {
                fprintf(stderr, "sdflow-gateway: HTTPS would be off: %s\n", err);
                return -EINVAL;
        }
        SSL_CTX_free(ctx);
        time_t now = time(NULL);
        long long days = ((long long) ci.not_after_epoch - (long long) now) / 86400;
        printf("TLS certificate: %s\n  subject: %s\n  issuer: %s\n  names: %s\n  expires: %s (%s %lld days)\n",
               s->tls_cert, ci.subject, ci.issuer, ci.dns_names[0] ? ci.dns_names : "(none)", ci.not_after,
               ci.not_after_epoch < now ? "EXPIRED" : "in", ci.not_after_epoch < now ? -days : days);
        if (ci.not_after_epoch < now) {
                fprintf(stderr, "sdflow-gateway: the certificate %s has expired\n", s->tls_cert);
                return -EINVAL;
        }
        return 0;
}

static const DaemonInfo info = {
        .program = "sdflow-gateway",
        .summary = "The sdflow gateway: models on HTTP port 8080, the login and the API on HTTPS port 8443.",
        .man = "sdflow-gateway(8)",
        .config_path = "/etc/sdflow/gateway.conf",
        .socket_name = "http",
        .tls_socket_name = "https",
        .tls = gateway_tls,
        .check = gateway_check,
        .defaults = &defaults,
        .settings_size = sizeof defaults,
        .items = items,
        .n_items = ELEMENTSOF(items),
        .setup = setup,
        .teardown = teardown,
        .handler = gateway_handle,
        .status = "Serving HTTP.",
};

int main(int argc, char **argv) {
        return daemon_main(&info, argc, argv);
}
