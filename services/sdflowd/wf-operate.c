/* wf-operate.c: see wf-operate.h.  Node names, ids, types and phases
 * follow Argo's NodeStatus so that the status reads as Argo's does. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "digest.h"
#include "kinds.h"
#include "macro.h"
#include "quantity.h"
#include "tmpl.h"
#include "wf-operate.h"
#include "when.h"
#include "jsonutil.h"
#include "phase.h"

#define ARTIFACTS_BASE WF_ARTIFACTS_BASE
#define MAX_ITEMS WF_MAX_ITEMS

/* One operate() pass over one workflow. */
typedef struct Ctx {
        const WfEnv *env;
        json_t *wf, *spec, *status, *nodes;
        const char *ns, *name, *key;
        char now[32];
        uint64_t now_sec;
        json_t *starts;   /* node ids to start after the status is saved */
        unsigned running; /* pods running in this workflow */
        bool stopping;    /* shutdown: start nothing new */
        uint64_t wake_at; /* epoch seconds, 0: nothing to wait for */
        long attempt;     /* {{retries}} of the pod being resolved, or -1 */
        unsigned depth;   /* templates being executed, one inside the other */
        bool over_limit;  /* this pass reached WF_MAX_NODES */
        json_t *wfvars;   /* workflow.* */
        json_t *edges;    /* "parent/child" ids: the children known */
        /* The templates with parallelism around the node being walked: at
         * most limit pods below each run at once. */
        struct {
                long limit;
                unsigned running;
        } par[32];
        unsigned n_par;
} Ctx;

/* ---- small helpers ---------------------------------------------------------------- */

/* A node name made from its parent's: a new string, or NULL when out of memory. */
static char *joinf(const char *fmt, ...) _printf_(1, 2);
static char *joinf(const char *fmt, ...) {
        char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

static const char *node_phase(json_t *n) {
        return json_str(n, "phase");
}

static uint64_t parse_time(const char *s) {
        struct tm tm = {};
        if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm))
                return 0;
        return (uint64_t) timegm(&tm);
}

/* Argo's node id: the workflow's name for the root, else name-<fnv32a of the node name>. */
static void node_id(const char *wf, const char *node_name, char *buf, size_t size) {
        if (strcmp(wf, node_name) == 0) {
                snprintf(buf, size, "%s", wf);
                return;
        }
        uint32_t h = 2166136261u;
        for (const unsigned char *p = (const unsigned char *) node_name; *p; p++) {
                h ^= *p;
                h *= 16777619u;
        }
        snprintf(buf, size, "%s-%u", wf, h);
}

/* A Go-style duration ("30s", "1m30s", "2h", or a bare number of seconds) in seconds; -1 if malformed. */
static int64_t parse_duration(json_t *v) {
        if (json_is_integer(v))
                return json_integer_value(v);
        const char *s = json_string_value(v);
        if (!s || !*s)
                return -1;
        char *end;
        long long plain = strtoll(s, &end, 10);
        if (!*end)
                return plain;
        double total = 0;
        while (*s) {
                double x = strtod(s, &end);
                if (end == s)
                        return -1;
                s = end;
                if (strncmp(s, "ms", 2) == 0) {
                        total += x / 1000;
                        s += 2;
                } else if (*s == 's') {
                        total += x;
                        s++;
                } else if (*s == 'm') {
                        total += x * 60;
                        s++;
                } else if (*s == 'h') {
                        total += x * 3600;
                        s++;
                } else
                        return -1;
        }
        return (int64_t) total;
}

static json_t *find_template(Ctx *c, const char *name) {
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(c->spec, "templates"), i, t)
                if (name && json_str(t, "name") && strcmp(json_str(t, "name"), name) == 0)
                        return t;
        return NULL;
}

static json_t *get_node(Ctx *c, const char *node_name) {
        char id[300];
        node_id(c->name, node_name, id, sizeof id);
        return json_object_get(c->nodes, id);
}

static json_t *new_node(Ctx *c, const char *node_name, const char *display, const char *type, const char *tmpl,
                        const char *boundary) {
        /* Past the limit the workflow is terminated: nothing new starts,
         * no exit handler runs, and the passes that follow add no nodes. */
        if (json_object_size(c->nodes) >= WF_MAX_NODES && !c->stopping) {
                json_object_set_new(c->status, "sdflowShutdown", json_string("Terminate"));
                json_object_set_new(c->status, "message",
                                    json_sprintf("the workflow reached sdflow's limit of %d nodes", WF_MAX_NODES));
                c->stopping = true;
                c->over_limit = true;
        }
        char id[300];
        node_id(c->name, node_name, id, sizeof id);
        json_t *n = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "name", node_name, "displayName", display,
                              "type", type, "phase", "Pending", "startedAt", c->now);
        if (!n)
                return NULL;
        if (tmpl)
                json_object_set_new(n, "templateName", json_string(tmpl));
        if (boundary)
                json_object_set_new(n, "boundaryID", json_string(boundary));
        /* (set_new frees n also when it fails: never hand back a freed node) */
        if (json_object_set_new(c->nodes, id, n) < 0)
                return NULL;
        return n;
}

/* Appends child to parent's children once.  Which pairs exist is kept in
 * c->edges for the pass: a loop of 10000 items would otherwise cost 10^8
 * comparisons a pass. */
static void add_child(Ctx *c, json_t *parent, json_t *child) {
        const char *pid = json_str(parent, "id"), *id = json_str(child, "id");
        _cleanup_free_ char *edge = joinf("%s/%s", pid ?: "", id ?: "");
        if (!edge || json_object_get(c->edges, edge))
                return;
        json_object_set_new(c->edges, edge, json_true());
        json_t *ch = json_object_get(parent, "children");
        if (!ch) {
                json_auto_t *fresh = json_array();
                if (!fresh || json_object_set(parent, "children", fresh) < 0)
                        return;
                ch = fresh; /* borrowed: parent holds it */
        }
        json_array_append_new(ch, json_string(id));
}

static void set_phase(Ctx *c, json_t *n, const char *phase, const char *msg) {
        if (!n)
                return;
        const char *old = node_phase(n);
        if (old && strcmp(old, phase) == 0 && (!msg || (json_str(n, "message") && strcmp(json_str(n, "message"), msg) == 0)))
                return;
        json_object_set_new(n, "phase", json_string(phase));
        if (msg)
                json_object_set_new(n, "message", json_string(msg));
        else if (strcmp(phase, "Succeeded") == 0)
                json_object_del(n, "message");
        if (phase_node_done(phase) && !json_object_get(n, "finishedAt"))
                json_object_set_new(n, "finishedAt", json_string(c->now));
}

static void wake_at(Ctx *c, uint64_t t) {
        if (c->wake_at == 0 || t < c->wake_at)
                c->wake_at = t;
}

/* ---- variables ----------------------------------------------------------------------- */

typedef struct Scope {
        Ctx *c;
        json_t *vars;         /* name -> string */
        const char *dag;      /* node name of the DAG whose tasks are named */
        json_t *steps;        /* step name -> node name */
        json_t *keep;         /* strings made while expanding */
} Scope;

static json_t *scope_node(Scope *s, const char *name, size_t n, bool task) {
        if (task) {
                if (!s->dag)
                        return NULL;
                _cleanup_free_ char *nn = joinf("%s.%.*s", s->dag, (int) n, name);
                return nn ? get_node(s->c, nn) : NULL;
        }
        if (!s->steps)
                return NULL;
        json_t *v = json_object_getn(s->steps, name, n);
        return v ? get_node(s->c, json_string_value(v)) : NULL;
}

/* One output of a node; of a node expanded by withItems, a JSON list of its children's. */
static json_t *node_output(Scope *s, json_t *node, const char *what) {
        json_t *outs = json_object_get(node, "outputs");
        const char *type = json_str(node, "type");
        if (type && (strcmp(type, "TaskGroup") == 0 || strcmp(type, "StepGroup") == 0) &&
            json_object_get(node, "sdflowExpanded")) {
                json_auto_t *list = json_array();
                json_t *id;
                size_t i;
                json_array_foreach(json_object_get(node, "children"), i, id) {
                        json_t *child = json_object_get(s->c->nodes, json_string_value(id));
                        json_t *v = child ? node_output(s, child, what) : NULL;
                        if (v) {
                                json_t *parsed = json_loads(json_string_value(v), JSON_DECODE_ANY, NULL);
                                json_array_append_new(list, parsed ?: json_incref(v));
                        }
                }
                _cleanup_free_ char *text = json_dumps(list, JSON_COMPACT);
                json_t *r = json_string(text ?: "[]");
                /* s->keep holds r; append_new frees it also when it fails. */
                if (!r || json_array_append_new(s->keep, r) < 0)
                        return NULL;
                return r;
        }
        if (strcmp(what, "result") == 0)
                return json_object_get(outs, "result");
        if (strcmp(what, "exitCode") == 0)
                return json_object_get(outs, "exitCode");
        const char *sections[] = { "parameters.", "artifacts." };
        for (int k = 0; k < 2; k++)
                if (strncmp(what, sections[k], strlen(sections[k])) == 0) {
                        const char *want = what + strlen(sections[k]);
                        size_t i;
                        json_t *p;
                        json_array_foreach(json_object_get(outs, k == 0 ? "parameters" : "artifacts"), i, p)
                                if (json_str(p, "name") && strcmp(json_str(p, "name"), want) == 0)
                                        return json_object_get(p, k == 0 ? "value" : "hostPath");
                }
        return NULL;
}

