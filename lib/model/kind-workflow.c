/* kind-workflow.c: argoproj.io/v1alpha1 Workflow and CronWorkflow, the
 * format Kubeflow Pipelines v1 compiles to.
 *
 * What sdflow takes of Argo's schema (pkg/apis/workflow/v1alpha1): the
 * entrypoint and arguments; templates of type container, script, dag, steps
 * and suspend; inputs and outputs (parameters with value, default, enum,
 * valueFrom.path; artifacts with path, from, optional); when, withItems,
 * withParam, withSequence, continueOn, retryStrategy, timeouts, parallelism
 * and onExit.  Fields Argo defines that need a cluster (volumes, pod
 * placement, service accounts, sidecars, other template types) are refused
 * by name; other fields it does not know are kept with a warning that names
 * them (manifest.c).  Beyond the schema: template names are unique,
 * every reference resolves, a DAG has no cycle, and `depends` expressions
 * parse. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "kinds.h"
#include "tmpl.h"

static const Field any_field = { "", F_ANY };

#define CLUSTER_ONLY(field, what) { field, F_REFUSED, .why = what }

static const Field value_from_fields[] = {
        { "path", F_STRING },
        { "default", F_ANY },
        { "parameter", F_STRING },
        { "expression", F_REFUSED, .why = "expressions are not evaluated; use path" },
        { "jsonPath", F_REFUSED, .why = "resource templates do not exist here" },
        { "jqFilter", F_REFUSED, .why = "resource templates do not exist here" },
        { "event", F_REFUSED, .why = "events do not exist here" },
        { "supplied", F_REFUSED, .why = "intermediate parameters are not supported" },
        { "configMapKeyRef", F_REFUSED, .why = "config maps do not exist here; set value" },
        {},
};

static const Field parameter_fields[] = {
        { "name", F_STRING, FIELD_REQUIRED },
        { "value", F_ANY },
        { "default", F_ANY },
        { "enum", F_ARRAY, .fields = &any_field },
        { "description", F_STRING },
        { "valueFrom", F_OBJECT, .fields = value_from_fields },
        { "globalName", F_REFUSED, .why = "global outputs are not supported" },
        {},
};
static const Field parameter_item = { "", F_OBJECT, .fields = parameter_fields };

static const Field artifact_fields[] = {
        { "name", F_STRING, FIELD_REQUIRED },
        { "path", F_STRING },
        { "from", F_STRING },
        { "optional", F_BOOL },
        { "mode", F_INT },
        { "archive", F_ANY }, /* artifacts stay files on this host; none/tar/zip mean the same */
        { "s3", F_REFUSED, .why = "artifacts live under /var/lib/sdflow/ns/<ns>/artifacts" },
        { "gcs", F_REFUSED, .why = "artifacts live under /var/lib/sdflow/ns/<ns>/artifacts" },
        { "http", F_REFUSED, .why = "nothing is downloaded at run time" },
        { "git", F_REFUSED, .why = "nothing is downloaded at run time" },
        { "raw", F_REFUSED, .why = "use an input parameter" },
        { "artifactory", F_REFUSED, .why = "artifacts live under /var/lib/sdflow/ns/<ns>/artifacts" },
        { "hdfs", F_REFUSED, .why = "artifacts live under /var/lib/sdflow/ns/<ns>/artifacts" },
        { "oss", F_REFUSED, .why = "artifacts live under /var/lib/sdflow/ns/<ns>/artifacts" },
        { "azure", F_REFUSED, .why = "artifacts live under /var/lib/sdflow/ns/<ns>/artifacts" },
        { "globalName", F_REFUSED, .why = "global outputs are not supported" },
        { "fromExpression", F_REFUSED, .why = "expressions are not evaluated; use from" },
        { "subPath", F_REFUSED, .why = "not implemented; make the artifact the file or directory itself" },
        { "recurseMode", F_REFUSED, .why = "not implemented" },
        { "artifactGC", F_REFUSED, .why = "artifacts go with their workflow" },
        { "archiveLogs", F_REFUSED, .why = "logs stay in the journal (sdflow logs)" },
        {},
};
static const Field artifact_item = { "", F_OBJECT, .fields = artifact_fields };

static const Field io_fields[] = {
        { "parameters", F_ARRAY, .fields = &parameter_item },
        { "artifacts", F_ARRAY, .fields = &artifact_item },
        { "result", F_STRING },
        { "exitCode", F_STRING },
        {},
};

