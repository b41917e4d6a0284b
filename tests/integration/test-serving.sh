#!/bin/bash
# Serving on a real systemd with the installed package, through the gateway:
# KServe's sklearn-iris sample on the Python runtime, revisions gated on
# readiness, scale to zero and back, scale-out over replicas under 200
# concurrent clients, a 20 % canary, its rollback and promotion,
# containerConcurrency's queue, a replica that crashes mid-request, and the
# gateway's metrics.
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
/usr/bin/python3 -c 'import xgboost, sklearn' 2>/dev/null || skip "/usr/bin/python3 lacks python3-xgboost/python3-sklearn"
boot
install_deb
W=$TOP/build/it-serving
rm -rf "$W" && mkdir -p "$W"
trap 'teardown; rm -rf "$W"' EXIT
sbx systemctl enable --now sdflowd.socket sdflow-gateway.socket >/dev/null 2>&1
sbx useradd -m alice
# A namespace without CPU or memory quota, so KServe's samples (which declare
# no limits) apply unchanged.
cat >"$W/profile.yaml" <<EOF
apiVersion: kubeflow.org/v1
kind: Profile
metadata: {name: team-s}
spec:
  owner: {kind: User, name: alice}
  resourceQuotaSpec: {hard: {sdflow.io/processes: "512"}}
EOF
sbx sdflow apply -f "$W/profile.yaml" >/dev/null
as_alice() { sbx runuser -u alice -- "$@"; }
M=/var/tmp/sdflow-models
as_alice mkdir -p $M
as_alice /usr/bin/python3 "$TOP/examples/models/train-iris-sklearn.py" $M/sklearn-iris >/dev/null
as_alice /usr/bin/python3 "$TOP/examples/models/train-iris-xgboost.py" $M/xgboost-iris >/dev/null
# A second xgboost model with other probabilities: a canary's answers show it.
as_alice /usr/bin/python3 -c "
import xgboost as xgb, os; from sklearn.datasets import load_iris
X, y = load_iris(return_X_y=True); os.makedirs('$M/xgboost-small', exist_ok=True)
xgb.train({'objective': 'multi:softprob', 'num_class': 3, 'max_depth': 2, 'seed': 1, 'nthread': 1},
          xgb.DMatrix(X, label=y), num_boost_round=3).save_model('$M/xgboost-small/model.json')"
as_alice mkdir -p $M/corrupt
as_alice sh -c "echo '{not a model' >$M/corrupt/model.json"

gw() { # ISVC PATH BODY-FILE: prints "BODY STATUS" on one line
        sbx curl -sS -o /dev/stdout -w ' %{http_code}' -H "Host: $1.team-s.example.com" --data-binary @"$3" "http://127.0.0.1:8080$2" | tr -d '\n'
}
load() { # ISVC BODY-FILE CONCURRENCY REQUESTS KEY
        sbx /usr/bin/python3 "$TOP/tests/integration/load.py" --url "http://127.0.0.1:8080/v1/models/$1:predict" \
                --host "$1.team-s.example.com" --body "$2" --concurrency "$3" --requests "$4" --key "$5"
}
MT=$(metrics_token)
metric() { # NAME LABEL-SUBSTRING: the value (0 if absent)
        sbx curl -sS -H "Authorization: Bearer $MT" http://127.0.0.1:8080/metrics | awk -v n="$1" -v l="$2" 'index($1, n"{") == 1 && index($1, l) { s += $2 } END { print s + 0 }'
}
jq_() { /usr/bin/python3 -c "import json,sys; j=json.loads(sys.argv[1]); print($2)" "$1"; }
isvc() { # NAME MODEL-DIR FORMAT [PREDICTOR-LINES...]; $LIMITS: the model's resources.limits
        local name=$1 dir=$2 format=$3; shift 3
        printf 'apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: %s\n  namespace: team-s\n  annotations:\n    autoscaling.knative.dev/scale-to-zero-pod-retention-period: "2s"\nspec:\n  predictor:\n' "$name"
        for l in "$@"; do printf '    %s\n' "$l"; done
        printf '    model:\n      modelFormat: {name: %s}\n      storageUri: file://%s\n' "$format" "$dir"
        [ -z "${LIMITS:-}" ] || printf '      resources: {limits: {%s}}\n' "$LIMITS"
}
printf '{"instances": [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]}\n' >"$W/iris-v1.json"
printf '{"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32", "data": [6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6]}]}\n' >"$W/iris-v2.json"
/usr/bin/python3 -c "
import json, random
random.seed(1)
rows = [[round(random.uniform(4, 8), 1), round(random.uniform(2, 4.5), 1), round(random.uniform(1, 7), 1),
         round(random.uniform(0.1, 2.5), 1)] for _ in range(500)]
