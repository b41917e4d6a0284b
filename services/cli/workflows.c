/* workflows.c: what the CLI shows and does of Argo Workflows: the table
 * columns, the node tree (as `argo get` draws it), progress while watching,
 * and submit, resubmit, retry, stop, terminate, suspend and resume. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "kinds.h"
#include "jsonutil.h"
#include "macro.h"
#include "metrics.h"
#include "phase.h"

static long parse_ts(const char *s) {
        struct tm tm = {};
        if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm))
                return -1;
        return (long) timegm(&tm);
}

/* The time from startedAt to finishedAt (or now), as 1m5s. */
static void duration(json_t *o, char *buf, size_t size) {
        long a = parse_ts(json_str(o, "startedAt")), b = parse_ts(json_str(o, "finishedAt"));
        if (a < 0) {
                snprintf(buf, size, "-");
                return;
        }
        if (b < 0)
                b = (long) time(NULL);
        long d = b > a ? b - a : 0;
        if (d >= 3600)
                snprintf(buf, size, "%ldh%ldm", d / 3600, d % 3600 / 60);
        else if (d >= 60)
                snprintf(buf, size, "%ldm%lds", d / 60, d % 60);
        else
                snprintf(buf, size, "%lds", d);
}

void wf_header(void) {
        printf("%-10s %-9s %-9s %-40s ", "STATUS", "PROGRESS", "DURATION", "MESSAGE");
}

void wf_columns(json_t *o) {
        json_t *st = json_object_get(o, "status");
        char d[32];
        duration(st, d, sizeof d);
        const char *phase = json_str(st, "phase") ?: "Pending";
        if (json_is_true(json_object_get(st, "sdflowSuspended")) && strcmp(phase, "Running") == 0)
                phase = "Suspended";
        printf("%-10s %-9s %-9s %-40.40s ", phase, json_str(st, "progress") ?: "-", d, json_str(st, "message") ?: "");
}

/* Prints s padded to width columns (UTF-8 code points, not bytes). */
static void pad(const char *s, int width) {
        int n = 0;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                n += (*p & 0xC0) != 0x80;
        fputs(s, stdout);
        for (; n < width; n++)
                putchar(' ');
        putchar(' ');
}

static void tree(json_t *nodes, json_t *n, const char *prefix, bool last, bool top) {
        char d[32], line[512];
        const char *type = json_str(n, "type") ?: "";
        /* Argo hides the group and retry nodes' own lines where they add nothing. */
        duration(n, d, sizeof d);
        snprintf(line, sizeof line, "%s%s%s", prefix, top ? "" : last ? "└─ " : "├─ ", json_str(n, "displayName") ?: "");
        const char *phase = json_str(n, "phase") ?: "";
        const char *mark = strcmp(phase, "Succeeded") == 0 ? "✔"
                           : strcmp(phase, "Failed") == 0 || strcmp(phase, "Error") == 0 ? "✖"
                           : strcmp(phase, "Running") == 0 ? "●"
                           : strcmp(phase, "Skipped") == 0 || strcmp(phase, "Omitted") == 0 ? "○"
                                                                                             : "◷";
        char msg[200] = "";
        if (json_object_get(n, "sdflowCachedFrom"))
                snprintf(msg, sizeof msg, "(cached)");
        else if (json_str(n, "message"))
                snprintf(msg, sizeof msg, "%s", json_str(n, "message"));
        printf(" %s ", mark);
        pad(line, 44);
        printf("%-18s %-10s %-8s %s\n", json_str(n, "templateName") ?: type, phase, d, msg);
        json_t *ch = json_object_get(n, "children"), *id;
        size_t i, k = json_array_size(ch);
        char sub[256];
        snprintf(sub, sizeof sub, "%s%s", prefix, top ? "" : last ? "   " : "│  ");
        json_array_foreach(ch, i, id) {
                json_t *c = json_object_get(nodes, json_string_value(id));
                if (c)
                        tree(nodes, c, sub, i + 1 == k, false);
        }
}

void wf_print_tree(json_t *o) {
        json_t *st = json_object_get(o, "status"), *nodes = json_object_get(st, "nodes");
        const char *name = json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
        json_t *root = json_object_get(nodes, name ?: "");
        if (!root)
                return;
        printf("\n   %-44s %-18s %-10s %-8s %s\n", "STEP", "TEMPLATE", "PHASE", "DURATION", "MESSAGE");
        tree(nodes, root, "", true, true);
        char exit_name[300];
        snprintf(exit_name, sizeof exit_name, "%s.onExit", name);
        const char *id;
        json_t *n;
        json_object_foreach(nodes, id, n)
                if (json_str(n, "name") && strcmp(json_str(n, "name"), exit_name) == 0)
                        tree(nodes, n, "", true, true);
}

