/* api.c: request routing of sdflowd.  Today: health and version. */
#include <jansson.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "version.h"

static bool path_is(const char *p, size_t n, const char *s) {
        return strlen(s) == n && memcmp(p, s, n) == 0;
}

static void reply_json(HttpConn *c, int status, json_t *j) {
        char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!s) {
                (void) http_conn_reply_error(c, 500, false, "out of memory");
                return;
        }
        size_t n = strlen(s);
        s[n] = '\n'; /* replaces the NUL; length passed explicitly */
        (void) http_conn_reply(c, status, "application/json", s, n + 1, NULL);
        free(s);
}

static void version(HttpConn *c) {
        reply_json(c, 200,
                   json_pack("{s:s, s:s, s:s, s:[s]}", "component", "sdflowd", "version", SDFLOW_VERSION,
                             "gitVersion", SDFLOW_VERSION, "apiVersions", "v1"));
}

void api_handle(HttpConn *c, const HttpMessage *req, const char *body, size_t body_len, void *userdata) {
        const char *path, *query;
        size_t path_len, query_len;
        (void) body;
        (void) body_len;
        (void) userdata;

        http_target_split(req, &path, &path_len, &query, &query_len);

        if (path_is(path, path_len, "/healthz") || path_is(path, path_len, "/v1/version")) {
                if (!http_method_is(req, "GET")) {
                        (void) http_conn_reply(c, 405, "application/json",
                                               "{\"error\":\"method not allowed\",\"code\":405}\n", 43,
                                               "Allow: GET\r\n");
                        return;
                }
                if (path_len == 8)
                        (void) http_conn_reply(c, 200, "text/plain", "ok\n", 3, NULL);
                else
                        version(c);
                return;
        }
        (void) http_conn_reply_error(c, 404, false, "no such API path");
}
