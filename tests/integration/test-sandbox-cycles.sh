#!/bin/bash
# Ten boot/teardown cycles in a row: each boots to "running", and each
# teardown leaves no systemd, cgroup or mount behind.  Boot times are
# printed (not asserted: tests never assert timings).
. "$(dirname "$0")/lib.sh"
require_sandbox

times=()
for i in $(seq 1 10); do
        t0=$(date +%s%N)
        "$SANDBOX" start "$SB" >/dev/null || { fail "cycle $i: boot"; continue; }
        t1=$(date +%s%N)
        times+=("$(( (t1 - t0) / 1000000 ))")
        pid=$(cat /run/sdflow-sandbox/$SB/pid)
        check "cycle $i: running" test "$(sbx systemctl is-system-running)" = running
        check "cycle $i: transient unit runs" sbx systemd-run --wait --quiet -p DynamicUser=yes true
        "$SANDBOX" stop "$SB"
        check "cycle $i: systemd gone" test ! -e /proc/$pid
        check "cycle $i: cgroup gone" test ! -e /sys/fs/cgroup/unified/sdflow-sandbox-$SB
        check "cycle $i: no mounts" test -z "$(grep -F "/run/sdflow-sandbox/$SB" /proc/self/mountinfo)"
done
echo "  boot times (ms): ${times[*]}"
finish
