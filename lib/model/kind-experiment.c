/* kind-experiment.c: Katib's Experiment (kubeflow.org/v1beta1).
 *
 * What sdflow takes of Katib's schema (pkg/apis/controller/experiments/
 * v1beta1): objective, algorithm (+ settings), parameters with their
 * feasible spaces, the trial counts, resumePolicy, trialTemplate (a
 * batch/v1 Job's container, trialParameters and ${trialParameters.x}),
 * metricsCollectorSpec (StdOut, File, None) and earlyStopping (medianstop).
 * NAS, custom collectors and config-map templates are refused by name.
 * Beyond the schema: each parameter's space is sound (min <= max, a step
 * that divides the range, a non-empty list), every trialParameter refers to
 * a parameter, every ${trialParameters.x} is declared, the algorithm and
 * its settings exist and can handle the parameters' types. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "metrics.h"

static const char *const objective_types[] = { "minimize", "maximize", NULL };
static const char *const strategies[] = { "min", "max", "latest", NULL };
static const char *const parameter_types[] = { "double", "int", "discrete", "categorical", NULL };
static const char *const distributions[] = { "uniform", "logUniform", "normal", "logNormal", NULL };
static const char *const resume_policies[] = { "Never", "LongRunning", NULL };
static const char *const collector_kinds[] = { "StdOut", "File", "None", NULL };
static const char *const file_formats[] = { "TEXT", "JSON", NULL };

static const Field strategy_fields[] = {
        { "name", F_STRING, FIELD_REQUIRED },
        { "value", F_STRING, FIELD_REQUIRED, .enum_values = strategies },
        {},
};
static const Field strategy_item = { "", F_OBJECT, .fields = strategy_fields };

static const Field objective_fields[] = {
        { "type", F_STRING, FIELD_REQUIRED, .enum_values = objective_types },
        { "goal", F_NUMBER },
        { "objectiveMetricName", F_STRING, FIELD_REQUIRED },
        { "additionalMetricNames", F_ARRAY, .fields = &kind_string_field },
        { "metricStrategies", F_ARRAY, .fields = &strategy_item },
        {},
};

static const Field setting_fields[] = {
        { "name", F_STRING, FIELD_REQUIRED },
        { "value", F_STRING },
        {},
};
static const Field setting_item = { "", F_OBJECT, .fields = setting_fields };

static const Field algorithm_fields[] = {
        { "algorithmName", F_STRING, FIELD_REQUIRED },
        { "algorithmSettings", F_ARRAY, .fields = &setting_item },
        {},
};

static const Field space_fields[] = {
        { "min", F_STRING },
        { "max", F_STRING },
        { "step", F_STRING },
        { "list", F_ARRAY, .fields = &kind_string_field },
        { "distribution", F_STRING, .enum_values = distributions },
        {},
};

static const Field parameter_fields[] = {
        { "name", F_STRING, FIELD_REQUIRED },
        { "parameterType", F_STRING, FIELD_REQUIRED, .enum_values = parameter_types },
        { "feasibleSpace", F_OBJECT, FIELD_REQUIRED, .fields = space_fields },
        {},
};
static const Field parameter_item = { "", F_OBJECT, .fields = parameter_fields };

static const Field trial_parameter_fields[] = {
        { "name", F_STRING, FIELD_REQUIRED },
        { "description", F_STRING },
        { "reference", F_STRING, FIELD_REQUIRED },
        {},
};
static const Field trial_parameter_item = { "", F_OBJECT, .fields = trial_parameter_fields };

static const Field trial_template_fields[] = {
        { "primaryContainerName", F_STRING },
        { "trialParameters", F_ARRAY, .fields = &trial_parameter_item },
        { "trialSpec", F_ANY, FIELD_REQUIRED }, /* a batch/v1 Job: checked below */
        { "retain", F_BOOL },
        { "successCondition", F_STRING },
        { "failureCondition", F_STRING },
        { "primaryPodLabels", F_MAP, .fields = &kind_string_field },
        { "configMap", F_REFUSED, .why = "config maps do not exist here; give trialSpec" },
        {},
};

