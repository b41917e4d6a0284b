/* server.c: HTTP/1.1 server connections on sd-event; see server.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "log.h"
#include "server.h"

#define ACCEPT_BATCH 64
#define EMFILE_PAUSE_USEC (100 * USEC_PER_MSEC)
#define PEER_BUCKETS 1024
/* A refused connection gets its answer, then this long to go before it is closed. */
#define REFUSED_LINGER_USEC (1 * USEC_PER_SEC)
/* At most this many refused connections linger; past it they are closed at once. */
#define MAX_REFUSED 64


/* What one peer holds: its connections, and those still waiting for a request head. */
typedef struct Peer {
        struct Peer *next;
        unsigned conns, pending;
        char key[80];
} Peer;

typedef enum ConnState {
        CONN_READING,  /* waiting for (the rest of) a request */
        CONN_HANDLING, /* the handler has the request; no reading */
        CONN_WRITING,  /* sending a response */
        CONN_STREAMING, /* a response of unknown length, sent in chunks as it comes */
        CONN_REFUSED,  /* answered at accept (a limit); read and dropped until it goes */
} ConnState;

struct HttpConn {
        HttpServer *server;
        HttpConn *prev, *next;
        int fd;
        sd_event_source *io;
        uint64_t deadline; /* CLOCK_MONOTONIC usec when the current phase times out; 0: none */
        bool io_off;       /* reading paused while a handler answers later */
        ConnState state;

        char *rbuf;
        size_t rlen, rsize;
        size_t head_len;     /* > 0 once the head of the current request is parsed */
        size_t body_start;   /* offset of the body in rbuf */
        size_t body_len;     /* decoded body bytes at rbuf + body_start */
        char saved;          /* the byte the body's NUL terminator replaced */
        sd_event_source *defer; /* processes a pipelined request after a response */
        HttpChunked chunked;
        HttpMessage req;
        bool sent_continue;
        bool keep_alive;

        char *wbuf;
        size_t wlen, woff;

        HttpCloseHandler on_close; /* streaming: told once when the connection goes */
        void *close_userdata;

        const HttpTransport *t; /* NULL: plain bytes on fd */
        void *tc;
        bool t_other;           /* the transport waits for the other direction */

        HttpPeer peer;
        Peer *peer_entry;  /* NULL for a refused connection */
        bool pending;      /* no whole request head yet (see max_pending) */
        uint64_t pending_since;
};

struct HttpServer {
        sd_event *event;
        HttpServerConfig cfg;
        HttpHandler handler;
        void *userdata;
        sd_event_source **listeners;
        const HttpTransport **transports; /* per listener; NULL: plain */
        void **transport_ctx;
        size_t n_listeners;
        sd_event_source *resume_timer; /* re-enables accepting after EMFILE */
        sd_event_source *idle_timer;
        /* One timer for every connection's deadline, so that a request costs
         * no timer syscalls: deadlines are checked every sweep_usec. */
        sd_event_source *sweep_timer;
        uint64_t sweep_usec;
        HttpConn *dispatching; /* the connection whose handler runs now */
        HttpConn *conns;
        unsigned n_conns;
        unsigned n_pending, n_refused;
        Peer *peers[PEER_BUCKETS];
};

static void server_update_accepting(HttpServer *s);
static int conn_process(HttpConn *c);
static void conn_timeout(HttpConn *c);

/* ---- peers ---------------------------------------------------------------------- */

static unsigned peer_hash(const char *key) {
        uint32_t h = 2166136261u;
        for (const unsigned char *p = (const unsigned char *) key; *p; p++) {
                h ^= *p;
                h *= 16777619u;
        }
        return h % PEER_BUCKETS;
}

static Peer *peer_find(const HttpServer *s, const char *key) {
        for (Peer *p = s->peers[peer_hash(key)]; p; p = p->next)
                if (strcmp(p->key, key) == 0)
                        return p;
        return NULL;
}

static Peer *peer_get(HttpServer *s, const char *key) {
        Peer *p = peer_find(s, key);
        if (p)
                return p;
        p = calloc(1, sizeof *p);
        if (!p)
                return NULL;
        snprintf(p->key, sizeof p->key, "%s", key);
        unsigned h = peer_hash(key);
        p->next = s->peers[h];
        s->peers[h] = p;
        return p;
}

static void peer_put(HttpServer *s, Peer *p) {
        if (!p || p->conns > 0)
                return;
        Peer **pp = &s->peers[peer_hash(p->key)];
        while (*pp && *pp != p)
                pp = &(*pp)->next;
        if (*pp)
                *pp = p->next;
        free(p);
}

static void conn_set_pending(HttpConn *c, bool pending) {
        if (c->pending == pending || !c->peer_entry)
                return;
        HttpServer *s = c->server;
        c->pending = pending;
        if (pending) {
                s->n_pending++;
                c->peer_entry->pending++;
                (void) sd_event_now(s->event, CLOCK_MONOTONIC, &c->pending_since);
        } else {
                s->n_pending--;
                c->peer_entry->pending--;
        }
}

