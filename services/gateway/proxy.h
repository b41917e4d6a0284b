/* proxy.h: forwarding a request to a model replica's Unix socket. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "server.h"

/* Idle keep-alive connections to replicas, by socket path; one idle
 * longer than a second is closed, so replicas can still scale to zero. */
typedef struct ProxyPool ProxyPool;
ProxyPool *proxy_pool_new(sd_event *e);
ProxyPool *proxy_pool_free(ProxyPool *pool);

/* Sends req (with target and Host replaced) to the replica listening on
 * backend and answers c with its response: 502 when the replica cannot be
 * reached or fails, 504 after timeout_usec.  A replica scaled to zero is
 * started by the connection (socket activation). */
void proxy_start(sd_event *e, ProxyPool *pool, HttpConn *c, const HttpMessage *req, const char *body,
                 size_t body_len, const char *backend, const char *target, size_t target_len, const char *host,
                 uint64_t timeout_usec);
