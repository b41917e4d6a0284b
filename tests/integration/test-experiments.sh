#!/bin/bash
# Katib Experiments on a real systemd with the installed package: Katib's
# random example unchanged (the image map points its image at sdflow's
# stand-in trainer), trials as units with the container's limits and at
# most parallelTrialCount at once, metrics from stdout, the optimal trial,
# goal / max trials / grid end / max failed trials, MetricsUnavailable, and
# SIGKILL of sdflowd mid-experiment without duplicate trials.
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
/usr/bin/python3 -c 'import sklearn, numpy' 2>/dev/null || skip "/usr/bin/python3 lacks python3-sklearn"
boot
install_deb
trap 'teardown; rm -f "$TOP"/build/it-exp-*' EXIT
sbx systemctl enable --now sdflowd.socket >/dev/null 2>&1
sbx useradd -m alice
printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: kubeflow}\nspec:\n  owner: {kind: User, name: alice}\n  resourceQuotaSpec: {hard: {cpu: "2", memory: 4Gi}}\n' >"$TOP/build/it-exp-profile.yaml"
sbx sdflow apply -f "$TOP/build/it-exp-profile.yaml" >/dev/null
as_alice() { sbx runuser -u alice -- "$@"; }
exp_check() { # NAME PYTHON-ASSERTIONS (e: the experiment, st: its status, trials)
        sbx sdflow -n kubeflow get experiment "$1" -o json >"$TOP/build/it-exp-$1.json"
        /usr/bin/python3 -c "
import json,sys
e=json.load(open(sys.argv[1])); st=e.get('status',{}); trials=st.get('trials',[])
cond=[c for c in st.get('conditions',[]) if c['status']=='True']
cond=cond[-1] if cond else {}
$2" "$TOP/build/it-exp-$1.json"
}

# Katib's random example, as the issue gives it.
check "alice applies Katib's random example unchanged" as_alice sdflow apply -f "$TOP/examples/katib/random.yaml"
check "get experiment -w follows its trials to the end" sh -c "'$SANDBOX' exec $SB runuser -u alice -- sdflow -n kubeflow get experiment random -w | tail -1 | grep -q 'experiment random: Succeeded'"
check "it ends Succeeded (max trials reached) with 12 trials, all Succeeded" exp_check random "
assert cond['reason']=='ExperimentMaxTrialsReached', cond
assert len(trials)==12 and all(t['condition']=='Succeeded' for t in trials), [t['condition'] for t in trials]
assert st['trialsSucceeded']==12"
check "each trial's loss was read from its output; the optimal trial is the lowest" exp_check random "
loss=lambda t: float([m for m in t['observation']['metrics'] if m['name']=='loss'][0]['min'])
best=min(trials, key=loss)
assert st['currentOptimalTrial']['bestTrialName']==best['name']
assert all(0.01<=float(a['value'])<=0.05 for t in trials for a in t['parameterAssignments'] if a['name']=='lr')"
name=$(/usr/bin/python3 -c "import json; print(json.load(open('$TOP/build/it-exp-random.json'))['status']['trials'][0]['name'])")
check "logs trial/NAME shows the trial's metrics lines" sh -c "'$SANDBOX' exec $SB runuser -u alice -- sdflow -n kubeflow logs trial/$name | grep -q 'loss='"
check "describe experiment prints the table of trials" sh -c "'$SANDBOX' exec $SB sdflow -n kubeflow describe experiment random | grep -q '^\\* .*Succeeded .*lr='"
check "the trial's command got the assignments (\${trialParameters.learningRate})" sh -c "'$SANDBOX' exec $SB sdflow -n kubeflow get wf $name -o json | grep -q -- '--lr=0\\.0'"

