/* proxy.h: forwarding a request to a model replica's Unix socket. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "server.h"

/* Idle keep-alive connections to replicas, by socket path; one idle
 * longer than a second is closed, so replicas can still scale to zero. */
typedef struct ProxyPool ProxyPool;
ProxyPool *proxy_pool_new(sd_event *e);
ProxyPool *proxy_pool_free(ProxyPool *pool);

typedef struct Proxy Proxy;

/* Called once when a proxied request ends, just before the proxy is freed:
 * with the status the client gets (499 when the client went away first)
 * and whether a freshly started server answered (a cold start). */
typedef void (*proxy_done_t)(Proxy *p, int status, bool cold, void *userdata);

/* How a request is passed on. */
typedef struct ProxyOptions {
        const char *extra_headers; /* "Name: value\r\n" lines to add, or NULL */
        /* A workload's server (a model): it gets none of the front door's
         * credentials (the session cookie, API tokens), and its answers can
         * neither set cookies nor run as a page of this origin (CSP sandbox). */
        bool workload;
} ProxyOptions;

/* Takes a copy of req (target and Host replaced, hop-by-hop headers and
 * any X-Forwarded-* dropped, o's headers added) to send later, and starts the timeout: 504 after timeout_usec
 * from now, waiting included.  Returns NULL when c was answered already
 * (out of memory); done is not called then. */
Proxy *proxy_new(sd_event *e, ProxyPool *pool, HttpConn *c, const HttpMessage *req, const char *body,
                 size_t body_len, const char *target, size_t target_len, const char *host, const ProxyOptions *o,
                 uint64_t timeout_usec, proxy_done_t done, void *userdata);

/* Sends the request to the replica listening on backend and answers the
 * client with its response: 502 when the replica cannot be reached or
 * fails.  A replica scaled to zero is started by the connection (socket
 * activation). */
void proxy_send(Proxy *p, const char *backend);

/* Answers the client with an error without sending anything. */
void proxy_fail(Proxy *p, int status, const char *msg);
