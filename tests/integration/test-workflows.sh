#!/bin/bash
# Pipelines on a real systemd with the installed package: the examples in
# examples/workflows and examples/iris-pipeline run to the end with the
# results Argo would give; each step is a transient unit in the namespace
# slice, as the namespace user, sandboxed; failures propagate; the cache
# reuses identical steps; sdflowd killed with SIGKILL mid-run finishes the
# workflow without running any step twice; stop, suspend and resume.
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
/usr/bin/python3 -c 'import xgboost, sklearn' 2>/dev/null || skip "/usr/bin/python3 lacks python3-xgboost/python3-sklearn"
boot
install_deb
trap 'teardown; rm -f "$TOP"/build/it-wf-*' EXIT
sbx systemctl enable --now sdflowd.socket >/dev/null 2>&1
sbx useradd -m alice
sbx sdflow apply -f "$TOP/examples/profile-team-a.yaml" >/dev/null
as_alice() { sbx runuser -u alice -- "$@"; }
ex=$TOP/examples/workflows
# wf_json NAME: the workflow as JSON; node PYTHON-EXPR over w (the workflow) and nodes (by displayName).
wf_json() { sbx sdflow -n team-a get wf "$1" -o json; }
wf_check() { # NAME PYTHON-ASSERTIONS
        wf_json "$1" >"$TOP/build/it-wf-$1.json"
        /usr/bin/python3 -c "
import json,sys
w=json.load(open(sys.argv[1])); st=w['status']; nodes={n['displayName']: n for n in st['nodes'].values()}
$2" "$TOP/build/it-wf-$1.json"
}
submit() { as_alice sdflow -n team-a submit -w -f "$1" | sed -n 's|^workflow.argoproj.io/\(.*\) created$|\1|p'; }

name=$(as_alice sdflow -n team-a apply -f "$ex/diamond.yaml" >/dev/null; echo dag-diamond)
check "diamond: the owner's workflow runs to Succeeded" sh -c "'$SANDBOX' exec $SB runuser -u alice -- sdflow -n team-a get wf dag-diamond -w | tail -1 | grep -q 'Succeeded 4/4'"
check "diamond: four steps, each printed its letter" wf_check dag-diamond "assert [nodes[x]['outputs']['result'] for x in 'ABCD'] == list('ABCD')"
out=$(as_alice sdflow -n team-a logs wf/dag-diamond)
first_last() { [ "$(head -1 <<<"$out" | sed 's/.*: //')$(tail -1 <<<"$out" | sed 's/.*: //')" = AD ]; }
check "diamond: logs come from the journal, A first and D last" first_last
unit=$(wf_json dag-diamond | /usr/bin/python3 -c "import json,sys; print([n for n in json.load(sys.stdin)['status']['nodes'].values() if n['displayName']=='A'][0]['sdflowUnit'])")
check "a step's log of one node by name" sh -c "'$SANDBOX' exec $SB sdflow -n team-a logs wf/dag-diamond B | grep -q '$(sed 's/_[0-9]*\.service$//' <<<"$unit" | cut -c1-10)'"
check "steps' outputs are the namespace user's, under its artifacts" test "$(sbx stat -c %U /var/lib/sdflow/ns/team-a/artifacts/dag-diamond)" = sdflow-team-a

w=$(submit "$ex/loops.yaml")
check "loops: generateName made a name ($w)" grep -Eq '^loops-[a-z0-9]{5}$' <<<"$w"
check "loops: withItems, objects, withParam and withSequence ran 14 steps; the loop's results gathered" wf_check "$w" "
assert st['phase']=='Succeeded' and st['progress']=='14/14', st['progress']
assert nodes['total']['outputs']['result'] == '[1,4,9,16]', nodes['total']['outputs']
assert nodes['count(2:02)']['outputs']['result'] == 'shard 02'
assert nodes['os(1:{\"name\":\"ubuntu\",\"version\":\"22.04\"})']['outputs']['result'] == 'ubuntu 22.04'"

w=$(submit "$ex/conditionals.yaml")
check "conditionals: heads ran, tails was Skipped with the reason" wf_check "$w" "
assert st['phase']=='Succeeded'
assert nodes['heads']['phase']=='Succeeded' and nodes['tails']['phase']=='Skipped', (nodes['heads'], nodes['tails'])
assert 'evaluated false' in nodes['tails']['message'] and nodes['big']['phase']=='Succeeded'"

