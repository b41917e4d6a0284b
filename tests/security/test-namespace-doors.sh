#!/bin/bash
# A namespace's files and sockets are its owner's and contributors', and
# nobody else's, whatever groups the users share (docs/security.md):
#   - alice and erin share the primary group "users": erin cannot list,
#     read or connect to anything of alice's namespace (its files, its
#     model sockets), nor list which namespaces exist;
#   - a contributor is let in on disk when the API lets him in, and out
#     when it does, at once: a shell of bob's that was running before
#     sees the change;
#   - a hostile step cannot open its namespace's doors to others (they
#     are root's), nor read another namespace's artifacts;
#   - another user sees neither the environment nor the files of a step's
#     process through /proc;
#   - a deleted namespace leaves nothing its UID owns: the next namespace
#     may get that UID and finds nothing of the old one's.
. "$(dirname "$0")/../integration/lib.sh"
require_sandbox
require_deb
/usr/bin/python3 -c 'import xgboost' 2>/dev/null || skip "/usr/bin/python3 lacks python3-xgboost"
boot
install_deb
W=$TOP/build/sec-namespace-doors
rm -rf "$W" && mkdir -p "$W"
trap 'teardown; rm -rf "$W"' EXIT
sbx systemctl enable --now sdflowd.socket sdflow-gateway.socket >/dev/null 2>&1
for u in alice erin carol; do sbx useradd -m -g users "$u"; done
sbx useradd -m bob
as() { local u=$1; shift; sbx runuser -u "$u" -- "$@"; }
prof() { printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: %s}\nspec:\n  owner: {kind: User, name: %s}\n' "$1" "$2" >"$W/p-$1.yaml"; sbx sdflow apply -f "$W/p-$1.yaml" >/dev/null; }
prof team-a alice
prof team-e erin
done_wf() { sbx sdflow -n "$1" get wf "$2" -o json 2>/dev/null | /usr/bin/python3 -c "import json,sys; s=json.load(sys.stdin)['status']; sys.exit(0 if s.get('finishedAt') else 1)"; }
phase() { sbx sdflow -n "$1" get wf "$2" -o json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['status']['phase'])"; }
wf() { # NS NAME SCRIPT: a one-step workflow
        printf 'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: %s, namespace: %s}\nspec:\n  entrypoint: s\n  templates:\n  - name: s\n    container: {image: debian:12, command: [sh, -c, "%s"]}\n    outputs: {artifacts: [{name: a, path: /tmp/a}]}\n' "$2" "$1" "$3" >"$W/wf-$1-$2.yaml"
}

# alice's artifact, and her model.
wf team-a out "echo alice-artifact-17 > /tmp/a"
as alice sdflow apply -f "$W/wf-team-a-out.yaml" >/dev/null
check "alice's workflow ends" wait_for 60 done_wf team-a out
check "... and succeeds" test "$(phase team-a out)" = Succeeded
art=$(sbx sh -c 'ls /var/lib/sdflow/ns/team-a/artifacts/out/*/artifacts/a' | head -1)
check "its artifact is on disk ($art)" test -n "$art"
check "the owner reads her artifact on disk" test "$(as alice cat "$art")" = alice-artifact-17
check "erin, of the same primary group, cannot list alice's namespace" sh -c "! '$SANDBOX' exec $SB runuser -u erin -- ls /var/lib/sdflow/ns/team-a"
check "... nor read the artifact" sh -c "! '$SANDBOX' exec $SB runuser -u erin -- cat '$art'"
check "... nor list which namespaces exist" sh -c "! '$SANDBOX' exec $SB runuser -u erin -- ls /var/lib/sdflow/ns /run/sdflow/ns"
check "the door is root's and the namespace's own group's, not the owner's primary group" \
        test "$(sbx stat -c '%U:%G %a' /var/lib/sdflow/ns/team-a /run/sdflow/ns/team-a | sort -u)" = "root:sdflow-team-a 750"