static const Field file_path_fields[] = {
        { "path", F_STRING, FIELD_REQUIRED },
        { "kind", F_STRING },
        { "format", F_STRING, .enum_values = file_formats },
        {},
};

static const Field filter_fields[] = {
        { "metricsFormat", F_ARRAY, .fields = &kind_string_field },
        {},
};

static const Field source_fields[] = {
        { "fileSystemPath", F_OBJECT, .fields = file_path_fields },
        { "filter", F_OBJECT, .fields = filter_fields },
        { "httpGet", F_REFUSED, .why = "trials get no network; use StdOut or File" },
        {},
};

static const Field collector_fields[] = {
        { "kind", F_STRING, FIELD_REQUIRED, .enum_values = collector_kinds },
        { "customCollector", F_REFUSED, .why = "sdflow collects metrics itself: StdOut, File or None" },
        {},
};

static const Field metrics_collector_fields[] = {
        { "collector", F_OBJECT, .fields = collector_fields },
        { "source", F_OBJECT, .fields = source_fields },
        {},
};

static const Field early_stopping_fields[] = {
        { "algorithmName", F_STRING, FIELD_REQUIRED },
        { "algorithmSettings", F_ARRAY, .fields = &setting_item },
        {},
};

static const Field experiment_spec[] = {
        { "objective", F_OBJECT, FIELD_REQUIRED, .fields = objective_fields },
        { "algorithm", F_OBJECT, FIELD_REQUIRED, .fields = algorithm_fields },
        { "parameters", F_ARRAY, FIELD_REQUIRED, .fields = &parameter_item },
        { "parallelTrialCount", F_INT },
        { "maxTrialCount", F_INT },
        { "maxFailedTrialCount", F_INT },
        { "resumePolicy", F_STRING, .enum_values = resume_policies },
        { "trialTemplate", F_OBJECT, FIELD_REQUIRED, .fields = trial_template_fields },
        { "metricsCollectorSpec", F_OBJECT, .fields = metrics_collector_fields },
        { "earlyStopping", F_OBJECT, .fields = early_stopping_fields },
        { "nasConfig", F_REFUSED, .why = "neural architecture search is not implemented" },
        {},
};

/* ---- algorithms and their settings ------------------------------------------------- */

typedef struct AlgorithmInfo {
        const char *name;
        const char *const *settings;
        bool continuous_only; /* cannot handle discrete or categorical parameters */
        bool needs_step;      /* double parameters need a step (a finite grid) */
} AlgorithmInfo;

static const char *const s_random[] = { "random_state", NULL };
static const char *const s_grid[] = { "random_state", NULL };
static const char *const s_tpe[] = { "random_state", "n_startup_trials", "n_EI_candidates", "n_ei_candidates", "gamma",
                                     "prior_weight", NULL };
static const char *const s_bayes[] = { "random_state", "base_estimator", "n_initial_points", "acq_func", "acq_optimizer",
                                       NULL };
static const char *const s_cmaes[] = { "random_state", "sigma", "restart_strategy", NULL };
static const char *const s_sobol[] = { "random_state", NULL };
static const char *const s_hyperband[] = { "random_state", "resource_name", "eta", "r_l", NULL };
static const char *const s_median[] = { "min_trials_required", "start_step", NULL };

static const AlgorithmInfo algorithms[] = {
        { "random", s_random, false, false },
        { "grid", s_grid, false, true },
        { "tpe", s_tpe, false, false },
        { "multivariate-tpe", s_tpe, false, false },
        { "bayesianoptimization", s_bayes, false, false },
        { "cmaes", s_cmaes, true, false },
        { "sobol", s_sobol, false, false },
        { "hyperband", s_hyperband, false, false },
        {},
};

static const char *experiment_algorithm_names =
        "random, grid, tpe, multivariate-tpe, bayesianoptimization, cmaes, sobol, hyperband";

static const AlgorithmInfo *algorithm_info(const char *name) {
        for (size_t i = 0; name && algorithms[i].name; i++)
                if (strcmp(algorithms[i].name, name) == 0)
                        return &algorithms[i];
        return NULL;
}

