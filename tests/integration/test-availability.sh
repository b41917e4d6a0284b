#!/bin/bash
# Nobody takes the control plane down for everyone: recursive workflows in
# the shape of Argo's coinflip examples run to Argo's phase, runaway ones
# end at a named limit; an object that crashes sdflowd is quarantined after
# two deaths while the other namespaces carry on; a crash loop never leaves
# the API or gateway socket failed; one user's watches and connections, a
# FIFO or huge sparse file as a model, big objects, half-open connections
# and token guessing each meet a limit that names itself; an interrupted
# apply is finished at the next start; a "reboot" with only the sockets
# brings back models and timers without any sdflow command.
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
/usr/bin/python3 -c 'import xgboost, sklearn' 2>/dev/null || skip "/usr/bin/python3 lacks python3-xgboost/python3-sklearn"
boot
install_deb
W=$TOP/build/it-availability
rm -rf "$W" && mkdir -p "$W"
trap 'teardown; rm -rf "$W"' EXIT
# The fault switch, for the poison objects; a small namespace limit, to reach it.
sbx sh -c 'printf "DebugFaults = 1\nMaxNamespaceBytes = 24M\n" >>/etc/sdflow/sdflowd.conf'
sbx systemctl enable --now sdflowd.socket sdflow-gateway.socket >/dev/null 2>&1
sbx useradd -m alice
sbx useradd -m bob
for p in "team-a alice" "team-b bob"; do
        set -- $p
        printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: %s}\nspec:\n  owner: {kind: User, name: %s}\n' "$1" "$2" >"$W/profile-$1.yaml"
        sbx sdflow apply -f "$W/profile-$1.yaml" >/dev/null
done
as() { local u=$1; shift; sbx runuser -u "$u" -- "$@"; }
FLOOD="/usr/bin/python3 $TOP/tests/integration/flood.py"
restarts() { sbx systemctl show -P NRestarts "$1"; }
wf_phase() { sbx sdflow -n "$1" get wf "$2" -o json 2>/dev/null | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin).get('status',{}).get('phase',''))" 2>/dev/null; }
wf_msg() { sbx sdflow -n "$1" get wf "$2" -o json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['status'].get('message',''))"; }
wf_done() { case $(wf_phase "$1" "$2") in Succeeded|Failed|Error) return 0 ;; esac; return 1; }
jfield() { /usr/bin/python3 -c "import json,sys; j=json.loads(sys.argv[1]); print($2)" "$1"; }
api_up() { sbx sdflow version >/dev/null 2>&1; }

# --- 1. Argo's coinflip shapes: recursive steps, and a DAG of them with when ---------------
# Written here in the shape of argo-workflows' examples/coinflip-recursive.yaml
# and dag-coinflip.yaml (which sdflowd crashed on: every flip after a cached
# tails was tails, and one pass recursed until the stack ran out).
COIN='  - name: coinflip
    steps:
    - - name: flip-coin
        template: flip-coin
    - - name: heads
        template: heads
        when: "{{steps.flip-coin.outputs.result}} == heads"
      - name: tails
        template: coinflip
        when: "{{steps.flip-coin.outputs.result}} == tails"
  - name: flip-coin
    script:
      image: python:alpine3.23
      command: [python]
      source: |
        import random
        print(SIDE)
  - name: heads
    container:
      image: busybox
      command: [sh, -c]
      args: ["echo \"it was heads\""]'
coin() { # FILE ENTRYPOINT SIDE-EXPRESSION [TEMPLATES-BEFORE]
        { printf 'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: %s-\nspec:\n  entrypoint: %s\n  templates:\n' "$2" "$2"
          [ -z "${4:-}" ] || printf '%s\n' "$4"
          printf '%s\n' "${COIN/SIDE/$3}"; } >"$1"
}
DIAMOND='  - name: diamond
    dag:
      tasks:
      - {name: A, template: coinflip}
      - {name: B, depends: A, template: coinflip}
      - {name: C, depends: A, template: coinflip}
      - {name: D, depends: "B && C", template: coinflip}'