static int lookup(const char *name, const char **value, void *userdata) {
        Scope *s = userdata;
        json_t *v = json_object_get(s->vars, name);
        if (!v)
                v = json_object_get(s->c->wfvars, name);
        if (v) {
                *value = json_string_value(v);
                return 0;
        }
        bool task = strncmp(name, "tasks.", 6) == 0;
        if (task || strncmp(name, "steps.", 6) == 0) {
                const char *rest = name + 6, *dot = strchr(rest, '.');
                if (!dot)
                        return -ENOENT;
                json_t *node = scope_node(s, rest, (size_t) (dot - rest), task);
                if (!node)
                        return -ENOENT;
                const char *field = dot + 1;
                if (strcmp(field, "status") == 0 || strcmp(field, "id") == 0 || strcmp(field, "startedAt") == 0 ||
                    strcmp(field, "finishedAt") == 0) {
                        v = json_object_get(node, strcmp(field, "status") == 0 ? "phase" : field);
                } else if (strcmp(field, "exitCode") == 0) /* Argo's {{steps.X.exitCode}} */
                        v = node_output(s, node, "exitCode");
                else if (strncmp(field, "outputs.", 8) == 0)
                        v = node_output(s, node, field + 8);
                if (!json_is_string(v))
                        return -ENOENT;
                *value = json_string_value(v);
                return 0;
        }
        return -ENOENT;
}

/* Expands text in scope; NULL with err on failure. */
static char *expand(Scope *s, const char *text, char *err, size_t errsz) {
        char *out = NULL;
        if (!text) {
                out = strdup("");
                if (!out)
                        snprintf(err, errsz, "out of memory");
                return out;
        }
        if (tmpl_expand(text, lookup, s, &out, err, errsz) < 0)
                return NULL;
        return out;
}

