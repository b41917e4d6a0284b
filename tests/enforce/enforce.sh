#!/bin/bash
# enforce.sh HOG [DEB]: the enforcement tier's tests, run inside the VM (real
# kernel, systemd as PID 1, cgroup v2 controllers present) by tools/sdflow-vm.
# HOG is the built tests/enforce/hog; with DEB (the sdflow package) the
# Profile tests run too.  Prints ok/not ok lines and a summary.
HOG=$1
DEB=${2:-}
pass=0 failed=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
nok() { echo "not ok: $*"; failed=$((failed + 1)); }
t() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what"; fi; }

ctl=$(cat /sys/fs/cgroup/cgroup.controllers)
echo "info: controllers: $ctl"
for c in cpu memory io pids; do
        t "controller $c present" grep -qw "$c" <<<"$ctl"
done

# 1. MemoryMax= on a service that allocates 200 MiB ends in oom-kill.
out=$(systemd-run --wait --unit=enf-oom -p MemoryMax=50M -p MemorySwapMax=0 "$HOG" mem 200 0 2>&1)
echo "info: MemoryMax=50M, 200 MiB: $(grep -o 'Finished with result: .*' <<<"$out")"
t "MemoryMax=50M with 200 MiB ends in oom-kill" grep -q 'Finished with result: oom-kill' <<<"$out"

# 2. A slice limit confines two services: 2 x 70 MiB in a 100M slice.
mkdir -p /run/systemd/system
printf '[Slice]\nMemoryMax=100M\nMemorySwapMax=0\n' >/run/systemd/system/enf.slice
systemctl daemon-reload
for u in a b; do
        systemd-run --quiet --unit=enf-$u --slice=enf.slice -p MemorySwapMax=0 "$HOG" mem 70 120
done
for _ in $(seq 600); do
        ra=$(systemctl show -P Result enf-a); rb=$(systemctl show -P Result enf-b)
        [ "$ra" = oom-kill ] || [ "$rb" = oom-kill ] && break
        sleep 0.1
done
sleep 1
sa=$(systemctl show -P ActiveState enf-a); sb=$(systemctl show -P ActiveState enf-b)
ra=$(systemctl show -P Result enf-a); rb=$(systemctl show -P Result enf-b)
echo "info: slice MemoryMax=100M, 2 x 70 MiB: enf-a $sa/$ra, enf-b $sb/$rb"
t "one of the two is oom-killed" test "$ra/$rb" = "oom-kill/success" -o "$ra/$rb" = "success/oom-kill"
t "the other keeps running" test "$sa/$sb" = "failed/active" -o "$sa/$sb" = "active/failed"
cur=$(cat /sys/fs/cgroup/enf.slice/memory.current)
t "the slice stays under its limit ($cur bytes)" test "$cur" -le $((100 * 1024 * 1024))
systemctl stop enf-a enf-b 2>/dev/null
systemctl reset-failed enf-a enf-b 2>/dev/null

# 3. CPUQuota=20% holds a busy loop near 20 % of one CPU (over 6 s).
systemd-run --quiet --unit=enf-cpu -p CPUQuota=20% "$HOG" cpu 60
sleep 2
cg=/sys/fs/cgroup/system.slice/enf-cpu.service
u0=$(awk '/^usage_usec/{print $2}' $cg/cpu.stat); t0=$(date +%s%N)
sleep 6
u1=$(awk '/^usage_usec/{print $2}' $cg/cpu.stat); t1=$(date +%s%N)
systemctl stop enf-cpu
pct=$(( (u1 - u0) * 1000 / ((t1 - t0) / 1000) ))   # tenths of a percent
echo "info: CPUQuota=20%: measured $((pct / 10)).$((pct % 10)) %"
t "CPUQuota=20% within 15-25 %" test "$pct" -ge 150 -a "$pct" -le 250

# 4. TasksMax=5 allows the process and 4 children.
out=$(systemd-run --wait --pipe --quiet -p TasksMax=5 "$HOG" fork 20 2>&1)
echo "info: TasksMax=5: $out"
t "TasksMax=5 allows 4 children" test "$out" = "forked 4"