coin "$W/coinflip.yaml" coinflip '"heads" if random.randint(0,1) == 0 else "tails"'
coin "$W/dag-coinflip.yaml" diamond '"heads" if random.randint(0,1) == 0 else "tails"' "$DIAMOND"
coin "$W/always-tails.yaml" coinflip '"tails"'
r0=$(restarts sdflowd.service)
runs=()
for i in 1 2 3; do
        for f in coinflip dag-coinflip; do
                runs+=("$(as alice sdflow -n team-a submit -f "$W/$f.yaml" | sed -n 's|^workflow.argoproj.io/\(.*\) created$|\1|p')")
        done
done
tails=$(as alice sdflow -n team-a submit -f "$W/always-tails.yaml" | sed -n 's|^workflow.argoproj.io/\(.*\) created$|\1|p')
all_done() { for w in "${runs[@]}" "$tails"; do wf_done team-a "$w" || return 1; done; }
check "coinflip shapes: six runs and a coin that always lands tails all end" wait_for 240 all_done
ok_runs=0
for w in "${runs[@]}"; do [ "$(wf_phase team-a "$w")" = Succeeded ] && ok_runs=$((ok_runs + 1)); done
check "coinflip shapes: recursive steps and the recursive DAG end Succeeded, as in Argo ($ok_runs of 6)" test "$ok_runs" = 6
flips=$(sbx sdflow -n team-a get wf -o json | /usr/bin/python3 -c "
import json,sys
runs=set(sys.argv[1].split())
f=[n for w in json.load(sys.stdin)['items'] if w['metadata']['name'] in runs for n in w['status']['nodes'].values() if n['displayName']=='flip-coin']
print(len(f), sum(1 for n in f if n.get('outputs',{}).get('result')=='tails'), sum(1 for n in f if 'sdflowCachedFrom' in n))" "${runs[*]}")
echo "      coin flips in the six runs, tails among them, taken from the cache: $flips"
check "coinflip shapes: every flip ran (none from the cache, as in Argo), and some said tails" test "$(cut -d' ' -f3 <<<"$flips")" = 0 -a "$(cut -d' ' -f2 <<<"$flips")" -ge 1
check "a coin that always lands tails ends Failed at Argo's recursion limit, naming it" sh -c "[ \"\$('$SANDBOX' exec $SB sdflow -n team-a get wf $tails -o json | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin)[\"status\"]; print(s[\"phase\"], \"Maximum recursion depth exceeded\" in s[\"message\"])')\" = 'Failed True' ]"
check "... and sdflowd never restarted" test "$(restarts sdflowd.service)" = "$r0"

# --- 2. bad input: runaway templates, huge loops, huge parameters, huge objects ------------
cat >"$W/self.yaml" <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: self-steps}
spec:
  entrypoint: a
  templates:
  - name: a
    steps:
    - - {name: again, template: a}
EOF
sed 's/self-steps/self-dag/; s/    steps:/    dag:\n      tasks:/; s/    - - {name: again, template: a}/      - {name: again, template: a}/' "$W/self.yaml" >"$W/self-dag.yaml"
cat >"$W/grow.yaml" <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: grow}
spec:
  entrypoint: a
  templates:
  - name: a
    retryStrategy: {limit: 2}
    steps:
    - - {name: again, template: a}
EOF
/usr/bin/python3 - "$W" <<'EOF'
import json, sys
w = sys.argv[1]
def wf(name, extra_args, step):
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": name},
            "spec": {"entrypoint": "a", "arguments": {"parameters": extra_args}, "templates": [
                {"name": "a", "steps": [[step]]},
                {"name": "p", "inputs": {"parameters": [{"name": "v", "default": "x"}]},
                 "container": {"image": "busybox", "command": ["echo", "{{inputs.parameters.v}}"]}}]}}
