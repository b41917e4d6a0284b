/* http.h: HTTP/1.1 message parsing and formatting, with no I/O.
 *
 * The parsers look at a buffer that holds the start of a message and either
 * find a complete head or ask for more bytes.  They never copy: names,
 * values and the target point into the caller's buffer, which must outlive
 * the HttpMessage.  They are strict where leniency lets requests be
 * smuggled (bare CR, whitespace before a colon, obs-fold, conflicting
 * Content-Length, Content-Length together with Transfer-Encoding).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 64

typedef struct HttpHeader {
        const char *name;
        size_t name_len;
        const char *value; /* without surrounding whitespace */
        size_t value_len;
} HttpHeader;

typedef struct HttpMessage {
        /* Requests */
        const char *method;
        size_t method_len;
        const char *target;
        size_t target_len;
        /* Responses */
        int status;
        const char *reason;
        size_t reason_len;

        int version_minor; /* HTTP/1.<minor>: 0 or 1 */
        HttpHeader headers[HTTP_MAX_HEADERS];
        size_t n_headers;

        uint64_t content_length;
        bool has_content_length;
        bool chunked;
        bool keep_alive;
        bool expect_continue;
        bool has_host;

        const char *error; /* what was wrong, when parsing failed (static text) */
} HttpMessage;

/* Parses a request head from buf[0..len).  At most max_head bytes may make up
 * the head.  Returns the length of the head (> 0) when it is complete, 0 when
 * more bytes are needed, or:
 *   -EBADMSG          malformed (400); m->error says what is wrong
 *   -EMSGSIZE         head longer than max_head or too many headers (431)
 *   -EPROTONOSUPPORT  an HTTP version other than 1.0/1.1 (505)
 *   -EOPNOTSUPP       a transfer coding other than chunked (501) */
int http_parse_request(const char *buf, size_t len, size_t max_head, HttpMessage *m);

/* Same for a response head; status, reason, headers and framing are set. */
int http_parse_response(const char *buf, size_t len, size_t max_head, HttpMessage *m);

/* The HTTP status that answers a parse error returned above. */
int http_status_for_error(int r);

/* The standard reason phrase for status, or "Unknown". */
const char *http_reason(int status);

/* Finds header name (case-insensitive); sets *value and *len and returns true. */
bool http_header_find(const HttpMessage *m, const char *name, const char **value, size_t *len);

/* True if the method equals s. */
bool http_method_is(const HttpMessage *m, const char *s);

/* Splits the request target into path and query (query excludes '?', may be empty). */
void http_target_split(const HttpMessage *m, const char **path, size_t *path_len, const char **query,
                       size_t *query_len);

/* Formats a response head into buf.  extra_headers, if not NULL, is a block
 * of complete "Name: value\r\n" lines.  Returns the length, or -ENOBUFS if it
 * does not fit. */
int http_format_response_head(char *buf, size_t size, int status, const char *content_type,
                              uint64_t content_length, bool keep_alive, const char *extra_headers);

/* Incremental decoder of a chunked body. */
typedef struct HttpChunked {
        int state;
        uint64_t remaining;
        size_t line_len;
} HttpChunked;

#define HTTP_CHUNKED_INIT ((HttpChunked) {})

/* Decodes buf[0..len) in place: the data of the chunks is moved to the front
 * of buf.  *consumed is how many input bytes were read, *produced how many
 * data bytes now stand at buf[0..produced).  Returns 1 when the last chunk
 * and trailers are complete (bytes after *consumed belong to the next
 * message), 0 when more input is needed, -EBADMSG on a malformed body, or
 * -EMSGSIZE when a chunk-size line or trailer is unreasonably long. */
int http_chunked_decode(HttpChunked *c, char *buf, size_t len, size_t *consumed, size_t *produced);

/* Finds parameter key in a query string ("a=1&b=x%20y") and writes its
 * %-decoded value ('+' is a space) to buf.  Returns the value's length, 0 for
 * a key without value, -ENOENT if absent, -EBADMSG for bad escapes or a
 * value that does not fit. */
int http_query_get(const char *query, size_t query_len, const char *key, char *buf, size_t size);

/* %-decodes [s, s+n) into buf (for path segments).  Returns the length or
 * -EBADMSG (bad escape, NUL, or too long). */
int http_unescape(const char *s, size_t n, char *buf, size_t size);

/* The front door's session cookie (sdflow-login(8)); __Host-: only ever
 * set by this host over TLS, for Path=/, never for another domain. */
#define SDFLOW_SESSION_COOKIE "__Host-sdflow_session"