w=$(submit "$ex/retries.yaml")
check "retries: two failed attempts, then the third succeeded" wf_check "$w" "
assert st['phase']=='Succeeded'
att=[nodes[w['metadata']['name']+'(%d)'%i] for i in range(3)]
assert [a['phase'] for a in att]==['Failed','Failed','Succeeded'], [a['phase'] for a in att]
assert att[0]['outputs']['exitCode']=='3' and att[2]['outputs']['result']=='attempt 2'"

w=$(submit "$ex/exit-handler.yaml")
check "exit handler: the workflow failed, the handler ran with workflow.status" wf_check "$w" "
assert st['phase']=='Failed'
assert nodes['cry']['phase']=='Succeeded' and nodes['celebrate']['phase']=='Skipped'
assert 'Failed' in nodes['notify']['outputs']['result'] and 'intentional-fail' in nodes['cry']['outputs']['result']"

w=$(submit "$ex/artifacts.yaml")
check "artifacts: a file and a directory passed through three steps" wf_check "$w" "
assert st['phase']=='Succeeded', st
assert nodes['count']['outputs']['result']=='1' and nodes['count']['outputs']['parameters'][0]['value']=='4'
assert len(nodes['transform']['outputs']['artifacts'][0]['sha256'])==64"
out=$(as_alice sdflow -n team-a resubmit "$w")
w2=$(sed -n 's|^workflow.argoproj.io/\(.*\) created$|\1|p' <<<"$out")
check "caching: the resubmitted run reuses all three steps' outputs" wait_for 20 wf_check "$w2" "
assert st['phase']=='Succeeded'
assert all(n.get('sdflowCachedFrom')=='$w' for n in nodes.values() if n['type']=='Pod'), nodes
assert nodes['count']['outputs']['parameters'][0]['value']=='4'"

w=$(submit "$ex/kfp-data-passing.yaml")
check "KFP data passing: train got the dataset, string, bool, dict and list" wf_check "$w" "
assert st['phase']=='Succeeded', st
assert \"dict={'A': 1, 'B': 2}\" in nodes['train']['outputs']['result']"

# Failure propagation, a missing command, the sandbox, and the unit's properties.
cat >"$TOP/build/it-wf-fail.yaml" <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: fail}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      failFast: false
      tasks:
      - {name: A, template: ok}
      - {name: B, template: bad, dependencies: [A]}
      - {name: cleanup, template: ok, depends: B.Failed}
      - {name: D, template: ok, dependencies: [B]}
      - {name: E, template: nocmd, dependencies: [A]}
  - name: ok
    container: {image: debian:12, command: [sh, -c, "id -un; cat /proc/self/status | grep ^CapEff; touch /etc/x 2>&1 || true"]}
  - name: bad
    container: {image: debian:12, command: [sh, -c, "exit 7"]}
  - name: nocmd
    container: {image: debian:12, command: [/no/such/command]}
EOF
as_alice sdflow -n team-a submit -w -f "$TOP/build/it-wf-fail.yaml" >/dev/null
check "failure propagates: B failed (exit 7), D omitted, cleanup ran, the workflow Failed" wf_check fail "
assert st['phase']=='Failed'
assert nodes['B']['phase']=='Failed' and nodes['B']['outputs']['exitCode']=='7' and 'exit code 7' in nodes['B']['message']
assert nodes['D']['phase']=='Omitted' and nodes['cleanup']['phase']=='Succeeded'"
check "a command that does not exist fails its node with the reason" wf_check fail "
assert nodes['E']['phase']=='Failed' and 'no such command' in nodes['E']['message'], nodes['E']"
check "steps run as the namespace user, without capabilities, on a read-only system" wf_check fail "
r=nodes['A']['outputs']['result'].split(chr(10))
assert r[0]=='sdflow-team-a' and r[1].endswith('0000000000000000') and 'Read-only file system' in r[2], r"

# sdflowd killed mid-run: the workflow finishes, no step runs twice.
cat >"$TOP/build/it-wf-slow.yaml" <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: slow}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: a, template: sleep, arguments: {parameters: [{name: s, value: "3"}]}}
      - {name: b, template: sleep, arguments: {parameters: [{name: s, value: "4"}]}}
    - - {name: c, template: sleep, arguments: {parameters: [{name: s, value: "1"}]}}
  - name: sleep
    inputs: {parameters: [{name: s}]}
    container: {image: debian:12, command: [sh, -c, "sleep {{inputs.parameters.s}}; echo ran >> /var/lib/sdflow/ns/team-a/artifacts/ran-{{inputs.parameters.s}}"]}
