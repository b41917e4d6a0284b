/* http.c: HTTP/1.1 head parsing (RFC 9112) and chunked decoding; see http.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* tchar of RFC 9110 5.6.2 */
static bool is_tchar(unsigned char c) {
        static const char extra[] = "!#$%&'*+-.^_`|~";
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
                return true;
        return c != 0 && strchr(extra, c) != NULL;
}

/* field-vchar, SP or HTAB; obs-text allowed */
static bool is_field_char(unsigned char c) {
        return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool equal_ci(const char *a, size_t n, const char *b) {
        return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

/* Finds the end of the next line in [p, end): returns a pointer to its LF,
 * or NULL.  A CR that is not followed by LF is an error (*bad = true). */
static const char *line_end(const char *p, const char *end, bool *bad) {
        const char *lf = memchr(p, '\n', end - p);
        const char *stop = lf ? lf : end;
        const char *cr = memchr(p, '\r', stop - p);
        if (cr && !(lf && cr + 1 == lf) && !(!lf && cr + 1 == end))
                *bad = true;
        return lf;
}

/* Length of the line content [p, lf), without a trailing CR. */
static size_t content_len(const char *p, const char *lf) {
        size_t n = lf - p;
        if (n > 0 && p[n - 1] == '\r')
                n--;
        return n;
}

static int fail(HttpMessage *m, int r, const char *what) {
        m->error = what;
        return r;
}

static int parse_version(HttpMessage *m, const char *p, size_t n) {
        if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' || p[5] > '9' ||
            p[7] < '0' || p[7] > '9')
                return fail(m, -EBADMSG, "malformed HTTP version");
        if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
                return fail(m, -EPROTONOSUPPORT, "unsupported HTTP version");
        m->version_minor = p[7] - '0';
        return 0;
}

static int parse_uint(const char *p, size_t n, uint64_t *ret) {
        uint64_t v = 0;
        if (n == 0 || n > 19)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -EBADMSG;
                v = v * 10 + (uint64_t) (p[i] - '0');
        }
        *ret = v;
        return 0;
}

/* Does the comma-separated list v contain token t (case-insensitive)? */
static bool list_has(const char *v, size_t n, const char *t) {
        size_t i = 0;
        while (i < n) {
                while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
                        i++;
                size_t s = i;
                while (i < n && v[i] != ',')
                        i++;
                size_t e = i;
                while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
                        e--;
                if (e > s && equal_ci(v + s, e - s, t))
                        return true;
        }
        return false;
}

/* The last element of a comma-separated list, trimmed. */
static void list_last(const char *v, size_t n, const char **t, size_t *tn) {
        size_t e = n;
        while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t' || v[e - 1] == ','))
                e--;
        size_t s = e;
        while (s > 0 && v[s - 1] != ',')
                s--;
        while (s < e && (v[s] == ' ' || v[s] == '\t'))
                s++;
        *t = v + s;
        *tn = e - s;
}