json.dump(wf("items", [], {"name": "p", "template": "p", "withItems": list(range(100000))}), open(w + "/items.json", "w"))
json.dump(wf("bigparam", [{"name": "v", "value": "p" * (1 << 20)}],
             {"name": "p", "template": "p", "arguments": {"parameters": [{"name": "v", "value": "{{workflow.parameters.v}}"}]}}),
          open(w + "/bigparam.json", "w"))
json.dump(wf("huge", [{"name": "v", "value": "h" * (2 << 20)}], {"name": "p", "template": "p"}), open(w + "/huge.json", "w"))
EOF
for f in self self-dag grow; do as alice sdflow -n team-a apply -f "$W/$f.yaml" >/dev/null; done
for f in items bigparam; do as alice sdflow -n team-a apply -f "$W/$f.json" >/dev/null; done
bad_done() { for w in self-steps self-dag grow items bigparam; do wf_done team-a $w || return 1; done; }
check "bad input: five runaway or oversized workflows all end" wait_for 120 bad_done
check "a steps template calling itself ends at the recursion limit" sh -c "'$SANDBOX' exec $SB sdflow -n team-a get wf self-steps -o json | grep -q 'Maximum recursion depth exceeded'"
check "a DAG calling itself ends at the recursion limit" sh -c "'$SANDBOX' exec $SB sdflow -n team-a get wf self-dag -o json | grep -q 'Maximum recursion depth exceeded'"
check "a retried template calling itself (3^50 attempts) ends at the node limit, naming it" sh -c "[ \"\$('$SANDBOX' exec $SB sdflow -n team-a get wf grow -o json | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin)[\"status\"]; print(s[\"phase\"], \"limit of 10000 nodes\" in s[\"message\"], len(s[\"nodes\"]) <= 10300)')\" = 'Failed True True' ]"
check "a loop over 100 000 items fails naming the item limit" sh -c "'$SANDBOX' exec $SB sdflow -n team-a get wf items -o json | grep -q '100000 items (at most 10000)'"
check "a 1 MB parameter passed as an argument fails naming the argument limit" sh -c "'$SANDBOX' exec $SB sdflow -n team-a get wf bigparam -o json | grep -q 'more than the 131071 a program'"
out=$(as alice sdflow -n team-a apply -f "$W/huge.json" 2>&1)
check "a 2 MB workflow is refused (413) naming MaxObjectBytes" grep -q 'at most 1572864 bytes are stored for one object (MaxObjectBytes=' <<<"$out"
check "... and sdflowd never restarted through all that" test "$(restarts sdflowd.service)" = "$r0"

# --- 3. poison objects: quarantined after two deaths; everyone else carries on ------------
M=/var/tmp/sdflow-models
as bob mkdir -p $M
as bob /usr/bin/python3 "$TOP/examples/models/train-iris-xgboost.py" $M/xgboost-iris >/dev/null
printf '[[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]' >"$W/rows"
printf '{"instances": %s}' "$(cat "$W/rows")" >"$W/iris.json"
isvc_yaml() { # NAME NS MODEL-DIR [ANNOTATION]
        printf 'apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: %s\n  namespace: %s\n' "$1" "$2"
        [ -z "${4:-}" ] || printf '  annotations: {sdflow.io/debug-fault: "%s"}\n' "$4"
        printf 'spec:\n  predictor:\n    model:\n      modelFormat: {name: xgboost}\n      storageUri: file://%s\n' "$3"
}
isvc_yaml iris team-b $M/xgboost-iris >"$W/iris-b.yaml"
as bob sdflow apply -f "$W/iris-b.yaml" >/dev/null
predict_b() { [ "$(sbx curl -sS -o /dev/null -w '%{http_code}' -H 'Host: iris.team-b.example.com' --data-binary @"$W/iris.json" http://127.0.0.1:8080/v1/models/iris:predict)" = 200 ]; }
check "team-b's model answers through the gateway" wait_for 30 predict_b
# team-b: a workflow of ten steps of a second each, and an experiment, running meanwhile.
{ printf 'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: chain}\nspec:\n  entrypoint: main\n  templates:\n'
  printf '  - name: s\n    container: {image: busybox, command: [sh, -c, "sleep 1"]}\n  - name: main\n    steps:\n'
  for i in 0 1 2 3 4 5 6 7 8 9; do printf '    - - {name: s%d, template: s}\n' $i; done; } >"$W/chain.yaml"