/* Who is at the other end of fd. */
static void peer_identify(int fd, HttpPeer *p) {
        struct sockaddr_storage sa;
        socklen_t l = sizeof sa;
        *p = (HttpPeer) { .family = AF_UNSPEC, .uid = (uid_t) -1, .gid = (gid_t) -1 };
        if (getsockname(fd, (struct sockaddr *) &sa, &l) == 0 && sa.ss_family == AF_UNIX) {
                struct ucred uc;
                socklen_t ul = sizeof uc;
                p->family = AF_UNIX;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0) {
                        p->uid = uc.uid;
                        p->gid = uc.gid;
                        p->pid = uc.pid;
                }
                snprintf(p->key, sizeof p->key, "uid %u", (unsigned) p->uid);
                return;
        }
        l = sizeof sa;
        if (getpeername(fd, (struct sockaddr *) &sa, &l) == 0) {
                p->family = sa.ss_family;
                if (sa.ss_family == AF_INET)
                        inet_ntop(AF_INET, &((struct sockaddr_in *) &sa)->sin_addr, p->addr, sizeof p->addr);
                else if (sa.ss_family == AF_INET6) {
                        const struct in6_addr *a6 = &((struct sockaddr_in6 *) &sa)->sin6_addr;
                        if (IN6_IS_ADDR_V4MAPPED(a6)) /* an IPv4 client of a dual-stack socket */
                                inet_ntop(AF_INET, &a6->s6_addr[12], p->addr, sizeof p->addr);
                        else
                                inet_ntop(AF_INET6, a6, p->addr, sizeof p->addr);
                }
        }
        snprintf(p->key, sizeof p->key, "address %s", p->addr[0] ? p->addr : "?");
}

int http_conn_fd(HttpConn *c) {
        return c->fd;
}

bool http_conn_secure(HttpConn *c) {
        return c->t != NULL;
}

/* recv() and send() through the connection's transport, if it has one. */
static ssize_t conn_recv(HttpConn *c, void *buf, size_t n) {
        if (!c->t)
                return recv(c->fd, buf, n, MSG_DONTWAIT);
        c->t_other = false;
        return c->t->recv(c->tc, buf, n, &c->t_other);
}