static bool parse_number(json_t *v, double *ret) {
        const char *s = json_string_value(v);
        char *end;
        if (!s || !*s)
                return false;
        *ret = strtod(s, &end);
        while (isspace((unsigned char) *end))
                end++;
        return !*end && isfinite(*ret);
}

static void check_settings(json_t *list, const char *const *known, const char *base, const char *algorithm, Diags *d) {
        json_t *s;
        size_t i;
        char path[256];
        json_array_foreach(list, i, s) {
                const char *name = json_string_value(json_object_get(s, "name"));
                bool ok = false;
                for (size_t k = 0; name && known[k]; k++)
                        ok = ok || strcmp(name, known[k]) == 0;
                snprintf(path, sizeof path, "%s[%zu].name", base, i);
                if (name && !ok) {
                        char list_s[256] = "";
                        for (size_t k = 0; known[k]; k++)
                                snprintf(list_s + strlen(list_s), sizeof list_s - strlen(list_s), "%s%s", k ? ", " : "",
                                         known[k]);
                        diags_add(d, true, path, "'%.60s' is not a setting of %s (it takes %s)", name, algorithm, list_s);
                }
                const char *v = json_string_value(json_object_get(s, "value"));
                double x;
                snprintf(path, sizeof path, "%s[%zu].value", base, i);
                if (name && ok && v && strcmp(name, "base_estimator") != 0 && strcmp(name, "acq_func") != 0 &&
                    strcmp(name, "acq_optimizer") != 0 && strcmp(name, "resource_name") != 0 &&
                    strcmp(name, "restart_strategy") != 0 && !parse_number(json_object_get(s, "value"), &x))
                        diags_add(d, true, path, "'%.60s' is not a number", v);
        }
}

static void check_parameter(json_t *p, const char *base, const AlgorithmInfo *alg, Diags *d) {
        json_t *fs = json_object_get(p, "feasibleSpace");
        const char *type = json_string_value(json_object_get(p, "parameterType"));
        char path[320];
        double min = 0, max = 0, step = 0;
        if (!type || !fs)
                return;
        bool numeric = strcmp(type, "double") == 0 || strcmp(type, "int") == 0;
        if (numeric) {
                bool has_min = parse_number(json_object_get(fs, "min"), &min);
                bool has_max = parse_number(json_object_get(fs, "max"), &max);
                snprintf(path, sizeof path, "%s.feasibleSpace.min", base);
                if (!has_min)
                        diags_add(d, true, path, json_object_get(fs, "min") ? "'%s' is not a number" : "required for %s parameters",
                                  json_object_get(fs, "min") ? json_string_value(json_object_get(fs, "min")) : type);
                snprintf(path, sizeof path, "%s.feasibleSpace.max", base);
                if (!has_max)
                        diags_add(d, true, path, json_object_get(fs, "max") ? "'%s' is not a number" : "required for %s parameters",
                                  json_object_get(fs, "max") ? json_string_value(json_object_get(fs, "max")) : type);
                if (has_min && has_max && min > max) {
                        snprintf(path, sizeof path, "%s.feasibleSpace", base);
                        diags_add(d, true, path, "min (%g) is greater than max (%g)", min, max);
                }
                if (strcmp(type, "int") == 0 && has_min && has_max && (min != floor(min) || max != floor(max))) {
                        snprintf(path, sizeof path, "%s.feasibleSpace", base);
                        diags_add(d, true, path, "an int parameter's min and max must be whole numbers");
                }
                if (json_object_get(fs, "step")) {
                        snprintf(path, sizeof path, "%s.feasibleSpace.step", base);
                        if (!parse_number(json_object_get(fs, "step"), &step) || step <= 0)
                                diags_add(d, true, path, "'%s' is not a positive number",
                                          json_string_value(json_object_get(fs, "step")) ?: "");
                        else if (has_min && has_max && min <= max) {
                                double n = (max - min) / step;
                                if (fabs(n - round(n)) > 1e-9 * fmax(1, fabs(n)))
                                        diags_add(d, true, path, "%g does not divide the range %g..%g into whole steps",
                                                  step, min, max);
                        }
                } else if (alg && alg->needs_step && strcmp(type, "double") == 0) {
                        snprintf(path, sizeof path, "%s.feasibleSpace.step", base);
                        diags_add(d, true, path, "%s needs a step for double parameters (a finite grid)", alg->name);
                }
                const char *dist = json_string_value(json_object_get(fs, "distribution"));
                if (dist && (strcmp(dist, "logUniform") == 0 || strcmp(dist, "logNormal") == 0) && has_min &&
                    min <= 0) {
                        snprintf(path, sizeof path, "%s.feasibleSpace.min", base);
                        diags_add(d, true, path, "%s needs min > 0, got %g", dist, min);
                }
                if (json_object_get(fs, "list")) {
                        snprintf(path, sizeof path, "%s.feasibleSpace.list", base);
                        diags_add(d, true, path, "a %s parameter takes min and max, not a list", type);
                }
        } else {
                snprintf(path, sizeof path, "%s.feasibleSpace.list", base);
                json_t *list = json_object_get(fs, "list");
                if (json_array_size(list) == 0)
                        diags_add(d, true, path, "a %s parameter needs a non-empty list", type);
                double x;
                size_t i;
                json_t *v;
                if (strcmp(type, "discrete") == 0)
                        json_array_foreach(list, i, v) {
                                snprintf(path, sizeof path, "%s.feasibleSpace.list[%zu]", base, i);
                                if (!parse_number(v, &x))
                                        diags_add(d, true, path, "'%s' is not a number (discrete values are numbers)",
                                                  json_string_value(v) ?: "");
                        }
                if (alg && alg->continuous_only) {
                        snprintf(path, sizeof path, "%s.parameterType", base);
                        diags_add(d, true, path, "%s cannot search %s parameters (only double and int)", alg->name,
                                  type);
                }
        }
}