as bob sdflow -n team-b apply -f "$W/chain.yaml" >/dev/null
cat >"$W/exp.yaml" <<'EOF'
apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata: {name: tune, namespace: team-b}
spec:
  objective: {type: minimize, objectiveMetricName: loss}
  algorithm: {algorithmName: random}
  parallelTrialCount: 2
  maxTrialCount: 6
  maxFailedTrialCount: 2
  parameters:
  - name: x
    parameterType: double
    feasibleSpace: {min: "0", max: "1"}
  trialTemplate:
    primaryContainerName: training
    trialParameters:
    - {name: x, reference: x}
    trialSpec:
      apiVersion: batch/v1
      kind: Job
      spec:
        template:
          spec:
            containers:
            - name: training
              image: python:3.11
              command: [python3, -c, "import time; time.sleep(1); print('loss=%f' % (${trialParameters.x} ** 2))"]
            restartPolicy: Never
EOF
as bob sdflow apply -f "$W/exp.yaml" >/dev/null
# The poison: a workflow that crashes sdflowd each time it is advanced.
cat >"$W/poison.yaml" <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: poison
  annotations: {sdflow.io/debug-fault: advance}
spec:
  entrypoint: a
  templates:
  - {name: a, container: {image: busybox, command: [echo, hi]}}
