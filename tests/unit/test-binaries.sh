#!/bin/bash
# test-binaries.sh: the built daemons and CLI without systemd: flags, exit
# codes, --check, --listen, health/version answers and exit on idle.
set -u
SDFLOWD=$1 GATEWAY=$2 CLI=$3
tmp=$(mktemp -d)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
        rm -rf "$tmp"
}
trap cleanup EXIT
fails=0 checks=0

# expect CODE PATTERN CMD...: CMD exits CODE and its output matches PATTERN.
expect() {
        local code=$1 pat=$2; shift 2
        local out rc
        out=$("$@" 2>&1); rc=$?
        checks=$((checks + 1))
        if [ "$rc" != "$code" ] || ! grep -qE -- "$pat" <<<"$out"; then
                echo "FAIL: $* -> exit $rc (want $code), output: $out (want /$pat/)"
                fails=$((fails + 1))
        fi
}

for d in "$SDFLOWD" "$GATEWAY"; do
        expect 0 'Options:' "$d" --help
        expect 0 '^sdflow.* 0\.' "$d" --version
        expect 2 "unknown option '--bogus'" "$d" --bogus
        expect 2 "unexpected argument 'extra'" "$d" extra
        expect 2 "option '--listen' needs an argument" "$d" --listen
        expect 0 'configuration OK' "$d" --check
        expect 0 'IdleExitSec=7s' "$d" --check --idle-timeout=7s
        expect 2 "'soon' is not a time span" "$d" --check --idle-timeout=soon
        expect 2 "unknown setting 'Bogus'" "$d" --check --set=Bogus=1
        expect 2 'MaxConnections: .0. is out of range' "$d" --check --set=MaxConnections=0
        expect 2 'Failed to open /nonexistent' "$d" --check --config=/nonexistent
        printf 'IdleExitSec = 5s\nMaxBodyBytes = lots\n' >"$tmp/bad.conf"
        expect 2 "bad.conf:2: MaxBodyBytes: 'lots' is not a size" "$d" --check --config="$tmp/bad.conf"
        extra=()
        [ "$d" = "$SDFLOWD" ] && extra=(--set=StateDatabase="$tmp/state.db")
        expect 1 'No listening socket' "$d" "${extra[@]}"
done
expect 1 'Failed to open the state database: /nonexistent/state.db' "$SDFLOWD" --set=StateDatabase=/nonexistent/state.db

expect 0 'Commands:' "$CLI" --help
expect 0 'token create|delete NS NAME' "$CLI" --help
# Every command the global help lists has a usage of its own, either way round.
for c in $("$CLI" --help | sed -n '/^Commands:/,/^$/p' | awk '/^  [a-z]/ {print $1}' | tr '|' '\n' | sort -u); do
        expect 0 "^  sdflow $c" "$CLI" "$c" --help
        expect 0 "^  sdflow $c" "$CLI" --help "$c"
done
expect 0 'Commands:' "$CLI" frobnicate --help
expect 0 '^sdflow 0\.' "$CLI" --version
expect 2 "unknown option '--bogus'" "$CLI" --bogus version
expect 2 "unknown command 'frobnicate'" "$CLI" frobnicate
expect 2 'no command given' "$CLI"
expect 2 '--output must be json, yaml, wide or name' "$CLI" -o xml version
expect 2 'request-timeout must be' "$CLI" --request-timeout=0 version
expect 2 'version takes no arguments' "$CLI" -s "$tmp/none.sock" version extra
expect 1 'cannot reach sdflowd at .*none.sock: the API socket does not exist' \
        "$CLI" -s "$tmp/none.sock" version
expect 2 'get needs a kind' "$CLI" get
expect 1 "doesn't have a resource type \"pods\"" "$CLI" -s "$tmp/none.sock" get pods
expect 2 'must specify -f FILE' "$CLI" apply
expect 2 'apply takes no arguments' "$CLI" apply profile
expect 2 "'Bad_NS' is not a valid namespace name" "$CLI" -n Bad_NS get profiles
expect 1 'no-such-file.yaml: No such file or directory' "$CLI" -s "$tmp/none.sock" apply -f "$tmp/no-such-file.yaml"
printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: x}\nspec: {owner: {kind: User}}\n' >"$tmp/bad.yaml"
expect 1 'spec.owner.name: required field is missing' "$CLI" -s "$tmp/none.sock" apply -f "$tmp/bad.yaml"
expect 2 'describe takes KIND NAME' "$CLI" describe profile

