#!/bin/bash
# Namespace users are unique by construction: two Profiles whose names
# shorten to the same Unix user are refused, never share it; a host user
# that happens to have a namespace user's name is never taken over; a
# deleted namespace leaves nothing behind under /run/sdflow/ns.
. "$(dirname "$0")/../integration/lib.sh"
require_sandbox
require_deb
boot
install_deb
W=$TOP/build/sec-namespace-users
rm -rf "$W" && mkdir -p "$W"
trap 'teardown; rm -rf "$W"' EXIT
sbx systemctl enable --now sdflowd.socket >/dev/null 2>&1
sbx useradd -m alice
prof() { printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: %s}\nspec:\n  owner: {kind: User, name: alice}\n' "$1"; }
long=abcdefghijklmnopqrstuvwxyz0123456789abcd
prof "$long" >"$W/long.yaml"
check "a long-named Profile is applied" sbx sdflow apply -f "$W/long.yaml"
user=$(sbx sdflow get profile "$long" -o json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['status']['user'])")
echo "      its user: $user"
other=${user#sdflow-}
prof "$other" >"$W/other.yaml"
out=$(sbx sdflow apply -f "$W/other.yaml" 2>&1)
check "a Profile named like that user's short form ($other) is refused, naming metadata.name" grep -q "metadata.name: namespace $other would get the Unix user $user, which is namespace $long's" <<<"$out"
check "... and the first namespace's user is still its own" test "$(sbx getent passwd "$user" | cut -d: -f5)" = "sdflow namespace $long"
# A host user with a namespace user's name.
sbx useradd -M -c "not sdflow" sdflow-team-x
prof team-x >"$W/x.yaml"
sbx sdflow apply -f "$W/x.yaml" >/dev/null 2>&1
check "a Profile whose user name is taken by a host user fails, saying so" sh -c "'$SANDBOX' exec $SB sdflow get profile team-x -o json | grep -q 'exists and is not namespace team-x'"
check "... and that user is left as it was" test "$(sbx getent passwd sdflow-team-x | cut -d: -f5)" = "not sdflow"
check "deleting the failed Profile leaves the host user alone" sh -c "'$SANDBOX' exec $SB sdflow delete profile team-x --yes && '$SANDBOX' exec $SB getent passwd sdflow-team-x >/dev/null"
# Deleting a namespace removes its sockets' directory too.
prof team-y >"$W/y.yaml"
sbx sdflow apply -f "$W/y.yaml" >/dev/null
check "a namespace has its directory under /run/sdflow/ns" sbx test -d /run/sdflow/ns/team-y
sbx sdflow delete profile team-y --yes >/dev/null
check "deleting it removes that directory" sh -c "! '$SANDBOX' exec $SB test -e /run/sdflow/ns/team-y"
check "... and its user" sh -c "! '$SANDBOX' exec $SB getent passwd sdflow-team-y"
finish