as alice /usr/bin/python3 "$TOP/examples/models/train-iris-xgboost.py" /home/alice/iris >/dev/null
printf 'apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: iris, namespace: team-a}\nspec:\n  predictor:\n    model:\n      modelFormat: {name: xgboost}\n      storageUri: file:///home/alice/iris\n' >"$W/isvc.yaml"
as alice sdflow apply -f "$W/isvc.yaml" >/dev/null
check "alice's model is served" wait_for 60 sh -c "'$SANDBOX' exec $SB sdflow -n team-a get isvc iris | grep -q ' True '"
sock=$(sbx sh -c 'ls /run/sdflow/ns/team-a/*.sock' | head -1)
body='{"instances": [[6.8, 2.8, 4.8, 1.4]]}'
check "its replica socket is there ($sock)" test -n "$sock"
check "the owner may call her model's socket directly" sh -c "'$SANDBOX' exec $SB runuser -u alice -- curl -sS --unix-socket '$sock' -d '$body' http://x/v1/models/iris:predict | grep -q predictions"
check "erin cannot connect to it, tokens or not" sh -c "! '$SANDBOX' exec $SB runuser -u erin -- curl -sS --unix-socket '$sock' -d '$body' http://x/v1/models/iris:predict"
check "the gateway still reaches it" sh -c "'$SANDBOX' exec $SB curl -sS -H 'Host: iris.team-a.example.com' -d '$body' http://127.0.0.1:8080/v1/models/iris:predict | grep -q predictions"

# bob's shell, from before he is a contributor to after he is not.
sbx sh -c "runuser -u bob -- sh -c 'echo \$\$ >/tmp/bob.pid; i=0; while [ \$i -lt 900 ]; do if cat $art >/dev/null 2>&1 && ls /run/sdflow/ns/team-a >/dev/null 2>&1; then echo in; else echo out; fi >/tmp/bob.state; sleep 0.1; i=\$((i+1)); done' </dev/null >/dev/null 2>&1 &"
state() { test "$(sbx cat /tmp/bob.state 2>/dev/null)" = "$1"; }
check "bob, no contributor, is out" wait_for 10 state out
check "bob cannot read team-a through the API either" sh -c "! '$SANDBOX' exec $SB runuser -u bob -- sdflow -n team-a get wf out"
check "alice adds bob as a contributor" as alice sdflow contributor add team-a bob
check "bob's running shell is let in on disk at once" wait_for 10 state in
check "... and through the API" as bob sdflow -n team-a get wf out
check "carol, not added, stays out" sh -c "! '$SANDBOX' exec $SB runuser -u carol -- cat '$art'"
check "alice removes bob" as alice sdflow contributor remove team-a bob
check "bob's running shell is out on disk at once" wait_for 10 state out
check "... and through the API" sh -c "! '$SANDBOX' exec $SB runuser -u bob -- sdflow -n team-a get wf out"
sbx sh -c 'kill $(cat /tmp/bob.pid)' 2>/dev/null

# A hostile step cannot open its namespace's doors, nor walk into another's.
wf team-a doors "chmod 0777 /var/lib/sdflow/ns/team-a /run/sdflow/ns/team-a 2>/dev/null && echo opened > /tmp/a || echo refused > /tmp/a"
as alice sdflow apply -f "$W/wf-team-a-doors.yaml" >/dev/null
check "a step's chmod of its namespace's doors ends" wait_for 60 done_wf team-a doors
check "... the doors are as they were" test "$(sbx stat -c '%U:%G %a' /var/lib/sdflow/ns/team-a /run/sdflow/ns/team-a | sort -u)" = "root:sdflow-team-a 750"
wf team-e steal "cat $art > /tmp/a 2>/dev/null || echo denied > /tmp/a"
as erin sdflow apply -f "$W/wf-team-e-steal.yaml" >/dev/null
check "erin's step that reads alice's artifact ends" wait_for 60 done_wf team-e steal
stolen=$(sbx sh -c 'cat /var/lib/sdflow/ns/team-e/artifacts/steal/*/artifacts/a')
check "... with nothing of alice's ($stolen)" test "$stolen" = denied

