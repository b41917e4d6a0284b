#!/bin/bash
# Nothing holds the control plane while a model loads: a custom container
# that takes 30 s to answer its readiness check is applied (the apply
# returns when it is ready), and meanwhile 100 `get`s are answered, a watch
# delivers another object's change, and a running pipeline's steps go on.
# Then the same while a server that ignores SIGTERM holds its stop (its
# InferenceService deleted), and while a step that does holds its
# namespace's deletion (the delete answered when the namespace is gone).
# The numbers are printed, not asserted (a test never asserts a timing):
# what is asserted is that all of it happened while the slow thing waited.
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
boot
install_deb
W=$TOP/build/it-responsive
rm -rf "$W" && mkdir -p "$W"
trap 'teardown; rm -rf "$W"' EXIT
sbx systemctl enable --now sdflowd.socket >/dev/null 2>&1
sbx useradd -m alice
as_alice() { sbx runuser -u alice -- "$@"; }
# latency WHAT FILE: the p50/p99/max of curl's times in FILE ("CODE SECONDS" lines).
latency() {
        /usr/bin/python3 -c '
import sys
t = sorted(float(l.split()[1]) * 1000 for l in open(sys.argv[2]) if l.startswith("200 "))
if t:
    print("      get while %s: %d answered, p50 %.1f ms, p99 %.1f ms, max %.1f ms"
          % (sys.argv[1], len(t), t[len(t) // 2], t[min(len(t) - 1, int(len(t) * 0.99))], t[-1]))' "$1" "$2"
}
printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: team-r}\nspec:\n  owner: {kind: User, name: alice}\n' >"$W/p.yaml"
sbx sdflow apply -f "$W/p.yaml" >/dev/null

# A pipeline of six one-second steps, one after the other.
cat >"$W/steps.yaml" <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: steady, namespace: team-r}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - [{name: s1, template: tick}]
    - [{name: s2, template: tick}]
    - [{name: s3, template: tick}]
    - [{name: s4, template: tick}]
    - [{name: s5, template: tick}]
    - [{name: s6, template: tick}]
  - name: tick
    container: {image: debian:12, command: [sleep, "1"]}
EOF
# The slow server: it listens only after 30 s.
cat >"$W/slow.yaml" <<'EOF'
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: slow, namespace: team-r}
spec:
  predictor:
    containers:
    - name: kserve-container
      image: debian:12
      command: [sh, -c, "sleep 30; exec /usr/bin/python3 -m http.server 8081"]
      ports: [{containerPort: 8081}]
      readinessProbe: {httpGet: {path: /, port: 8081}}
EOF
printf 'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: other, namespace: team-r}\nspec:\n  entrypoint: s\n  templates:\n  - name: s\n    container: {image: debian:12, command: ["true"]}\n' >"$W/other.yaml"

sbx sh -c "curl -sSN --max-time 90 --unix-socket /run/sdflow/api.sock \
        'http://x/apis/argoproj.io/v1alpha1/namespaces/team-r/workflows?watch=1&timeoutSeconds=90' >/run/watch.out 2>&1 &"