# Trials as units: limits, at most parallelTrialCount at once; then SIGKILL of sdflowd.
sed -e 's/name: random}/name: slow}/' -e 's/parallelTrialCount: 3/parallelTrialCount: 2/' -e 's/maxTrialCount: 12/maxTrialCount: 6/' \
    -e 's|command: \["python3", "/opt/pytorch-mnist/mnist.py"|command: ["sh", "-c", "sleep 2; exec python3 /opt/pytorch-mnist/mnist.py \\"$0\\" \\"$@\\"", "--seed=1"|' \
    "$TOP/examples/katib/random.yaml" >"$TOP/build/it-exp-slow.yaml"
as_alice sdflow apply -f "$TOP/build/it-exp-slow.yaml" >/dev/null
running() { sbx systemctl list-units --no-legend --state=activating 'sdflowwf_kubeflow_slow-*' | wc -l; }
check "trials run as units" wait_for 20 sh -c "[ \$('$SANDBOX' exec $SB systemctl list-units --no-legend --state=activating 'sdflowwf_kubeflow_slow-*' | wc -l) -ge 1 ]"
u=$(sbx systemctl list-units --no-legend --state=activating 'sdflowwf_kubeflow_slow-*' | awk '{print $1}' | head -1)
props=$(for p in CPUQuotaPerSecUSec MemoryMax User Slice; do sbx systemctl show -P $p "$u"; done | tr '\n' ' ')
check "a trial has the container's limits (cpu 0.5 -> 500ms/s, memory 1Gi), as the namespace user, in its slice ($props)" test \
        "$props" = '500ms 1073741824 sdflow-kubeflow sdflow-kubeflow.slice '
most=0
for _ in $(seq 30); do n=$(running); [ "$n" -gt "$most" ] && most=$n; sleep 0.2; done
check "at most parallelTrialCount (2) trials run at once ($most seen)" test "$most" -le 2 -a "$most" -ge 1
sbx systemctl kill -s KILL sdflowd.service
check "after SIGKILL of sdflowd the experiment still ends" wait_for 90 exp_check slow "assert cond.get('type')=='Succeeded', cond"
check "with exactly maxTrialCount (6) trials, no duplicates, each a workflow" exp_check slow "
names=[t['name'] for t in trials]
assert len(names)==6 and len(set(names))==6, names
assert [t['index'] for t in trials]==list(range(6))"
check "the same random_state proposed the same trials across the restart (as experiment random's first six)" /usr/bin/python3 -c "
import json
a=json.load(open('$TOP/build/it-exp-random.json'))['status']['trials'][:6]
b=json.load(open('$TOP/build/it-exp-slow.json'))['status']['trials']
assert [t['parameterAssignments'] for t in a]==[t['parameterAssignments'] for t in b]"
check "no workflow of the experiment is outside its trial list" test "$(sbx sdflow -n kubeflow get wf -l katib.kubeflow.org/experiment=slow -o name | wc -l)" = 6

# grid: every point once, then the end; goal; metrics that never appear.
cat >"$TOP/build/it-exp-grid.yaml" <<'EOF'
apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata: {namespace: kubeflow, name: grid}
spec:
  objective: {type: maximize, objectiveMetricName: score}
  algorithm: {algorithmName: grid}
  parallelTrialCount: 3
  maxTrialCount: 20
  parameters:
  - {name: a, parameterType: int, feasibleSpace: {min: "1", max: "3"}}
  - {name: b, parameterType: categorical, feasibleSpace: {list: [x, "y"]}}
  trialTemplate:
    trialParameters: [{name: a, reference: a}, {name: b, reference: b}]
    trialSpec:
      apiVersion: batch/v1
      kind: Job
      spec:
        template:
          spec:
            containers:
            - name: t
              image: busybox
              command: [sh, -c, "echo b=${trialParameters.b}; echo score=${trialParameters.a}"]