json.dump({'instances': rows}, open('$W/heavy.json', 'w'))
json.dump({'instances': rows * 600}, open('$W/huge.json', 'w'))
json.dump({'instances': rows * 1400}, open('$W/slow.json', 'w'))"

# --- KServe's sklearn-iris sample on the Python runtime ------------------------------------
sed "s|file:///var/tmp/sdflow-models/sklearn-iris|file://$M/sklearn-iris|" "$TOP/examples/kserve/sklearn-iris.yaml" >"$W/sklearn-iris.yaml"
check "KServe's sklearn-iris sample applies (storageUri aside, unchanged)" as_alice sdflow -n team-s apply -f "$W/sklearn-iris.yaml"
check "it is Ready on revision 1" sh -c "'$SANDBOX' exec $SB sdflow -n team-s get isvc sklearn-iris | grep -q 'True  *100  *sklearn-iris-predictor-00001'"
out=$(gw sklearn-iris /v1/models/sklearn-iris:predict "$W/iris-v1.json")
check "the gateway answers V1 as KServe's sklearn server does ([1, 1])" test "$out" = '{"predictions":[1,1]} 200'
out=$(gw sklearn-iris /v2/models/sklearn-iris/infer "$W/iris-v2.json")
check "and the Open Inference Protocol (V2)" grep -q '"data":\[1,1\].* 200$' <<<"$out"
check "the runtime runs as the namespace user with no network" test "$(sbx systemctl show -P User -P PrivateNetwork sdflow_team-s_sklearn-iris_1_0.service | tr '\n' /)" = "sdflow-team-s/yes/"
check "... under systemd's system-call filter" sh -c "'$SANDBOX' exec $SB grep -q '^Seccomp:.*2' /proc/\$('$SANDBOX' exec $SB systemctl show -P MainPID sdflow_team-s_sklearn-iris_1_0.service)/status"

# KServe's xgboost-iris sample (V2), storageUri aside unchanged.
sed "s|file:///var/tmp/sdflow-models/xgboost-iris|file://$M/xgboost-iris|" "$TOP/examples/kserve/xgboost-iris.yaml" >"$W/xgboost-iris.yaml"
check "KServe's xgboost-iris sample applies" as_alice sdflow -n team-s apply -f "$W/xgboost-iris.yaml"
out=$(gw xgboost-iris /v2/models/xgboost-iris/infer "$W/iris-v2.json")
check "it answers the Open Inference Protocol through the gateway (versicolor twice)" /usr/bin/python3 -c "
import json, sys; o = json.loads(sys.argv[1].rsplit(' ', 1)[0])['outputs'][0]
d = o['data']; rows = [d[i:i + 3] for i in range(0, len(d), 3)]
assert [r.index(max(r)) for r in rows] == [1, 1], o" "$out"
# timeout: an answer later than the InferenceService's timeout is a 504.
# 700 000 rows (15 MB) take it about two seconds.
isvc slow $M/sklearn-iris sklearn "timeout: 1" >"$W/slow.yaml"
as_alice sdflow apply -f "$W/slow.yaml" >/dev/null
out=$(gw slow /v1/models/slow:predict "$W/slow.json")
[ "${VERBOSE:-}" ] && echo "    ${out:0:200}"
check "a model slower than its timeout (1 s) gets 504" test "${out##* }" = 504
check "... saying so" grep -q 'did not answer in time' <<<"$out"