/* The string form of a JSON value: strings as they are, the rest as JSON. */
static char *value_text(json_t *v) {
        if (json_is_string(v))
                return strdup(json_string_value(v));
        if (!v || json_is_null(v))
                return strdup("");
        return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void var_set(json_t *vars, const char *name, const char *value) {
        json_object_set_new(vars, name, json_string(value));
}

/* Adds item (and item.key for objects) to vars. */
static void item_vars(json_t *vars, json_t *item) {
        _cleanup_free_ char *t = value_text(item);
        var_set(vars, "item", t ?: "");
        const char *k;
        json_t *v;
        json_object_foreach(item, k, v) {
                char name[300];
                snprintf(name, sizeof name, "item.%s", k);
                _cleanup_free_ char *vt = value_text(v);
                var_set(vars, name, vt ?: "");
        }
}

/* The inputs of a template's node as variables: inputs.parameters.x,
 * inputs.artifacts.x.path; and, in a steps or DAG template (passing),
 * inputs.artifacts.x itself, which a call passes on whole as Argo has it
 * (arguments.artifacts[].from: "{{inputs.artifacts.x}}"). */
static json_t *input_vars(json_t *tmpl, json_t *node, bool passing) {
        json_t *vars = json_object(), *p;
        size_t i;
        char name[300];
        json_array_foreach(json_object_get(json_object_get(node, "inputs"), "parameters"), i, p) {
                snprintf(name, sizeof name, "inputs.parameters.%s", json_str(p, "name"));
                var_set(vars, name, json_str(p, "value") ?: "");
        }
        json_array_foreach(json_object_get(json_object_get(tmpl, "inputs"), "artifacts"), i, p) {
                snprintf(name, sizeof name, "inputs.artifacts.%s.path", json_str(p, "name"));
                if (json_str(p, "path"))
                        var_set(vars, name, json_str(p, "path"));
        }
        if (passing)
                json_array_foreach(json_object_get(json_object_get(node, "inputs"), "artifacts"), i, p) {
                        snprintf(name, sizeof name, "inputs.artifacts.%s", json_str(p, "name"));
                        if (json_str(p, "hostPath"))
                                var_set(vars, name, json_str(p, "hostPath"));
                }
        return vars;
}

/* ---- inputs -------------------------------------------------------------------------- */

/* Resolves a template's inputs from the caller's arguments (already
 * expanded: {"parameters": [{name, value}], "artifacts": [{name, hostPath}]})
 * into node.inputs.  Returns 0 or -EINVAL with msg. */
static int resolve_inputs(Ctx *c, json_t *tmpl, json_t *args, json_t *node, char *msg, size_t size) {
        json_auto_t *ins = json_object(), *params = json_array(), *arts = json_array();
        json_t *p, *a;
        size_t i, j;
        /* (set, not set_new: params and arts are filled below, held by node) */
        if (!ins || !params || !arts || json_object_set(ins, "parameters", params) < 0 ||
            json_object_set(ins, "artifacts", arts) < 0 || json_object_set(node, "inputs", ins) < 0) {
                snprintf(msg, size, "inputs: out of memory");
                return -ENOMEM;
        }
        json_array_foreach(json_object_get(json_object_get(tmpl, "inputs"), "parameters"), i, p) {
                const char *name = json_str(p, "name");
                json_t *val = NULL;
                json_array_foreach(json_object_get(args, "parameters"), j, a)
                        if (strcmp(json_str(a, "name"), name) == 0)
                                val = json_object_get(a, "value");
                _cleanup_free_ char *text = NULL;
                if (!val) {
                        /* value, else default, expanded with the workflow's variables */
                        json_t *d = json_object_get(p, "value") ?: json_object_get(p, "default");
                        if (!d) {
                                snprintf(msg, size, "inputs.parameters.%s was not supplied (template %s)", name,
                                         json_str(tmpl, "name"));
                                return -EINVAL;
                        }
                        _cleanup_free_ char *raw = value_text(d);
                        char err[256];
                        json_auto_t *vars = json_object(), *keep = json_array();
                        Scope s = { .c = c, .vars = vars, .keep = keep };
                        text = expand(&s, raw, err, sizeof err);
                        if (!text) {
                                snprintf(msg, size, "inputs.parameters.%s: %s", name, err);
                                return -EINVAL;
                        }
                } else {
                        text = value_text(val);
                        if (!text) {
                                snprintf(msg, size, "inputs.parameters.%s: out of memory", name);
                                return -ENOMEM;
                        }
                }
                json_t *en = json_object_get(p, "enum");
                if (json_array_size(en) > 0) {
                        bool ok = false;
                        json_t *x;
                        json_array_foreach(en, j, x) {
                                _cleanup_free_ char *t = value_text(x);
                                ok = ok || (t && strcmp(t, text) == 0);
                        }
                        if (!ok) {
                                snprintf(msg, size, "inputs.parameters.%s: '%.100s' is not one of its enum values", name,
                                         text);
                                return -EINVAL;
                        }
                }
                if (json_array_append_new(params, json_pack("{s:s, s:s}", "name", name, "value", text)) < 0) {
                        snprintf(msg, size, "inputs.parameters.%s: out of memory", name);
                        return -ENOMEM;
                }
        }
        json_array_foreach(json_object_get(json_object_get(tmpl, "inputs"), "artifacts"), i, p) {
                const char *name = json_str(p, "name"), *host = NULL;
                json_array_foreach(json_object_get(args, "artifacts"), j, a)
                        if (strcmp(json_str(a, "name"), name) == 0)
                                host = json_str(a, "hostPath");
                if (!host && json_is_true(json_object_get(p, "optional")))
                        continue;
                if (!host) {
                        snprintf(msg, size, "inputs.artifacts.%s was not supplied (template %s)", name,
                                 json_str(tmpl, "name"));
                        return -EINVAL;
                }
                json_auto_t *art = json_pack("{s:s, s:s}", "name", name, "hostPath", host);
                if (!art ||
                    (json_str(p, "path") && json_object_set_new(art, "path", json_string(json_str(p, "path"))) < 0) ||
                    json_array_append_new(arts, TAKE_PTR(art)) < 0) {
                        snprintf(msg, size, "inputs.artifacts.%s: out of memory", name);
                        return -ENOMEM;
                }
        }
        return 0;
}

/* Expands a call's (task's or step's) arguments in scope. */
static json_t *expand_args(Scope *s, json_t *call, char *msg, size_t size) {
        json_auto_t *args = json_pack("{s:[], s:[]}", "parameters", "artifacts");
        json_t *p;
        size_t i;
        char err[256], prefix[128];
        if (!args) {
                snprintf(msg, size, "arguments: out of memory");
                return NULL;
        }
        snprintf(prefix, sizeof prefix, "%s/%s", s->c->ns, "");
        json_array_foreach(json_object_get(json_object_get(call, "arguments"), "parameters"), i, p) {
                _cleanup_free_ char *raw = value_text(json_object_get(p, "value"));
                _cleanup_free_ char *v = expand(s, raw, err, sizeof err);
                if (!v) {
                        snprintf(msg, size, "arguments.parameters.%s: %s", json_str(p, "name"), err);
                        return NULL;
                }
                json_array_append_new(json_object_get(args, "parameters"),
                                      json_pack("{s:s, s:s}", "name", json_str(p, "name"), "value", v));
        }
        json_array_foreach(json_object_get(json_object_get(call, "arguments"), "artifacts"), i, p) {
                char base[400];
                snprintf(base, sizeof base, ARTIFACTS_BASE "/%s/artifacts/", s->c->ns);
                _cleanup_free_ char *v = expand(s, json_str(p, "from"), err, sizeof err);
                if (!v) {
                        snprintf(msg, size, "arguments.artifacts.%s.from: %s", json_str(p, "name"), err);
                        return NULL;
                }
                if (strncmp(v, base, strlen(base)) != 0 || strstr(v, "/../")) {
                        snprintf(msg, size, "arguments.artifacts.%s.from: '%.100s' is not an output artifact of this "
                                            "namespace (use {{tasks.T.outputs.artifacts.NAME}})", json_str(p, "name"), v);
                        return NULL;
                }
                json_array_append_new(json_object_get(args, "artifacts"),
                                      json_pack("{s:s, s:s}", "name", json_str(p, "name"), "hostPath", v));
        }
        return TAKE_PTR(args);
}

/* ---- pods ------------------------------------------------------------------------------ */

static void node_dir(Ctx *c, json_t *node, char *buf, size_t size) {
        json_int_t run = json_integer_value(json_object_get(c->status, "sdflowRun"));
        if (run > 0)
                snprintf(buf, size, ARTIFACTS_BASE "/%s/artifacts/%s/%s.%lld", c->ns, c->name, json_str(node, "id"),
                         (long long) run);
        else
                snprintf(buf, size, ARTIFACTS_BASE "/%s/artifacts/%s/%s", c->ns, c->name, json_str(node, "id"));
}

/* Whether a step may be taken from the cache.  As in Kubeflow Pipelines,
 * whose cache serves only pods labelled pipelines.kubeflow.org/cache_enabled
 * "true" (KFP's API server labels every template of the runs it starts):
 * on with that label or annotation on the workflow or the template, off
 * again with "false" or max_cache_staleness P0D on the template.  Plain
 * Argo workflows are never cached, as in Argo: a step such as a coin flip
 * must run each time. */
static bool cache_enabled(Ctx *c, json_t *tmpl) {
        static const char *const where[] = { "labels", "annotations" };
        json_t *md = json_object_get(c->wf, "metadata"), *tmd = json_object_get(tmpl, "metadata");
        const char *wv = NULL, *tv = NULL;
        for (int i = 0; i < 2; i++) {
                const char *v = json_str(json_object_get(tmd, where[i]), "pipelines.kubeflow.org/max_cache_staleness");
                if (v && strcmp(v, "P0D") == 0)
                        return false;
                tv = tv ?: json_str(json_object_get(tmd, where[i]), "pipelines.kubeflow.org/cache_enabled");
                wv = wv ?: json_str(json_object_get(md, where[i]), "pipelines.kubeflow.org/cache_enabled");
        }
        if (tv)
                return strcmp(tv, "true") == 0;
        return wv && strcmp(wv, "true") == 0;
}

/* The resolved step: what decides its outputs.  Also the cache key's input. */
static json_t *resolve_pod(Ctx *c, json_t *tmpl, json_t *node, char *msg, size_t size) {
        bool script = json_object_get(tmpl, "script") != NULL;
        json_t *proc = json_object_get(tmpl, script ? "script" : "container"), *x;
        json_auto_t *vars = input_vars(tmpl, node, false), *keep = json_array();
        Scope s = { .c = c, .vars = vars, .keep = keep };
        char err[256];
        size_t i;
        var_set(s.vars, "pod.name", json_str(node, "id"));
        char rbuf[32];
        snprintf(rbuf, sizeof rbuf, "%ld", c->attempt < 0 ? 0 : c->attempt);
        var_set(s.vars, "retries", rbuf);
        var_set(s.vars, "node.name", json_str(node, "name"));
        /* (NULL without an image, or out of memory: refused below, as it has no command) */
        json_auto_t *r = json_pack("{s:s, s:[], s:[], s:[]}", "image", json_str(proc, "image"), "command", "args", "env");
        static const char *const lists[] = { "command", "args" };
        for (int k = 0; k < 2; k++)
                json_array_foreach(json_object_get(proc, lists[k]), i, x) {
                        _cleanup_free_ char *v = expand(&s, json_string_value(x), err, sizeof err);
                        if (!v) {
                                snprintf(msg, size, "%s.%s[%zu]: %s", script ? "script" : "container", lists[k], i, err);
                                return NULL;
                        }
                        json_array_append_new(json_object_get(r, lists[k]), json_string(v));
                }
        json_array_foreach(json_object_get(proc, "env"), i, x) {
                _cleanup_free_ char *v = expand(&s, json_str(x, "value"), err, sizeof err), *kv = NULL;
                if (!v) {
                        snprintf(msg, size, "env[%zu].value: %s", i, err);
                        return NULL;
                }
                if (asprintf(&kv, "%s=%s", json_str(x, "name"), v) < 0) {
                        kv = NULL; /* undefined after a failure */
                        snprintf(msg, size, "env[%zu].value: out of memory", i);
                        return NULL;
                }
                json_array_append_new(json_object_get(r, "env"), json_string(kv));
        }
        if (script) {
                _cleanup_free_ char *v = expand(&s, json_str(proc, "source"), err, sizeof err);
                if (!v) {
                        snprintf(msg, size, "script.source: %s", err);
                        return NULL;
                }
                json_object_set_new(r, "source", json_string(v));
                if (json_array_size(json_object_get(r, "command")) == 0)
                        json_array_append_new(json_object_get(r, "command"), json_string("sh"));
        }
        if (json_array_size(json_object_get(r, "command")) == 0 && json_array_size(json_object_get(r, "args")) == 0) {
                snprintf(msg, size, "container.command: give a command (images have no entrypoint here)");
                return NULL;
        }
        /* What reaches the step as one argument or variable: Linux takes at
         * most MAX_ARG_STRLEN bytes each (exec would say only E2BIG). */
        static const char *const parts[] = { "command", "args", "env" };
        for (int k = 0; k < 3; k++)
                json_array_foreach(json_object_get(r, parts[k]), i, x)
                        if (json_string_length(x) >= WF_MAX_ARG) {
                                snprintf(msg, size, "%s.%s[%zu]: %zu bytes, more than the %d a program's argument or "
                                                    "variable may have (pass large values as artifacts)",
                                         script ? "script" : "container", parts[k], i, json_string_length(x),
                                         WF_MAX_ARG - 1);
                                return NULL;
                        }
        if (json_string_length(json_object_get(r, "source")) >= WF_MAX_ARG - 16) { /* --source= */
                snprintf(msg, size, "script.source: %zu bytes, more than the %d a script may have",
                         json_string_length(json_object_get(r, "source")), WF_MAX_ARG - 17);
                return NULL;
        }
        if (json_str(proc, "workingDir"))
                json_object_set_new(r, "workingDir", json_string(json_str(proc, "workingDir")));
        /* The template's timeout, which may come from an input ("{{inputs.parameters.timeout}}"). */
        if (json_is_string(json_object_get(tmpl, "timeout"))) {
                _cleanup_free_ char *t = expand(&s, json_str(tmpl, "timeout"), err, sizeof err);
                json_auto_t *tv = t ? json_string(t) : NULL;
                if (!t || wf_parse_duration(tv) < 0) {
                        snprintf(msg, size, "timeout: '%.80s' is not a duration (30s, 1m30s, 2h)", t ? t : err);
                        return NULL;
                }
                json_object_set_new(r, "timeout", TAKE_PTR(tv));
        }
        json_object_set(r, "resources", json_object_get(json_object_get(proc, "resources"), "limits") ?: json_null());
        json_object_set(r, "inputs", json_object_get(node, "inputs"));
        /* Outputs: where the step leaves them. */
        json_auto_t *outs = json_pack("{s:[], s:[]}", "parameters", "artifacts");
        /* (set, not set_new: outs is filled below, held by r) */
        if (!outs || json_object_set(r, "outputs", outs) < 0) {
                snprintf(msg, size, "outputs: out of memory");
                return NULL;
        }
        json_array_foreach(json_object_get(json_object_get(tmpl, "outputs"), "parameters"), i, x) {
                json_t *vf = json_object_get(x, "valueFrom");
                _cleanup_free_ char *path = json_str(vf, "path") ? expand(&s, json_str(vf, "path"), err, sizeof err) : NULL;
                json_t *o = json_pack("{s:s}", "name", json_str(x, "name"));
                if (path)
                        json_object_set_new(o, "path", json_string(path));
                if (json_object_get(vf, "default"))
                        json_object_set(o, "default", json_object_get(vf, "default"));
                if (json_object_get(x, "value"))
                        json_object_set(o, "value", json_object_get(x, "value"));
                json_array_append_new(json_object_get(outs, "parameters"), o);
        }
        json_array_foreach(json_object_get(json_object_get(tmpl, "outputs"), "artifacts"), i, x) {
                if (!json_str(x, "path"))
                        continue;
                _cleanup_free_ char *path = expand(&s, json_str(x, "path"), err, sizeof err);
                json_array_append_new(json_object_get(outs, "artifacts"),
                                      json_pack("{s:s, s:s, s:b}", "name", json_str(x, "name"), "path", path ?: "",
                                                "optional", json_is_true(json_object_get(x, "optional"))));
        }
        return TAKE_PTR(r);
}

static void cache_key(json_t *resolved, char *hex, size_t size) {
        /* Input artifacts count by content, not by where they lie. */
        json_auto_t *copy = json_deep_copy(resolved);
        json_t *a;
        size_t i;
        json_array_foreach(json_object_get(json_object_get(copy, "inputs"), "artifacts"), i, a)
                json_object_del(a, "hostPath");
        _cleanup_free_ char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
        char h[SHA256_HEX_LEN + 1];
        if (!text || sha256_hex(text, strlen(text), h) < 0)
                h[0] = '\0';
        snprintf(hex, size, "%s", h);
}

/* A pod node's step: resolve, look in the cache, or queue its unit. */
static void pod_begin(Ctx *c, json_t *node, json_t *tmpl) {
        char msg[512], key[80] = "";
        json_auto_t *resolved = resolve_pod(c, tmpl, node, msg, sizeof msg);
        if (!resolved) {
                set_phase(c, node, "Error", msg);
                return;
        }
        /* Input artifacts count by their digests (recorded by the steps that made them). */
        json_t *a;
        size_t i;
        json_array_foreach(json_object_get(json_object_get(resolved, "inputs"), "artifacts"), i, a) {
                char dig[80];
                if (c->env->artifact_digest && c->env->artifact_digest(c->env->userdata, json_str(a, "hostPath"), dig, sizeof dig))
                        json_object_set_new(a, "sha256", json_string(dig));
        }
        if (cache_enabled(c, tmpl)) {
                cache_key(resolved, key, sizeof key);
                char from[256] = "";
                json_t *outs = c->env->cache_lookup ? c->env->cache_lookup(c->env->userdata, c->ns, key, from, sizeof from)
                                                    : NULL;
                if (outs) {
                        json_object_set_new(node, "outputs", outs);
                        json_object_set_new(node, "sdflowCachedFrom", json_string(from));
                        char m[400];
                        snprintf(m, sizeof m, "cached: the outputs of an identical step of workflow %s", from);
                        set_phase(c, node, "Succeeded", NULL);
                        json_object_set_new(node, "message", json_string(m));
                        return;
                }
                json_object_set_new(node, "sdflowCacheKey", json_string(key));
        }
        json_object_set_new(node, "sdflowStep", TAKE_PTR(resolved));
}

static uint64_t quantity_or_max(json_t *limits, const char *what, bool cpu) {
        Quantity q;
        json_t *v = json_object_get(limits, what);
        if (!v || profile_quota_value(v, &q) < 0)
                return UINT64_MAX;
        if (cpu)
                return quantity_ceil_milli(q) * 1000; /* CPUQuotaPerSecUSec: 1000 m = 1 s per s */
        return quantity_ceil_units(q);
}

/* What a pod node's step asks of the namespace: CPU (CPUQuotaPerSecUSec)
 * and memory; 0 for what it does not limit. */
static void pod_needs(json_t *node, uint64_t *cpu, uint64_t *mem) {
        json_t *res = json_object_get(json_object_get(node, "sdflowStep"), "resources");
        uint64_t c = quantity_or_max(res, "cpu", true), m = quantity_or_max(res, "memory", false);
        *cpu = c == UINT64_MAX ? 0 : c;
        *mem = m == UINT64_MAX ? 0 : m;
}

/* Whether a queued pod may start now: the workflow's parallelism, then
 * what the namespace's quota leaves (env->admit).  1: yes; 0: it waits
 * (msg says why); negative: it never can. */
static int pod_may_start(Ctx *c, json_t *node, char *msg, size_t size) {
        json_int_t par = json_integer_value(json_object_get(c->spec, "parallelism"));
        if (par > 0 && c->running >= (unsigned) par) {
                snprintf(msg, size, "waiting: the workflow's parallelism (%lld) is reached", (long long) par);
                return 0;
        }
        for (unsigned k = 0; k < c->n_par; k++)
                if (c->par[k].running >= (unsigned long) c->par[k].limit) {
                        snprintf(msg, size, "waiting: a template's parallelism (%ld) is reached", c->par[k].limit);
                        return 0;
                }
        uint64_t cpu, mem;
        pod_needs(node, &cpu, &mem);
        if ((cpu == 0 && mem == 0) || !c->env->admit)
                return 1;
        return c->env->admit(c->env->userdata, c->ns, cpu, mem, msg, size);
}

static void pod_start(Ctx *c, json_t *node) {
        char unit[400], dir[600];
        json_int_t run = json_integer_value(json_object_get(c->status, "sdflowRun"));
        snprintf(unit, sizeof unit, "sdflowwf_%s_%s_%lld.service", c->ns, json_str(node, "id"), (long long) run);
        node_dir(c, node, dir, sizeof dir);
        json_object_set_new(node, "sdflowUnit", json_string(unit));
        json_object_set_new(node, "sdflowDir", json_string(dir));
        set_phase(c, node, "Running", NULL);
        json_array_append_new(c->starts, json_string(json_str(node, "id")));
        c->running++;
        for (unsigned k = 0; k < c->n_par; k++)
                c->par[k].running++;
}

/* Pods running below node (its descendants). */
static unsigned running_below(Ctx *c, json_t *node, int depth) {
        unsigned n = 0;
        json_t *id;
        size_t i;
        if (depth > 4 * WF_MAX_DEPTH)
                return 0;
        json_array_foreach(json_object_get(node, "children"), i, id) {
                json_t *ch = json_object_get(c->nodes, json_string_value(id));
                if (!ch)
                        continue;
                if (json_str(ch, "sdflowUnit") && !phase_node_done(node_phase(ch)))
                        n++;
                n += running_below(c, ch, depth + 1);
        }
        return n;
}

/* ---- templates ------------------------------------------------------------------------ */

static json_t *execute(Ctx *c, const char *node_name, const char *display, const char *tmpl_name, json_t *args,
                       const char *boundary, bool in_retry);

/* A template's outputs that come from its children (dag, steps):
 * valueFrom.parameter and from. */
static void collect_outputs(Ctx *c, json_t *tmpl, json_t *node, Scope *s) {
        json_t *outs = json_pack("{s:[], s:[]}", "parameters", "artifacts"), *p;
        size_t i;
        char err[256];
        json_array_foreach(json_object_get(json_object_get(tmpl, "outputs"), "parameters"), i, p) {
                const char *from = json_str(json_object_get(p, "valueFrom"), "parameter");
                _cleanup_free_ char *v = from ? expand(s, from, err, sizeof err) : NULL;
                if (v)
                        json_array_append_new(json_object_get(outs, "parameters"),
                                              json_pack("{s:s, s:s}", "name", json_str(p, "name"), "value", v));
        }
        json_array_foreach(json_object_get(json_object_get(tmpl, "outputs"), "artifacts"), i, p) {
                _cleanup_free_ char *v = json_str(p, "from") ? expand(s, json_str(p, "from"), err, sizeof err) : NULL;
                if (v)
                        json_array_append_new(json_object_get(outs, "artifacts"),
                                              json_pack("{s:s, s:s}", "name", json_str(p, "name"), "hostPath", v));
        }
        json_object_set_new(node, "outputs", outs);
        (void) c;
}

/* A withSequence format with exactly one integer conversion (%d, %05d, %x, %X, %o). */
static bool int_format(const char *f) {
        const char *p = strchr(f, '%');
        if (!p || strchr(p + 1, '%'))
                return false;
        p++;
        while (*p == '0' || *p == '-' || *p == ' ' || *p == '+')
                p++;
        while (isdigit((unsigned char) *p))
                p++;
        return *p && strchr("dxXo", *p) != NULL;
}

/* The items of withItems, withParam or withSequence; NULL when there are
 * none; -EINVAL (msg) when malformed. */
static int call_items(Scope *s, json_t *call, json_t **ret, char *msg, size_t size) {
        *ret = NULL;
        json_t *items = json_object_get(call, "withItems");
        if (items) {
                *ret = json_incref(items);
                return 0;
        }
        char err[256];
        if (json_str(call, "withParam")) {
                _cleanup_free_ char *v = expand(s, json_str(call, "withParam"), err, sizeof err);
                if (!v) {
                        snprintf(msg, size, "withParam: %s", err);
                        return -EINVAL;
                }
                json_error_t je;
                json_auto_t *list = json_loads(v, 0, &je);
                if (!json_is_array(list)) {
                        snprintf(msg, size, "withParam: '%.80s' is not a JSON list", v);
                        return -EINVAL;
                }
                *ret = TAKE_PTR(list);
                return 0;
        }
        json_t *seq = json_object_get(call, "withSequence");
        if (seq) {
                long long start = 0, end = 0, count = -1;
                json_t *x;
                if ((x = json_object_get(seq, "start"))) {
                        _cleanup_free_ char *t = value_text(x);
                        if (t) {
                                _cleanup_free_ char *e2 = expand(s, t, err, sizeof err);
                                start = e2 ? strtoll(e2, NULL, 10) : 0;
                        }
                }
                if ((x = json_object_get(seq, "end"))) {
                        _cleanup_free_ char *t = value_text(x);
                        if (t) {
                                _cleanup_free_ char *e2 = expand(s, t, err, sizeof err);
                                end = e2 ? strtoll(e2, NULL, 10) : 0;
                        }
                }
                if ((x = json_object_get(seq, "count"))) {
                        _cleanup_free_ char *t = value_text(x);
                        if (t) {
                                _cleanup_free_ char *e2 = expand(s, t, err, sizeof err);
                                count = e2 ? strtoll(e2, NULL, 10) : 0;
                                end = start + count - 1;
                        }
                }
                long long n = end >= start ? end - start + 1 : start - end + 1;
                if (count == 0)
                        n = 0;
                if (n > MAX_ITEMS) {
                        snprintf(msg, size, "withSequence: %lld items (at most %d)", n, MAX_ITEMS);
                        return -EINVAL;
                }
                json_auto_t *list = json_array();
                if (!list) {
                        snprintf(msg, size, "withSequence: out of memory");
                        return -ENOMEM;
                }
                const char *fmt = json_str(seq, "format");
                for (long long i = 0; i < n; i++) {
                        long long v = end >= start ? start + i : start - i;
                        char b[64];
                        if (fmt && int_format(fmt)) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                                snprintf(b, sizeof b, fmt, (int) v); /* checked: one %d, %x, %X or %o */
#pragma GCC diagnostic pop
                        } else
                                snprintf(b, sizeof b, "%lld", v);
                        if (json_array_append_new(list, json_string(b)) < 0) {
                                snprintf(msg, size, "withSequence: out of memory");
                                return -ENOMEM;
                        }
                }
                *ret = TAKE_PTR(list);
        }
        return 0;
}

