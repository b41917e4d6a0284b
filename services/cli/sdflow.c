/* sdflow.c: the sdflow command line client (kubectl-like): options and dispatch. */
#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "version.h"

static void help(void) {
        printf("sdflow [OPTIONS...] COMMAND [ARGS...]\n\n"
               "Run Kubeflow workloads on one host with systemd.\n\n"
               "Commands:\n"
               "  apply -f FILE|DIR|-     Create or update objects from YAML or JSON manifests\n"
               "  get KIND [NAME...]      List objects, or show some (-o, -l, -w, -A)\n"
               "  describe KIND NAME      Show one object in detail\n"
               "  delete KIND NAME...     Delete objects (also: delete -f FILE)\n"
               "  top namespaces          Quota and current use of each namespace\n"
               "  contributor list NS     Who besides the owner may use namespace NS\n"
               "  contributor add|remove NS USER...\n"
               "                          Let Unix users use NS, or not (owner or admin)\n"
               "  token list NS           The bearer tokens of NS's models at the gateway (names)\n"
               "  token create|delete NS NAME\n"
               "                          Make one (shown once) or revoke it (owner or admin)\n"
               "  token list|create|delete --user [NAME]\n"
               "                          Your personal API tokens, for --server (sdflow-login(8))\n"
               "  session list|revoke ID  Web login sessions (yours; an admin's: everyone's)\n"
               "  predict NAME -f FILE    Send a KServe V1 or V2 request to an InferenceService\n"
               "  logs isvc/NAME          The replicas' log lines from the journal (--tail=N)\n"
               "  logs wf/NAME [NODE]     A workflow's steps' log lines (of one node: id or name)\n"
               "  logs trial/NAME         A Katib trial's output\n"
               "  submit -f FILE [-w]     Create workflows (generateName gives each run a name);\n"
               "                          -w follows them until they end (exit 1 if one failed)\n"
               "  resubmit NAME           Run a workflow again, as a new one (NAME-xxxxx)\n"
               "  retry NAME              Run again what failed in a workflow, keep what succeeded\n"
               "  retry KIND/NAME         Process again an object sdflowd quarantined (it crashed twice on it)\n"
               "  stop NAME               Stop a workflow's steps; its exit handler still runs\n"
               "  terminate NAME          Stop a workflow's steps, without the exit handler\n"
               "  suspend|resume NAME     Hold a workflow's new steps, or let them (and suspend\n"
               "                          steps) go on\n"
               "  trigger CRONWORKFLOW    Run a CronWorkflow now, as its systemd timer does\n"
               "  api-resources           List the kinds the server knows, with short names\n"
               "  version                 Print the client and server versions\n"
               "\nKinds: profile (profiles), isvc (inferenceservices), wf (workflows),\n"
               "cwf (cronworkflows), exp (experiments).  get wf NAME draws the node tree;\n"
               "get wf|exp NAME -w follows it until it ends; describe exp NAME lists its trials.\n"
               "\nOptions:\n"
               "  -h --help               Show this help and exit\n"
               "     --version            Show the client version and exit\n"
               "  -n --namespace=NS       The namespace (default: $SDFLOW_NAMESPACE)\n"
               "  -A --all-namespaces     List across every namespace you may see\n"
               "  -f --filename=PATH      A manifest file, a directory of them, or - (repeatable)\n"
               "  -o --output=FORMAT      json, yaml, wide or name\n"
               "  -l --selector=SELECTOR  Label selector, e.g. app=web,tier!=db\n"
               "  -w --watch              After listing, print changes as they happen\n"
               "  -y --yes                Do not ask before deleting a Profile\n"
               "     --tail=N             logs: the last N lines (default 100)\n"
               "  -s --socket=PATH        The sdflowd API socket (default: $SDFLOW_SOCKET or\n"
               "                          " CLI_DEFAULT_SOCKET ")\n"
               "     --request-timeout=SECONDS\n"
               "                          Give up on the server after this long (default 30)\n"
               "     --server=https://HOST[:PORT]\n"
               "                          A remote sdflow (default: $SDFLOW_SERVER, or the\n"
               "                          current context of ~/.config/sdflow/config)\n"
               "     --token-file=FILE    The API token for it (default: $SDFLOW_TOKEN)\n"
               "     --certificate-authority=FILE\n"
               "                          Trust the server's certificate if FILE signed it\n"
               "     --insecure-skip-tls-verify\n"
               "                          Do not check the server's certificate\n"
               "     --context=NAME       Use that context of the config file\n"
               "\n'sdflow COMMAND --help' shows a command's own usage, options and examples;\n"
               "the sdflow(1) man page has the details.\n");
}