/* Parses header lines from p up to the empty line; sets framing fields. */
static int parse_headers(HttpMessage *m, const char *p, const char *end) {
        bool bad = false, has_te = false, close = false, keep = false;

        for (;;) {
                const char *lf = line_end(p, end, &bad);
                if (bad)
                        return fail(m, -EBADMSG, "bare CR in header");
                if (!lf)
                        return fail(m, -EBADMSG, "truncated header");
                size_t n = content_len(p, lf);
                if (n == 0)
                        break;
                if (*p == ' ' || *p == '\t')
                        return fail(m, -EBADMSG, "obsolete header line folding");
                const char *colon = memchr(p, ':', n);
                if (!colon || colon == p)
                        return fail(m, -EBADMSG, "header line without a name");
                for (const char *q = p; q < colon; q++)
                        if (!is_tchar((unsigned char) *q))
                                return fail(m, -EBADMSG, "invalid character in header name");
                const char *v = colon + 1, *ve = p + n;
                while (v < ve && (*v == ' ' || *v == '\t'))
                        v++;
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                        ve--;
                for (const char *q = v; q < ve; q++)
                        if (!is_field_char((unsigned char) *q))
                                return fail(m, -EBADMSG, "invalid character in header value");
                if (m->n_headers >= HTTP_MAX_HEADERS)
                        return fail(m, -EMSGSIZE, "too many header fields");

                HttpHeader *h = &m->headers[m->n_headers++];
                *h = (HttpHeader) { p, (size_t) (colon - p), v, (size_t) (ve - v) };

                if (equal_ci(h->name, h->name_len, "content-length")) {
                        uint64_t cl;
                        if (parse_uint(h->value, h->value_len, &cl) < 0)
                                return fail(m, -EBADMSG, "invalid Content-Length");
                        if (m->has_content_length && cl != m->content_length)
                                return fail(m, -EBADMSG, "conflicting Content-Length headers");
                        m->content_length = cl;
                        m->has_content_length = true;
                } else if (equal_ci(h->name, h->name_len, "transfer-encoding")) {
                        const char *t;
                        size_t tn;
                        list_last(h->value, h->value_len, &t, &tn);
                        if (!equal_ci(t, tn, "chunked"))
                                return fail(m, -EOPNOTSUPP, "unsupported Transfer-Encoding");
                        if (list_has(h->value, h->value_len, "gzip") ||
                            list_has(h->value, h->value_len, "deflate") ||
                            list_has(h->value, h->value_len, "compress"))
                                return fail(m, -EOPNOTSUPP, "unsupported Transfer-Encoding");
                        has_te = true;
                } else if (equal_ci(h->name, h->name_len, "connection")) {
                        close = close || list_has(h->value, h->value_len, "close");
                        keep = keep || list_has(h->value, h->value_len, "keep-alive");
                } else if (equal_ci(h->name, h->name_len, "expect")) {
                        if (!equal_ci(h->value, h->value_len, "100-continue"))
                                return fail(m, -EBADMSG, "unsupported Expect");
                        m->expect_continue = true;
                } else if (equal_ci(h->name, h->name_len, "host")) {
                        if (m->has_host)
                                return fail(m, -EBADMSG, "more than one Host header");
                        m->has_host = true;
                }
                p = lf + 1;
        }

        if (has_te) {
                if (m->has_content_length)
                        return fail(m, -EBADMSG, "both Content-Length and Transfer-Encoding");
                if (m->version_minor == 0)
                        return fail(m, -EBADMSG, "Transfer-Encoding in an HTTP/1.0 message");
                m->chunked = true;
        }
        m->keep_alive = m->version_minor == 1 ? !close : (keep && !close);
        return 0;
}

/* Finds the end of the head (after the empty line) or decides it is too big. */
static int find_head(const char *buf, size_t len, size_t max_head, HttpMessage *m, const char *too_large) {
        size_t scan = len < max_head ? len : max_head;
        const char *p = buf;
        const char *end = buf + scan;

        /* Tolerate empty lines before a request (RFC 9112 2.2). */
        while (p < end && (*p == '\r' || *p == '\n'))
                p++;
        for (const char *q = p; q < end;) {
                const char *lf = memchr(q, '\n', end - q);
                if (!lf)
                        break;
                if (lf == q || (lf == q + 1 && *q == '\r'))
                        return (int) (lf + 1 - buf);
                q = lf + 1;
        }
        if (len >= max_head)
                return fail(m, -EMSGSIZE, too_large);
        return 0;
}

/* Resets m, finds a complete head and its first line (start-line).  Returns
 * the head length (> 0) with *line, *n (without CRLF) and *next (the first
 * header line) set, 0 when more bytes are needed, or an error. */
static int parse_start(const char *buf, size_t len, size_t max_head, HttpMessage *m, bool request,
                       const char **line, size_t *n, const char **next) {
        bool bad = false;
        int head;

        *m = (HttpMessage) {};
        if (max_head > INT32_MAX)
                max_head = INT32_MAX;
        head = find_head(buf, len, max_head, m, request ? "request head too large" : "response head too large");
        if (head <= 0)
                return head;
        const char *p = buf;
        while (*p == '\r' || *p == '\n')
                p++;
        const char *lf = line_end(p, buf + head, &bad);
        if (bad || !lf)
                return fail(m, -EBADMSG, request ? "malformed request line" : "malformed status line");
        *line = p;
        *n = content_len(p, lf);
        *next = lf + 1;
        return head;
}

int http_parse_request(const char *buf, size_t len, size_t max_head, HttpMessage *m) {
        const char *p, *next;
        size_t n;
        int r, head;

        head = parse_start(buf, len, max_head, m, true, &p, &n, &next);
        if (head <= 0)
                return head;

        /* method SP request-target SP HTTP-version */
        const char *sp1 = memchr(p, ' ', n);
        if (!sp1 || sp1 == p)
                return fail(m, -EBADMSG, "malformed request line");
        const char *t = sp1 + 1;
        const char *sp2 = memchr(t, ' ', p + n - t);
        if (!sp2 || sp2 == t)
                return fail(m, -EBADMSG, "malformed request line");
        for (const char *q = p; q < sp1; q++)
                if (!is_tchar((unsigned char) *q))
                        return fail(m, -EBADMSG, "invalid method");
        for (const char *q = t; q < sp2; q++)
                if ((unsigned char) *q <= 0x20 || (unsigned char) *q >= 0x7f)
                        return fail(m, -EBADMSG, "invalid character in request target");
        m->method = p;
        m->method_len = sp1 - p;
        m->target = t;
        m->target_len = sp2 - t;
        r = parse_version(m, sp2 + 1, p + n - (sp2 + 1));
        if (r < 0)
                return r;

        r = parse_headers(m, next, buf + head);
        if (r < 0)
                return r;
        if (m->version_minor == 1 && !m->has_host)
                return fail(m, -EBADMSG, "missing Host header");
        return head;
}

