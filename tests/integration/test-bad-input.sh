#!/bin/bash
# Malformed, oversized, slow and vanishing clients against the installed
# sdflowd (Unix socket) and gateway (TCP 8080): each gets the right HTTP
# error, and neither daemon crashes, restarts or stalls.
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3 for the test client"
boot
install_deb
for f in sdflowd.conf gateway.conf; do
        sbx sh -c "printf 'MaxHeaderBytes = 4K\nMaxBodyBytes = 64K\nRequestTimeoutSec = 2s\nIdleExitSec = 0\n' >>/etc/sdflow/$f"
done
sbx systemctl enable --now sdflowd.socket sdflow-gateway.socket >/dev/null 2>&1

for target in sdflowd.service:/run/sdflow/api.sock sdflow-gateway.service:127.0.0.1:8080; do
        svc=${target%%:*} addr=${target#*:}
        out=$(sbx /usr/bin/python3 "$TOP/tests/integration/http-abuse.py" "$addr" 2>&1)
        rc=$?
        grep '^info:' <<<"$out" | sed "s/^/  $svc: /"
        n=$(grep -c '^ok:' <<<"$out")
        checks=$((checks + n))
        while read -r line; do fail "$svc: $line"; done < <(grep -v '^ok:\|^info:' <<<"$out")
        [ $rc = 0 ] || [ "$(grep -vc '^ok:\|^info:' <<<"$out")" != 0 ] || fail "$svc: client exited $rc"
        check "$svc: still active" is_state "$svc" active
        check "$svc: never restarted" test "$(sbx systemctl show -P NRestarts "$svc")" = 0
done
check "CLI rejects unknown flags" sh -c "'$SANDBOX' exec $SB sdflow --frobnicate version; test \$? = 2"
check "sdflowd rejects unknown flags" sh -c "'$SANDBOX' exec $SB sdflowd --frobnicate; test \$? = 2"
finish
