/* suggest.c: see suggest.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "suggest.h"

#define TPE_MAX_OBS 4096
#define GP_MAX_OBS 512
/* EI is maximised over this many points: two thirds at random, the rest
 * around the best observation and the best candidate so far.  500 keeps a
 * proposal under 1 ms at 50 trials (bench/tuning). */
#define GP_CANDIDATES 500

typedef enum Algorithm { ALG_RANDOM, ALG_GRID, ALG_TPE, ALG_MTPE, ALG_GP, ALG_SOBOL, ALG_CMAES, ALG_HYPERBAND } Algorithm;

struct Suggester {
        Algorithm alg;
        SuggestParam p[SUGGEST_MAX_PARAMS];
        size_t n;
        uint64_t random_state;
        /* tpe */
        size_t n_startup;
        size_t n_candidates;
        double prior_weight;
        /* bayesianoptimization */
        size_t n_initial;
        /* cmaes: the initial step, in the unit cube */
        double sigma0;
        /* hyperband: the budget parameter, eta, the most resource */
        size_t resource;
        double eta, r_l;
};

/* ---- random numbers: xoshiro256** seeded by splitmix64 ------------------------------- */

typedef struct Rng {
        uint64_t s[4];
} Rng;

static uint64_t splitmix64(uint64_t *x) {
        uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static void rng_seed(Rng *r, uint64_t seed, uint64_t index) {
        uint64_t x = seed * 0x100000001b3ULL ^ (index + 0x632be59bd9b4e019ULL);
        for (int i = 0; i < 4; i++)
                r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) {
        return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(Rng *r) {
        uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
}

static double uniform01(Rng *r) {
        return (double) (rng_next(r) >> 11) * 0x1.0p-53;
}

static double normal01(Rng *r) {
        double u = uniform01(r), v = uniform01(r);
        if (u < 1e-300)
                u = 1e-300;
        return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* ---- the parameters' internal spaces ------------------------------------------------- */

static bool is_log(const SuggestParam *p) {
        return p->dist == SUGGEST_LOG_UNIFORM || p->dist == SUGGEST_LOG_NORMAL;
}

static bool is_categorical(const SuggestParam *p) {
        return p->type == SUGGEST_CATEGORICAL || p->type == SUGGEST_DISCRETE;
}

static double int_step(const SuggestParam *p) {
        return p->step > 0 ? p->step : 1;
}

/* The continuous interval a numeric parameter is searched in (log-scaled
 * when its distribution is; an int's ends widened by half a step). */
static void bounds(const SuggestParam *p, double *lo, double *hi) {
        double a = p->min, b = p->max;
        if (p->type == SUGGEST_INT) {
                a -= 0.5 * int_step(p);
                b += 0.5 * int_step(p);
                if (is_log(p) && a <= 0)
                        a = p->min * 0.5;
        }
        if (is_log(p)) {
                a = log(a);
                b = log(b);
        }
        *lo = a;
        *hi = b;
}

static double to_internal(const SuggestParam *p, double v) {
        return is_log(p) ? log(v) : v;
}

/* From the internal space to a value of the parameter: snapped to its step, inside its range. */
static double to_value(const SuggestParam *p, double u) {
        double v = is_log(p) ? exp(u) : u;
        if (p->type == SUGGEST_INT) {
                double s = int_step(p);
                v = p->min + round((v - p->min) / s) * s;
        } else if (p->step > 0)
                v = p->min + round((v - p->min) / p->step) * p->step;
        if (v < p->min)
                v = p->min;
        if (v > p->max)
                v = p->max;
        return v;
}

static double category_value(const SuggestParam *p, size_t i);

static double sample_prior(const SuggestParam *p, Rng *r) {
        if (is_categorical(p))
                return category_value(p, rng_next(r) % p->n_values);
        double lo, hi;
        bounds(p, &lo, &hi);
        double u;
        if (p->dist == SUGGEST_NORMAL || p->dist == SUGGEST_LOG_NORMAL) {
                /* Katib's normal: centred in the range, three deviations to each end, kept inside. */
                u = 0.5 * (lo + hi) + normal01(r) * (hi - lo) / 6;
                u = fmin(hi, fmax(lo, u));
        } else
                u = lo + uniform01(r) * (hi - lo);
        return to_value(p, u);
}

/* A categorical/discrete value's index, from what a trial holds. */
static size_t category_of(const SuggestParam *p, double v) {
        if (p->type == SUGGEST_CATEGORICAL) {
                long i = lround(v);
                return i < 0 ? 0 : (size_t) i < p->n_values ? (size_t) i : p->n_values - 1;
        }
        size_t best = 0;
        for (size_t i = 1; i < p->n_values; i++)
                if (fabs(p->values[i] - v) < fabs(p->values[best] - v))
                        best = i;
        return best;
}

static double category_value(const SuggestParam *p, size_t i) {
        return p->type == SUGGEST_CATEGORICAL ? (double) i : p->values[i];
}

/* ---- grid ------------------------------------------------------------------------------ */

static size_t grid_size(const SuggestParam *p) {
        if (is_categorical(p))
                return p->n_values;
        double s = p->type == SUGGEST_INT ? int_step(p) : p->step;
        return (size_t) floor((p->max - p->min) / s + 1e-9) + 1;
}

static int grid_point(Suggester *s, size_t index, double *x) {
        /* The last parameter moves fastest, as Katib's grid lists them. */
        size_t rest = index;
        for (size_t k = s->n; k-- > 0;) {
                const SuggestParam *p = &s->p[k];
                size_t m = grid_size(p), i = rest % m;
                rest /= m;
                if (is_categorical(p))
                        x[k] = category_value(p, i);
                else {
                        double st = p->type == SUGGEST_INT ? int_step(p) : p->step;
                        x[k] = fmin(p->max, p->min + (double) i * st);
                }
        }
        return rest > 0 ? -ENOSPC : 0;
}

/* ---- TPE --------------------------------------------------------------------------------- */

static double log_sum_exp(const double *a, size_t n) {
        double m = -INFINITY, s = 0;
        for (size_t i = 0; i < n; i++)
                m = fmax(m, a[i]);
        if (!isfinite(m))
                return m;
        for (size_t i = 0; i < n; i++)
                s += exp(a[i] - m);
        return m + log(s);
}

static double norm_cdf(double z) {
        return 0.5 * erfc(-z / M_SQRT2);
}

/* A one-dimensional Parzen estimator: a truncated-normal mixture on [lo, hi]. */
typedef struct Parzen {
        size_t n;
        double *mu, *sigma, *logw, *lognorm;
        double lo, hi;
} Parzen;

/* Optuna's default weights: the 25 most recent observations weigh 1, older ones less. */
static void default_weights(size_t n, double *w) {
        if (n < 25) {
                for (size_t i = 0; i < n; i++)
                        w[i] = 1;
                return;
        }
        size_t ramp = n - 25;
        for (size_t i = 0; i < ramp; i++)
                w[i] = ramp > 1 ? 1.0 / (double) n + (1 - 1.0 / (double) n) * (double) i / (double) (ramp - 1)
                                : 1.0 / (double) n;
        for (size_t i = ramp; i < n; i++)
                w[i] = 1;
}

static int cmp_double_idx(const void *a, const void *b, void *arg) {
        const double *v = arg;
        double x = v[*(const size_t *) a], y = v[*(const size_t *) b];
        return x < y ? -1 : x > y;
}

/* obs (n, oldest first) with prior_weight; Optuna's univariate rules:
 * each kernel's width is the larger gap to its neighbours (the prior's is
 * the whole range), clipped to [range / min(100, n + 1), range]. */
static int parzen_build(Parzen *pz, const double *obs, size_t n, double lo, double hi, double prior_weight) {
        size_t m = n + 1;
        pz->n = m;
        pz->lo = lo;
        pz->hi = hi;
        pz->mu = calloc(m, sizeof(double));
        pz->sigma = calloc(m, sizeof(double));
        pz->logw = calloc(m, sizeof(double));
        pz->lognorm = calloc(m, sizeof(double));
        _cleanup_free_ double *w = calloc(m, sizeof(double));
        _cleanup_free_ size_t *order = calloc(m, sizeof(size_t));
        if (!pz->mu || !pz->sigma || !pz->logw || !pz->lognorm || !w || !order)
                return -ENOMEM; /* the caller's parzen_free() frees what was had */
        default_weights(n, w);
        for (size_t i = 0; i < n; i++)
                pz->mu[i] = obs[i];
        pz->mu[n] = 0.5 * (lo + hi);
        w[n] = prior_weight;
        for (size_t i = 0; i < m; i++)
                order[i] = i;
        qsort_r(order, m, sizeof(size_t), cmp_double_idx, pz->mu);
        for (size_t k = 0; k < m; k++) {
                size_t i = order[k];
                double left = (k == 0 ? pz->mu[i] - lo : pz->mu[i] - pz->mu[order[k - 1]]);
                double right = (k + 1 == m ? hi - pz->mu[i] : pz->mu[order[k + 1]] - pz->mu[i]);
                if (m >= 2 && k == 0)
                        left = right; /* no endpoints considered */
                if (m >= 2 && k + 1 == m)
                        right = left;
                pz->sigma[i] = fmax(left, right);
        }
        pz->sigma[n] = hi - lo;
        double maxs = hi - lo, mins = (hi - lo) / fmin(100.0, 1.0 + (double) m);
        double wsum = 0;
        for (size_t i = 0; i < m; i++) {
                pz->sigma[i] = fmin(maxs, fmax(mins, pz->sigma[i]));
                wsum += w[i];
        }
        for (size_t i = 0; i < m; i++) {
                pz->logw[i] = log(w[i] / wsum);
                double mass = norm_cdf((hi - pz->mu[i]) / pz->sigma[i]) - norm_cdf((lo - pz->mu[i]) / pz->sigma[i]);
                pz->lognorm[i] = log(fmax(mass, 1e-300));
        }
        return 0;
}

static void parzen_free(Parzen *pz) {
        free(pz->mu);
        free(pz->sigma);
        free(pz->logw);
        free(pz->lognorm);
}

/* unscaled: without each kernel's -log(sigma), as python3-optuna 3.1's
 * truncnorm.logpdf computes it (and as the benchmark shows, to better
 * effect on Branin and Hartmann: wide kernels count for more). */
static bool unscaled = true;

static double parzen_logpdf(const Parzen *pz, double x) {
        double a[TPE_MAX_OBS + 1];
        for (size_t i = 0; i < pz->n; i++) {
                double z = (x - pz->mu[i]) / pz->sigma[i];
                a[i] = pz->logw[i] - 0.5 * z * z - log(sqrt(2 * M_PI)) - pz->lognorm[i] - (unscaled ? 0 : log(pz->sigma[i]));
        }
        return log_sum_exp(a, pz->n);
}

static size_t pick_component(const double *logw, size_t n, Rng *r) {
        double u = uniform01(r), acc = 0;
        for (size_t i = 0; i < n; i++) {
                acc += exp(logw[i]);
                if (u < acc)
                        return i;
        }
        return n - 1;
}

static double truncated_normal(double mu, double sigma, double lo, double hi, Rng *r) {
        for (int tries = 0; tries < 100; tries++) {
                double x = mu + sigma * normal01(r);
                if (x >= lo && x <= hi)
                        return x;
        }
        return fmin(hi, fmax(lo, mu));
}

static double parzen_sample(const Parzen *pz, Rng *r) {
        size_t i = pick_component(pz->logw, pz->n, r);
        return truncated_normal(pz->mu[i], pz->sigma[i], pz->lo, pz->hi, r);
}

/* The trials with results, by trial order, and how many of the best form "below". */
typedef struct Split {
        size_t n;
        const SuggestTrial **t; /* completed, oldest first */
        bool *below;
        size_t n_below;
} Split;

static int cmp_y(const void *a, const void *b, void *arg) {
        const SuggestTrial *const *t = arg;
        double x = t[*(const size_t *) a]->y, y = t[*(const size_t *) b]->y;
        return x < y ? -1 : x > y ? 1 : (*(const size_t *) a > *(const size_t *) b) - (*(const size_t *) a < *(const size_t *) b);
}

static int split(const SuggestTrial *trials, size_t n_trials, Split *sp) {
        sp->t = calloc(n_trials + 1, sizeof *sp->t);
        sp->below = calloc(n_trials + 1, sizeof *sp->below);
        sp->n = 0;
        if (!sp->t || !sp->below)
                return -ENOMEM; /* the caller's split_free() frees what was had */
        for (size_t i = 0; i < n_trials && sp->n < TPE_MAX_OBS; i++)
                if (isfinite(trials[i].y))
                        sp->t[sp->n++] = &trials[i];
        size_t gamma = (size_t) ceil(0.1 * (double) sp->n);
        if (gamma > 25)
                gamma = 25;
        sp->n_below = gamma;
        _cleanup_free_ size_t *order = calloc(sp->n + 1, sizeof(size_t));
        if (!order)
                return -ENOMEM;
        for (size_t i = 0; i < sp->n; i++)
                order[i] = i;
        qsort_r(order, sp->n, sizeof(size_t), cmp_y, sp->t);
        for (size_t i = 0; i < gamma; i++)
                sp->below[order[i]] = true;
        return 0;
}

static void split_free(Split *sp) {
        free(sp->t);
        free(sp->below);
}

/* Categorical: the probability of each choice, from the weighted observations and a flat prior. */
static void categorical_probs(const SuggestParam *p, const double *obs, size_t n, double prior_weight, double *prob) {
        double w[TPE_MAX_OBS];
        default_weights(n, w);
        double total = prior_weight;
        for (size_t c = 0; c < p->n_values; c++)
                prob[c] = prior_weight / (double) p->n_values;
        for (size_t i = 0; i < n; i++) {
                prob[category_of(p, obs[i])] += w[i];
                total += w[i];
        }
        for (size_t c = 0; c < p->n_values; c++)
                prob[c] /= total;
}

static int tpe_univariate(Suggester *s, const Split *sp, Rng *r, double *x) {
        _cleanup_free_ double *below = calloc(sp->n + 1, sizeof(double)), *above = calloc(sp->n + 1, sizeof(double));
        if (!below || !above)
                return -ENOMEM;
        for (size_t k = 0; k < s->n; k++) {
                const SuggestParam *p = &s->p[k];
                size_t nb = 0, na = 0;
                for (size_t i = 0; i < sp->n; i++) {
                        double v = is_categorical(p) ? sp->t[i]->x[k] : to_internal(p, sp->t[i]->x[k]);
                        if (sp->below[i])
                                below[nb++] = v;
                        else
                                above[na++] = v;
                }
                if (is_categorical(p)) {
                        double pl[SUGGEST_MAX_VALUES], pg[SUGGEST_MAX_VALUES];
                        categorical_probs(p, below, nb, s->prior_weight, pl);
                        categorical_probs(p, above, na, s->prior_weight, pg);
                        double best = -INFINITY;
                        size_t pick = 0;
                        for (size_t c = 0; c < s->n_candidates; c++) {
                                double u = uniform01(r), acc = 0;
                                size_t i = 0;
                                for (; i + 1 < p->n_values; i++) {
                                        acc += pl[i];
                                        if (u < acc)
                                                break;
                                }
                                double score = log(pl[i]) - log(pg[i]);
                                if (score > best) {
                                        best = score;
                                        pick = i;
                                }
                        }
                        x[k] = category_value(p, pick);
                        continue;
                }
                double lo, hi;
                bounds(p, &lo, &hi);
                _cleanup_(parzen_free) Parzen l = {}, g = {};
                if (parzen_build(&l, below, nb, lo, hi, s->prior_weight) < 0 ||
                    parzen_build(&g, above, na, lo, hi, s->prior_weight) < 0)
                        return -ENOMEM;
                double best = -INFINITY, pick = 0.5 * (lo + hi);
                for (size_t c = 0; c < s->n_candidates; c++) {
                        double cand = parzen_sample(&l, r);
                        double score = parzen_logpdf(&l, cand) - parzen_logpdf(&g, cand);
                        if (score > best) {
                                best = score;
                                pick = cand;
                        }
                }
                x[k] = to_value(p, pick);
        }
        return 0;
}

/* Multivariate TPE: one kernel per observation over all parameters at
 * once (widths by Scott's rule, as Optuna's multivariate sampler). */
typedef struct MKernels {
        size_t n;
        const Split *sp;
        bool want_below;
        const Suggester *s;
        double *logw;
        double sigma[SUGGEST_MAX_PARAMS];
} MKernels;

static double mk_value(const MKernels *m, size_t obs, size_t k) {
        const SuggestParam *p = &m->s->p[k];
        return is_categorical(p) ? m->sp->t[obs]->x[k] : to_internal(p, m->sp->t[obs]->x[k]);
}

static void mk_free(MKernels *m) {
        free(m->logw);
}

/* Kernel j: observation index (or the prior when j == count); a: room for
 * count + 1 numbers. */
static double mk_logpdf(const MKernels *m, const size_t *idx, size_t count, const double *x, double *a) {
        for (size_t j = 0; j <= count; j++) {
                double lp = m->logw[j];
                for (size_t k = 0; k < m->s->n; k++) {
                        const SuggestParam *p = &m->s->p[k];
                        if (is_categorical(p)) {
                                size_t c = category_of(p, x[k]);
                                double C = (double) p->n_values;
                                double pk = j == count ? 1 / C
                                                       : (category_of(p, mk_value(m, idx[j], k)) == c ? 1 : 0) * 0.8 + 0.2 / C;
                                lp += log(pk);
                                continue;
                        }
                        double lo, hi;
                        bounds(p, &lo, &hi);
                        double mu = j == count ? 0.5 * (lo + hi) : mk_value(m, idx[j], k);
                        double sg = j == count ? hi - lo : m->sigma[k];
                        double z = (x[k] - mu) / sg;
                        double mass = norm_cdf((hi - mu) / sg) - norm_cdf((lo - mu) / sg);
                        lp += -0.5 * z * z - log(sg * sqrt(2 * M_PI)) - log(fmax(mass, 1e-300));
                }
                a[j] = lp;
        }
        return log_sum_exp(a, count + 1);
}

static int mk_init(MKernels *m, const Suggester *s, const Split *sp, bool below, size_t *idx, size_t *count) {
        m->s = s;
        m->sp = sp;
        m->want_below = below;
        size_t c = 0;
        for (size_t i = 0; i < sp->n; i++)
                if (sp->below[i] == below)
                        idx[c++] = i;
        *count = c;
        _cleanup_free_ double *w = calloc(c + 1, sizeof(double));
        double sum = 0;
        m->logw = calloc(c + 1, sizeof(double));
        if (!w || !m->logw)
                return -ENOMEM; /* the caller's mk_free() frees m->logw */
        default_weights(c, w);
        w[c] = s->prior_weight;
        for (size_t j = 0; j <= c; j++)
                sum += w[j];
        for (size_t j = 0; j <= c; j++)
                m->logw[j] = log(w[j] / sum);
        double d = (double) s->n;
        for (size_t k = 0; k < s->n; k++) {
                double lo, hi;
                bounds(&s->p[k], &lo, &hi);
                m->sigma[k] = 0.2 * (hi - lo) * pow((double) (c + 1), -1.0 / (d + 4));
                m->sigma[k] = fmax(m->sigma[k], (hi - lo) / fmin(100.0, 1.0 + (double) (c + 1)));
        }
        return 0;
}

static int tpe_multivariate(Suggester *s, const Split *sp, Rng *r, double *x) {
        _cleanup_free_ size_t *ib = calloc(sp->n + 1, sizeof(size_t)), *ia = calloc(sp->n + 1, sizeof(size_t));
        _cleanup_free_ double *a = calloc(sp->n + 1, sizeof(double)); /* mk_logpdf()'s room */
        size_t nb, na;
        _cleanup_(mk_free) MKernels l = {}, g = {};
        if (!ib || !ia || !a)
                return -ENOMEM;
        if (mk_init(&l, s, sp, true, ib, &nb) < 0 || mk_init(&g, s, sp, false, ia, &na) < 0)
                return -ENOMEM;
        double best = -INFINITY, cand[SUGGEST_MAX_PARAMS];
        for (size_t c = 0; c < s->n_candidates; c++) {
                size_t j = pick_component(l.logw, nb + 1, r);
                for (size_t k = 0; k < s->n; k++) {
                        const SuggestParam *p = &s->p[k];
                        if (is_categorical(p)) {
                                if (j == nb || uniform01(r) < 0.2)
                                        cand[k] = category_value(p, rng_next(r) % p->n_values);
                                else
                                        cand[k] = category_value(p, category_of(p, sp->t[ib[j]]->x[k]));
                                continue;
                        }
                        double lo, hi;
                        bounds(p, &lo, &hi);
                        double mu = j == nb ? 0.5 * (lo + hi) : to_internal(p, sp->t[ib[j]]->x[k]);
                        double sg = j == nb ? hi - lo : l.sigma[k];
                        cand[k] = truncated_normal(mu, sg, lo, hi, r);
                }
                double score = mk_logpdf(&l, ib, nb, cand, a) - mk_logpdf(&g, ia, na, cand, a);
                if (score > best) {
                        best = score;
                        for (size_t k = 0; k < s->n; k++)
                                x[k] = is_categorical(&s->p[k]) ? cand[k] : to_value(&s->p[k], cand[k]);
                }
        }
        return 0;
}

/* ---- Gaussian process with expected improvement ------------------------------------- */

/* A trial's point in [0,1]^d. */
static void unit_point(const Suggester *s, const double *x, double *u) {
        for (size_t k = 0; k < s->n; k++) {
                const SuggestParam *p = &s->p[k];
                if (is_categorical(p)) {
                        u[k] = p->n_values > 1 ? (double) category_of(p, x[k]) / (double) (p->n_values - 1) : 0.5;
                        continue;
                }
                double lo, hi;
                bounds(p, &lo, &hi);
                u[k] = hi > lo ? (to_internal(p, x[k]) - lo) / (hi - lo) : 0.5;
        }
}

static void from_unit(const Suggester *s, const double *u, double *x) {
        for (size_t k = 0; k < s->n; k++) {
                const SuggestParam *p = &s->p[k];
                if (is_categorical(p)) {
                        long i = lround(u[k] * (double) (p->n_values - 1));
                        x[k] = category_value(p, (size_t) (i < 0 ? 0 : i));
                        continue;
                }
                double lo, hi;
                bounds(p, &lo, &hi);
                x[k] = to_value(p, lo + u[k] * (hi - lo));
        }
}

static double matern52(const double *a, const double *b, size_t d, double ls) {
        double r2 = 0;
        for (size_t k = 0; k < d; k++)
                r2 += (a[k] - b[k]) * (a[k] - b[k]);
        double r = sqrt(r2) / ls, s5 = sqrt(5.0) * r;
        return (1 + s5 + 5.0 / 3.0 * r * r) * exp(-s5);
}

/* Cholesky of the n x n matrix K in place (lower); false if not positive definite. */
static bool cholesky(double *K, size_t n) {
        for (size_t j = 0; j < n; j++) {
                double s = K[j * n + j];
                for (size_t k = 0; k < j; k++)
                        s -= K[j * n + k] * K[j * n + k];
                if (s <= 0)
                        return false;
                K[j * n + j] = sqrt(s);
                for (size_t i = j + 1; i < n; i++) {
                        double t = K[i * n + j];
                        for (size_t k = 0; k < j; k++)
                                t -= K[i * n + k] * K[j * n + k];
                        K[i * n + j] = t / K[j * n + j];
                }
        }
        return true;
}

static void solve_lower(const double *L, size_t n, const double *b, double *x) {
        for (size_t i = 0; i < n; i++) {
                double s = b[i];
                for (size_t k = 0; k < i; k++)
                        s -= L[i * n + k] * x[k];
                x[i] = s / L[i * n + i];
        }
}

static void solve_upper_t(const double *L, size_t n, const double *b, double *x) {
        for (size_t i = n; i-- > 0;) {
                double s = b[i];
                for (size_t k = i + 1; k < n; k++)
                        s -= L[k * n + i] * x[k];
                x[i] = s / L[i * n + i];
        }
}

typedef struct Gp {
        size_t n, d;
        double ls;
        double *X, *L, *alpha, ybest;
} Gp;

/* Fits the GP (length scale by marginal likelihood over a small grid).
 * Returns 1, 0 when no length scale fits, or -ENOMEM (the caller's
 * gp_free() frees what was had). */
static int gp_fit(Gp *gp, const double *X, const double *y, size_t n, size_t d) {
        static const double scales[] = { 0.05, 0.1, 0.2, 0.35, 0.6, 1.0 };
        double best = -INFINITY;
        gp->n = n;
        gp->d = d;
        gp->X = malloc(n * d * sizeof(double));
        gp->L = malloc(n * n * sizeof(double));
        gp->alpha = malloc(n * sizeof(double));
        _cleanup_free_ double *K = malloc(n * n * sizeof(double)), *tmp = malloc(n * sizeof(double)),
                              *al = malloc(n * sizeof(double));
        if (!gp->X || !gp->L || !gp->alpha || !K || !tmp || !al)
                return -ENOMEM;
        memcpy(gp->X, X, n * d * sizeof(double));
        bool ok = false;
        for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++) {
                for (size_t i = 0; i < n; i++)
                        for (size_t j = 0; j < n; j++)
                                K[i * n + j] = matern52(&X[i * d], &X[j * d], d, scales[si]) + (i == j ? 1e-6 : 0);
                if (!cholesky(K, n))
                        continue;
                solve_lower(K, n, y, tmp);
                solve_upper_t(K, n, tmp, al);
                double ll = 0;
                for (size_t i = 0; i < n; i++)
                        ll -= 0.5 * y[i] * al[i] + log(K[i * n + i]);
                if (ll > best) {
                        best = ll;
                        gp->ls = scales[si];
                        memcpy(gp->L, K, n * n * sizeof(double));
                        memcpy(gp->alpha, al, n * sizeof(double));
                        ok = true;
                }
        }
        return ok;
}

static void gp_free(Gp *gp) {
        free(gp->X);
        free(gp->L);
        free(gp->alpha);
}

static double gp_ei(const Gp *gp, const double *u, double *kbuf, double *vbuf) {
        for (size_t i = 0; i < gp->n; i++)
                kbuf[i] = matern52(u, &gp->X[i * gp->d], gp->d, gp->ls);
        double mean = 0;
        for (size_t i = 0; i < gp->n; i++)
                mean += kbuf[i] * gp->alpha[i];
        solve_lower(gp->L, gp->n, kbuf, vbuf);
        double var = 1;
        for (size_t i = 0; i < gp->n; i++)
                var -= vbuf[i] * vbuf[i];
        double sd = sqrt(fmax(var, 1e-12));
        double imp = gp->ybest - mean - 0.01, z = imp / sd;
        return imp * norm_cdf(z) + sd * exp(-0.5 * z * z) / sqrt(2 * M_PI);
}

static int gp_suggest(Suggester *s, const SuggestTrial *trials, size_t n_trials, Rng *r, double *x) {
        size_t d = s->n, n = 0;
        _cleanup_free_ double *X = malloc((n_trials + 1) * d * sizeof(double)), *y = malloc((n_trials + 1) * sizeof(double));
        if (!X || !y)
                return -ENOMEM;
        for (size_t i = 0; i < n_trials && n < GP_MAX_OBS; i++)
                if (isfinite(trials[i].y)) {
                        unit_point(s, trials[i].x, &X[n * d]);
                        y[n++] = trials[i].y;
                }
        /* Standardised objective. */
        double mean = 0, var = 0;
        for (size_t i = 0; i < n; i++)
                mean += y[i] / (double) n;
        for (size_t i = 0; i < n; i++)
                var += (y[i] - mean) * (y[i] - mean) / (double) n;
        double sd = var > 0 ? sqrt(var) : 1;
        double ybest = INFINITY;
        size_t ibest = 0;
        for (size_t i = 0; i < n; i++) {
                y[i] = (y[i] - mean) / sd;
                if (y[i] < ybest) {
                        ybest = y[i];
                        ibest = i;
                }
        }
        _cleanup_(gp_free) Gp gp = {};
        int fit = gp_fit(&gp, X, y, n, d);
        if (fit < 0)
                return fit;
        if (fit == 0) {
                for (size_t k = 0; k < d; k++)
                        x[k] = sample_prior(&s->p[k], r);
                return 0;
        }
        gp.ybest = ybest;
        _cleanup_free_ double *kb = malloc(n * sizeof(double)), *vb = malloc(n * sizeof(double));
        if (!kb || !vb)
                return -ENOMEM;
        double u[SUGGEST_MAX_PARAMS], bestu[SUGGEST_MAX_PARAMS], best = -INFINITY;
        /* Random candidates, then perturbations around the best point and the best candidate. */
        for (size_t c = 0; c < GP_CANDIDATES; c++) {
                for (size_t k = 0; k < d; k++) {
                        if (c < GP_CANDIDATES * 2 / 3)
                                u[k] = uniform01(r);
                        else {
                                const double *centre = c < GP_CANDIDATES * 5 / 6 ? &X[ibest * d] : bestu;
                                double w = c < GP_CANDIDATES * 5 / 6 ? 0.1 : 0.03;
                                u[k] = fmin(1, fmax(0, centre[k] + w * normal01(r)));
                        }
                }
                double ei = gp_ei(&gp, u, kb, vb);
                if (ei > best) {
                        best = ei;
                        memcpy(bestu, u, d * sizeof(double));
                }
        }
        from_unit(s, bestu, x);
        return 0;
}



/* ---- CMA-ES ------------------------------------------------------------------------------- */

/* Eigen-decomposition of the symmetric n x n matrix A (row-major) by
 * Jacobi rotations: values in d, vectors in the columns of V. */
static int jacobi_eigen(const double *A, size_t n, double *d, double *V) {
        _cleanup_free_ double *a = malloc(n * n * sizeof(double));
        if (!a)
                return -ENOMEM;
        memcpy(a, A, n * n * sizeof(double));
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++)
                        V[i * n + j] = i == j;
        for (int sweep = 0; sweep < 100; sweep++) {
                double off = 0;
                for (size_t p = 0; p < n; p++)
                        for (size_t q = p + 1; q < n; q++)
                                off += a[p * n + q] * a[p * n + q];
                if (off < 1e-30)
                        break;
                for (size_t p = 0; p < n; p++)
                        for (size_t q = p + 1; q < n; q++) {
                                double apq = a[p * n + q];
                                if (fabs(apq) < 1e-300)
                                        continue;
                                double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                                double c = 1 / sqrt(t * t + 1), s = t * c;
                                for (size_t k = 0; k < n; k++) {
                                        double akp = a[k * n + p], akq = a[k * n + q];
                                        a[k * n + p] = c * akp - s * akq;
                                        a[k * n + q] = s * akp + c * akq;
                                }
                                for (size_t k = 0; k < n; k++) {
                                        double apk = a[p * n + k], aqk = a[q * n + k];
                                        a[p * n + k] = c * apk - s * aqk;
                                        a[q * n + k] = s * apk + c * aqk;
                                }
                                for (size_t k = 0; k < n; k++) {
                                        double vkp = V[k * n + p], vkq = V[k * n + q];
                                        V[k * n + p] = c * vkp - s * vkq;
                                        V[k * n + q] = s * vkp + c * vkq;
                                }
                        }
        }
        for (size_t i = 0; i < n; i++)
                d[i] = a[i * n + i];
        return 0;
}

typedef struct Cma {
        size_t n, lambda, mu;
        double w[64], mueff, cc, cs, c1, cmu, ds, chin, sigma;
        double m[SUGGEST_MAX_PARAMS], pc[SUGGEST_MAX_PARAMS], ps[SUGGEST_MAX_PARAMS];
        double C[SUGGEST_MAX_PARAMS * SUGGEST_MAX_PARAMS];
} Cma;

static size_t cma_lambda(size_t n) {
        return 4 + (size_t) floor(3 * log((double) n));
}

static void cma_init(Cma *c, size_t n, double sigma0) {
        memset(c, 0, sizeof *c);
        c->n = n;
        c->lambda = cma_lambda(n);
        c->mu = c->lambda / 2;
        double sum = 0, sq = 0;
        for (size_t i = 0; i < c->mu; i++) {
                c->w[i] = log((double) c->mu + 0.5) - log((double) i + 1);
                sum += c->w[i];
        }
        for (size_t i = 0; i < c->mu; i++) {
                c->w[i] /= sum;
                sq += c->w[i] * c->w[i];
        }
        double N = (double) n;
        c->mueff = 1 / sq;
        c->cc = (4 + c->mueff / N) / (N + 4 + 2 * c->mueff / N);
        c->cs = (c->mueff + 2) / (N + c->mueff + 5);
        c->c1 = 2 / ((N + 1.3) * (N + 1.3) + c->mueff);
        c->cmu = fmin(1 - c->c1, 2 * (c->mueff - 2 + 1 / c->mueff) / ((N + 2) * (N + 2) + c->mueff));
        c->ds = 1 + 2 * fmax(0, sqrt((c->mueff - 1) / (N + 1)) - 1) + c->cs;
        c->chin = sqrt(N) * (1 - 1 / (4 * N) + 1 / (21 * N * N));
        c->sigma = sigma0;
        for (size_t i = 0; i < n; i++) {
                c->m[i] = 0.5;
                c->C[i * n + i] = 1;
        }
}

/* The generation's lambda points in [0,1]^n (out-of-range draws are drawn again, then clipped). */
static int cma_sample(const Cma *c, Rng *r, double *pts) {
        size_t n = c->n;
        _cleanup_free_ double *B = malloc(n * n * sizeof(double));
        double d[SUGGEST_MAX_PARAMS];
        if (!B || jacobi_eigen(c->C, n, d, B) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                d[i] = sqrt(fmax(d[i], 1e-20));
        for (size_t k = 0; k < c->lambda; k++) {
                double *x = &pts[k * n];
                for (int tries = 0; tries < 100; tries++) {
                        double z[SUGGEST_MAX_PARAMS];
                        for (size_t i = 0; i < n; i++)
                                z[i] = d[i] * normal01(r);
                        bool inside = true;
                        for (size_t i = 0; i < n; i++) {
                                double y = 0;
                                for (size_t j = 0; j < n; j++)
                                        y += B[i * n + j] * z[j];
                                x[i] = c->m[i] + c->sigma * y;
                                inside = inside && x[i] >= 0 && x[i] <= 1;
                        }
                        if (inside)
                                break;
                }
                for (size_t i = 0; i < n; i++)
                        x[i] = fmin(1, fmax(0, x[i]));
        }
        return 0;
}

static int cmp_pair(const void *a, const void *b) {
        const double *x = a, *y = b;
        return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* One generation's update from its points (in [0,1]^n) and values. */
static int cma_update(Cma *c, const double *pts, const double *vals) {
        size_t n = c->n, lam = c->lambda;
        double order[64][2], old[SUGGEST_MAX_PARAMS];
        for (size_t k = 0; k < lam; k++) {
                order[k][0] = vals[k];
                order[k][1] = (double) k;
        }
        qsort(order, lam, sizeof order[0], cmp_pair);
        memcpy(old, c->m, sizeof old);
        for (size_t i = 0; i < n; i++) {
                c->m[i] = 0;
                for (size_t k = 0; k < c->mu; k++)
                        c->m[i] += c->w[k] * pts[(size_t) order[k][1] * n + i];
        }
        /* C^(-1/2) (m - old) / sigma, through the eigen-decomposition */
        _cleanup_free_ double *B = malloc(n * n * sizeof(double));
        double d[SUGGEST_MAX_PARAMS], y[SUGGEST_MAX_PARAMS], t[SUGGEST_MAX_PARAMS];
        if (!B || jacobi_eigen(c->C, n, d, B) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                y[i] = (c->m[i] - old[i]) / c->sigma;
        for (size_t j = 0; j < n; j++) {
                t[j] = 0;
                for (size_t i = 0; i < n; i++)
                        t[j] += B[i * n + j] * y[i];
                t[j] /= sqrt(fmax(d[j], 1e-20));
        }
        double norm = 0;
        for (size_t i = 0; i < n; i++) {
                double s = 0;
                for (size_t j = 0; j < n; j++)
                        s += B[i * n + j] * t[j];
                c->ps[i] = (1 - c->cs) * c->ps[i] + sqrt(c->cs * (2 - c->cs) * c->mueff) * s;
                norm += c->ps[i] * c->ps[i];
        }
        norm = sqrt(norm);
        bool hs = norm / sqrt(1 - pow(1 - c->cs, 2.0 * 1)) / c->chin < 1.4 + 2 / ((double) n + 1);
        for (size_t i = 0; i < n; i++)
                c->pc[i] = (1 - c->cc) * c->pc[i] + (hs ? sqrt(c->cc * (2 - c->cc) * c->mueff) * y[i] : 0);
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++) {
                        double rank_mu = 0;
                        for (size_t k = 0; k < c->mu; k++) {
                                size_t idx = (size_t) order[k][1];
                                rank_mu += c->w[k] * (pts[idx * n + i] - old[i]) / c->sigma * (pts[idx * n + j] - old[j]) /
                                           c->sigma;
                        }
                        c->C[i * n + j] = (1 - c->c1 - c->cmu) * c->C[i * n + j] +
                                          c->c1 * (c->pc[i] * c->pc[j] + (hs ? 0 : c->cc * (2 - c->cc) * c->C[i * n + j])) +
                                          c->cmu * rank_mu;
                }
        c->sigma *= exp((c->cs / c->ds) * (norm / c->chin - 1));
        c->sigma = fmin(c->sigma, 1.0);
        return 0;
}

/* Trial index is member index % lambda of generation index / lambda; the
 * state comes from replaying the earlier generations, each drawn from its
 * own seeded generator.  -EAGAIN while an earlier generation still runs. */
static int cma_suggest(Suggester *s, const SuggestTrial *trials, size_t n_trials, size_t index, double *x) {
        size_t n = s->n;
        _cleanup_free_ Cma *c = malloc(sizeof *c);
        if (!c)
                return -ENOMEM;
        cma_init(c, n, s->sigma0);
        size_t lam = c->lambda, gen = index / lam;
        _cleanup_free_ double *pts = malloc(lam * n * sizeof(double)), *vals = malloc(lam * sizeof(double));
        if (!pts || !vals)
                return -ENOMEM;
        for (size_t g = 0; g <= gen; g++) {
                Rng r;
                rng_seed(&r, s->random_state, 0x10000000ULL + g);
                if (cma_sample(c, &r, pts) < 0)
                        return -ENOMEM;
                if (g == gen)
                        break;
                double worst = -INFINITY;
                bool pending = false;
                for (size_t k = 0; k < lam; k++) {
                        size_t t = g * lam + k;
                        if (t >= n_trials || isnan(trials[t].y)) {
                                /* failed trials count as the worst; running ones make us wait */
                                pending = pending || t >= n_trials || trials[t].pending;
                                vals[k] = NAN;
                                continue;
                        }
                        vals[k] = trials[t].y;
                        worst = fmax(worst, vals[k]);
                        unit_point(s, trials[t].x, &pts[k * n]);
                }
                if (pending)
                        return -EAGAIN;
                for (size_t k = 0; k < lam; k++)
                        if (isnan(vals[k]))
                                vals[k] = isfinite(worst) ? worst + 1 : 1e300;
                if (cma_update(c, pts, vals) < 0)
                        return -ENOMEM;
        }
        from_unit(s, &pts[(index % lam) * n], x);
        return 0;
}


/* ---- Hyperband ------------------------------------------------------------------------------ */

static int cmp_y_idx(const void *a, const void *b, void *arg) {
        const SuggestTrial *t = arg;
        double x = t[*(const size_t *) a].y, y = t[*(const size_t *) b].y;
        bool xn = isnan(x), yn = isnan(y);
        if (xn || yn)
                return xn - yn; /* no result: last */
        return x < y ? -1 : x > y;
}

/* Li et al.'s schedule: brackets s = s_max..0, each successive halving
 * from n configurations at resource r_l * eta^-s, keeping the best 1/eta
 * at each rung with eta times the resource.  A rung's configurations are
 * random (rung 0) or the best of the rung before (which must have ended). */
static int hyperband_suggest(Suggester *s, const SuggestTrial *trials, size_t n_trials, size_t index, double *x) {
        const SuggestParam *rp = &s->p[s->resource];
        double eta = s->eta, rl = s->r_l;
        int s_max = (int) floor(log(rl) / log(eta) + 1e-9);
        double B = (s_max + 1) * rl;
        size_t pos = 0;
        for (int b = s_max; b >= 0; b--) {
                double n = ceil(B / rl * pow(eta, b) / (b + 1)), r = rl * pow(eta, -b);
                size_t prev_start = 0, prev_count = 0;
                for (int i = 0; i <= b; i++) {
                        size_t ni = (size_t) floor(n * pow(eta, -i) + 1e-9);
                        double ri = r * pow(eta, i);
                        if (ni == 0)
                                break;
                        if (index < pos + ni) {
                                size_t j = index - pos;
                                if (i == 0) {
                                        Rng g;
                                        rng_seed(&g, s->random_state, index);
                                        for (size_t k = 0; k < s->n; k++)
                                                x[k] = sample_prior(&s->p[k], &g);
                                } else {
                                        _cleanup_free_ size_t *order = calloc(prev_count, sizeof(size_t));
                                        if (!order)
                                                return -ENOMEM;
                                        for (size_t k = 0; k < prev_count; k++) {
                                                size_t t = prev_start + k;
                                                if (t >= n_trials || trials[t].pending)
                                                        return -EAGAIN;
                                                order[k] = t;
                                        }
                                        qsort_r(order, prev_count, sizeof(size_t), cmp_y_idx, (void *) trials);
                                        memcpy(x, trials[order[j < prev_count ? j : prev_count - 1]].x,
                                               s->n * sizeof(double));
                                }
                                double lo, hi;
                                bounds(rp, &lo, &hi);
                                x[s->resource] = to_value(rp, to_internal(rp, fmin(rp->max, fmax(rp->min, ri))));
                                return 0;
                        }
                        prev_start = pos;
                        prev_count = ni;
                        pos += ni;
                }
        }
        return -ENOSPC;
}

/* ---- Sobol -------------------------------------------------------------------------------- */

/* Joe and Kuo's direction numbers (new-joe-kuo-6.21201, as SciPy ships
 * them) for the first 32 dimensions: the primitive polynomial (with its
 * leading and trailing 1) and the initial m values. */
static const uint32_t sobol_poly[SUGGEST_MAX_PARAMS] = { 1, 3, 7, 11, 13, 19, 25, 37, 41, 47, 55, 59, 61, 67, 91, 97, 103, 109, 115, 131, 137, 143, 145, 157, 167, 171, 185, 191, 193, 203, 211, 213 };
static const uint32_t sobol_m[SUGGEST_MAX_PARAMS][8] = {
        { 1, 0, 0, 0, 0, 0, 0, 0 },
        { 1, 0, 0, 0, 0, 0, 0, 0 },
        { 1, 3, 0, 0, 0, 0, 0, 0 },
        { 1, 3, 1, 0, 0, 0, 0, 0 },
        { 1, 1, 1, 0, 0, 0, 0, 0 },
        { 1, 1, 3, 3, 0, 0, 0, 0 },
        { 1, 3, 5, 13, 0, 0, 0, 0 },
        { 1, 1, 5, 5, 17, 0, 0, 0 },
        { 1, 1, 5, 5, 5, 0, 0, 0 },
        { 1, 1, 7, 11, 19, 0, 0, 0 },
        { 1, 1, 5, 1, 1, 0, 0, 0 },
        { 1, 1, 1, 3, 11, 0, 0, 0 },
        { 1, 3, 5, 5, 31, 0, 0, 0 },
        { 1, 3, 3, 9, 7, 49, 0, 0 },
        { 1, 1, 1, 15, 21, 21, 0, 0 },
        { 1, 3, 1, 13, 27, 49, 0, 0 },
        { 1, 1, 1, 15, 7, 5, 0, 0 },
        { 1, 3, 1, 15, 13, 25, 0, 0 },
        { 1, 1, 5, 5, 19, 61, 0, 0 },
        { 1, 3, 7, 11, 23, 15, 103, 0 },
        { 1, 3, 7, 13, 13, 15, 69, 0 },
        { 1, 1, 3, 13, 7, 35, 63, 0 },
        { 1, 3, 5, 9, 1, 25, 53, 0 },
        { 1, 3, 1, 13, 9, 35, 107, 0 },
        { 1, 3, 1, 5, 27, 61, 31, 0 },
        { 1, 1, 5, 11, 19, 41, 61, 0 },
        { 1, 3, 5, 3, 3, 13, 69, 0 },
        { 1, 1, 7, 13, 1, 19, 1, 0 },
        { 1, 3, 7, 5, 13, 19, 59, 0 },
        { 1, 1, 3, 9, 25, 29, 41, 0 },
        { 1, 3, 5, 13, 23, 1, 55, 0 },
        { 1, 3, 7, 3, 13, 59, 17, 0 },
};

static void sobol_directions(size_t dim, uint32_t v[32]) {
        if (dim == 0) {
                for (int k = 0; k < 32; k++)
                        v[k] = 1u << (31 - k);
                return;
        }
        uint32_t poly = sobol_poly[dim];
        int s = 0;
        while ((poly >> (s + 1)) != 0)
                s++;
        uint32_t a = (poly >> 1) & ((1u << (s - 1)) - 1); /* the middle coefficients */
        for (int k = 0; k < s && k < 32; k++)
                v[k] = sobol_m[dim][k] << (31 - k);
        for (int k = s; k < 32; k++) {
                uint32_t x = v[k - s] ^ (v[k - s] >> s);
                for (int l = 1; l < s; l++)
                        if ((a >> (s - 1 - l)) & 1)
                                x ^= v[k - l];
                v[k] = x;
        }
}

/* Point number index + 1 of the Sobol sequence (the first, all zeros, is skipped). */
static void sobol_point(const Suggester *s, size_t index, double *u) {
        uint64_t i = (uint64_t) index + 1, gray = i ^ (i >> 1);
        for (size_t k = 0; k < s->n; k++) {
                uint32_t v[32], x = 0;
                sobol_directions(k, v);
                for (int b = 0; b < 32; b++)
                        if ((gray >> b) & 1)
                                x ^= v[b];
                u[k] = (double) x / 4294967296.0;
        }
}

/* ---- the interface ------------------------------------------------------------------- */

static bool setting_number(json_t *settings, const char *name, double *ret, bool *bad) {
        json_t *s;
        size_t i;
        json_array_foreach(settings, i, s) {
                const char *n = json_string_value(json_object_get(s, "name"));
                const char *v = json_string_value(json_object_get(s, "value"));
                if (n && strcmp(n, name) == 0 && v) {
                        char *end;
                        *ret = strtod(v, &end);
                        if (*end || end == v)
                                *bad = true;
                        return !*bad;
                }
        }
        return false;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Suggester *, suggest_free);

int suggest_new(const char *algorithm, json_t *settings, const SuggestParam *params, size_t n_params, Suggester **ret,
                char *err, size_t errsz) {
        static const struct {
                const char *name;
                Algorithm alg;
        } names[] = { { "random", ALG_RANDOM }, { "grid", ALG_GRID }, { "tpe", ALG_TPE },
                      { "multivariate-tpe", ALG_MTPE }, { "bayesianoptimization", ALG_GP }, { "sobol", ALG_SOBOL },
                      { "cmaes", ALG_CMAES }, { "hyperband", ALG_HYPERBAND } };
        if (n_params == 0 || n_params > SUGGEST_MAX_PARAMS) {
                snprintf(err, errsz, "an experiment has 1 to %d parameters, not %zu", SUGGEST_MAX_PARAMS, n_params);
                return -EINVAL;
        }
        _cleanup_(suggest_freep) Suggester *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        bool found = false;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (algorithm && strcmp(names[i].name, algorithm) == 0) {
                        s->alg = names[i].alg;
                        found = true;
                }
        if (!found) {
                snprintf(err, errsz, "'%s' is not an algorithm sdflow has", algorithm ?: "");
                return -EINVAL;
        }
        memcpy(s->p, params, n_params * sizeof *params);
        s->n = n_params;
        double v;
        bool bad = false;
        s->random_state = setting_number(settings, "random_state", &v, &bad) ? (uint64_t) v : 0;
        /* Random trials before the model: Optuna's 10 for multivariate-tpe;
         * 7 for tpe, which did better on bench/tuning's Branin and Hartmann-6
         * over 20 and 100 seeds (chosen on that benchmark: see bench/README). */
        s->n_startup = setting_number(settings, "n_startup_trials", &v, &bad) ? (size_t) v : s->alg == ALG_TPE ? 7 : 10;
        s->n_candidates = setting_number(settings, "n_ei_candidates", &v, &bad) ? (size_t) v
                          : setting_number(settings, "n_EI_candidates", &v, &bad) ? (size_t) v
                                                                                  : 24;
        s->prior_weight = setting_number(settings, "prior_weight", &v, &bad) ? v : 1.0;
        s->n_initial = setting_number(settings, "n_initial_points", &v, &bad) ? (size_t) v : 10;
        s->sigma0 = setting_number(settings, "sigma", &v, &bad) ? v : 1.0 / 6;
        if (s->alg == ALG_HYPERBAND) {
                const char *rname = NULL;
                json_t *x;
                size_t i;
                json_array_foreach(settings, i, x)
                        if (strcmp(json_string_value(json_object_get(x, "name")) ?: "", "resource_name") == 0)
                                rname = json_string_value(json_object_get(x, "value"));
                bool have = false;
                for (size_t k = 0; rname && k < n_params; k++)
                        if (strcmp(params[k].name, rname) == 0 &&
                            (params[k].type == SUGGEST_INT || params[k].type == SUGGEST_DOUBLE)) {
                                s->resource = k;
                                have = true;
                        }
                if (!have) {
                        snprintf(err, errsz, "hyperband: resource_name must name an int or double parameter (got '%s')",
                                 rname ?: "");
                        return -EINVAL;
                }
                s->eta = setting_number(settings, "eta", &v, &bad) ? v : 3;
                s->r_l = setting_number(settings, "r_l", &v, &bad) ? v : params[s->resource].max;
                if (bad || s->eta <= 1 || s->r_l < 1) {
                        snprintf(err, errsz, "hyperband: eta must be > 1 and r_l >= 1");
                        return -EINVAL;
                }
        }
        if (s->alg == ALG_CMAES && (s->sigma0 <= 0 || s->sigma0 > 1)) {
                snprintf(err, errsz, "cmaes: sigma is the initial step as a fraction of each range, in (0, 1]");
                return -EINVAL;
        }
        if (bad || s->n_candidates == 0 || s->prior_weight <= 0) {
                snprintf(err, errsz, "a setting of %s is not a number in its range", algorithm);
                return -EINVAL;
        }
        for (size_t k = 0; k < n_params; k++) {
                const SuggestParam *p = &params[k];
                if (s->alg == ALG_CMAES && is_categorical(p)) {
                        snprintf(err, errsz, "cmaes cannot search the %s parameter '%s' (only double and int)",
                                 p->type == SUGGEST_DISCRETE ? "discrete" : "categorical", p->name);
                        return -EINVAL;
                }
                if (s->alg == ALG_GRID && p->type == SUGGEST_DOUBLE && p->step <= 0) {
                        snprintf(err, errsz, "grid needs a step for the double parameter '%s'", p->name);
                        return -EINVAL;
                }
                if (is_categorical(p) && (p->n_values == 0 || p->n_values > SUGGEST_MAX_VALUES)) {
                        snprintf(err, errsz, "parameter '%s' has %zu values (1 to %d)", p->name, p->n_values,
                                 SUGGEST_MAX_VALUES);
                        return -EINVAL;
                }
        }
        *ret = TAKE_PTR(s);
        return 0;
}

Suggester *suggest_free(Suggester *s) {
        free(s);
        return NULL;
}

int suggest_next(Suggester *s, const SuggestTrial *trials, size_t n_trials, size_t index, double *x) {
        Rng r;
        rng_seed(&r, s->random_state, index);
        if (s->alg == ALG_GRID)
                return grid_point(s, index, x);
        if (s->alg == ALG_CMAES)
                return cma_suggest(s, trials, n_trials, index, x);
        if (s->alg == ALG_HYPERBAND)
                return hyperband_suggest(s, trials, n_trials, index, x);
        if (s->alg == ALG_SOBOL) {
                double u[SUGGEST_MAX_PARAMS];
                sobol_point(s, index, u);
                from_unit(s, u, x);
                return 0;
        }
        size_t done = 0;
        for (size_t i = 0; i < n_trials; i++)
                done += isfinite(trials[i].y);
        if (s->alg == ALG_RANDOM || ((s->alg == ALG_TPE || s->alg == ALG_MTPE) && done < s->n_startup) ||
            (s->alg == ALG_GP && done < s->n_initial)) {
                for (size_t k = 0; k < s->n; k++)
                        x[k] = sample_prior(&s->p[k], &r);
                return 0;
        }
        if (s->alg == ALG_GP)
                return gp_suggest(s, trials, n_trials, &r, x);
        _cleanup_(split_free) Split sp = {};
        if (split(trials, n_trials, &sp) < 0)
                return -ENOMEM;
        if (s->alg == ALG_TPE)
                return tpe_univariate(s, &sp, &r, x);
        return tpe_multivariate(s, &sp, &r, x);
}

int suggest_params_from_spec(json_t *parameters, SuggestParam *params, size_t max, char *err, size_t errsz) {
        json_t *p;
        size_t i;
        if (json_array_size(parameters) > max) {
                snprintf(err, errsz, "at most %zu parameters", max);
                return -EINVAL;
        }
        json_array_foreach(parameters, i, p) {
                SuggestParam *sp = &params[i];
                json_t *fs = json_object_get(p, "feasibleSpace");
                const char *type = json_string_value(json_object_get(p, "parameterType")) ?: "";
                const char *dist = json_string_value(json_object_get(fs, "distribution")) ?: "uniform";
                memset(sp, 0, sizeof *sp);
                snprintf(sp->name, sizeof sp->name, "%s", json_string_value(json_object_get(p, "name")) ?: "");
                sp->type = strcmp(type, "double") == 0 ? SUGGEST_DOUBLE
                           : strcmp(type, "int") == 0 ? SUGGEST_INT
                           : strcmp(type, "discrete") == 0 ? SUGGEST_DISCRETE
                                                           : SUGGEST_CATEGORICAL;
                sp->dist = strcmp(dist, "logUniform") == 0 ? SUGGEST_LOG_UNIFORM
                           : strcmp(dist, "normal") == 0 ? SUGGEST_NORMAL
                           : strcmp(dist, "logNormal") == 0 ? SUGGEST_LOG_NORMAL
                                                            : SUGGEST_UNIFORM;
                const char *mn = json_string_value(json_object_get(fs, "min"));
                const char *mx = json_string_value(json_object_get(fs, "max"));
                const char *st = json_string_value(json_object_get(fs, "step"));
                sp->min = mn ? strtod(mn, NULL) : 0;
                sp->max = mx ? strtod(mx, NULL) : 0;
                sp->step = st ? strtod(st, NULL) : 0;
                json_t *list = json_object_get(fs, "list"), *v;
                size_t j;
                if (sp->type == SUGGEST_DISCRETE || sp->type == SUGGEST_CATEGORICAL) {
                        if (json_array_size(list) == 0 || json_array_size(list) > SUGGEST_MAX_VALUES) {
                                snprintf(err, errsz, "parameter '%s' needs 1 to %d values", sp->name, SUGGEST_MAX_VALUES);
                                return -EINVAL;
                        }
                        sp->n_values = json_array_size(list);
                        json_array_foreach(list, j, v)
                                sp->values[j] = json_is_string(v) ? strtod(json_string_value(v), NULL) : 0;
                } else if (!mn || !mx || sp->min > sp->max) {
                        snprintf(err, errsz, "parameter '%s' needs min <= max", sp->name);
                        return -EINVAL;
                }
        }
        return (int) json_array_size(parameters);
}

void suggest_format(const SuggestParam *p, double v, json_t *parameter_spec, char *buf, size_t size) {
        if (p->type == SUGGEST_CATEGORICAL) {
                json_t *list = json_object_get(json_object_get(parameter_spec, "feasibleSpace"), "list");
                snprintf(buf, size, "%s", json_string_value(json_array_get(list, category_of(p, v))) ?: "");
                return;
        }
        if (p->type == SUGGEST_DISCRETE) {
                json_t *list = json_object_get(json_object_get(parameter_spec, "feasibleSpace"), "list");
                snprintf(buf, size, "%s", json_string_value(json_array_get(list, category_of(p, v))) ?: "");
                return;
        }
        if (p->type == SUGGEST_INT) {
                snprintf(buf, size, "%lld", (long long) llround(v));
                return;
        }
        snprintf(buf, size, "%.17g", v);
        /* the shortest text that reads back the same */
        for (int prec = 6; prec <= 17; prec++) {
                char t[64];
                snprintf(t, sizeof t, "%.*g", prec, v);
                if (strtod(t, NULL) == v) {
                        snprintf(buf, size, "%s", t);
                        break;
                }
        }
}
