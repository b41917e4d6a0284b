/* client.c: see client.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "client.h"
#include "http.h"
#include "macro.h"

#define RESPONSE_MAX (64u << 20)

uint64_t http_now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

int http_wait_fd(int fd, short events, uint64_t deadline) {
        for (;;) {
                uint64_t now = http_now_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                struct pollfd p = { .fd = fd, .events = events };
                uint64_t ms = (deadline - now + 999) / 1000;
                int r = poll(&p, 1, deadline == UINT64_MAX || ms > INT32_MAX ? -1 : (int) ms);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r > 0)
                        return 0;
        }
}

/* ---- plain sockets ------------------------------------------------------------- */

static ssize_t plain_recv(HttpIo *io, void *buf, size_t n) {
        io->want = POLLIN;
        return recv(io->fd, buf, n, MSG_DONTWAIT);
}

static ssize_t plain_send(HttpIo *io, const void *buf, size_t n) {
        io->want = POLLOUT;
        return send(io->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void plain_close(HttpIo *io) {
        io->fd = safe_close(io->fd);
}

static void io_close(HttpIo *io) {
        if (io->close && io->fd >= 0)
                io->close(io);
        io->fd = -EBADF;
}

static int send_all(HttpIo *io, const char *p, size_t n, uint64_t deadline) {
        while (n > 0) {
                ssize_t k = io->send(io, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return -errno;
                        int r = http_wait_fd(io->fd, io->want, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Reads what comes (after waiting up to deadline): bytes, 0 at the end, or a negative errno. */
static ssize_t recv_some(HttpIo *io, char *buf, size_t n, uint64_t deadline) {
        for (;;) {
                ssize_t k = io->recv(io, buf, n);
                if (k >= 0)
                        return k;
                if (errno != EINTR && errno != EAGAIN)
                        return -errno;
                if (errno == EAGAIN) {
                        int r = http_wait_fd(io->fd, io->want, deadline);
                        if (r < 0)
                                return r;
                }
        }
}

/* A blocking stream socket connected to the Unix socket at path, or a negative errno. */
static int connect_unix(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        return fd;
}

/* Connects to e: its Unix socket, or through its connect(). */
static int endpoint_open(const HttpEndpoint *e, uint64_t deadline, HttpIo *io) {
        *io = (HttpIo) { .fd = -EBADF };
        if (e->socket) {
                int fd = connect_unix(e->socket);
                if (fd < 0)
                        return fd;
                *io = (HttpIo) { .fd = fd, .recv = plain_recv, .send = plain_send, .close = plain_close };
                return 0;
        }
        char scratch[256];
        return e->connect(e, deadline, io, e->error ?: scratch, e->error ? e->error_size : sizeof scratch);
}

static int request_head(const HttpEndpoint *e, char *head, size_t size, const char *method, const char *target,
                        const char *content_type, size_t body_len, bool stream) {
        int n = snprintf(head, size,
                         "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sdflow\r\n%s%s%s%s%s%s%s",
                         method, target, e->host ?: "localhost", stream ? "" : "Connection: close\r\n",
                         e->token ? "Authorization: Bearer " : "", e->token ?: "", e->token ? "\r\n" : "",
                         content_type ? "Content-Type: " : "", content_type ?: "", content_type ? "\r\n" : "");
        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        int k = stream ? snprintf(head + n, size - (size_t) n, "\r\n")
                       : snprintf(head + n, size - (size_t) n, "Content-Length: %zu\r\n\r\n", body_len);
        if (k < 0 || (size_t) k >= size - (size_t) n)
                return -ENAMETOOLONG;
        return n + k;
}

int http_unix_request(const char *path, const char *method, const char *target, const char *content_type,
                      const void *body, size_t body_len, uint64_t timeout_usec, HttpResponse *ret) {
        HttpEndpoint e = { .socket = path };
        return http_request(&e, method, target, content_type, body, body_len, timeout_usec, ret);
}

static void io_closep(HttpIo *io) {
        io_close(io);
}

int http_request(const HttpEndpoint *e, const char *method, const char *target, const char *content_type,
                 const void *body, size_t body_len, uint64_t timeout_usec, HttpResponse *ret) {
        _cleanup_(io_closep) HttpIo io = { .fd = -EBADF };
        _cleanup_free_ char *buf = NULL;
        uint64_t deadline = http_now_usec() + timeout_usec;
        size_t len = 0, size = 0;
        char head[2048];
        HttpMessage m;
        int r, n, head_len = 0;

        *ret = (HttpResponse) {};
        r = endpoint_open(e, deadline, &io);
        if (r < 0)
                return r;
        n = request_head(e, head, sizeof head, method, target, content_type, body_len, false);
        if (n < 0)
                return n;
        r = send_all(&io, head, (size_t) n, deadline);
        if (r >= 0 && body_len > 0)
                r = send_all(&io, body, body_len, deadline);
        if (r < 0)
                return r;

        for (;;) {
                if (size - len < 4096) {
                        size_t ns = size ? size * 2 : 16384;
                        if (ns > RESPONSE_MAX + 1)
                                return -EMSGSIZE;
                        char *p = realloc(buf, ns + 1);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        size = ns;
                }
                ssize_t k = recv_some(&io, buf + len, size - len, deadline);
                if (k < 0)
                        return (int) k;
                len += (size_t) k;
                if (head_len == 0) {
                        head_len = http_parse_response(buf, len, 64 * 1024, &m);
                        if (head_len < 0)
                                return -EBADMSG;
                        if (head_len > 0 && m.status == 100) {
                                memmove(buf, buf + head_len, len - (size_t) head_len);
                                len -= (size_t) head_len;
                                head_len = 0;
                                continue;
                        }
                }
                if (head_len > 0 && m.has_content_length && len - (size_t) head_len >= m.content_length)
                        break;
                if (k == 0) {
                        if (head_len == 0 || m.has_content_length)
                                return -EBADMSG; /* closed before the response was complete */
                        break;
                }
        }

        size_t blen = len - (size_t) head_len;
        if (m.chunked) {
                HttpChunked ch = HTTP_CHUNKED_INIT;
                size_t consumed, produced;
                r = http_chunked_decode(&ch, buf + head_len, blen, &consumed, &produced);
                if (r <= 0)
                        return -EBADMSG;
                blen = produced;
        } else if (m.has_content_length)
                blen = (size_t) m.content_length;
        buf[head_len + blen] = '\0';
        ret->head_len = (size_t) head_len;
        ret->status = m.status;
        ret->body = buf + head_len;
        ret->body_len = blen;
        ret->raw = TAKE_PTR(buf);
        return 0;
}

void http_response_done(HttpResponse *r) {
        free(r->raw);
        *r = (HttpResponse) {};
}

int http_response_headers(const HttpResponse *r, const char *name, void (*cb)(const char *value, void *ud), void *ud) {
        HttpMessage m;
        int n = 0;
        if (!r->raw || http_parse_response(r->raw, r->head_len, r->head_len + 1, &m) <= 0)
                return 0;
        for (size_t i = 0; i < m.n_headers; i++)
                if (strlen(name) == m.headers[i].name_len && strncasecmp(m.headers[i].name, name, m.headers[i].name_len) == 0) {
                        char *v = strndup(m.headers[i].value, m.headers[i].value_len);
                        if (v && cb)
                                cb(v, ud);
                        free(v);
                        n++;
                }
        return n;
}

int http_unix_stream(const char *path, const char *target, int (*cb)(const char *line, size_t len, void *ud),
                     void *ud, HttpResponse *error_resp) {
        HttpEndpoint e = { .socket = path };
        return http_stream(&e, target, cb, ud, error_resp);
}

int http_stream(const HttpEndpoint *e, const char *target, int (*cb)(const char *line, size_t len, void *ud),
                void *ud, HttpResponse *error_resp) {
        _cleanup_(io_closep) HttpIo io = { .fd = -EBADF };
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, size = 1 << 16, data = 0; /* data: decoded bytes not yet split into lines */
        HttpChunked ch = HTTP_CHUNKED_INIT;
        HttpMessage m;
        char head[2048];
        int n, r, head_len = 0;

        *error_resp = (HttpResponse) {};
        r = endpoint_open(e, http_now_usec() + 30 * USEC_PER_SEC, &io);
        if (r < 0)
                return r;
        n = request_head(e, head, sizeof head, "GET", target, NULL, 0, true);
        if (n < 0)
                return n;
        r = send_all(&io, head, (size_t) n, http_now_usec() + 30 * USEC_PER_SEC);
        if (r < 0)
                return r;
        buf = malloc(size + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == size) {
                        if (size >= RESPONSE_MAX)
                                return -EMSGSIZE;
                        char *p = realloc(buf, size * 2 + 1);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        size *= 2;
                }
                /* A watch waits as long as the server keeps it open. */
                ssize_t k = recv_some(&io, buf + len, size - len, UINT64_MAX);
                if (k < 0)
                        return (int) k;
                if (k == 0)
                        return head_len > 0 ? 0 : -EBADMSG;
                len += (size_t) k;
                if (head_len == 0) {
                        head_len = http_parse_response(buf, len, 64 * 1024, &m);
                        if (head_len < 0)
                                return -EBADMSG;
                        if (head_len == 0)
                                continue;
                        if (m.status != 200 || !m.chunked) {
                                /* Not a stream: read the rest as a plain response. */
                                io_close(&io);
                                return http_request(e, "GET", target, NULL, NULL, 0, 30 * USEC_PER_SEC,
                                                    error_resp) < 0 ? -EBADMSG : 1;
                        }
                        memmove(buf, buf + head_len, len - (size_t) head_len);
                        len -= (size_t) head_len;
                }
                /* Decode what arrived in place, after the decoded data kept so far. */
                size_t consumed, produced;
                r = http_chunked_decode(&ch, buf + data, len - data, &consumed, &produced);
                if (r < 0)
                        return -EBADMSG;
                memmove(buf + data + produced, buf + data + consumed, len - data - consumed);
                len -= consumed - produced;
                data += produced;
                /* Hand over complete lines. */
                size_t start = 0;
                for (size_t i = 0; i < data; i++)
                        if (buf[i] == '\n') {
                                buf[i] = '\0';
                                if (cb(buf + start, i - start, ud) < 0)
                                        return 0;
                                start = i + 1;
                        }
                memmove(buf, buf + start, len - start);
                len -= start;
                data -= start;
                if (r == 1)
                        return 0;
        }
}
