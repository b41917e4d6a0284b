/* daemon.c: see daemon.h. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "version.h"

static const ConfItem settings_table[] = {
        CONF_ITEM("IdleExitSec", CONF_USEC, 0, UINT64_MAX, DaemonSettings, idle_exit_usec),
        CONF_ITEM("RequestTimeoutSec", CONF_USEC, USEC_PER_MSEC, 3600 * USEC_PER_SEC, DaemonSettings,
                  request_timeout_usec),
        CONF_ITEM("KeepAliveTimeoutSec", CONF_USEC, USEC_PER_MSEC, 3600 * USEC_PER_SEC, DaemonSettings,
                  keepalive_timeout_usec),
        CONF_ITEM("MaxHeaderBytes", CONF_SIZE, 1024, 1024 * 1024, DaemonSettings, max_head),
        CONF_ITEM("MaxBodyBytes", CONF_SIZE, 0, 1ULL << 30, DaemonSettings, max_body),
        CONF_ITEM("MaxConnections", CONF_UINT, 1, 1000000, DaemonSettings, max_connections),
        CONF_ITEM("MaxConnectionsPerClient", CONF_UINT, 0, 1000000, DaemonSettings, max_per_peer),
        CONF_ITEM("MaxPendingConnections", CONF_UINT, 0, 1000000, DaemonSettings, max_pending),
        CONF_ITEM("MaxPendingPerClient", CONF_UINT, 0, 1000000, DaemonSettings, max_pending_per_peer),
        CONF_ITEM("ReservedConnections", CONF_UINT, 0, 1000000, DaemonSettings, reserved),
};

/* The common table followed by the program's own, in one array. */
static ConfItem *settings_items(const DaemonInfo *info, size_t *n) {
        size_t common = ELEMENTSOF(settings_table);
        ConfItem *all = malloc((common + info->n_items) * sizeof *all);
        if (!all)
                return NULL;
        memcpy(all, settings_table, sizeof settings_table);
        if (info->n_items)
                memcpy(all + common, info->items, info->n_items * sizeof *all);
        *n = common + info->n_items;
        return all;
}

static void help(const DaemonInfo *info) {
        printf("%s [OPTIONS...]\n\n"
               "%s\n\n"
               "Options:\n"
               "  -h --help              Show this help and exit\n"
               "     --version           Show the version and exit\n"
               "     --config=PATH       Configuration file (default: %s)\n"
               "     --check             Check the configuration, print it and exit\n"
               "     --listen=ADDR       Listen on ADDR (/path, PORT or HOST:PORT) instead of\n"
               "                         taking the socket from systemd\n"
               "%s"
               "     --idle-timeout=TIME Exit after TIME without connections (0: never);\n"
               "                         overrides IdleExitSec=\n"
               "     --set=KEY=VALUE     Override one configuration setting\n"
               "\nSee the %s man page for details.\n",
               info->program, info->summary, info->config_path,
               info->tls_socket_name ? "     --listen-tls=ADDR   Also listen on ADDR, speaking TLS\n" : "", info->man);
}

static int set_override(const char *program, const ConfItem *table, size_t n, void *s, const char *kv) {
        char key[64], err[256];
        const char *eq = strchr(kv, '=');
        if (!eq || (size_t) (eq - kv) >= sizeof key) {
                fprintf(stderr, "%s: --set expects KEY=VALUE, got '%s'\n", program, kv);
                return -EINVAL;
        }
        memcpy(key, kv, eq - kv);
        key[eq - kv] = '\0';
        const ConfItem *it = conf_find(table, n, key);
        if (!it) {
                fprintf(stderr, "%s: --set: unknown setting '%s'\n", program, key);
                return -EINVAL;
        }
        if (conf_set(it, s, eq + 1, err, sizeof err) < 0) {
                fprintf(stderr, "%s: --set: %s: %s\n", program, key, err);
                return -EINVAL;
        }
        return 0;
}