/* The label Argo gives an item in a node name: name(i:value). */
static void item_label(json_t *item, size_t i, char *buf, size_t size) {
        _cleanup_free_ char *t = value_text(item);
        snprintf(buf, size, "(%zu:%.60s)", i, t ?: "");
}

/* A call's when, in scope s: NULL when it holds (or there is none), else
 * the new node node_name, Skipped (or Error when the condition is bad). */
static json_t *skipped_by_when(Ctx *c, json_t *call, Scope *s, const char *node_name, const char *display,
                               const char *boundary) {
        char msg[512], err[256];
        if (!json_str(call, "when"))
                return NULL;
        _cleanup_free_ char *w = expand(s, json_str(call, "when"), err, sizeof err);
        int r = w ? when_eval(w, err, sizeof err) : -EINVAL;
        if (r > 0)
                return NULL;
        json_t *node = new_node(c, node_name, display, "Skipped", json_str(call, "template"), boundary);
        if (r == 0)
                snprintf(msg, sizeof msg, "when '%.200s' evaluated false", w);
        else
                snprintf(msg, sizeof msg, "when: %s", err);
        set_phase(c, node, r == 0 ? "Skipped" : "Error", msg);
        return node;
}

/* Runs one call (a DAG task or a step) named node_name in scope s, with
 * its when and items.  Returns its node (never NULL once created). */