EOF
as_alice sdflow -n team-a apply -f "$TOP/build/it-wf-slow.yaml" >/dev/null
wait_for 10 sh -c "'$SANDBOX' exec $SB systemctl list-units --no-legend 'sdflowwf_team-a_slow-*' | grep -q activating"
u=$(sbx systemctl list-units --no-legend 'sdflowwf_team-a_slow-*' | awk '{print $1}' | head -1)
check "a running step is a unit in the namespace slice, as its user, sandboxed" test \
        "$(sbx systemctl show -P Slice,User,PrivateNetwork,ProtectSystem,NoNewPrivileges "$u" | tr '\n' ' ')" = 'sdflow-team\x2da.slice sdflow-team-a yes strict yes '
sbx systemctl kill -s KILL sdflowd.service
check "after SIGKILL of sdflowd, the workflow still finishes" wait_for 30 wf_check slow "assert st['phase']=='Succeeded', st.get('phase')"
check "and each step ran exactly once" test "$(sbx cat /var/lib/sdflow/ns/team-a/artifacts/ran-3 /var/lib/sdflow/ns/team-a/artifacts/ran-4 /var/lib/sdflow/ns/team-a/artifacts/ran-1 | tr '\n' ' ')" = 'ran ran ran '

# suspend, resume, stop (the exit handler still runs).
cat >"$TOP/build/it-wf-susp.yaml" <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: susp}
spec:
  entrypoint: main
  onExit: bye
  templates:
  - name: main
    steps:
    - - {name: approve, template: approve}
    - - {name: long, template: long}
  - name: approve
    suspend: {}
  - name: long
    container: {image: debian:12, command: [sleep, "300"]}
  - name: bye
    container: {image: debian:12, command: [echo, "bye {{workflow.status}}"]}
EOF
as_alice sdflow -n team-a apply -f "$TOP/build/it-wf-susp.yaml" >/dev/null
sleep 1
check "a suspend step waits" wf_check susp "assert st['phase']=='Running' and nodes['approve']['phase']=='Running' and 'long' not in nodes"
as_alice sdflow -n team-a resume susp >/dev/null
check "resume lets it go on" wait_for 10 wf_check susp "assert nodes['long']['phase']=='Running'"
as_alice sdflow -n team-a stop susp >/dev/null
check "stop ends the running step; the exit handler runs" wait_for 15 wf_check susp "
assert st['phase']=='Failed' and nodes['long']['phase']=='Failed'
assert [n for n in st['nodes'].values() if n['name']=='susp.onExit'][0]['outputs']['result']=='bye Failed'"
# dag.target; spec.shutdown as Argo's users set it; other spec changes refused.
cat >"$TOP/build/it-wf-target.yaml" <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: target}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      target: B
      tasks:
      - {name: A, template: fast}
      - {name: B, template: t, depends: A}
      - {name: C, template: t, dependencies: [A]}
  - name: fast
    container: {image: debian:12, command: ["true"]}
  - name: t
    container: {image: debian:12, command: [sleep, "30"]}
EOF
as_alice sdflow -n team-a apply -f "$TOP/build/it-wf-target.yaml" >/dev/null
check "dag.target: the target runs after what it depends on" wait_for 15 wf_check target "assert nodes['A']['phase']=='Succeeded' and nodes['B']['phase']=='Running'"
check "dag.target: a task the target does not need never starts" wf_check target "assert 'C' not in nodes, sorted(nodes)"
sed 's/sleep, "30"/sleep, "31"/' "$TOP/build/it-wf-target.yaml" >"$TOP/build/it-wf-target2.yaml"
out=$(as_alice sdflow -n team-a apply -f "$TOP/build/it-wf-target2.yaml" 2>&1)
check "a started workflow's spec cannot change (but for shutdown and suspend)" grep -q 'only spec.shutdown and spec.suspend may change' <<<"$out"
sed 's/^  entrypoint: main/  entrypoint: main\n  shutdown: Terminate/' "$TOP/build/it-wf-target.yaml" >"$TOP/build/it-wf-target3.yaml"
as_alice sdflow -n team-a apply -f "$TOP/build/it-wf-target3.yaml" >/dev/null
check "spec.shutdown: Terminate stops it" wait_for 15 wf_check target "assert st['phase']=='Failed' and 'Terminate' in st['message'], st"