/* Every ${trialParameters.NAME} in the strings of v. */
static void check_placeholders(json_t *v, json_t *declared, const char *path, Diags *d) {
        if (json_is_string(v)) {
                const char *s = json_string_value(v);
                for (const char *p = strstr(s, "${trialParameters."); p; p = strstr(p + 1, "${trialParameters.")) {
                        const char *name = p + strlen("${trialParameters."), *end = strchr(name, '}');
                        if (!end) {
                                diags_add(d, true, path, "'%.60s': '${' is not closed with '}'", p);
                                break;
                        }
                        if (!json_object_getn(declared, name, (size_t) (end - name)))
                                diags_add(d, true, path, "'${trialParameters.%.*s}' is not declared in "
                                                         "spec.trialTemplate.trialParameters",
                                          (int) (end - name), name);
                }
                return;
        }
        char sub[512];
        if (json_is_object(v)) {
                const char *k;
                json_t *x;
                json_object_foreach(v, k, x) {
                        snprintf(sub, sizeof sub, "%s.%s", path, k);
                        check_placeholders(x, declared, sub, d);
                }
        } else if (json_is_array(v)) {
                size_t i;
                json_t *x;
                json_array_foreach(v, i, x) {
                        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
                        check_placeholders(x, declared, sub, d);
                }
        }
}