# A changed spec makes revision 2; it takes the traffic once it answers, and revision 1 stops.
isvc sklearn-iris $M/sklearn-iris sklearn >"$W/sklearn-2.yaml"
check "a changed spec is applied" as_alice sdflow apply -f "$W/sklearn-2.yaml"
check "revision 2 has all the traffic" sh -c "'$SANDBOX' exec $SB sdflow -n team-s get isvc sklearn-iris | grep -q 'True  *100  *sklearn-iris-predictor-00002'"
check "revision 1 is retired (its units go at the next change)" test "$(jq_ "$(sbx sdflow -n team-s get isvc sklearn-iris -o json)" 'j["status"]["retiredRevisions"][0]["name"]')" = sklearn-iris-predictor-00001
check "after the idle time (2 s) revision 2 scaled to zero" wait_for 30 is_state sdflow_team-s_sklearn-iris_2_0.service inactive
check "its socket still listens" is_state sdflow_team-s_sklearn-iris_2_0.socket active
check "no model process exists" test "$(sbx systemctl show -P MainPID sdflow_team-s_sklearn-iris_2_0.service)" = 0
cold=$(metric sdflow_gateway_cold_starts_total sklearn-iris-predictor-00002)
out=$(gw sklearn-iris /v1/models/sklearn-iris:predict "$W/iris-v1.json")
check "the next request wakes it and gets the right answer" test "$out" = '{"predictions":[1,1]} 200'
check "the gateway counted the cold start" test "$(metric sdflow_gateway_cold_starts_total sklearn-iris-predictor-00002)" -gt "$cold"

# A server that crashes mid-request: a clear 502, and the next request is served.
sbx sh -c "curl -sS -o /tmp/crash.out -w '%{http_code}' -H 'Host: sklearn-iris.team-s.example.com' --data-binary @$W/huge.json http://127.0.0.1:8080/v1/models/sklearn-iris:predict >/tmp/crash.code" &
curl_pid=$!
# 300 000 rows take the server a second or more; the kill comes at 0.5 s.
sleep 0.5
sbx systemctl kill --signal=SIGSEGV sdflow_team-s_sklearn-iris_2_0.service
wait "$curl_pid"
check "a replica that crashes mid-request yields 502" test "$(sbx cat /tmp/crash.code)" = 502
check "... saying the model server closed without answering" sbx grep -q 'closed without answering' /tmp/crash.out
out=$(gw sklearn-iris /v1/models/sklearn-iris:predict "$W/iris-v1.json")
check "the next request is served by a new process" test "$out" = '{"predictions":[1,1]} 200'

# A replica that crash-loops makes systemd stop its socket (start limit);
# sdflow-revive@.service brings it back after a pause (1 s here).
sbx systemctl set-environment SDFLOW_REVIVE_DELAY=4
isvc flaky $M/xgboost-iris xgboost >"$W/flaky.yaml"
as_alice sdflow apply -f "$W/flaky.yaml" >/dev/null
# (Under the sanitizers SIGSEGV would be caught and reported by ASan as a
# crash of its own; SIGKILL makes the same crash loop.)
crash_signal=SIGSEGV
[ "${SDFLOW_SANITIZED:-0}" = 1 ] && crash_signal=SIGKILL
for _ in 1 2 3 4 5 6 7; do
        gw flaky /v1/models/flaky:predict "$W/iris-v1.json" >/dev/null 2>&1
        sbx systemctl kill --signal=$crash_signal sdflow_team-s_flaky_1_0.service >/dev/null 2>&1
done
revived() { sbx journalctl -u 'sdflow-revive@sdflow_team-s_flaky_1_0.socket.service' | grep -q 'listens again'; }
socket_down() { sbx sdflow -n team-s get isvc flaky -o wide | grep -q 'False .*ReplicaSocketDown'; }
check "while the socket is down, the InferenceService says so (ReplicaSocketDown)" wait_for 4 socket_down
check "the crash loop took the socket down, and sdflow-revive brought it back" wait_for 30 revived
check "... and the InferenceService is Ready again" sh -c "'$SANDBOX' exec $SB sdflow -n team-s get isvc flaky | grep -q ' True '"
out=$(gw flaky /v1/models/flaky:predict "$W/iris-v1.json")
check "and the model answers again" test "${out##* }" = 200

