/* forward.c: sdflow-forward, the socket-activated front of a custom model
 * server (an InferenceService's predictor.containers[]).
 *
 * A custom server listens on a TCP port, as KServe expects (8080 unless the
 * container declares another), inside the replica's own network namespace,
 * which this program shares (JoinsNamespaceOf=).  systemd hands it the
 * replica's Unix socket; each connection is relayed to 127.0.0.1:PORT.  The
 * server may still be starting when the first connection arrives, so a
 * refused connect is retried until --connect-timeout.  It exits after
 * --idle-timeout without connections, and the server, which it keeps
 * needed, stops with it (StopWhenUnneeded=): scale to zero.
 *
 * Like systemd-socket-proxyd, but that one gives up on the first refused
 * connect. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "version.h"

#define BUF_SIZE (64 * 1024)
#define RETRY_USEC (20 * 1000ULL)

typedef struct Forward Forward;

/* One direction of a relayed connection. */
typedef struct Half {
        char buf[BUF_SIZE];
        size_t len, off;
        bool eof; /* the reader ended; shut the writer once drained */
} Half;

typedef struct Pair {
        Forward *f;
        struct Pair *next, *prev;
        int client, server;
        sd_event_source *client_io, *server_io, *retry;
        uint64_t deadline;
        bool connected;
        Half up, down; /* client -> server, server -> client */
} Pair;

struct Forward {
        sd_event *event;
        sd_event_source *idle;
        Pair *pairs;
        unsigned n;
        uint16_t port;
        uint64_t idle_usec, connect_usec;
};