as_alice sdflow apply -f "$W/steps.yaml" >/dev/null
succeeded() { sbx sdflow -n team-r get wf steady -o json | /usr/bin/python3 -c "
import json,sys; n=json.load(sys.stdin).get('status',{}).get('nodes',{})
print(sum(1 for x in n.values() if x.get('type')=='Pod' and x.get('phase')=='Succeeded'))"; }
# The apply, in the background; its end is recorded.
start=$(date +%s.%N)
( as_alice sdflow apply -f "$W/slow.yaml" >"$W/apply.out" 2>&1; date +%s.%N >"$W/apply.end" ) &
apply_pid=$!
sleep 1
steps_before=$(succeeded)
# 100 gets of another object, timed by curl.
sbx sh -c 'for i in $(seq 100); do curl -sS -o /dev/null -w "%{http_code} %{time_total}\n" --unix-socket /run/sdflow/api.sock \
        http://x/apis/kubeflow.org/v1/profiles/team-r; done' >"$W/gets"
as_alice sdflow apply -f "$W/other.yaml" >/dev/null
sleep 6
steps_during=$(succeeded)
watched_other=$(sbx grep -c '"name":"other"' /run/watch.out)
pending=$(sbx sdflow -n team-r get isvc slow -o json | /usr/bin/python3 -c "
import json,sys; c=[c for c in json.load(sys.stdin)['status']['conditions'] if c['type']=='Ready'][0]; print(c['status'], c['reason'])")
still_applying=no
kill -0 "$apply_pid" 2>/dev/null && still_applying=yes
latency "a readiness check waits" "$W/gets"
check "the apply of the slow server was still waiting after all of that" test "$still_applying" = yes
check "... and its InferenceService said so meanwhile (Ready Unknown, Deploying: $pending)" test "$pending" = "Unknown Deploying"
check "100 gets of another object were answered meanwhile" test "$(grep -c '^200 ' "$W/gets")" = 100
check "a watch delivered another workflow's creation meanwhile" test "${watched_other:-0}" -ge 1
check "a running pipeline's steps went on meanwhile ($steps_before, then $steps_during of 6 done)" test "$steps_during" -gt "$steps_before"
wait "$apply_pid"
end=$(cat "$W/apply.end" 2>/dev/null || echo "$start")
echo "      the apply returned after $(/usr/bin/python3 -c "print('%.1f' % ($end - $start))") s (the server listens after 30 s)"
check "the apply returns when the server is ready" grep -q 'inferenceservice.serving.kserve.io/slow created' "$W/apply.out"
check "... Ready True" sh -c "'$SANDBOX' exec $SB sdflow -n team-r get isvc slow -o json | grep -q '\"reason\": \"RevisionReady\"'"
# A revision that never answers: not ready, with the reason, in its time.
sed -e 's/name: slow,/name: mute,/' -e 's/sleep 30; exec \/usr\/bin\/python3 -m http.server 8081/exit 3/' "$W/slow.yaml" >"$W/mute.yaml"
as_alice sdflow apply -f "$W/mute.yaml" >/dev/null 2>&1
check "a server that exits: not Ready, with the readiness check's reason" sh -c "'$SANDBOX' exec $SB sdflow -n team-r get isvc mute -o json | grep -q 'RevisionNotReady'"
# A replica whose socket cannot listen (a directory holds its path): its
# start job fails on the loop, and the apply is answered with systemd's
# reason, not after the readiness check's time.
sed -e 's/name: slow,/name: taken,/' -e 's/sleep 30; //' "$W/slow.yaml" >"$W/taken.yaml"
sbx mkdir -p /run/sdflow/ns/team-r/taken-1-0.sock/in-the-way
t0=$(date +%s.%N)
as_alice sdflow apply -f "$W/taken.yaml" >/dev/null 2>&1
t1=$(date +%s.%N)
taken=$(sbx sdflow -n team-r get isvc taken -o json | /usr/bin/python3 -c "
import json,sys; c=[c for c in json.load(sys.stdin)['status']['conditions'] if c['type']=='Ready'][0]; print(c['status'], c['reason'], c['message'])")
echo "      a replica whose socket cannot listen: the apply returned after $(/usr/bin/python3 -c "print('%.1f' % ($t1 - $t0))") s: $taken"
check "a replica whose socket cannot listen: not Ready, ReplicaFailed" test "${taken%% *}/$(cut -d' ' -f2 <<<"$taken")" = False/ReplicaFailed
check "... and the message is systemd's reason, naming the socket and the cause" grep -q 'the socket sdflow_team-r_taken_1_0.socket did not start (failed): .*Address already in use' <<<"$taken"
sbx rm -rf /run/sdflow/ns/team-r/taken-1-0.sock
as_alice sdflow -n team-r delete isvc taken >/dev/null 2>&1

# sdflowd killed while a check waits: the next one checks again.
sed -e 's/name: slow,/name: later,/' -e 's/sleep 30/sleep 8/' "$W/slow.yaml" >"$W/later.yaml"
( as_alice sdflow apply -f "$W/later.yaml" >/dev/null 2>&1 ) &
later_pid=$!
sleep 3
sbx systemctl kill -s KILL sdflowd.service
wait "$later_pid" 2>/dev/null
sbx sdflow version >/dev/null 2>&1 # socket activation starts it again
ready_later() { sbx sdflow -n team-r get isvc later -o json | grep -q '"reason": "RevisionReady"'; }
check "sdflowd killed during a readiness check: after the restart the check is made again, and it is Ready" wait_for 60 ready_later

# A model whose loading makes its server ignore SIGTERM (a joblib file is a
# pickle: it runs code as it loads).  Deleting its InferenceService stops
# the server, which holds its stop for TimeoutStopSec= (90 s): the control
# plane does not wait with it.
as_alice mkdir -p /var/tmp/stubborn
as_alice /usr/bin/python3 -c "
import joblib, operator, signal
from sklearn import datasets, svm
X, y = datasets.load_iris(return_X_y=True)
clf = svm.SVC(gamma='scale').fit(X, y)
class Ignore:
    def __reduce__(self): return (signal.signal, (signal.SIGTERM, 1))  # SIG_IGN
class Model:
    def __reduce__(self): return (operator.getitem, ([Ignore(), clf], 1))
joblib.dump(Model(), '/var/tmp/stubborn/model.joblib')"
printf 'apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: stubborn, namespace: team-r}\nspec:\n  predictor:\n    sklearn: {storageUri: "file:///var/tmp/stubborn"}\n' >"$W/stubborn.yaml"
as_alice sdflow apply -f "$W/stubborn.yaml" >/dev/null
svc=sdflow_team-r_stubborn_1_0.service
stubborn_up() { [ "$(sbx systemctl show -P ActiveState "$svc")" = active ]; }
check "a server that ignores SIGTERM is up" wait_for 60 stubborn_up
ignores_term() {
        local mask
        mask=$(sbx sh -c "awk '/^SigIgn:/ { print \$2 }' /proc/\$(systemctl show -P MainPID $svc)/status")
        (( (16#${mask:-0} >> 14) & 1 ))
}
check "... and ignores it (SigIgn has SIGTERM)" ignores_term
check "its InferenceService is deleted" as_alice sdflow -n team-r delete isvc stubborn
sbx sh -c 'for i in $(seq 100); do curl -sS -o /dev/null -w "%{http_code} %{time_total}\n" --unix-socket /run/sdflow/api.sock \
        http://x/apis/kubeflow.org/v1/profiles/team-r; done' >"$W/gets-stop"
state=$(sbx systemctl show -P ActiveState "$svc")
latency "a server holds its stop" "$W/gets-stop"
check "100 gets were answered while the server was still stopping ($state)" test "$(grep -c '^200 ' "$W/gets-stop")/$state" = 100/deactivating
sbx systemctl kill -s KILL "$svc"
gone() { [ "$(sbx systemctl show -P LoadState "$svc")" = not-found ]; }
check "killed, its unit is gone" wait_for 30 gone
check "sdflowd logged no failed stop" sh -c "! '$SANDBOX' exec $SB journalctl -q -o cat -u sdflowd.service | grep -q 'Stopping $svc'"

# A namespace whose step ignores SIGTERM: deleting its Profile stops the
# slice, which waits for that step; the control plane answers meanwhile,
# the namespace takes nothing new, and the delete is answered when the
# namespace has gone.
printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: team-d}\nspec:\n  owner: {kind: User, name: alice}\n' >"$W/pd.yaml"
sbx sdflow apply -f "$W/pd.yaml" >/dev/null
printf 'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: deaf, namespace: team-d}\nspec:\n  entrypoint: s\n  templates:\n  - name: s\n    container: {image: debian:12, command: [sh, -c, "trap \\"\\" TERM; sleep 600 & wait; sleep 600"]}\n' >"$W/deaf.yaml"
as_alice sdflow apply -f "$W/deaf.yaml" >/dev/null
dslice='sdflow-team\x2dd.slice'
step_runs() { sbx systemctl list-units --state=activating,active --plain --no-legend 'sdflowwf_team-d_*' | grep -q .; }
check "a step that ignores SIGTERM runs in team-d" wait_for 60 step_runs
dstep=$(sbx systemctl list-units --state=activating,active --plain --no-legend 'sdflowwf_team-d_*' | awk 'NR == 1 { print $1 }')
( sbx sdflow delete profile team-d --yes >"$W/pdel.out" 2>&1; echo "rc=$?" >>"$W/pdel.out" ) &
pdel_pid=$!
sleep 2
sbx sh -c 'for i in $(seq 100); do curl -sS -o /dev/null -w "%{http_code} %{time_total}\n" --unix-socket /run/sdflow/api.sock \
        http://x/apis/kubeflow.org/v1/profiles/team-r; done' >"$W/gets-del"
out=$(as_alice sdflow apply -f "$W/deaf.yaml" 2>&1)
dstate=$(sbx systemctl show -P ActiveState "$dstep")
latency "a namespace's step holds its deletion" "$W/gets-del"
deleting=no
kill -0 "$pdel_pid" 2>/dev/null && deleting=yes
check "100 gets were answered while the namespace's step was stopping ($dstate)" test "$(grep -c '^200 ' "$W/gets-del")/$dstate" = 100/deactivating
check "... the delete was still waiting for it" test "$deleting" = yes
check "... and the namespace took nothing new (as a terminating one)" grep -q 'being terminated' <<<"$out"
check "... nor its Profile again" sh -c "! '$SANDBOX' exec $SB sdflow apply -f '$W/pd.yaml' >/dev/null 2>&1"
sbx systemctl kill -s KILL "$dslice"
wait "$pdel_pid"
echo "      the delete said: $(tr '\n' ' ' <"$W/pdel.out")"
check "killed, the delete is answered" grep -q '^rc=0' "$W/pdel.out"
check "... the Profile is gone" sh -c "! '$SANDBOX' exec $SB sdflow get profile team-d >/dev/null 2>&1"
check "... and its user" sh -c "! '$SANDBOX' exec $SB id sdflow-team-d >/dev/null 2>&1"
finish
