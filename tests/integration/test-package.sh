#!/bin/bash
# The Debian package on a real systemd: apt-get installs it, every unit
# passes systemd-analyze verify, the sockets are off until enabled, then
# both listen and answer; apt-get purge removes it cleanly.
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
boot
install_deb

units="sdflow.slice sdflowd.socket sdflowd.service sdflow-gateway.socket sdflow-gateway.service"
for u in $units; do
        out=$(sbx systemd-analyze verify "/lib/systemd/system/$u" 2>&1)
        checks=$((checks + 1))
        [ -z "$out" ] || fail "systemd-analyze verify $u: $out"
done
check "user sdflow exists" sbx getent passwd sdflow
check "group sdflow-admin exists" sbx getent group sdflow-admin
check "/run/sdflow exists" sbx test -d /run/sdflow
check "/var/lib/sdflow exists" sbx test -d /var/lib/sdflow
check "config files installed" sbx test -f /etc/sdflow/sdflowd.conf -a -f /etc/sdflow/gateway.conf
check "man pages installed" sbx test -f /usr/share/man/man1/sdflow.1.gz -a -f /usr/share/man/man8/sdflowd.8.gz -a -f /usr/share/man/man8/sdflow-gateway.8.gz
check "sockets not enabled by the install" test "$(sbx systemctl is-enabled sdflowd.socket)" = disabled
check "configuration checks" sbx sdflowd --check

sbx systemctl enable --now sdflowd.socket sdflow-gateway.socket >/dev/null 2>&1
check "sdflowd.socket listening" is_state sdflowd.socket active
check "sdflow-gateway.socket listening" is_state sdflow-gateway.socket active
check "api.sock is a listening Unix socket" sh -c "'$SANDBOX' exec $SB ss -xlnH | grep -q /run/sdflow/api.sock"
check "port 8080 listening" sh -c "'$SANDBOX' exec $SB ss -tlnH | grep -q ':8080 '"
check "sdflow version reaches the server" sh -c "'$SANDBOX' exec $SB sdflow version | grep -q '^Server Version: '"
check "gateway answers" test "$(sbx curl -sS http://127.0.0.1:8080/healthz)" = ok
gw_pid=$(sbx systemctl show -P MainPID sdflow-gateway.service)
check "gateway runs as user sdflow" test "$(sbx ps -o user= -p "$gw_pid")" = sdflow

# An upgrade (here a reinstall of the same package) keeps the sockets
# listening and the namespaces' slices and workloads running.
sbx systemd-run --quiet --unit=it-upgrade-workload --slice=sdflow.slice sleep 600
dir=$(dirname "$DEB")
sbx sh -c "cd '$dir' && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall ./$(basename "$DEB")" >/dev/null 2>&1
check "after an upgrade sdflowd.socket still listens" is_state sdflowd.socket active
check "after an upgrade the gateway socket still listens" is_state sdflow-gateway.socket active
check "after an upgrade workloads under sdflow.slice still run" is_state it-upgrade-workload.service active
check "after an upgrade the API answers" sh -c "'$SANDBOX' exec $SB sdflow version | grep -q '^Server Version: '"
sbx systemctl stop it-upgrade-workload.service

echo "  systemd-analyze security (exposure, lower is better):"
for u in sdflowd.service sdflow-gateway.service sdflow-privd.service; do
        e=$(sbx systemd-analyze security --no-pager "$u" 2>/dev/null | tail -n 1)
        echo "    $u: $e"
        check "$u: exposure at most 2.0 ($e)" awk -v e="$(grep -o '[0-9]*\.[0-9]' <<<"$e" | head -n 1)" 'BEGIN { exit !(e != "" && e <= 2.0) }'
done

files=$(sbx dpkg -L sdflow | while read -r f; do sbx test -d "$f" || echo "$f"; done)
sbx sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q sdflow' >/dev/null 2>&1
check "package is gone" sh -c "! '$SANDBOX' exec $SB dpkg -s sdflow"
for f in $files; do
        check "purged: $f" sbx test ! -e "$f"
done
check "units unknown after purge" test "$(sbx systemctl show -P LoadState sdflowd.socket)" = not-found
check "nothing listens on api.sock" sh -c "! '$SANDBOX' exec $SB ss -xlnH | grep -q /run/sdflow/api.sock"
check "nothing listens on 8080" sh -c "! '$SANDBOX' exec $SB ss -tlnH | grep -q ':8080 '"
check "/var/lib/sdflow removed" sbx test ! -e /var/lib/sdflow
check "/etc/sdflow removed" sbx test ! -e /etc/sdflow
check "no enablement symlinks left" test -z "$(sbx find /etc/systemd/system -lname '*/sdflow*')"
finish