int http_parse_response(const char *buf, size_t len, size_t max_head, HttpMessage *m) {
        const char *p, *next;
        size_t n;
        int r, head;

        head = parse_start(buf, len, max_head, m, false, &p, &n, &next);
        if (head <= 0)
                return head;

        /* HTTP-version SP 3DIGIT SP [reason] */
        if (n < 12 || p[8] != ' ')
                return fail(m, -EBADMSG, "malformed status line");
        r = parse_version(m, p, 8);
        if (r < 0)
                return r;
        if (p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
            (n > 12 && p[12] != ' '))
                return fail(m, -EBADMSG, "malformed status code");
        m->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
        m->reason = n > 13 ? p + 13 : p + n;
        m->reason_len = n > 13 ? n - 13 : 0;

        r = parse_headers(m, next, buf + head);
        if (r < 0)
                return r;
        return head;
}

int http_status_for_error(int r) {
        switch (r) {
        case -EMSGSIZE:
                return 431;
        case -EPROTONOSUPPORT:
                return 505;
        case -EOPNOTSUPP:
                return 501;
        default:
                return 400;
        }
}

const char *http_reason(int status) {
        switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 303: return "See Other";
        case 307: return "Temporary Redirect";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 411: return "Length Required";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 422: return "Unprocessable Content";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: return "Unknown";
        }
}

bool http_header_find(const HttpMessage *m, const char *name, const char **value, size_t *len) {
        for (size_t i = 0; i < m->n_headers; i++)
                if (equal_ci(m->headers[i].name, m->headers[i].name_len, name)) {
                        *value = m->headers[i].value;
                        *len = m->headers[i].value_len;
                        return true;
                }
        return false;
}

bool http_method_is(const HttpMessage *m, const char *s) {
        return strlen(s) == m->method_len && memcmp(m->method, s, m->method_len) == 0;
}

void http_target_split(const HttpMessage *m, const char **path, size_t *path_len, const char **query,
                       size_t *query_len) {
        const char *q = memchr(m->target, '?', m->target_len);
        *path = m->target;
        *path_len = q ? (size_t) (q - m->target) : m->target_len;
        *query = q ? q + 1 : m->target + m->target_len;
        *query_len = q ? m->target_len - *path_len - 1 : 0;
}

int http_format_response_head(char *buf, size_t size, int status, const char *content_type,
                              uint64_t content_length, bool keep_alive, const char *extra_headers) {
        int n = snprintf(buf, size,
                         "HTTP/1.1 %d %s\r\n"
                         "%s%s%s"
                         "Content-Length: %llu\r\n"
                         "%s"
                         "%s"
                         "\r\n",
                         status, http_reason(status), content_type ? "Content-Type: " : "",
                         content_type ?: "", content_type ? "\r\n" : "", (unsigned long long) content_length,
                         keep_alive ? "" : "Connection: close\r\n", extra_headers ?: "");
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return n;
}

enum {
        CH_SIZE,      /* reading hex digits of the chunk size */
        CH_EXT,       /* chunk extension up to the line end */
        CH_SIZE_LF,   /* after CR of the size line */
        CH_DATA,      /* chunk data */
        CH_DATA_CR,   /* CRLF after data */
        CH_DATA_LF,
        CH_TRAILER,   /* at the start of a trailer line */
        CH_TRAILER_LINE,
        CH_TRAILER_LF,
        CH_DONE,
};

#define CHUNK_LINE_MAX 4096