static void check_trial_template(json_t *spec, json_t *tt, Diags *d) {
        json_auto_t *params = json_object(), *declared = json_object();
        json_t *p, *ts = json_object_get(tt, "trialSpec");
        size_t i;
        char path[256];
        bool oom = !params || !declared;
        json_array_foreach(json_object_get(spec, "parameters"), i, p)
                if (json_is_string(json_object_get(p, "name")) &&
                    json_object_set_new(params, json_string_value(json_object_get(p, "name")), json_true()) < 0)
                        oom = true;
        if (oom) {
                diags_add(d, true, "spec.trialTemplate", "out of memory");
                return;
        }
        json_array_foreach(json_object_get(tt, "trialParameters"), i, p) {
                const char *ref = json_string_value(json_object_get(p, "reference"));
                const char *name = json_string_value(json_object_get(p, "name"));
                snprintf(path, sizeof path, "spec.trialTemplate.trialParameters[%zu].reference", i);
                /* Katib also offers the trial's own metadata: ${trialSpec.Name} and the like. */
                if (ref && !json_object_get(params, ref) && strncmp(ref, "${trialSpec.", 12) != 0)
                        diags_add(d, true, path, "'%s' is not a parameter of spec.parameters", ref);
                if (name && json_object_set_new(declared, name, json_true()) < 0) {
                        diags_add(d, true, "spec.trialTemplate", "out of memory");
                        return;
                }
        }
        /* The Job: apiVersion batch/v1, kind Job, one container to run. */
        const char *av = json_string_value(json_object_get(ts, "apiVersion"));
        const char *kind = json_string_value(json_object_get(ts, "kind"));
        if (ts && (!av || strcmp(av, "batch/v1") != 0 || !kind || strcmp(kind, "Job") != 0))
                diags_add(d, true, "spec.trialTemplate.trialSpec",
                          "sdflow runs trials given as a batch/v1 Job, not %s %s", av ?: "(no apiVersion)",
                          kind ?: "(no kind)");
        json_t *containers = json_object_get(json_object_get(json_object_get(json_object_get(ts, "spec"), "template"), "spec"),
                                             "containers");
        if (ts && json_array_size(containers) == 0)
                diags_add(d, true, "spec.trialTemplate.trialSpec.spec.template.spec.containers",
                          "required: the container that runs the trial");
        const char *primary = json_string_value(json_object_get(tt, "primaryContainerName"));
        json_t *c;
        bool found = !primary;
        json_array_foreach(containers, i, c) {
                if (primary && json_is_string(json_object_get(c, "name")) &&
                    strcmp(json_string_value(json_object_get(c, "name")), primary) == 0)
                        found = true;
                snprintf(path, sizeof path, "spec.trialTemplate.trialSpec.spec.template.spec.containers[%zu].image", i);
                if (!json_is_string(json_object_get(c, "image")))
                        diags_add(d, true, path, "required field is missing");
        }
        if (primary && !found)
                diags_add(d, true, "spec.trialTemplate.primaryContainerName", "no container is named '%s'", primary);
        if (!primary && json_array_size(containers) > 1)
                diags_add(d, true, "spec.trialTemplate.primaryContainerName",
                          "required when the Job has several containers");
        if (ts)
                check_placeholders(ts, declared, "spec.trialTemplate.trialSpec", d);
}