EOF
r1=$(restarts sdflowd.service)
t0=$(date +%s%N)
as alice sdflow -n team-a apply -f "$W/poison.yaml" >/dev/null 2>&1
quarantined() { [ "$(restarts sdflowd.service)" -ge $((r1 + 2)) ] && api_up; }
wait_for 30 quarantined
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
echo "      the API answered again ${ms} ms after the poison workflow was applied (two crashes)"
# (Tests assert no timings; the time is printed, and reported against the 5 s target.)
check "a poison workflow crashed sdflowd twice, and the API answers again" quarantined
check "... it is marked Error, saying sdflowd stopped twice on it" sh -c "'$SANDBOX' exec $SB sdflow -n team-a get wf poison | grep -q 'Error .*sdflowd stopped twice'"
sleep 3
check "... and is processed no more (no third crash)" test "$(restarts sdflowd.service)" = $((r1 + 2))
check "... the journal says which object and why" sh -c "'$SANDBOX' exec $SB journalctl -u sdflowd -o cat | grep -q 'at advance of workflows team-a/poison (2 times now): the object is quarantined'"
check "team-b's workflow carried on to Succeeded" wait_for 60 sh -c "[ \"\$('$SANDBOX' exec $SB sdflow -n team-b get wf chain -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"status\"][\"phase\"])')\" = Succeeded ]"
exp_done() { sbx sdflow -n team-b get exp tune | grep -q Succeeded; }
check "team-b's experiment carried on to Succeeded" wait_for 90 exp_done
check "team-b's model still answers" predict_b
# An InferenceService that crashes sdflowd while applied, and again when picked up at start.
isvc_yaml bad team-a $M/xgboost-iris "apply,reconcile" >"$W/bad.yaml"
sbx cp -r $M /var/tmp/models-a
sbx chown -R alice /var/tmp/models-a
sed -i "s|$M|/var/tmp/models-a|" "$W/bad.yaml"
r2=$(restarts sdflowd.service)
as alice sdflow apply -f "$W/bad.yaml" >/dev/null 2>&1
wait_for 30 sh -c "[ \$('$SANDBOX' exec $SB systemctl show -P NRestarts sdflowd.service) -ge $((r2 + 2)) ]" && wait_for 10 api_up
check "an InferenceService that crashes sdflowd at apply and at start is quarantined (Ready False, ControlPlaneCrashed)" sh -c "'$SANDBOX' exec $SB sdflow -n team-a get isvc bad -o json | grep -q ControlPlaneCrashed"
r3=$(restarts sdflowd.service)
out=$(as alice sdflow -n team-a retry isvc/bad 2>&1)
wait_for 30 sh -c "[ \$('$SANDBOX' exec $SB systemctl show -P NRestarts sdflowd.service) -ge $((r3 + 2)) ]" && wait_for 10 api_up
check "sdflow retry isvc/NAME processes it again (it crashes twice more, and is quarantined again)" sh -c "[ \$('$SANDBOX' exec $SB systemctl show -P NRestarts sdflowd.service) = $((r3 + 2)) ] && '$SANDBOX' exec $SB sdflow -n team-a get isvc bad -o json | grep -q ControlPlaneCrashed"
out=$(as bob sdflow -n team-b retry isvc/iris 2>&1)
check "retry of an object that is not quarantined says so" grep -q 'not quarantined' <<<"$out"
check "the quarantined objects can be deleted" sh -c "'$SANDBOX' exec $SB runuser -u alice -- sdflow -n team-a delete isvc bad && '$SANDBOX' exec $SB runuser -u alice -- sdflow -n team-a delete wf poison"
# An apply cut short by a crash (fault at apply only): the next start finishes it.
isvc_yaml cut team-a /var/tmp/models-a/xgboost-iris apply >"$W/cut.yaml"
r4=$(restarts sdflowd.service)
as alice sdflow apply -f "$W/cut.yaml" >/dev/null 2>&1
wait_for 30 sh -c "[ \$('$SANDBOX' exec $SB systemctl show -P NRestarts sdflowd.service) -ge $((r4 + 1)) ]"
cut_ready() { sbx sdflow -n team-a get isvc cut | grep -q 'http://cut.team-a.* True'; }
check "an InferenceService whose apply died after it was stored is made Ready, with a URL, at the next start" wait_for 30 cut_ready

# --- 4. a crash loop never leaves a socket failed ---------------------------------------------
segv_loop() { # SERVICE PROBE...: 20 SIGSEGV in a row, each as soon as the daemon runs
        local svc=$1; shift
        for i in $(seq 1 20); do
                wait_for 15 sh -c "[ \"\$('$SANDBOX' exec $SB systemctl show -P MainPID $svc)\" != 0 ]" || "$@" >/dev/null 2>&1
                sbx systemctl kill -s SIGSEGV "$svc" >/dev/null 2>&1
                sleep 0.05
        done
}
n0=$(restarts sdflowd.service)
segv_loop sdflowd.service sbx sdflow version
check "after 20 SIGSEGVs in a row sdflowd.socket is still listening (not failed)" is_state sdflowd.socket active
check "... and sdflow version answers" wait_for 30 api_up
echo "      sdflowd restarts during the crash loop: $(( $(restarts sdflowd.service) - n0 ))"
check "... the back-off slowed the restarts (logged)" sh -c "'$SANDBOX' exec $SB journalctl -u sdflowd -o cat | grep -q 'in a row after an unclean stop; waiting'"
gw_up() { [ "$(sbx curl -sS -m 5 http://127.0.0.1:8080/healthz)" = ok ]; }
segv_loop sdflow-gateway.service sbx curl -sS -m 2 http://127.0.0.1:8080/healthz
check "after 20 SIGSEGVs in a row sdflow-gateway.socket is still listening (not failed)" is_state sdflow-gateway.socket active
check "... and the gateway answers" wait_for 30 gw_up

