/* client.h: a blocking HTTP/1.1 client over a Unix socket, for the CLI and tests. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct HttpResponse {
        int status;
        char *body; /* NUL-terminated; points into raw */
        size_t body_len;
        char *raw;       /* the head (NUL-terminated at head_len) and body */
        size_t head_len;
} HttpResponse;

/* Sends one request to the server on Unix socket path and reads the whole
 * response (at most 64 MiB) within timeout_usec.  Returns 0 and fills *ret,
 * or a negative errno: -ENOENT/-ECONNREFUSED when nobody listens, -ETIMEDOUT,
 * -EBADMSG for a malformed response. */
int http_unix_request(const char *path, const char *method, const char *target, const char *content_type,
                      const void *body, size_t body_len, uint64_t timeout_usec, HttpResponse *ret);

void http_response_done(HttpResponse *r);

/* Calls cb for each header called name (case-insensitive) in order; the
 * value is NUL-terminated.  Returns how many there were. */
int http_response_headers(const HttpResponse *r, const char *name, void (*cb)(const char *value, void *ud), void *ud);

/* Sends a request and hands each line of a streamed (chunked) response body
 * to cb as it arrives, until the server ends it, cb returns < 0 or the
 * connection breaks.  A response that is not 200 is returned whole in
 * *error_resp (caller frees) and the result is 1.  Returns 0 when the stream
 * ended, or a negative errno. */
int http_unix_stream(const char *path, const char *target, int (*cb)(const char *line, size_t len, void *ud),
                     void *ud, HttpResponse *error_resp);
