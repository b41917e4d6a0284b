/* proxy.c: forwards one request to a model replica's Unix socket and
 * relays the answer; see proxy.h.  One upstream connection per request
 * (Connection: close); keep-alive pools come later. */
#include <errno.h>
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

typedef struct Proxy {
        HttpConn *conn;
        sd_event_source *io, *timer;
        int fd;
        char *out;
        size_t out_len, out_off;
        char *in;
        size_t in_len, in_size;
        char backend[108];
} Proxy;

static void proxy_free(Proxy *p) {
        sd_event_source_disable_unref(p->io);
        sd_event_source_disable_unref(p->timer);
        safe_close(p->fd);
        free(p->out);
        free(p->in);
        free(p);
}

static void on_client_gone(HttpConn *c, void *userdata) {
        (void) c;
        proxy_free(userdata);
}

/* Answers the client (which ends the proxy). */
static void finish(Proxy *p, int status, const char *ctype, const char *body, size_t len, const char *msg) {
        HttpConn *c = p->conn;
        http_conn_set_close_handler(c, NULL, NULL);
        if (msg)
                (void) http_conn_reply_error(c, status, false, msg);
        else
                (void) http_conn_reply(c, status, ctype, body, len, NULL);
        proxy_free(p);
}

static void relay(Proxy *p) {
        HttpMessage m;
        char ctype[128] = "application/json", msg[300];
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
        finish(p, m.status, ctype, body, len, NULL);
}

static int on_upstream(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Proxy *p = userdata;
        char msg[300];
        (void) es;

        if (p->out_off < p->out_len) {
                ssize_t n = send(fd, p->out + p->out_off, p->out_len - p->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        snprintf(msg, sizeof msg, "the model server at %s refused the request: %s", p->backend,
                                 strerror(errno));
                        finish(p, 502, NULL, NULL, 0, msg);
                        return 0;
                }
                if (n > 0)
                        p->out_off += (size_t) n;
                if (p->out_off == p->out_len)
                        (void) sd_event_source_set_io_events(p->io, EPOLLIN);
                return 0;
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;
        for (;;) {
                if (p->in_size - p->in_len < 4096) {
                        size_t ns = p->in_size ? p->in_size * 2 : 16384;
                        if (ns > RESPONSE_MAX) {
                                finish(p, 502, NULL, NULL, 0, "the model server's answer is too large");
                                return 0;
                        }
                        char *q = realloc(p->in, ns + 1);
                        if (!q) {
                                finish(p, 500, NULL, NULL, 0, "out of memory");
                                return 0;
                        }
                        p->in = q;
                        p->in_size = ns;
                }
                ssize_t n = recv(fd, p->in + p->in_len, p->in_size - p->in_len, MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n < 0) {
                        snprintf(msg, sizeof msg, "the model server at %s failed: %s", p->backend, strerror(errno));
                        finish(p, 502, NULL, NULL, 0, msg);
                        return 0;
                }
                if (n == 0) {
                        if (p->in_len == 0) {
                                snprintf(msg, sizeof msg, "the model server at %s closed without answering",
                                         p->backend);
                                finish(p, 502, NULL, NULL, 0, msg);
                        } else
                                relay(p);
                        return 0;
                }
                p->in_len += (size_t) n;
        }
}

static int on_timeout(sd_event_source *es, uint64_t usec, void *userdata) {
        Proxy *p = userdata;
        (void) es;
        (void) usec;
        finish(p, 504, NULL, NULL, 0, "the model server did not answer in time");
        return 0;
}

static bool hop_by_hop(const HttpHeader *h) {
        static const char *const names[] = { "connection", "keep-alive", "te", "transfer-encoding", "upgrade",
                                             "proxy-connection", "content-length", "expect", "host" };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (strlen(names[i]) == h->name_len && strncasecmp(h->name, names[i], h->name_len) == 0)
                        return true;
        return false;
}

void proxy_start(sd_event *e, HttpConn *c, const HttpMessage *req, const char *body, size_t body_len,
                 const char *backend, const char *target, size_t target_len, const char *host, uint64_t timeout_usec) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char msg[300];
        Proxy *p = calloc(1, sizeof *p);
        if (!p) {
                (void) http_conn_reply_error(c, 500, false, "out of memory");
                return;
        }
        p->conn = c;
        p->fd = -EBADF;
        snprintf(p->backend, sizeof p->backend, "%s", backend);
        http_conn_set_close_handler(c, on_client_gone, p);

        /* The request, re-framed: hop-by-hop headers dropped, the body whole. */
        FILE *f = open_memstream(&p->out, &p->out_len);
        if (!f) {
                finish(p, 500, NULL, NULL, 0, "out of memory");
                return;
        }
        fprintf(f, "%.*s %.*s HTTP/1.1\r\nHost: %s\r\n", (int) req->method_len, req->method, (int) target_len, target,
                host);
        for (size_t i = 0; i < req->n_headers; i++)
                if (!hop_by_hop(&req->headers[i]))
                        fprintf(f, "%.*s: %.*s\r\n", (int) req->headers[i].name_len, req->headers[i].name,
                                (int) req->headers[i].value_len, req->headers[i].value);
        fprintf(f, "Content-Length: %zu\r\nConnection: close\r\n\r\n", body_len);
        fwrite(body, 1, body_len, f);
        if (fclose(f) != 0 || !p->out) {
                finish(p, 500, NULL, NULL, 0, "out of memory");
                return;
        }

        if (strlen(backend) >= sizeof sa.sun_path) {
                finish(p, 502, NULL, NULL, 0, "the replica's socket path is too long");
                return;
        }
        strcpy(sa.sun_path, backend);
        p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->fd < 0 || (connect(p->fd, (struct sockaddr *) &sa, sizeof sa) < 0 && errno != EINPROGRESS &&
                          errno != EAGAIN)) {
                snprintf(msg, sizeof msg, "cannot reach the model server at %s: %s", backend, strerror(errno));
                finish(p, 502, NULL, NULL, 0, msg);
                return;
        }
        if (sd_event_add_io(e, &p->io, p->fd, EPOLLOUT, on_upstream, p) < 0 ||
            sd_event_add_time_relative(e, &p->timer, CLOCK_MONOTONIC, timeout_usec, 0, on_timeout, p) < 0) {
                finish(p, 500, NULL, NULL, 0, "cannot watch the upstream connection");
                return;
        }
}
