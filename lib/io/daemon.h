/* daemon.h: what sdflow's socket-activated daemons share: command line,
 * configuration file, sockets from systemd, and the notify/watchdog loop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "server.h"

typedef struct DaemonSettings {
        uint64_t idle_exit_usec;         /* IdleExitSec= */
        uint64_t request_timeout_usec;   /* RequestTimeoutSec= */
        uint64_t keepalive_timeout_usec; /* KeepAliveTimeoutSec= */
        uint64_t max_head;               /* MaxHeaderBytes= */
        uint64_t max_body;               /* MaxBodyBytes= */
        unsigned max_connections;        /* MaxConnections= */
        unsigned max_per_peer;           /* MaxConnectionsPerClient=: per uid (Unix socket) or address (TCP) */
        unsigned max_pending;            /* MaxPendingConnections=: without a whole request head yet */
        unsigned max_pending_per_peer;   /* MaxPendingPerClient= */
        unsigned reserved;               /* ReservedConnections=: kept for privileged peers */
} DaemonSettings;

typedef struct DaemonInfo {
        const char *program;     /* "sdflowd" */
        const char *summary;     /* one line for --help */
        const char *man;         /* "sdflowd(8)" */
        const char *config_path; /* the default configuration file */
        const char *socket_name; /* the FileDescriptorName= to take from systemd */
        /* Sockets by this FileDescriptorName= (or --listen-tls=) speak the
         * transport that tls() gives (called after setup); NULL: none. */
        const char *tls_socket_name;
        int (*tls)(void *userdata, const HttpTransport **ret, void **ret_ctx);
        /* --check: what else to report once the configuration is read (a
         * certificate, say); a negative errno fails the check. */
        int (*check)(const void *settings);
        /* The program's settings: a struct whose first member is a
         * DaemonSettings, its defaults, and the table of its own keys (with
         * offsets into that struct). */
        const void *defaults;
        size_t settings_size;
        const ConfItem *items;
        size_t n_items;
        /* Called after the configuration is read and before sockets are
         * taken: sets *userdata for the handler; returns a negative errno
         * (logged) to fail. */
        int (*setup)(sd_event *e, void *settings, void **userdata);
        /* Called once the sockets are taken, before the loop runs: where a
         * program confines itself.  Returns a negative errno (logged) to fail. */
        int (*confine)(void *userdata);
        void (*teardown)(void *userdata);
        HttpHandler handler;
        /* Whether a peer may use the reserved connections (root, admins);
         * NULL: nobody. */
        bool (*privileged)(int fd, const HttpPeer *peer, void *userdata);
        /* True while work goes on without connections: no idle exit then. */
        bool (*busy)(void *userdata);
        const char *status; /* STATUS= once ready */
} DaemonInfo;

/* What --listen= and --listen-tls= asked for (borrowed from argv), NULL if not given. */
typedef struct DaemonListen {
        const char *plain;
        const char *tls;
} DaemonListen;

/* Parses argv and the configuration file into ret (info->settings_size
 * bytes) and listen.  Returns 0 to run, 1 when the program is to exit
 * successfully (--help, --version, --check), or a negative errno after
 * printing what was wrong. */
int daemon_setup(const DaemonInfo *info, int argc, char **argv, void *ret, DaemonListen *listen);

/* The HTTP server limits that the settings describe. */
HttpServerConfig daemon_http_config(const DaemonSettings *s);

/* Adds the sockets systemd passed (those named info->socket_name, or all if
 * unnamed; those named info->tls_socket_name with the transport t) or, with
 * listen set, binds those addresses ("/path" for a Unix socket, "PORT" or
 * "HOST:PORT" for TCP).  Returns the number of listeners or a negative
 * errno (logged). */
int daemon_add_listeners(HttpServer *s, const DaemonInfo *info, const DaemonListen *listen,
                         const HttpTransport *t, void *tctx);

/* Runs the loop with SIGTERM/SIGINT handling, READY=1, STATUS=, the
 * watchdog and STOPPING=1.  Returns the loop's exit code or a negative errno. */
int daemon_run(sd_event *e, const char *status);

/* The whole life of a daemon: configuration, setup, listeners, server,
 * loop, teardown.  Returns the process exit status: 0, 1 (failure at run
 * time) or 2 (bad usage or configuration). */
int daemon_main(const DaemonInfo *info, int argc, char **argv);