EOF
as_alice sdflow apply -f "$TOP/build/it-exp-grid.yaml" >/dev/null
check "grid: 6 points, each once, then Succeeded (search space exhausted)" wait_for 60 exp_check grid "
assert cond.get('reason')=='ExperimentSuggestionEndReached', cond
pts=sorted((a[0]['value'], a[1]['value']) for a in [t['parameterAssignments'] for t in trials])
assert pts==[('1','x'),('1','y'),('2','x'),('2','y'),('3','x'),('3','y')], pts
assert st['currentOptimalTrial']['parameterAssignments'][0]['value']=='3'"
sed -e 's/name: grid}/name: goal}/' -e 's/algorithmName: grid/algorithmName: random/' -e 's/objectiveMetricName: score}/objectiveMetricName: score, goal: 2}/' \
    -e 's/parallelTrialCount: 3/parallelTrialCount: 1/' "$TOP/build/it-exp-grid.yaml" >"$TOP/build/it-exp-goal.yaml"
as_alice sdflow apply -f "$TOP/build/it-exp-goal.yaml" >/dev/null
check "goal: it stops when a trial reaches it (score >= 2)" wait_for 60 exp_check goal "
assert cond.get('reason')=='ExperimentGoalReached', cond
assert len(trials) < 20 and any(float(t['observation']['metrics'][0]['max'])>=2 for t in trials if t.get('observation'))"
sed -e 's/name: grid}/name: nometric}/' -e 's/algorithmName: grid/algorithmName: random/' -e 's/  maxTrialCount: 20/  maxTrialCount: 20\n  maxFailedTrialCount: 2/' \
    -e 's/echo score=/echo points=/' "$TOP/build/it-exp-grid.yaml" >"$TOP/build/it-exp-nometric.yaml"
as_alice sdflow apply -f "$TOP/build/it-exp-nometric.yaml" >/dev/null
check "a metric that never appears: MetricsUnavailable with the reason; Failed at maxFailedTrialCount" wait_for 60 exp_check nometric "
assert cond.get('reason')=='ExperimentMaxFailedTrialsReached', cond
t=trials[0]
assert t['condition']=='MetricsUnavailable' and \"objective metric 'score' never appeared\" in t['message'], t"
# The objective after 30,000 lines (more than a step's 256 KiB result): the
# whole output is read, and min/max/latest are over all of it.
sed -e 's/name: grid}/name: verbose}/' -e 's/  maxTrialCount: 20/  maxTrialCount: 3/' \
    -e 's/command: \[sh, -c, .*/command: [sh, -c, "echo score=100; seq 30000 | sed s,^,noise-line-,; echo score=0.5; seq 30000; echo score=${trialParameters.a}"]/' \
    "$TOP/build/it-exp-grid.yaml" >"$TOP/build/it-exp-verbose.yaml"
as_alice sdflow apply -f "$TOP/build/it-exp-verbose.yaml" >/dev/null
check "a trial's objective after 60,000 lines of output is found: min, max and latest over all of it" wait_for 90 exp_check verbose "
assert cond.get('type')=='Succeeded', cond
for t in trials:
    m=[x for x in t['observation']['metrics'] if x['name']=='score'][0]
    a=[p['value'] for p in t['parameterAssignments'] if p['name']=='a'][0]
    assert t['condition']=='Succeeded' and (m['min'], m['max'], m['latest'])==('0.5', '100', a), (t, m)"
out=$(sed 's/algorithmName: grid/algorithmName: annealing/; s/name: grid}/name: bad}/' "$TOP/build/it-exp-grid.yaml" | as_alice sdflow apply -f - 2>&1)
check "an unknown algorithm is refused, naming the field" grep -q "spec.algorithm.algorithmName: 'annealing' is not an algorithm sdflow has" <<<"$out"

# Median stopping: two good trials finish; the bad ones are stopped mid-run.
cat >"$TOP/build/it-exp-median.yaml" <<'EOF'
apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata: {namespace: kubeflow, name: median}
spec:
  objective: {type: minimize, objectiveMetricName: loss}
  algorithm: {algorithmName: grid}
  earlyStopping:
    algorithmName: medianstop
    algorithmSettings: [{name: min_trials_required, value: "2"}, {name: start_step, value: "2"}]
  parallelTrialCount: 1
  maxTrialCount: 4
  parameters:
  - {name: x, parameterType: discrete, feasibleSpace: {list: ["1", "2", "8", "9"]}}
  trialTemplate:
    trialParameters: [{name: x, reference: x}]
    trialSpec:
      apiVersion: batch/v1
      kind: Job
      spec:
        template:
          spec:
            containers:
            - name: t
              image: busybox
              command: [sh, -c, "for i in 1 2 3 4 5 6 7 8; do echo epoch $i loss=${trialParameters.x}; sleep 0.7; done"]
