/* sdflowd.c: the sdflow control plane; this file only starts it. */
#include "api.h"
#include "daemon.h"

static const DaemonInfo info = {
        .program = "sdflowd",
        .summary = "The sdflow control plane: the REST API on /run/sdflow/api.sock.",
        .man = "sdflowd(8)",
        .config_path = "/etc/sdflow/sdflowd.conf",
        .socket_name = "api",
        .defaults = {
                .idle_exit_usec = 120 * USEC_PER_SEC,
                .request_timeout_usec = 10 * USEC_PER_SEC,
                .keepalive_timeout_usec = 60 * USEC_PER_SEC,
                .max_head = 16 * 1024,
                .max_body = 8 * 1024 * 1024,
                .max_connections = 256,
        },
};

int main(int argc, char **argv) {
        return daemon_main(&info, api_handle, NULL, argc, argv, "Serving the API.");
}
