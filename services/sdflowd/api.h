/* api.h: the REST API of sdflowd on /run/sdflow/api.sock. */
#pragma once

#include "server.h"

/* The HttpHandler of sdflowd (userdata is unused for now). */
void api_handle(HttpConn *c, const HttpMessage *req, const char *body, size_t body_len, void *userdata);
