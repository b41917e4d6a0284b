/* tuning.c: Katib Experiments; see tuning.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crashguard.h"
#include "safeio.h"
#include "wf-operate.h"
#include "kinds.h"
#include "log.h"
#include "metrics.h"
#include "suggest.h"
#include "tuning.h"
#include "jsonutil.h"
#include "phase.h"

#define LABEL_EXPERIMENT "katib.kubeflow.org/experiment"
#define LABEL_TRIAL "katib.kubeflow.org/trial"
#define ANN_INDEX "sdflow.io/trial-index"
#define ANN_ASSIGNMENTS "sdflow.io/parameter-assignments"
#define MAX_METRIC_VALUES 10000

struct Tuning {
        sd_event *event;
        Store *store;
        Engine *engine;
        TuningCreate create;
        TuningNotify notify;
        void *userdata;
        sd_event_source *defer;
        json_t *dirty; /* "ns/name" -> true */
        sd_event_source *poll; /* median stopping: running trials' metrics, every POLL_USEC */
        json_t *watch;         /* "ns/name" -> true: experiments with medianstop and running trials */
        json_t *scans;         /* "ns/trial" -> how far its output was read, and what it had (scan_state) */
};

#define POLL_USEC (1000 * 1000)

/* <experiment>-<8 characters of base 36>, from the experiment's uid and the trial's number. */
static void trial_name(json_t *exp, size_t index, char *buf, size_t size) {
        const char *uid = json_str(json_object_get(exp, "metadata"), "uid") ?: "";
        uint64_t h = 1469598103934665603ULL;
        char key[128];
        snprintf(key, sizeof key, "%s:%zu", uid, index);
        for (const char *p = key; *p; p++) {
                h ^= (unsigned char) *p;
                h *= 1099511628211ULL;
        }
        char suffix[9];
        for (int i = 0; i < 8; i++) {
                suffix[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[h % 36];
                h /= 36;
        }
        suffix[8] = '\0';
        /* a letter first keeps the name a label whatever the digits */
        if (suffix[0] >= '0' && suffix[0] <= '9')
                suffix[0] = (char) ('a' + (suffix[0] - '0'));
        snprintf(buf, size, "%.54s-%s", manifest_name(exp), suffix);
}

static void set_condition(json_t *st, const char *type, const char *reason, const char *msg) {
        json_t *conds = json_object_get(st, "conditions"), *c;
        size_t i;
        char ts[32];
        format_now_rfc3339(ts, sizeof ts);
        if (!json_is_array(conds)) {
                conds = json_array();
                json_object_set_new(st, "conditions", conds);
        }
        /* Katib's conditions: the newest one is True, those before False. */
        json_array_foreach(conds, i, c)
                if (strcmp(json_str(c, "type") ?: "", type) != 0)
                        json_object_set_new(c, "status", json_string("False"));
        json_array_foreach(conds, i, c)
                if (strcmp(json_str(c, "type") ?: "", type) == 0) {
                        if (strcmp(json_str(c, "reason") ?: "", reason) != 0 || strcmp(json_str(c, "message") ?: "", msg) != 0 ||
                            strcmp(json_str(c, "status") ?: "", "True") != 0) {
                                json_object_set_new(c, "status", json_string("True"));
                                json_object_set_new(c, "reason", json_string(reason));
                                json_object_set_new(c, "message", json_string(msg));
                                json_object_set_new(c, "lastUpdateTime", json_string(ts));
                                json_object_set_new(c, "lastTransitionTime", json_string(ts));
                        }
                        return;
                }
        json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", "True", "reason",
                                               reason, "message", msg, "lastUpdateTime", ts, "lastTransitionTime", ts));
}

static const char *current_condition(json_t *st) {
        json_t *conds = json_object_get(st, "conditions"), *c;
        size_t i;
        const char *cur = NULL;
        json_array_foreach(conds, i, c)
                if (strcmp(json_str(c, "status") ?: "", "True") == 0)
                        cur = json_str(c, "type");
        return cur;
}

/* ---- metrics ------------------------------------------------------------------------------ */

typedef struct Collected {
        json_t *values; /* name -> [the first MAX_METRIC_VALUES numbers]: the median rule's steps */
        json_t *stats;  /* name -> [min, max, latest] over every number, as Katib keeps them */
} Collected;