# --- 5. one user's watches and connections do not lock the others out -------------------------
as alice $FLOOD watches /run/sdflow/api.sock 40 30 >"$W/watches.json" &
fl1=$!
wait_for 20 test -s "$W/watches.json"
as alice $FLOOD idle /run/sdflow/api.sock 90 25 >"$W/idle.json" &
fl2=$!
wait_for 20 test -s "$W/idle.json"
w=$(cat "$W/watches.json"); i=$(cat "$W/idle.json")
echo "      alice's 40 watches: $w; her 90 idle connections: $i"
check "alice's first 32 watches are served, the rest get 429" test "$(jfield "$w" "(j['codes'].get('200',0), j['codes'].get('429',0))")" = "(32, 8)"
# Past 64 connections she gets 429; connections that send nothing are also
# closed past 16 waiting ones (oldest first): either way at most 32 stay open.
check "alice's connections past the per-user limits are refused (429) or closed" test "$(jfield "$i" "j['opened'] - sum(v for k, v in j['answered'].items() if k in ('429', 'closed')) <= 32")" = True
t0=$(date +%s%N)
check "meanwhile root's sdflow get answers" sbx sdflow get profiles
check "meanwhile bob's sdflow get answers" as bob sdflow -n team-b get wf
t1=$(date +%s%N)
echo "      root's and bob's requests during the flood: $(( (t1 - t0) / 1000000 )) ms"
kill "$fl1" "$fl2" 2>/dev/null; wait "$fl1" "$fl2" 2>/dev/null

# --- 6. model copies: a FIFO, a huge sparse file, a 5 GB file ---------------------------------
as alice mkfifo /home/alice/fifo.joblib
as alice truncate -s 300M /var/tmp/models-a/sparse.json
as alice truncate -s 5G /var/tmp/models-a/five.json
for m in "fifo sklearn /home/alice/fifo.joblib" "sparse xgboost /var/tmp/models-a/sparse.json" "five xgboost /var/tmp/models-a/five.json"; do
        set -- $m
        printf 'apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: %s, namespace: team-a}\nspec:\n  predictor:\n    model:\n      modelFormat: {name: %s}\n      storageUri: file://%s\n' "$1" "$2" "$3" >"$W/m-$1.yaml"
done
t0=$(date +%s%N)
as alice sdflow apply -f "$W/m-fifo.yaml" >/dev/null 2>&1
t1=$(date +%s%N)
echo "      apply of a FIFO model took $(( (t1 - t0) / 1000000 )) ms"
check "a FIFO as storageUri is refused at once, saying it is a FIFO" sh -c "'$SANDBOX' exec $SB sdflow -n team-a get isvc fifo -o json | grep -q 'is a FIFO; only a regular file is copied'"
check "... and no copy helper is left running" sh -c "! '$SANDBOX' exec $SB systemctl list-units --state=active --no-legend 'sdflow-ns-model*' | grep -q ."
check "... and the API answers" api_up
as alice sdflow apply -f "$W/m-sparse.yaml" >/dev/null 2>&1
kb=$(sbx du -sk /var/lib/sdflow/ns/team-a/models/sparse 2>/dev/null | cut -f1)
akb=$(sbx du -sk --apparent-size /var/lib/sdflow/ns/team-a/models/sparse 2>/dev/null | cut -f1)
check "a 300 MB sparse model is copied (${akb:-?} KiB apparent) and takes no more room (${kb:-?} KiB)" test "${akb:-0}" -ge 307200 -a "${kb:-999999}" -lt 1024
as alice sdflow apply -f "$W/m-five.yaml" >/dev/null 2>&1
check "a 5 GB model is refused naming MaxModelBytes" sh -c "'$SANDBOX' exec $SB sdflow -n team-a get isvc five -o json | grep -q 'more than the limit of 4294967296 bytes (MaxModelBytes='"