int daemon_setup(const DaemonInfo *info, int argc, char **argv, void *ret, DaemonListen *listen) {
        enum { ARG_VERSION = 0x100, ARG_CONFIG, ARG_CHECK, ARG_LISTEN, ARG_LISTEN_TLS, ARG_IDLE, ARG_SET };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "check", no_argument, NULL, ARG_CHECK },
                { "listen", required_argument, NULL, ARG_LISTEN },
                { "listen-tls", required_argument, NULL, ARG_LISTEN_TLS },
                { "idle-timeout", required_argument, NULL, ARG_IDLE },
                { "set", required_argument, NULL, ARG_SET },
                {},
        };
        const char *config = info->config_path, *idle = NULL;
        const char *sets[32];
        size_t n_sets = 0;
        bool check = false;
        int c, r;

        *listen = (DaemonListen) {};
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help(info);
                        return 1;
                case ARG_VERSION:
                        printf("%s %s\n", info->program, SDFLOW_VERSION);
                        return 1;
                case ARG_CONFIG:
                        config = optarg;
                        break;
                case ARG_CHECK:
                        check = true;
                        break;
                case ARG_LISTEN:
                        listen->plain = optarg;
                        break;
                case ARG_LISTEN_TLS:
                        if (!info->tls_socket_name) {
                                fprintf(stderr, "%s: --listen-tls: this program does not speak TLS\n", info->program);
                                return -EINVAL;
                        }
                        listen->tls = optarg;
                        break;
                case ARG_IDLE:
                        idle = optarg;
                        break;
                case ARG_SET:
                        if (n_sets >= ELEMENTSOF(sets)) {
                                fprintf(stderr, "%s: too many --set options\n", info->program);
                                return -E2BIG;
                        }
                        sets[n_sets++] = optarg;
                        break;
                case ':':
                        fprintf(stderr, "%s: option '%s' needs an argument\n", info->program, argv[optind - 1]);
                        return -EINVAL;
                default:
                        fprintf(stderr, "%s: unknown option '%s'; see --help\n", info->program, argv[optind - 1]);
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument '%s'; see --help\n", info->program, argv[optind]);
                return -EINVAL;
        }

        size_t n;
        _cleanup_free_ ConfItem *table = settings_items(info, &n);
        if (!table)
                return log_oom();
        memcpy(ret, info->defaults, info->settings_size);
        /* Strings in the defaults are shared: give the copy its own. */
        for (size_t i = 0; i < n; i++)
                if (table[i].type == CONF_STRING) {
                        char **p = (char **) ((char *) ret + table[i].offset);
                        if (*p && !(*p = strdup(*p)))
                                return log_oom();
                }
        r = conf_parse_file(config, table, n, ret, config == info->config_path);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_sets; i++)
                if (set_override(info->program, table, n, ret, sets[i]) < 0)
                        return -EINVAL;
        if (idle) {
                char kv[128];
                snprintf(kv, sizeof kv, "IdleExitSec=%s", idle);
                if (set_override(info->program, table, n, ret, kv) < 0)
                        return -EINVAL;
        }
        if (check) {
                conf_dump(stdout, table, n, ret);
                if (info->check && info->check(ret) < 0)
                        return -EINVAL;
                printf("configuration OK\n");
                return 1;
        }
        return 0;
}

HttpServerConfig daemon_http_config(const DaemonSettings *s) {
        return (HttpServerConfig) {
                .max_connections = s->max_connections,
                .max_head = s->max_head,
                .max_body = s->max_body,
                .request_timeout_usec = s->request_timeout_usec,
                .keepalive_timeout_usec = s->keepalive_timeout_usec,
                .idle_exit_usec = s->idle_exit_usec == UINT64_MAX ? 0 : s->idle_exit_usec,
                .max_per_peer = s->max_per_peer,
                .max_pending = s->max_pending,
                .max_pending_per_peer = s->max_pending_per_peer,
                .reserved = s->reserved,
        };
}

static int bind_address(const char *addr) {
        _cleanup_close_ int fd = -EBADF;

        if (addr[0] == '/') {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                struct stat st;
                if (strlen(addr) >= sizeof sa.sun_path)
                        return -ENAMETOOLONG;
                strcpy(sa.sun_path, addr);
                /* Replace a stale socket, never another kind of file. */
                if (lstat(addr, &st) == 0 && S_ISSOCK(st.st_mode))
                        (void) unlink(addr);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0)
                        return -errno;
                if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                        return -errno;
        } else {
                char host[256] = "127.0.0.1";
                const char *port = addr, *colon = strrchr(addr, ':');
                struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
                struct addrinfo *ai;
                if (colon) {
                        size_t n = colon - addr;
                        if (n >= sizeof host)
                                return -ENAMETOOLONG;
                        memcpy(host, addr, n);
                        host[n] = '\0';
                        if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
                                memmove(host, host + 1, n - 2);
                                host[n - 2] = '\0';
                        }
                        port = colon + 1;
                }
                if (getaddrinfo(host, port, &hints, &ai) != 0)
                        return -EINVAL;
                fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0) {
                        freeaddrinfo(ai);
                        return -errno;
                }
                int one = 1;
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
                        int e = errno;
                        freeaddrinfo(ai);
                        return -e;
                }
                freeaddrinfo(ai);
        }
        if (listen(fd, SOMAXCONN) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static int listen_on(HttpServer *s, const char *addr, const HttpTransport *t, void *tctx) {
        int fd = bind_address(addr);
        if (fd < 0)
                return log_error_errno(fd, "Failed to listen on %s: %m", addr);
        int r = http_server_add_listener_transport(s, fd, t, tctx);
        if (r < 0)
                return log_error_errno(r, "Failed to watch %s: %m", addr);
        return 1;
}

int daemon_add_listeners(HttpServer *s, const DaemonInfo *info, const DaemonListen *listen,
                         const HttpTransport *t, void *tctx) {
        char **names = NULL;
        int n, added = 0, r;

        if (listen->plain || listen->tls) {
                if (listen->plain && (r = listen_on(s, listen->plain, NULL, NULL)) < 0)
                        return r;
                if (listen->tls && !t)
                        return log_error_errno(EINVAL, "--listen-tls=%s: TLS is not set up (see above).", listen->tls);
                if (listen->tls && (r = listen_on(s, listen->tls, t, tctx)) < 0)
                        return r;
                return !!listen->plain + !!listen->tls;
        }

        n = sd_listen_fds_with_names(true, &names);
        if (n < 0)
                return log_error_errno(n, "Failed to get sockets from systemd: %m");
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                bool tls = names && info->tls_socket_name && strcmp(names[i], info->tls_socket_name) == 0;
                bool ours = tls || !names || strcmp(names[i], "unknown") == 0 ||
                            strcmp(names[i], info->socket_name) == 0;
                if (tls && !t) {
                        log_error("Ignoring socket '%s' (fd %d): TLS is not set up.", names[i], fd);
                        safe_close(fd);
                } else if (!ours) {
                        log_warning("Ignoring socket '%s' (fd %d): expected '%s'.", names[i], fd,
                                    info->socket_name);
                        safe_close(fd);
                } else if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
                        log_warning("Ignoring fd %d: not a listening stream socket.", fd);
                        safe_close(fd);
                } else {
                        r = http_server_add_listener_transport(s, fd, tls ? t : NULL, tls ? tctx : NULL);
                        if (r < 0)
                                log_error_errno(r, "Failed to watch socket fd %d: %m", fd);
                        else
                                added++;
                }
        }
        if (names) {
                for (int i = 0; i < n; i++)
                        free(names[i]);
                free(names);
        }
        if (added == 0)
                return log_error_errno(EBADF, "No listening socket: start %s through its .socket unit, "
                                              "or pass --listen=ADDR.", info->program);
        return added;
}

