/* daemon.h: what sdflow's socket-activated daemons share: command line,
 * configuration file, sockets from systemd, and the notify/watchdog loop. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "server.h"

typedef struct DaemonSettings {
        uint64_t idle_exit_usec;         /* IdleExitSec= */
        uint64_t request_timeout_usec;   /* RequestTimeoutSec= */
        uint64_t keepalive_timeout_usec; /* KeepAliveTimeoutSec= */
        uint64_t max_head;               /* MaxHeaderBytes= */
        uint64_t max_body;               /* MaxBodyBytes= */
        unsigned max_connections;        /* MaxConnections= */
} DaemonSettings;

typedef struct DaemonInfo {
        const char *program;     /* "sdflowd" */
        const char *summary;     /* one line for --help */
        const char *man;         /* "sdflowd(8)" */
        const char *config_path; /* the default configuration file */
        const char *socket_name; /* the FileDescriptorName= to take from systemd */
        DaemonSettings defaults;
} DaemonInfo;

/* Parses argv and the configuration file into *ret; *listen is set when
 * --listen was given (borrowed from argv).  Returns 0 to run, 1 when the
 * program is to exit successfully (--help, --version, --check), or a
 * negative errno after printing what was wrong (exit status 2 for usage). */
int daemon_setup(const DaemonInfo *info, int argc, char **argv, DaemonSettings *ret, const char **listen);

/* The HTTP server limits that the settings describe. */
HttpServerConfig daemon_http_config(const DaemonSettings *s);

/* Adds the sockets systemd passed (those named info->socket_name, or all if
 * unnamed) or, with listen set, binds that address ("/path" for a Unix
 * socket, "PORT" or "HOST:PORT" for TCP).  Returns the number of listeners or
 * a negative errno (logged). */
int daemon_add_listeners(HttpServer *s, const DaemonInfo *info, const char *listen);

/* Runs the loop with SIGTERM/SIGINT handling, READY=1, STATUS=, the
 * watchdog and STOPPING=1.  Returns the loop's exit code or a negative errno. */
int daemon_run(sd_event *e, const char *status);

/* The whole life of a simple daemon: setup, listeners, server, loop.
 * Returns the process exit status: 0, 1 (failure at run time) or 2 (bad
 * usage or configuration). */
int daemon_main(const DaemonInfo *info, HttpHandler handler, void *userdata, int argc, char **argv,
                const char *status);
