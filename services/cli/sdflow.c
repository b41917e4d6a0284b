/* sdflow.c: the sdflow command line client (kubectl-like). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "macro.h"
#include "version.h"

#define DEFAULT_SOCKET "/run/sdflow/api.sock"

/* kubectl-style exit codes: 0 success, 1 the operation failed, 2 bad usage. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

typedef struct Args {
        const char *socket;
        const char *output; /* NULL (human), "json" or "yaml" */
        uint64_t timeout_usec;
} Args;

static void help(void) {
        printf("sdflow [OPTIONS...] COMMAND [ARGS...]\n\n"
               "Run Kubeflow workloads on one host with systemd.\n\n"
               "Commands:\n"
               "  version               Print the client and server versions\n"
               "\nOptions:\n"
               "  -h --help             Show this help and exit\n"
               "     --version          Show the client version and exit\n"
               "  -s --socket=PATH      The sdflowd API socket (default: $SDFLOW_SOCKET or\n"
               "                        " DEFAULT_SOCKET ")\n"
               "  -o --output=FORMAT    Output format: json or yaml\n"
               "     --request-timeout=SECONDS\n"
               "                        Give up on the server after this long (default 30)\n"
               "\nSee the sdflow(1) man page for details.\n");
}

static const char *server_error(int r) {
        switch (r) {
        case -ENOENT:
                return "the API socket does not exist (is sdflowd.socket started?)";
        case -ECONNREFUSED:
                return "nothing is listening on the API socket (is sdflowd.socket started?)";
        case -EACCES:
                return "permission denied on the API socket";
        case -ETIMEDOUT:
                return "the server did not answer in time";
        case -EBADMSG:
                return "the server sent a malformed response";
        default:
                return strerror(-r);
        }
}

static int cmd_version(const Args *a, int argc, char **argv) {
        HttpResponse resp;
        json_t *server = NULL;
        int r;

        if (argc > 1) {
                fprintf(stderr, "error: version takes no arguments, got '%s'\n", argv[1]);
                return EXIT_USAGE;
        }
        r = http_unix_request(a->socket, "GET", "/v1/version", NULL, NULL, 0, a->timeout_usec, &resp);
        if (r >= 0) {
                if (resp.status == 200)
                        server = json_loadb(resp.body, resp.body_len, 0, NULL);
                if (!server || !json_is_string(json_object_get(server, "version")))
                        fprintf(stderr, "error: %s answered %d with an unexpected body\n", a->socket,
                                resp.status);
                http_response_done(&resp);
        } else
                fprintf(stderr, "error: cannot reach sdflowd at %s: %s\n", a->socket, server_error(r));

        const char *sv = server ? json_string_value(json_object_get(server, "version")) : NULL;
        if (a->output && strcmp(a->output, "json") == 0) {
                json_t *o = json_pack("{s:{s:s}}", "clientVersion", "gitVersion", SDFLOW_VERSION);
                if (sv)
                        json_object_set_new(o, "serverVersion", json_pack("{s:s}", "gitVersion", sv));
                json_dumpf(o, stdout, JSON_INDENT(2));
                putchar('\n');
                json_decref(o);
        } else if (a->output && strcmp(a->output, "yaml") == 0) {
                printf("clientVersion:\n  gitVersion: %s\n", SDFLOW_VERSION);
                if (sv)
                        printf("serverVersion:\n  gitVersion: %s\n", sv);
        } else {
                printf("Client Version: %s\n", SDFLOW_VERSION);
                if (sv)
                        printf("Server Version: %s\n", sv);
        }
        json_decref(server);
        return sv ? EXIT_OK : EXIT_FAIL;
}

static const struct {
        const char *name;
        int (*run)(const Args *a, int argc, char **argv);
} commands[] = {
        { "version", cmd_version },
};

int main(int argc, char **argv) {
        enum { ARG_VERSION = 0x100, ARG_TIMEOUT };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "socket", required_argument, NULL, 's' },
                { "output", required_argument, NULL, 'o' },
                { "request-timeout", required_argument, NULL, ARG_TIMEOUT },
                {},
        };
        Args a = {
                .socket = getenv("SDFLOW_SOCKET") ?: DEFAULT_SOCKET,
                .timeout_usec = 30 * USEC_PER_SEC,
        };
        int c;

        log_setup(argv[0]);
        opterr = 0;
        /* Options may stand anywhere (GNU getopt permutes), as with kubectl. */
        while ((c = getopt_long(argc, argv, ":hs:o:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_OK;
                case ARG_VERSION:
                        printf("sdflow %s\n", SDFLOW_VERSION);
                        return EXIT_OK;
                case 's':
                        a.socket = optarg;
                        break;
                case 'o':
                        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "yaml") != 0) {
                                fprintf(stderr, "error: --output must be json or yaml, got '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        a.output = optarg;
                        break;
                case ARG_TIMEOUT: {
                        char *end;
                        errno = 0;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (errno || *end || end == optarg || v == 0 || v > 86400) {
                                fprintf(stderr, "error: --request-timeout must be 1..86400 seconds, got '%s'\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        a.timeout_usec = v * USEC_PER_SEC;
                        break;
                }
                case ':':
                        fprintf(stderr, "error: option '%s' needs an argument\n", argv[optind - 1]);
                        return EXIT_USAGE;
                default:
                        fprintf(stderr, "error: unknown option '%s'; see 'sdflow --help'\n", argv[optind - 1]);
                        return EXIT_USAGE;
                }
        if (optind >= argc) {
                fprintf(stderr, "error: no command given; see 'sdflow --help'\n");
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(argv[optind], commands[i].name) == 0)
                        return commands[i].run(&a, argc - optind, argv + optind);
        fprintf(stderr, "error: unknown command '%s'; see 'sdflow --help'\n", argv[optind]);
        return EXIT_USAGE;
}
