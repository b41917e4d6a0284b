/* cli.h: what the sdflow CLI's commands share. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "manifest.h"
#include "tls.h"

#define CLI_DEFAULT_SOCKET "/run/sdflow/api.sock"

/* kubectl-style exit codes: 0 success, 1 the operation failed, 2 bad usage. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

typedef struct Cli {
        const char *socket;
        HttpEndpoint ep;     /* where requests go: the socket, or a remote server (remote.c) */
        char ep_error[512];  /* why connecting to a remote server failed */
        const char *where;   /* the socket or the server, for messages */
        bool remote;
        const char *output; /* NULL (table), "json", "yaml", "wide" or "name" */
        const char *ns;
        bool all_namespaces;
        const char *files[64];
        size_t n_files;
        const char *selector;
        bool watch;
        bool yes;
        unsigned tail; /* logs --tail=N; 0: the default */
        uint64_t timeout_usec;
        json_t *submitted; /* submit: the workflows created, [{ns, name}] */
        bool scheduled;    /* trigger --scheduled: the timer's run */
        bool user_tokens;  /* token --user: personal API tokens, not a namespace's */
        const char *expires; /* token create --user --expires=DURATION */
} Cli;

/* A remote server (remote.c): --server, --token-file, --certificate-authority,
 * --insecure-skip-tls-verify, else $SDFLOW_SERVER, $SDFLOW_TOKEN, else the
 * current context of $SDFLOW_CONFIG or ~/.config/sdflow/config. */
typedef struct CliRemote {
        const char *server, *token, *token_file, *ca_file, *context, *ns;
        bool insecure;
        char host[256], port[16], host_header[300];
        char *owned_token;
        json_t *config;
        TlsClientOptions tls;
} CliRemote;
int cli_remote_setup(Cli *cli, CliRemote *r);
void cli_remote_done(CliRemote *r);

/* Prints the usage of command (sdflow COMMAND --help); false if there is no such command. */
bool cli_command_usage(const char *command);

int cli_apply(Cli *cli, int argc, char **argv);
int cli_get(Cli *cli, int argc, char **argv);
int cli_describe(Cli *cli, int argc, char **argv);
int cli_delete(Cli *cli, int argc, char **argv);
int cli_api_resources(Cli *cli, int argc, char **argv);
int cli_version(Cli *cli, int argc, char **argv);
int cli_top(Cli *cli, int argc, char **argv);
int cli_contributor(Cli *cli, int argc, char **argv);
int cli_token(Cli *cli, int argc, char **argv);
int cli_session(Cli *cli, int argc, char **argv);
int cli_predict(Cli *cli, int argc, char **argv);
int cli_logs(Cli *cli, int argc, char **argv);
int cli_submit(Cli *cli, int argc, char **argv);
int cli_wf_action(Cli *cli, int argc, char **argv);
int cli_resubmit(Cli *cli, int argc, char **argv);
int cli_trigger(Cli *cli, int argc, char **argv);

/* A request with a JSON body (or none) whose 200/201 answer is returned
 * parsed; NULL after printing the server's error. */
json_t *cli_request_json(Cli *cli, const char *method, const char *target, json_t *body);
/* Prints one workflow's progress until it finishes; CLI_FAIL unless it succeeded. */
int cli_watch_workflow(Cli *cli, const char *ns, const char *name);

/* workflows.c: table columns, the node tree, a watched workflow's progress
 * (returns 1 once it has finished). */
void wf_header(void);
void wf_columns(json_t *o);
void wf_print_tree(json_t *o);
int wf_watch_event(json_t *o, json_t *seen);
void exp_header(void);
void exp_columns(json_t *o);
void exp_print_trials(json_t *o);
int exp_watch_event(json_t *o, json_t *seen);