sbx useradd -m mallory
out=$(sbx runuser -u mallory -- sdflow -n team-a stop fail 2>&1)
check "another user cannot act on the namespace's workflows" grep -q Forbidden <<<"$out"
out=$(as_alice sdflow -n team-a retry dag-diamond 2>&1)
check "retry of a workflow that succeeded is refused with the reason" grep -q 'only a workflow that failed can be retried' <<<"$out"

# iris-pipeline: train, then serve the model artifact.
as_alice sdflow -n team-a submit -w -f "$TOP/examples/iris-pipeline/pipeline.yaml" >/dev/null
check "iris-pipeline: trained and evaluated (accuracy >= 0.9)" wf_check iris-pipeline "
assert st['phase']=='Succeeded' and float(nodes['evaluate']['outputs']['parameters'][0]['value']) >= 0.9"
as_alice sdflow -n team-a apply -f "$TOP/examples/iris-pipeline/isvc.yaml" >/dev/null
printf '{"instances": [[6.2, 3.4, 5.4, 2.3], [5.1, 3.5, 1.4, 0.2]]}\n' >"$TOP/build/it-wf-in.json"
out=$(as_alice sdflow -n team-a predict iris-from-pipeline -f "$TOP/build/it-wf-in.json")
check "the InferenceService serves the pipeline's model (virginica, setosa)" /usr/bin/python3 -c "
import json,sys; p=json.loads(sys.argv[1])['predictions']
assert [r.index(max(r)) for r in p] == [2, 0], p" "$out"
# Steps' limits against the namespace's quota (cpu 1500m, memory 512Mi):
# three steps of 200Mi each, at most two at a time; one of 1Gi never fits.
cat >"$TOP/build/it-wf-quota.yaml" <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: quota}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      failFast: false
      tasks:
      - {name: big, template: big}
      - {name: w, template: work, withItems: [1, 2, 3]}
  - name: work
    metadata: {labels: {pipelines.kubeflow.org/cache_enabled: "false"}}
    container:
      image: debian:12
      command: [sh, -c, "d=/var/lib/sdflow/ns/team-a/artifacts/quota-log; echo start >> $d; sleep 2; echo end >> $d"]
      resources: {limits: {memory: 200Mi, cpu: 100m}}
  - name: big
    container:
      image: debian:12
      command: ["true"]
      resources: {limits: {memory: 1Gi}}
EOF
as_alice sdflow -n team-a submit -w -f "$TOP/build/it-wf-quota.yaml" >/dev/null
check "quota: a step whose limits exceed the namespace's quota fails, saying so" wf_check quota "
assert nodes['big']['phase']=='Failed' and 'exceed the namespace' in nodes['big']['message'], nodes['big']"
check "quota: the steps that fit all ran" wf_check quota "
assert all(nodes['w(%d:%d)' % (i, i + 1)]['phase']=='Succeeded' for i in range(3))"
most=$(sbx cat /var/lib/sdflow/ns/team-a/artifacts/quota-log | awk '/start/{n++; if (n>m) m=n} /end/{n--} END{print m}')
check "quota: at most two ran at once (the third waited for room)" test "$most" = 2

# CronWorkflow: a systemd timer with the schedules as OnCalendar= lines; its
# service makes a run as the timer would; Forbid; history limits; delete.
cat >"$TOP/build/it-wf-cron.yaml" <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: nightly}
spec:
  schedules: ["0 3 * * 1-5", "*/15 9-17 1,15 * *"]
  timezone: Europe/Berlin
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 2
  workflowSpec:
    entrypoint: hello
    templates:
    - name: hello
      container: {image: busybox, command: [sh, -c, "echo run {{workflow.name}} due {{workflow.scheduledTime}}; sleep 1"]}