# --- scale-out: 200 concurrent clients, maxReplicas 3, scaleTarget 10 -----------------------
# Each replica gets 0.3 CPU, so 200 clients keep requests waiting in the gateway
# (timeout: 120, KServe's predictor timeout: on a loaded machine, 0.9 CPU in
# all for 2000 requests may take longer than the gateway's 30 s default).
LIMITS="cpu: 300m" isvc scaled $M/xgboost-iris xgboost "maxReplicas: 3" "scaleTarget: 10" "scaleMetric: concurrency" "timeout: 120" >"$W/scaled.yaml"
check "an InferenceService with maxReplicas 3, scaleTarget 10 applies" as_alice sdflow apply -f "$W/scaled.yaml"
out=$(load scaled "$W/heavy.json" 200 2000 'len(j["predictions"])')
[ "${VERBOSE:-}" ] && echo "    $out"
check "200 concurrent clients: all 2000 answered with 500 predictions (got: $out)" test "$(jq_ "$out" 'j["status"].get("200", 0), j["answers"].get("500", 0)')" = "2000 2000"
used=0
for i in 0 1 2; do
        [ "$(metric sdflow_gateway_replica_requests_total "scaled-predictor-00001\",replica=\"$i\"")" -gt 0 ] && used=$((used + 1))
done
check "spread over more than one replica ($used of 3 got requests)" test "$used" -gt 1
check "the autoscaler wanted more than one" test "$(metric sdflow_gateway_desired_replicas scaled-predictor-00001)" -gt 1
check "sdflow get shows the replicas that ran" sh -c "'$SANDBOX' exec $SB sdflow -n team-s get isvc scaled | grep -Eq ' [23]/3 '"
stopped() { test -z "$(sbx systemctl list-units --state=active --no-legend 'sdflow_team-s_scaled_*.service')"; }
check "once the load is gone, unused replicas exit" wait_for 30 stopped

# --- canary: 20 % to the new revision, rollback, promotion ---------------------------------
isvc canary $M/xgboost-iris xgboost >"$W/canary-1.yaml"
isvc canary $M/xgboost-small xgboost "canaryTrafficPercent: 20" >"$W/canary-2.yaml"
isvc canary $M/xgboost-small xgboost "canaryTrafficPercent: 0" >"$W/canary-rollback.yaml"
isvc canary $M/xgboost-small xgboost >"$W/canary-promote.yaml"
as_alice sdflow apply -f "$W/canary-1.yaml" >/dev/null
old=$(gw canary /v1/models/canary:predict "$W/iris-v1.json")
check "a canary of 20 % is applied" as_alice sdflow apply -f "$W/canary-2.yaml"
check "sdflow get shows PREV 80, LATEST 20" sh -c "'$SANDBOX' exec $SB sdflow -n team-s get isvc canary | grep -q 'True  *80  *20  *canary-predictor-00002'"
new=$(gw canary /v1/models/canary:predict "$W/iris-v1.json")
[ "$new" = "$old" ] && new=$(gw canary /v1/models/canary:predict "$W/iris-v1.json")
key='round(j["predictions"][0][1], 4)'
v_old=$(jq_ "${old% 200}" "$key")
out=$(load canary "$W/iris-v1.json" 8 1000 "$key")
[ "${VERBOSE:-}" ] && echo "    $out"
n_new=$(jq_ "$out" "sum(v for k, v in j['answers'].items() if k != '$v_old')")
n_old=$(jq_ "$out" "j['answers'].get('$v_old', 0)")
check "the canary got 20 ± 5 % of 1000 requests ($n_new new, $n_old old)" test "$n_new" -ge 150 -a "$n_new" -le 250 -a $((n_new + n_old)) = 1000
check "rollback (canaryTrafficPercent: 0) is applied" as_alice sdflow apply -f "$W/canary-rollback.yaml"
out=$(load canary "$W/iris-v1.json" 8 200 "$key")
[ "${VERBOSE:-}" ] && echo "    $out"
check "rollback restores 100 % to the previous revision" test "$(jq_ "$out" "j['answers'].get('$v_old', 0)")" = 200
check "promotion (no canaryTrafficPercent) is applied" as_alice sdflow apply -f "$W/canary-promote.yaml"
out=$(load canary "$W/iris-v1.json" 8 200 "$key")
[ "${VERBOSE:-}" ] && echo "    $out"
check "promotion sends 100 % to the new revision" test "$(jq_ "$out" "j['answers'].get('$v_old', 0)")" = 0
check "... and revision 1 is retired" test "$(jq_ "$(sbx sdflow -n team-s get isvc canary -o json)" 'j["status"]["retiredRevisions"][0]["name"]')" = canary-predictor-00001