/* Watching one workflow: a line per node whose phase changed; 1 once the
 * workflow has finished (0 while it runs). */

/* When a node's phase changed last: its end, or its start. */
static const char *changed_at(json_t *n) {
        return phase_node_done(json_str(n, "phase")) ? json_str(n, "finishedAt") ?: "" : json_str(n, "startedAt") ?: "";
}

static int by_change(const void *a, const void *b) {
        json_t *x = *(json_t *const *) a, *y = *(json_t *const *) b;
        int r = strcmp(changed_at(x), changed_at(y));
        if (r == 0) /* in the same second: ends before starts */
                r = (int) !phase_node_done(json_str(x, "phase")) - (int) !phase_node_done(json_str(y, "phase"));
        return r ? r : strcmp(json_str(x, "name") ?: "", json_str(y, "name") ?: "");
}

int wf_watch_event(json_t *o, json_t *seen) {
        json_t *st = json_object_get(o, "status"), *n;
        const char *id;
        char d[32];
        json_t *nodes = json_object_get(st, "nodes");
        size_t cap = json_object_size(nodes), k = 0;
        _cleanup_free_ json_t **changed = calloc(cap + 1, sizeof *changed);
        json_object_foreach(nodes, id, n) {
                const char *phase = json_str(n, "phase") ?: "";
                const char *was = json_str(seen, id);
                if (was && strcmp(was, phase) == 0)
                        continue;
                json_object_set_new(seen, id, json_string(phase));
                const char *type = json_str(n, "type") ?: "";
                if (strcmp(type, "Pod") != 0 && strcmp(type, "Skipped") != 0 && strcmp(type, "Suspend") != 0)
                        continue;
                if (changed)
                        changed[k++] = n;
        }
        if (changed)
                qsort(changed, k, sizeof *changed, by_change);
        for (size_t i = 0; i < k; i++) {
                n = changed[i];
                duration(n, d, sizeof d);
                printf("%-50s %-10s %-8s %s%s\n", json_str(n, "name") ?: "", json_str(n, "phase") ?: "", d,
                       json_object_get(n, "sdflowCachedFrom") ? "(cached) " : "", json_str(n, "message") ?: "");
        }
        const char *phase = json_str(st, "phase") ?: "";
        const char *was = json_str(seen, "");
        if (!was || strcmp(was, phase) != 0) {
                json_object_set_new(seen, "", json_string(phase));
                duration(st, d, sizeof d);
                printf("workflow %s: %s %s %s%s%s\n", json_string_value(json_object_get(json_object_get(o, "metadata"), "name")),
                       phase[0] ? phase : "Pending", json_str(st, "progress") ?: "", d, json_str(st, "message") ? " — " : "",
                       json_str(st, "message") ?: "");
        }
        fflush(stdout);
        return phase_workflow_done(phase);
}

/* sdflow retry|stop|terminate|suspend|resume [KIND/]NAME... -n NS: a
 * workflow's action; retry also takes any kind's object (KIND/NAME), for
 * one that sdflowd quarantined. */