EOF
as_alice sdflow apply -f "$TOP/build/it-exp-median.yaml" >/dev/null
check "medianstop: the two good trials run to the end, the two bad ones are stopped mid-run" wait_for 90 exp_check median "
assert cond.get('type')=='Succeeded', cond
c=[t['condition'] for t in trials]
assert c==['Succeeded','Succeeded','EarlyStopped','EarlyStopped'], c
assert all(len(t['sdflowSteps'])==8 for t in trials[:2]) and all(2<=len(t['sdflowSteps'])<8 for t in trials[2:]), [len(t.get('sdflowSteps',[])) for t in trials]
assert 'worse than the median 1.5' in trials[2]['message'] and st['trialsEarlyStopped']==2, trials[2]['message']"

# resumePolicy LongRunning: raising maxTrialCount of a finished experiment resumes it.
sed -e 's/name: grid}/name: long}/' -e 's/algorithmName: grid/algorithmName: random/' -e 's/  maxTrialCount: 20/  maxTrialCount: 2\n  resumePolicy: LongRunning/' \
    "$TOP/build/it-exp-grid.yaml" >"$TOP/build/it-exp-long.yaml"
as_alice sdflow apply -f "$TOP/build/it-exp-long.yaml" >/dev/null
check "LongRunning: it ends after maxTrialCount (2)" wait_for 60 exp_check long "assert cond.get('reason')=='ExperimentMaxTrialsReached' and len(trials)==2, cond"
sed -i 's/  maxTrialCount: 2$/  maxTrialCount: 4/' "$TOP/build/it-exp-long.yaml"
as_alice sdflow apply -f "$TOP/build/it-exp-long.yaml" >/dev/null
check "LongRunning: with maxTrialCount raised to 4 it resumes and ends with 4 trials" wait_for 60 exp_check long "
assert cond.get('reason')=='ExperimentMaxTrialsReached' and len(trials)==4, (cond, len(trials))
assert any(c['type']=='Restarting' for c in st['conditions'])"

# The File collector, JSON lines: the trial writes its metrics to a file.
cat >"$TOP/build/it-exp-file.yaml" <<'EOF'
apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata: {namespace: kubeflow, name: file}
spec:
  objective: {type: maximize, objectiveMetricName: score}
  algorithm: {algorithmName: random}
  maxTrialCount: 2
  metricsCollectorSpec:
    collector: {kind: File}
    source: {fileSystemPath: {path: /tmp/metrics.json, kind: File, format: JSON}}
  parameters:
  - {name: a, parameterType: int, feasibleSpace: {min: "1", max: "1"}}
  trialTemplate:
    trialParameters: [{name: a, reference: a}]
    trialSpec:
      apiVersion: batch/v1
      kind: Job
      spec:
        template:
          spec:
            containers:
            - name: t
              image: busybox
              command: [sh, -c, "echo nothing on stdout; echo '{\"score\": ${trialParameters.a}, \"timestamp\": 1}' > /tmp/metrics.json; echo '{\"score\": 0.5}' >> /tmp/metrics.json"]
EOF
as_alice sdflow apply -f "$TOP/build/it-exp-file.yaml" >/dev/null
check "File collector (JSON lines): the metrics come from the file the trial wrote" wait_for 60 exp_check file "
assert cond.get('type')=='Succeeded' and len(trials)==2, (cond, len(trials))
m=trials[0]['observation']['metrics'][0]
assert m['name']=='score' and m['latest']=='0.5' and m['max']=='1', m"