# --- readiness gating: a revision that never answers gets no traffic -----------------------
isvc canary $M/corrupt xgboost >"$W/canary-bad.yaml"
as_alice sdflow apply -f "$W/canary-bad.yaml" >/dev/null 2>&1
out=$(sbx sdflow -n team-s get isvc canary -o wide)
check "a revision whose model is corrupt is not ready, and says why" grep -q 'False .*canary-predictor-00002 .*RevisionNotReady' <<<"$out"
out=$(gw canary /v1/models/canary:predict "$W/iris-v1.json")
check "the revision before keeps serving" test "${out##* }" = 200
check "the revision retired by the change before is gone now" test -z "$(sbx systemctl list-units --all --no-legend 'sdflow_team-s_canary_1_*')"
check "the logs name the problem" sh -c "'$SANDBOX' exec $SB runuser -u alice -- sdflow -n team-s logs isvc/canary --tail=50 | grep -q 'canary_3_0.*model'"

# --- containerConcurrency: a bounded queue, 503 when it is full ----------------------------
LIMITS="cpu: 200m" isvc limited $M/xgboost-iris xgboost "maxReplicas: 1" "containerConcurrency: 1" >"$W/limited.yaml"
as_alice sdflow apply -f "$W/limited.yaml" >/dev/null
out=$(load limited "$W/heavy.json" 60 600 'len(j["predictions"])')
[ "${VERBOSE:-}" ] && echo "    $out"
n200=$(jq_ "$out" 'j["status"].get("200", 0)')
n503=$(jq_ "$out" 'j["status"].get("503", 0)')
check "over containerConcurrency with a full queue: 503s ($n503) and answers ($n200), nothing else" \
        test "$n503" -gt 0 -a "$n200" -gt 0 -a $((n200 + n503)) = 600
check "the 503 says why" grep -q 'queue is full' <<<"$out"
check "nothing is left in flight or queued" test "$(metric sdflow_gateway_inflight_requests limited-predictor)/$(metric sdflow_gateway_queued_requests limited-predictor)" = 0/0

# --- a custom server (predictor.containers[]) ------------------------------------------------
# A server that listens on TCP, as KServe's custom containers do, on the
# host's root (the image map sends python:* there).
sbx mkdir -p /srv/custom
sbx sh -c 'cat >/srv/custom/server.py' <<'PY'
import http.server, json, os, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, obj):
        b = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def do_GET(self):
        self.answer({"ready": True})
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.answer({"predictions": [sum(r) for r in req["instances"]], "greeting": os.environ["GREETING"]})
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
cat >"$W/custom.yaml" <<YAML
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: custom
  namespace: team-s
  annotations: {autoscaling.knative.dev/scale-to-zero-pod-retention-period: "2s"}
spec:
  predictor:
    containers:
    - name: kserve-container
      image: python:3.11
      command: [/usr/bin/python3, /srv/custom/server.py]
      args: ["8081"]
      env: [{name: GREETING, value: hello}]
      ports: [{containerPort: 8081}]