static const Field container_fields[] = {
        { "name", F_STRING },
        { "image", F_STRING, FIELD_REQUIRED },
        { "command", F_ARRAY, .fields = &kind_string_field },
        { "args", F_ARRAY, .fields = &kind_string_field },
        { "env", F_ARRAY, .fields = &kind_env_item },
        { "resources", F_OBJECT, .fields = kind_resource_fields },
        { "workingDir", F_STRING },
        { "imagePullPolicy", F_ANY }, /* images are mapped, never pulled */
        CLUSTER_ONLY("volumeMounts", "steps pass files as artifacts"),
        CLUSTER_ONLY("securityContext", "sdflow sandboxes every step itself"),
        CLUSTER_ONLY("ports", "steps get no network"),
        CLUSTER_ONLY("envFrom", "secrets and config maps do not exist here; use env"),
        CLUSTER_ONLY("livenessProbe", "steps are not probed"),
        CLUSTER_ONLY("readinessProbe", "steps are not probed"),
        CLUSTER_ONLY("lifecycle", "steps have no lifecycle hooks"),
        {},
};

static const Field script_fields[] = {
        { "name", F_STRING },
        { "image", F_STRING, FIELD_REQUIRED },
        { "command", F_ARRAY, .fields = &kind_string_field },
        { "args", F_ARRAY, .fields = &kind_string_field },
        { "source", F_STRING, FIELD_REQUIRED },
        { "env", F_ARRAY, .fields = &kind_env_item },
        { "resources", F_OBJECT, .fields = kind_resource_fields },
        { "workingDir", F_STRING },
        { "imagePullPolicy", F_ANY },
        CLUSTER_ONLY("volumeMounts", "steps pass files as artifacts"),
        CLUSTER_ONLY("securityContext", "sdflow sandboxes every step itself"),
        {},
};

static const Field arguments_fields[] = {
        { "parameters", F_ARRAY, .fields = &parameter_item },
        { "artifacts", F_ARRAY, .fields = &artifact_item },
        {},
};

static const Field sequence_fields[] = {
        { "count", F_ANY }, { "start", F_ANY }, { "end", F_ANY }, { "format", F_STRING }, {},
};

static const Field continue_on_fields[] = { { "error", F_BOOL }, { "failed", F_BOOL }, {} };

#define CALL_FIELDS                                                                                   \
        { "name", F_STRING, FIELD_REQUIRED },                                                         \
        { "template", F_STRING },                                                                     \
        { "arguments", F_OBJECT, .fields = arguments_fields },                                        \
        { "when", F_STRING },                                                                         \
        { "withItems", F_ARRAY, .fields = &any_field },                                               \
        { "withParam", F_STRING },                                                                    \
        { "withSequence", F_OBJECT, .fields = sequence_fields },                                      \
        { "continueOn", F_OBJECT, .fields = continue_on_fields },                                     \
        { "onExit", F_REFUSED, .why = "a task's or step's exit handler is not implemented; use spec.onExit" }, \
        { "templateRef", F_REFUSED, .why = "WorkflowTemplates are not implemented; inline the template" }, \
        { "inline", F_REFUSED, .why = "give the template a name in spec.templates" },                 \
        { "hooks", F_REFUSED, .why = "lifecycle hooks are not implemented; use onExit" }

static const Field task_fields[] = {
        CALL_FIELDS,
        { "dependencies", F_ARRAY, .fields = &kind_string_field },
        { "depends", F_STRING },
        {},
};
static const Field task_item = { "", F_OBJECT, .fields = task_fields };

static const Field dag_fields[] = {
        { "tasks", F_ARRAY, FIELD_REQUIRED, .fields = &task_item },
        { "target", F_STRING },
        { "failFast", F_BOOL },
        {},
};

static const Field step_fields[] = { CALL_FIELDS, {} };
static const Field step_item = { "", F_OBJECT, .fields = step_fields };
static const Field step_group = { "", F_ARRAY, .fields = &step_item };

static const Field backoff_fields[] = {
        { "duration", F_ANY }, { "factor", F_ANY }, { "maxDuration", F_ANY }, {},
};

static const char *const retry_policies[] = { "Always", "OnFailure", "OnError", "OnTransientError", NULL };

static const Field retry_fields[] = {
        { "limit", F_ANY },
        { "retryPolicy", F_STRING, .enum_values = retry_policies },
        { "backoff", F_OBJECT, .fields = backoff_fields },
        { "expression", F_REFUSED, .why = "expressions are not evaluated; use retryPolicy" },
        { "affinity", F_REFUSED, .why = "there is one node" },
        {},
};

static const Field suspend_fields[] = { { "duration", F_ANY }, {} };

static const Field template_metadata_fields[] = {
        { "labels", F_MAP, .fields = &kind_string_field },
        { "annotations", F_MAP, .fields = &kind_string_field },
        {},
};

