/* client.h: a blocking HTTP/1.1 client, for the CLI and tests: over a Unix
 * socket, or over whatever an endpoint connects (TLS to a remote sdflow,
 * tls.h), with an API token. */
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

/* One connection's bytes: a socket, and how to read and write it (plain,
 * or TLS).  recv and send work as on a non-blocking socket; on EAGAIN
 * they set want to what to poll for (POLLIN or POLLOUT). */
typedef struct HttpIo {
        int fd;
        void *state;
        ssize_t (*recv)(struct HttpIo *io, void *buf, size_t n);
        ssize_t (*send)(struct HttpIo *io, const void *buf, size_t n);
        void (*close)(struct HttpIo *io);
        short want;
} HttpIo;

/* Where requests go.  With socket set, that Unix socket; else connect()
 * makes the connection (before deadline, CLOCK_MONOTONIC usec; on failure a
 * negative errno with err set).  host is the Host header ("localhost" if
 * NULL); token, when set, goes as Authorization: Bearer. */
typedef struct HttpEndpoint {
        const char *socket;
        int (*connect)(const struct HttpEndpoint *e, uint64_t deadline, HttpIo *io, char *err, size_t err_size);
        void *userdata;
        const char *host;
        const char *token;
        char *error; /* connect()'s last error, for the caller to show (static buffer of the endpoint's owner) */
        size_t error_size;
} HttpEndpoint;

/* CLOCK_MONOTONIC in usec; waiting (poll) for events on fd until deadline
 * (UINT64_MAX: no end): 0, -ETIMEDOUT or a negative errno. */
uint64_t http_now_usec(void);
int http_wait_fd(int fd, short events, uint64_t deadline);

/* As http_unix_request() and http_unix_stream(), to endpoint e. */
int http_request(const HttpEndpoint *e, const char *method, const char *target, const char *content_type,
                 const void *body, size_t body_len, uint64_t timeout_usec, HttpResponse *ret);
int http_stream(const HttpEndpoint *e, const char *target, int (*cb)(const char *line, size_t len, void *ud),
                void *ud, HttpResponse *error_resp);

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