YAML
check "a custom container is applied" as_alice sdflow apply -f "$W/custom.yaml"
check "it is Ready" sh -c "'$SANDBOX' exec $SB sdflow -n team-s get isvc custom | grep -q 'True  *100  *custom-predictor-00001'"
out=$(gw custom /v1/models/custom:predict "$W/iris-v1.json")
check "it answers through the gateway, with its env" test "$out" = '{"predictions": [15.799999999999999, 15.5], "greeting": "hello"} 200'
check "the server runs as the namespace user" test "$(sbx systemctl show -P User sdflow_team-s_custom_1_0-server.service)" = sdflow-team-s
check "... in the namespace slice" test "$(sbx systemctl show -P Slice sdflow_team-s_custom_1_0-server.service)" = 'sdflow-team\x2ds.slice'
check "with no network but its own loopback" test "$(sbx systemctl show -P PrivateNetwork sdflow_team-s_custom_1_0-server.service)" = yes
custom_down() { test "$(sbx systemctl is-active sdflow_team-s_custom_1_0.service sdflow_team-s_custom_1_0-server.service | sort -u)" = inactive; }
check "after the idle time, forwarder and server are both gone (scaled to zero)" wait_for 30 custom_down
out=$(gw custom /v1/models/custom:predict "$W/iris-v1.json")
check "the next request starts both again and is answered" test "$out" = '{"predictions": [15.799999999999999, 15.5], "greeting": "hello"} 200'
sed 's|image: python:3.11|image: example.org/unknown:1|' "$W/custom.yaml" >"$W/custom-unmapped.yaml"
msg=$(as_alice sdflow apply -f "$W/custom-unmapped.yaml" 2>&1)
[ "${VERBOSE:-}" ] && echo "    $msg"
check "an image the image map does not know is refused, naming the field, the image and the map" grep -q "spec.predictor.containers\[0\].image: image 'example.org/unknown:1' is not in the image map /etc/sdflow/images.conf" <<<"$msg"
out=$(gw custom /v1/models/custom:predict "$W/iris-v1.json")
check "... and the revision before keeps serving" test "${out##* }" = 200

# --- a reboot: transient units are gone, sdflowd starts them again ---------------------------
# Stopped until none is left: a unit may still be going down, or be woken by a
# last connection, when the first stop returns.
gone() {
        sbx sh -c "systemctl stop 'sdflow_team-s_*'; systemctl reset-failed 'sdflow_team-s_*'" >/dev/null 2>&1
        test -z "$(sbx systemctl list-units --all --no-legend 'sdflow_team-s_*')"
}
check "(as after a reboot) no replica unit is left" wait_for 20 gone
sbx systemctl restart sdflowd.service
check "sdflowd starts the replicas' sockets again" wait_for 30 is_state sdflow_team-s_sklearn-iris_2_0.socket active
check "... of every revision with traffic (the canary's too)" is_state sdflow_team-s_canary_2_0.socket active
out=$(gw sklearn-iris /v1/models/sklearn-iris:predict "$W/iris-v1.json")
check "and the models answer as before" test "$out" = '{"predictions":[1,1]} 200'
out=$(gw custom /v1/models/custom:predict "$W/iris-v1.json")
check "... the custom container too" test "$out" = '{"predictions": [15.799999999999999, 15.5], "greeting": "hello"} 200'

