/* suggest.h: Katib's search algorithms, in C, with no I/O.
 *
 * A Suggester proposes the parameter assignment of trial number index
 * from the trials so far.  Every draw comes from a generator seeded with
 * (random_state, index), so the same experiment proposes the same trials
 * again (after a restart, or in a test), whatever the order of calls.
 *
 *   random                uniform (or the parameter's distribution)
 *   grid                  every point of the grid, in order; then -ENOSPC
 *   tpe                   Optuna's univariate TPE (Parzen estimators of the
 *                         best gamma(n) trials against the rest, 24
 *                         candidates, expected improvement ratio l/g)
 *   multivariate-tpe      the same with joint kernels over all parameters
 *   bayesianoptimization  a Gaussian process (Matern 5/2 on [0,1]^d) with
 *                         expected improvement, maximised over candidates
 *   sobol                 the Sobol sequence (Joe and Kuo's direction
 *                         numbers), from its second point
 *   cmaes                 CMA-ES (Hansen's (mu/mu_w, lambda)), a generation
 *                         of lambda trials at a time: trial i is member
 *                         i % lambda of generation i / lambda; -EAGAIN while
 *                         an earlier generation still runs
 *   hyperband             brackets of successive halving over the
 *                         resource_name parameter (eta, r_l): a rung's
 *                         trials are the best of the rung before, with eta
 *                         times the resource (-EAGAIN until it has ended;
 *                         -ENOSPC after the last bracket)
 *
 * Values: double, int and discrete parameters are numbers; a categorical
 * one is the index of its value in the list.  Objectives are minimised:
 * the caller negates a maximised one. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum SuggestType { SUGGEST_DOUBLE, SUGGEST_INT, SUGGEST_DISCRETE, SUGGEST_CATEGORICAL } SuggestType;
typedef enum SuggestDist { SUGGEST_UNIFORM, SUGGEST_LOG_UNIFORM, SUGGEST_NORMAL, SUGGEST_LOG_NORMAL } SuggestDist;

#define SUGGEST_MAX_PARAMS 32
#define SUGGEST_MAX_VALUES 1024

typedef struct SuggestParam {
        char name[64];
        SuggestType type;
        SuggestDist dist;
        double min, max, step; /* step 0: none */
        size_t n_values;       /* discrete and categorical */
        double values[SUGGEST_MAX_VALUES]; /* discrete: the numbers; categorical: unused */
} SuggestParam;

typedef struct SuggestTrial {
        double x[SUGGEST_MAX_PARAMS];
        double y;     /* NAN: no result (running, failed, no metric) */
        bool pending; /* still running: a result may come */
} SuggestTrial;

typedef struct Suggester Suggester;

/* Reads a Katib Experiment's spec.parameters into params (at most max).
 * Returns how many, or -EINVAL with err (the API checked them already). */
int suggest_params_from_spec(json_t *parameters, SuggestParam *params, size_t max, char *err, size_t errsz);

/* algorithm: algorithmName; settings: algorithmSettings ([{name, value}]
 * or NULL).  Returns 0, or -EINVAL (unknown algorithm or setting, or a
 * parameter type the algorithm cannot search) with err. */
int suggest_new(const char *algorithm, json_t *settings, const SuggestParam *params, size_t n_params, Suggester **ret,
                char *err, size_t errsz);
Suggester *suggest_free(Suggester *s);

/* The assignment of trial number index into x.  Returns 0, -ENOSPC when
 * the algorithm has nothing more to propose (the grid is exhausted),
 * -EAGAIN when it needs running trials' results first (cmaes), or -ENOMEM. */
int suggest_next(Suggester *s, const SuggestTrial *trials, size_t n_trials, size_t index, double *x);

/* A value as Katib writes it into ${trialParameters.x}: numbers in their
 * shortest form (ints without a point), categoricals as their string. */
void suggest_format(const SuggestParam *p, double v, json_t *parameter_spec, char *buf, size_t size);
