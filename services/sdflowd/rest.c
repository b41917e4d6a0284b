/* rest.c: paths, Status objects and parameters of the REST API; see rest.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "rest.h"

#define MAX_WARNING_HEADERS 20

void rest_reply_json(HttpConn *c, int code, json_t *j, const char *extra_headers) {
        _cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!s) {
                (void) http_conn_reply_error(c, 500, false, "out of memory");
                return;
        }
        size_t n = strlen(s);
        s[n] = '\n'; /* replaces the NUL: the length is passed */
        (void) http_conn_reply(c, code, "application/json", s, n + 1, extra_headers);
}

static const char *reason_for(int code) {
        switch (code) {
        case 400: return "BadRequest";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "NotFound";
        case 405: return "MethodNotAllowed";
        case 409: return "Conflict";
        case 410: return "Expired";
        case 413: return "RequestEntityTooLarge";
        case 415: return "UnsupportedMediaType";
        case 422: return "Invalid";
        case 429: return "TooManyRequests";
        case 503: return "ServiceUnavailable";
        default: return "InternalError";
        }
}

void rest_reply_status(HttpConn *c, int code, const Route *rt, json_t *causes, const char *fmt, ...) {
        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);

        json_t *details = json_object();
        if (rt && rt->has_name)
                json_object_set_new(details, "name", json_string(rt->name));
        if (rt && rt->kind) {
                json_object_set_new(details, "group", json_string(rt->kind->group));
                json_object_set_new(details, "kind", json_string(rt->kind->plural));
        }
        if (causes)
                json_object_set_new(details, "causes", causes);
        /* Kubernetes' clients wait retryAfterSeconds (Retry-After:) and try again. */
        if (code == 503)
                json_object_set_new(details, "retryAfterSeconds", json_integer(1));
        json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:o, s:i}", "kind", "Status", "apiVersion", "v1",
                               "metadata", "status", "Failure", "message", msg, "reason", reason_for(code),
                               "details", details, "code", code);
        rest_reply_json(c, code, st, code == 405 ? "Allow: GET, POST, PUT, DELETE\r\n" : code == 503 ? "Retry-After: 1\r\n" : NULL);
}

static json_t *diags_causes(const Diags *d) {
        json_t *causes = json_array();
        for (size_t i = 0; i < d->n; i++)
                if (d->items[i].error)
                        json_array_append_new(causes, json_pack("{s:s, s:s, s:s}", "reason", "FieldValueInvalid",
                                                                "field", d->items[i].path, "message", d->items[i].msg));
        return causes;
}

char *rest_warning_headers(const Diags *d) {
        char *out = NULL;
        size_t size = 0;
        int n = 0;
        FILE *f = open_memstream(&out, &size);
        if (!f)
                return NULL;
        for (size_t i = 0; i < d->n && n < MAX_WARNING_HEADERS; i++) {
                if (d->items[i].error)
                        continue;
                fputs("Warning: 299 - \"", f);
                char line[1024];
                snprintf(line, sizeof line, "%s: %s", d->items[i].path, d->items[i].msg);
                for (char *p = line; *p; p++)
                        fputc(*p == '"' || *p == '\\' || (unsigned char) *p < 0x20 ? '\'' : *p, f);
                fputs("\"\r\n", f);
                n++;
        }
        fclose(f);
        if (n == 0) {
                free(out);
                return NULL;
        }
        return out;
}

void rest_reply_invalid(HttpConn *c, const Route *rt, const Diags *d) {
        _cleanup_free_ char *msg = diags_format(d, true, false);
        size_t n = msg ? strlen(msg) : 0;
        if (n > 0 && msg[n - 1] == '\n')
                msg[n - 1] = '\0';
        bool syntax = d->n == 1 && d->items[0].path[0] == '\0';
        rest_reply_status(c, syntax ? 400 : 422, rt, diags_causes(d), "%s", msg ?: "invalid object");
}

bool rest_param_true(const char *query, size_t qlen, const char *key) {
        char v[16];
        int r = http_query_get(query, qlen, key, v, sizeof v);
        return r == 0 || (r > 0 && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0));
}

bool rest_query_tail(HttpConn *c, const Route *rt, const char *query, size_t qlen, unsigned max, unsigned *tail) {
        char v[32];
        if (http_query_get(query, qlen, "tailLines", v, sizeof v) > 0) {
                char *end;
                unsigned long t = strtoul(v, &end, 10);
                if (*end || t == 0 || t > max) {
                        rest_reply_status(c, 400, rt, NULL, "tailLines must be 1..%u", max);
                        return false;
                }
                *tail = (unsigned) t;
        }
        return true;
}

/* ---- paths ----------------------------------------------------------------- */

static int next_segment(const char **p, const char *end, char *buf, size_t size) {
        if (*p >= end || **p != '/')
                return -ENOENT;
        const char *s = *p + 1, *e = memchr(s, '/', (size_t) (end - s));
        if (!e)
                e = end;
        *p = e;
        if (e == s)
                return -EBADMSG;
        return http_unescape(s, (size_t) (e - s), buf, size);
}

static bool trailing_slash(const char *p, const char *end) {
        return p + 1 == end && *p == '/';
}

int route_parse(const char *path, size_t len, Route *rt) {
        const char *p = path, *end = path + len;
        char seg[3][256];
        int r;

        *rt = (Route) {};
        if (len < 6 || memcmp(path, "/apis/", 6) != 0)
                return -ENOENT;
        p = path + 5;
        if (next_segment(&p, end, seg[0], sizeof seg[0]) < 0 || next_segment(&p, end, seg[1], sizeof seg[1]) < 0)
                return -ENOENT;
        r = next_segment(&p, end, seg[2], sizeof seg[2]);
        if (r < 0)
                return r;
        if (strcmp(seg[2], "namespaces") == 0) {
                if (next_segment(&p, end, rt->ns, sizeof rt->ns) < 0 ||
                    next_segment(&p, end, seg[2], sizeof seg[2]) < 0)
                        return -EBADMSG;
                rt->has_ns = true;
        }
        char av[600];
        snprintf(av, sizeof av, "%s/%s", seg[0], seg[1]);
        for (size_t i = 0; kinds[i]; i++) {
                char kav[128];
                kind_api_version(kinds[i], kav, sizeof kav);
                if (strcmp(kav, av) == 0 && strcmp(kinds[i]->plural, seg[2]) == 0)
                        rt->kind = kinds[i];
        }
        if (!rt->kind)
                return -ENOENT;
        r = next_segment(&p, end, rt->name, sizeof rt->name);
        if (r >= 0)
                rt->has_name = true;
        else if (r != -ENOENT)
                return r;
        /* One trailing slash is no segment: .../NAME/ is NAME. */
        if (rt->has_name && !trailing_slash(p, end)) {
                r = next_segment(&p, end, rt->sub, sizeof rt->sub);
                if (r < 0 && r != -ENOENT)
                        return r;
                if (r >= 0 && !trailing_slash(p, end)) {
                        r = next_segment(&p, end, rt->sub_name, sizeof rt->sub_name);
                        if (r < 0 && r != -ENOENT)
                                return r;
                }
        }
        if (p != end && !trailing_slash(p, end))
                return -ENOENT;
        if (rt->has_ns && !rt->kind->namespaced)
                return -ENOENT;
        return 0;
}
