/* client.h: a blocking HTTP/1.1 client over a Unix socket, for the CLI and tests. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct HttpResponse {
        int status;
        char *body; /* NUL-terminated; points into raw */
        size_t body_len;
        char *raw;
} HttpResponse;

/* Sends one request to the server on Unix socket path and reads the whole
 * response (at most 64 MiB) within timeout_usec.  Returns 0 and fills *ret,
 * or a negative errno: -ENOENT/-ECONNREFUSED when nobody listens, -ETIMEDOUT,
 * -EBADMSG for a malformed response. */
int http_unix_request(const char *path, const char *method, const char *target, const char *content_type,
                      const void *body, size_t body_len, uint64_t timeout_usec, HttpResponse *ret);

void http_response_done(HttpResponse *r);