#define POD_REFUSALS                                                                                   \
        CLUSTER_ONLY("nodeSelector", "there is one node"),                                            \
        CLUSTER_ONLY("affinity", "there is one node"),                                                \
        CLUSTER_ONLY("tolerations", "there is one node"),                                             \
        CLUSTER_ONLY("volumes", "steps pass files as artifacts"),                                     \
        CLUSTER_ONLY("serviceAccountName", "steps run as the namespace's system user"),               \
        CLUSTER_ONLY("automountServiceAccountToken", "there is no Kubernetes API"),                   \
        CLUSTER_ONLY("securityContext", "sdflow sandboxes every step itself"),                        \
        CLUSTER_ONLY("hostAliases", "steps get no network"),                                          \
        CLUSTER_ONLY("priorityClassName", "not supported"),                                           \
        CLUSTER_ONLY("schedulerName", "systemd schedules the steps"),                                 \
        CLUSTER_ONLY("podSpecPatch", "there are no pods")

static const Field template_fields[] = {
        { "name", F_STRING, FIELD_REQUIRED },
        { "inputs", F_OBJECT, .fields = io_fields },
        { "outputs", F_OBJECT, .fields = io_fields },
        { "container", F_OBJECT, .fields = container_fields },
        { "script", F_OBJECT, .fields = script_fields },
        { "dag", F_OBJECT, .fields = dag_fields },
        { "steps", F_ARRAY, .fields = &step_group },
        { "suspend", F_OBJECT, .fields = suspend_fields },
        { "retryStrategy", F_OBJECT, .fields = retry_fields },
        { "activeDeadlineSeconds", F_ANY },
        { "timeout", F_STRING },
        { "parallelism", F_INT },
        { "metadata", F_OBJECT, .fields = template_metadata_fields },
        { "archiveLocation", F_ANY }, /* artifacts stay on this host */
        CLUSTER_ONLY("resource", "Kubernetes resources do not exist here"),
        CLUSTER_ONLY("http", "steps get no network; use a container"),
        CLUSTER_ONLY("data", "data templates are not implemented"),
        CLUSTER_ONLY("containerSet", "use one container per template"),
        CLUSTER_ONLY("plugin", "executor plugins are not implemented"),
        CLUSTER_ONLY("sidecars", "one process per step"),
        CLUSTER_ONLY("initContainers", "one process per step"),
        CLUSTER_ONLY("daemon", "daemoned steps are not implemented"),
        CLUSTER_ONLY("memoize", "sdflow will cache steps itself"),
        CLUSTER_ONLY("synchronization", "not implemented"),
        CLUSTER_ONLY("executor", "steps run as the namespace's system user"),
        CLUSTER_ONLY("metrics", "not implemented"),
        POD_REFUSALS,
        {},
};
static const Field template_item = { "", F_OBJECT, .fields = template_fields };

static const char *const shutdown_values[] = { "Stop", "Terminate", NULL };

static const Field workflow_spec[] = {
        { "entrypoint", F_STRING, FIELD_REQUIRED },
        { "arguments", F_OBJECT, .fields = arguments_fields },
        { "templates", F_ARRAY, FIELD_REQUIRED, .fields = &template_item },
        { "onExit", F_STRING },
        { "parallelism", F_INT },
        { "activeDeadlineSeconds", F_INT },
        { "suspend", F_BOOL },
        { "shutdown", F_STRING, .enum_values = shutdown_values },
        { "podGC", F_ANY },       /* there are no pods to collect */
        { "ttlStrategy", F_REFUSED, .why = "finished workflows are kept; delete them with sdflow delete" },
        { "workflowTemplateRef", F_REFUSED, .why = "WorkflowTemplates are not implemented; inline the templates" },
        { "volumeClaimTemplates", F_REFUSED, .why = "steps pass files as artifacts" },
        { "templateDefaults", F_REFUSED, .why = "set the fields on each template" },
        { "hooks", F_REFUSED, .why = "lifecycle hooks are not implemented; use onExit" },
        { "artifactRepositoryRef", F_REFUSED, .why = "artifacts live under /var/lib/sdflow/ns/<ns>/artifacts" },
        { "retryStrategy", F_REFUSED, .why = "set retryStrategy on the templates" },
        { "synchronization", F_REFUSED, .why = "not implemented" },
        { "metrics", F_REFUSED, .why = "not implemented" },
        { "podMetadata", F_REFUSED, .why = "there are no pods" },
        { "dnsConfig", F_REFUSED, .why = "steps get no network" },
        { "imagePullSecrets", F_REFUSED, .why = "images are mapped, never pulled (sdflow-images(5))" },
        { "hostNetwork", F_REFUSED, .why = "steps get no network" },
        { "priority", F_REFUSED, .why = "not supported" },
        POD_REFUSALS,
        {},
};

/* ---- checks beyond the schema ----------------------------------------------------- */

static json_t *find_template(json_t *spec, const char *name) {
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(spec, "templates"), i, t)
                if (name && json_is_string(json_object_get(t, "name")) &&
                    strcmp(json_string_value(json_object_get(t, "name")), name) == 0)
                        return t;
        return NULL;
}