static const struct {
        const char *name;
        int (*run)(Cli *cli, int argc, char **argv);
} commands[] = {
        { "apply", cli_apply },
        { "get", cli_get },
        { "describe", cli_describe },
        { "delete", cli_delete },
        { "api-resources", cli_api_resources },
        { "top", cli_top },
        { "contributor", cli_contributor },
        { "token", cli_token },
        { "session", cli_session },
        { "predict", cli_predict },
        { "logs", cli_logs },
        { "submit", cli_submit },
        { "resubmit", cli_resubmit },
        { "retry", cli_wf_action },
        { "stop", cli_wf_action },
        { "terminate", cli_wf_action },
        { "suspend", cli_wf_action },
        { "resume", cli_wf_action },
        { "trigger", cli_trigger },
        { "version", cli_version },
};

int main(int argc, char **argv) {
        enum { ARG_VERSION = 0x100, ARG_TIMEOUT, ARG_TAIL, ARG_SCHEDULED, ARG_SERVER, ARG_TOKEN_FILE, ARG_CA, ARG_INSECURE,
               ARG_CONTEXT, ARG_USER, ARG_EXPIRES };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "socket", required_argument, NULL, 's' },
                { "output", required_argument, NULL, 'o' },
                { "namespace", required_argument, NULL, 'n' },
                { "all-namespaces", no_argument, NULL, 'A' },
                { "filename", required_argument, NULL, 'f' },
                { "selector", required_argument, NULL, 'l' },
                { "watch", no_argument, NULL, 'w' },
                { "yes", no_argument, NULL, 'y' },
                { "request-timeout", required_argument, NULL, ARG_TIMEOUT },
                { "tail", required_argument, NULL, ARG_TAIL },
                { "scheduled", no_argument, NULL, ARG_SCHEDULED },
                { "server", required_argument, NULL, ARG_SERVER },
                { "token-file", required_argument, NULL, ARG_TOKEN_FILE },
                { "certificate-authority", required_argument, NULL, ARG_CA },
                { "insecure-skip-tls-verify", no_argument, NULL, ARG_INSECURE },
                { "context", required_argument, NULL, ARG_CONTEXT },
                { "user", no_argument, NULL, ARG_USER },
                { "expires", required_argument, NULL, ARG_EXPIRES },
                {},
        };
        Cli cli = {
                .socket = getenv("SDFLOW_SOCKET") ?: CLI_DEFAULT_SOCKET,
                .ns = getenv("SDFLOW_NAMESPACE"),
                .timeout_usec = 30 * USEC_PER_SEC,
        };
        CliRemote remote = {};
        bool want_help = false;
        int c;

        log_setup(argv[0]);
        /* A server gone in the middle of a TLS write: an error, not the end. */
        (void) signal(SIGPIPE, SIG_IGN);
        opterr = 0;
        /* Options may stand anywhere (GNU getopt permutes), as with kubectl. */
        while ((c = getopt_long(argc, argv, ":hs:o:n:Af:l:wy", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        want_help = true;
                        break;
                case ARG_VERSION:
                        printf("sdflow %s\n", SDFLOW_VERSION);
                        return CLI_OK;
                case 's':
                        cli.socket = optarg;
                        break;
                case 'o':
                        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "yaml") != 0 && strcmp(optarg, "wide") != 0 &&
                            strcmp(optarg, "name") != 0) {
                                fprintf(stderr, "error: --output must be json, yaml, wide or name, got '%s'\n", optarg);
                                return CLI_USAGE;
                        }
                        cli.output = optarg;
                        break;
                case 'n':
                        cli.ns = optarg;
                        break;
                case 'A':
                        cli.all_namespaces = true;
                        break;
                case 'f':
                        if (cli.n_files >= ELEMENTSOF(cli.files)) {
                                fprintf(stderr, "error: at most %zu -f options\n", ELEMENTSOF(cli.files));
                                return CLI_USAGE;
                        }
                        cli.files[cli.n_files++] = optarg;
                        break;
                case 'l':
                        cli.selector = optarg;
                        break;
                case 'w':
                        cli.watch = true;
                        break;
                case ARG_SCHEDULED:
                        cli.scheduled = true;
                        break;
                case ARG_SERVER:
                        remote.server = optarg;
                        break;
                case ARG_TOKEN_FILE:
                        remote.token_file = optarg;
                        break;
                case ARG_CA:
                        remote.ca_file = optarg;
                        break;
                case ARG_INSECURE:
                        remote.insecure = true;
                        break;
                case ARG_CONTEXT:
                        remote.context = optarg;
                        break;
                case ARG_USER:
                        cli.user_tokens = true;
                        break;
                case ARG_EXPIRES:
                        cli.expires = optarg;
                        break;
                case 'y':
                        cli.yes = true;
                        break;
                case ARG_TIMEOUT: {
                        char *end;
                        errno = 0;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (errno || *end || end == optarg || v == 0 || v > 86400) {
                                fprintf(stderr, "error: --request-timeout must be 1..86400 seconds, got '%s'\n",
                                        optarg);
                                return CLI_USAGE;
                        }
                        cli.timeout_usec = v * USEC_PER_SEC;
                        break;
                }
                case ARG_TAIL: {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (*end || end == optarg || v == 0 || v > 10000) {
                                fprintf(stderr, "error: --tail must be 1..10000, got '%s'\n", optarg);
                                return CLI_USAGE;
                        }
                        cli.tail = (unsigned) v;
                        break;
                }
                case ':':
                        fprintf(stderr, "error: option '%s' needs an argument\n", argv[optind - 1]);
                        return CLI_USAGE;
                default:
                        fprintf(stderr, "error: unknown option '%s'; see 'sdflow --help'\n", argv[optind - 1]);
                        return CLI_USAGE;
                }
        if (want_help) {
                /* sdflow get --help (or sdflow --help get): that command's own. */
                if (optind < argc && cli_command_usage(argv[optind]))
                        return CLI_OK;
                help();
                return CLI_OK;
        }
        if (optind >= argc) {
                fprintf(stderr, "error: no command given; see 'sdflow --help'\n");
                return CLI_USAGE;
        }
        if (cli.ns && !name_is_dns1123_label(cli.ns)) {
                fprintf(stderr, "error: --namespace: '%s' is not a valid namespace name\n", cli.ns);
                return CLI_USAGE;
        }
        int rc = cli_remote_setup(&cli, &remote);
        if (rc != CLI_OK) {
                cli_remote_done(&remote);
                return rc;
        }
        if (cli.ns && !name_is_dns1123_label(cli.ns)) {
                fprintf(stderr, "error: the namespace '%s' (from the config) is not a valid namespace name\n", cli.ns);
                cli_remote_done(&remote);
                return CLI_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(argv[optind], commands[i].name) == 0) {
                        rc = commands[i].run(&cli, argc - optind, argv + optind);
                        cli_remote_done(&remote);
                        return rc;
                }
        cli_remote_done(&remote);
        fprintf(stderr, "error: unknown command '%s'; see 'sdflow --help'\n", argv[optind]);
        return CLI_USAGE;
}