static ssize_t conn_send_bytes(HttpConn *c, const void *buf, size_t n) {
        if (!c->t)
                return send(c->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        c->t_other = false;
        return c->t->send(c->tc, buf, n, &c->t_other);
}

/* Bytes the transport holds that epoll cannot see. */
static bool conn_buffered(HttpConn *c) {
        return c->t && c->t->pending(c->tc);
}

const HttpPeer *http_conn_peer(HttpConn *c) {
        return &c->peer;
}


static void server_arm_idle(HttpServer *s) {
        if (!s->idle_timer)
                return;
        if (s->n_conns > 0) {
                (void) sd_event_source_set_enabled(s->idle_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time_relative(s->idle_timer, s->cfg.idle_exit_usec);
        (void) sd_event_source_set_enabled(s->idle_timer, SD_EVENT_ONESHOT);
}

static HttpConn *conn_free(HttpConn *c) {
        if (!c)
                return NULL;
        HttpServer *s = c->server;
        if (c->on_close) {
                HttpCloseHandler h = c->on_close;
                c->on_close = NULL;
                h(c, c->close_userdata);
        }
        if (s->dispatching == c)
                s->dispatching = NULL;
        conn_set_pending(c, false);
        if (c->peer_entry) {
                c->peer_entry->conns--;
                peer_put(s, c->peer_entry);
        }
        if (c->state == CONN_REFUSED)
                s->n_refused--;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->defer);
        if (c->t)
                c->t->close(c->tc);
        safe_close(c->fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_conns--;
        free(c->rbuf);
        free(c->wbuf);
        free(c);
        server_update_accepting(s);
        server_arm_idle(s);
        return NULL;
}

static void conn_set_timer(HttpConn *c, uint64_t usec) {
        uint64_t now = 0;
        if (usec == 0) {
                c->deadline = 0;
                return;
        }
        (void) sd_event_now(c->server->event, CLOCK_MONOTONIC, &now);
        c->deadline = now + usec;
}

static int on_sweep(sd_event_source *es, uint64_t usec, void *userdata) {
        HttpServer *s = userdata;
        HttpConn *next;
        (void) es;
        for (HttpConn *c = s->conns; c; c = next) {
                next = c->next; /* c may be freed */
                if (c->deadline && usec >= c->deadline) {
                        c->deadline = 0;
                        conn_timeout(c);
                }
        }
        (void) sd_event_source_set_time(s->sweep_timer, usec + s->sweep_usec);
        (void) sd_event_source_set_enabled(s->sweep_timer, s->conns ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
        return 0;
}

static int conn_flush(HttpConn *c) {
        while (c->woff < c->wlen) {
                ssize_t n = conn_send_bytes(c, c->wbuf + c->woff, c->wlen - c->woff);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                /* Level-triggered: only what it waits for, or it spins. */
                                return sd_event_source_set_io_events(c->io, c->t_other ? EPOLLIN : EPOLLOUT);
                        return -errno;
                }
                c->woff += (size_t) n;
        }
        return 1;
}

static int conn_read(HttpConn *c);

static int on_conn_defer(sd_event_source *es, void *userdata) {
        HttpConn *c = userdata;
        (void) es;
        int r = conn_process(c);
        /* The rest of the request may wait in the transport, unseen by epoll. */
        if (r == 0 && conn_buffered(c))
                r = conn_read(c);
        if (r < 0)
                conn_free(c);
        return 0;
}

/* After a response is written: wait for the next request, or close.
 * Returns 0, or -ECONNRESET when the caller is to release the connection. */
static int conn_finish_response(HttpConn *c) {
        free(c->wbuf);
        c->wbuf = NULL;
        c->wlen = c->woff = 0;
        if (!c->keep_alive) {
                if (c->t)
                        c->t->shutdown(c->tc);
                (void) shutdown(c->fd, SHUT_WR);
                return -ECONNRESET;
        }
        /* Keep the bytes of a pipelined next request. */
        size_t used = c->rlen;
        if (c->head_len > 0) {
                used = c->body_start + c->body_len;
                c->rbuf[used] = c->saved;
        }
        memmove(c->rbuf, c->rbuf + used, c->rlen - used);
        c->rlen -= used;
        c->head_len = c->body_start = c->body_len = 0;
        c->sent_continue = false;
        c->chunked = HTTP_CHUNKED_INIT;
        c->state = CONN_READING;
        (void) sd_event_source_set_io_events(c->io, EPOLLIN);
        conn_set_timer(c, c->rlen > 0 ? c->server->cfg.request_timeout_usec
                                      : c->server->cfg.keepalive_timeout_usec);
        if (c->rlen > 0 || conn_buffered(c)) {
                /* Not processed here: the caller may be inside a handler. */
                int r = c->defer ? 0 : sd_event_add_defer(c->server->event, &c->defer, on_conn_defer, c);
                if (r >= 0)
                        r = sd_event_source_set_enabled(c->defer, SD_EVENT_ONESHOT);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Writes what is queued.  Returns 0 (done or waiting for EPOLLOUT), or a
 * negative errno when the caller is to release the connection. */
static int conn_send(HttpConn *c) {
        int r = conn_flush(c);
        if (r <= 0)
                return r;
        return conn_finish_response(c);
}

int http_conn_reply(HttpConn *c, int status, const char *content_type, const void *body, size_t len,
                    const char *extra_headers) {
        char head[2048];
        int n, r;

        if (c->state == CONN_WRITING)
                return -EBUSY;
        n = http_format_response_head(head, sizeof head, status, content_type, len, c->keep_alive,
                                      extra_headers);
        if (n < 0) {
                conn_free(c);
                return n;
        }
        c->wbuf = malloc((size_t) n + len);
        if (!c->wbuf) {
                conn_free(c);
                return -ENOMEM;
        }
        memcpy(c->wbuf, head, (size_t) n);
        if (len > 0)
                memcpy(c->wbuf + n, body, len);
        c->wlen = (size_t) n + len;
        c->woff = 0;
        c->state = CONN_WRITING;
        if (c->io_off) {
                c->io_off = false;
                (void) sd_event_source_set_enabled(c->io, SD_EVENT_ON);
        }
        /* A slow reader gets as long to take the response as a request may take to arrive. */
        conn_set_timer(c, c->server->cfg.request_timeout_usec);
        r = conn_send(c);
        if (r < 0) {
                conn_free(c);
                return r;
        }
        return 0;
}

static void json_escape(char *out, size_t size, const char *in) {
        size_t o = 0;
        for (; *in && o + 7 < size; in++) {
                unsigned char ch = (unsigned char) *in;
                if (ch == '"' || ch == '\\') {
                        out[o++] = '\\';
                        out[o++] = (char) ch;
                } else if (ch < 0x20)
                        o += (size_t) snprintf(out + o, size - o, "\\u%04x", ch);
                else
                        out[o++] = (char) ch;
        }
        out[o] = '\0';
}

int http_conn_reply_error(HttpConn *c, int status, bool close_after, const char *msg) {
        char esc[1024], body[1200];
        int n;

        json_escape(esc, sizeof esc, msg);
        n = snprintf(body, sizeof body, "{\"error\":\"%s\",\"code\":%d}\n", esc, status);
        if (close_after)
                c->keep_alive = false;
        return http_conn_reply(c, status, "application/json", body, (size_t) n, NULL);
}

void http_conn_set_close_handler(HttpConn *c, HttpCloseHandler h, void *userdata) {
        c->on_close = h;
        c->close_userdata = userdata;
}

int http_conn_peer_cred(HttpConn *c, struct ucred *ret) {
        socklen_t l = sizeof *ret;
        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, ret, &l) < 0)
                return -errno;
        if (l != sizeof *ret)
                return -EIO;
        return 0;
}

int http_conn_peer_groups(HttpConn *c, gid_t *groups, size_t max) {
        socklen_t l = (socklen_t) (max * sizeof *groups);
        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &l) < 0)
                return -errno;
        return (int) (l / sizeof *groups);
}

/* Answers a request that cannot be handled and closes after the answer.
 * Returns 1: the connection is answered or released; do not touch it. */
static int conn_refuse(HttpConn *c, int status, const char *msg) {
        log_debug("Refusing request on fd %d: %d %s", c->fd, status, msg);
        c->state = CONN_HANDLING;
        (void) http_conn_reply_error(c, status, true, msg);
        return 1;
}

/* Makes room for at least want more bytes, within the connection's limit. */
static int conn_grow(HttpConn *c, size_t want) {
        const HttpServerConfig *cfg = &c->server->cfg;
        size_t limit = cfg->max_head + cfg->max_body + 1024;
        if (c->rsize - c->rlen >= want)
                return 0;
        size_t n = c->rsize ? c->rsize : 4096;
        while (n - c->rlen < want && n < limit)
                n *= 2;
        if (n > limit)
                n = limit;
        if (n <= c->rsize)
                return -ENOBUFS;
        char *p = realloc(c->rbuf, n + 1); /* +1: room for the NUL after a body */
        if (!p)
                return -ENOMEM;
        bool moved = p != c->rbuf;
        c->rbuf = p;
        c->rsize = n;
        /* The parsed head points into the buffer: when it moved (a body that
         * arrives in pieces), parse the head again where it now is. */
        if (moved && c->head_len > 0 && http_parse_request(c->rbuf, c->head_len, cfg->max_head, &c->req) <= 0)
                return -EBADMSG;
        return 0;
}

/* Parses what has arrived; hands a complete request to the handler.
 * Returns 0 when more bytes are needed, 1 when the request went to the
 * handler or was answered (the connection may be gone: do not touch it), or
 * a negative errno when the caller is to release the connection. */
static int conn_process(HttpConn *c) {
        const HttpServerConfig *cfg = &c->server->cfg;
        int r;

        if (c->head_len == 0) {
                r = http_parse_request(c->rbuf, c->rlen, cfg->max_head, &c->req);
                if (r < 0)
                        return conn_refuse(c, http_status_for_error(r), c->req.error);
                if (r == 0)
                        return 0;
                c->head_len = (size_t) r;
                c->body_start = c->head_len;
                c->keep_alive = c->req.keep_alive;
                conn_set_pending(c, false);
                if (c->req.has_content_length && c->req.content_length > cfg->max_body) {
                        char msg[128];
                        snprintf(msg, sizeof msg, "request body of %llu bytes exceeds the limit of %zu bytes",
                                 (unsigned long long) c->req.content_length, cfg->max_body);
                        return conn_refuse(c, 413, msg);
                }
        }

        if (c->req.chunked) {
                /* Decoded data stands at body_start..+body_len, the raw rest right
                 * after it; decoding in place moves data down, then the unread
                 * raw bytes are moved to follow it. */
                size_t consumed, produced;
                char *raw = c->rbuf + c->body_start + c->body_len;
                size_t avail = c->rlen - c->body_start - c->body_len;
                r = http_chunked_decode(&c->chunked, raw, avail, &consumed, &produced);
                if (r < 0)
                        return conn_refuse(c, r == -EMSGSIZE ? 413 : 400, "malformed chunked body");
                memmove(raw + produced, raw + consumed, avail - consumed);
                c->rlen -= consumed - produced;
                c->body_len += produced;
                if (c->body_len > cfg->max_body)
                        return conn_refuse(c, 413, "request body exceeds the limit");
                if (r == 0)
                        goto need_more;
        } else {
                size_t have = c->rlen - c->body_start;
                c->body_len = (size_t) c->req.content_length;
                if (have < c->body_len)
                        goto need_more;
        }

        /* Complete.  NUL-terminate the body for handlers that parse text;
         * the byte after it is saved and put back for a pipelined request. */
        c->state = CONN_HANDLING;
        conn_set_timer(c, 0);
        char *body = c->rbuf + c->body_start;
        size_t end = c->body_start + c->body_len; /* <= rlen <= rsize; rbuf has rsize + 1 bytes */
        c->saved = c->rbuf[end];
        c->rbuf[end] = '\0';
        HttpServer *s = c->server;
        HttpMessage req = c->req;
        /* A handshake's or key update's wait for writing is over. */
        if (c->t)
                (void) sd_event_source_set_io_events(c->io, EPOLLIN);
        /* The handler may reply (and so free c) before it returns. */
        s->dispatching = c;
        s->handler(c, &req, body, c->body_len, s->userdata);
        /* If it answers later, the connection stays registered for input:
         * that notices a client that goes away, and costs no epoll change
         * per request (see conn_handling_io()). */
        s->dispatching = NULL;
        return 1;

need_more:
        /* Not through a transport: a partial write of it could not be
         * finished before the response (curl sends the body after 1 s anyway). */
        if (c->req.expect_continue && !c->sent_continue && !c->t) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                c->sent_continue = true;
                if (conn_send_bytes(c, cont, sizeof cont - 1) < 0 && errno != EAGAIN)
                        return -errno;
        }
        return 0;
}