int daemon_run(sd_event *e, const char *status) {
        sigset_t ss;
        int r;

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        /* A NULL handler makes sd-event exit the loop on the signal. */
        r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");
        r = sd_event_set_watchdog(e, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable the watchdog: %m");

        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", status);
        r = sd_event_loop(e);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down.");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}

/* Frees the strings of a settings struct (the CONF_STRING members). */
static void settings_free_strings(const DaemonInfo *info, void *settings) {
        size_t n;
        _cleanup_free_ ConfItem *table = settings_items(info, &n);
        for (size_t i = 0; table && i < n; i++)
                if (table[i].type == CONF_STRING) {
                        char **p = (char **) ((char *) settings + table[i].offset);
                        free(*p);
                        *p = NULL;
                }
}

int daemon_main(const DaemonInfo *info, int argc, char **argv) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(http_server_freep) HttpServer *s = NULL;
        _cleanup_free_ void *settings = calloc(1, info->settings_size);
        void *userdata = NULL;
        DaemonListen listen;
        const HttpTransport *t = NULL;
        void *tctx = NULL;
        int r, status = EXIT_FAILURE;

        log_setup(argv[0]);
        /* OpenSSL writes to its sockets with write(), not send(MSG_NOSIGNAL):
         * a client gone in the middle must not end the daemon (systemd's
         * IgnoreSIGPIPE= covers units, not --listen). */
        (void) signal(SIGPIPE, SIG_IGN);
        if (!settings) {
                log_oom();
                return EXIT_FAILURE;
        }
        r = daemon_setup(info, argc, argv, settings, &listen);
        if (r != 0) {
                settings_free_strings(info, settings);
                return r > 0 ? EXIT_SUCCESS : 2;
        }

        r = sd_event_default(&e);
        if (r < 0) {
                log_error_errno(r, "Failed to allocate event loop: %m");
                settings_free_strings(info, settings);
                return EXIT_FAILURE;
        }
        r = info->setup ? info->setup(e, settings, &userdata) : 0;
        settings_free_strings(info, settings); /* setup copied what it keeps */
        if (r < 0)
                return EXIT_FAILURE;
        if (info->tls && info->tls(userdata, &t, &tctx) < 0) {
                if (info->teardown)
                        info->teardown(userdata);
                return EXIT_FAILURE;
        }
        HttpServerConfig cfg = daemon_http_config(settings);
        cfg.busy = info->busy;
        cfg.privileged = info->privileged;
        r = http_server_new(&s, e, &cfg, info->handler, userdata);
        if (r < 0)
                log_error_errno(r, "Failed to create server: %m");
        else if (daemon_add_listeners(s, info, &listen, t, tctx) >= 0 && (!info->confine || info->confine(userdata) >= 0) &&
                 daemon_run(e, info->status) >= 0)
                status = EXIT_SUCCESS;
        /* Connections go before what their handlers use. */
        s = http_server_free(s);
        if (info->teardown)
                info->teardown(userdata);
        return status;
}
