#!/bin/bash
# A Profile becomes a namespace on a real systemd: sdflow-<ns>.slice (dashes
# escaped) under sdflow.slice with CPUQuota/MemoryMax/TasksMax from the
# quota, a system user with a group of its own, and /var/lib/sdflow/ns/<ns>
# (root's, the namespace's group, 0750, the owner let in by ACL).  A quota change updates the live
# slice; deleting the Profile stops its workloads and removes slice, user
# and files.  A Profile whose owner does not exist is refused (422).
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
boot
install_deb
sbx systemctl enable --now sdflowd.socket >/dev/null 2>&1
sbx useradd -m alice
slice='sdflow-team\x2da.slice'
apply() { # CPU MEMORY TASKS
        printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: team-a}\nspec:\n  owner: {kind: User, name: alice}\n  resourceQuotaSpec:\n    hard: {cpu: "%s", memory: %s, sdflow.io/processes: "%s"}\n' "$@" |
                sbx sdflow apply -f - >/dev/null
}
prop() { sbx systemctl show -P "$1" "$slice"; }

apply 1500m 256Mi 64
check "status phase Ready" test "$(sbx sdflow get profile team-a -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["phase"])')" = Ready
check "slice is active" test "$(prop ActiveState)" = active
check "slice sits under sdflow.slice" test "$(prop Slice)" = sdflow.slice
check "CPUQuota 150%" test "$(prop CPUQuotaPerSecUSec)" = 1.500000s
check "MemoryMax 256Mi" test "$(prop MemoryMax)" = 268435456
check "TasksMax 64" test "$(prop TasksMax)" = 64
check "system user sdflow-team-a" sbx getent passwd sdflow-team-a
check "directory: root's, the namespace's own group, 0750" \
        test "$(sbx stat -c '%U %G %a' /var/lib/sdflow/ns/team-a)" = "root sdflow-team-a 750"
check "... alice let in by ACL" sh -c "'$SANDBOX' exec $SB getfacl -cp /var/lib/sdflow/ns/team-a | grep -qx 'user:alice:r-x'"

apply 500m 100Mi 32
check "quota change: CPUQuota 50% on the live slice" test "$(prop CPUQuotaPerSecUSec)" = 500ms
check "quota change: MemoryMax 100Mi" test "$(prop MemoryMax)" = 104857600
check "quota change: TasksMax 32" test "$(prop TasksMax)" = 32

# A workload in the namespace (as later features start them), then delete.
sbx systemd-run --quiet --unit=it-workload --slice="$slice" -p User=sdflow-team-a sleep 600
check "a workload runs in the slice" test "$(sbx systemctl show -P ActiveState it-workload.service)" = active
sbx touch /var/lib/sdflow/ns/team-a/data
check "delete without --yes is refused" sh -c "! '$SANDBOX' exec $SB sdflow delete profile team-a </dev/null"
check "delete --yes" sbx sdflow delete profile team-a --yes
check "the workload was stopped" test "$(sbx systemctl show -P ActiveState it-workload.service)" = inactive
check "the slice is gone" test "$(prop ActiveState)" = inactive
check "the user is gone" sh -c "! '$SANDBOX' exec $SB getent passwd sdflow-team-a"
check "the files are gone" sbx test ! -e /var/lib/sdflow/ns/team-a

# An owner who is no Unix user: refused at apply (422), naming the field.
out=$(printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: ghost}\nspec: {owner: {kind: User, name: nosuchuser}}\n' | sbx sdflow apply -f - 2>&1)
check "unknown owner: refused, naming spec.owner.name" grep -q "spec.owner.name: no user 'nosuchuser' on this host" <<<"$out"
check "... and nothing stored" sh -c "! '$SANDBOX' exec $SB sdflow get profile ghost"

# After a restart of sdflowd the slices come back (they are transient units).
apply 1 128Mi 16
sbx systemctl stop "$slice"
sbx systemctl stop sdflowd.service 2>/dev/null
sbx systemctl start sdflowd.service
check "slice restored by the start-up reconcile" wait_for 10 sh -c "test \"\$('$SANDBOX' exec $SB systemctl show -P ActiveState '$slice')\" = active"
finish
