#!/bin/bash
# Socket activation and scale to zero, for sdflowd and the gateway: the
# service is inactive (sdflowd after the start its socket pulls in), the
# first connection starts it and is answered, it
# exits after its idle time while the socket keeps listening, and the next
# connection starts it again.
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
boot
install_deb
sbx sh -c 'echo "IdleExitSec = 2s" >>/etc/sdflow/sdflowd.conf; echo "IdleExitSec = 2s" >>/etc/sdflow/gateway.conf'
sbx systemctl enable --now sdflowd.socket sdflow-gateway.socket >/dev/null 2>&1

# activation UNIT REQUEST-CMD...
activation() {
        local svc=$1 sock=$2; shift 2
        check "$svc: inactive before the first connection" is_state "$svc" inactive
        check "$svc: the first request is answered" "$@"
        # Type=notify: "active" (not "activating") means READY=1 arrived.
        check "$svc: active after it" is_state "$svc" active
        check "$svc: sent STATUS=" test -n "$(sbx systemctl show -P StatusText "$svc")"
        local inv1
        inv1=$(sbx systemctl show -P InvocationID "$svc")
        check "$svc: exits after its idle time" wait_for 30 is_state "$svc" inactive
        check "$svc: exited cleanly" test "$(sbx systemctl show -P Result "$svc")" = success
        check "$svc: socket still listening" is_state "$sock" active
        check "$svc: no process left" test "$(sbx systemctl show -P MainPID "$svc")" = 0
        check "$svc: logged why it exited" sh -c "'$SANDBOX' exec $SB journalctl -u $svc -o cat | grep -q 'No connections for 2 s, exiting.'"
        check "$svc: the next request is answered" "$@"
        local inv2
        inv2=$(sbx systemctl show -P InvocationID "$svc")
        check "$svc: that was a new start" test -n "$inv2" -a "$inv1" != "$inv2"
        check "$svc: and it exits again" wait_for 30 is_state "$svc" inactive
}

# sdflowd starts with its socket (at boot: to bring back slices, replica
# sockets, routes and timers), then exits when idle like any activation.
check "sdflowd.service: started with its socket" test -n "$(sbx systemctl show -P InvocationID sdflowd.service)"
check "sdflowd.service: then exits when idle" wait_for 30 is_state sdflowd.service inactive
activation sdflowd.service sdflowd.socket sh -c "'$SANDBOX' exec $SB sdflow version | grep -q '^Server Version: '"
activation sdflow-gateway.service sdflow-gateway.socket sh -c "test \"\$('$SANDBOX' exec $SB curl -sS http://127.0.0.1:8080/healthz)\" = ok"
finish
