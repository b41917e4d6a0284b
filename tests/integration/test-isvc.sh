#!/bin/bash
# An InferenceService (KServe's xgboost-iris sample, storageUri local) on a
# real systemd with the installed package: applied by the namespace owner,
# admitted against the Profile's quota, its model copied with the owner's
# permissions, one scaled-to-zero replica (socket + sdflow-serve service in
# the namespace slice, as the namespace user) that `sdflow predict` wakes;
# delete stops it; deleting the Profile removes the namespace's services.
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
/usr/bin/python3 -c 'import xgboost, sklearn' 2>/dev/null || skip "/usr/bin/python3 lacks python3-xgboost/python3-sklearn"
boot
install_deb
sbx systemctl enable --now sdflowd.socket >/dev/null 2>&1
sbx useradd -m alice
sbx sdflow apply -f "$TOP/examples/profile-team-a.yaml" >/dev/null
sbx runuser -u alice -- /usr/bin/python3 "$TOP/examples/models/train-iris-xgboost.py" /home/alice/iris >/dev/null
sbx chmod 0700 /home/alice
isvc() { # NAME URI CPU MEMORY
        printf 'apiVersion: "serving.kserve.io/v1beta1"\nkind: "InferenceService"\nmetadata:\n  name: "%s"\n  namespace: team-a\n  annotations:\n    autoscaling.knative.dev/scale-to-zero-pod-retention-period: "2s"\nspec:\n  predictor:\n    model:\n      modelFormat:\n        name: xgboost\n      protocolVersion: v2\n      storageUri: "%s"\n      resources: {limits: {cpu: %s, memory: %s}}\n' "$@"
}
as_alice() { sbx runuser -u alice -- "$@"; }
isvc xgboost-iris file:///home/alice/iris 500m 256Mi >"$TOP/build/it-isvc.yaml"
isvc big file:///home/alice/iris 2 256Mi >"$TOP/build/it-isvc-big.yaml"
isvc stolen file:///etc/shadow 100m 64Mi >"$TOP/build/it-isvc-stolen.yaml"
trap 'teardown; rm -f "$TOP"/build/it-isvc*.yaml "$TOP"/build/it-in.json' EXIT
printf '{"instances": [[6.2, 3.4, 5.4, 2.3], [5.1, 3.5, 1.4, 0.2]]}\n' >"$TOP/build/it-in.json"

