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

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static int wait_fd(int fd, short events, uint64_t deadline) {
        for (;;) {
                uint64_t now = now_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                struct pollfd p = { .fd = fd, .events = events };
                int r = poll(&p, 1, (int) ((deadline - now + 999) / 1000));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r > 0)
                        return 0;
        }
}

static int send_all(int fd, const char *p, size_t n, uint64_t deadline) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return -errno;
                        int r = wait_fd(fd, POLLOUT, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
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

int http_unix_request(const char *path, const char *method, const char *target, const char *content_type,
                      const void *body, size_t body_len, uint64_t timeout_usec, HttpResponse *ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        uint64_t deadline = now_usec() + timeout_usec;
        size_t len = 0, size = 0;
        char head[1024];
        HttpMessage m;
        int r, n, head_len = 0;

        *ret = (HttpResponse) {};
        fd = connect_unix(path);
        if (fd < 0)
                return fd;

        n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: sdflow\r\nConnection: close\r\n"
                     "%s%s%sContent-Length: %zu\r\n\r\n",
                     method, target, content_type ? "Content-Type: " : "", content_type ?: "",
                     content_type ? "\r\n" : "", body_len);
        if (n < 0 || (size_t) n >= sizeof head)
                return -ENAMETOOLONG;
        r = send_all(fd, head, (size_t) n, deadline);
        if (r >= 0 && body_len > 0)
                r = send_all(fd, body, body_len, deadline);
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
                r = wait_fd(fd, POLLIN, deadline);
                if (r < 0)
                        return r;
                ssize_t k = recv(fd, buf + len, size - len, MSG_DONTWAIT);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k < 0)
                        return -errno;
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
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, size = 1 << 16, data = 0; /* data: decoded bytes not yet split into lines */
        HttpChunked ch = HTTP_CHUNKED_INIT;
        HttpMessage m;
        char head[1024];
        int n, r, head_len = 0;

        *error_resp = (HttpResponse) {};
        fd = connect_unix(path);
        if (fd < 0)
                return fd;
        n = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: sdflow\r\n\r\n", target);
        if (n < 0 || (size_t) n >= sizeof head)
                return -ENAMETOOLONG;
        r = send_all(fd, head, (size_t) n, now_usec() + 30 * USEC_PER_SEC);
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
                ssize_t k = recv(fd, buf + len, size - len, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
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
                                safe_close(TAKE_FD(fd));
                                return http_unix_request(path, "GET", target, NULL, NULL, 0, 30 * USEC_PER_SEC,
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