static int conn_read(HttpConn *c) {
        for (;;) {
                int r = conn_grow(c, 1024);
                if (r == -ENOBUFS)
                        return conn_refuse(c, c->head_len ? 413 : 431,
                                           c->head_len ? "request body exceeds the limit"
                                                       : "request head too large");
                if (r < 0)
                        return r;
                ssize_t n = conn_recv(c, c->rbuf + c->rlen, c->rsize - c->rlen);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                /* A handshake may have to write before it reads on. */
                                if (c->t)
                                        (void) sd_event_source_set_io_events(c->io, c->t_other ? EPOLLOUT : EPOLLIN);
                                return 0;
                        }
                        return -errno;
                }
                if (n == 0)
                        return -ECONNRESET;
                if (c->rlen == 0 && c->head_len == 0) {
                        conn_set_timer(c, c->server->cfg.request_timeout_usec);
                        conn_set_pending(c, true); /* a new request begins */
                }
                c->rlen += (size_t) n;
                r = conn_process(c);
                if (r != 0)
                        return r; /* handed over (1) or to be released (< 0) */
                if ((size_t) n < 1024 && !conn_buffered(c))
                        return 0;
        }
}

/* A streaming connection: write what is queued; a read of 0 (or an error)
 * means the peer has gone.  Anything it sends is discarded. */
