/* probe.c: see probe.h. */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "macro.h"
#include "probe.h"

#define PROBE_MAX (64 * 1024)

struct Probe {
        sd_event_source *io, *timer;
        int fd;
        char *req;
        size_t req_len, sent;
        char buf[PROBE_MAX + 1];
        size_t got;
        ProbeDone done;
        void *userdata;
};

static void probe_free(Probe *p) {
        if (!p)
                return;
        sd_event_source_disable_unref(p->io);
        sd_event_source_disable_unref(p->timer);
        if (p->fd >= 0)
                close(p->fd);
        free(p->req);
        free(p);
}

/* Ends the probe: the callback gets the status (or -errno) and the body. */
static void finish(Probe *p, int status, const char *body) {
        ProbeDone done = p->done;
        void *ud = p->userdata;
        /* The body lives in p: the callback gets it before p goes. */
        done(status, body ?: "", ud);
        probe_free(p);
}

int probe_parse(char *buf, size_t got, size_t max, bool at_eof, const char **body) {
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
                return at_eof || got >= max ? -EBADMSG : 0;
        int status = 0;
        if (sscanf(buf, "HTTP/1.%*1[01] %3d", &status) != 1 || status < 100 || status > 599)
                return -EBADMSG;
        *body = end + 4;
        size_t have = got - (size_t) (end + 4 - buf);
        for (char *line = strstr(buf, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n"))
                if (strncasecmp(line + 2, "content-length:", 15) == 0) {
                        unsigned long want = strtoul(line + 2 + 15, NULL, 10);
                        return have >= want || got >= max ? status : at_eof ? -EBADMSG : 0;
                }
        /* No length: the response ends with the connection (Connection: close). */
        return at_eof || got >= max ? status : 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Probe *p = userdata;
        (void) s;
        if (p->sent < p->req_len) {
                ssize_t n = send(fd, p->req + p->sent, p->req_len - p->sent, MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        finish(p, -errno, NULL);
                        return 0;
                }
                if (n > 0)
                        p->sent += (size_t) n;
                if (p->sent == p->req_len)
                        (void) sd_event_source_set_io_events(p->io, EPOLLIN);
                return 0;
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;
        ssize_t n = read(fd, p->buf + p->got, PROBE_MAX - p->got);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n < 0) {
                finish(p, p->got ? -EBADMSG : -errno, NULL);
                return 0;
        }
        p->got += (size_t) n;
        const char *body = NULL;
        int status = probe_parse(p->buf, p->got, PROBE_MAX, n == 0, &body);
        if (status != 0)
                finish(p, status, body);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        finish(userdata, -ETIMEDOUT, NULL);
        return 0;
}

int probe_start(sd_event *e, const char *sock, const char *path, uint64_t timeout_usec, ProbeDone done,
                void *userdata) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(sock) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, sock, strlen(sock) + 1);
        Probe *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->fd = -1;
        p->done = done;
        p->userdata = userdata;
        int r = asprintf(&p->req, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
        if (r < 0) {
                p->req = NULL;
                probe_free(p);
                return -ENOMEM;
        }
        p->req_len = (size_t) r;
        p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->fd < 0) {
                r = -errno;
                probe_free(p);
                return r;
        }
        /* A socket unit's listener takes the connection at once; the answer
         * comes when the server it starts has loaded its model. */
        if (connect(p->fd, (struct sockaddr *) &sa, sizeof sa) < 0 && errno != EINPROGRESS && errno != EAGAIN) {
                r = -errno;
                probe_free(p);
                return r;
        }
        r = sd_event_add_io(e, &p->io, p->fd, EPOLLOUT | EPOLLIN, on_io, p);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &p->timer, CLOCK_MONOTONIC, timeout_usec, 0, on_timeout, p);
        if (r < 0) {
                probe_free(p);
                return r;
        }
        return 0;
}
