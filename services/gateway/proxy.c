/* proxy.c: forwards one request to a model replica's Unix socket and
 * relays the answer; see proxy.h.  Upstream connections are kept alive and
 * reused from a pool, each with its event source registered for its whole
 * life (no epoll changes per request); a request is written at once, and
 * waits for the socket to be writable only when it does not fit.  A pooled
 * connection whose replica went away is noticed on reuse (the send fails)
 * and the request is sent again on a new one; a GET or HEAD also when the
 * replica closed without answering. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "proxy.h"

#define RESPONSE_MAX (64u << 20)

#define POOL_MAX 256
/* A pooled connection idle this long is closed: a replica exits only when
 * it has no connection, so a pool that held on would keep every model warm
 * and defeat scale to zero. */
#define POOL_IDLE_USEC (1000 * 1000ULL)

/* One connection to a replica: in use by a request, or idle in the pool. */
typedef struct Upstream {
        ProxyPool *pool;
        Proxy *proxy; /* NULL while pooled */
        int fd;
        sd_event_source *io;
        uint32_t events;
        uint64_t since; /* pooled since */
        char path[108];
} Upstream;

struct ProxyPool {
        sd_event *event;
        sd_event_source *expire;
        Upstream *idle[POOL_MAX];
        size_t n;
};

struct Proxy {
        ProxyPool *pool;
        proxy_done_t done;
        void *userdata;
        bool cold;
        bool idempotent; /* GET or HEAD: may be sent again */
        bool workload;   /* ProxyOptions.workload */
        sd_event *event;
        bool reused;
        HttpConn *conn;
        Upstream *up;
        sd_event_source *timer;
        char *out;
        size_t out_len, out_off;
        char *in;
        size_t in_len, in_size;
        char backend[108];
};

static void proxy_io(Proxy *p, uint32_t revents);

static Upstream *upstream_free(Upstream *u) {
        if (!u)
                return NULL;
        sd_event_source_disable_unref(u->io);
        safe_close(u->fd);
        free(u);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Upstream *, upstream_free);

static void upstream_events(Upstream *u, uint32_t events) {
        if (u->events != events && sd_event_source_set_io_events(u->io, events) >= 0)
                u->events = events;
}

static void pool_remove(ProxyPool *pool, size_t i) {
        pool->idle[i] = pool->idle[--pool->n];
}

static int on_upstream_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Upstream *u = userdata;
        (void) es;
        (void) fd;
        if (u->proxy) {
                proxy_io(u->proxy, revents);
                return 0;
        }
        /* Idle in the pool and readable: the replica closed it (or talks out
         * of turn).  Either way it is of no more use. */
        ProxyPool *pool = u->pool;
        for (size_t i = 0; i < pool->n; i++)
                if (pool->idle[i] == u) {
                        pool_remove(pool, i);
                        break;
                }
        upstream_free(u);
        return 0;
}

/* A new connection to the replica at path; NULL with errno set (the
 * cleanup keeps it: safe_close() and free() leave errno alone). */