# 5. Profiles: the namespace's slice, made by sdflowd, enforces the quota.
if [ -n "$DEB" ]; then
        t0=$(date +%s)
        # dpkg, not apt-get: under emulation apt's resolver and the man-db
        # trigger take minutes (the sandbox tier tests apt-get install).
        rm -f /var/lib/man-db/auto-update
        dpkg -i "$DEB" >/tmp/dpkg.log 2>&1 || { nok "the package installs"; cat /tmp/dpkg.log; }
        echo "info: dpkg -i took $(( $(date +%s) - t0 )) s"
        systemctl start sdflowd.socket
        for u in alice bob; do useradd -m "$u"; done
        profile() { # NAME OWNER CPU MEMORY
                printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: %s}\nspec:\n  owner: {kind: User, name: %s}\n  resourceQuotaSpec:\n    hard: {cpu: "%s", memory: %s}\n' "$@" |
                        sdflow --request-timeout=120 apply -f -
        }
        profile team-a alice 2 100Mi
        profile team-b bob 2 1Gi
        profile team-c bob 500m 1Gi
        t "Profiles are Ready" test "$(sdflow get profiles -o json | grep -c '"phase": "Ready"')" = 3
        sa='sdflow-team\x2da.slice' sb='sdflow-team\x2db.slice' sc='sdflow-team\x2dc.slice'
        t "team-a's slice has MemoryMax=100Mi" test "$(cat "/sys/fs/cgroup/sdflow.slice/$sa/memory.max")" = 104857600
        # Another namespace's process keeps running while team-a's is killed.
        systemd-run --quiet --unit=enf-b --slice="$sb" -p User=sdflow-team-b -p MemorySwapMax=0 "$HOG" mem 50 120
        out=$(systemd-run --wait --unit=enf-a --slice="$sa" -p User=sdflow-team-a -p MemorySwapMax=0 "$HOG" mem 300 0 2>&1)
        echo "info: Profile memory 100Mi, 300 MiB: $(grep -o 'Finished with result: .*' <<<"$out")"
        t "a 300 MB process in team-a (memory: 100Mi) is oom-killed" grep -q 'Finished with result: oom-kill' <<<"$out"
        t "the oom-kill happened inside team-a's slice" test "$(awk '/^oom_kill /{print $2}' "/sys/fs/cgroup/sdflow.slice/$sa/memory.events")" -ge 1
        t "team-b's process keeps running" test "$(systemctl show -P ActiveState enf-b)" = active
        systemctl stop enf-b
        # cpu: 500m holds a busy loop near 50 %.
        systemd-run --quiet --unit=enf-c --slice="$sc" -p User=sdflow-team-c "$HOG" cpu 60
        sleep 2
        cg="/sys/fs/cgroup/sdflow.slice/$sc"
        u0=$(awk '/^usage_usec/{print $2}' "$cg/cpu.stat"); t0=$(date +%s%N)
        sleep 6
        u1=$(awk '/^usage_usec/{print $2}' "$cg/cpu.stat"); t1=$(date +%s%N)
        systemctl stop enf-c
        pct=$(( (u1 - u0) * 1000 / ((t1 - t0) / 1000) ))
        echo "info: Profile cpu 500m: measured $((pct / 10)).$((pct % 10)) %"
        t "Profile cpu: 500m holds a busy loop within 40-60 %" test "$pct" -ge 400 -a "$pct" -le 600
        # A pipeline step over its memory limit is OOM-killed, and its node says so.
        install -m 0755 "$HOG" /usr/local/bin/sdflow-hog
        printf '%s\n' 'apiVersion: argoproj.io/v1alpha1' 'kind: Workflow' 'metadata: {name: oom, namespace: team-b}' \
                'spec:' '  entrypoint: hog' '  templates:' '  - name: hog' '    container:' '      image: debian:12' \
                '      command: [/usr/local/bin/sdflow-hog, mem, "200", "0"]' \
                '      resources: {limits: {memory: 50Mi}}' | sdflow --request-timeout=120 apply -f - >/dev/null
        wf() { sdflow --request-timeout=120 -n team-b get wf oom -o json; }
        for _ in $(seq 300); do
                wf | grep -q '"phase": "Failed"' && break
                sleep 1
        done
        out=$(wf)
        echo "info: OOM step: $(grep -o '"message": "[^"]*"' <<<"$out" | sort -u | tr '\n' ' ')"
        t "a pipeline step over its memory limit fails as OOMKilled" grep -q '"message": "OOMKilled (exit code 137)"' <<<"$out"
fi

echo "enforce: $pass passed, $failed failed"
[ "$failed" = 0 ]