static json_t *run_call(Ctx *c, json_t *call, const char *node_name, const char *display, const char *boundary,
                        Scope *s) {
        json_t *node = get_node(c, node_name);
        if (node && phase_node_done(node_phase(node)))
                return node;
        char msg[512];
        const char *tname = json_str(call, "template");
        bool expanded = json_object_get(call, "withItems") || json_object_get(call, "withParam") ||
                        json_object_get(call, "withSequence");
        /* when (of a loop: for each item, below, as Argo evaluates it) */
        if (!node && !expanded && (node = skipped_by_when(c, call, s, node_name, display, boundary)))
                return node;
        if (!expanded) {
                json_auto_t *args = expand_args(s, call, msg, sizeof msg);
                if (!args) {
                        node = node ?: new_node(c, node_name, display, "Pod", tname, boundary);
                        set_phase(c, node, "Error", msg);
                        return node;
                }
                return execute(c, node_name, display, tname, args, boundary, false);
        }
        /* withItems and friends: a group node with one child per item. */
        if (!node) {
                node = new_node(c, node_name, display, "TaskGroup", tname, boundary);
                json_object_set_new(node, "sdflowExpanded", json_true());
        }
        json_auto_t *items = NULL;
        if (call_items(s, call, &items, msg, sizeof msg) < 0) {
                set_phase(c, node, "Error", msg);
                return node;
        }
        size_t i, n_done = 0, n_bad = 0, n_unstarted = 0, n = json_array_size(items);
        json_t *item;
        if (n > MAX_ITEMS) {
                snprintf(msg, sizeof msg, "%s: %zu items (at most %d)",
                         json_object_get(call, "withItems") ? "withItems" : "withParam", n, MAX_ITEMS);
                set_phase(c, node, "Error", msg);
                return node;
        }
        json_array_foreach(items, i, item) {
                char label[128];
                item_label(item, i, label, sizeof label);
                _cleanup_free_ char *child_name = joinf("%s%s", node_name, label);
                _cleanup_free_ char *child_display = joinf("%s%s", display, label);
                if (!child_name || !child_display) {
                        set_phase(c, node, "Error", "out of memory");
                        break;
                }
                if (c->stopping && !get_node(c, child_name)) {
                        /* stopping: an item not begun stays so */
                        n_unstarted++;
                        continue;
                }
                json_auto_t *vars = json_deep_copy(s->vars);
                Scope is = *s;
                is.vars = vars;
                item_vars(is.vars, item);
                json_t *child = get_node(c, child_name);
                if (!child)
                        child = skipped_by_when(c, call, &is, child_name, child_display, json_str(node, "id"));
                if (!child) {
                        json_auto_t *args = expand_args(&is, call, msg, sizeof msg);
                        if (!args) {
                                child = new_node(c, child_name, child_display, "Pod", tname, json_str(node, "id"));
                                set_phase(c, child, "Error", msg);
                        } else
                                child = execute(c, child_name, child_display, tname, args, json_str(node, "id"), false);
                } else if (!phase_node_done(node_phase(child))) {
                        json_auto_t *args = expand_args(&is, call, msg, sizeof msg);
                        if (args)
                                child = execute(c, child_name, child_display, tname, args, json_str(node, "id"), false);
                }
                if (child) {
                        add_child(c, node, child);
                        if (phase_node_done(node_phase(child)))
                                n_done++;
                        if (phase_failed(node_phase(child)))
                                n_bad++;
                }
        }
        if (n_done == n) {
                set_phase(c, node, n_bad ? "Failed" : "Succeeded", n_bad ? "child failed" : NULL);
        } else if (n_unstarted > 0 && n_done + n_unstarted == n) {
                set_phase(c, node, "Failed", n_bad ? "child failed" : "stopped");
        } else if (strcmp(node_phase(node), "Pending") == 0)
                set_phase(c, node, "Running", NULL);
        return node;
}

/* continueOn: a failed (or errored) node that its caller lets pass. */
static bool passes(json_t *call, json_t *node) {
        const char *p = node_phase(node);
        json_t *co = json_object_get(call, "continueOn");
        if (!phase_failed(p))
                return true;
        if (strcmp(p, "Failed") == 0 && json_is_true(json_object_get(co, "failed")))
                return true;
        if (strcmp(p, "Error") == 0 && json_is_true(json_object_get(co, "error")))
                return true;
        return false;
}

/* Evaluates a depends expression against the task nodes; every task it
 * names must be done.  Returns 1, 0, or -EAGAIN (not yet decidable). */
static int eval_depends(Ctx *c, const char *dag_name, const char *expr, char *err, size_t errsz) {
        /* Rewrite "A.Succeeded" etc. to true/false, then use when_eval. */
        char out[4096];
        size_t o = 0;
        const char *p = expr;
        while (*p && o + 8 < sizeof out) {
                if (isalnum((unsigned char) *p) || *p == '_' || *p == '-') {
                        const char *start = p;
                        while (*p && (isalnum((unsigned char) *p) || *p == '_' || *p == '-' || *p == '.'))
                                p++;
                        char word[300];
                        snprintf(word, sizeof word, "%.*s", (int) (p - start), start);
                        char *dot = strchr(word, '.');
                        const char *what = dot ? dot + 1 : NULL;
                        if (dot)
                                *dot = '\0';
                        _cleanup_free_ char *nn = joinf("%s.%s", dag_name, word);
                        json_t *n = nn ? get_node(c, nn) : NULL;
                        if (!n || !phase_node_done(node_phase(n)))
                                return -EAGAIN;
                        const char *ph = node_phase(n);
                        bool v;
                        if (!what)
                                v = strcmp(ph, "Succeeded") == 0 || strcmp(ph, "Skipped") == 0;
                        else if (strcmp(what, "Succeeded") == 0)
                                v = strcmp(ph, "Succeeded") == 0;
                        else if (strcmp(what, "Failed") == 0)
                                v = strcmp(ph, "Failed") == 0;
                        else if (strcmp(what, "Errored") == 0)
                                v = strcmp(ph, "Error") == 0;
                        else if (strcmp(what, "Skipped") == 0)
                                v = strcmp(ph, "Skipped") == 0;
                        else if (strcmp(what, "Omitted") == 0)
                                v = strcmp(ph, "Omitted") == 0;
                        else if (strcmp(what, "Daemoned") == 0)
                                v = false;
                        else if (strcmp(what, "AnySucceeded") == 0 || strcmp(what, "AllFailed") == 0) {
                                bool any = false, all = true;
                                json_t *id;
                                size_t i;
                                json_array_foreach(json_object_get(n, "children"), i, id) {
                                        const char *cp = node_phase(json_object_get(c->nodes, json_string_value(id)));
                                        any = any || (cp && strcmp(cp, "Succeeded") == 0);
                                        all = all && cp && phase_failed(cp);
                                }
                                v = what[1] == 'n' ? any : all;
                        } else {
                                snprintf(err, errsz, "depends: unknown result '%s'", what);
                                return -EINVAL;
                        }
                        o += (size_t) snprintf(out + o, sizeof out - o, "%s", v ? "true" : "false");
                } else
                        out[o++] = *p++;
        }
        out[o] = '\0';
        return when_eval(out, err, errsz);
}

static json_t *find_task(json_t *dag, const char *name) {
        json_t *t;
        size_t i;
        json_array_foreach(json_object_get(dag, "tasks"), i, t)
                if (strcmp(json_str(t, "name"), name) == 0)
                        return t;
        return NULL;
}

/* The names a depends expression or dependencies list mentions, into set. */
static void task_deps(json_t *task, json_t *set) {
        json_t *d;
        size_t i;
        json_array_foreach(json_object_get(task, "dependencies"), i, d)
                json_object_set_new(set, json_string_value(d), json_true());
        const char *p = json_str(task, "depends");
        while (p && *p) {
                if (isalnum((unsigned char) *p) || *p == '_' || *p == '-') {
                        const char *start = p;
                        while (*p && (isalnum((unsigned char) *p) || *p == '_' || *p == '-'))
                                p++;
                        char word[300];
                        snprintf(word, sizeof word, "%.*s", (int) (p - start), start);
                        if (strcmp(word, "true") != 0 && strcmp(word, "false") != 0)
                                json_object_set_new(set, word, json_true());
                        while (*p && (isalnum((unsigned char) *p) || *p == '.' || *p == '_' || *p == '-'))
                                p++;
                } else
                        p++;
        }
}

/* A DAG's tasks, or with target (dag.target expanded: names, space- or
 * comma-separated) only those and what they depend on. */
