/* usage.c: sdflow COMMAND --help, each command's own usage (as kubectl's):
 * what it does, its synopsis, the options it takes and examples. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "macro.h"

typedef struct Usage {
        const char *names;    /* the command, or several separated by '|' */
        const char *what;     /* one paragraph */
        const char *synopsis; /* one line or more, each "sdflow ..." */
        const char *options;  /* lines of "  -x --long  text", or NULL */
        const char *examples; /* lines, or NULL */
} Usage;

#define NS_OPT "  -n --namespace=NS       The namespace (default: $SDFLOW_NAMESPACE)\n"
#define OUT_OPT "  -o --output=FORMAT      json, yaml, wide or name\n"

static const Usage usages[] = {
        { "apply", "Create or update objects from YAML or JSON manifests: Profiles, InferenceServices, Workflows,\n"
                   "CronWorkflows, Experiments.  Several documents per file; a directory takes its *.yaml, *.yml and\n"
                   "*.json files.",
          "sdflow apply -f FILE|DIR|- [-n NS]",
          "  -f --filename=PATH      A manifest file, a directory of them, or - for stdin (repeatable)\n" NS_OPT,
          "  sdflow apply -f examples/kserve/sklearn-iris.yaml -n team-a\n"
          "  cat profile.yaml | sdflow apply -f -\n" },
        { "get", "List objects of a kind, or show the named ones.  get wf NAME draws the node tree; with -w,\n"
                 "changes are printed as they happen (get wf|exp NAME -w follows it until it ends).",
          "sdflow get KIND [NAME...] [-n NS | -A] [-o FORMAT] [-l SELECTOR] [-w]",
          NS_OPT "  -A --all-namespaces     List across every namespace you may see\n" OUT_OPT
                 "  -l --selector=SELECTOR  Label selector, e.g. app=web,tier!=db\n"
                 "  -w --watch              After listing, print changes as they happen\n",
          "  sdflow get isvc -n team-a\n"
          "  sdflow get wf -A -o wide\n"
          "  sdflow get profile team-a -o yaml\n" },
        { "describe", "Show one object in detail: its status, conditions and events; an Experiment's trials.",
          "sdflow describe KIND NAME [-n NS]", NS_OPT, "  sdflow describe exp random -n team-a\n" },
        { "delete", "Delete objects by kind and name, or those a manifest names.  Deleting a Profile deletes its\n"
                    "namespace and everything in it, and asks first.",
          "sdflow delete KIND NAME... [-n NS] [-y]\nsdflow delete -f FILE|DIR|-",
          NS_OPT "  -f --filename=PATH      Delete what the manifests name\n"
                 "  -y --yes                Do not ask before deleting a Profile\n",
          "  sdflow delete isvc sklearn-iris -n team-a\n  sdflow delete profile team-a --yes\n" },
        { "api-resources", "List the kinds the server knows, with their short names.", "sdflow api-resources", NULL,
          NULL },
        { "top", "Quota and current use (CPU, memory, processes, GPUs) of each namespace you may see, from the\n"
                 "slices' cgroup files.",
          "sdflow top namespaces", NULL, NULL },
        { "contributor", "Who besides the owner may use a namespace: through the API, and on disk (its directories'\n"
                         "ACL, at once).  Only the owner or an administrator may add or remove contributors.",
          "sdflow contributor list NS\nsdflow contributor add|remove NS USER...", NULL,
          "  sdflow contributor add team-a bob\n" },
        { "token", "Bearer tokens of a namespace's InferenceServices at the gateway: once a namespace has one, its\n"
                   "models answer only requests that carry one (Authorization: Bearer TOKEN).  A token is shown\n"
                   "once, when it is created; the server keeps its SHA-256.  Owner or administrator only.",
          "sdflow token list NS\nsdflow token create NS NAME\nsdflow token delete NS NAME\n"
          "sdflow token list --user\nsdflow token create --user NAME [--expires=DURATION]\n"
          "sdflow token delete --user NAME",
          "  --user             Personal API tokens for the API from elsewhere (sdflow --server, sdflow-login(8)):\n"
          "                     shown once, they act as you; --expires=3600|90m|12h|30d (default 30d)\n",
          "  t=$(sdflow token create team-a web)\n"
          "  curl -H \"Authorization: Bearer $t\" -H 'Host: iris.team-a.example.com' -d @in.json \\\n"
          "       http://localhost:8080/v1/models/iris:predict\n" },
        { "session", "The web login's sessions (sdflow-login(8)): your own, or an administrator's everyone's, with\n"
                     "their id, user, address, creation, last use and end.  Revoking one logs that browser out.",
          "sdflow session list\nsdflow session revoke ID", NULL,
          "  sdflow session list\n  sdflow session revoke 3f9a1c0d2b4e\n" },
        { "predict", "Send a KServe V1 ({\"instances\": ...}) or Open Inference Protocol V2 ({\"inputs\": ...})\n"
                     "request to an InferenceService's first replica, over its socket (no token needed: only the\n"
                     "namespace's owner and contributors may reach it), and print the answer.",
          "sdflow predict NAME -f INPUT.json|- [-n NS]",
          NS_OPT "  -f --filename=PATH      The request body, or - for stdin\n",
          "  echo '{\"instances\": [[6.8, 2.8, 4.8, 1.4]]}' | sdflow predict sklearn-iris -f - -n team-a\n" },
        { "logs", "Log lines from the journal: an InferenceService's replicas, a workflow's steps (of one node,\n"
                  "by id or name), a Katib trial's output.",
          "sdflow logs isvc/NAME [-n NS] [--tail=N]\nsdflow logs wf/NAME [NODE] [-n NS] [--tail=N]\n"
          "sdflow logs trial/NAME [-n NS] [--tail=N]",
          NS_OPT "     --tail=N             The last N lines (1..10000, default 100)\n",
          "  sdflow logs wf/iris-pipeline-x7k2p train -n team-a\n" },
        { "submit", "Create workflows from manifests: generateName gives each run its own name.  With -w, follow\n"
                    "them until they end; the exit status is 1 if one failed.",
          "sdflow submit -f FILE|- [-n NS] [-w]",
          NS_OPT "  -f --filename=PATH      A Workflow manifest, or - (repeatable)\n"
                 "  -w --watch              Follow the workflows until they end\n",
          "  sdflow submit -w -f examples/iris-pipeline/pipeline.yaml -n team-a\n" },
        { "resubmit", "Run a workflow again, as a new one named NAME-xxxxx, from the same spec.",
          "sdflow resubmit NAME [-n NS]", NS_OPT, NULL },
        { "retry", "Run again what failed in a workflow, keeping what succeeded; or, with KIND/NAME, process again\n"
                   "an object sdflowd quarantined after dying twice while working on it.",
          "sdflow retry NAME [-n NS]\nsdflow retry KIND/NAME [-n NS]", NS_OPT,
          "  sdflow retry dag-diamond -n team-a\n  sdflow retry wf/coinflip -n team-a\n" },
        { "stop|terminate", "Stop a workflow's running steps: stop lets its exit handler run, terminate does not.",
          "sdflow stop NAME [-n NS]\nsdflow terminate NAME [-n NS]", NS_OPT, NULL },
        { "suspend|resume", "Hold a workflow's new steps, or let them (and its suspend steps) go on.",
          "sdflow suspend NAME [-n NS]\nsdflow resume NAME [-n NS]", NS_OPT, NULL },
        { "trigger", "Run a CronWorkflow now, as its systemd timer does (its concurrencyPolicy and history limits\n"
                     "apply).",
          "sdflow trigger CRONWORKFLOW [-n NS]", NS_OPT, NULL },
        { "version", "Print the client's version and the server's.", "sdflow version [-o json|yaml]", OUT_OPT, NULL },
};

/* Whether name is one of names ("a|b|c"). */
static bool names_have(const char *names, const char *name) {
        size_t n = strlen(name);
        for (const char *p = names; *p;) {
                size_t l = strcspn(p, "|");
                if (l == n && strncmp(p, name, n) == 0)
                        return true;
                p += l + (p[l] == '|');
        }
        return false;
}

bool cli_command_usage(const char *command) {
        for (size_t i = 0; i < ELEMENTSOF(usages); i++) {
                const Usage *u = &usages[i];
                if (!names_have(u->names, command))
                        continue;
                printf("%s\n\nUsage:\n", u->what);
                for (const char *p = u->synopsis; *p;) {
                        size_t l = strcspn(p, "\n");
                        printf("  %.*s\n", (int) l, p);
                        p += l + (p[l] == '\n');
                }
                if (u->options)
                        printf("\nOptions:\n%s", u->options);
                if (u->examples)
                        printf("\nExamples:\n%s", u->examples);
                printf("\nGlobal options (-s, --request-timeout): sdflow --help.  See sdflow(1).\n");
                return true;
        }
        return false;
}
