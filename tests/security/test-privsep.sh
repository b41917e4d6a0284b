#!/bin/bash
# The privilege split (sdflow-privd(8)): sdflowd, which parses what local
# users send, runs as user sdflowd without capabilities; only sdflow-privd
# keeps uid 0, and it refuses, and logs, any call that would start a unit as
# root, outside a namespace's slice, without the mandatory sandbox, with a
# root or bind not in the image map, or that touches a unit not sdflow's.
# The calls are crafted by hand, as a compromised sdflowd would send them.
. "$(dirname "$0")/../integration/lib.sh"
require_sandbox
require_deb
boot
install_deb
W=$TOP/build/sec-privsep
rm -rf "$W" && mkdir -p "$W"
trap 'teardown; rm -rf "$W"' EXIT
sbx systemctl enable --now sdflowd.socket sdflow-gateway.socket >/dev/null 2>&1
sbx useradd -m alice
printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: team-a}\nspec:\n  owner: {kind: User, name: alice}\n' >"$W/p.yaml"
sbx sdflow apply -f "$W/p.yaml" >/dev/null
field() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin).get('status', {}).get(sys.argv[1], ''))" "$1"; }
ready() { sbx sdflow get profile team-a -o json 2>/dev/null | grep -q '"Ready"'; }
check "the Profile becomes Ready (its slice, user and directory made through privd)" wait_for 60 ready

main_pid_user() { sbx ps -o user:64= -p "$(sbx systemctl show -P MainPID "$1")"; }
check "sdflowd runs as user sdflowd" test "$(main_pid_user sdflowd.service)" = sdflowd
check "sdflowd has no capability" test "$(sbx systemctl show -P CapabilityBoundingSet sdflowd.service)" = ""
check "sdflow-privd runs as root" test "$(main_pid_user sdflow-privd.service)" = root
check "sdflow-privd has no capability" test "$(sbx systemctl show -P CapabilityBoundingSet sdflow-privd.service)" = ""
check "sdflowd's seccomp filter is on" sh -c "'$SANDBOX' exec $SB grep -q '^Seccomp:[[:space:]]*2' /proc/\$('$SANDBOX' exec $SB systemctl show -P MainPID sdflowd.service)/status"
check "sdflow-privd's seccomp filter is on" sh -c "'$SANDBOX' exec $SB grep -q '^Seccomp:[[:space:]]*2' /proc/\$('$SANDBOX' exec $SB systemctl show -P MainPID sdflow-privd.service)/status"

nsuser=$(sbx sh -c 'getent passwd | cut -d: -f1 | grep "^sdflow-team" | head -n 1')
nsslice=$(sbx systemctl list-units --all --plain --no-legend --type=slice 'sdflow-team*' | awk 'NR == 1 { print $1 }')
echo "      namespace user $nsuser, slice $nsslice"
check "the namespace's user and slice exist" test -n "$nsuser" -a -n "$nsslice"
sbx cp "$TOP/tests/security/privcall.py" /run/privcall.py
call() { sbx runuser -u sdflowd -- /usr/bin/python3 /run/privcall.py /run/sdflow/priv.sock "$nsuser" "$nsslice" "$1"; }
privd_log() { sbx journalctl -q -o cat -u sdflow-privd.service; }

# A valid workload is accepted and runs: the refusals below are not from a
# privd that refuses everything.
out=$(call valid)
echo "      valid: $out"
check "a workload with the mandatory sandbox, as the namespace's user, in its slice, is accepted" grep -q '^accepted' <<<"$out"
ran() { [ "$(sbx systemctl show -P Result sdflowwf_privsep_valid.service)" = success ] && [ "$(sbx systemctl show -P ActiveState sdflowwf_privsep_valid.service)" != activating ]; }
check "... and runs, as that user" wait_for 20 ran
check "... whose ExecMainStatus is 0" test "$(sbx systemctl show -P ExecMainStatus sdflowwf_privsep_valid.service)" = 0
out=$(call valid-long)
check "a long-running workload is accepted" grep -q '^accepted' <<<"$out"
running() { [ "$(sbx systemctl show -P ActiveState sdflowwf_privsep_valid_long.service)" = active ]; }
check "... and runs" wait_for 20 running
check "... as the namespace's user" test "$(main_pid_user sdflowwf_privsep_valid_long.service)" = "$nsuser"
out=$(call valid-stop)
echo "      valid-stop: $out"
check "stopping it is accepted" grep -q '^accepted' <<<"$out"
stopped() { [ "$(sbx systemctl show -P ActiveState sdflowwf_privsep_valid_long.service)" = inactive ]; }
check "... and it stops" wait_for 20 stopped

for c in root-user uid-0 no-user user-twice other-user system-slice sdflow-slice no-slice no-nnp nnp-false caps \
        no-caps-prop protect-system-full no-private-network no-private-tmp bind-shadow root-directory read-write-etc \
        unknown-property ambient-caps wrong-type relative-exec other-name root-helper-verb root-shell aux-root; do
        out=$(call "$c")
        echo "      $c: $out"
        check "$c: refused" grep -q '^refused org.sdflow.Privileged1.Refused' <<<"$out"
        unit=sdflowwf_privsep_${c//-/_}.service
        case $c in other-name) unit=privsep-evil.service ;; root-*) unit=sdflow-ns-privsep.service ;; aux-root) unit=sdflow_privsep_aux.service ;; esac
        check "$c: no unit $unit was made" test "$(sbx systemctl show -P LoadState "$unit")" = not-found