static json_t *dag_tasks(json_t *dag, const char *target) {
        json_t *all = json_object_get(dag, "tasks");
        if (!target || !*target)
                return json_incref(all);
        json_auto_t *want = json_object();
        json_t *t;
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", target);
        for (char *save = NULL, *w = strtok_r(buf, " ,", &save); w; w = strtok_r(NULL, " ,", &save))
                json_object_set_new(want, w, json_true());
        size_t i;
        bool grew = true;
        while (grew) {
                grew = false;
                json_array_foreach(all, i, t)
                        if (json_object_get(want, json_str(t, "name"))) {
                                size_t before = json_object_size(want);
                                task_deps(t, want);
                                grew = grew || json_object_size(want) != before;
                        }
        }
        json_t *out = json_array();
        json_array_foreach(all, i, t)
                if (json_object_get(want, json_str(t, "name")))
                        json_array_append(out, t);
        return out;
}

/* The phase a DAG's task stands for, as Argo's assessDAGPhase deduces it:
 * its own if it ran (Succeeded, Failed, Error); if it was Omitted or
 * Skipped, its dependencies' (a failure preferred), so that a failure is
 * not hidden by the tasks after it being omitted.  memo: name -> phase. */
static const char *branch_phase(Ctx *c, json_t *dag, const char *dag_name, json_t *task, json_t *memo,
                                unsigned depth) {
        const char *tname = json_str(task, "name");
        json_t *m = json_object_get(memo, tname);
        if (m)
                return json_string_value(m);
        _cleanup_free_ char *nn = joinf("%s.%s", dag_name, tname);
        json_t *tn = nn ? get_node(c, nn) : NULL;
        const char *ph = tn ? node_phase(tn) : NULL, *out = "Succeeded";
        if (ph && (strcmp(ph, "Succeeded") == 0 || phase_failed(ph)))
                out = ph;
        else if (depth < 4 * WF_MAX_NODES) {
                json_auto_t *deps = json_object();
                json_t *v;
                const char *dname;
                task_deps(task, deps);
                json_object_foreach(deps, dname, v) {
                        json_t *dt = find_task(dag, dname);
                        const char *dp = dt ? branch_phase(c, dag, dag_name, dt, memo, depth + 1) : "Succeeded";
                        if (phase_failed(dp) && !phase_failed(out))
                                out = dp;
                }
        }
        json_object_set_new(memo, tname, json_string(out));
        return json_string_value(json_object_get(memo, tname));
}

/* Whether any task depends on the task named name. */
static bool is_depended_on(json_t *tasks, const char *name) {
        json_t *t;
        size_t i;
        json_array_foreach(tasks, i, t) {
                json_auto_t *deps = json_object();
                task_deps(t, deps);
                if (json_object_get(deps, name))
                        return true;
        }
        return false;
}

/* A DAG, as Argo runs it now: a task starts as soon as its dependencies
 * allow (a failure does not stop the others: what depends on the failed
 * task without naming .Failed is Omitted), and when every task has ended,
 * the DAG's phase is that of its target tasks (dag.target, or those no
 * task depends on), each by branch_phase(), continueOn considered.  Argo
 * marks a failFast DAG failed while other branches still run; sdflow waits
 * for them, so failFast changes nothing here. */
static void execute_dag(Ctx *c, json_t *node, json_t *tmpl) {
        json_t *dag = json_object_get(tmpl, "dag"), *task;
        const char *name = json_str(node, "name");
        json_auto_t *vars = input_vars(tmpl, node, true), *keep = json_array();
        Scope s = { .c = c, .vars = vars, .dag = name, .keep = keep };
        char terr[256];
        _cleanup_free_ char *target = json_str(dag, "target") ? expand(&s, json_str(dag, "target"), terr, sizeof terr) : NULL;
        json_auto_t *tasks = dag_tasks(dag, target);
        size_t i, n = json_array_size(tasks), n_done = 0;
        char err[256];

        json_array_foreach(tasks, i, task) {
                const char *tname = json_str(task, "name");
                _cleanup_free_ char *nn = joinf("%s.%s", name, tname);
                if (!nn)
                        continue;
                json_t *tn = get_node(c, nn);
                if (!tn) {
                        if (c->stopping)
                                continue;
                        /* Dependencies. */
                        int ok = 1;
                        if (json_str(task, "depends")) {
                                ok = eval_depends(c, name, json_str(task, "depends"), err, sizeof err);
                                if (ok == -EAGAIN)
                                        continue;
                        } else {
                                json_t *d;
                                size_t k;
                                json_array_foreach(json_object_get(task, "dependencies"), k, d) {
                                        _cleanup_free_ char *dn = joinf("%s.%s", name, json_string_value(d));
                                        json_t *dnode = dn ? get_node(c, dn) : NULL;
                                        if (!dnode || !phase_node_done(node_phase(dnode))) {
                                                ok = -EAGAIN;
                                                break;
                                        }
                                        const char *ph = node_phase(dnode);
                                        json_t *dt = find_task(dag, json_string_value(d));
                                        if (!(strcmp(ph, "Succeeded") == 0 || strcmp(ph, "Skipped") == 0 ||
                                              (dt && phase_failed(ph) && passes(dt, dnode))))
                                                ok = 0;
                                }
                                if (ok == -EAGAIN)
                                        continue;
                        }
                        if (ok <= 0) {
                                tn = new_node(c, nn, tname, "Skipped", json_str(task, "template"), json_str(node, "id"));
                                if (ok == 0)
                                        set_phase(c, tn, "Omitted", "omitted: depends condition not met");
                                else
                                        set_phase(c, tn, "Error", err);
                                add_child(c, node, tn);
                                n_done++;
                                continue;
                        }
                }
                tn = run_call(c, task, nn, tname, json_str(node, "id"), &s);
                if (!tn)
                        continue;
                add_child(c, node, tn);
                if (phase_node_done(node_phase(tn)))
                        n_done++;
        }
        if (strcmp(node_phase(node), "Pending") == 0)
                set_phase(c, node, "Running", NULL);
        /* Done when every task is done, or (stopping) when nothing more runs. */
        bool done = n_done == n;
        if (!done && c->stopping) {
                done = true;
                json_array_foreach(tasks, i, task) {
                        _cleanup_free_ char *nn = joinf("%s.%s", name, json_str(task, "name"));
                        json_t *tn = nn ? get_node(c, nn) : NULL;
                        if (tn && !phase_node_done(node_phase(tn)))
                                done = false;
                }
        }
        if (done) {
                const char *bad = NULL, *bad_task = NULL;
                json_auto_t *memo = json_object();
                json_array_foreach(tasks, i, task) {
                        const char *tname = json_str(task, "name");
                        if (!target && is_depended_on(tasks, tname))
                                continue; /* not a target task */
                        const char *bp = branch_phase(c, dag, name, task, memo, 0);
                        _cleanup_free_ char *nn = joinf("%s.%s", name, tname);
                        json_t *tn = nn ? get_node(c, nn) : NULL;
                        if (phase_failed(bp) && !(tn && phase_failed(node_phase(tn)) && passes(task, tn)) && !bad) {
                                bad = bp;
                                bad_task = tname;
                        }
                }
                if (bad) {
                        char m[400];
                        snprintf(m, sizeof m, "child '%s' failed", bad_task);
                        set_phase(c, node, "Failed", m);
                } else if (c->stopping && n_done < n)
                        set_phase(c, node, "Failed", "stopped");
                else {
                        collect_outputs(c, tmpl, node, &s);
                        set_phase(c, node, "Succeeded", NULL);
                }
        }
}

static void execute_steps(Ctx *c, json_t *node, json_t *tmpl) {
        const char *name = json_str(node, "name");
        json_auto_t *vars = input_vars(tmpl, node, true), *steps = json_object(), *keep = json_array();
        Scope s = { .c = c, .vars = vars, .steps = steps, .keep = keep };
        json_t *group;
        size_t g, n_groups = json_array_size(json_object_get(tmpl, "steps"));
        bool failed = false, all_done = true, stopped = false;
        if (strcmp(node_phase(node), "Pending") == 0)
                set_phase(c, node, "Running", NULL);
        json_array_foreach(json_object_get(tmpl, "steps"), g, group) {
                char gdisplay[64];
                snprintf(gdisplay, sizeof gdisplay, "[%zu]", g);
                _cleanup_free_ char *gname = joinf("%s[%zu]", name, g);
                if (!gname) {
                        all_done = false;
                        break;
                }
                json_t *gn = get_node(c, gname);
                if (!gn) {
                        if (c->stopping) {
                                /* the groups before are done: nothing more runs */
                                stopped = true;
                                break;
                        }
                        gn = new_node(c, gname, gdisplay, "StepGroup", NULL, json_str(node, "id"));
                        set_phase(c, gn, "Running", NULL);
                }
                add_child(c, node, gn);
                json_t *step;
                size_t i, n_done = 0;
                bool gfailed = false;
                json_array_foreach(group, i, step) {
                        _cleanup_free_ char *sn = joinf("%s.%s", gname, json_str(step, "name"));
                        json_t *stn = sn ? run_call(c, step, sn, json_str(step, "name"), json_str(gn, "id"), &s) : NULL;
                        if (!stn)
                                continue;
                        add_child(c, gn, stn);
                        if (phase_node_done(node_phase(stn))) {
                                n_done++;
                                if (!passes(step, stn))
                                        gfailed = true;
                        }
                }
                /* This group's steps are visible to the next groups. */
                json_array_foreach(group, i, step) {
                        _cleanup_free_ char *sn = joinf("%s.%s", gname, json_str(step, "name"));
                        if (sn)
                                json_object_set_new(s.steps, json_str(step, "name"), json_string(sn));
                }
                if (n_done < json_array_size(group)) {
                        all_done = false;
                        break;
                }
                set_phase(c, gn, gfailed ? "Failed" : "Succeeded", gfailed ? "child failed" : NULL);
                if (gfailed) {
                        failed = true;
                        break;
                }
                if (g + 1 == n_groups)
                        break;
        }
        if (failed)
                set_phase(c, node, "Failed", "child failed");
        else if (stopped)
                set_phase(c, node, "Failed", "stopped");
        else if (all_done) {
                collect_outputs(c, tmpl, node, &s);
                set_phase(c, node, "Succeeded", NULL);
        }
}

