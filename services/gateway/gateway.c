/* gateway.c: sdflow-gateway, the HTTP ingress for models.
 *
 * It takes its TCP socket from systemd, routes a request by its Host
 * (<isvc>.<ns>.<domain>) or by the path /serving/<ns>/<isvc>/..., and
 * proxies it to one of the InferenceService's replica sockets, round robin;
 * a replica scaled to zero is started by the connection. */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "proxy.h"
#include "routes.h"
#include "version.h"

typedef struct Settings {
        DaemonSettings daemon;
        char *routes_path; /* RoutesFile= */
} Settings;

typedef struct Gateway {
        sd_event *event;
        Routes routes;
        ProxyPool *pool;
        char *routes_path;
        uint64_t timeout_usec;
} Gateway;

static void gateway_handle(HttpConn *c, const HttpMessage *req, const char *body, size_t body_len,
                           void *userdata) {
        const char *path, *query;
        size_t path_len, query_len;

        Gateway *g = userdata;
        http_target_split(req, &path, &path_len, &query, &query_len);
        if (path_len == 8 && memcmp(path, "/healthz", 8) == 0) {
                (void) http_conn_reply(c, 200, "text/plain", "ok\n", 3, NULL);
                return;
        }
        if (path_len == 11 && memcmp(path, "/v1/version", 11) == 0) {
                static const char v[] = "{\"component\":\"sdflow-gateway\",\"version\":\"" SDFLOW_VERSION "\"}\n";
                (void) http_conn_reply(c, 200, "application/json", v, sizeof v - 1, NULL);
                return;
        }
        uint64_t now = 0;
        (void) sd_event_now(g->event, CLOCK_MONOTONIC, &now);
        int r = routes_refresh(&g->routes, g->routes_path, now);
        if (r < 0)
                log_warning_errno(r, "Failed to read the route table %s, keeping the old one: %m", g->routes_path);
        const char *host;
        size_t host_len, rest = 0;
        Route *rt = NULL;
        if (http_header_find(req, "host", &host, &host_len))
                rt = (Route *) routes_by_host(&g->routes, host, host_len);
        if (!rt)
                rt = (Route *) routes_by_path(&g->routes, req->target, req->target_len, &rest);
        if (!rt) {
                (void) http_conn_reply_error(c, 404, false, "no InferenceService for this host or path");
                return;
        }
        const char *backend = route_next_backend(rt);
        if (!backend) {
                (void) http_conn_reply_error(c, 503, false, "the InferenceService has no replica");
                return;
        }
        char vhost[300];
        snprintf(vhost, sizeof vhost, "%s", rt->host);
        proxy_start(g->event, g->pool, c, req, body, body_len, backend, req->target + rest, req->target_len - rest, vhost,
                    g->timeout_usec);
}

static const Settings defaults = {
        .daemon = {
                .idle_exit_usec = 300 * USEC_PER_SEC,
                .request_timeout_usec = 30 * USEC_PER_SEC,
                .keepalive_timeout_usec = 75 * USEC_PER_SEC,
                .max_head = 16 * 1024,
                .max_body = 16 * 1024 * 1024,
                .max_connections = 4096,
        },
        .routes_path = (char *) "/run/sdflow/routes.json",
};

static const ConfItem items[] = {
        CONF_ITEM("RoutesFile", CONF_STRING, 0, 0, Settings, routes_path),
};

static int setup(sd_event *e, void *settings, void **userdata) {
        Settings *s = settings;
        Gateway *g = calloc(1, sizeof *g);
        if (!g)
                return log_oom();
        g->event = e;
        g->pool = proxy_pool_new(e);
        if (!g->pool) {
                free(g);
                return log_oom();
        }
        g->routes_path = strdup(s->routes_path ?: "/run/sdflow/routes.json");
        /* A model answers within the request timeout, or the client gets 504. */
        g->timeout_usec = s->daemon.request_timeout_usec;
        *userdata = g;
        return 0;
}

static void teardown(void *userdata) {
        Gateway *g = userdata;
        if (!g)
                return;
        routes_done(&g->routes);
        proxy_pool_free(g->pool);
        free(g->routes_path);
        free(g);
}

static const DaemonInfo info = {
        .program = "sdflow-gateway",
        .summary = "The sdflow HTTP gateway (data plane) on TCP port 8080.",
        .man = "sdflow-gateway(8)",
        .config_path = "/etc/sdflow/gateway.conf",
        .socket_name = "http",
        .defaults = &defaults,
        .settings_size = sizeof defaults,
        .items = items,
        .n_items = ELEMENTSOF(items),
        .setup = setup,
        .teardown = teardown,
        .handler = gateway_handle,
        .status = "Serving HTTP.",
};

int main(int argc, char **argv) {
        return daemon_main(&info, argc, argv);
}