static Upstream *upstream_new(ProxyPool *pool, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_(upstream_freep) Upstream *u = calloc(1, sizeof *u);
        if (!u)
                return NULL;
        u->pool = pool;
        snprintf(u->path, sizeof u->path, "%s", path);
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        u->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (u->fd < 0)
                return NULL;
        /* On a Unix socket a connect completes at once; EAGAIN means the
         * replica's backlog is full and there is no connection. */
        if (connect(u->fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return NULL;
        u->events = EPOLLIN;
        if (sd_event_add_io(pool->event, &u->io, u->fd, EPOLLIN, on_upstream_io, u) < 0) {
                errno = ENOMEM;
                return NULL;
        }
        return TAKE_PTR(u);
}

static int on_expire(sd_event_source *es, uint64_t now, void *userdata) {
        ProxyPool *pool = userdata;
        (void) es;
        for (size_t i = pool->n; i > 0; i--)
                if (now >= pool->idle[i - 1]->since + POOL_IDLE_USEC) {
                        upstream_free(pool->idle[i - 1]);
                        pool_remove(pool, i - 1);
                }
        if (pool->n > 0) {
                (void) sd_event_source_set_time(pool->expire, now + POOL_IDLE_USEC / 2);
                (void) sd_event_source_set_enabled(pool->expire, SD_EVENT_ONESHOT);
        }
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(ProxyPool *, proxy_pool_free);

ProxyPool *proxy_pool_new(sd_event *e) {
        _cleanup_(proxy_pool_freep) ProxyPool *pool = calloc(1, sizeof(ProxyPool));
        if (!pool)
                return NULL;
        pool->event = e;
        if (sd_event_add_time_relative(e, &pool->expire, CLOCK_MONOTONIC, POOL_IDLE_USEC, 0, on_expire, pool) < 0)
                return NULL;
        (void) sd_event_source_set_enabled(pool->expire, SD_EVENT_OFF);
        return TAKE_PTR(pool);
}

ProxyPool *proxy_pool_free(ProxyPool *pool) {
        if (!pool)
                return NULL;
        for (size_t i = 0; i < pool->n; i++)
                upstream_free(pool->idle[i]);
        sd_event_source_disable_unref(pool->expire);
        free(pool);
        return NULL;
}

/* The most recently pooled connection to path that is still open, or NULL.
 * A replica that stopped (or crashed) closed its end; the event saying so
 * may not have been handled yet, so look (one non-blocking peek). */
static Upstream *pool_take(ProxyPool *pool, const char *path) {
        for (size_t i = pool->n; i > 0; i--)
                if (strcmp(pool->idle[i - 1]->path, path) == 0) {
                        Upstream *u = pool->idle[i - 1];
                        char b;
                        pool_remove(pool, i - 1);
                        ssize_t n = recv(u->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
                        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                                return u;
                        upstream_free(u); /* closed, or talking out of turn */
                }
        return NULL;
}

static void pool_put(ProxyPool *pool, Upstream *u) {
        if (pool->n == POOL_MAX) {
                upstream_free(pool->idle[0]); /* the oldest goes */
                memmove(&pool->idle[0], &pool->idle[1], (POOL_MAX - 1) * sizeof pool->idle[0]);
                pool->n--;
        }
        uint64_t now = 0;
        (void) sd_event_now(pool->event, CLOCK_MONOTONIC, &now);
        u->proxy = NULL;
        u->since = now;
        upstream_events(u, EPOLLIN);
        pool->idle[pool->n++] = u;
        int enabled = SD_EVENT_OFF;
        (void) sd_event_source_get_enabled(pool->expire, &enabled);
        if (enabled == SD_EVENT_OFF) {
                (void) sd_event_source_set_time(pool->expire, now + POOL_IDLE_USEC);
                (void) sd_event_source_set_enabled(pool->expire, SD_EVENT_ONESHOT);
        }
}

static void proxy_free(Proxy *p) {
        upstream_free(p->up); /* in the middle of an exchange: not reusable */
        sd_event_source_disable_unref(p->timer);
        free(p->out);
        free(p->in);
        free(p);
}

static void on_client_gone(HttpConn *c, void *userdata) {
        Proxy *p = userdata;
        (void) c;
        /* 499, as nginx logs a client that closed before the answer. */
        if (p->done)
                p->done(p, 499, false, p->userdata);
        proxy_free(p);
}

/* Answers the client (which ends the proxy): with the upstream's answer
 * and its headers, or with the error msg. */
static void finish_as(Proxy *p, int status, const char *ctype, const char *body, size_t len, const char *msg,
                      const char *headers) {
        HttpConn *c = p->conn;
        http_conn_set_close_handler(c, NULL, NULL);
        if (p->done)
                p->done(p, status, p->cold, p->userdata);
        if (msg)
                (void) http_conn_reply_error(c, status, false, msg);
        else
                (void) http_conn_reply(c, status, ctype, body, len, headers);
        proxy_free(p);
}

static void finish(Proxy *p, int status, const char *ctype, const char *body, size_t len, const char *msg) {
        finish_as(p, status, ctype, body, len, msg, NULL);
}

static void finish_with(Proxy *p, int status, const char *ctype, const char *body, size_t len,
                        const char *headers) {
        finish_as(p, status, ctype, body, len, NULL, headers);
}

void proxy_fail(Proxy *p, int status, const char *msg) {
        finish(p, status, NULL, NULL, 0, msg);
}

/* 1 when the response in p->in is complete (*keep: the connection may be
 * reused), 0 when more is to come, -1 when it is malformed. */
static int complete(Proxy *p, bool eof, bool *keep) {
        HttpMessage m;
        int head = http_parse_response(p->in, p->in_len, 64 * 1024, &m);
        *keep = false;
        if (head < 0)
                return -1;
        if (head == 0)
                return eof ? -1 : 0;
        size_t have = p->in_len - (size_t) head;
        if (m.has_content_length) {
                if (have >= m.content_length) {
                        *keep = m.keep_alive && have == m.content_length;
                        return 1;
                }
                return eof ? -1 : 0;
        }
        if (m.chunked) {
                /* Decode a copy: is the last chunk there yet? */
                _cleanup_free_ char *copy = malloc(have + 1);
                size_t consumed, produced;
                if (!copy)
                        return -1;
                memcpy(copy, p->in + head, have);
                HttpChunked ch = HTTP_CHUNKED_INIT;
                int r = http_chunked_decode(&ch, copy, have, &consumed, &produced);
                if (r == 1) {
                        *keep = m.keep_alive && consumed == have;
                        return 1;
                }
                return r < 0 || eof ? -1 : 0;
        }
        return eof ? 1 : 0; /* framed by the end of the connection */
}

/* The response's end-to-end headers for the client, as "Name: value\r\n"
 * lines: what framing and sdflow's own say is dropped (the server frames
 * the answer afresh); what would not fit is left off. */
static bool header_is(const HttpHeader *h, const char *name) {
        return strlen(name) == h->name_len && strncasecmp(h->name, name, h->name_len) == 0;
}

static void response_headers(const HttpMessage *m, bool workload, char *out, size_t size) {
        static const char *const skip[] = { "connection", "keep-alive", "transfer-encoding", "content-length",
                                            "content-type", "upgrade", "proxy-connection", "sdflow-cold-start",
                                            "trailer", "te" };
        size_t o = 0;
        out[0] = '\0';
        /* A workload's answer is data, never a page of this origin: were it
         * HTML with a script, the script would act with the user's session. */
        if (workload)
                o = (size_t) snprintf(out, size, "Content-Security-Policy: sandbox\r\nX-Content-Type-Options: nosniff\r\n");
        for (size_t i = 0; i < m->n_headers; i++) {
                const HttpHeader *h = &m->headers[i];
                bool dropped = false;
                for (size_t k = 0; k < ELEMENTSOF(skip); k++)
                        dropped |= header_is(h, skip[k]);
                /* Nor may it set cookies (a session of its own choosing, say). */
                if (workload)
                        dropped |= header_is(h, "set-cookie") || header_is(h, "set-cookie2") ||
                                   header_is(h, "content-security-policy") || header_is(h, "x-content-type-options");
                if (dropped || o + h->name_len + h->value_len + 5 > size)
                        continue;
                o += (size_t) snprintf(out + o, size - o, "%.*s: %.*s\r\n", (int) h->name_len, h->name,
                                       (int) h->value_len, h->value);
        }
}

static void relay(Proxy *p) {
        HttpMessage m;
        char ctype[128] = "application/json", msg[300], headers[1536];
        int head = http_parse_response(p->in, p->in_len, 64 * 1024, &m);
        if (head <= 0) {
                snprintf(msg, sizeof msg, "the model server at %s sent a malformed response", p->backend);
                finish(p, 502, NULL, NULL, 0, msg);
                return;
        }
        const char *v;
        size_t vl;
        if (http_header_find(&m, "content-type", &v, &vl) && vl < sizeof ctype)
                snprintf(ctype, sizeof ctype, "%.*s", (int) vl, v);
        /* The first answer of a freshly started server says so. */
        p->cold = http_header_find(&m, "sdflow-cold-start", &v, &vl);
        char *body = p->in + head;
        size_t len = p->in_len - (size_t) head;
        if (m.chunked) {
                HttpChunked ch = HTTP_CHUNKED_INIT;
                size_t consumed, produced;
                if (http_chunked_decode(&ch, body, len, &consumed, &produced) != 1) {
                        finish(p, 502, NULL, NULL, 0, "the model server's chunked answer was cut short");
                        return;
                }
                len = produced;
        } else if (m.has_content_length) {
                if (m.content_length > len) {
                        finish(p, 502, NULL, NULL, 0, "the model server's answer was cut short");
                        return;
                }
                len = (size_t) m.content_length;
        }
        response_headers(&m, p->workload, headers, sizeof headers);
        finish_with(p, m.status, ctype, body, len, headers);
}

/* Connects (or takes a pooled connection) and sends what is left of the
 * request; on a pooled connection that turns out dead, once more afresh.
 * Finishes p (502) when the replica cannot be reached. */
static void send_request(Proxy *p) {
        char msg[300];
        for (;;) {
                if (!p->up) {
                        p->up = upstream_new(p->pool, p->backend);
                        if (!p->up) {
                                snprintf(msg, sizeof msg, "cannot reach the model server at %s: %s", p->backend,
                                         errno == EAGAIN ? "its connection queue is full" : strerror(errno));
                                finish(p, 502, NULL, NULL, 0, msg);
                                return;
                        }
                        p->up->proxy = p;
                }
                while (p->out_off < p->out_len) {
                        ssize_t n = send(p->up->fd, p->out + p->out_off, p->out_len - p->out_off,
                                         MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n > 0) {
                                p->out_off += (size_t) n;
                                continue;
                        }
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0 && errno == EAGAIN) {
                                upstream_events(p->up, EPOLLIN | EPOLLOUT);
                                return;
                        }
                        if (p->reused && p->out_off == 0 && (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN))
                                break; /* a pooled connection the replica had closed */
                        snprintf(msg, sizeof msg, "the model server at %s refused the request: %s", p->backend,
                                 strerror(errno));
                        finish(p, 502, NULL, NULL, 0, msg);
                        return;
                }
                if (p->out_off == p->out_len) {
                        upstream_events(p->up, EPOLLIN);
                        return;
                }
                p->up = upstream_free(p->up);
                p->reused = false;
                p->out_off = 0;
        }
}

static void proxy_io(Proxy *p, uint32_t revents) {
        char msg[300];
        if (p->out_off < p->out_len) {
                if (revents & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                        send_request(p);
                return;
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return;
        for (;;) {
                if (p->in_size - p->in_len < 4096) {
                        size_t ns = p->in_size ? p->in_size * 2 : 8192;
                        if (ns > RESPONSE_MAX) {
                                finish(p, 502, NULL, NULL, 0, "the model server's answer is too large");
                                return;
                        }
                        char *q = realloc(p->in, ns + 1);
                        if (!q) {
                                finish(p, 500, NULL, NULL, 0, "out of memory");
                                return;
                        }
                        p->in = q;
                        p->in_size = ns;
                }
                ssize_t n = recv(p->up->fd, p->in + p->in_len, p->in_size - p->in_len, MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n < 0 && p->in_len == 0 && p->reused && p->idempotent && errno == ECONNRESET)
                        n = 0; /* as an end: retried below */
                else if (n < 0) {
                        snprintf(msg, sizeof msg, "the model server at %s failed: %s", p->backend, strerror(errno));
                        finish(p, 502, NULL, NULL, 0, msg);
                        return;
                }
                if (n == 0) {
                        if (p->in_len == 0 && p->reused && p->idempotent) {
                                /* A pooled connection the replica had closed: once more,
                                 * afresh.  Only for a request that may run twice: a
                                 * replica that is gone makes the send fail already
                                 * (Unix sockets), so an end here after a complete send
                                 * may be a crash in the middle of a prediction. */
                                p->up = upstream_free(p->up);
                                p->reused = false;
                                p->out_off = 0;
                                send_request(p);
                                return;
                        }
                        if (p->in_len == 0) {
                                snprintf(msg, sizeof msg, "the model server at %s closed without answering",
                                         p->backend);
                                finish(p, 502, NULL, NULL, 0, msg);
                        } else if (complete(p, true, &(bool) { false }) == 1)
                                relay(p);
                        else
                                finish(p, 502, NULL, NULL, 0, "the model server's answer was cut short");
                        return;
                }
                p->in_len += (size_t) n;
                bool keep;
                int c = complete(p, false, &keep);
                if (c < 0) {
                        snprintf(msg, sizeof msg, "the model server at %s sent a malformed response", p->backend);
                        finish(p, 502, NULL, NULL, 0, msg);
                        return;
                }
                if (c == 1) {
                        if (keep) {
                                /* The connection goes back to the pool before the answer goes out. */
                                pool_put(p->pool, p->up);
                                p->up = NULL;
                        }
                        relay(p);
                        return;
                }
        }
}

static int on_timeout(sd_event_source *es, uint64_t usec, void *userdata) {
        Proxy *p = userdata;
        (void) es;
        (void) usec;
        finish(p, 504, NULL, NULL, 0, "the model server did not answer in time");
        return 0;
}

/* Whether a workload must not see the header: the front door's credentials. */
static bool credential(const HttpHeader *h) {
        /* An API token (a namespace's model tokens, 64 hex digits, are the model's to check). */
        if (h->name_len == 13 && strncasecmp(h->name, "authorization", 13) == 0)
                return h->value_len >= 11 && strncasecmp(h->value, "Bearer sdf_", 11) == 0;
        return false;
}

/* The cookies of a Cookie header but the session's, as "a=1; b=2" into out;
 * its length. */
static size_t cookies_but_session(const HttpHeader *h, char *out) {
        const char *p = h->value, *end = h->value + h->value_len;
        size_t o = 0, nl = strlen(SDFLOW_SESSION_COOKIE);
        while (p < end) {
                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                const char *semi = memchr(p, ';', (size_t) (end - p)), *stop = semi ? semi : end;
                size_t n = (size_t) (stop - p);
                /* Any case: a server that folds names must not get it either. */
                bool ours = n > nl && p[nl] == '=' && strncasecmp(p, SDFLOW_SESSION_COOKIE, nl) == 0;
                if (!ours && n > 0) {
                        if (o > 0)
                                memcpy(out + o, "; ", 2), o += 2;
                        memcpy(out + o, p, n);
                        o += n;
                }
                p = stop + 1;
        }
        return o;
}

static bool hop_by_hop(const HttpHeader *h) {
        /* And what only the gateway may say: who the client is, and how it came. */
        static const char *const names[] = { "connection", "keep-alive", "te", "transfer-encoding", "upgrade",
                                             "proxy-connection", "content-length", "expect", "host",
                                             "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                                             "x-real-ip", "forwarded" };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (strlen(names[i]) == h->name_len && strncasecmp(h->name, names[i], h->name_len) == 0)
                        return true;
        return false;
}

Proxy *proxy_new(sd_event *e, ProxyPool *pool, HttpConn *c, const HttpMessage *req, const char *body,
                 size_t body_len, const char *target, size_t target_len, const char *host, const ProxyOptions *opt,
                 uint64_t timeout_usec, proxy_done_t done, void *userdata) {
        const char *extra = opt ? opt->extra_headers : NULL;
        bool workload = opt && opt->workload;
        Proxy *p = calloc(1, sizeof *p);
        if (!p) {
                (void) http_conn_reply_error(c, 500, false, "out of memory");
                return NULL;
        }
        p->pool = pool;
        p->event = e;
        p->conn = c;
        p->idempotent = http_method_is(req, "GET") || http_method_is(req, "HEAD");
        p->workload = workload;
        http_conn_set_close_handler(c, on_client_gone, p);

        /* The request, re-framed: hop-by-hop headers dropped, the body whole;
         * measured first, then copied into one buffer (no stdio on the hot path). */
        char clen[48];
        int cl = snprintf(clen, sizeof clen, "Content-Length: %zu\r\n\r\n", body_len);
        size_t hl = strlen(host), xl = extra ? strlen(extra) : 0,
               need = req->method_len + 1 + target_len + sizeof " HTTP/1.1\r\nHost: " - 1 + hl + 2 + xl + (size_t) cl +
                      body_len;
        for (size_t i = 0; i < req->n_headers; i++)
                if (!hop_by_hop(&req->headers[i]))
                        /* A Cookie header rewritten may gain a space per cookie: at most twice as long. */
                        need += req->headers[i].name_len + 2 + req->headers[i].value_len * (workload ? 2 : 1) + 2;
        char *o = p->out = malloc(need);
        if (!o) {
                finish(p, 500, NULL, NULL, 0, "out of memory");
                return NULL;
        }
#define PUT(src, n) (memcpy(o, (src), (n)), o += (n))
        PUT(req->method, req->method_len);
        PUT(" ", 1);
        PUT(target, target_len);
        PUT(" HTTP/1.1\r\nHost: ", sizeof " HTTP/1.1\r\nHost: " - 1);
        PUT(host, hl);
        PUT("\r\n", 2);
        if (xl)
                PUT(extra, xl);
        for (size_t i = 0; i < req->n_headers; i++) {
                const HttpHeader *h = &req->headers[i];
                if (hop_by_hop(h) || (workload && credential(h)))
                        continue;
                if (workload && h->name_len == 6 && strncasecmp(h->name, "cookie", 6) == 0) {
                        /* In place: what is left is never longer than the header. */
                        char *start = o;
                        PUT("Cookie: ", 8);
                        size_t n = cookies_but_session(h, o);
                        if (n == 0)
                                o = start;
                        else
                                o += n, PUT("\r\n", 2);
                        continue;
                }
                PUT(h->name, h->name_len);
                PUT(": ", 2);
                PUT(h->value, h->value_len);
                PUT("\r\n", 2);
        }
        PUT(clen, (size_t) cl);
        if (body_len)
                PUT(body, body_len);
#undef PUT
        p->out_len = (size_t) (o - p->out);
        /* The timeout counts from arrival, time in a queue included. */
        if (sd_event_add_time_relative(e, &p->timer, CLOCK_MONOTONIC, timeout_usec, 0, on_timeout, p) < 0) {
                finish(p, 500, NULL, NULL, 0, "cannot watch the upstream connection");
                return NULL;
        }
        p->done = done;
        p->userdata = userdata;
        return p;
}

void proxy_send(Proxy *p, const char *backend) {
        struct sockaddr_un sa;
        if (strlen(backend) >= sizeof sa.sun_path) {
                finish(p, 502, NULL, NULL, 0, "the replica's socket path is too long");
                return;
        }
        snprintf(p->backend, sizeof p->backend, "%s", backend);
        p->up = pool_take(p->pool, backend);
        p->reused = p->up != NULL;
        if (p->up)
                p->up->proxy = p;
        send_request(p);
}
