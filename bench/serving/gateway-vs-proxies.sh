#!/bin/bash
# bench/serving/gateway-vs-proxies.sh: sdflow-gateway against nginx and
# HAProxy, each proxying to the same running sdflow-serve over its Unix
# socket, measured in one run with wrk over loopback TCP.  The proxy and the
# model server share CPU 0, wrk runs on CPU 1; one process each.
#
#   bench/serving/gateway-vs-proxies.sh [SECONDS] [BUILD_DIR]
# Prints throughput at 64 connections and p50 latency at 1 connection for
# the model server alone and through each proxy, the latency each proxy
# adds, and the ratios gateway / nginx and gateway / HAProxy.
set -euo pipefail
secs=${1:-10}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$top/build}
serve=$build/services/serve/sdflow-serve gateway=$build/services/gateway/sdflow-gateway
for b in "$serve" "$gateway"; do [ -x "$b" ] || { echo "bench: build first (no $b)" >&2; exit 1; }; done
for t in wrk nginx haproxy taskset bc; do
        command -v $t >/dev/null || { echo "bench: needs $t (apt-get install wrk nginx haproxy bc)" >&2; exit 1; }
done
/usr/bin/python3 -c 'import xgboost, sklearn' 2>/dev/null || { echo "bench: needs python3-xgboost python3-sklearn" >&2; exit 1; }

tmp=$(mktemp -d)
chmod 0755 "$tmp"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
/usr/bin/python3 "$top/examples/models/train-iris-xgboost.py" "$tmp" >/dev/null
sock=$tmp/iris.sock
host=iris.bench.example.com

taskset -c 0 "$serve" --listen="$sock" --set=ModelPath="$tmp/model.json" --set=ModelName=iris --idle-timeout=0 2>/dev/null &
pids+=($!)
serve_pid=$!
printf '{"routes":[{"host":"%s","namespace":"bench","name":"iris","revisions":[{"name":"iris-predictor-00001","percent":100,"backends":["%s"]}]}]}\n' "$host" "$sock" >"$tmp/routes.json"
taskset -c 0 "$gateway" --listen=127.0.0.1:18090 --set=RoutesFile="$tmp/routes.json" --idle-timeout=0 2>/dev/null &
pids+=($!)
declare -A PID
PID[gateway]=$!
cat >"$tmp/nginx.conf" <<NGX
daemon off;
# The model's socket is the bench user's; a worker as nobody could not connect.
user root;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err;
events { worker_connections 4096; }
http {
    access_log off;
    upstream model { server unix:$sock; keepalive 64; }
    server {
        listen 127.0.0.1:18091;
        location / { proxy_pass http://model; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
NGX
taskset -c 0 nginx -c "$tmp/nginx.conf" -p "$tmp" &
pids+=($!)
PID[nginx]=$!
cat >"$tmp/haproxy.cfg" <<HAP
global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
frontend f
    bind 127.0.0.1:18092
    default_backend b
backend b
    http-reuse always
    server s1 unix@$sock
HAP
taskset -c 0 haproxy -f "$tmp/haproxy.cfg" -q &
pids+=($!)
PID[haproxy]=$!

cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Host"] = "iris.bench.example.com"
wrk.body = '{"instances": [[6.2, 3.4, 5.4, 2.3]]}'
LUA
for port in 18090 18091 18092; do
        for _ in $(seq 100); do
                curl -s -o /dev/null -H "Host: $host" -d '{"instances":[[1,2,3,4]]}' \
                        http://127.0.0.1:$port/v1/models/iris:predict && break
                sleep 0.1
        done
done
# The model server alone, over TCP, for the latency the proxies add.
taskset -c 0 "$serve" --listen=127.0.0.1:18093 --set=ModelPath="$tmp/model.json" --set=ModelName=iris --idle-timeout=0 2>/dev/null &
pids+=($!)
sleep 0.5

run() { taskset -c 1 wrk -t1 -c"$2" -d"${secs}s" --latency -s "$tmp/post.lua" "http://127.0.0.1:$1/v1/models/iris:predict"; }
rps() { awk '/^Requests\/sec/ {print $2}'; }
reqs() { awk '/requests in/ {print $1}'; }
p50() { awk '$1 == "50%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s/,"",v); print v*1000000}}'; }
# CPU time (user + system, clock ticks) of a process and its children's threads.
ticks() { [ -n "${1:-}" ] && awk '{print $14 + $15}' "/proc/$1/stat" || echo 0; }
hz=$(getconf CLK_TCK)
declare -A R L C S
for name in direct:18093 gateway:18090 nginx:18091 haproxy:18092; do
        n=${name%%:*} port=${name#*:}
        # nginx's worker is a child of the master; its CPU is what counts.
        pid=${PID[$n]:-}
        [ "$n" = nginx ] && pid=$(pgrep -P "${PID[nginx]}" | head -1)
        t0=$(ticks "$pid") s0=$(ticks "$serve_pid")
        out=$(run "$port" 64)
        # A proxy that answers errors is fast and wrong: refuse to report it.
        if grep -q 'Non-2xx' <<<"$out"; then
                echo "bench: $n answered errors:" >&2
                echo "$out" >&2
                exit 1
        fi
        t1=$(ticks "$pid") s1=$(ticks "$serve_pid")
        S[$n]=$(echo "($s1 - $s0) * 1000 / $hz / ($(reqs <<<"$out") / 1000)" | bc -l)
        R[$n]=$(rps <<<"$out")
        # CPU milliseconds the proxy spent per 1000 requests (= thousandths of a
        # core at 1000 requests/s).
        C[$n]=$(echo "($t1 - $t0) * 1000 / $hz / ($(reqs <<<"$out") / 1000)" | bc -l)
        L[$n]=$(run "$port" 1 | p50)
done
echo "sdflow-gateway vs nginx vs HAProxy in front of one sdflow-serve (iris), ${secs}s per run"
printf '%-10s %16s %14s %16s %22s %22s\n' "" "req/s (64 conn)" "p50 (1 conn)" "added p50" "proxy CPU per 1000 req" "server CPU per 1000 req"
for n in direct gateway nginx haproxy; do
        added=$(echo "${L[$n]} - ${L[direct]}" | bc -l)
        if [ "$n" = direct ]; then cpu=-; else cpu=$(printf '%.1f ms' "${C[$n]}"); fi
        printf '%-10s %16.0f %12.1fus %14.1fus %22s %19.1f ms\n' "$n" "${R[$n]}" "${L[$n]}" "$added" "$cpu" "${S[$n]}"
done
printf 'throughput gateway/nginx %.2fx, gateway/haproxy %.2fx\n' \
        "$(echo "${R[gateway]} / ${R[nginx]}" | bc -l)" "$(echo "${R[gateway]} / ${R[haproxy]}" | bc -l)"
printf 'CPU per request gateway/nginx %.2fx, gateway/haproxy %.2fx\n' \
        "$(echo "${C[gateway]} / ${C[nginx]}" | bc -l)" "$(echo "${C[gateway]} / ${C[haproxy]}" | bc -l)"