static void arm_idle(Forward *f) {
        if (!f->idle_usec || f->n > 0) {
                (void) sd_event_source_set_enabled(f->idle, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time_relative(f->idle, f->idle_usec);
        (void) sd_event_source_set_enabled(f->idle, SD_EVENT_ONESHOT);
}

static void pair_free(Pair *p) {
        Forward *f = p->f;
        sd_event_source_disable_unref(p->client_io);
        sd_event_source_disable_unref(p->server_io);
        sd_event_source_disable_unref(p->retry);
        safe_close(p->client);
        safe_close(p->server);
        if (p->prev)
                p->prev->next = p->next;
        else
                f->pairs = p->next;
        if (p->next)
                p->next->prev = p->prev;
        f->n--;
        free(p);
        arm_idle(f);
}

/* Which events each side wants, from what is buffered. */
static void pair_update(Pair *p) {
        uint32_t c = 0, s = 0;
        if (!p->up.eof && p->up.len == 0)
                c |= EPOLLIN;
        if (p->down.len > p->down.off)
                c |= EPOLLOUT;
        if (!p->down.eof && p->down.len == 0)
                s |= EPOLLIN;
        if (p->up.len > p->up.off)
                s |= EPOLLOUT;
        (void) sd_event_source_set_io_events(p->client_io, c);
        if (p->server_io)
                (void) sd_event_source_set_io_events(p->server_io, s);
}

/* Moves bytes from fd into h; < 0 on a broken connection. */
static int fill(int fd, Half *h) {
        if (h->eof || h->len > 0)
                return 0;
        ssize_t n = recv(fd, h->buf, sizeof h->buf, MSG_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (n == 0)
                h->eof = true;
        h->len = (size_t) n;
        h->off = 0;
        return 0;
}

/* Moves bytes from h to fd; shuts fd's writing side when h ended. */
static int drain(int fd, Half *h) {
        while (h->off < h->len) {
                ssize_t n = send(fd, h->buf + h->off, h->len - h->off, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
                h->off += (size_t) n;
        }
        h->len = h->off = 0;
        if (h->eof)
                (void) shutdown(fd, SHUT_WR);
        return 0;
}

static int on_pair_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Pair *p = userdata;
        (void) es;
        (void) fd;
        (void) revents;
        if (!p->connected)
                return 0;
        if (fill(p->client, &p->up) < 0 || drain(p->server, &p->up) < 0 || fill(p->server, &p->down) < 0 ||
            drain(p->client, &p->down) < 0 || (p->up.eof && p->down.eof && !p->up.len && !p->down.len)) {
                pair_free(p);
                return 0;
        }
        pair_update(p);
        return 0;
}

static int try_connect(Pair *p);

static int on_retry(sd_event_source *es, uint64_t usec, void *userdata) {
        (void) es;
        (void) usec;
        Pair *p = userdata;
        if (try_connect(p) < 0)
                pair_free(p);
        return 0;
}

static int on_connected(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Pair *p = userdata;
        int err = 0;
        socklen_t len = sizeof err;
        (void) es;
        (void) revents;
        if (p->connected)
                return on_pair_io(es, fd, revents, userdata);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
        if (err == ECONNREFUSED) {
                /* Not listening yet: again shortly, until the deadline. */
                p->server_io = sd_event_source_disable_unref(p->server_io);
                p->server = safe_close(p->server);
                if (try_connect(p) < 0)
                        pair_free(p);
                return 0;
        }
        if (err) {
                log_warning("Cannot connect to the model server on 127.0.0.1:%u: %s", p->f->port, strerror(err));
                pair_free(p);
                return 0;
        }
        p->connected = true;
        pair_update(p);
        return 0;
}

/* Starts a connect to the server, or schedules one; < 0 when out of time. */
static int try_connect(Pair *p) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p->f->port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        uint64_t now = 0;
        (void) sd_event_now(p->f->event, CLOCK_MONOTONIC, &now);
        p->server = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->server < 0)
                return -errno;
        if (connect(p->server, (struct sockaddr *) &sa, sizeof sa) < 0 && errno != EINPROGRESS) {
                int e = errno;
                p->server = safe_close(p->server);
                if (e != ECONNREFUSED || now >= p->deadline) {
                        log_warning("Cannot connect to the model server on 127.0.0.1:%u: %s", p->f->port,
                                    e == ECONNREFUSED ? "it did not listen in time" : strerror(e));
                        return -e;
                }
                p->retry = sd_event_source_disable_unref(p->retry);
                return sd_event_add_time_relative(p->f->event, &p->retry, CLOCK_MONOTONIC, RETRY_USEC, 0, on_retry, p);
        }
        return sd_event_add_io(p->f->event, &p->server_io, p->server, EPOLLOUT, on_connected, p);
}

static int on_accept(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Forward *f = userdata;
        (void) es;
        (void) revents;
        /* One per event: the listening socket may be blocking (it is
         * systemd's), and epoll reports the next one again. */
        {
                _cleanup_close_ int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (c < 0)
                        return 0;
                Pair *p = calloc(1, sizeof *p);
                if (!p)
                        return 0;
                uint64_t now = 0;
                (void) sd_event_now(f->event, CLOCK_MONOTONIC, &now);
                p->f = f;
                p->client = TAKE_FD(c); /* pair_free() closes it */
                p->server = -EBADF;
                p->deadline = now + f->connect_usec;
                p->next = f->pairs;
                if (f->pairs)
                        f->pairs->prev = p;
                f->pairs = p;
                f->n++;
                arm_idle(f);
                if (sd_event_add_io(f->event, &p->client_io, p->client, 0, on_pair_io, p) < 0 || try_connect(p) < 0)
                        pair_free(p);
        }
        return 0;
}

static int on_idle(sd_event_source *es, uint64_t usec, void *userdata) {
        Forward *f = userdata;
        (void) es;
        (void) usec;
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Idle, exiting.");
        return sd_event_exit(f->event, 0);
}

static int parse_seconds(const char *s, uint64_t *ret) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v > 86400)
                return -EINVAL;
        *ret = v * USEC_PER_SEC;
        return 0;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "port", required_argument, NULL, 'p' },
                { "idle-timeout", required_argument, NULL, 'i' },
                { "connect-timeout", required_argument, NULL, 'c' },
                {},
        };
        Forward f = { .port = 8080, .idle_usec = 60 * USEC_PER_SEC, .connect_usec = 60 * USEC_PER_SEC };
        int opt;
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                char *end;
                switch (opt) {
                case 'h':
                        printf("sdflow-forward [--port=PORT] [--idle-timeout=SECONDS] [--connect-timeout=SECONDS]\n\n"
                               "Relay the connections of the socket systemd passes to 127.0.0.1:PORT (default\n"
                               "8080), retrying a refused connect for --connect-timeout (default 60) while the\n"
                               "server starts; exit after --idle-timeout (default 60, 0: never) without one.\n"
                               "See sdflow-serve(8).\n");
                        return 0;
                case 'V':
                        printf("sdflow-forward %s\n", SDFLOW_VERSION);
                        return 0;
                case 'p': {
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (*end || v == 0 || v > 65535) {
                                log_error("--port: '%s' is not a port number (1-65535)", optarg);
                                return 2;
                        }
                        f.port = (uint16_t) v;
                        break;
                }
                case 'i':
                case 'c':
                        if (parse_seconds(optarg, opt == 'i' ? &f.idle_usec : &f.connect_usec) < 0) {
                                log_error("--%s: '%s' is not a number of seconds (0-86400)",
                                          opt == 'i' ? "idle-timeout" : "connect-timeout", optarg);
                                return 2;
                        }
                        break;
                default:
                        return 2;
                }
        }
        if (optind < argc) {
                log_error("Unexpected argument '%s'.", argv[optind]);
                return 2;
        }
        int n = sd_listen_fds(true);
        if (n != 1) {
                log_error("Expected one socket from systemd, got %d: run it from a socket unit.", n < 0 ? 0 : n);
                return 1;
        }
        int r = sd_event_default(&f.event);
        if (r >= 0)
                r = sd_event_add_io(f.event, NULL, SD_LISTEN_FDS_START, EPOLLIN, on_accept, &f);
        if (r >= 0)
                r = sd_event_add_time_relative(f.event, &f.idle, CLOCK_MONOTONIC, f.idle_usec ?: 1, 0, on_idle, &f);
        if (r >= 0)
                r = sd_event_set_signal_exit(f.event, true);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the event loop: %m");
                return 1;
        }
        arm_idle(&f);
        (void) sd_notifyf(false, "READY=1\nSTATUS=Relaying to 127.0.0.1:%u.", f.port);
        r = sd_event_loop(f.event);
        while (f.pairs)
                pair_free(f.pairs);
        sd_event_source_disable_unref(f.idle);
        sd_event_unref(f.event);
        return r < 0 ? 1 : 0;
}
