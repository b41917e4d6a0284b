/* proxy.h: forwarding a request to a model replica's Unix socket. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "server.h"

/* Sends req (with target and Host replaced) to the replica listening on
 * backend and answers c with its response: 502 when the replica cannot be
 * reached or fails, 504 after timeout_usec.  A replica scaled to zero is
 * started by the connection (socket activation). */
void proxy_start(sd_event *e, HttpConn *c, const HttpMessage *req, const char *body, size_t body_len,
                 const char *backend, const char *target, size_t target_len, const char *host, uint64_t timeout_usec);
