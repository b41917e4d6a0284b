#!/bin/bash
# bench/serving/serve-vs-python.sh: sdflow-serve against the same XGBoost
# model served by python3-xgboost + FastAPI + uvicorn, measured in the same
# run with wrk over loopback TCP.  Each server is pinned to CPU 0 and wrk to
# CPU 1, one server process each, one prediction thread each.
#
#   bench/serving/serve-vs-python.sh [SECONDS] [BUILD_DIR]
# Prints throughput at 64 connections, latency percentiles at 1
# connection, and the ratios sdflow-serve / Python.
set -euo pipefail
secs=${1:-10}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$top/build}
serve=$build/services/serve/sdflow-serve
[ -x "$serve" ] || { echo "bench: build first (no $serve)" >&2; exit 1; }
for t in wrk taskset; do command -v $t >/dev/null || { echo "bench: needs $t (apt-get install wrk)" >&2; exit 1; }; done
/usr/bin/python3 -c 'import xgboost, fastapi, uvicorn, sklearn' 2>/dev/null ||
        { echo "bench: needs python3-xgboost python3-fastapi python3-uvicorn python3-sklearn" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
/usr/bin/python3 "$top/examples/models/train-iris-xgboost.py" "$tmp" >/dev/null

taskset -c 0 "$serve" --listen=127.0.0.1:18081 --set=ModelPath="$tmp/model.json" --set=ModelName=iris \
        --idle-timeout=0 2>/dev/null &
pids+=($!)
taskset -c 0 /usr/bin/python3 "$top/bench/serving/xgb_server.py" "$tmp/model.json" 18082 2>/dev/null &
pids+=($!)
for port in 18081 18082; do
        for _ in $(seq 200); do
                curl -s -o /dev/null -X POST -d '{"instances":[[1,2,3,4]]}' http://127.0.0.1:$port/v1/models/iris:predict && break
                sleep 0.1
        done
done

run() { # PORT CONNS -> wrk output
        taskset -c 1 wrk -t1 -c"$2" -d"${secs}s" --latency -s "$top/bench/serving/post.lua" \
                "http://127.0.0.1:$1/v1/models/iris:predict"
}
rps() { awk '/^Requests\/sec/ {print $2}'; }
pct() { awk -v p="$1" '$1 == p {print $2}'; }
to_us() { # 12.34us / 1.23ms / 1.2s -> microseconds
        awk '{ v=$1; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s/,"",v); print v*1000000} }'
}

echo "sdflow-serve vs python3-xgboost/FastAPI/uvicorn, iris model, ${secs}s per run"
for p in 18081 18082; do run $p 64 >"$tmp/t$p"; run $p 1 >"$tmp/l$p"; done
s_rps=$(rps <"$tmp/t18081"); p_rps=$(rps <"$tmp/t18082")
s_p50=$(pct 50% <"$tmp/l18081" | to_us); p_p50=$(pct 50% <"$tmp/l18082" | to_us)
s_p99=$(pct 99% <"$tmp/l18081" | to_us); p_p99=$(pct 99% <"$tmp/l18082" | to_us)
errs=$(grep -h 'Non-2xx\|Socket errors' "$tmp"/t* "$tmp"/l* || true)
printf '%-34s %14s %14s %8s\n' "" "sdflow-serve" "python" "ratio"
printf '%-34s %14.0f %14.0f %7.1fx\n' "throughput, 64 conns (req/s)" "$s_rps" "$p_rps" "$(echo "$s_rps / $p_rps" | bc -l)"
printf '%-34s %14.1f %14.1f %7.1fx\n' "latency p50, 1 conn (us)" "$s_p50" "$p_p50" "$(echo "$p_p50 / $s_p50" | bc -l)"
printf '%-34s %14.1f %14.1f %7.1fx\n' "latency p99, 1 conn (us)" "$s_p99" "$p_p99" "$(echo "$p_p99 / $s_p99" | bc -l)"
[ -z "$errs" ] || { echo "errors during the runs:"; echo "$errs"; }