static void check_ref(json_t *spec, json_t *ref, const char *path, Diags *d) {
        if (json_is_string(ref) && !find_template(spec, json_string_value(ref)))
                diags_add(d, true, path, "no template is named '%.80s'", json_string_value(ref));
}

/* A depends expression: task names with an optional .Succeeded, .Failed,
 * .Errored, .Skipped, .Omitted, .Daemoned, .AnySucceeded or .AllFailed,
 * joined by && and ||, negated by !, grouped by parentheses.  Each task
 * must exist; names go to deps.  Returns NULL or what is wrong. */
static const char *parse_depends(const char *s, json_t *tasks, json_t *deps) {
        static const char *const results[] = { "Succeeded", "Failed", "Errored", "Skipped", "Omitted",
                                               "Daemoned", "AnySucceeded", "AllFailed", NULL };
        int depth = 0;
        bool want_operand = true;
        const char *p = s;
        while (*p) {
                if (isspace((unsigned char) *p)) {
                        p++;
                        continue;
                }
                if (want_operand) {
                        if (*p == '!' || *p == '(') {
                                depth += *p == '(';
                                p++;
                                continue;
                        }
                        const char *start = p;
                        while (*p && (isalnum((unsigned char) *p) || *p == '-' || *p == '_'))
                                p++;
                        if (p == start)
                                return "expected a task name";
                        char name[128];
                        snprintf(name, sizeof name, "%.*s", (int) (p - start), start);
                        if (!json_object_get(tasks, name))
                                return "names a task that does not exist";
                        /* A dependency lost would let a cycle through it pass. */
                        if (json_array_append_new(deps, json_string(name)) < 0)
                                return "cannot be checked: out of memory";
                        if (*p == '.') {
                                const char *r = ++p;
                                while (isalpha((unsigned char) *p))
                                        p++;
                                bool ok = false;
                                for (size_t i = 0; results[i]; i++)
                                        ok = ok || ((size_t) (p - r) == strlen(results[i]) &&
                                                    strncmp(r, results[i], strlen(results[i])) == 0);
                                if (!ok)
                                        return "a task's result must be .Succeeded, .Failed, .Errored, .Skipped, "
                                               ".Omitted, .Daemoned, .AnySucceeded or .AllFailed";
                        }
                        want_operand = false;
                } else if (*p == ')') {
                        if (--depth < 0)
                                return "has a ')' without its '('";
                        p++;
                } else if ((p[0] == '&' && p[1] == '&') || (p[0] == '|' && p[1] == '|')) {
                        p += 2;
                        want_operand = true;
                } else
                        return "expected && or || between tasks";
        }
        if (want_operand)
                return "ends where a task name should be";
        if (depth != 0)
                return "has a '(' without its ')'";
        return NULL;
}

/* Depth-first search for a cycle from task name; state: 1 visiting, 2 done.
 * 1 (a cycle), 0 or -ENOMEM (a state not kept could recurse for ever). */
static int has_cycle(json_t *graph, const char *name, json_t *state) {
        json_int_t s = json_integer_value(json_object_get(state, name));
        if (s == 1)
                return 1;
        if (s == 2)
                return 0;
        if (json_object_set_new(state, name, json_integer(1)) < 0)
                return -ENOMEM;
        size_t i;
        json_t *dep;
        json_array_foreach(json_object_get(graph, name), i, dep) {
                int r = has_cycle(graph, json_string_value(dep), state);
                if (r != 0)
                        return r;
        }
        if (json_object_set_new(state, name, json_integer(2)) < 0)
                return -ENOMEM;
        return 0;
}