static void on_metric(const char *name, double value, void *userdata) {
        Collected *c = userdata;
        json_t *list = json_object_get(c->values, name);
        if (!list) {
                list = json_array();
                if (json_object_set_new(c->values, name, list) < 0)
                        list = NULL; /* out of memory: gone with the failed set */
        }
        if (json_array_size(list) < MAX_METRIC_VALUES)
                json_array_append_new(list, json_real(value));
        json_t *s = json_object_get(c->stats, name);
        if (!s) {
                json_object_set_new(c->stats, name, json_pack("[f, f, f]", value, value, value));
                return;
        }
        json_real_set(json_array_get(s, 0), fmin(json_real_value(json_array_get(s, 0)), value));
        json_real_set(json_array_get(s, 1), fmax(json_real_value(json_array_get(s, 1)), value));
        json_real_set(json_array_get(s, 2), value);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(MetricsParser *, metrics_parser_free);

static int parser_for(json_t *spec, MetricsParser **p, char *err, size_t errsz) {
        json_t *formats = json_object_get(json_object_get(json_object_get(json_object_get(spec, "metricsCollectorSpec"),
                                                                          "source"),
                                                          "filter"),
                                          "metricsFormat"), *f;
        const char *fs[16];
        size_t n = 0, i;
        json_array_foreach(formats, i, f)
                if (n < 16 && json_is_string(f))
                        fs[n++] = json_string_value(f);
        return metrics_parser_new(fs, n, p, err, errsz);
}

static void feed_line(MetricsParser *p, const char *line, size_t len, Collected *c) {
        if (p)
                metrics_parse_line(p, line, len, on_metric, c);
        else
                metrics_parse_json_line(line, len, on_metric, c);
}

#define SCAN_LINE_MAX (64 * 1024)

/* Streams the lines of the trial's file WF_ARTIFACTS_BASE/rel from *offset
 * on into c (JSON lines or text by the experiment's metricsFormat), and
 * moves *offset past what it took: whole lines only, and a last line
 * without its newline only when final (the trial has ended).  A line longer
 * than SCAN_LINE_MAX is skipped.  The whole output is read, whatever its
 * length, a piece at a time.  Returns 0 or a negative errno. */
static int scan_file(json_t *spec, const char *rel, bool json_lines, bool final, json_int_t *offset, Collected *c,
                     char *err, size_t errsz) {
        _cleanup_close_ int fd = safe_open_beneath(WF_ARTIFACTS_BASE, rel);
        if (fd < 0)
                return fd;
        _cleanup_(metrics_parser_freep) MetricsParser *p = NULL;
        if (!json_lines && parser_for(spec, &p, err, errsz) < 0)
                return -EINVAL;
        if (lseek(fd, (off_t) *offset, SEEK_SET) < 0)
                return -errno;
        static char buf[SCAN_LINE_MAX];
        size_t have = 0;
        bool skip = false;
        int r = 0;
        for (;;) {
                ssize_t n = read(fd, buf + have, sizeof buf - have);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        r = -errno;
                if (n <= 0)
                        break;
                have += (size_t) n;
                size_t start = 0;
                char *nl;
                while ((nl = memchr(buf + start, '\n', have - start))) {
                        size_t len = (size_t) (nl - (buf + start));
                        if (!skip)
                                feed_line(p, buf + start, len, c);
                        skip = false;
                        start += len + 1;
                }
                *offset += (json_int_t) start;
                if (start == 0 && have == sizeof buf) {
                        skip = true; /* the rest of this line goes too */
                        *offset += (json_int_t) have;
                        have = 0;
                        continue;
                }
                memmove(buf, buf + start, have - start);
                have -= start;
        }
        if (final && have > 0 && !skip) {
                feed_line(p, buf, have, c);
                *offset += (json_int_t) have;
        }
        return r;
}

/* The scan of a trial's output so far (Tuning.scans): how far it got and
 * what it found, so that each poll reads only what is new. */
static json_t *scan_state(Tuning *t, const char *ns, const char *trial, bool create) {
        char key[400];
        snprintf(key, sizeof key, "%s/%s", ns, trial);
        json_t *s = json_object_get(t->scans, key);
        if (!s && create) {
                s = json_pack("{s:I, s:o, s:o}", "offset", (json_int_t) 0, "values", json_object(), "stats",
                              json_object());
                if (json_object_set_new(t->scans, key, s) < 0)
                        return NULL; /* out of memory: s is gone with the failed set */
        }
        return s;
}

static void scan_forget(Tuning *t, const char *ns, const char *trial) {
        char key[400];
        snprintf(key, sizeof key, "%s/%s", ns, trial);
        (void) json_object_del(t->scans, key);
}

/* Scans on (from the state's offset) and gives the state's findings in c
 * (borrowed).  Returns scan_file()'s result. */
static int scan_continue(json_t *spec, json_t *state, const char *rel, bool final, Collected *c, char *err,
                         size_t errsz) {
        json_int_t off = json_integer_value(json_object_get(state, "offset"));
        c->values = json_object_get(state, "values");
        c->stats = json_object_get(state, "stats");
        int r = scan_file(spec, rel, false, final, &off, c, err, errsz);
        json_object_set_new(state, "offset", json_integer(off));
        return r;
}

/* The lines of text (a step's result, when its output file is missing). */
static void scan_text(json_t *spec, const char *text, Collected *c, char *err, size_t errsz) {
        _cleanup_(metrics_parser_freep) MetricsParser *p = NULL;
        if (parser_for(spec, &p, err, errsz) < 0)
                return;
        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n');
                feed_line(p, line, nl ? (size_t) (nl - line) : strlen(line), c);
                line = nl ? nl + 1 : NULL;
        }
}

/* The objective metric's values in the order the trial reported them. */
static json_t *objective_steps(json_t *spec, Collected *c) {
        json_t *list = json_object_get(c->values, json_str(json_object_get(spec, "objective"), "objectiveMetricName") ?: "");
        return list ? json_deep_copy(list) : json_array();
}

/* Katib's observation: each metric's min, max and latest (over all the
 * output), as strings. */
static json_t *observation(json_t *spec, Collected *c) {
        json_t *obj = json_object_get(spec, "objective"), *n;
        json_auto_t *names = json_array(), *metrics = json_array();
        size_t i;
        if (!metrics || json_array_append_new(names, json_string(json_str(obj, "objectiveMetricName") ?: "")) < 0)
                return NULL;
        json_array_foreach(json_object_get(obj, "additionalMetricNames"), i, n)
                if (json_array_append(names, n) < 0)
                        return NULL;
        json_array_foreach(names, i, n) {
                json_t *st = json_object_get(c->stats, json_string_value(n));
                if (!st)
                        continue;
                double mn = json_real_value(json_array_get(st, 0)), mx = json_real_value(json_array_get(st, 1)),
                       last = json_real_value(json_array_get(st, 2));
                char a[32], b[32], l[32];
                snprintf(a, sizeof a, "%.10g", mn);
                snprintf(b, sizeof b, "%.10g", mx);
                snprintf(l, sizeof l, "%.10g", last);
                if (json_array_append_new(metrics, json_pack("{s:O, s:s, s:s, s:s}", "name", n, "min", a, "max", b,
                                                             "latest", l)) < 0)
                        return NULL;
        }
        return json_pack("{s:o}", "metrics", TAKE_PTR(metrics));
}