static void execute_suspend(Ctx *c, json_t *node, json_t *tmpl) {
        if (json_is_true(json_object_get(node, "sdflowResumed"))) {
                set_phase(c, node, "Succeeded", NULL);
                return;
        }
        if (c->stopping) {
                set_phase(c, node, "Failed", "stopped");
                return;
        }
        int64_t d = parse_duration(json_object_get(json_object_get(tmpl, "suspend"), "duration"));
        uint64_t start = parse_time(json_str(node, "startedAt"));
        if (d >= 0 && json_object_get(json_object_get(tmpl, "suspend"), "duration")) {
                if (c->now_sec >= start + (uint64_t) d) {
                        set_phase(c, node, "Succeeded", NULL);
                        return;
                }
                wake_at(c, start + (uint64_t) d);
        }
        set_phase(c, node, "Running", "suspended: resume with sdflow resume");
}

/* A retryStrategy allows another attempt after this one? */
static bool may_retry(json_t *rs, json_t *last, size_t attempts) {
        json_t *lim = json_object_get(rs, "limit");
        long long limit = json_is_integer(lim) ? json_integer_value(lim)
                          : json_is_string(lim) ? strtoll(json_string_value(lim), NULL, 10)
                                                : -1; /* no limit given: Argo retries without end */
        if (limit >= 0 && attempts > (size_t) limit)
                return false;
        const char *pol = json_str(rs, "retryPolicy") ?: "OnFailure";
        const char *ph = node_phase(last);
        if (strcmp(pol, "Always") == 0)
                return true;
        if (strcmp(pol, "OnFailure") == 0)
                return strcmp(ph, "Failed") == 0;
        return strcmp(ph, "Error") == 0; /* OnError, OnTransientError */
}

static json_t *execute_template(Ctx *c, const char *node_name, const char *display, const char *tmpl_name,
                                json_t *args, const char *boundary, bool in_retry);

/* Runs template tmpl_name as node node_name: the node, never NULL.  Bounds
 * how deep templates nest (a template may call itself, as Argo's
 * coinflip-recursive does) and how long node names grow, so that no
 * workflow can exhaust the daemon's stack or memory in one pass. */
static json_t *execute(Ctx *c, const char *node_name, const char *display, const char *tmpl_name, json_t *args,
                       const char *boundary, bool in_retry) {
        json_t *node = get_node(c, node_name);
        if (node && phase_node_done(node_phase(node)))
                return node;
        const char *why = c->depth >= WF_MAX_DEPTH            ? "Maximum recursion depth exceeded: templates nest at most "
                                                                "100 deep (Argo's limit)"
                          : strlen(node_name) > WF_MAX_NAME ? "the node's name is longer than 2048 characters "
                                                                "(templates nest too deep)"
                                                              : NULL;
        if (why) {
                node = node ?: new_node(c, node_name, display, "Pod", tmpl_name, boundary);
                set_phase(c, node, "Error", why);
                return node;
        }
        c->depth++;
        node = execute_template(c, node_name, display, tmpl_name, args, boundary, in_retry);
        c->depth--;
        return node;
}

static json_t *execute_template(Ctx *c, const char *node_name, const char *display, const char *tmpl_name,
                                json_t *args, const char *boundary, bool in_retry) {
        json_t *node = get_node(c, node_name), *tmpl = find_template(c, tmpl_name);
        char msg[512];
        if (!tmpl) {
                node = node ?: new_node(c, node_name, display, "Pod", tmpl_name, boundary);
                snprintf(msg, sizeof msg, "no template named '%s'", tmpl_name ?: "");
                set_phase(c, node, "Error", msg);
                return node;
        }
        json_t *rs = json_object_get(tmpl, "retryStrategy");
        if (rs && !in_retry) {
                if (!node)
                        node = new_node(c, node_name, display, "Retry", tmpl_name, boundary);
                json_t *ch = json_object_get(node, "children");
                size_t n = json_array_size(ch);
                json_t *last = n ? json_object_get(c->nodes, json_string_value(json_array_get(ch, n - 1))) : NULL;
                if (last && phase_node_done(node_phase(last))) {
                        if (strcmp(node_phase(last), "Succeeded") == 0) {
                                json_object_set(node, "outputs", json_object_get(last, "outputs"));
                                set_phase(c, node, "Succeeded", NULL);
                                return node;
                        }
                        if (c->stopping || !may_retry(rs, last, n)) {
                                json_object_set(node, "outputs", json_object_get(last, "outputs"));
                                snprintf(msg, sizeof msg, "%s (after %zu attempt%s)", json_str(last, "message") ?: "failed", n,
                                         n == 1 ? "" : "s");
                                set_phase(c, node, node_phase(last), msg);
                                return node;
                        }
                        /* Backoff: duration * factor^(n-1), at most maxDuration after the first start. */
                        json_t *bo = json_object_get(rs, "backoff");
                        int64_t dur = parse_duration(json_object_get(bo, "duration"));
                        if (dur > 0) {
                                double f = 1;
                                json_t *fac = json_object_get(bo, "factor");
                                double factor = json_is_number(fac) ? json_number_value(fac)
                                                : json_is_string(fac) ? strtod(json_string_value(fac), NULL)
                                                                      : 1;
                                for (size_t k = 1; k < n; k++)
                                        f *= factor;
                                uint64_t at = parse_time(json_str(last, "finishedAt")) + (uint64_t) (dur * f);
                                int64_t maxd = parse_duration(json_object_get(bo, "maxDuration"));
                                if (maxd > 0 && at > parse_time(json_str(node, "startedAt")) + (uint64_t) maxd) {
                                        set_phase(c, node, node_phase(last), "retries exceeded the backoff's maxDuration");
                                        return node;
                                }
                                if (c->now_sec < at) {
                                        wake_at(c, at);
                                        set_phase(c, node, "Running", NULL);
                                        return node;
                                }
                        }
                        last = NULL;
                }
                if (!last) {
                        if (c->stopping) {
                                set_phase(c, node, "Failed", "stopped");
                                return node;
                        }
                        _cleanup_free_ char *an = joinf("%s(%zu)", node_name, n), *ad = joinf("%s(%zu)", display, n);
                        if (!an || !ad) {
                                set_phase(c, node, "Error", "out of memory");
                                return node;
                        }
                        c->attempt = (long) n;
                        last = execute(c, an, ad, tmpl_name, args, boundary, true);
                        c->attempt = -1;
                        add_child(c, node, last);
                } else
                        execute(c, json_str(last, "name"), json_str(last, "displayName"), tmpl_name, args, boundary, true);
                if (strcmp(node_phase(node), "Pending") == 0)
                        set_phase(c, node, "Running", NULL);
                if (phase_node_done(node_phase(last)))
                        return execute(c, node_name, display, tmpl_name, args, boundary, false);
                return node;
        }
        const char *type = json_object_get(tmpl, "dag") ? "DAG"
                           : json_object_get(tmpl, "steps") ? "Steps"
                           : json_object_get(tmpl, "suspend") ? "Suspend"
                                                              : "Pod";
        if (!node) {
                node = new_node(c, node_name, display, type, tmpl_name, boundary);
                if (resolve_inputs(c, tmpl, args, node, msg, sizeof msg) < 0) {
                        set_phase(c, node, "Error", msg);
                        return node;
                }
                if (strcmp(type, "Pod") == 0) {
                        if (c->stopping) {
                                set_phase(c, node, "Failed", "stopped before it started");
                                return node;
                        }
                        pod_begin(c, node, tmpl);
                        if (phase_node_done(node_phase(node)))
                                return node;
                }
        }
        if (strcmp(type, "Pod") == 0) {
                if (!json_str(node, "sdflowUnit")) {
                        int may = c->stopping ? 0 : pod_may_start(c, node, msg, sizeof msg);
                        if (c->stopping)
                                set_phase(c, node, "Failed", "stopped before it started");
                        else if (may > 0) {
                                json_object_del(node, "message");
                                pod_start(c, node);
                        } else if (may < 0)
                                set_phase(c, node, "Failed", msg);
                        else
                                set_phase(c, node, "Pending", msg);
                }
                return node;
        }
        /* parallelism: at most that many pods below this template at once. */
        json_int_t par = json_integer_value(json_object_get(tmpl, "parallelism"));
        bool scoped = par > 0 && c->n_par < sizeof c->par / sizeof c->par[0];
        if (scoped) {
                c->par[c->n_par].limit = (long) par;
                c->par[c->n_par].running = running_below(c, node, 0);
                c->n_par++;
        }
        if (strcmp(type, "DAG") == 0)
                execute_dag(c, node, tmpl);
        else if (strcmp(type, "Steps") == 0)
                execute_steps(c, node, tmpl);
        else
                execute_suspend(c, node, tmpl);
        if (scoped)
                c->n_par--;
        return node;
}

/* ---- one workflow ------------------------------------------------------------------- */