static void check_dag(json_t *spec, json_t *dag, const char *base, Diags *d) {
        json_t *tasks = json_object_get(dag, "tasks"), *t;
        json_auto_t *names = json_object(), *graph = json_object();
        size_t i;
        char path[256];
        snprintf(path, sizeof path, "%s.dag.tasks", base);
        if (!names || !graph) {
                diags_add(d, true, path, "out of memory");
                return;
        }
        json_array_foreach(tasks, i, t) {
                const char *name = json_string_value(json_object_get(t, "name"));
                snprintf(path, sizeof path, "%s.dag.tasks[%zu].name", base, i);
                if (name && json_object_get(names, name))
                        diags_add(d, true, path, "'%.80s' is used by another task", name);
                else if (name && json_object_set_new(names, name, json_true()) < 0) {
                        diags_add(d, true, path, "out of memory");
                        return;
                }
        }
        json_array_foreach(tasks, i, t) {
                const char *name = json_string_value(json_object_get(t, "name"));
                json_auto_t *deps = json_array();
                json_t *dep;
                size_t k;
                snprintf(path, sizeof path, "%s.dag.tasks[%zu]", base, i);
                if (!deps) {
                        diags_add(d, true, path, "out of memory");
                        return;
                }
                snprintf(path, sizeof path, "%s.dag.tasks[%zu].template", base, i);
                if (!json_object_get(t, "template"))
                        diags_add(d, true, path, "required field is missing");
                check_ref(spec, json_object_get(t, "template"), path, d);
                json_t *dependencies = json_object_get(t, "dependencies");
                const char *depends = json_string_value(json_object_get(t, "depends"));
                if (dependencies && depends) {
                        snprintf(path, sizeof path, "%s.dag.tasks[%zu]", base, i);
                        diags_add(d, true, path, "give dependencies or depends, not both");
                }
                json_array_foreach(dependencies, k, dep) {
                        snprintf(path, sizeof path, "%s.dag.tasks[%zu].dependencies[%zu]", base, i, k);
                        if (json_is_string(dep) && !json_object_get(names, json_string_value(dep)))
                                diags_add(d, true, path, "no task is named '%.80s'", json_string_value(dep));
                        else if (json_is_string(dep) && json_array_append(deps, dep) < 0) {
                                diags_add(d, true, path, "out of memory");
                                return;
                        }
                }
                if (depends) {
                        const char *why = parse_depends(depends, names, deps);
                        snprintf(path, sizeof path, "%s.dag.tasks[%zu].depends", base, i);
                        if (why)
                                diags_add(d, true, path, "'%.120s' %s", depends, why);
                }
                if (name && json_object_set_new(graph, name, TAKE_PTR(deps)) < 0) {
                        snprintf(path, sizeof path, "%s.dag.tasks[%zu]", base, i);
                        diags_add(d, true, path, "out of memory");
                        return;
                }
        }
        const char *name;
        json_t *v;
        json_auto_t *state = json_object();
        snprintf(path, sizeof path, "%s.dag.tasks", base);
        if (!state) {
                diags_add(d, true, path, "out of memory");
                return;
        }
        json_object_foreach(graph, name, v) {
                int r = has_cycle(graph, name, state);
                if (r < 0) {
                        diags_add(d, true, path, "out of memory");
                        break;
                }
                if (r > 0) {
                        diags_add(d, true, path, "the dependencies form a cycle through task '%.80s'", name);
                        break;
                }
        }
}

/* ---- template variables -------------------------------------------------------- */

typedef struct VarScope {
        json_t *spec, *tmpl; /* the workflow spec, the template the text is in */
        json_t *siblings;    /* for a call's arguments: the DAG's tasks or the steps, by name */
        bool call;           /* in a DAG task's or step's arguments, when, withParam */
        const char *path;
        Diags *d;
} VarScope;

static bool declared(json_t *list, const char *name, size_t len) {
        size_t i;
        json_t *x;
        json_array_foreach(list, i, x) {
                const char *n = json_string_value(json_object_get(x, "name"));
                if (n && strlen(n) == len && strncmp(n, name, len) == 0)
                        return true;
        }
        return false;
}

static bool has_prefix(const char *s, const char *prefix, const char **rest) {
        size_t n = strlen(prefix);
        if (strncmp(s, prefix, n) != 0)
                return false;
        *rest = s + n;
        return true;
}