check "alice applies the InferenceService" sh -c "'$SANDBOX' exec $SB runuser -u alice -- sdflow apply -f '$TOP/build/it-isvc.yaml' | grep -q created"
check "it is Ready, with its URL, all traffic on revision 1" sh -c "'$SANDBOX' exec $SB sdflow -n team-a get isvc xgboost-iris | grep -q 'http://xgboost-iris.team-a.example.com  *True  *100  *xgboost-iris-predictor-00001 '"
svc=sdflow_team-a_xgboost-iris_1_0.service
# The readiness check started it; it exits after the retention period (2 s).
check "scaled to zero after the readiness check: the replica service is inactive" wait_for 20 is_state "$svc" inactive
check "its socket listens" is_state sdflow_team-a_xgboost-iris_1_0.socket active
out=$(as_alice sdflow -n team-a predict xgboost-iris -f "$TOP/build/it-in.json")
check "predict wakes it and answers (virginica, then setosa)" /usr/bin/python3 -c "
import json,sys; p=json.loads(sys.argv[1])['predictions']
assert [r.index(max(r)) for r in p] == [2, 0], p" "$out"
check "the replica runs in the namespace slice" test "$(sbx systemctl show -P Slice "$svc")" = 'sdflow-team\x2da.slice'
check "as the namespace user" test "$(sbx ps -o user= -p "$(sbx systemctl show -P MainPID "$svc")")" = sdflow-team-a
check "with the predictor's limits (500m, 256Mi)" test "$(sbx systemctl show -P CPUQuotaPerSecUSec "$svc")/$(sbx systemctl show -P MemoryMax "$svc")" = "500ms/268435456"
check "with no network but its socket" test "$(sbx systemctl show -P PrivateNetwork "$svc")" = yes
check "confined by seccomp" sh -c "'$SANDBOX' exec $SB grep -q '^Seccomp:.*2' /proc/\$('$SANDBOX' exec $SB systemctl show -P MainPID $svc)/status"
# Through the gateway (TCP 8080): by Host, as KServe clients do, and by path.
sbx systemctl enable --now sdflow-gateway.socket >/dev/null 2>&1
out=$(sbx curl -sS -H 'Host: xgboost-iris.team-a.example.com' -d @"$TOP/build/it-in.json" http://127.0.0.1:8080/v1/models/xgboost-iris:predict)
check "the gateway routes by Host to the replica" /usr/bin/python3 -c "
import json,sys; p=json.loads(sys.argv[1])['predictions']
assert [r.index(max(r)) for r in p] == [2, 0], p" "$out"
out=$(sbx curl -sS -d '{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[6.2,3.4,5.4,2.3]}]}' http://127.0.0.1:8080/serving/team-a/xgboost-iris/v2/models/xgboost-iris/infer)
check "and by path, with the V2 protocol" grep -q '"model_name":"xgboost-iris"' <<<"$out"
check "an unknown host gets 404" test "$(sbx curl -sS -o /dev/null -w '%{http_code}' -H 'Host: nope.team-a.example.com' http://127.0.0.1:8080/v1/models/nope)" = 404
check "the gateway runs unprivileged in its own network namespace" test "$(sbx systemctl show -P PrivateNetwork sdflow-gateway.service)/$(sbx systemctl show -P User sdflow-gateway.service)" = yes/sdflow
out=$(as_alice sdflow -n team-a logs isvc/xgboost-iris --tail=5)
check "logs show the replica's start (from the journal)" grep -q 'sdflow_team-a_xgboost-iris_1_0.service: Serving model xgboost-iris' <<<"$out"
sbx useradd -m mallory
out=$(sbx runuser -u mallory -- sdflow -n team-a logs isvc/xgboost-iris 2>&1); rc=$?
check "another user cannot read them (403)" test "$rc" = 1 -a -n "$(grep -F 'Error from server (Forbidden)' <<<"$out")"
check "the model copy belongs to the namespace" test "$(sbx stat -c %U /var/lib/sdflow/ns/team-a/models/xgboost-iris/1/model.json)" = sdflow-team-a

out=$(as_alice sdflow apply -f "$TOP/build/it-isvc-big.yaml" 2>&1); rc=$?
check "over the quota: refused with the numbers" test "$rc" = 1 -a -n "$(grep -F 'exceeded quota: namespace team-a: cpu 2 exceeds what is left of the quota: 1 of 1500m (500m in use' <<<"$out")"
check "... and not stored" sh -c "! '$SANDBOX' exec $SB sdflow -n team-a get isvc big"
as_alice sdflow apply -f "$TOP/build/it-isvc-stolen.yaml" >/dev/null 2>&1
check "a file the owner cannot read is not served" sh -c "'$SANDBOX' exec $SB sdflow -n team-a get isvc stolen -o wide | grep -q 'False .*ModelCopyFailed'"
check "no copy of it exists" sbx test ! -e /var/lib/sdflow/ns/team-a/models/stolen/1/model.json

# KServe's own sample, unchanged (no resources), in a namespace with a
# quota: it gets KServe's defaults (cpu 1, memory 2Gi), and they count.
printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: team-k}\nspec:\n  owner: {kind: User, name: alice}\n  resourceQuotaSpec: {hard: {cpu: "2", memory: 4Gi}}\n' |
        sbx sdflow apply -f - >/dev/null
as_alice mkdir -p /var/tmp/sdflow-models
as_alice /usr/bin/python3 "$TOP/examples/models/train-iris-sklearn.py" /var/tmp/sdflow-models/sklearn-iris >/dev/null
check "KServe's sklearn-iris sample applies unchanged in a namespace with a quota" as_alice sdflow -n team-k apply -f "$TOP/examples/kserve/sklearn-iris.yaml"
check "... with KServe's default resources, stored" sh -c "'$SANDBOX' exec $SB sdflow -n team-k get isvc sklearn-iris -o json | /usr/bin/python3 -c \"
import json,sys; r=json.load(sys.stdin)['spec']['predictor']['model']['resources']
assert r=={'limits': {'cpu': '1', 'memory': '2Gi'}, 'requests': {'cpu': '1', 'memory': '2Gi'}}, r\""
check "... as its replica's limits" test "$(sbx systemctl show -P CPUQuotaPerSecUSec sdflow_team-k_sklearn-iris_1_0.service)/$(sbx systemctl show -P MemoryMax sdflow_team-k_sklearn-iris_1_0.service)" = "1s/2147483648"
check "re-applying it is unchanged" sh -c "'$SANDBOX' exec $SB runuser -u alice -- sdflow -n team-k apply -f '$TOP/examples/kserve/sklearn-iris.yaml' | grep -q unchanged"
sed 's/name: "sklearn-iris"/name: "second"/' "$TOP/examples/kserve/sklearn-iris.yaml" >"$TOP/build/it-isvc-second.yaml"
sed 's/name: "sklearn-iris"/name: "third"/' "$TOP/examples/kserve/sklearn-iris.yaml" >"$TOP/build/it-isvc-third.yaml"
check "a second one fits (2 of 2 CPUs)" as_alice sdflow -n team-k apply -f "$TOP/build/it-isvc-second.yaml"
out=$(as_alice sdflow -n team-k apply -f "$TOP/build/it-isvc-third.yaml" 2>&1)
check "a third is refused: the defaults count against the quota" grep -q 'exceeded quota: namespace team-k: cpu 1 exceeds what is left of the quota' <<<"$out"
sbx sdflow delete profile team-k --yes >/dev/null

check "alice deletes it" as_alice sdflow -n team-a delete isvc xgboost-iris
check "its units are gone" test -z "$(sbx systemctl list-units --all --no-legend 'sdflow_team-a_xgboost-iris_*')"
check "its model is gone" sbx test ! -e /var/lib/sdflow/ns/team-a/models/xgboost-iris
gone() { test "$(sbx curl -sS -o /dev/null -w '%{http_code}' -H 'Host: xgboost-iris.team-a.example.com' -d @"$TOP/build/it-in.json" http://127.0.0.1:8080/v1/models/xgboost-iris:predict)" = 404; }
# The gateway looks at the route table at most once a second.
check "and the gateway no longer routes to it" wait_for 10 gone
as_alice sdflow apply -f "$TOP/build/it-isvc.yaml" >/dev/null
check "deleting the Profile removes the namespace's InferenceServices" sh -c "'$SANDBOX' exec $SB sdflow delete profile team-a --yes >/dev/null && test -z \"\$('$SANDBOX' exec $SB sdflow get isvc -A -o name)\""
check "... and their units" test -z "$(sbx systemctl list-units --all --no-legend 'sdflow_team-a_*')"
finish