# --- bearer tokens per namespace -----------------------------------------------------------
sbx useradd -m bob
sed 's/team-s/team-t/; s/name: alice/name: bob/' "$W/profile.yaml" >"$W/profile-t.yaml"
sbx sdflow apply -f "$W/profile-t.yaml" >/dev/null
sbx runuser -u bob -- /usr/bin/python3 "$TOP/examples/models/train-iris-xgboost.py" /home/bob/iris >/dev/null
isvc private /home/bob/iris xgboost | sed 's/team-s/team-t/' >"$W/private.yaml"
sbx runuser -u bob -- sdflow apply -f "$W/private.yaml" >/dev/null
code() { # ISVC NAMESPACE [TOKEN]
        sbx curl -sS -o /dev/null -w '%{http_code}' -H "Host: $1.$2.example.com" ${3:+-H "Authorization: Bearer $3"} \
                --data-binary @"$W/iris-v1.json" "http://127.0.0.1:8080/v1/models/$1:predict"
}
check "a namespace without tokens is open" test "$(code private team-t)" = 200
tb=$(sbx runuser -u bob -- sdflow token create team-t ci)
ts=$(as_alice sdflow token create team-s web)
check "the owner creates a token (shown once, 64 hex digits)" grep -Eq '^[0-9a-f]{64}$' <<<"$tb"
check "another user cannot make one in that namespace" sh -c "! '$SANDBOX' exec $SB runuser -u alice -- sdflow token create team-t mine"
check "the list shows names, never the token" sh -c "'$SANDBOX' exec $SB runuser -u bob -- sdflow token list team-t | grep -q '^ci ' && ! '$SANDBOX' exec $SB runuser -u bob -- sdflow token list team-t | grep -q '$tb'"
check "with tokens, a request without one gets 401" test "$(code private team-t)" = 401
check "... and one with another namespace's token too" test "$(code private team-t "$ts")" = 401
fake=${tb%?}$([ "${tb: -1}" = 0 ] && echo 1 || echo 0)
check "... and a made-up one" test "$(code private team-t "$fake")" = 401
check "the namespace's own token is let through" test "$(code private team-t "$tb")" = 200
check "by path too" test "$(sbx curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tb" --data-binary @"$W/iris-v1.json" http://127.0.0.1:8080/serving/team-t/private/v1/models/private:predict)" = 200
check "team-s now asks for its token as well" test "$(code canary team-s)/$(code canary team-s "$ts")" = 401/200
check "the owner revokes it" sbx runuser -u bob -- sdflow token delete team-t ci
sbx runuser -u bob -- sdflow token create team-t other >/dev/null
check "a revoked token is refused" test "$(code private team-t "$tb")" = 401

# --- metrics ---------------------------------------------------------------------------------
sbx curl -sS -H "Authorization: Bearer $MT" http://127.0.0.1:8080/metrics >"$W/metrics"
check "/metrics is Prometheus text: requests by revision and code" grep -q '^sdflow_gateway_requests_total{namespace="team-s",isvc="canary",revision="canary-predictor-00002",code="200"} [1-9]' "$W/metrics"
check "... with their types" grep -q '^# TYPE sdflow_gateway_requests_total counter' "$W/metrics"
check "... a latency histogram" grep -q '^sdflow_gateway_request_duration_seconds_bucket{namespace="team-s",isvc="canary",revision="canary-predictor-00002",le="+Inf"} [1-9]' "$W/metrics"
check "... in-flight requests" grep -q '^sdflow_gateway_inflight_requests{namespace="team-s",isvc="scaled"' "$W/metrics"
check "... and cold starts" grep -q '^sdflow_gateway_cold_starts_total{namespace="team-s",isvc="scaled",revision="scaled-predictor-00001"} [1-9]' "$W/metrics"
# /metrics names namespaces and InferenceServices: not for strangers.
sbx curl -sS -w ' %{http_code}' http://127.0.0.1:8080/metrics >"$W/metrics-none"
check "/metrics without a token: 401, and no namespace named" sh -c "grep -q ' 401\$' '$W/metrics-none' && ! grep -q 'team-' '$W/metrics-none'"
check "... with a wrong one too" test "$(sbx curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $fake" http://127.0.0.1:8080/metrics)" = 401
sbx curl -sS -H "Authorization: Bearer $ts" http://127.0.0.1:8080/metrics >"$W/metrics-s"
check "a namespace's token shows that namespace's series" grep -q '^sdflow_gateway_requests_total{namespace="team-s"' "$W/metrics-s"
check "... and no other namespace's, nor the gateway's own" sh -c "! grep -q 'namespace=\"team-t\"\|^sdflow_gateway_unrouted' '$W/metrics-s'"
check "the administrator's token shows every namespace" grep -q 'namespace="team-t"' "$W/metrics"
check "the gateway never restarted" test "$(sbx systemctl show -P NRestarts sdflow-gateway.service)" = 0
finish