int cli_wf_action(Cli *cli, int argc, char **argv) {
        if (argc < 2) {
                fprintf(stderr, "error: %s needs a workflow name%s\n", argv[0],
                        strcmp(argv[0], "retry") == 0 ? " (or KIND/NAME)" : "");
                return CLI_USAGE;
        }
        int rc = CLI_OK;
        for (int i = 1; i < argc; i++) {
                char target[800], kname[64] = "";
                const char *name = argv[i], *slash = strchr(argv[i], '/');
                const Kind *k = &kind_workflow;
                if (slash) {
                        snprintf(kname, sizeof kname, "%.*s", (int) (slash - argv[i]), argv[i]);
                        k = kind_by_name(kname);
                        name = slash + 1;
                        if (!k) {
                                fprintf(stderr, "error: the server doesn't have a resource type \"%s\"\n", kname);
                                rc = CLI_FAIL;
                                continue;
                        }
                        if (k != &kind_workflow && strcmp(argv[0], "retry") != 0) {
                                fprintf(stderr, "error: %s is for workflows; %s is a %s\n", argv[0], argv[i], k->kind);
                                return CLI_USAGE;
                        }
                }
                if (k->namespaced && !cli->ns) {
                        fprintf(stderr, "error: %s are namespaced: use -n NAMESPACE\n", k->plural);
                        return CLI_USAGE;
                }
                if (k->namespaced)
                        snprintf(target, sizeof target, "/apis/%s/%s/namespaces/%s/%s/%s/%s", k->group, k->version,
                                 cli->ns, k->plural, name, argv[0]);
                else
                        snprintf(target, sizeof target, "/apis/%s/%s/%s/%s/%s", k->group, k->version, k->plural, name,
                                 argv[0]);
                json_auto_t *o = cli_request_json(cli, "PUT", target, NULL);
                if (!o) {
                        rc = CLI_FAIL;
                        continue;
                }
                static const struct {
                        const char *verb, *done;
                } past[] = { { "retry", "retried" }, { "stop", "stopped" }, { "terminate", "terminated" },
                             { "suspend", "suspended" }, { "resume", "resumed" } };
                const char *done = argv[0];
                for (size_t j = 0; j < sizeof past / sizeof past[0]; j++)
                        if (strcmp(past[j].verb, argv[0]) == 0)
                                done = past[j].done;
                char lower[64];
                size_t n = 0;
                for (; k->kind[n] && n + 1 < sizeof lower; n++)
                        lower[n] = (char) tolower((unsigned char) k->kind[n]);
                lower[n] = '\0';
                printf("%s%s%s/%s %s\n", lower, k->group[0] ? "." : "", k->group, name, done);
        }
        return rc;
}

/* sdflow resubmit NAME -n NS: a new workflow with the same spec, named NAME-xxxxx. */
int cli_resubmit(Cli *cli, int argc, char **argv) {
        if (argc != 2 || !cli->ns) {
                fprintf(stderr, "error: use: resubmit NAME -n NAMESPACE\n");
                return CLI_USAGE;
        }
        char target[600], prefix[80];
        snprintf(target, sizeof target, "/apis/argoproj.io/v1alpha1/namespaces/%s/workflows/%s", cli->ns, argv[1]);
        json_auto_t *o = cli_request_json(cli, "GET", target, NULL);
        if (!o)
                return CLI_FAIL;
        snprintf(prefix, sizeof prefix, "%.57s-", argv[1]);
        json_t *md = json_object_get(o, "metadata");
        json_auto_t *nmd = json_pack("{s:s, s:s}", "generateName", prefix, "namespace", cli->ns);
        /* Not another workflow than the one resubmitted: its labels and annotations, all of them. */
        if (!nmd ||
            (json_object_get(md, "labels") && json_object_set(nmd, "labels", json_object_get(md, "labels")) < 0) ||
            (json_object_get(md, "annotations") &&
             json_object_set(nmd, "annotations", json_object_get(md, "annotations")) < 0)) {
                fprintf(stderr, "error: out of memory\n");
                return CLI_FAIL;
        }
        /* "o" takes nmd, also on failure; without nw the POST would go out with no body. */
        json_auto_t *nw = json_pack("{s:s, s:s, s:o, s:O}", "apiVersion", "argoproj.io/v1alpha1", "kind", "Workflow",
                                    "metadata", TAKE_PTR(nmd), "spec", json_object_get(o, "spec"));
        if (!nw) {
                fprintf(stderr, "error: cannot make the new workflow from %s (no spec, or out of memory)\n", argv[1]);
                return CLI_FAIL;
        }
        snprintf(target, sizeof target, "/apis/argoproj.io/v1alpha1/namespaces/%s/workflows", cli->ns);
        json_auto_t *created = cli_request_json(cli, "POST", target, nw);
        if (!created)
                return CLI_FAIL;
        printf("workflow.argoproj.io/%s created\n",
               json_string_value(json_object_get(json_object_get(created, "metadata"), "name")));
        return CLI_OK;
}

/* sdflow trigger NAME -n NS [--scheduled]: one run of a CronWorkflow now
 * (its timer runs this with --scheduled). */
int cli_trigger(Cli *cli, int argc, char **argv) {
        if (argc != 2 || !cli->ns) {
                fprintf(stderr, "error: use: trigger CRONWORKFLOW -n NAMESPACE\n");
                return CLI_USAGE;
        }
        char target[600];
        snprintf(target, sizeof target, "/apis/argoproj.io/v1alpha1/namespaces/%s/cronworkflows/%s/trigger%s", cli->ns,
                 argv[1], cli->scheduled ? "?scheduled=1" : "");
        json_auto_t *o = cli_request_json(cli, "PUT", target, NULL);
        if (!o)
                return CLI_FAIL;
        printf("cronworkflow.argoproj.io/%s: %s\n", argv[1], json_str(o, "message") ?: "triggered");
        return CLI_OK;
}