int http_chunked_decode(HttpChunked *c, char *buf, size_t len, size_t *consumed, size_t *produced) {
        size_t i = 0, o = 0;

        *consumed = *produced = 0; /* also on errors */
        while (i < len && c->state != CH_DONE) {
                unsigned char ch = (unsigned char) buf[i];

                switch (c->state) {
                case CH_SIZE: {
                        int d = ch >= '0' && ch <= '9' ? ch - '0'
                                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                : -1;
                        if (d >= 0) {
                                if (c->remaining >> 60)
                                        return -EMSGSIZE;
                                c->remaining = c->remaining * 16 + (uint64_t) d;
                                if (++c->line_len > 16)
                                        return -EMSGSIZE;
                                i++;
                                break;
                        }
                        if (c->line_len == 0)
                                return -EBADMSG;
                        if (ch == ';' || ch == ' ' || ch == '\t') {
                                c->state = CH_EXT;
                                i++;
                        } else if (ch == '\r') {
                                c->state = CH_SIZE_LF;
                                i++;
                        } else if (ch == '\n') {
                                i++;
                                goto size_done;
                        } else
                                return -EBADMSG;
                        break;
                }
                case CH_EXT:
                        if (ch == '\r')
                                c->state = CH_SIZE_LF;
                        else if (ch == '\n') {
                                i++;
                                goto size_done;
                        } else if (++c->line_len > CHUNK_LINE_MAX)
                                return -EMSGSIZE;
                        else if (ch < 0x20 && ch != '\t')
                                return -EBADMSG;
                        i++;
                        break;
                case CH_SIZE_LF:
                        if (ch != '\n')
                                return -EBADMSG;
                        i++;
                size_done:
                        c->line_len = 0;
                        c->state = c->remaining == 0 ? CH_TRAILER : CH_DATA;
                        break;
                case CH_DATA: {
                        size_t n = len - i;
                        if (n > c->remaining)
                                n = (size_t) c->remaining;
                        memmove(buf + o, buf + i, n);
                        o += n;
                        i += n;
                        c->remaining -= n;
                        if (c->remaining == 0)
                                c->state = CH_DATA_CR;
                        break;
                }
                case CH_DATA_CR:
                        if (ch == '\r')
                                c->state = CH_DATA_LF;
                        else if (ch == '\n')
                                c->state = CH_SIZE;
                        else
                                return -EBADMSG;
                        i++;
                        break;
                case CH_DATA_LF:
                        if (ch != '\n')
                                return -EBADMSG;
                        c->state = CH_SIZE;
                        i++;
                        break;
                case CH_TRAILER:
                        if (ch == '\r')
                                c->state = CH_TRAILER_LF;
                        else if (ch == '\n')
                                c->state = CH_DONE;
                        else {
                                c->state = CH_TRAILER_LINE;
                                c->line_len = 1;
                        }
                        i++;
                        break;
                case CH_TRAILER_LINE:
                        if (ch == '\n') {
                                c->state = CH_TRAILER;
                                c->line_len = 0;
                        } else if (++c->line_len > CHUNK_LINE_MAX)
                                return -EMSGSIZE;
                        i++;
                        break;
                case CH_TRAILER_LF:
                        if (ch != '\n')
                                return -EBADMSG;
                        c->state = CH_DONE;
                        i++;
                        break;
                }
        }
        *consumed = i;
        *produced = o;
        return c->state == CH_DONE ? 1 : 0;
}

static int hexval(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int unescape(const char *s, size_t n, char *buf, size_t size, bool plus) {
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                if (ch == '%') {
                        int hi, lo;
                        if (i + 2 >= n)
                                return -EBADMSG;
                        hi = hexval(s[i + 1]);
                        lo = hexval(s[i + 2]);
                        if (hi < 0 || lo < 0)
                                return -EBADMSG;
                        ch = (char) (hi * 16 + lo);
                        i += 2;
                } else if (ch == '+' && plus)
                        ch = ' ';
                if (ch == '\0' || o + 1 >= size)
                        return -EBADMSG;
                buf[o++] = ch;
        }
        buf[o] = '\0';
        return (int) o;
}

int http_unescape(const char *s, size_t n, char *buf, size_t size) {
        return unescape(s, n, buf, size, false);
}

int http_query_get(const char *query, size_t query_len, const char *key, char *buf, size_t size) {
        size_t kn = strlen(key), i = 0;
        while (i < query_len) {
                const char *p = query + i;
                const char *amp = memchr(p, '&', query_len - i);
                size_t n = amp ? (size_t) (amp - p) : query_len - i;
                const char *eq = memchr(p, '=', n);
                size_t klen = eq ? (size_t) (eq - p) : n;
                if (klen == kn && memcmp(p, key, kn) == 0) {
                        if (!eq) {
                                if (size > 0)
                                        buf[0] = '\0';
                                return 0;
                        }
                        return unescape(eq + 1, n - klen - 1, buf, size, true);
                }
                i += n + 1;
        }
        return -ENOENT;
}
