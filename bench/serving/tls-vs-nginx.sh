#!/bin/bash
# bench/serving/tls-vs-nginx.sh: HTTPS through sdflow-gateway against nginx
# with the same certificate (RSA 2048, as Debian's snakeoil), each in front
# of the same running sdflow-serve over its Unix socket, measured in one run
# with wrk.  The proxy and the model server share CPU 0, wrk runs on CPU 1.
#
#   bench/serving/tls-vs-nginx.sh [SECONDS] [BUILD_DIR]
# Prints, for each: proxied requests/s over TLS keep-alive (64 connections),
# new TLS connections/s (a full handshake per request: Connection: close,
# 16 connections), p50 at 1 connection, and the ratios gateway / nginx.
set -euo pipefail
secs=${1:-10}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$top/build}
serve=$build/services/serve/sdflow-serve gateway=$build/services/gateway/sdflow-gateway
for b in "$serve" "$gateway"; do [ -x "$b" ] || { echo "bench: build first (no $b)" >&2; exit 1; }; done
for t in wrk nginx taskset bc openssl; do
        command -v $t >/dev/null || { echo "bench: needs $t (apt-get install wrk nginx bc openssl)" >&2; exit 1; }
done
tmp=$(mktemp -d)
chmod 0755 "$tmp"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; cat "$tmp/gateway.err" >&2 2>/dev/null; rm -rf "$tmp"' EXIT
/usr/bin/python3 "$top/examples/models/train-iris-xgboost.py" "$tmp" >/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 -subj /CN=localhost 2>/dev/null
sock=$tmp/iris.sock
host=iris.bench.example.com
taskset -c 0 "$serve" --listen="$sock" --set=ModelPath="$tmp/model.json" --set=ModelName=iris --idle-timeout=0 2>/dev/null &
pids+=($!)
printf '{"routes":[{"host":"%s","namespace":"bench","name":"iris","revisions":[{"name":"iris-predictor-00001","percent":100,"backends":["%s"]}]}]}\n' "$host" "$sock" >"$tmp/routes.json"
taskset -c 0 "$gateway" --config=/dev/null --listen-tls=127.0.0.1:18443 --set=RoutesFile="$tmp/routes.json" \
        --set=TLSCertificate="$tmp/cert.pem" --set=TLSKey="$tmp/key.pem" --idle-timeout=0 2>"$tmp/gateway.err" &
pids+=($!)
cat >"$tmp/nginx.conf" <<NGX
daemon off;
user root;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err;
events { worker_connections 4096; }
http {
    access_log off;
    upstream model { server unix:$sock; keepalive 64; }
    server {
        listen 127.0.0.1:18444 ssl;
        ssl_certificate $tmp/cert.pem;
        ssl_certificate_key $tmp/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / { proxy_pass http://model; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
NGX
taskset -c 0 nginx -c "$tmp/nginx.conf" -p "$tmp" &
pids+=($!)
cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Host"] = "iris.bench.example.com"
wrk.body = '{"instances": [[6.2, 3.4, 5.4, 2.3]]}'
LUA
sed 's/^wrk.body/wrk.headers["Connection"] = "close"\nwrk.body/' "$tmp/post.lua" >"$tmp/close.lua"
for port in 18443 18444; do
        for _ in $(seq 100); do
                curl -sk -o /dev/null -H "Host: $host" -d '{"instances":[[1,2,3,4]]}' \
                        https://127.0.0.1:$port/v1/models/iris:predict && break
                sleep 0.1
        done
done
run() { taskset -c 1 wrk -t1 -c"$2" -d"${secs}s" --latency -s "$3" "https://127.0.0.1:$1/v1/models/iris:predict"; }
rps() { awk '/^Requests\/sec/ {print $2}'; }
p50() { awk '$1 == "50%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s/,"",v); print v*1000000}}'; }
declare -A R H L
for name in gateway:18443 nginx:18444; do
        n=${name%%:*} port=${name#*:}
        out=$(run "$port" 64 "$tmp/post.lua")
        if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then echo "bench: $n answered errors:" >&2; echo "$out" >&2; exit 1; fi
        R[$n]=$(rps <<<"$out")
        out=$(run "$port" 16 "$tmp/close.lua")
        if grep -q 'Non-2xx' <<<"$out"; then echo "bench: $n answered errors:" >&2; echo "$out" >&2; exit 1; fi
        H[$n]=$(rps <<<"$out")
        L[$n]=$(run "$port" 1 "$tmp/post.lua" | p50)
done
echo "HTTPS: sdflow-gateway vs nginx, same RSA-2048 certificate, in front of one sdflow-serve (iris), ${secs}s per run"
printf '%-10s %22s %26s %16s\n' "" "req/s (64 conn, TLS)" "handshakes/s (16, close)" "p50 (1 conn)"
for n in gateway nginx; do
        printf '%-10s %22.0f %26.0f %14.1fus\n' "$n" "${R[$n]}" "${H[$n]}" "${L[$n]}"
done
printf 'gateway/nginx: throughput %.2fx, handshakes %.2fx, p50 %.2fx\n' \
        "$(echo "${R[gateway]} / ${R[nginx]}" | bc -l)" "$(echo "${H[gateway]} / ${H[nginx]}" | bc -l)" \
        "$(echo "${L[gateway]} / ${L[nginx]}" | bc -l)"