/* Whether name can have a value where it is used; else a diagnostic. */
static int check_var(const char *name, void *userdata) {
        static const char *const workflow_vars[] = { "workflow.name", "workflow.namespace", "workflow.uid",
                                                     "workflow.status", "workflow.duration",
                                                     "workflow.creationTimestamp", "workflow.scheduledTime",
                                                     "workflow.failures",
                                                     "workflow.mainEntrypoint", "workflow.serviceAccountName",
                                                     "pod.name", "retries", "node.name", NULL };
        VarScope *v = userdata;
        const char *rest, *dot;
        for (size_t i = 0; workflow_vars[i]; i++)
                if (strcmp(name, workflow_vars[i]) == 0)
                        return 0;
        if (has_prefix(name, "workflow.parameters.", &rest)) {
                if (!declared(json_object_get(json_object_get(v->spec, "arguments"), "parameters"), rest, strlen(rest)))
                        diags_add(v->d, true, v->path, "'{{%s}}': the workflow has no argument '%s'", name, rest);
                return 0;
        }
        if (has_prefix(name, "inputs.parameters.", &rest)) {
                if (!declared(json_object_get(json_object_get(v->tmpl, "inputs"), "parameters"), rest, strlen(rest)))
                        diags_add(v->d, true, v->path, "'{{%s}}': the template has no input parameter '%s'", name,
                                  rest);
                return 0;
        }
        if (has_prefix(name, "inputs.artifacts.", &rest)) {
                dot = strchr(rest, '.');
                if (!declared(json_object_get(json_object_get(v->tmpl, "inputs"), "artifacts"), rest,
                              dot ? (size_t) (dot - rest) : strlen(rest)))
                        diags_add(v->d, true, v->path, "'{{%s}}': the template has no input artifact '%.*s'", name,
                                  (int) (dot ? dot - rest : (int) strlen(rest)), rest);
                return 0;
        }
        if (v->call && (strcmp(name, "item") == 0 || strncmp(name, "item.", 5) == 0))
                return 0;
        if (v->call && (has_prefix(name, "tasks.", &rest) || has_prefix(name, "steps.", &rest))) {
                dot = strchr(rest, '.');
                size_t n = dot ? (size_t) (dot - rest) : strlen(rest);
                json_t *tname = json_is_object(v->siblings) ? json_object_getn(v->siblings, rest, n) : NULL;
                if (!tname) {
                        diags_add(v->d, true, v->path, "'{{%s}}': there is no %s named '%.*s' here", name,
                                  name[0] == 't' ? "task" : "step", (int) n, rest);
                        return 0;
                }
                /* What of a task or step is known: Argo's fields of a node. */
                static const char *const fields[] = { "id", "status", "startedAt", "finishedAt", "exitCode",
                                                      "outputs.result", "outputs.exitCode", NULL };
                bool known = dot && (strncmp(dot + 1, "outputs.parameters.", 19) == 0 ||
                                     strncmp(dot + 1, "outputs.artifacts.", 18) == 0);
                for (size_t i = 0; dot && fields[i]; i++)
                        known = known || strcmp(dot + 1, fields[i]) == 0;
                if (!known) {
                        diags_add(v->d, true, v->path, "'{{%s}}': a %s has no '%s' that sdflow knows (id, status, "
                                                       "startedAt, finishedAt, exitCode, outputs.result, "
                                                       "outputs.exitCode, outputs.parameters.NAME, "
                                                       "outputs.artifacts.NAME)",
                                  name, name[0] == 't' ? "task" : "step", dot ? dot + 1 : "");
                        return 0;
                }
                /* An output must be one the called template declares. */
                json_t *called = find_template(v->spec, json_string_value(tname));
                const char *out;
                if (called && dot) {
                        bool art = has_prefix(dot + 1, "outputs.artifacts.", &out);
                        if (art || has_prefix(dot + 1, "outputs.parameters.", &out)) {
                                json_t *list = json_object_get(json_object_get(called, "outputs"),
                                                               art ? "artifacts" : "parameters");
                                if (!declared(list, out, strlen(out)))
                                        diags_add(v->d, true, v->path,
                                                  "'{{%s}}': template '%s' has no output %s '%s'", name,
                                                  json_string_value(tname), art ? "artifact" : "parameter", out);
                        }
                }
                return 0;
        }
        diags_add(v->d, true, v->path, "'{{%s}}' names no variable sdflow knows here", name);
        return 0;
}

static void check_text(VarScope *v, json_t *s, const char *path) {
        char err[200];
        if (!json_is_string(s))
                return;
        v->path = path;
        if (tmpl_each(json_string_value(s), check_var, v, err, sizeof err) < 0)
                diags_add(v->d, true, path, "%s", err);
}

static void check_strings(VarScope *v, json_t *list, const char *path) {
        size_t i;
        json_t *x;
        char p[256];
        json_array_foreach(list, i, x) {
                snprintf(p, sizeof p, "%s[%zu]", path, i);
                check_text(v, x, p);
        }
}

/* The texts of a container or script. */
static void check_process(VarScope *v, json_t *c, const char *base) {
        char p[256];
        size_t i;
        json_t *e;
        snprintf(p, sizeof p, "%s.command", base);
        check_strings(v, json_object_get(c, "command"), p);
        snprintf(p, sizeof p, "%s.args", base);
        check_strings(v, json_object_get(c, "args"), p);
        snprintf(p, sizeof p, "%s.source", base);
        check_text(v, json_object_get(c, "source"), p);
        json_array_foreach(json_object_get(c, "env"), i, e) {
                snprintf(p, sizeof p, "%s.env[%zu].value", base, i);
                check_text(v, json_object_get(e, "value"), p);
        }
}

/* A DAG task's or a step's arguments, when and withParam. */
static void check_call(VarScope *v, json_t *call, const char *base) {
        char p[256];
        size_t i;
        json_t *a;
        v->call = true;
        json_array_foreach(json_object_get(json_object_get(call, "arguments"), "parameters"), i, a) {
                snprintf(p, sizeof p, "%s.arguments.parameters[%zu].value", base, i);
                check_text(v, json_object_get(a, "value"), p);
        }
        json_array_foreach(json_object_get(json_object_get(call, "arguments"), "artifacts"), i, a) {
                snprintf(p, sizeof p, "%s.arguments.artifacts[%zu].from", base, i);
                check_text(v, json_object_get(a, "from"), p);
        }
        snprintf(p, sizeof p, "%s.when", base);
        check_text(v, json_object_get(call, "when"), p);
        snprintf(p, sizeof p, "%s.withParam", base);
        check_text(v, json_object_get(call, "withParam"), p);
        v->call = false;
}