/* ---- Katib Experiments -------------------------------------------------------------- */

static const char *exp_condition(json_t *st) {
        json_t *c;
        size_t i;
        const char *cur = "Created";
        json_array_foreach(json_object_get(st, "conditions"), i, c)
                if (strcmp(json_str(c, "status") ?: "", "True") == 0)
                        cur = json_str(c, "type") ?: cur;
        return cur;
}

/* The objective metric of an observation, by the experiment's strategy (its direction by default). */
static const char *objective_of(json_t *exp, json_t *obs) {
        return metrics_objective_value(json_object_get(json_object_get(exp, "spec"), "objective"), obs);
}

void exp_header(void) {
        printf("%-10s %-7s %-9s %-7s %-6s %-12s ", "STATUS", "TRIALS", "SUCCEEDED", "RUNNING", "FAILED", "OPTIMAL");
}

void exp_columns(json_t *o) {
        json_t *st = json_object_get(o, "status");
        const char *best = objective_of(o, json_object_get(json_object_get(st, "currentOptimalTrial"), "observation"));
        printf("%-10s %-7lld %-9lld %-7lld %-6lld %-12s ", exp_condition(st),
               (long long) json_integer_value(json_object_get(st, "trialsTotal")),
               (long long) json_integer_value(json_object_get(st, "trialsSucceeded")),
               (long long) json_integer_value(json_object_get(st, "trialsRunning")),
               (long long) (json_integer_value(json_object_get(st, "trialsFailed")) +
                            json_integer_value(json_object_get(st, "trialMetricsUnavailable"))),
               best ?: "-");
}

/* describe experiment: the table of trials. */
void exp_print_trials(json_t *o) {
        json_t *st = json_object_get(o, "status"), *t, *a;
        size_t i, k;
        const char *metric = json_str(json_object_get(json_object_get(o, "spec"), "objective"), "objectiveMetricName") ?: "objective";
        json_t *best = json_object_get(json_object_get(st, "currentOptimalTrial"), "bestTrialName");
        printf("Trials:\n  %-26s %-19s %-12s %s\n", "NAME", "CONDITION", metric, "PARAMETERS");
        json_array_foreach(json_object_get(st, "trials"), i, t) {
                char params[512] = "";
                json_array_foreach(json_object_get(t, "parameterAssignments"), k, a)
                        snprintf(params + strlen(params), sizeof params - strlen(params), "%s%s=%s", k ? " " : "",
                                 json_str(a, "name") ?: "", json_str(a, "value") ?: "");
                const char *v = objective_of(o, json_object_get(t, "observation"));
                printf("%s %-26s %-19s %-12s %s%s%s\n",
                       best && strcmp(json_string_value(best), json_str(t, "name") ?: "") == 0 ? "*" : " ",
                       json_str(t, "name") ?: "", json_str(t, "condition") ?: "", v ?: "-", params, json_str(t, "message") ? "  " : "",
                       json_str(t, "message") ?: "");
        }
}

/* Watching one experiment: a line per trial whose condition changed; 1 once it ended. */
int exp_watch_event(json_t *o, json_t *seen) {
        json_t *st = json_object_get(o, "status"), *t;
        size_t i;
        json_array_foreach(json_object_get(st, "trials"), i, t) {
                const char *name = json_str(t, "name") ?: "", *c = json_str(t, "condition") ?: "";
                const char *was = json_str(seen, name);
                if (was && strcmp(was, c) == 0)
                        continue;
                json_object_set_new(seen, name, json_string(c));
                const char *v = objective_of(o, json_object_get(t, "observation"));
                printf("trial %-26s %-19s %s\n", name, c, v ?: "");
        }
        const char *cond = exp_condition(st), *was = json_str(seen, "");
        if (!was || strcmp(was, cond) != 0) {
                json_object_set_new(seen, "", json_string(cond));
                printf("experiment %s: %s\n", json_string_value(json_object_get(json_object_get(o, "metadata"), "name")),
                       cond);
        }
        fflush(stdout);
        return strcmp(cond, "Succeeded") == 0 || strcmp(cond, "Failed") == 0;
}
