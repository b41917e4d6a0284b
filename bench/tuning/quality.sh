#!/bin/bash
# bench/tuning/quality.sh: how good sdflow's search algorithms are, against
# Optuna (python3-optuna, /usr/bin/python3) in the same run: the best value
# found in TRIALS trials (default 50) over SEEDS seeds (default 20) on
# Branin (minimum 0.397887) and the 6-D Hartmann function (minimum
# -3.32237), and the time to propose one trial (mean, and at the last trial).
#
#   bench/tuning/quality.sh [TRIALS] [SEEDS]
# Needs a build in build/ (lib/libsdflow-model.a) and python3-optuna.
set -euo pipefail
trials=${1:-50}
seeds=${2:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/bench/tuning
[ -f "$top/build/lib/libsdflow-model.a" ] || { echo "bench: build first (meson setup build && ninja -C build)" >&2; exit 1; }
/usr/bin/python3 -c 'import optuna' 2>/dev/null || { echo "bench: apt-get install python3-optuna" >&2; exit 1; }
bin=$top/build/bench-suggest
cc -O2 -I "$top/lib/basic" -I "$top/lib/model" "$here/suggest-bench.c" "$top/build/lib/libsdflow-model.a" -ljansson -lyaml -lpcre2-8 -lm -o "$bin"
trap 'rm -f "$bin"' EXIT
printf '%-22s %-10s %10s %9s %10s %10s %9s %9s\n' algorithm function mean sd best worst "us/prop" "us@last"
for f in branin hartmann6; do
        for a in random tpe multivariate-tpe bayesianoptimization cmaes sobol; do
                "$bin" "$a" "$f" "$trials" "$seeds"
        done
        for s in random tpe mtpe; do
                /usr/bin/python3 "$here/optuna-bench.py" "$s" "$f" "$trials" "$seeds"
        done
done