done
check "aux-root: nor its auxiliary unit" test "$(sbx systemctl show -P LoadState sdflowwf_privsep_aux.service)" = not-found
check "root-shell: the shell did not run" sbx test ! -e /run/pwned
for c in stop-sdflowd stop-dbus set-sdflowd; do
        out=$(call "$c")
        echo "      $c: $out"
        check "$c: refused" grep -q '^refused org.sdflow.Privileged1.Refused' <<<"$out"
done
check "sdflowd.service still runs" test "$(sbx systemctl show -P ActiveState sdflowd.service)" = active
check "dbus.service still runs" test "$(sbx systemctl show -P ActiveState dbus.service)" = active
check "sdflowd.service's MemoryMax is unchanged" test "$(sbx systemctl show -P MemoryMax sdflowd.service)" != 1048576
uid=$(sbx id -u sdflowd)
privd_log >"$W/privd.log"
sed -n 's/^/      journal: /p' "$W/privd.log" | grep Refused | head -n 5
check "each refusal is logged with the caller's uid ($(grep -c "^Refused .* from uid $uid " "$W/privd.log") lines)" \
        test "$(grep -c "^Refused .* from uid $uid " "$W/privd.log")" -ge 29
check "the log names why: the root user" grep -q "User=root" "$W/privd.log"
check "the log names why: the slice" grep -q "Slice=system.slice" "$W/privd.log"
check "the log names why: NoNewPrivileges" grep -q "NoNewPrivileges" "$W/privd.log"
check "the log names why: the socket's service as root" grep -q "sdflow_privsep_aux.service: User=root" "$W/privd.log"

# Only sdflowd (and root) may talk to privd.
out=$(sbx runuser -u alice -- /usr/bin/python3 /run/privcall.py /run/sdflow/priv.sock "$nsuser" "$nsslice" valid 2>&1)
echo "      alice: $out"
refused_connect() { ! grep -q '^accepted' <<<"$out" && grep -qi 'permission denied\|access denied\|EACCES' <<<"$out"; }
check "another user cannot connect to priv.sock" refused_connect
check "nor to /run/sdflow/priv.sock by its mode (0600 sdflowd)" test "$(sbx stat -c %a:%U /run/sdflow/priv.sock)" = 600:sdflowd
# Nor a workload: the namespace's own user.
out=$(sbx runuser -u "$nsuser" -- /usr/bin/python3 /run/privcall.py /run/sdflow/priv.sock "$nsuser" "$nsslice" valid 2>&1)
echo "      $nsuser: $out"
check "a namespace's workload user cannot connect to priv.sock" refused_connect

# privd restarts (or exits idle): sdflowd reconnects and work goes on.
sbx systemctl kill -s KILL sdflow-privd.service
sleep 1
cat >"$W/wf.yaml" <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: after-restart, namespace: team-a}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: busybox, command: [sh, -c, 'echo ran as $(id -un)']}
Y
sbx runuser -u alice -- sdflow apply -f "$W/wf.yaml" >/dev/null
phase() { sbx sdflow -n team-a get wf after-restart -o json 2>/dev/null | field phase; }
succeeded() { [ "$(phase)" = Succeeded ]; }
check "after privd is killed a workflow still runs (sdflowd reconnects)" wait_for 60 succeeded
echo "      workflow phase: $(phase)"

# privd goes while a step's start is in flight: frozen (the call waits in
# its socket), then killed.  The step accepted is not lost: its start is
# sent again to the privd the socket starts anew.
sbx systemctl kill -s STOP sdflow-privd.service
sed 's/name: after-restart/name: in-flight/' "$W/wf.yaml" >"$W/wf2.yaml"
sbx runuser -u alice -- sdflow apply -f "$W/wf2.yaml" >/dev/null
sleep 2
phase2() { sbx sdflow -n team-a get wf in-flight -o json 2>/dev/null | field phase; }
before=$(phase2)
sbx systemctl kill -s KILL sdflow-privd.service
succeeded2() { [ "$(phase2)" = Succeeded ]; }
check "a step whose start was in flight when privd was killed still runs (it was $before then)" wait_for 60 succeeded2
check "... its start sent again, and logged" sh -c "'$SANDBOX' exec $SB journalctl -q -o cat -u sdflowd.service | grep -q 'got no answer.*sending it again'"

# The same for a namespace's helper: a Profile applied while privd is
# frozen, then privd killed.  The helper's start is sent again and the
# apply is answered with the namespace in place.
sbx systemctl kill -s STOP sdflow-privd.service
printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: team-p}\nspec:\n  owner: {kind: User, name: alice}\n' >"$W/pp.yaml"
( sbx sdflow apply -f "$W/pp.yaml" >"$W/pp.out" 2>&1; echo "rc=$?" >>"$W/pp.out" ) &
pp=$!
sleep 2
sbx systemctl kill -s KILL sdflow-privd.service
wait "$pp"
pphase() { sbx sdflow get profile team-p -o json 2>/dev/null | field phase; }
echo "      the apply said: $(tr '\n' ' ' <"$W/pp.out")"
check "a Profile applied while privd was frozen, then killed: its namespace is Ready ($(pphase))" test "$(pphase)" = Ready
check "... its helper's start sent again, and logged" sh -c "'$SANDBOX' exec $SB journalctl -q -o cat -u sdflowd.service | grep -q 'The start of sdflow-ns-create-.* got no answer from sdflow-privd'"
check "... and its user made" sbx id sdflow-team-p

# privd is as confined as the daemons it serves.
for u in sdflowd.service sdflow-privd.service; do
        e=$(sbx systemd-analyze security --no-pager "$u" 2>/dev/null | tail -n 1)
        echo "      $u: $e"
        check "$u: exposure at most 2.0 ($e)" awk -v e="$(grep -o '[0-9]*\.[0-9]' <<<"$e" | head -n 1)" 'BEGIN { exit !(e != "" && e <= 2.0) }'
done
finish