static int conn_stream_io(HttpConn *c, uint32_t revents) {
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                char scratch[4096];
                ssize_t n = conn_recv(c, scratch, sizeof scratch);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                        return -ECONNRESET;
        }
        int r = conn_flush(c);
        if (r < 0)
                return r;
        if (r > 0) {
                c->wlen = c->woff = 0;
                if (!c->keep_alive) /* the end was queued */
                        return -ECONNRESET;
                (void) sd_event_source_set_io_events(c->io, EPOLLIN);
        }
        return 0;
}

/* Queues bytes on a streaming connection and tries to send them. */
static int conn_queue(HttpConn *c, const void *data, size_t len) {
        if (c->woff > 0) {
                memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
                c->wlen -= c->woff;
                c->woff = 0;
        }
        if (c->wlen + len > HTTP_STREAM_MAX_QUEUED)
                return -ENOBUFS; /* a consumer this slow is dropped */
        char *p = realloc(c->wbuf, c->wlen + len);
        if (!p && c->wlen + len > 0)
                return -ENOMEM;
        c->wbuf = p;
        memcpy(c->wbuf + c->wlen, data, len);
        c->wlen += len;
        return conn_stream_io(c, 0);
}

int http_conn_stream_start(HttpConn *c, int status, const char *content_type, const char *extra_headers,
                           HttpCloseHandler on_close, void *userdata) {
        char head[2048];
        int n = snprintf(head, sizeof head,
                         "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
                         "Cache-Control: no-cache\r\n%s\r\n",
                         status, http_reason(status), content_type, extra_headers ?: "");
        if (n < 0 || (size_t) n >= sizeof head) {
                conn_free(c);
                return -ENOBUFS;
        }
        c->state = CONN_STREAMING;
        c->keep_alive = true; /* until the end is queued */
        c->on_close = on_close;
        c->close_userdata = userdata;
        conn_set_timer(c, 0);
        (void) sd_event_source_set_enabled(c->io, SD_EVENT_ON);
        (void) sd_event_source_set_io_events(c->io, EPOLLIN);
        int r = conn_queue(c, head, (size_t) n);
        if (r < 0)
                conn_free(c);
        return r;
}

int http_conn_stream_write(HttpConn *c, const void *data, size_t len) {
        char size[32];
        int n, r;
        if (c->state != CONN_STREAMING)
                return -EINVAL;
        if (len == 0)
                return 0;
        n = snprintf(size, sizeof size, "%zx\r\n", len);
        /* A chunk that does not fit is not begun: the stream stays whole,
         * and the caller may still end it (with what room is left). */
        if (c->wlen - c->woff + (size_t) n + len + 2 > HTTP_STREAM_MAX_QUEUED)
                return -ENOBUFS;
        r = conn_queue(c, size, (size_t) n);
        if (r >= 0)
                r = conn_queue(c, data, len);
        if (r >= 0)
                r = conn_queue(c, "\r\n", 2);
        if (r < 0)
                conn_free(c);
        return r;
}

size_t http_conn_stream_room(HttpConn *c) {
        size_t queued = c->wlen - c->woff;
        return queued >= HTTP_STREAM_MAX_QUEUED ? 0 : HTTP_STREAM_MAX_QUEUED - queued;
}