# --- 7. what a namespace stores: bounded, reclaimed, and watches keep whole lines -------------
big_cwf() { /usr/bin/python3 -c "
import json,sys
print(json.dumps({'apiVersion':'argoproj.io/v1alpha1','kind':'CronWorkflow','metadata':{'name':sys.argv[1],'namespace':'team-c'},
 'spec':{'schedule':'0 0 1 1 *','suspend':True,'workflowSpec':{'entrypoint':'a','arguments':{'parameters':[{'name':'pad',
 'value':'x'*1200000}]},'templates':[{'name':'a','container':{'image':'busybox','command':['true']}}]}}}))" "$1"; }
# A namespace of its own: what team-a holds by now does not count.
printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: team-c}\nspec:\n  owner: {kind: User, name: alice}\n' >"$W/profile-team-c.yaml"
sbx sdflow apply -f "$W/profile-team-c.yaml" >/dev/null
db_kb() { sbx sh -c 'du -sk /var/lib/sdflow/db/state.db* | awk "{s+=\$1} END {print s}"'; }
before=$(db_kb)
refused=0 stored=0
for n in $(seq 1 22); do
        big_cwf "big-$n" >"$W/big.json"
        if out=$(as alice sdflow apply -f "$W/big.json" 2>&1); then stored=$((stored + 1)); else
                grep -q 'exceeded quota: namespace team-c.*MaxNamespaceBytes=' <<<"$out" && refused=$((refused + 1)); fi
done
echo "      1.2 MB CronWorkflows: $stored stored, $refused refused by MaxNamespaceBytes=24M"
check "past MaxNamespaceBytes, objects are refused (403) naming the limit" test "$refused" -ge 1 -a "$stored" -ge 15
wl=$(sbx $FLOOD watchlines /run/sdflow/api.sock "/apis/argoproj.io/v1alpha1/namespaces/team-c/cronworkflows?watch=1&timeoutSeconds=5" 3)
echo "      a slow watch listing them (24 MB for a 16 MiB queue): $wl"
check "a watch that falls behind gets whole JSON lines only, then an ERROR event" test "$(jfield "$wl" "(j['lines'] > 1, j['bad_lines'], j['whole_chunks'], j['last'])")" = "(True, 0, True, 'ERROR')"
full=$(db_kb)
for n in $(seq 1 22); do as alice sdflow -n team-c delete cwf "big-$n" >/dev/null 2>&1; done
sbx systemctl stop sdflowd.service 2>/dev/null
after=$(db_kb)
echo "      state database: ${before} KiB before, ${full} KiB with them, ${after} KiB after deleting them"
# What stays is the watch history, which keeps at most 64 MiB of events.
check "deleting them gives the space back, but for the bounded event history" test "$after" -lt $(( before + 64 * 1024 + 4096 ))

# --- 8. a reboot with only the sockets enabled: models and timers back, no sdflow command ---
cat >"$W/cron.yaml" <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: nightly, namespace: team-b}
spec:
  schedule: "0 3 * * *"
  workflowSpec:
    entrypoint: a
    templates:
    - {name: a, container: {image: busybox, command: ["true"]}}
