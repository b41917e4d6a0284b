#!/bin/bash
# The sandbox is isolated: the host's /tmp is untouched even when systemd's
# tmpfiles clean-up runs inside, the sandbox has its own pid, mount, cgroup,
# uts and network namespaces, gettys and unrelated services stay off, and
# teardown leaves no process, mount or cgroup directory behind.
. "$(dirname "$0")/lib.sh"
require_sandbox

# A marker the host's tmpfiles rules would delete (old atime/mtime).
marker=$(mktemp /tmp/sdflow-isolation-XXXXXX)
trap 'rm -f "$marker"' EXIT
echo keep >"$marker"
touch -d '30 days ago' "$marker"
before=$(ls -la --time-style=+%s /tmp | sort)

boot
trap 'teardown; rm -f "$marker"' EXIT
pid=$(cat /run/sdflow-sandbox/$SB/pid)

# Inside: /tmp is private and empty of the host's files.
check "sandbox /tmp does not show the host's files" test -z "$(sbx ls -A /tmp | grep -F "$(basename "$marker")")"
sbx sh -c 'echo inside >/tmp/inside-only'
# Run systemd's own clean-up as hard as it goes.
sbx systemd-tmpfiles --clean --remove >/dev/null 2>&1 || true
sbx systemctl start systemd-tmpfiles-clean.service >/dev/null 2>&1 || true
check "host marker survives" grep -qx keep "$marker"
check "host /tmp does not get the sandbox's file" test ! -e /tmp/inside-only

# Namespaces differ from the host's.
for ns in pid mnt cgroup uts ipc net; do
        check "own $ns namespace" test "$(readlink /proc/$pid/ns/$ns)" != "$(readlink /proc/self/ns/$ns)"
done
check "systemd is PID 1 inside" test "$(sbx cat /proc/1/comm)" = systemd
check "hostname is the sandbox's" test "$(sbx hostname)" = "sdflow-$SB"
check "system is running" test "$(sbx systemctl is-system-running)" = running
check "no getty runs" test -z "$(sbx systemctl list-units --no-legend --state=active 'getty*' 'serial-getty*' 'console-getty*')"
check "postgresql is not started" test "$(unit_state postgresql.service)" != active
check "udev is not started" test "$(unit_state systemd-udevd.service)" != active
check "cgroup2 is mounted inside" test "$(sbx stat -f -c %T /sys/fs/cgroup)" = cgroup2fs
check "only loopback inside" test "$(sbx ls /sys/class/net)" = lo

teardown
trap - EXIT
check "systemd pid is gone" test ! -e /proc/$pid
check "no cgroup directory left" test ! -e /sys/fs/cgroup/unified/sdflow-sandbox-$SB
check "no state directory left" test ! -e /run/sdflow-sandbox/$SB
check "no mount left on the host" test -z "$(grep -F "/run/sdflow-sandbox/$SB" /proc/self/mountinfo)"
after=$(ls -la --time-style=+%s /tmp | sort)
check "host /tmp listing unchanged" test "$before" = "$after"
rm -f "$marker"
finish
