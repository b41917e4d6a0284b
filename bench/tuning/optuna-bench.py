#!/usr/bin/python3
"""Optuna's samplers (python3-optuna) on Branin and the 6-D Hartmann
function, as bench/tuning/suggest-bench.c runs sdflow's:
    optuna-bench.py SAMPLER FUNCTION TRIALS SEEDS
SAMPLER: tpe, random, or mtpe (TPESampler(multivariate=True)).  Prints one
line: sampler function mean sd min max propose_us_mean propose_us_at_last."""
import math
import statistics
import sys
import time

import warnings

import optuna

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

optuna.logging.set_verbosity(optuna.logging.WARNING)

A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
ALPHA = [1.0, 1.2, 3.0, 3.2]


def branin(x):
    a, b, c, r, s, t = 1, 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
    return a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * math.cos(x[0]) + s


def hartmann6(x):
    return -sum(ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j] * 1e-4) ** 2 for j in range(6))) for i in range(4))


def main():
    sampler_name, fn, trials, seeds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    bounds = [(0.0, 1.0)] * 6 if fn == "hartmann6" else [(-5.0, 10.0), (0.0, 15.0)]
    f = hartmann6 if fn == "hartmann6" else branin
    best, times, last = [], [], []
    for seed in range(seeds):
        if sampler_name == "random":
            sampler = optuna.samplers.RandomSampler(seed=seed)
        else:
            sampler = optuna.samplers.TPESampler(seed=seed, multivariate=sampler_name == "mtpe")
        study = optuna.create_study(sampler=sampler)
        for i in range(trials):
            t0 = time.perf_counter()
            trial = study.ask()
            x = [trial.suggest_float(f"x{k}", lo, hi) for k, (lo, hi) in enumerate(bounds)]
            dt = (time.perf_counter() - t0) * 1e6
            times.append(dt)
            if i == trials - 1:
                last.append(dt)
            study.tell(trial, f(x))
        best.append(study.best_value)
    print(f"optuna-{sampler_name:15} {fn:10} {statistics.mean(best):10.5f} {statistics.pstdev(best):9.5f} "
          f"{min(best):10.5f} {max(best):10.5f} {statistics.mean(times):9.1f} {statistics.mean(last):9.1f}")


main()