static void check_variables(json_t *spec, json_t *t, const char *base, Diags *d) {
        VarScope v = { .spec = spec, .tmpl = t, .d = d };
        char p[256];
        size_t i, g;
        json_t *x, *group;
        snprintf(p, sizeof p, "%s.container", base);
        check_process(&v, json_object_get(t, "container"), p);
        snprintf(p, sizeof p, "%s.script", base);
        check_process(&v, json_object_get(t, "script"), p);
        json_auto_t *names = json_object();
        bool oom = !names;
        /* name -> the template it calls */
        json_array_foreach(json_object_get(json_object_get(t, "dag"), "tasks"), i, x)
                if (json_is_string(json_object_get(x, "name")) &&
                    json_object_set_new(names, json_string_value(json_object_get(x, "name")),
                                        json_string(json_string_value(json_object_get(x, "template")) ?: "")) < 0)
                        oom = true;
        json_array_foreach(json_object_get(t, "steps"), g, group) json_array_foreach(group, i, x)
                if (json_is_string(json_object_get(x, "name")) &&
                    json_object_set_new(names, json_string_value(json_object_get(x, "name")),
                                        json_string(json_string_value(json_object_get(x, "template")) ?: "")) < 0)
                        oom = true;
        if (oom) {
                diags_add(d, true, base, "out of memory");
                return;
        }
        v.siblings = names;
        json_array_foreach(json_object_get(json_object_get(t, "dag"), "tasks"), i, x) {
                snprintf(p, sizeof p, "%s.dag.tasks[%zu]", base, i);
                check_call(&v, x, p);
        }
        json_array_foreach(json_object_get(t, "steps"), g, group) json_array_foreach(group, i, x) {
                snprintf(p, sizeof p, "%s.steps[%zu][%zu]", base, g, i);
                check_call(&v, x, p);
        }
        /* The template's own texts that are expanded: each must be a known
         * variable, and no {{=...}} expression (refused here, not when it runs). */
        json_array_foreach(json_object_get(json_object_get(t, "inputs"), "parameters"), i, x) {
                snprintf(p, sizeof p, "%s.inputs.parameters[%zu].value", base, i);
                check_text(&v, json_object_get(x, "value"), p);
                snprintf(p, sizeof p, "%s.inputs.parameters[%zu].default", base, i);
                check_text(&v, json_object_get(x, "default"), p);
        }
        json_array_foreach(json_object_get(json_object_get(t, "outputs"), "parameters"), i, x) {
                snprintf(p, sizeof p, "%s.outputs.parameters[%zu].valueFrom.path", base, i);
                check_text(&v, json_object_get(json_object_get(x, "valueFrom"), "path"), p);
        }
        json_array_foreach(json_object_get(json_object_get(t, "outputs"), "artifacts"), i, x) {
                snprintf(p, sizeof p, "%s.outputs.artifacts[%zu].path", base, i);
                check_text(&v, json_object_get(x, "path"), p);
        }
        snprintf(p, sizeof p, "%s.timeout", base);
        check_text(&v, json_object_get(t, "timeout"), p);
        snprintf(p, sizeof p, "%s.dag.target", base);
        check_text(&v, json_object_get(json_object_get(t, "dag"), "target"), p);
}

/* prefix: where spec is ("spec", or a CronWorkflow's "spec.workflowSpec"). */
static void check_templates(json_t *spec, const char *prefix, Diags *d) {
        json_auto_t *seen = json_object();
        json_t *t;
        size_t i;
        char path[256];
        static const char *const types[] = { "container", "script", "dag", "steps", "suspend" };
        if (!seen) {
                snprintf(path, sizeof path, "%s.templates", prefix);
                diags_add(d, true, path, "out of memory");
                return;
        }
        json_array_foreach(json_object_get(spec, "templates"), i, t) {
                const char *name = json_string_value(json_object_get(t, "name"));
                char base[128];
                snprintf(base, sizeof base, "%s.templates[%zu]", prefix, i);
                if (name) {
                        snprintf(path, sizeof path, "%s.name", base);
                        if (json_object_get(seen, name))
                                diags_add(d, true, path, "'%.80s' is the name of another template", name);
                        /* A name not kept would let a second template of that name pass. */
                        if (json_object_set_new(seen, name, json_true()) < 0)
                                diags_add(d, true, path, "out of memory");
                }
                int n = 0;
                for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
                        n += json_object_get(t, types[k]) != NULL;
                if (n != 1)
                        diags_add(d, true, base, "give exactly one of container, script, dag, steps or suspend (got %d)",
                                  n);
                if (json_object_get(t, "dag"))
                        check_dag(spec, json_object_get(t, "dag"), base, d);
                check_variables(spec, t, base, d);
                json_t *group, *step;
                size_t g, k;
                json_array_foreach(json_object_get(t, "steps"), g, group) json_array_foreach(group, k, step) {
                        snprintf(path, sizeof path, "%s.steps[%zu][%zu].template", base, g, k);
                        if (!json_object_get(step, "template"))
                                diags_add(d, true, path, "required field is missing");
                        check_ref(spec, json_object_get(step, "template"), path, d);
                }
        }
}