static void make_wfvars(Ctx *c) {
        json_auto_t *v = json_object();
        json_t *p;
        size_t i;
        var_set(v, "workflow.name", c->name);
        var_set(v, "workflow.namespace", c->ns);
        var_set(v, "workflow.uid", json_str(json_object_get(c->wf, "metadata"), "uid") ?: "");
        var_set(v, "workflow.creationTimestamp", json_str(json_object_get(c->wf, "metadata"), "creationTimestamp") ?: "");
        /* Argo's: when a CronWorkflow's run was due (its annotation); a
         * Workflow made otherwise gets its creation time. */
        const char *due = json_str(json_object_get(json_object_get(c->wf, "metadata"), "annotations"),
                                   "workflows.argoproj.io/scheduled-time");
        var_set(v, "workflow.scheduledTime",
                due ?: json_str(json_object_get(c->wf, "metadata"), "creationTimestamp") ?: "");
        json_array_foreach(json_object_get(json_object_get(c->spec, "arguments"), "parameters"), i, p) {
                char name[300];
                snprintf(name, sizeof name, "workflow.parameters.%s", json_str(p, "name"));
                _cleanup_free_ char *t = value_text(json_object_get(p, "value") ?: json_object_get(p, "default"));
                var_set(v, name, t ?: "");
        }
        const char *st = json_str(c->status, "sdflowExitStatus");
        if (st)
                var_set(v, "workflow.status", st);
        var_set(v, "workflow.mainEntrypoint", json_str(c->spec, "entrypoint") ?: "");
        char buf[64];
        var_set(v, "workflow.serviceAccountName", c->env->service_account ?: "");
        uint64_t started = parse_time(json_str(c->status, "startedAt"));
        snprintf(buf, sizeof buf, "%llu", (unsigned long long) (started && c->now_sec > started ? c->now_sec - started : 0));
        var_set(v, "workflow.duration", buf);
        /* workflow.failures: the failed steps, as Argo lists them for exit handlers. */
        json_auto_t *fails = json_array();
        json_t *n;
        const char *id;
        json_object_foreach(c->nodes, id, n)
                if (phase_failed(node_phase(n)) && strcmp(json_str(n, "type") ?: "", "Pod") == 0)
                        json_array_append_new(fails, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "displayName",
                                                               json_str(n, "displayName") ?: "", "message",
                                                               json_str(n, "message") ?: "", "templateName",
                                                               json_str(n, "templateName") ?: "", "phase", node_phase(n),
                                                               "podName", id, "finishedAt", json_str(n, "finishedAt") ?: ""));
        _cleanup_free_ char *ft = json_dumps(fails, JSON_COMPACT);
        var_set(v, "workflow.failures", ft ?: "[]");
        c->wfvars = TAKE_PTR(v);
}

static void count_running(Ctx *c) {
        const char *id;
        json_t *n;
        c->running = 0;
        json_object_foreach(c->nodes, id, n)
                if (json_str(n, "sdflowUnit") && !phase_node_done(node_phase(n)))
                        c->running++;
}

/* The node that failed first among those with no children (a step, or a
 * call that could not be made), or NULL. */
static json_t *failed_leaf(Ctx *c) {
        json_t *best = NULL, *n;
        const char *id;
        json_object_foreach(c->nodes, id, n) {
                if (!phase_failed(node_phase(n)) || json_array_size(json_object_get(n, "children")) > 0)
                        continue;
                if (!best || strcmp(json_str(n, "finishedAt") ?: "", json_str(best, "finishedAt") ?: "") < 0)
                        best = n;
        }
        return best;
}

/* Walks the workflow once. */
static void operate(Ctx *c) {
        const char *wphase = json_str(c->status, "phase");
        if (phase_node_done(wphase))
                return;
        c->stopping = json_str(c->status, "sdflowShutdown") != NULL;
        /* A copy: defaults are filled in below, not into the spec. */
        json_t *params = json_object_get(json_object_get(c->spec, "arguments"), "parameters");
        json_auto_t *root_args = json_pack("{s:o, s:[]}", "parameters", params ? json_deep_copy(params) : json_array(),
                                           "artifacts");
        /* workflow.parameters feed the entrypoint's inputs by name. */
        json_t *p;
        size_t i;
        json_array_foreach(json_object_get(root_args, "parameters"), i, p)
                if (!json_object_get(p, "value") && json_object_get(p, "default"))
                        json_object_set(p, "value", json_object_get(p, "default"));
        /* Deadline of the whole workflow. */
        json_t *ads = json_object_get(c->spec, "activeDeadlineSeconds");
        uint64_t started = parse_time(json_str(c->status, "startedAt"));
        if (json_is_integer(ads) && !c->stopping) {
                uint64_t end = started + (uint64_t) json_integer_value(ads);
                if (c->now_sec >= end) {
                        json_object_set_new(c->status, "sdflowShutdown", json_string("Terminate"));
                        json_object_set_new(c->status, "message", json_string("Max duration limit exceeded"));
                        c->stopping = true;
                } else
                        wake_at(c, end);
        }
        if (json_is_true(json_object_get(c->status, "sdflowSuspended")))
                return;
        json_t *root = execute(c, c->name, c->name, json_str(c->spec, "entrypoint"), root_args, NULL, false);
        const char *rphase = node_phase(root);
        if (!phase_node_done(rphase))
                return;
        /* The exit handler, with workflow.status; not after terminate. */
        const char *on_exit = json_str(c->spec, "onExit");
        const char *shutdown = json_str(c->status, "sdflowShutdown");
        const char *final = strcmp(rphase, "Succeeded") == 0 ? "Succeeded" : phase_failed(rphase) ? rphase : "Failed";
        if (on_exit && !(shutdown && strcmp(shutdown, "Terminate") == 0)) {
                if (!json_str(c->status, "sdflowExitStatus")) {
                        json_object_set_new(c->status, "sdflowExitStatus", json_string(final));
                        var_set(c->wfvars, "workflow.status", final);
                }
                bool was_stopping = c->stopping;
                c->stopping = false; /* the exit handler runs also after stop */
                char en[300];
                snprintf(en, sizeof en, "%s.onExit", c->name);
                json_auto_t *args = json_pack("{s:[], s:[]}", "parameters", "artifacts");
                json_t *ex = execute(c, en, en, on_exit, args, NULL, false);
                c->stopping = was_stopping;
                if (!phase_node_done(node_phase(ex)))
                        return;
                if (phase_failed(node_phase(ex)) && strcmp(final, "Succeeded") == 0)
                        final = "Failed";
        }
        json_object_set_new(c->status, "phase", json_string(final));
        json_object_set_new(c->status, "finishedAt", json_string(c->now));
        if (!json_str(c->status, "message") && strcmp(final, "Succeeded") != 0) {
                /* "child failed" says little: name the step that did, and why. */
                json_t *leaf = failed_leaf(c);
                if (leaf && json_str(leaf, "message"))
                        json_object_set_new(c->status, "message", json_sprintf("%s: %s", json_str(leaf, "displayName"),
                                                                               json_str(leaf, "message")));
                else
                        json_object_set_new(c->status, "message", json_string(json_str(root, "message") ?: "failed"));
        }
}

static void set_progress(Ctx *c) {
        size_t pods = 0, done = 0;
        const char *id;
        json_t *n;
        json_object_foreach(c->nodes, id, n)
                if (strcmp(json_str(n, "type") ?: "", "Pod") == 0) {
                        pods++;
                        if (phase_node_done(node_phase(n)))
                                done++;
                }
        json_object_set_new(c->status, "progress", json_sprintf("%zu/%zu", done, pods));
}

/* ---- a pass ---------------------------------------------------------------------------- */

static void format_time(uint64_t t, char *buf, size_t size) {
        time_t tt = (time_t) t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void ctx_init(Ctx *c, const WfEnv *env, json_t *wf, uint64_t now) {
        *c = (Ctx) { .env = env, .wf = wf };
        c->ns = json_string_value(json_object_get(json_object_get(wf, "metadata"), "namespace")) ?: "default";
        c->name = json_string_value(json_object_get(json_object_get(wf, "metadata"), "name")) ?: "";
        c->spec = json_object_get(wf, "spec");
        c->status = json_object_get(wf, "status");
        if (!json_is_object(c->status)) {
                c->status = json_object();
                json_object_set_new(wf, "status", c->status);
        }
        c->nodes = json_object_get(c->status, "nodes");
        if (!json_is_object(c->nodes)) {
                c->nodes = json_object();
                json_object_set_new(c->status, "nodes", c->nodes);
        }
        format_time(now, c->now, sizeof c->now);
        c->now_sec = now;
        c->attempt = -1;
        c->edges = json_object();
        const char *id;
        json_t *n, *x;
        size_t i;
        json_object_foreach(c->nodes, id, n)
                json_array_foreach(json_object_get(n, "children"), i, x) {
                        _cleanup_free_ char *edge = joinf("%s/%s", id, json_string_value(x) ?: "");
                        if (edge)
                                json_object_set_new(c->edges, edge, json_true());
                }
        make_wfvars(c);
}

void wf_operate(json_t *wf, const WfEnv *env, uint64_t now, json_t *starts, uint64_t *wake) {
        Ctx c;
        ctx_init(&c, env, wf, now);
        c.starts = starts;
        count_running(&c);
        if (!json_str(c.status, "phase")) {
                json_object_set_new(c.status, "phase", json_string("Running"));
                json_object_set_new(c.status, "startedAt", json_string(c.now));
                /* workflow.* that depend on the start */
                json_decref(c.wfvars);
                make_wfvars(&c);
        }
        operate(&c);
        if (c.over_limit) {
                /* Terminated mid-pass: once more, so that what was walked
                 * before the limit stops too, and the workflow ends now. */
                count_running(&c);
                operate(&c);
        }
        set_progress(&c);
        json_decref(c.wfvars);
        json_decref(c.edges);
        *wake = c.wake_at;
}

void wf_set_phase(json_t *node, const char *phase, const char *msg, uint64_t now) {
        Ctx c = {};
        format_time(now, c.now, sizeof c.now);
        set_phase(&c, node, phase, msg);
}

int64_t wf_parse_duration(json_t *v) {
        return parse_duration(v);
}

char *wf_value_text(json_t *v) {
        return value_text(v);
}

uint64_t wf_quantity(json_t *limits, const char *what, bool cpu) {
        return quantity_or_max(limits, what, cpu);
}

void wf_pod_needs(json_t *node, uint64_t *cpu, uint64_t *mem) {
        pod_needs(node, cpu, mem);
}