/* The objective's value by its strategy (min, max or latest; by default
 * the objective's direction); NAN when the metric never appeared. */
static double objective_value(json_t *spec, json_t *obs) {
        const char *v = metrics_objective_value(json_object_get(spec, "objective"), obs);
        return v ? strtod(v, NULL) : NAN;
}

/* ---- trials as workflows -------------------------------------------------------------- */

static json_t *primary_container(json_t *spec) {
        json_t *tt = json_object_get(spec, "trialTemplate"), *c;
        json_t *cs = json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(tt, "trialSpec"), "spec"),
                                                                     "template"),
                                                     "spec"),
                                     "containers");
        const char *primary = json_str(tt, "primaryContainerName");
        size_t i;
        json_array_foreach(cs, i, c)
                if (!primary || strcmp(json_str(c, "name") ?: "", primary) == 0)
                        return c;
        return NULL;
}

/* text with each ${trialParameters.X} (and ${trialSpec.Name}, ${trialSpec.Namespace}) replaced. */
static char *substitute(const char *text, json_t *values, const char *trial, const char *ns) {
        size_t cap = strlen(text) + 256, len = 0;
        _cleanup_free_ char *out = malloc(cap);
        if (!out)
                return NULL;
        for (const char *p = text; *p;) {
                const char *v = NULL;
                size_t skip = 0;
                if (strncmp(p, "${", 2) == 0) {
                        const char *end = strchr(p, '}');
                        if (end) {
                                char key[256];
                                snprintf(key, sizeof key, "%.*s", (int) (end - p - 2), p + 2);
                                if (strncmp(key, "trialParameters.", 16) == 0)
                                        v = json_str(values, key + 16);
                                else if (strcmp(key, "trialSpec.Name") == 0)
                                        v = trial;
                                else if (strcmp(key, "trialSpec.Namespace") == 0)
                                        v = ns;
                                if (v)
                                        skip = (size_t) (end - p) + 1;
                        }
                }
                const char *piece = v ?: p;
                size_t n = v ? strlen(v) : 1;
                if (len + n + 1 > cap) {
                        cap = (len + n + 1) * 2;
                        char *bigger = realloc(out, cap);
                        if (!bigger)
                                return NULL;
                        out = bigger;
                }
                memcpy(out + len, piece, n);
                len += n;
                p += v ? skip : 1;
        }
        out[len] = '\0';
        return TAKE_PTR(out);
}

/* NULL when out of memory: a trial is never run with an argument missing. */
static json_t *subst_strings(json_t *list, json_t *values, const char *trial, const char *ns) {
        json_auto_t *out = json_array();
        json_t *x;
        size_t i;
        if (!out)
                return NULL;
        json_array_foreach(list, i, x)
                if (json_is_string(x)) {
                        _cleanup_free_ char *s = substitute(json_string_value(x), values, trial, ns);
                        if (!s || json_array_append_new(out, json_string(s)) < 0)
                                return NULL;
                }
        return TAKE_PTR(out);
}

/* The one-step Workflow that runs a trial. */
static json_t *trial_workflow(json_t *exp, const char *name, size_t index, json_t *assignments, json_t *values) {
        json_t *spec = json_object_get(exp, "spec"), *c = primary_container(spec);
        const char *ns = manifest_namespace(exp);
        json_auto_t *container = json_pack("{s:s}", "image", json_str(c, "image") ?: "");
        bool failed = !container;
        if (!failed && json_object_get(c, "command"))
                failed = json_object_set_new(container, "command",
                                             subst_strings(json_object_get(c, "command"), values, name, ns)) < 0;
        if (!failed && json_object_get(c, "args"))
                failed = json_object_set_new(container, "args",
                                             subst_strings(json_object_get(c, "args"), values, name, ns)) < 0;
        if (json_object_get(c, "resources"))
                failed |= json_object_set(container, "resources", json_object_get(c, "resources")) < 0;
        if (json_str(c, "workingDir"))
                failed |= json_object_set_new(container, "workingDir", json_string(json_str(c, "workingDir"))) < 0;
        json_auto_t *env = json_array();
        json_t *e;
        size_t i;
        json_array_foreach(json_object_get(c, "env"), i, e)
                if (json_str(e, "name") && json_str(e, "value")) {
                        _cleanup_free_ char *v = substitute(json_str(e, "value"), values, name, ns);
                        failed |= !v || json_array_append_new(env, json_pack("{s:s, s:s}", "name", json_str(e, "name"),
                                                                             "value", v)) < 0;
                }
        if (failed)
                return NULL;
        if (json_array_size(env) && json_object_set_new(container, "env", TAKE_PTR(env)) < 0)
                return NULL;
        json_auto_t *tmpl = json_pack("{s:s, s:o}", "name", "trial", "container", TAKE_PTR(container));
        /* The File collector: the file the trial writes comes out as an artifact. */
        json_t *mc = json_object_get(spec, "metricsCollectorSpec");
        if (strcmp(json_str(json_object_get(mc, "collector"), "kind") ?: "StdOut", "File") == 0) {
                const char *path = json_str(json_object_get(json_object_get(mc, "source"), "fileSystemPath"), "path");
                if (path && json_object_set_new(tmpl, "outputs",
                                                json_pack("{s:[{s:s, s:s, s:b}]}", "artifacts", "name", "metrics",
                                                          "path", path, "optional", 1)) < 0)
                        return NULL;
        }
        char idx[32];
        snprintf(idx, sizeof idx, "%zu", index);
        _cleanup_free_ char *assign = json_dumps(assignments, JSON_COMPACT);
        return json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s}}, s:{s:s, s:[o]}}", "apiVersion",
                         "argoproj.io/v1alpha1", "kind", "Workflow", "metadata", "name", name, "namespace", ns, "labels",
                         LABEL_EXPERIMENT, manifest_name(exp), LABEL_TRIAL, name, "pipelines.kubeflow.org/cache_enabled",
                         "false", "annotations", ANN_INDEX, idx, ANN_ASSIGNMENTS, assign ?: "[]", "spec", "entrypoint",
                         "trial", "templates", TAKE_PTR(tmpl));
}

