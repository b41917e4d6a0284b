#!/bin/bash
# test-serve.sh SERVE: sdflow-serve on a real XGBoost model trained here
# with python3-xgboost: KServe V1 and V2 answers equal python3-xgboost's
# predictions, errors are 400/404/405 with {"error": ...}, the process is
# confined (seccomp, no capabilities, no new privileges) and exits when idle.
set -u
SERVE=$1
TOP=$(cd "$(dirname "$0")/../.." && pwd)
if ! /usr/bin/python3 -c 'import xgboost, sklearn' 2>/dev/null; then
        echo "SKIP: /usr/bin/python3 cannot import xgboost and sklearn (apt-get install python3-xgboost python3-sklearn)"
        exit 77
fi
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0 checks=0
check() { local what=$1; shift; checks=$((checks + 1)); "$@" >/dev/null 2>&1 || { echo "FAIL: $what"; fails=$((fails + 1)); }; }

/usr/bin/python3 "$TOP/examples/models/train-iris-xgboost.py" "$tmp" >/dev/null || { echo "FAIL: training"; exit 1; }
# LeakSanitizer's exit-time check needs clone() and ptrace(), which the
# server's seccomp filter kills on: in sanitizer builds only ASan's other
# checks run for the confined server (test-protocol covers leaks).
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
"$SERVE" --listen="$tmp/m.sock" --set=ModelPath="$tmp/model.json" --set=ModelName=iris --idle-timeout=2s 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do [ -S "$tmp/m.sock" ] && break; sleep 0.05; done
C=(curl -sS --unix-socket "$tmp/m.sock")

check "confined: seccomp filter" grep -q '^Seccomp:[[:space:]]*2' /proc/$pid/status
check "confined: no new privileges" grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$pid/status
check "confined: no effective capabilities" grep -q '^CapEff:[[:space:]]*0000000000000000' /proc/$pid/status

/usr/bin/python3 - "$tmp" <<'PY' >"$tmp/bodies"
import json, sys
e = json.load(open(sys.argv[1] + "/expected.json"))
print(json.dumps({"instances": e["instances"]}))
print(json.dumps({"id": "t1", "inputs": [{"name": "x", "shape": [len(e["instances"]), 4], "datatype": "FP64", "data": e["instances"]}]}))
PY
"${C[@]}" -X POST --data-binary "$(sed -n 1p "$tmp/bodies")" http://x/v1/models/iris:predict >"$tmp/v1.json"
"${C[@]}" -X POST --data-binary "$(sed -n 2p "$tmp/bodies")" http://x/v2/models/iris/infer >"$tmp/v2.json"
check "V1 and V2 equal python3-xgboost's predictions" /usr/bin/python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
want = json.load(open(d + "/expected.json"))["predictions"]
v1 = json.load(open(d + "/v1.json"))["predictions"]
v2 = json.load(open(d + "/v2.json"))
flat = [x for row in want for x in row]
assert len(v1) == len(want), v1
assert all(abs(a - b) <= 1e-7 for ra, rb in zip(v1, want) for a, b in zip(ra, rb)), (v1, want)
out = v2["outputs"][0]
assert v2["model_name"] == "iris" and v2["id"] == "t1" and out["datatype"] == "FP32", v2
assert out["shape"] == [len(want), 3], out["shape"]
assert all(abs(a - b) <= 1e-7 for a, b in zip(out["data"], flat)), (out["data"], flat)
PY
code() { "${C[@]}" -o "$tmp/body" -w '%{http_code}' "$@"; }
check "V2 live" test "$(code http://x/v2/health/live)" = 200
check "V2 ready" test "$(code http://x/v2/models/iris/ready)" = 200
check "V2 metadata names 4 features" sh -c "$(printf '%q ' "${C[@]}") http://x/v2/models/iris | grep -q '\"shape\":\\[-1,4\\]'"
check "V1 model status" test "$(code http://x/v1/models/iris)" = 200
check "unknown model: 404" test "$(code http://x/v2/models/nope/infer -X POST -d '{}')" = 404
check "GET on infer: 405" test "$(code http://x/v2/models/iris/infer)" = 405
check "wrong feature count: 400" test "$(code -X POST -d '{"instances":[[1,2]]}' http://x/v1/models/iris:predict)" = 400
check "... with a JSON error" grep -q '"error":"instances\[0\] must be a list of 4 numbers' "$tmp/body"
check "malformed JSON: 400" test "$(code -X POST -d '{"instances":' http://x/v1/models/iris:predict)" = 400
check "BYTES datatype: 400 naming it" sh -c "test \"\$($(printf '%q ' "${C[@]}") -o '$tmp/b2' -w '%{http_code}' -X POST -d '{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"BYTES\",\"data\":[\"a\"]}]}' http://x/v2/models/iris/infer)\" = 400 && grep -q \"'BYTES' is not supported\" '$tmp/b2'"
check "still serving after the errors" test "$(code http://x/v2/health/ready)" = 200
# Exit when idle: status 0 within a few seconds.
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
checks=$((checks + 1))
if kill -0 "$pid" 2>/dev/null; then
        echo "FAIL: did not exit when idle"; fails=$((fails + 1))
else
        wait "$pid"; rc=$?; pid=
        [ "$rc" = 0 ] || { echo "FAIL: exited $rc when idle"; cat "$tmp/log"; fails=$((fails + 1)); }
fi
check "a missing model is a clear error" sh -c "'$SERVE' --listen='$tmp/x.sock' --set=ModelPath='$tmp/none.json' 2>&1 | grep -q 'Failed to load model $tmp/none.json'"
check "no model at all is a clear error" sh -c "'$SERVE' --listen='$tmp/y.sock' 2>&1 | grep -q 'No model: set ModelPath='"
echo "test-serve: $checks checks, $fails failed"
[ "$fails" = 0 ]
