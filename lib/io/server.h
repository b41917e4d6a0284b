/* server.h: a small HTTP/1.1 server on sd-event for sdflow's daemons.
 *
 * It accepts on listening sockets handed over by systemd, reads requests
 * within limits (head size, body size, time), calls one handler per
 * request and writes the response, with keep-alive and pipelining.  A bad or
 * slow connection is answered (400/408/413/431/…) and released; it never
 * stops the server.  When no connection has been open for the idle time,
 * the event loop exits, so a socket-activated daemon scales to zero.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "http.h"
#include "macro.h"

typedef struct HttpServer HttpServer;
typedef struct HttpConn HttpConn;

/* Who is at the other end of a connection: a Unix socket's peer (uid), or
 * a TCP client's address.  key names the peer in the per-peer limits. */
typedef struct HttpPeer {
        int family;               /* AF_UNIX, AF_INET, AF_INET6 */
        uid_t uid;                /* AF_UNIX: SO_PEERCRED */
        gid_t gid;
        pid_t pid;
        char addr[64];            /* AF_INET*: the address, as text */
        char key[80];             /* "uid 1000", "address 127.0.0.1" */
} HttpPeer;

typedef struct HttpServerConfig {
        unsigned max_connections;        /* accepting pauses at this count */
        /* Per peer (a uid on a Unix socket, an address on TCP), so that one
         * user or client cannot take the connections of all: past
         * max_per_peer connections a new one is answered 429 and closed. */
        unsigned max_per_peer;           /* 0: no limit */
        /* Connections that have not sent a whole request head yet (slowloris):
         * past max_pending in all, or max_pending_per_peer of one peer, the
         * oldest such connection (of that peer) is closed for the new one. */
        unsigned max_pending;            /* 0: no limit */
        unsigned max_pending_per_peer;   /* 0: no limit */
        /* The last reserved connections are only for privileged peers (root,
         * admins): the others get 503 past max_connections - reserved. */
        unsigned reserved;
        bool (*privileged)(int fd, const HttpPeer *peer, void *userdata);
        size_t max_head;                 /* bytes of request line + headers */
        size_t max_body;                 /* bytes of body, after dechunking */
        uint64_t request_timeout_usec;   /* a request must arrive whole within this */
        uint64_t keepalive_timeout_usec; /* an idle keep-alive connection is closed after this */
        uint64_t idle_exit_usec;         /* exit the loop after this long without connections; 0 = never */
        bool (*busy)(void *userdata);    /* when it says true (userdata: the handler's), idle is not idle */
} HttpServerConfig;

#define HTTP_SERVER_CONFIG_DEFAULT                                                                 \
        ((HttpServerConfig) {                                                                      \
                .max_connections = 1024,                                                           \
                .max_head = 16 * 1024,                                                             \
                .max_body = 1024 * 1024,                                                           \
                .request_timeout_usec = 10 * 1000000ULL,                                           \
                .keepalive_timeout_usec = 60 * 1000000ULL,                                         \
                .idle_exit_usec = 0,                                                               \
        })

/* Called once per complete request.  body is NUL-terminated (the NUL is not
 * counted in body_len).  The handler answers with http_conn_reply(), now or
 * later; until then the connection reads nothing more. */
typedef void (*HttpHandler)(HttpConn *c, const HttpMessage *req, const char *body, size_t body_len,
                            void *userdata);

/* Creates a server on event loop e.  Returns 0 or a negative errno. */
int http_server_new(HttpServer **ret, sd_event *e, const HttpServerConfig *cfg, HttpHandler handler,
                    void *userdata);

/* Closes every connection and listener; returns NULL. */
HttpServer *http_server_free(HttpServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpServer *, http_server_free);

/* Starts accepting on listening socket fd, which the server now owns (also on failure). */
int http_server_add_listener(HttpServer *s, int fd);

/* A transport over a connection's socket other than plain bytes (TLS,
 * tls.h), for the connections of one listener.  recv and send work as
 * recv()/send() on a non-blocking socket (bytes, 0 at the end, or -1 with
 * errno: EAGAIN to wait); when one waits for the other direction (a
 * handshake, a key update) it sets *other, and the server then waits for
 * that too. */
typedef struct HttpTransport {
        const char *name;                             /* "TLS" */
        int (*open)(void *ctx, int fd, void **ret);   /* a new connection's state */
        ssize_t (*recv)(void *conn, void *buf, size_t n, bool *other);
        ssize_t (*send)(void *conn, const void *buf, size_t n, bool *other);
        bool (*pending)(void *conn);                  /* bytes read and not taken yet */
        void (*shutdown)(void *conn);                 /* the end of the stream, best effort */
        void (*close)(void *conn);                    /* frees the state */
} HttpTransport;

/* As http_server_add_listener(), with transport t (ctx is passed to t->open()). */
int http_server_add_listener_transport(HttpServer *s, int fd, const HttpTransport *t, void *ctx);

/* Whether the connection came through a transport (TLS). */
bool http_conn_secure(HttpConn *c);

unsigned http_server_n_connections(const HttpServer *s);

/* Sends the response to the request being handled.  extra_headers is a block
 * of complete "Name: value\r\n" lines or NULL.  Returns 0, or a negative errno
 * if the connection is gone (it is released either way). */
int http_conn_reply(HttpConn *c, int status, const char *content_type, const void *body, size_t len,
                    const char *extra_headers);

/* For a handler that answers later: h is called if the connection goes
 * before it answers (the server shuts down, say).  Set NULL before replying. */
typedef void (*HttpCloseHandler)(HttpConn *c, void *userdata);
void http_conn_set_close_handler(HttpConn *c, HttpCloseHandler h, void *userdata);

/* A JSON error body {"error": msg, "code": status}; closes the connection if close_after. */
int http_conn_reply_error(HttpConn *c, int status, bool close_after, const char *msg);

/* The connection's socket, for getsockopt(). */
int http_conn_fd(HttpConn *c);

/* The peer of a connection, as found when it was accepted. */
const HttpPeer *http_conn_peer(HttpConn *c);

/* How many connections the peer key has open now. */
unsigned http_server_peer_connections(const HttpServer *s, const char *key);

/* The credentials of the peer of a Unix socket connection (SO_PEERCRED). */
int http_conn_peer_cred(HttpConn *c, struct ucred *ret);

/* The supplementary groups of the peer (SO_PEERGROUPS), at most max; returns
 * how many, or a negative errno. */
int http_conn_peer_groups(HttpConn *c, gid_t *groups, size_t max);

/* Streaming responses (watches): a chunked response whose end is not known
 * when it starts.  The connection belongs to the stream until
 * http_conn_stream_end(), or until the peer goes, when on_close is called
 * once (the connection is then freed right after).  A consumer that lets more
 * than HTTP_STREAM_MAX_QUEUED bytes pile up is dropped.  Each call returns 0
 * or a negative errno, in which case the connection is gone (on_close was
 * called). */
#define HTTP_STREAM_MAX_QUEUED (16u << 20)
int http_conn_stream_start(HttpConn *c, int status, const char *content_type, const char *extra_headers,
                           HttpCloseHandler on_close, void *userdata);
/* -ENOBUFS (the connection stays) when the chunk would take the queue past
 * HTTP_STREAM_MAX_QUEUED: nothing of it is queued. */
int http_conn_stream_write(HttpConn *c, const void *data, size_t len);
/* Bytes that may still be queued. */
size_t http_conn_stream_room(HttpConn *c);
int http_conn_stream_end(HttpConn *c);