EOF
as_alice sdflow -n team-a apply -f "$TOP/build/it-wf-cron.yaml" >/dev/null
cal=$(sbx systemctl show -P TimersCalendar sdflow-cron_team-a_nightly.timer)
check "cron: a timer with each schedule as OnCalendar= (time zone kept)" grep -q 'OnCalendar=Mon..Fri \*-\*-\* 03:00:00 Europe/Berlin' <<<"$cal"
check "cron: and the second schedule" grep -q 'OnCalendar=\*-\*-01,15 09..17:00,15,30,45:00 Europe/Berlin' <<<"$cal"
cron_runs() { sbx sdflow -n team-a get wf -l workflows.argoproj.io/cron-workflow=nightly -o name 2>/dev/null | wc -l; }
cron_idle() { ! sbx sdflow -n team-a get wf -l workflows.argoproj.io/cron-workflow=nightly -o json | grep -q '"phase": "Running"'; }
sbx systemctl start sdflow-cron_team-a_nightly.service
check "cron: the timer's service makes a run" test "$(cron_runs)" = 1
first=$(sbx sdflow -n team-a get wf -l workflows.argoproj.io/cron-workflow=nightly -o name | head -n 1)
out=$(as_alice sdflow -n team-a trigger nightly)
check "cron: Forbid skips a run while one is active" grep -q 'skipped: 1 run still active' <<<"$out"
wait_for 20 cron_idle
due() { sbx runuser -u alice -- sdflow -n team-a logs "wf/${first##*/}" | grep -Eq 'due [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:00Z'; }
check "cron: a scheduled run knows when it was due ({{workflow.scheduledTime}}, on its minute)" wait_for 10 due
for i in 1 2 3; do
        wait_for 20 cron_idle
        as_alice sdflow -n team-a trigger nightly >/dev/null
done
wait_for 20 cron_idle
as_alice sdflow -n team-a trigger nightly >/dev/null
check "cron: history keeps 2 succeeded runs (and the new one)" test "$(cron_runs)" = 3
as_alice sdflow -n team-a delete cwf nightly >/dev/null
check "cron: delete stops the timer" test "$(sbx systemctl show -P LoadState sdflow-cron_team-a_nightly.timer)" = not-found
check "cron: and removes its runs" test "$(cron_runs)" = 0

# Lines the journal dropped (journald's rate limit, made small here) are
# said to be missing, with their number; a step that printed little has no note.
sbx sh -c 'mkdir -p /etc/systemd/journald.conf.d && printf "[Journal]\nRateLimitIntervalSec=30s\nRateLimitBurst=500\n" >/etc/systemd/journald.conf.d/it.conf && systemctl restart systemd-journald'
printf 'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: %s, namespace: team-a}\nspec:\n  entrypoint: s\n  templates:\n  - name: s\n    container: {image: debian:12, command: [seq, "%s"]}\n' \
        chatty 20000 >"$TOP/build/it-wf-chatty.yaml"
printf 'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: %s, namespace: team-a}\nspec:\n  entrypoint: s\n  templates:\n  - name: s\n    container: {image: debian:12, command: [seq, "%s"]}\n' \
        quiet 20 >"$TOP/build/it-wf-quiet.yaml"
as_alice sdflow -n team-a submit -w -f "$TOP/build/it-wf-chatty.yaml" >/dev/null 2>&1
as_alice sdflow -n team-a submit -w -f "$TOP/build/it-wf-quiet.yaml" >/dev/null 2>&1
out=$(as_alice sdflow -n team-a logs wf/chatty --tail=5)
check "logs of a step whose lines journald dropped say how many of the 20000 are missing" \
        grep -Eq '^sdflow: the journal lost [1-9][0-9]* of the 20000 lines sdflowwf_team-a_chatty[^ ]* wrote to stdout' <<<"$out"
check "... and where all of them are" grep -q 'all of them are in /var/lib/sdflow/ns/team-a/artifacts/chatty/.*/stdout' <<<"$out"
check "... a file that has all 20000" test "$(sbx sh -c 'cat /var/lib/sdflow/ns/team-a/artifacts/chatty/*/stdout' | wc -l)" = 20000
check "a step that printed 20 lines: all there, no note" sh -c "[ \"\$('$SANDBOX' exec $SB runuser -u alice -- sdflow -n team-a logs wf/quiet | grep -c ': [0-9]*\$')\" = 20 ] && ! '$SANDBOX' exec $SB runuser -u alice -- sdflow -n team-a logs wf/quiet | grep -q 'the journal lost'"
sbx sh -c 'rm -f /etc/systemd/journald.conf.d/it.conf && systemctl restart systemd-journald'

as_alice sdflow -n team-a delete wf fail >/dev/null
check "deleting a workflow removes its artifacts" sh -c "! '$SANDBOX' exec $SB test -e /var/lib/sdflow/ns/team-a/artifacts/fail"
finish