# /proc of another namespace's process.
wf team-a slow "echo \$\$ > /tmp/a; SECRET_IN_ENV=x exec sleep 60"
as alice sdflow apply -f "$W/wf-team-a-slow.yaml" >/dev/null
unitpid() { sbx sh -c "systemctl show -P MainPID \$(systemctl list-units --plain --no-legend 'sdflowwf_team-a_slow*' | awk '{print \$1}' | head -n 1)"; }
haspid() { [ "$(unitpid)" -gt 0 ] 2>/dev/null; }
check "a step of alice's runs" wait_for 30 haspid
pid=$(unitpid)
# The units a namespace's workloads run in: a replica as confined as the
# daemons (<= 2.0); a step without the five mount-work options, which
# would cost every step ~14 ms (services/sdflowd/manager.c; bench/README.md):
# <= 3.0 (it was 3.4 before they were hardened at all).
exposure() { sbx systemd-analyze security --no-pager "$1" 2>/dev/null | tail -n 1 | grep -o '[0-9]*\.[0-9]' | head -n 1; }
at_most_2() { awk -v e="$1" 'BEGIN { exit !(e != "" && e <= 2.0) }'; }
sbx curl -sS -o /dev/null -H 'Host: iris.team-a.example.com' -d "$body" http://127.0.0.1:8080/v1/models/iris:predict
step_unit=$(sbx systemctl list-units --plain --no-legend 'sdflowwf_team-a_slow*' | awk '{print $1}' | head -n 1)
replica_unit=$(sbx systemctl list-units --plain --no-legend 'sdflow_team-a_iris_*.service' | awk '{print $1}' | head -n 1)
e=$(exposure "$step_unit")
at_most_3() { awk -v e="$1" 'BEGIN { exit !(e != "" && e <= 3.0) }'; }
check "systemd-analyze security of a step ($step_unit): at most 3.0 ($e)" at_most_3 "$e"
e=$(exposure "$replica_unit")
check "... of a model replica ($replica_unit): at most 2.0 ($e)" at_most_2 "$e"
check "erin cannot read its environment (/proc/$pid/environ)" sh -c "! '$SANDBOX' exec $SB runuser -u erin -- cat /proc/$pid/environ"
check "... nor its files through /proc/$pid/cwd or root" sh -c "! '$SANDBOX' exec $SB runuser -u erin -- ls /proc/$pid/cwd/ && ! '$SANDBOX' exec $SB runuser -u erin -- ls /proc/$pid/root/tmp/"
check "... nor its open files" sh -c "! '$SANDBOX' exec $SB runuser -u erin -- ls /proc/$pid/fd/"
sbx sdflow -n team-a delete wf slow >/dev/null 2>&1

# A deleted namespace leaves nothing for the next one with its UID.
prof team-u alice
uid=$(sbx id -u sdflow-team-u) gid=$(sbx id -g sdflow-team-u)
wf team-u leave "touch /dev/shm/u /tmp/u /var/tmp/u 2>/dev/null; ipcmk -M 4096 >/dev/null 2>&1; echo x > /tmp/a"
as alice sdflow apply -f "$W/wf-team-u-leave.yaml" >/dev/null
check "team-u's step that tries to leave files behind ends" wait_for 60 done_wf team-u leave
# ...and one left there by hand, as a unit that is not sdflow's could.
sbx install -o sdflow-team-u -g sdflow-team-u /dev/null /var/tmp/left-by-team-u
sbx runuser -u sdflow-team-u -- ipcmk -M 4096 >/dev/null
ipc_of_uid() { sbx sh -c "awk -v u=$1 'NR > 1 && (\$8 == u || \$10 == u)' /proc/sysvipc/shm"; }
check "(a SysV shared memory segment of team-u's user exists before the delete)" test -n "$(ipc_of_uid "$uid")"
sbx sdflow delete profile team-u --yes >/dev/null
owned() { sbx sh -c "find / /run /tmp /var/tmp /dev/shm /dev/mqueue -xdev \\( -uid $1 -o -gid $2 \\) -print 2>/dev/null | head -n 50"; }
left=$(owned "$uid" "$gid")
check "deleting team-u leaves no file of UID $uid or GID $gid anywhere${left:+ (left: $left)}" test -z "$left"
check "... no SysV IPC object of its UID" test -z "$(ipc_of_uid "$uid")"
check "... and no user" sh -c "! '$SANDBOX' exec $SB getent passwd sdflow-team-u"
prof team-v alice
uid2=$(sbx id -u sdflow-team-v) gid2=$(sbx id -g sdflow-team-v)
echo "      team-u had UID $uid GID $gid; team-v got $uid2 $gid2"
mine=$(owned "$uid2" "$gid2" | grep -v '^/var/lib/sdflow/ns/team-v\|^/run/sdflow/ns/team-v')
check "team-v owns nothing but its own directories${mine:+ (also: $mine)}" test -z "$mine"
finish
