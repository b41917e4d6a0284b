/* test-suggest.c: the search algorithms: spaces, reproducibility, the
 * grid, and that the model-based ones find more than random search. */
#include <errno.h>
#include <jansson.h>
#include <math.h>

#include "suggest.h"
#include "test.h"

static int cmp_num(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static SuggestParam dbl(const char *name, double lo, double hi) {
        SuggestParam p = { .type = SUGGEST_DOUBLE, .min = lo, .max = hi };
        snprintf(p.name, sizeof p.name, "%s", name);
        return p;
}

static Suggester *make(const char *alg, const SuggestParam *p, size_t n, unsigned seed) {
        char rs[16], err[256];
        snprintf(rs, sizeof rs, "%u", seed);
        json_t *settings = json_pack("[{s:s, s:s}]", "name", "random_state", "value", rs);
        Suggester *s = NULL;
        if (suggest_new(alg, settings, p, n, &s, err, sizeof err) < 0)
                fprintf(stderr, "%s: %s\n", alg, err);
        json_decref(settings);
        return s;
}

/* (x-0.3)^2 + (y+1)^2 on [-5,5]^2: the best of 40 trials. */
static double quad_best(const char *alg, unsigned seed) {
        SuggestParam p[2] = { dbl("x", -5, 5), dbl("y", -5, 5) };
        Suggester *s = make(alg, p, 2, seed);
        SuggestTrial t[40];
        double best = INFINITY;
        for (size_t i = 0; i < 40; i++) {
                suggest_next(s, t, i, i, t[i].x);
                t[i].y = (t[i].x[0] - 0.3) * (t[i].x[0] - 0.3) + (t[i].x[1] + 1) * (t[i].x[1] + 1);
                best = fmin(best, t[i].y);
        }
        suggest_free(s);
        return best;
}

int main(void) {
        char err[256];
        /* Spaces: ints on their step, log-uniform inside, categoricals as indices. */
        SuggestParam p[4] = { dbl("lr", 0.001, 0.1) };
        p[0].dist = SUGGEST_LOG_UNIFORM;
        p[1] = (SuggestParam) { .name = "layers", .type = SUGGEST_INT, .min = 2, .max = 10, .step = 2 };
        p[2] = (SuggestParam) { .name = "opt", .type = SUGGEST_CATEGORICAL, .n_values = 3 };
        p[3] = (SuggestParam) { .name = "batch", .type = SUGGEST_DISCRETE, .n_values = 3, .values = { 16, 32, 64 } };
        Suggester *s = make("random", p, 4, 7);
        bool ok = true, small_lr = false;
        for (size_t i = 0; i < 200; i++) {
                double x[4];
                CHECK(suggest_next(s, NULL, 0, i, x) == 0);
                ok = ok && x[0] >= 0.001 && x[0] <= 0.1 && fmod(x[1], 2) == 0 && x[1] >= 2 && x[1] <= 10 &&
                     (x[2] == 0 || x[2] == 1 || x[2] == 2) && (x[3] == 16 || x[3] == 32 || x[3] == 64);
                small_lr = small_lr || x[0] < 0.01; /* log-uniform: a third of the draws are below 0.01 */
        }
        CHECK(ok);
        CHECK(small_lr);
        /* Reproducible: the same random_state and index, the same proposal, in any order. */
        double a[4], b[4], c[4];
        suggest_next(s, NULL, 0, 5, a);
        suggest_next(s, NULL, 0, 9, c);
        suggest_next(s, NULL, 0, 5, b);
        CHECK(memcmp(a, b, sizeof a) == 0);
        CHECK(memcmp(a, c, sizeof a) != 0);
        suggest_free(s);
        Suggester *s2 = make("random", p, 4, 8);
        suggest_next(s2, NULL, 0, 5, b);
        CHECK(memcmp(a, b, sizeof a) != 0);
        suggest_free(s2);

        /* Grid: every point once, the last parameter fastest, then the end. */
        SuggestParam g[2] = { { .name = "a", .type = SUGGEST_INT, .min = 1, .max = 3 },
                              { .name = "b", .type = SUGGEST_DOUBLE, .min = 0, .max = 0.5, .step = 0.25 } };
        s = make("grid", g, 2, 0);
        double x[2];
        CHECK(suggest_next(s, NULL, 0, 0, x) == 0 && x[0] == 1 && x[1] == 0);
        CHECK(suggest_next(s, NULL, 0, 1, x) == 0 && x[0] == 1 && x[1] == 0.25);
        CHECK(suggest_next(s, NULL, 0, 3, x) == 0 && x[0] == 2 && x[1] == 0);
        CHECK(suggest_next(s, NULL, 0, 8, x) == 0 && x[0] == 3 && x[1] == 0.5);
        CHECK_EQ_INT(suggest_next(s, NULL, 0, 9, x), -ENOSPC);
        suggest_free(s);
        SuggestParam nostep = dbl("c", 0, 1);
        Suggester *bad = NULL;
        CHECK(suggest_new("grid", NULL, &nostep, 1, &bad, err, sizeof err) == -EINVAL && strstr(err, "needs a step"));
        CHECK(suggest_new("annealing", NULL, &nostep, 1, &bad, err, sizeof err) == -EINVAL);
        CHECK(suggest_new("hyperband", NULL, &nostep, 1, &bad, err, sizeof err) == -EINVAL && strstr(err, "resource_name"));

        /* The model-based searches beat random search on a smooth bowl (20 seeds, deterministic). */
        double r = 0, t = 0, m = 0, gp = 0, cm = 0;
        for (unsigned seed = 0; seed < 20; seed++) {
                r += quad_best("random", seed) / 20;
                t += quad_best("tpe", seed) / 20;
                m += quad_best("multivariate-tpe", seed) / 20;
                gp += quad_best("bayesianoptimization", seed) / 20;
                cm += quad_best("cmaes", seed) / 20;
        }
        printf("best of 40 on the bowl: random %.4f, tpe %.4f, multivariate-tpe %.4f, bayesianoptimization %.5f, "
               "cmaes %.4f\n", r, t, m, gp, cm);
        CHECK(t < r && m < r && gp < r && cm < r);

        /* CMA-ES works a generation at a time: the next waits for the last's results. */
        SuggestParam two[2] = { dbl("x", -5, 5), dbl("y", -5, 5) };
        s = make("cmaes", two, 2, 3);
        SuggestTrial h[12];
        for (size_t i = 0; i < 6; i++) { /* lambda = 4 + floor(3 ln 2) = 6 */
                CHECK(suggest_next(s, h, i, i, h[i].x) == 0);
                h[i].y = NAN;
                h[i].pending = true;
        }
        CHECK_EQ_INT(suggest_next(s, h, 6, 6, x), -EAGAIN);
        for (size_t i = 0; i < 6; i++) {
                h[i].y = h[i].x[0] * h[i].x[0] + h[i].x[1] * h[i].x[1];
                h[i].pending = false;
        }
        CHECK(suggest_next(s, h, 6, 6, x) == 0);
        suggest_free(s);
        SuggestParam cat = { .name = "c", .type = SUGGEST_CATEGORICAL, .n_values = 2 };
        CHECK(suggest_new("cmaes", NULL, &cat, 1, &bad, err, sizeof err) == -EINVAL && strstr(err, "cannot search"));
        CHECK(gp < 0.05); /* a Gaussian process finds the bowl's bottom: random search is 70x further */

        /* Sobol: SciPy's unscrambled points (qmc.Sobol(d=3, scramble=False)), from the second. */
        SuggestParam u3[3] = { dbl("a", 0, 1), dbl("b", 0, 1), dbl("c", 0, 1) };
        s = make("sobol", u3, 3, 0);
        static const double want[7][3] = { { .5, .5, .5 },        { .75, .25, .25 },      { .25, .75, .75 },
                                           { .375, .375, .625 }, { .875, .875, .125 }, { .625, .125, .875 },
                                           { .125, .625, .375 } };
        bool same = true;
        for (size_t i = 0; i < 7; i++) {
                double y[3];
                suggest_next(s, NULL, 0, i, y);
                for (int k = 0; k < 3; k++)
                        same = same && fabs(y[k] - want[i][k]) < 1e-12;
        }
        CHECK(same);
        suggest_free(s);

        /* Hyperband, eta 3, r_l 9 (epochs 1..9): brackets of 9x1 -> 3x3 -> 1x9, 5x3 -> 1x9, 3x9 trials;
         * promoted configurations are the best of their rung, with three times the epochs. */
        SuggestParam hb[2] = { { .name = "epochs", .type = SUGGEST_INT, .min = 1, .max = 9 }, dbl("lr", 0, 1) };
        json_t *hs = json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "resource_name", "value", "epochs", "name", "eta", "value", "3");
        CHECK(suggest_new("hyperband", hs, hb, 2, &s, err, sizeof err) == 0);
        json_decref(hs);
        SuggestTrial ht[40];
        size_t nt = 0;
        int rr;
        while ((rr = suggest_next(s, ht, nt, nt, ht[nt].x)) != -ENOSPC && nt < 40) {
                if (rr == -EAGAIN) { /* finish what runs, in order */
                        for (size_t i = 0; i < nt; i++)
                                ht[i].pending = false;
                        continue;
                }
                ht[nt].y = ht[nt].x[1] / ht[nt].x[0]; /* better with more epochs and a smaller lr */
                ht[nt].pending = true;
                nt++;
        }
        CHECK_EQ_INT(nt, 9 + 3 + 1 + 5 + 1 + 3);
        CHECK(ht[0].x[0] == 1 && ht[8].x[0] == 1 && ht[9].x[0] == 3 && ht[12].x[0] == 9 && ht[13].x[0] == 3 &&
              ht[19].x[0] == 9);
        /* rung 1 of bracket 0 holds the three smallest lr of rung 0 */
        double lrs[9];
        for (int i = 0; i < 9; i++)
                lrs[i] = ht[i].x[1];
        qsort(lrs, 9, sizeof(double), cmp_num);
        CHECK(ht[9].x[1] == lrs[0] && ht[10].x[1] == lrs[1] && ht[11].x[1] == lrs[2]);
        CHECK(ht[12].x[1] == lrs[0]);
        suggest_free(s);

        /* Values as Katib writes them. */
        char buf[64];
        suggest_format(&p[1], 4, NULL, buf, sizeof buf);
        CHECK_STREQ(buf, "4");
        suggest_format(&p[0], 0.01, NULL, buf, sizeof buf);
        CHECK_STREQ(buf, "0.01");
        json_t *spec = json_pack("{s:{s:[s,s,s]}}", "feasibleSpace", "list", "sgd", "adam", "ftrl");
        suggest_format(&p[2], 1, spec, buf, sizeof buf);
        CHECK_STREQ(buf, "adam");
        json_decref(spec);
        printf("test-suggest: %d checks, %d failed\n", test_checks, test_failures);
        return test_failures ? 1 : 0;
}
