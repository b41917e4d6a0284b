#!/bin/bash
# bench/serving/cold-start.sh: how long the first request to a model scaled
# to zero takes, through the gateway, for the native xgboost server
# (sdflow-serve) and the Python sklearn server, measured in the same run on
# a real systemd (the sandbox) with the installed package.
#
#   bench/serving/cold-start.sh [WAKES] [DEB]
# Each wake: the replica's service is stopped (its socket keeps listening;
# the start rate limit is reset, as waking 100 times a minute is not what
# idle timeouts do, and wakes are paced under the socket's trigger limit),
# then one request is timed from the client's connect to the whole answer:
# socket activation, process start, model load, prediction and the gateway.
# Prints p50/p90/p99/max per runtime, a warm request for comparison, and the
# ratio Python / native.
set -euo pipefail
wakes=${1:-100}
top=$(cd "$(dirname "$0")/../.." && pwd)
deb=${2:-$top/build/deb/sdflow_0.1.0_amd64.deb}
[ -f "$deb" ] || { echo "bench: build the package first (tools/build-deb), or pass DEB" >&2; exit 1; }
sandbox=$top/tools/sdflow-sandbox
why=$("$sandbox" why-not)
[ -z "$why" ] || { echo "bench: no sandbox: $why" >&2; exit 1; }
name=bench-cold
work=$top/build/bench-cold
rm -rf "$work" && mkdir -p "$work"
"$sandbox" start "$name" --bind "$top" >/dev/null
trap '"$sandbox" stop "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
sbx() { "$sandbox" exec "$name" "$@"; }
sbx sh -c "cd '$(dirname "$deb")' && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ./$(basename "$deb")" >/dev/null 2>&1
sbx systemctl enable --now sdflowd.socket sdflow-gateway.socket >/dev/null 2>&1
sbx useradd -m bench
cat >"$work/objects.yaml" <<YAML
apiVersion: kubeflow.org/v1
kind: Profile
metadata: {name: bench}
spec: {owner: {kind: User, name: bench}}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: xgboost-iris, namespace: bench}
spec:
  predictor:
    model: {modelFormat: {name: xgboost}, storageUri: "file:///home/bench/xgb"}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: sklearn-iris, namespace: bench}
spec:
  predictor:
    model: {modelFormat: {name: sklearn}, storageUri: "file:///home/bench/skl"}
YAML
sbx runuser -u bench -- /usr/bin/python3 "$top/examples/models/train-iris-xgboost.py" /home/bench/xgb >/dev/null
sbx runuser -u bench -- /usr/bin/python3 "$top/examples/models/train-iris-sklearn.py" /home/bench/skl >/dev/null
sbx sdflow apply -f "$work/objects.yaml" >/dev/null
cat >"$work/wake.py" <<'PY'
import http.client, json, subprocess, sys, time
wakes = int(sys.argv[1])
body = json.dumps({"instances": [[6.8, 2.8, 4.8, 1.4]]})
def request(isvc):
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", 8080, timeout=60)
    c.request("POST", f"/v1/models/{isvc}:predict", body, {"Host": f"{isvc}.bench.example.com"})
    r = c.getresponse()
    data = r.read()
    t = time.perf_counter() - t0
    c.close()
    if r.status != 200:
        sys.exit(f"bench: {isvc} answered {r.status}: {data!r}")
    return t * 1000
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
res = {}
for isvc in ("xgboost-iris", "sklearn-iris"):
    unit = f"sdflow_bench_{isvc}_1_0.service"
    cold = []
    for _ in range(wakes):
        # Stopped, and its start counter reset: systemd allows 5 starts in
        # 10 s, and a bench wakes faster than any idle timeout would.
        subprocess.run(["systemctl", "stop", unit], check=True, stderr=subprocess.DEVNULL)
        subprocess.run(["systemctl", "reset-failed", unit], check=True)
        # And paced: a socket unit stops after 20 activations in 2 s.
        time.sleep(0.15)
        cold.append(request(isvc))
    warm = [request(isvc) for _ in range(50)]
    res[isvc] = (cold, warm)
print(f"cold start through the gateway, {wakes} wakes each (ms)")
print(f"{'':14}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}{'warm p50':>10}")
for isvc, (cold, warm) in res.items():
    label = "native xgb" if isvc.startswith("xgb") else "python sklearn"
    print(f"{label:14}" + "".join(f"{pct(cold, p):9.1f}" for p in (50, 90, 99, 100)) + f"{pct(warm, 50):10.2f}")
n, p = res["xgboost-iris"][0], res["sklearn-iris"][0]
print(f"python / native: p50 {pct(p, 50) / pct(n, 50):.1f}x, p99 {pct(p, 99) / pct(n, 99):.1f}x")
PY
[ -n "${KEEP:-}" ] && trap - EXIT
sbx /usr/bin/python3 "$work/wake.py" "$wakes"
