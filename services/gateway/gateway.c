/* gateway.c: sdflow-gateway, the HTTP ingress for models and notebooks.
 *
 * Today it is the socket-activated skeleton of the data plane: it takes its
 * TCP socket from systemd, answers health and version and tells every other
 * request that no route exists yet.  Routing and proxying arrive with
 * InferenceService. */
#include <string.h>

#include "daemon.h"
#include "version.h"

static void gateway_handle(HttpConn *c, const HttpMessage *req, const char *body, size_t body_len,
                           void *userdata) {
        const char *path, *query;
        size_t path_len, query_len;
        (void) body;
        (void) body_len;
        (void) userdata;

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
        (void) http_conn_reply_error(c, 404, false, "no route for this host and path");
}

static const DaemonSettings defaults = {
        .idle_exit_usec = 300 * USEC_PER_SEC,
        .request_timeout_usec = 30 * USEC_PER_SEC,
        .keepalive_timeout_usec = 75 * USEC_PER_SEC,
        .max_head = 16 * 1024,
        .max_body = 16 * 1024 * 1024,
        .max_connections = 4096,
};

static const DaemonInfo info = {
        .program = "sdflow-gateway",
        .summary = "The sdflow HTTP gateway (data plane) on TCP port 8080.",
        .man = "sdflow-gateway(8)",
        .config_path = "/etc/sdflow/gateway.conf",
        .socket_name = "http",
        .defaults = &defaults,
        .settings_size = sizeof defaults,
        .handler = gateway_handle,
        .status = "Serving HTTP.",
};

int main(int argc, char **argv) {
        return daemon_main(&info, argc, argv);
}