# hyperband over the trainer's epochs: brackets of successive halving, then the end.
cat >"$TOP/build/it-exp-hb.yaml" <<'EOF'
apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata: {namespace: kubeflow, name: hb}
spec:
  objective: {type: minimize, objectiveMetricName: loss}
  algorithm:
    algorithmName: hyperband
    algorithmSettings: [{name: resource_name, value: epochs}, {name: eta, value: "3"}, {name: r_l, value: "9"}, {name: random_state, value: "5"}]
  parallelTrialCount: 3
  maxTrialCount: 40
  parameters:
  - {name: lr, parameterType: double, feasibleSpace: {min: "0.005", max: "0.05"}}
  - {name: epochs, parameterType: int, feasibleSpace: {min: "1", max: "9"}}
  trialTemplate:
    primaryContainerName: training-container
    trialParameters: [{name: lr, reference: lr}, {name: epochs, reference: epochs}]
    trialSpec:
      apiVersion: batch/v1
      kind: Job
      spec:
        template:
          spec:
            containers:
            - name: training-container
              image: docker.io/kubeflowkatib/pytorch-mnist-cpu:latest
              command: [python3, /opt/pytorch-mnist/mnist.py, "--epochs=${trialParameters.epochs}", "--lr=${trialParameters.lr}", --momentum=0.5]
EOF
as_alice sdflow apply -f "$TOP/build/it-exp-hb.yaml" >/dev/null
check "hyperband: 22 trials in three brackets, the best of each rung promoted with 3x the epochs" wait_for 240 exp_check hb "
assert cond.get('reason')=='ExperimentSuggestionEndReached', cond
assert len(trials)==22, len(trials)
ep=lambda t: int([a['value'] for a in t['parameterAssignments'] if a['name']=='epochs'][0])
lr=lambda t: [a['value'] for a in t['parameterAssignments'] if a['name']=='lr'][0]
loss=lambda t: float(t['observation']['metrics'][0]['min'])
assert [ep(t) for t in trials]==[1]*9+[3]*3+[9]+[3]*5+[9]+[9]*3, [ep(t) for t in trials]
best3=sorted(trials[:9], key=loss)[:3]
assert sorted(lr(t) for t in trials[9:12])==sorted(lr(t) for t in best3)"

# tpe on the trainer: runs, and its later trials come from the model (deterministic by random_state).
sed -e 's/name: random}/name: tpe}/' -e 's/algorithm: {algorithmName: random}/algorithm: {algorithmName: tpe, algorithmSettings: [{name: random_state, value: "7"}, {name: n_startup_trials, value: "4"}]}/' \
    "$TOP/examples/katib/random.yaml" >"$TOP/build/it-exp-tpe.yaml"
as_alice sdflow apply -f "$TOP/build/it-exp-tpe.yaml" >/dev/null
check "tpe: 12 trials to the end" wait_for 120 exp_check tpe "assert cond.get('type')=='Succeeded' and len(trials)==12, (cond, len(trials))"
sed -e 's/name: random}/name: cma}/' -e 's/algorithm: {algorithmName: random}/algorithm: {algorithmName: cmaes, algorithmSettings: [{name: random_state, value: "3"}]}/' \
    -e 's/maxTrialCount: 12/maxTrialCount: 8/' "$TOP/examples/katib/random.yaml" >"$TOP/build/it-exp-cma.yaml"
as_alice sdflow apply -f "$TOP/build/it-exp-cma.yaml" >/dev/null
check "cmaes: a generation (6 trials) at a time; the next waits for the results" wait_for 120 exp_check cma "
assert cond.get('type')=='Succeeded' and len(trials)==8, (cond, len(trials))
assert min(t['startTime'] for t in trials[6:]) >= max(t['completionTime'] for t in trials[:6])"
as_alice sdflow -n kubeflow delete experiment tpe >/dev/null
check "deleting an experiment deletes its trials" test "$(sbx sdflow -n kubeflow get wf -l katib.kubeflow.org/experiment=tpe -o name 2>/dev/null | wc -l)" = 0
finish