static void experiment_validate(json_t *obj, Diags *d) {
        json_t *spec = json_object_get(obj, "spec"), *p;
        json_t *alg = json_object_get(spec, "algorithm");
        const char *name = json_string_value(json_object_get(alg, "algorithmName"));
        const AlgorithmInfo *info = algorithm_info(name);
        size_t i;
        char path[256];
        if (name && !info)
                diags_add(d, true, "spec.algorithm.algorithmName", "'%s' is not an algorithm sdflow has (%s)", name,
                          experiment_algorithm_names);
        if (info)
                check_settings(json_object_get(alg, "algorithmSettings"), info->settings, "spec.algorithm.algorithmSettings",
                               name, d);
        if (info && strcmp(name, "hyperband") == 0) {
                bool has_resource = false;
                json_array_foreach(json_object_get(alg, "algorithmSettings"), i, p)
                        has_resource = has_resource ||
                                       strcmp(json_string_value(json_object_get(p, "name")) ?: "", "resource_name") == 0;
                const char *rn = NULL;
                json_array_foreach(json_object_get(alg, "algorithmSettings"), i, p)
                        if (strcmp(json_string_value(json_object_get(p, "name")) ?: "", "resource_name") == 0)
                                rn = json_string_value(json_object_get(p, "value"));
                bool numeric = false;
                json_array_foreach(json_object_get(spec, "parameters"), i, p) {
                        const char *pt = json_string_value(json_object_get(p, "parameterType")) ?: "";
                        if (rn && strcmp(json_string_value(json_object_get(p, "name")) ?: "", rn) == 0 &&
                            (strcmp(pt, "int") == 0 || strcmp(pt, "double") == 0))
                                numeric = true;
                }
                if (!has_resource)
                        diags_add(d, true, "spec.algorithm.algorithmSettings",
                                  "hyperband needs resource_name (the parameter that is the budget)");
                else if (!numeric)
                        diags_add(d, true, "spec.algorithm.algorithmSettings",
                                  "hyperband's resource_name '%s' is not an int or double parameter", rn ?: "");
        }
        /* A name not kept would let a second parameter of that name pass. */
        json_auto_t *seen = json_object();
        if (!seen)
                diags_add(d, true, "spec.parameters", "out of memory");
        json_array_foreach(json_object_get(spec, "parameters"), i, p) {
                snprintf(path, sizeof path, "spec.parameters[%zu]", i);
                const char *pn = json_string_value(json_object_get(p, "name"));
                if (pn && json_object_get(seen, pn)) {
                        char np[320];
                        snprintf(np, sizeof np, "%s.name", path);
                        diags_add(d, true, np, "'%s' is the name of another parameter", pn);
                }
                if (pn && seen && json_object_set_new(seen, pn, json_true()) < 0)
                        diags_add(d, true, path, "out of memory");
                check_parameter(p, path, info, d);
        }
        if (json_array_size(json_object_get(spec, "parameters")) == 0 && json_is_array(json_object_get(spec, "parameters")))
                diags_add(d, true, "spec.parameters", "an experiment needs at least one parameter");
        static const char *const counts[] = { "parallelTrialCount", "maxTrialCount", "maxFailedTrialCount" };
        for (size_t k = 0; k < 3; k++) {
                json_t *v = json_object_get(spec, counts[k]);
                snprintf(path, sizeof path, "spec.%s", counts[k]);
                if (json_is_integer(v) && json_integer_value(v) < (k == 2 ? 0 : 1))
                        diags_add(d, true, path, "%" JSON_INTEGER_FORMAT " is less than %d", json_integer_value(v),
                                  k == 2 ? 0 : 1);
        }
        json_t *es = json_object_get(spec, "earlyStopping");
        const char *esn = json_string_value(json_object_get(es, "algorithmName"));
        if (esn && strcmp(esn, "medianstop") != 0)
                diags_add(d, true, "spec.earlyStopping.algorithmName", "'%s' is not an early stopping algorithm sdflow "
                                                                       "has (medianstop)", esn);
        else if (esn)
                check_settings(json_object_get(es, "algorithmSettings"), s_median, "spec.earlyStopping.algorithmSettings",
                               esn, d);
        json_t *mc = json_object_get(spec, "metricsCollectorSpec");
        const char *ck = json_string_value(json_object_get(json_object_get(mc, "collector"), "kind"));
        if (ck && strcmp(ck, "File") == 0 && !json_object_get(json_object_get(mc, "source"), "fileSystemPath"))
                diags_add(d, true, "spec.metricsCollectorSpec.source.fileSystemPath", "required for the File collector");
        json_array_foreach(json_object_get(json_object_get(json_object_get(mc, "source"), "filter"), "metricsFormat"), i, p) {
                snprintf(path, sizeof path, "spec.metricsCollectorSpec.source.filter.metricsFormat[%zu]", i);
                if (!metrics_format_ok(json_string_value(p)))
                        diags_add(d, true, path, "'%.80s' is not a regular expression with two groups (name, value)",
                                  json_string_value(p) ?: "");
        }
        if (json_object_get(spec, "trialTemplate"))
                check_trial_template(spec, json_object_get(spec, "trialTemplate"), d);
}

static const char *const experiment_short[] = { "experiment", "exp", NULL };

const Kind kind_experiment = {
        .group = "kubeflow.org",
        .version = "v1beta1",
        .kind = "Experiment",
        .plural = "experiments",
        .short_names = experiment_short,
        .namespaced = true,
        .spec = experiment_spec,
        .spec_required = true,
        .validate = experiment_validate,
};