# A daemon on a Unix socket that exits after 1 s without connections.
"$SDFLOWD" --listen="$tmp/api.sock" --idle-timeout=1s --set=StateDatabase="$tmp/state.db" 2>"$tmp/sdflowd.log" &
sd=$!
pids+=("$sd")
for _ in $(seq 100); do [ -S "$tmp/api.sock" ] && break; sleep 0.05; done
expect 0 'Server Version: 0\.' "$CLI" -s "$tmp/api.sock" version
expect 0 '"gitVersion": "0\.' "$CLI" -s "$tmp/api.sock" version -o json
expect 0 '^ok$' curl -sS --unix-socket "$tmp/api.sock" http://x/healthz
expect 0 '^404 $' curl -sS --unix-socket "$tmp/api.sock" -w '%{http_code} ' -o "$tmp/body" http://x/nope
expect 0 '' grep -q '"reason":"NotFound"' "$tmp/body"
expect 0 '^405$' curl -sS --unix-socket "$tmp/api.sock" -X POST -w '%{http_code}' -o /dev/null http://x/healthz
# The API without systemd: objects are stored and served; namespaces report
# that systemd is missing; deleting a Profile refuses rather than orphan it.
# A Profile's owner must be a user of this host: the one running the test.
me=$(id -un)
mkdir -p "$tmp/good"
for f in profile-quota profile-unknown-field; do
        sed "s/name: alice$/name: $me/" "$(dirname "$0")/../manifests/good/$f.yaml" >"$tmp/good/$f.yaml"
done
P=$tmp/good
S=(-s "$tmp/api.sock")
expect 0 'profile.kubeflow.org/team-a created' "$CLI" "${S[@]}" apply -f "$P/profile-quota.yaml"
expect 0 'spec.color: unknown field' "$CLI" "${S[@]}" apply -f "$P/profile-unknown-field.yaml"
expect 0 "^team-a +$me" "$CLI" "${S[@]}" get profiles
expect 1 "spec.owner.name: no user 'no-such-user-x' on this host" sh -c "sed 's/name: $me\$/name: no-such-user-x/' '$P/profile-quota.yaml' | '$CLI' -s '$tmp/api.sock' apply -f -"
expect 0 'reason: NoSystemd' "$CLI" "${S[@]}" get profile team-a -o yaml
expect 0 '"kind": "ProfileList"' "$CLI" "${S[@]}" get profiles -o json
expect 0 'Name: +team-a' "$CLI" "${S[@]}" describe profile team-a
expect 0 '"type":"ADDED"' curl -sS --max-time 3 --unix-socket "$tmp/api.sock" "http://x/apis/kubeflow.org/v1/profiles?watch=1&timeoutSeconds=1"
expect 1 'systemd is not reachable' "$CLI" "${S[@]}" delete profile team-a --yes
expect 0 '^profile.kubeflow.org/team-a$' "$CLI" "${S[@]}" get profiles -o name --selector='!nolabel'
sleep 1.2 # the watch above held a connection: give the idle timer its full second again

# Exit on idle: within a few seconds and with status 0.
for _ in $(seq 100); do kill -0 "$sd" 2>/dev/null || break; sleep 0.1; done
checks=$((checks + 1))
if kill -0 "$sd" 2>/dev/null; then
        echo "FAIL: sdflowd did not exit after its idle time"; fails=$((fails + 1))
else
        wait "$sd"; rc=$?
        [ "$rc" = 0 ] || { echo "FAIL: sdflowd exited $rc after idle"; fails=$((fails + 1)); }
fi
expect 0 'No connections for 1 s, exiting' cat "$tmp/sdflowd.log"

"$GATEWAY" --listen="$tmp/gw.sock" --idle-timeout=0 2>/dev/null &
gw=$!
pids+=("$gw")
for _ in $(seq 100); do [ -S "$tmp/gw.sock" ] && break; sleep 0.05; done
expect 0 '"component":"sdflow-gateway"' curl -sS --unix-socket "$tmp/gw.sock" http://x/v1/version
expect 0 '^404$' curl -sS --unix-socket "$tmp/gw.sock" -w '%{http_code}' -o /dev/null http://m.ns.example.com/v1/models/m
kill "$gw"; wait "$gw"; rc=$?
checks=$((checks + 1))
[ "$rc" = 0 ] || { echo "FAIL: gateway exited $rc on SIGTERM"; fails=$((fails + 1)); }

echo "test-binaries: $checks checks, $fails failed"
[ "$fails" = 0 ]