int http_conn_stream_end(HttpConn *c) {
        if (c->state != CONN_STREAMING)
                return -EINVAL;
        c->on_close = NULL; /* the caller is done with it */
        int r = conn_queue(c, "0\r\n\r\n", 5);
        c->keep_alive = false;
        if (r >= 0)
                r = conn_stream_io(c, 0);
        if (r < 0)
                conn_free(c);
        return r < 0 && r != -ECONNRESET ? r : 0;
}

/* Input while a handler answers later: the client closed (its close
 * handler runs, with conn_free()), or it pipelines its next request, which
 * waits in the socket (reading pauses until the answer). */
static int conn_handling_io(HttpConn *c, uint32_t revents) {
        char b;
        ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                return -ECONNRESET;
        if (n > 0 || (revents & (EPOLLHUP | EPOLLERR))) {
                /* epoll would go on reporting it: off rather than no events. */
                c->io_off = true;
                (void) sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
        }
        return 0;
}

static int on_conn_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        HttpConn *c = userdata;
        int r = 0;
        (void) es;
        (void) fd;

        if (c->state == CONN_STREAMING)
                r = conn_stream_io(c, revents);
        else if (c->state == CONN_WRITING && (revents & (EPOLLOUT | EPOLLERR | EPOLLHUP) || c->t))
                r = conn_send(c);
        else if (c->state == CONN_READING && (revents & (EPOLLIN | EPOLLERR | EPOLLHUP) || c->t))
                r = conn_read(c);
        else if (c->state == CONN_HANDLING)
                r = conn_handling_io(c, revents);
        else if (c->state == CONN_REFUSED) {
                /* Whatever it sends is dropped; its end ends it. */
                char scratch[4096];
                ssize_t n = recv(c->fd, scratch, sizeof scratch, MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                        r = -ECONNRESET;
        }
        if (r < 0) {
                if (r != -ECONNRESET)
                        log_debug_errno(r, "Connection on fd %d failed: %m", c->fd);
                conn_free(c);
        }
        return 0;
}

static void conn_timeout(HttpConn *c) {

        if (c->state == CONN_READING && c->rlen > 0) {
                /* A request that does not arrive in time: answer 408, then close. */
                c->head_len = 0;
                c->keep_alive = false;
                c->state = CONN_HANDLING;
                if (http_conn_reply_error(c, 408, true, "request not received in time") < 0)
                        return; /* written and released */
                /* Still writing: do not wait for a slow reader a second full period. */
                conn_set_timer(c, USEC_PER_SEC);
                return;
        }
        if (c->state == CONN_HANDLING || c->state == CONN_STREAMING)
                return; /* no deadline while a handler or a stream has it */
        conn_free(c); /* idle keep-alive, or refused and lingering */
}

/* Answers a connection at once, for a limit it reached, and lets it linger
 * a moment (reading what it sends) so that the answer is not lost to a
 * reset.  The connection is in CONN_REFUSED until it goes. */