static void check_workflow_spec(json_t *spec, const char *prefix, Diags *d) {
        char path[128];
        snprintf(path, sizeof path, "%s.entrypoint", prefix);
        check_ref(spec, json_object_get(spec, "entrypoint"), path, d);
        snprintf(path, sizeof path, "%s.onExit", prefix);
        check_ref(spec, json_object_get(spec, "onExit"), path, d);
        check_templates(spec, prefix, d);
}

static void workflow_validate(json_t *obj, Diags *d) {
        check_workflow_spec(json_object_get(obj, "spec"), "spec", d);
}

static const char *const workflow_short[] = { "wf", "workflow", NULL };

const Kind kind_workflow = {
        .group = "argoproj.io",
        .version = "v1alpha1",
        .kind = "Workflow",
        .plural = "workflows",
        .short_names = workflow_short,
        .namespaced = true,
        .spec = workflow_spec,
        .spec_required = true,
        .generate_name = true,
        .validate = workflow_validate,
};

/* ---- CronWorkflow ------------------------------------------------------------------ */

static const char *const concurrency_policies[] = { "Allow", "Forbid", "Replace", NULL };

static const Field workflow_metadata_fields[] = {
        { "labels", F_MAP, .fields = &kind_string_field },
        { "annotations", F_MAP, .fields = &kind_string_field },
        { "generateName", F_STRING },
        { "name", F_STRING },
        {},
};

static const Field cron_spec[] = {
        { "schedule", F_STRING },
        { "schedules", F_ARRAY, .fields = &kind_string_field },
        { "timezone", F_STRING },
        { "concurrencyPolicy", F_STRING, .enum_values = concurrency_policies },
        { "startingDeadlineSeconds", F_INT },
        { "suspend", F_BOOL },
        { "successfulJobsHistoryLimit", F_INT },
        { "failedJobsHistoryLimit", F_INT },
        { "workflowSpec", F_OBJECT, FIELD_REQUIRED, .fields = workflow_spec },
        { "workflowMetadata", F_OBJECT, .fields = workflow_metadata_fields },
        { "stopStrategy", F_REFUSED, .why = "not implemented" },
        { "when", F_REFUSED, .why = "expressions are not evaluated" },
        {},
};

static void check_schedule(json_t *s, const char *tz, const char *path, Diags *d) {
        char out[CRON_MAX_EVENTS][CRON_EVENT_MAX], err[256];
        if (json_is_string(s) && cron_to_oncalendar(json_string_value(s), tz, out, err, sizeof err) < 0)
                diags_add(d, true, path, "%s", err);
}

static void cron_validate(json_t *obj, Diags *d) {
        json_t *spec = json_object_get(obj, "spec"), *s;
        const char *tz = json_string_value(json_object_get(spec, "timezone"));
        size_t i;
        char path[64];
        if (!json_object_get(spec, "schedule") && json_array_size(json_object_get(spec, "schedules")) == 0)
                diags_add(d, true, "spec.schedule", "required field is missing (or give spec.schedules)");
        check_schedule(json_object_get(spec, "schedule"), tz, "spec.schedule", d);
        json_array_foreach(json_object_get(spec, "schedules"), i, s) {
                snprintf(path, sizeof path, "spec.schedules[%zu]", i);
                check_schedule(s, tz, path, d);
        }
        if (json_object_get(spec, "workflowSpec"))
                check_workflow_spec(json_object_get(spec, "workflowSpec"), "spec.workflowSpec", d);
        static const char *const ints[] = { "startingDeadlineSeconds", "successfulJobsHistoryLimit",
                                            "failedJobsHistoryLimit" };
        for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
                json_t *v = json_object_get(spec, ints[k]);
                snprintf(path, sizeof path, "spec.%s", ints[k]);
                if (json_is_integer(v) && json_integer_value(v) < 0)
                        diags_add(d, true, path, "%" JSON_INTEGER_FORMAT " is negative", json_integer_value(v));
        }
}

static const char *const cron_short[] = { "cwf", "cronwf", "cronworkflow", NULL };

const Kind kind_cronworkflow = {
        .group = "argoproj.io",
        .version = "v1alpha1",
        .kind = "CronWorkflow",
        .plural = "cronworkflows",
        .short_names = cron_short,
        .namespaced = true,
        .spec = cron_spec,
        .spec_required = true,
        .validate = cron_validate,
};
