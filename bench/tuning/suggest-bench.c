/* suggest-bench.c: sdflow's search algorithms (lib/model/suggest.c) on Branin and
 * the 6-D Hartmann function: the best value found in TRIALS trials, for
 * SEEDS seeds (random_state 0..SEEDS-1), and the time to propose a trial.
 *   suggest-bench ALGORITHM FUNCTION TRIALS SEEDS [SETTING=VALUE]...
 * prints one line: algorithm function mean sd min max propose_us_mean propose_us_at_last */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "suggest.h"

static double branin(const double *x) {
        double a = 1, b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, r = 6, s = 10, t = 1 / (8 * M_PI);
        double y = x[1] - b * x[0] * x[0] + c * x[0] - r;
        return a * y * y + s * (1 - t) * cos(x[0]) + s;
}

static double hartmann6(const double *x) {
        static const double al[4] = { 1.0, 1.2, 3.0, 3.2 };
        static const double A[4][6] = { { 10, 3, 17, 3.5, 1.7, 8 }, { 0.05, 10, 17, 0.1, 8, 14 },
                                         { 3, 3.5, 1.7, 10, 17, 8 }, { 17, 8, 0.05, 10, 0.1, 14 } };
        static const double P[4][6] = { { 1312, 1696, 5569, 124, 8283, 5886 }, { 2329, 4135, 8307, 3736, 1004, 9991 },
                                        { 2348, 1451, 3522, 2883, 3047, 6650 }, { 4047, 8828, 8732, 5743, 1091, 381 } };
        double s = 0;
        for (int i = 0; i < 4; i++) {
                double in = 0;
                for (int j = 0; j < 6; j++)
                        in += A[i][j] * (x[j] - P[i][j] * 1e-4) * (x[j] - P[i][j] * 1e-4);
                s += al[i] * exp(-in);
        }
        return -s;
}

static double now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
        if (argc < 5) {
                fprintf(stderr, "usage: suggest-bench ALGORITHM branin|hartmann6 TRIALS SEEDS [SETTING=VALUE]...\n");
                return 2;
        }
        const char *alg = argv[1], *fn = argv[2];
        int trials = atoi(argv[3]), seeds = atoi(argv[4]);
        bool h6 = strcmp(fn, "hartmann6") == 0;
        SuggestParam p[6] = {};
        size_t d = h6 ? 6 : 2;
        for (size_t k = 0; k < d; k++) {
                snprintf(p[k].name, sizeof p[k].name, "x%zu", k);
                p[k].type = SUGGEST_DOUBLE;
                p[k].min = h6 ? 0 : k == 0 ? -5 : 0;
                p[k].max = h6 ? 1 : k == 0 ? 10 : 15;
        }
        double *best = calloc(seeds, sizeof(double)), tsum = 0, tlast = 0;
        long tn = 0;
        for (int seed = 0; seed < seeds; seed++) {
                char rs[32], err[256];
                snprintf(rs, sizeof rs, "%d", seed);
                json_t *settings = json_pack("[{s:s, s:s}]", "name", "random_state", "value", rs);
                for (int a = 5; a < argc; a++) {
                        char name[64];
                        const char *eq = strchr(argv[a], '=');
                        if (!eq)
                                continue;
                        snprintf(name, sizeof name, "%.*s", (int) (eq - argv[a]), argv[a]);
                        json_array_append_new(settings, json_pack("{s:s, s:s}", "name", name, "value", eq + 1));
                }
                Suggester *s;
                if (suggest_new(alg, settings, p, d, &s, err, sizeof err) < 0) {
                        fprintf(stderr, "%s\n", err);
                        return 1;
                }
                json_decref(settings);
                SuggestTrial *hist = calloc(trials, sizeof *hist);
                best[seed] = INFINITY;
                for (int i = 0; i < trials; i++) {
                        double x[6], t0 = now_us();
                        suggest_next(s, hist, (size_t) i, (size_t) i, x);
                        double dt = now_us() - t0;
                        tsum += dt;
                        tn++;
                        if (i == trials - 1)
                                tlast += dt;
                        memcpy(hist[i].x, x, sizeof x);
                        hist[i].y = h6 ? hartmann6(x) : branin(x);
                        if (hist[i].y < best[seed])
                                best[seed] = hist[i].y;
                }
                free(hist);
                suggest_free(s);
        }
        double mean = 0, sd = 0, mn = INFINITY, mx = -INFINITY;
        for (int i = 0; i < seeds; i++) {
                mean += best[i] / seeds;
                mn = fmin(mn, best[i]);
                mx = fmax(mx, best[i]);
        }
        for (int i = 0; i < seeds; i++)
                sd += (best[i] - mean) * (best[i] - mean) / seeds;
        printf("%-22s %-10s %10.5f %9.5f %10.5f %10.5f %9.1f %9.1f\n", alg, fn, mean, sqrt(sd), mn, mx, tsum / tn,
               tlast / seeds);
        free(best);
        return 0;
}