EOF
as bob sdflow apply -f "$W/cron.yaml" >/dev/null
check "the CronWorkflow has its timer" sh -c "'$SANDBOX' exec $SB systemctl list-timers --all --no-legend | grep -q 'sdflow-cron_team-b_nightly'"
# What a reboot takes: every transient unit (replicas, timers, slices), and the daemons.
sbx systemctl stop sdflowd.socket sdflowd.service sdflow-gateway.socket sdflow-gateway.service >/dev/null 2>&1
sbx sh -c "systemctl list-units --no-legend --plain 'sdflow_*' 'sdflow-cron_*' 'sdflow-*.slice' | awk '{print \$1}' | xargs -r systemctl stop" >/dev/null 2>&1
sbx rm -f /run/sdflow/control/routes.json
# /run is a tmpfs: the namespaces' socket directories go with it.
sbx rm -rf /run/sdflow/ns
check "after the 'reboot' no replica socket and no timer is left" sh -c "! '$SANDBOX' exec $SB systemctl list-units --no-legend 'sdflow_*.socket' 'sdflow-cron_*' | grep -q ."
# Boot: sockets.target starts the enabled sockets; nothing else is run.
sbx systemctl start sockets.target
check "at boot the CronWorkflow's timer is back without any sdflow command" wait_for 30 sh -c "'$SANDBOX' exec $SB systemctl list-timers --all --no-legend | grep -q 'sdflow-cron_team-b_nightly'"
check "at boot the model answers through the gateway without any sdflow command" wait_for 30 predict_b
check "... its namespace's directories made again first, on the loop, the models after" sh -c "'$SANDBOX' exec $SB journalctl -q -o cat -u sdflowd.service | grep -q 'Waiting for the profiles to be brought back'"

# The state database and the route table are not for everybody to read.
check "the state database and its WAL are sdflowd's only (0600)" sh -c "[ \"\$('$SANDBOX' exec $SB sh -c 'stat -c %a /var/lib/sdflow/db/state.db*' | sort -u)\" = 600 ]"
check "the route table is the gateway's to read only (0640 sdflowd:sdflow)" test "$(sbx stat -c '%a %U:%G' /run/sdflow/control/routes.json)" = "640 sdflowd:sdflow"

# --- 9. the gateway: half-open connections and token guessing --------------------------------
sbx ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
sbx $FLOOD halfopen 127.0.0.1 8080 4200 20 >"$W/halfopen.json" &
fl3=$!
wait_for 60 test -s "$W/halfopen.json"
echo "      half-open connections: $(head -1 "$W/halfopen.json")"
t0=$(date +%s%N)
check "while 4200 half-open connections come from 127.0.0.1, a client at 127.0.0.2 is served" sh -c "[ \"\$('$SANDBOX' exec $SB curl -sS -m 5 --interface 127.0.0.2 http://127.0.0.1:8080/healthz)\" = ok ]"
check "... and so is a new client at 127.0.0.1 (the oldest half-open ones make room)" sh -c "[ \"\$('$SANDBOX' exec $SB curl -sS -m 5 http://127.0.0.1:8080/healthz)\" = ok ]"
t1=$(date +%s%N)
echo "      the two requests took $(( (t1 - t0) / 1000000 )) ms"
wait "$fl3"
tail -1 "$W/halfopen.json" | sed 's/^/      /'
as bob sdflow token create team-b probe >"$W/token" 2>/dev/null
TOKEN=$(grep -Eo '[A-Za-z0-9_-]{40,}' "$W/token" | head -1)
sleep 2 # the route table with the token's hash
tk=$(sbx $FLOOD tokens 127.0.0.1 8080 iris.team-b.example.com 3000)
echo "      3000 wrong tokens on one connection: $tk"
# 10 tries, then holds of 1, 2, 4 ... s: a few bursts of 10 at most while it runs.
check "after 10 wrong tokens the client is held: the rest get 429" test "$(jfield "$tk" "j['codes'].get('401',0) <= 60 and j['codes'].get('429',0) >= 2900")" = True
check "... the hold is logged once per hold, naming the address" sh -c "'$SANDBOX' exec $SB journalctl -u sdflow-gateway -o cat | grep -q 'Client 127.0.0.1 gave 10 wrong or missing bearer tokens'"
good() { [ "$(sbx curl -sS -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -H 'Host: iris.team-b.example.com' -H "Authorization: Bearer $TOKEN" --data-binary @"$W/iris.json" http://127.0.0.1:8080/v1/models/iris:predict)" = 200 ]; }
check "... while another address with the right token is served" good

finish