/* What a finished trial's workflow says: its condition, message and observation. */
static void read_trial(Tuning *t, const char *ns, json_t *spec, json_t *wf, json_t *trial) {
        json_t *st = json_object_get(wf, "status"), *nodes = json_object_get(st, "nodes"), *n, *pod = NULL;
        const char *id;
        json_object_foreach(nodes, id, n)
                if (strcmp(json_str(n, "type") ?: "", "Pod") == 0)
                        pod = n;
        const char *phase = json_str(st, "phase");
        char ts[32];
        format_now_rfc3339(ts, sizeof ts);
        json_object_set_new(trial, "completionTime", json_string(json_str(st, "finishedAt") ?: ts));
        if (!phase || strcmp(phase, "Succeeded") != 0) {
                json_object_set_new(trial, "condition", json_string("Failed"));
                json_object_set_new(trial, "message", json_string(json_str(pod, "message") ?: json_str(st, "message") ?: "failed"));
                return;
        }
        json_t *mc = json_object_get(spec, "metricsCollectorSpec");
        const char *kind = json_str(json_object_get(mc, "collector"), "kind") ?: "StdOut";
        if (strcmp(kind, "None") == 0) {
                json_object_set_new(trial, "condition", json_string("Succeeded"));
                return;
        }
        json_auto_t *own_values = json_object(), *own_stats = json_object();
        Collected own = { own_values, own_stats }, c = own;
        char err[256] = "";
        if (strcmp(kind, "File") == 0) {
                json_t *fsp = json_object_get(json_object_get(mc, "source"), "fileSystemPath");
                bool json_lines = strcmp(json_str(fsp, "format") ?: "TEXT", "JSON") == 0;
                json_t *a;
                size_t i;
                json_array_foreach(json_object_get(json_object_get(pod, "outputs"), "artifacts"), i, a)
                        if (strcmp(json_str(a, "name") ?: "", "metrics") == 0 && json_str(a, "hostPath")) {
                                /* The trial's user's file: never through a link (safeio.h), all of it. */
                                const char *rel = safe_rel(WF_ARTIFACTS_BASE, json_str(a, "hostPath"));
                                json_int_t off = 0;
                                if (rel)
                                        (void) scan_file(spec, rel, json_lines, true, &off, &c, err, sizeof err);
                        }
        } else {
                /* The whole output (sdflow-step's NODEDIR/stdout), from where
                 * the polls of the median rule left it. */
                const char *dir = json_str(pod, "sdflowDir"), *rel = dir ? safe_rel(WF_ARTIFACTS_BASE, dir) : NULL;
                char path[1100];
                if (!rel || snprintf(path, sizeof path, "%s/stdout", rel) >= (int) sizeof path ||
                    scan_continue(spec, scan_state(t, ns, json_str(trial, "name") ?: "", true), path, true, &c, err,
                                  sizeof err) < 0) {
                        c = own;
                        scan_text(spec, json_str(json_object_get(pod, "outputs"), "result") ?: "", &c, err, sizeof err);
                }
        }
        json_t *obs = observation(spec, &c);
        json_object_set_new(trial, "sdflowSteps", objective_steps(spec, &c));
        scan_forget(t, ns, json_str(trial, "name") ?: ""); /* c's are gone now */
        json_object_set_new(trial, "observation", obs);
        if (isnan(objective_value(spec, obs))) {
                char msg[400];
                snprintf(msg, sizeof msg, "the objective metric '%s' never appeared in the trial's %s%s%s",
                         json_str(json_object_get(spec, "objective"), "objectiveMetricName") ?: "",
                         strcmp(kind, "File") == 0 ? "metrics file" : "output", err[0] ? ": " : "", err);
                json_object_set_new(trial, "condition", json_string("MetricsUnavailable"));
                json_object_set_new(trial, "message", json_string(msg));
                return;
        }
        json_object_set_new(trial, "condition", json_string("Succeeded"));
}

/* ---- median stopping ----------------------------------------------------------------- */

static bool finished_condition(const char *c) {
        return c && (strcmp(c, "Succeeded") == 0 || strcmp(c, "Failed") == 0 || strcmp(c, "MetricsUnavailable") == 0 ||
                     strcmp(c, "EarlyStopped") == 0 || strcmp(c, "Killed") == 0);
}