static void conn_refuse_now(HttpConn *c, int status, const char *msg) {
        HttpServer *s = c->server;
        char esc[512], body[800], out[1200];
        log_debug("Refusing connection of %s: %d %s", c->peer.key, status, msg);
        json_escape(esc, sizeof esc, msg);
        int n = snprintf(body, sizeof body,
                         "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"%s\","
                         "\"reason\":\"%s\",\"code\":%d}\n",
                         esc, status == 429 ? "TooManyRequests" : "ServiceUnavailable", status);
        int m = http_format_response_head(out, sizeof out, status, "application/json", (size_t) n, false,
                                          status == 429 ? "Retry-After: 1\r\n" : NULL);
        /* Through a transport (TLS), there is no way to answer before its handshake. */
        if (!c->t && m > 0 && (size_t) m + (size_t) n <= sizeof out) {
                memcpy(out + m, body, (size_t) n);
                (void) !send(c->fd, out, (size_t) m + (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        (void) shutdown(c->fd, SHUT_WR);
        conn_set_pending(c, false);
        if (c->peer_entry) {
                c->peer_entry->conns--;
                peer_put(s, c->peer_entry);
                c->peer_entry = NULL;
        }
        c->state = CONN_REFUSED;
        s->n_refused++;
        conn_set_timer(c, REFUSED_LINGER_USEC);
}

/* A connection closed to make room for a new one: as if its time were up
 * (408 if it sent part of a request, closed if it sent nothing). */
static void conn_evict(HttpConn *c) {
        conn_set_pending(c, false);
        c->deadline = 0;
        conn_timeout(c);
}

/* Whether the peer sent bytes the server has not read yet. */
static bool conn_has_unread(HttpConn *c) {
        int n = 0;
        return ioctl(c->fd, FIONREAD, &n) == 0 && n > 0;
}

/* The connection (of key, or any when NULL) that has waited longest for its
 * request head with nothing unread: a client that is slow to send
 * (slowloris), not one the server has not read yet (a burst of clients
 * while it was busy).  NULL if there is none.  (The unread check is made on
 * the few oldest only: a list walk per new connection, not a system call
 * per connection.) */
static HttpConn *oldest_pending(HttpServer *s, const char *key, HttpConn *except) {
        HttpConn *skip[8];
        size_t n_skip = 0;
        for (;;) {
                HttpConn *best = NULL;
                for (HttpConn *c = s->conns; c; c = c->next) {
                        if (c == except || !c->pending || c->state != CONN_READING ||
                            (key && strcmp(c->peer.key, key) != 0) || (best && c->pending_since >= best->pending_since))
                                continue;
                        bool skipped = false;
                        for (size_t i = 0; i < n_skip; i++)
                                skipped |= skip[i] == c;
                        if (!skipped)
                                best = c;
                }
                if (!best || !conn_has_unread(best))
                        return best;
                /* Each of the oldest few has bytes waiting: perhaps a client
                 * that trickles one byte into each; the oldest goes anyway. */
                if (n_skip == ELEMENTSOF(skip))
                        return skip[0];
                skip[n_skip++] = best;
        }
}

static int server_accept_one(HttpServer *s, int lfd, const HttpTransport *t, void *tctx) {
        _cleanup_close_ int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
                return -errno;
        HttpConn *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->server = s;
        c->fd = TAKE_FD(fd); /* from here on, conn_free() closes it */
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        server_arm_idle(s);
        peer_identify(c->fd, &c->peer);

        int r = t ? t->open(tctx, c->fd, &c->tc) : 0;
        if (r < 0) {
                conn_free(c);
                return r;
        }
        c->t = t;
        r = sd_event_add_io(s->event, &c->io, c->fd, EPOLLIN, on_conn_io, c);
        if (r < 0) {
                conn_free(c);
                return r;
        }
        conn_set_timer(c, s->cfg.request_timeout_usec);
        int enabled = SD_EVENT_OFF;
        (void) sd_event_source_get_enabled(s->sweep_timer, &enabled);
        if (enabled == SD_EVENT_OFF) {
                (void) sd_event_source_set_time_relative(s->sweep_timer, s->sweep_usec);
                (void) sd_event_source_set_enabled(s->sweep_timer, SD_EVENT_ONESHOT);
        }

        /* The limits: per peer, the pending ones, the reserve. */
        const HttpServerConfig *cfg = &s->cfg;
        char msg[300];
        if (s->n_refused > MAX_REFUSED) {
                conn_free(c); /* refusals come faster than they go: no answer */
                return 0;
        }
        Peer *p = peer_get(s, c->peer.key);
        if (!p) {
                conn_free(c);
                return -ENOMEM;
        }
        c->peer_entry = p;
        p->conns++;
        bool privileged = cfg->privileged && cfg->privileged(c->fd, &c->peer, s->userdata);
        if (!privileged && cfg->max_per_peer > 0 && p->conns > cfg->max_per_peer) {
                snprintf(msg, sizeof msg, "too many connections from %s: at most %u at once", c->peer.key,
                         cfg->max_per_peer);
                conn_refuse_now(c, 429, msg);
                return 0;
        }
        unsigned active = s->n_conns - s->n_refused;
        if (!privileged && cfg->reserved > 0 &&
            active > (cfg->max_connections > cfg->reserved ? cfg->max_connections - cfg->reserved : 0)) {
                snprintf(msg, sizeof msg, "the server is at its connection limit (%u; the last %u are for "
                                          "administrators)", cfg->max_connections, cfg->reserved);
                conn_refuse_now(c, 503, msg);
                return 0;
        }
        conn_set_pending(c, true);
        /* Connections that never send a whole head: the oldest go for the new. */
        if (!privileged && cfg->max_pending_per_peer > 0 && p->pending > cfg->max_pending_per_peer) {
                HttpConn *old = oldest_pending(s, c->peer.key, c);
                if (old)
                        conn_evict(old);
        }
        if (cfg->max_pending > 0 && s->n_pending > cfg->max_pending) {
                HttpConn *old = oldest_pending(s, NULL, c);
                if (old)
                        conn_evict(old);
        }
        return 0;
}

static int on_resume(sd_event_source *es, uint64_t usec, void *userdata) {
        HttpServer *s = userdata;
        (void) es;
        (void) usec;
        s->resume_timer = sd_event_source_disable_unref(s->resume_timer);
        server_update_accepting(s);
        return 0;
}

static int on_listener(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        HttpServer *s = userdata;
        const HttpTransport *t = NULL;
        void *tctx = NULL;
        (void) revents;
        for (size_t k = 0; k < s->n_listeners; k++)
                if (s->listeners[k] == es) {
                        t = s->transports[k];
                        tctx = s->transport_ctx[k];
                }

        for (int i = 0; i < ACCEPT_BATCH && s->n_conns - s->n_refused < s->cfg.max_connections; i++) {
                int r = server_accept_one(s, fd, t, tctx);
                if (r == -EAGAIN || r == -EINTR || r == -ECONNABORTED)
                        break;
                if (r == -EMFILE || r == -ENFILE || r == -ENOBUFS || r == -ENOMEM) {
                        /* Out of resources: stop accepting for a moment rather than spin. */
                        log_warning_errno(r, "Failed to accept connection, pausing: %m");
                        if (!s->resume_timer &&
                            sd_event_add_time_relative(s->event, &s->resume_timer, CLOCK_MONOTONIC,
                                                       EMFILE_PAUSE_USEC, 0, on_resume, s) < 0)
                                break;
                        server_update_accepting(s);
                        break;
                }
                if (r < 0) {
                        log_warning_errno(r, "Failed to accept connection, ignoring: %m");
                        break;
                }
        }
        server_update_accepting(s);
        return 0;
}

static void server_update_accepting(HttpServer *s) {
        /* Refused connections linger a second at most, and are capped apart. */
        bool on = s->n_conns - s->n_refused < s->cfg.max_connections && !s->resume_timer;
        for (size_t i = 0; i < s->n_listeners; i++)
                (void) sd_event_source_set_enabled(s->listeners[i], on ? SD_EVENT_ON : SD_EVENT_OFF);
}

static int on_idle(sd_event_source *es, uint64_t usec, void *userdata) {
        HttpServer *s = userdata;
        (void) es;
        (void) usec;
        if (s->n_conns == 0 && s->cfg.busy && s->cfg.busy(s->userdata)) {
                server_arm_idle(s); /* not idle: look again later */
                return 0;
        }
        if (s->n_conns == 0) {
                log_info("No connections for %g s, exiting.", (double) s->cfg.idle_exit_usec / USEC_PER_SEC);
                return sd_event_exit(s->event, 0);
        }
        return 0;
}

int http_server_new(HttpServer **ret, sd_event *e, const HttpServerConfig *cfg, HttpHandler handler,
                    void *userdata) {
        _cleanup_(http_server_freep) HttpServer *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(e);
        s->cfg = *cfg;
        if (s->cfg.max_connections == 0)
                s->cfg.max_connections = 1;
        s->handler = handler;
        s->userdata = userdata;
        s->sweep_usec = MIN(s->cfg.request_timeout_usec, s->cfg.keepalive_timeout_usec) / 4;
        s->sweep_usec = MAX(s->sweep_usec, 10 * USEC_PER_MSEC);
        s->sweep_usec = MIN(s->sweep_usec, USEC_PER_SEC);
        int k = sd_event_add_time_relative(e, &s->sweep_timer, CLOCK_MONOTONIC, s->sweep_usec, 0, on_sweep, s);
        if (k < 0)
                return k;
        (void) sd_event_source_set_enabled(s->sweep_timer, SD_EVENT_OFF);
        if (s->cfg.idle_exit_usec > 0) {
                int r = sd_event_add_time_relative(e, &s->idle_timer, CLOCK_MONOTONIC,
                                                   s->cfg.idle_exit_usec, 0, on_idle, s);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

HttpServer *http_server_free(HttpServer *s) {
        if (!s)
                return NULL;
        while (s->conns)
                conn_free(s->conns);
        for (size_t i = 0; i < s->n_listeners; i++) {
                int fd = sd_event_source_get_io_fd(s->listeners[i]);
                sd_event_source_disable_unref(s->listeners[i]);
                safe_close(fd);
        }
        free(s->listeners);
        free(s->transports);
        free(s->transport_ctx);
        sd_event_source_disable_unref(s->resume_timer);
        sd_event_source_disable_unref(s->idle_timer);
        sd_event_source_disable_unref(s->sweep_timer);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

int http_server_add_listener(HttpServer *s, int fd) {
        return http_server_add_listener_transport(s, fd, NULL, NULL);
}

int http_server_add_listener_transport(HttpServer *s, int fd, const HttpTransport *t, void *ctx) {
        _cleanup_close_ int lfd = fd; /* ours, also on failure */
        /* systemd hands over blocking sockets; accepting loops until EAGAIN. */
        int flags = fcntl(lfd, F_GETFL);
        if (flags < 0 || fcntl(lfd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        const HttpTransport **ts = realloc(s->transports, (s->n_listeners + 1) * sizeof *ts);
        if (!ts)
                return -ENOMEM;
        s->transports = ts;
        void **tcs = realloc(s->transport_ctx, (s->n_listeners + 1) * sizeof *tcs);
        if (!tcs)
                return -ENOMEM;
        s->transport_ctx = tcs;
        ts[s->n_listeners] = t;
        tcs[s->n_listeners] = ctx;
        sd_event_source **l = realloc(s->listeners, (s->n_listeners + 1) * sizeof *l);
        if (!l)
                return -ENOMEM;
        s->listeners = l;
        int r = sd_event_add_io(s->event, &l[s->n_listeners], lfd, EPOLLIN, on_listener, s);
        if (r < 0)
                return r;
        s->n_listeners++;
        TAKE_FD(lfd); /* http_server_free() closes it, through the event source */
        return 0;
}

unsigned http_server_n_connections(const HttpServer *s) {
        return s->n_conns;
}

unsigned http_server_peer_connections(const HttpServer *s, const char *key) {
        const Peer *p = peer_find(s, key);
        return p ? p->conns : 0;
}