static int cmp_dbl(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static long setting_long(json_t *settings, const char *name, long def) {
        json_t *x;
        size_t i;
        json_array_foreach(settings, i, x)
                if (strcmp(json_str(x, "name") ?: "", name) == 0 && json_str(x, "value"))
                        return strtol(json_str(x, "value"), NULL, 10);
        return def;
}

/* Katib's median stopping rule: a running trial that has reported at least
 * start_step values is stopped when its best value so far is strictly
 * worse than the median, over the succeeded trials (at least
 * min_trials_required), of their running averages up to the same step.
 * Returns true when trial tr is to stop (msg says why). */
static bool median_says_stop(json_t *spec, json_t *trials, json_t *tr, char *msg, size_t size) {
        json_t *es = json_object_get(spec, "earlyStopping");
        long min_trials = setting_long(json_object_get(es, "algorithmSettings"), "min_trials_required", 3);
        long start_step = setting_long(json_object_get(es, "algorithmSettings"), "start_step", 4);
        bool maximize = metrics_objective_maximizes(json_object_get(spec, "objective"));
        json_t *steps = json_object_get(tr, "sdflowSteps"), *v, *c;
        size_t n = json_array_size(steps), i, j;
        if ((long) n < start_step || n == 0)
                return false;
        double best = maximize ? -INFINITY : INFINITY;
        json_array_foreach(steps, i, v)
                best = maximize ? fmax(best, json_number_value(v)) : fmin(best, json_number_value(v));
        _cleanup_free_ double *avg = calloc(json_array_size(trials) + 1, sizeof(double));
        if (!avg)
                return false; /* out of memory: asked again at the next poll */
        size_t k = 0;
        json_array_foreach(trials, i, c) {
                json_t *cs = json_object_get(c, "sdflowSteps");
                if (strcmp(json_str(c, "condition") ?: "", "Succeeded") != 0 || json_array_size(cs) == 0)
                        continue;
                size_t upto = json_array_size(cs) < n ? json_array_size(cs) : n;
                double sum = 0;
                for (j = 0; j < upto; j++)
                        sum += json_number_value(json_array_get(cs, j));
                avg[k++] = sum / (double) upto;
        }
        bool stop = false;
        if ((long) k >= min_trials) {
                qsort(avg, k, sizeof(double), cmp_dbl);
                double median = k % 2 ? avg[k / 2] : 0.5 * (avg[k / 2 - 1] + avg[k / 2]);
                stop = maximize ? best < median : best > median;
                if (stop)
                        snprintf(msg, size, "stopped early at step %zu: its best %s so far, %g, is worse than the median "
                                            "%g of %zu succeeded trials' running averages",
                                 n, json_str(json_object_get(spec, "objective"), "objectiveMetricName") ?: "", best, median, k);
        }
        return stop;
}

/* Reads the running trials' output so far (sdflow-step's NODEDIR/stdout)
 * and stops those the rule condemns.  Returns true while some still run. */
static bool early_stop(Tuning *t, const char *ns, const char *name) {
        json_auto_t *exp = NULL;
        if (store_get(t->store, &kind_experiment, ns, name, &exp) < 0)
                return false;
        json_t *spec = json_object_get(exp, "spec");
        json_auto_t *st = json_deep_copy(json_object_get(exp, "status"));
        json_t *trials = json_object_get(st, "trials"), *tr;
        size_t i;
        bool running = false, changed = false;
        json_array_foreach(trials, i, tr) {
                if (finished_condition(json_str(tr, "condition")))
                        continue;
                running = true;
                json_auto_t *wf = NULL;
                if (store_get(t->store, &kind_workflow, ns, json_str(tr, "name"), &wf) < 0)
                        continue;
                const char *id, *dir = NULL;
                json_t *n;
                json_object_foreach(json_object_get(json_object_get(wf, "status"), "nodes"), id, n)
                        if (json_str(n, "sdflowDir"))
                                dir = json_str(n, "sdflowDir");
                char path[1100];
                const char *rel = dir ? safe_rel(WF_ARTIFACTS_BASE, dir) : NULL;
                Collected c = { NULL, NULL };
                char err[256];
                json_t *state = scan_state(t, ns, json_str(tr, "name") ?: "", true);
                /* Only what is new since the last poll is read. */
                if (rel && snprintf(path, sizeof path, "%s/stdout", rel) < (int) sizeof path)
                        (void) scan_continue(spec, state, path, false, &c, err, sizeof err);
                else {
                        c.values = json_object_get(state, "values");
                        c.stats = json_object_get(state, "stats");
                }
                json_auto_t *steps = objective_steps(spec, &c);
                if (!json_equal(steps, json_object_get(tr, "sdflowSteps"))) {
                        /* when each value was first seen */
                        json_t *times = json_object_get(tr, "sdflowStepTimes");
                        if (!json_is_array(times)) {
                                times = json_array();
                                json_object_set_new(tr, "sdflowStepTimes", times);
                        }
                        char now[32];
                        format_now_rfc3339(now, sizeof now);
                        while (json_array_size(times) < json_array_size(steps))
                                if (json_array_append_new(times, json_string(now)) < 0)
                                        break; /* out of memory (or no times): not for ever */
                        json_object_set(tr, "sdflowSteps", steps);
                        changed = true;
                }
                char msg[512];
                if (median_says_stop(spec, trials, tr, msg, sizeof msg)) {
                        char ts[32], m2[256];
                        format_now_rfc3339(ts, sizeof ts);
                        json_object_set_new(tr, "condition", json_string("EarlyStopped"));
                        json_object_set_new(tr, "message", json_string(msg));
                        json_object_set_new(tr, "observation", observation(spec, &c));
                        json_object_set_new(tr, "completionTime", json_string(ts));
                        log_info("Experiment %s/%s: %s %s", ns, name, json_str(tr, "name"), msg);
                        if (t->engine)
                                (void) engine_action(t->engine, ns, json_str(tr, "name"), "terminate", m2, sizeof m2);
                        changed = true;
                }
                if (finished_condition(json_str(tr, "condition")))
                        scan_forget(t, ns, json_str(tr, "name") ?: ""); /* c's are gone now */
        }
        if (changed && store_set_status(t->store, &kind_experiment, ns, name, st) >= 0) {
                json_auto_t *now = NULL;
                if (t->notify && store_get(t->store, &kind_experiment, ns, name, &now) >= 0)
                        t->notify(now, t->userdata);
                tuning_kick(t, ns, name);
        }
        return running;
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Tuning *t = userdata;
        const char *key;
        json_t *v;
        void *tmp;
        (void) usec;
        json_object_foreach_safe(t->watch, tmp, key, v) {
                char ns[128];
                const char *slash = strchr(key, '/');
                snprintf(ns, sizeof ns, "%.*s", (int) (slash ? slash - key : 0), key);
                if (!slash || !early_stop(t, ns, slash + 1))
                        json_object_del(t->watch, key);
        }
        if (json_object_size(t->watch) > 0) {
                (void) sd_event_source_set_time_relative(s, POLL_USEC);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

static void watch(Tuning *t, const char *ns, const char *name) {
        char key[400];
        snprintf(key, sizeof key, "%s/%s", ns, name);
        json_object_set_new(t->watch, key, json_true());
        if (sd_event_source_get_enabled(t->poll, NULL) <= 0) {
                (void) sd_event_source_set_time_relative(t->poll, POLL_USEC);
                (void) sd_event_source_set_enabled(t->poll, SD_EVENT_ONESHOT);
        }
}

/* ---- one experiment ------------------------------------------------------------------- */

DEFINE_TRIVIAL_CLEANUP_FUNC(Suggester *, suggest_free);

static void reconcile(Tuning *t, const char *ns, const char *name) {
        json_auto_t *exp = NULL;
        if (store_get(t->store, &kind_experiment, ns, name, &exp) < 0)
                return;
        if (crashguard_is_quarantined(exp))
                return;
        _cleanup_guard_ unsigned g = crashguard_enter(&kind_experiment, exp, GUARD_ADVANCE);
        json_t *spec = json_object_get(exp, "spec");
        json_auto_t *st = json_object_copy_or_new(json_object_get(exp, "status"));
        if (!st) {
                log_oom();
                return;
        }
        const char *cur = current_condition(st);
        if (cur && (strcmp(cur, "Succeeded") == 0 || strcmp(cur, "Failed") == 0)) {
                /* resumePolicy LongRunning: a finished experiment whose
                 * maxTrialCount was raised goes on (Katib's restart). */
                json_int_t maxt = json_integer_value(json_object_get(spec, "maxTrialCount"));
                const char *reason = NULL;
                json_t *c;
                size_t k;
                json_array_foreach(json_object_get(st, "conditions"), k, c)
                        if (strcmp(json_str(c, "status") ?: "", "True") == 0)
                                reason = json_str(c, "reason");
                bool resume = strcmp(json_str(spec, "resumePolicy") ?: "Never", "LongRunning") == 0 && reason &&
                              strcmp(reason, "ExperimentMaxTrialsReached") == 0 && maxt > 0 &&
                              (size_t) maxt > json_array_size(json_object_get(st, "trials"));
                if (!resume)
                        return;
                log_info("Experiment %s/%s: maxTrialCount raised to %lld; resuming.", ns, name, (long long) maxt);
                set_condition(st, "Restarting", "ExperimentRestarting", "Experiment is restarted with a higher maxTrialCount");
                json_object_del(st, "completionTime");
        }
        char ts[32], msg[512], err[512];
        format_now_rfc3339(ts, sizeof ts);
        if (!json_object_get(st, "startTime")) {
                json_object_set_new(st, "startTime", json_string(ts));
                set_condition(st, "Created", "ExperimentCreated", "Experiment is created");
        }
        json_t *trials = json_object_get(st, "trials");
        if (!json_is_array(trials)) {
                trials = json_array();
                if (json_object_set_new(st, "trials", trials) < 0) {
                        log_oom();
                        return;
                }
        }
        /* Trials' workflows that ended, and ones made but not recorded (a restart in between). */
        json_t *tr;
        size_t i;
        json_array_foreach(trials, i, tr) {
                if (finished_condition(json_str(tr, "condition")))
                        continue;
                json_auto_t *wf = NULL;
                if (store_get(t->store, &kind_workflow, ns, json_str(tr, "name"), &wf) < 0) {
                        json_object_set_new(tr, "condition", json_string("Killed"));
                        json_object_set_new(tr, "message", json_string("the trial's workflow was deleted"));
                        continue;
                }
                const char *ph = json_str(json_object_get(wf, "status"), "phase");
                if (phase_workflow_done(ph))
                        read_trial(t, ns, spec, wf, tr);
                else if (ph && strcmp(ph, "Running") == 0)
                        json_object_set_new(tr, "condition", json_string("Running"));
        }
        size_t n_params_max = SUGGEST_MAX_PARAMS;
        _cleanup_free_ SuggestParam *params = calloc(n_params_max, sizeof *params);
        if (!params) {
                log_oom();
                return;
        }
        int np = suggest_params_from_spec(json_object_get(spec, "parameters"), params, n_params_max, err, sizeof err);
        _cleanup_(suggest_freep) Suggester *sg = NULL;
        json_t *alg = json_object_get(spec, "algorithm");
        if (np > 0 && suggest_new(json_str(alg, "algorithmName"), json_object_get(alg, "algorithmSettings"), params,
                                  (size_t) np, &sg, err, sizeof err) < 0)
                np = -EINVAL;
        if (np <= 0) {
                set_condition(st, "Failed", "ExperimentFailed", err);
                goto store;
        }
        bool maximize = metrics_objective_maximizes(json_object_get(spec, "objective"));
        json_t *goal = json_object_get(json_object_get(spec, "objective"), "goal");
        json_int_t parallel = json_integer_value(json_object_get(spec, "parallelTrialCount"));
        json_int_t max_trials = json_integer_value(json_object_get(spec, "maxTrialCount"));
        json_int_t max_failed = json_integer_value(json_object_get(spec, "maxFailedTrialCount"));
        if (parallel <= 0)
                parallel = 3;
        for (;;) {
                size_t running = 0, succeeded = 0, failed = 0, unavailable = 0, n = json_array_size(trials);
                bool goal_reached = false;
                double best = NAN;
                json_t *best_trial = NULL;
                json_array_foreach(trials, i, tr) {
                        const char *c = json_str(tr, "condition") ?: "Created";
                        if (!finished_condition(c))
                                running++;
                        else if (strcmp(c, "Succeeded") == 0 || strcmp(c, "EarlyStopped") == 0)
                                succeeded++;
                        else if (strcmp(c, "MetricsUnavailable") == 0)
                                unavailable++;
                        else
                                failed++;
                        double v = strcmp(c, "Succeeded") == 0 || strcmp(c, "EarlyStopped") == 0
                                           ? objective_value(spec, json_object_get(tr, "observation"))
                                           : NAN;
                        if (!isnan(v) && (isnan(best) || (maximize ? v > best : v < best))) {
                                best = v;
                                best_trial = tr;
                        }
                        if (!isnan(v) && json_is_number(goal) &&
                            (maximize ? v >= json_number_value(goal) : v <= json_number_value(goal)))
                                goal_reached = true;
                }
                json_object_set_new(st, "trials", json_incref(trials));
                json_object_set_new(st, "trialsSucceeded", json_integer((json_int_t) succeeded));
                json_object_set_new(st, "trialsFailed", json_integer((json_int_t) failed));
                json_object_set_new(st, "trialsRunning", json_integer((json_int_t) running));
                json_object_set_new(st, "trialMetricsUnavailable", json_integer((json_int_t) unavailable));
                size_t early = 0;
                json_array_foreach(trials, i, tr)
                        early += strcmp(json_str(tr, "condition") ?: "", "EarlyStopped") == 0;
                json_object_set_new(st, "trialsEarlyStopped", json_integer((json_int_t) early));
                if (running > 0 && strcmp(json_str(json_object_get(spec, "earlyStopping"), "algorithmName") ?: "", "medianstop") == 0)
                        watch(t, ns, name);
                json_object_set_new(st, "trialsTotal", json_integer((json_int_t) n));
                if (best_trial)
                        json_object_set_new(st, "currentOptimalTrial",
                                            json_pack("{s:O, s:O, s:O}", "bestTrialName", json_object_get(best_trial, "name"),
                                                      "parameterAssignments",
                                                      json_object_get(best_trial, "parameterAssignments"), "observation",
                                                      json_object_get(best_trial, "observation")));
                if (goal_reached && running == 0) {
                        set_condition(st, "Succeeded", "ExperimentGoalReached", "Experiment has succeeded because Objective goal has reached");
                        json_object_set_new(st, "completionTime", json_string(ts));
                        break;
                }
                if (max_failed > 0 && (json_int_t) (failed + unavailable) >= max_failed) {
                        if (running == 0) {
                                snprintf(msg, sizeof msg, "Experiment has failed because max failed count has reached (%lld)",
                                         (long long) max_failed);
                                set_condition(st, "Failed", "ExperimentMaxFailedTrialsReached", msg);
                                json_object_set_new(st, "completionTime", json_string(ts));
                        }
                        break;
                }
                if (goal_reached)
                        break; /* wait for the running ones to end */
                if (max_trials > 0 && (json_int_t) n >= max_trials) {
                        if (running == 0) {
                                set_condition(st, "Succeeded", "ExperimentMaxTrialsReached",
                                              "Experiment has succeeded because max trial count has reached");
                                json_object_set_new(st, "completionTime", json_string(ts));
                        }
                        break;
                }
                if ((json_int_t) running >= parallel) {
                        set_condition(st, "Running", "ExperimentRunning", "Experiment is running");
                        break;
                }
                /* One more trial: its number is n; the history is every trial so far. */
                _cleanup_free_ SuggestTrial *hist = calloc(n + 1, sizeof *hist);
                if (!hist) {
                        log_oom();
                        break;
                }
                json_array_foreach(trials, i, tr) {
                        json_t *xs = json_object_get(tr, "sdflowX"), *xv;
                        size_t k;
                        json_array_foreach(xs, k, xv)
                                if (k < SUGGEST_MAX_PARAMS)
                                        hist[i].x[k] = json_number_value(xv);
                        const char *tc = json_str(tr, "condition") ?: "";
                        double v = strcmp(tc, "Succeeded") == 0 || strcmp(tc, "EarlyStopped") == 0
                                           ? objective_value(spec, json_object_get(tr, "observation"))
                                           : NAN;
                        hist[i].y = maximize ? -v : v;
                        hist[i].pending = !finished_condition(tc);
                }
                double x[SUGGEST_MAX_PARAMS];
                int r = suggest_next(sg, hist, n, n, x);
                if (r == -EAGAIN) {
                        /* the algorithm needs the running trials' results first */
                        set_condition(st, "Running", "ExperimentRunning", "Experiment is running");
                        break;
                }
                if (r == -ENOSPC) {
                        if (running == 0) {
                                set_condition(st, "Succeeded", "ExperimentSuggestionEndReached",
                                              "Experiment has succeeded because the search space is exhausted");
                                json_object_set_new(st, "completionTime", json_string(ts));
                        } else
                                set_condition(st, "Running", "ExperimentRunning", "Experiment is running");
                        break;
                }
                if (r < 0) {
                        /* out of memory: tried again at the next change */
                        log_error_errno(r, "Experiment %s/%s: cannot suggest trial %zu: %m", ns, name, n);
                        break;
                }
                char tname[80];
                trial_name(exp, n, tname, sizeof tname);
                json_t *assignments = json_array(), *xs = json_array(), *p;
                json_auto_t *values = json_object();
                json_array_foreach(json_object_get(spec, "parameters"), i, p) {
                        char buf[256];
                        suggest_format(&params[i], x[i], p, buf, sizeof buf);
                        json_array_append_new(assignments, json_pack("{s:s, s:s}", "name", json_str(p, "name"), "value", buf));
                        json_array_append_new(xs, json_real(x[i]));
                }
                json_array_foreach(json_object_get(json_object_get(spec, "trialTemplate"), "trialParameters"), i, p) {
                        json_t *a;
                        size_t k;
                        json_array_foreach(assignments, k, a)
                                if (strcmp(json_str(a, "name"), json_str(p, "reference") ?: "") == 0)
                                        json_object_set(values, json_str(p, "name"), json_object_get(a, "value"));
                }
                /* assignments and xs are the trial's (even when json_pack() fails) */
                json_auto_t *trial = json_pack("{s:s, s:I, s:o, s:o, s:s, s:s}", "name", tname, "index", (json_int_t) n,
                                               "parameterAssignments", assignments, "sdflowX", xs, "condition", "Created",
                                               "startTime", ts);
                if (!trial || !values) {
                        log_oom();
                        break;
                }
                /* Made before a restart but not recorded: the same trial, adopted. */
                json_auto_t *existing = NULL;
                if (store_get(t->store, &kind_workflow, ns, tname, &existing) >= 0) {
                        log_info("Experiment %s/%s: trial %s exists already; adopting it.", ns, name, tname);
                } else {
                        json_auto_t *wf = trial_workflow(exp, tname, n, json_object_get(trial, "parameterAssignments"),
                                                         values);
                        char cerr[512] = "";
                        int k = wf ? t->create(wf, t->userdata) : -ENOMEM;
                        if (k < 0) {
                                snprintf(cerr, sizeof cerr, "the trial's workflow was refused: %s", strerror(-k));
                                json_object_set_new(trial, "condition", json_string("Failed"));
                                json_object_set_new(trial, "message", json_string(cerr));
                        }
                }
                if (json_array_append_new(trials, TAKE_PTR(trial)) < 0) {
                        /* out of memory; a workflow made is adopted next time */
                        log_oom();
                        break;
                }
                log_info("Experiment %s/%s: trial %s.", ns, name, tname);
        }
store:
        if (!json_equal(st, json_object_get(exp, "status")) &&
            store_set_status(t->store, &kind_experiment, ns, name, st) >= 0) {
                json_auto_t *now = NULL;
                if (t->notify && store_get(t->store, &kind_experiment, ns, name, &now) >= 0)
                        t->notify(now, t->userdata);
        }
}

static int on_defer(sd_event_source *s, void *userdata) {
        Tuning *t = userdata;
        (void) s;
        json_auto_t *dirty = t->dirty;
        t->dirty = json_object();
        const char *key;
        json_t *v;
        json_object_foreach(dirty, key, v) {
                char ns[128];
                const char *slash = strchr(key, '/');
                if (!slash)
                        continue;
                snprintf(ns, sizeof ns, "%.*s", (int) (slash - key), key);
                reconcile(t, ns, slash + 1);
        }
        if (json_object_size(t->dirty) > 0)
                (void) sd_event_source_set_enabled(t->defer, SD_EVENT_ONESHOT);
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Tuning *, tuning_free);

int tuning_new(Tuning **ret, sd_event *e, Store *store, Engine *engine, TuningCreate create, TuningNotify notify,
               void *userdata) {
        _cleanup_(tuning_freep) Tuning *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->event = sd_event_ref(e);
        t->store = store;
        t->engine = engine;
        t->create = create;
        t->notify = notify;
        t->userdata = userdata;
        t->dirty = json_object();
        t->watch = json_object();
        t->scans = json_object();
        if (!t->dirty || !t->watch || !t->scans)
                return -ENOMEM;
        int r = sd_event_add_defer(e, &t->defer, on_defer, t);
        if (r >= 0)
                r = sd_event_source_set_enabled(t->defer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &t->poll, CLOCK_MONOTONIC, POLL_USEC, 0, on_poll, t);
        if (r >= 0)
                r = sd_event_source_set_enabled(t->poll, SD_EVENT_OFF);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

Tuning *tuning_free(Tuning *t) {
        if (!t)
                return NULL;
        sd_event_source_disable_unref(t->defer);
        sd_event_source_disable_unref(t->poll);
        sd_event_unref(t->event);
        json_decref(t->dirty);
        json_decref(t->watch);
        json_decref(t->scans);
        free(t);
        return NULL;
}

void tuning_kick(Tuning *t, const char *ns, const char *name) {
        char key[400];
        if (!t)
                return;
        snprintf(key, sizeof key, "%s/%s", ns, name);
        json_object_set_new(t->dirty, key, json_true());
        (void) sd_event_source_set_enabled(t->defer, SD_EVENT_ONESHOT);
}

void tuning_workflow_changed(Tuning *t, json_t *wf) {
        const char *exp = json_str(json_object_get(json_object_get(wf, "metadata"), "labels"), LABEL_EXPERIMENT);
        if (t && exp)
                tuning_kick(t, manifest_namespace(wf), exp);
}

void tuning_resume_all(Tuning *t) {
        json_auto_t *items = NULL;
        json_t *o;
        size_t i;
        if (!t || store_list(t->store, &kind_experiment, NULL, &items, NULL) < 0)
                return;
        json_array_foreach(items, i, o)
                tuning_kick(t, manifest_namespace(o), manifest_name(o));
}

void tuning_forget(Tuning *t, const char *ns, const char *name) {
        char key[400];
        if (!t)
                return;
        snprintf(key, sizeof key, "%s/%s", ns, name);
        json_object_del(t->dirty, key);
        json_object_del(t->watch, key);
}
