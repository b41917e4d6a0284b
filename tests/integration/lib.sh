# lib.sh: shared by the integration scenarios (one scenario per file).
#
# Each scenario boots its own sandbox (tools/sdflow-sandbox: a real systemd
# in its own namespaces), runs the real binaries and the real .deb inside,
# and tears it down.  A scenario prints "PASS: name", "FAIL: name: why" or
# "SKIP: name: why" as its last line and exits 0 (pass), 1 (fail) or 77 (skip).
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SANDBOX=$TOP/tools/sdflow-sandbox
NAME=$(basename "$0" .sh)
SB=${NAME#test-}
SB=it-${SB:0:24}
DEB=${SDFLOW_DEB:-}
fails=0
checks=0

skip() { echo "SKIP: $NAME: $*"; exit 77; }

# Skips the scenario when a sandbox cannot be booted here.
require_sandbox() {
        local why
        why=$("$SANDBOX" why-not)
        [ -z "$why" ] || skip "no systemd sandbox: $why"
}

require_deb() {
        [ -n "$DEB" ] && [ -f "$DEB" ] || skip "no package: set SDFLOW_DEB to a built sdflow_*.deb"
}

fail() {
        echo "  not ok: $*"
        fails=$((fails + 1))
}

ok() {
        checks=$((checks + 1))
        [ "${VERBOSE:-}" ] && echo "  ok: $*"
        return 0
}

# check DESCRIPTION CMD...: CMD must succeed.
check() {
        local what=$1; shift
        checks=$((checks + 1))
        if "$@" >/dev/null 2>&1; then
                [ "${VERBOSE:-}" ] && echo "  ok: $what"
        else
                fail "$what"
        fi
}

# sbx CMD...: run CMD inside the sandbox.
sbx() { "$SANDBOX" exec "$SB" "$@"; }

boot() {
        "$SANDBOX" start "$SB" --bind "$TOP" "$@" || { echo "FAIL: $NAME: sandbox did not boot"; exit 1; }
        trap teardown EXIT
}

teardown() {
        "$SANDBOX" stop "$SB" >/dev/null 2>&1 || true
}

# Installs the package inside the sandbox the way a user would.
install_deb() {
        local dir
        dir=$(dirname "$DEB")
        # Not in the host's /tmp: test-sandbox-isolation watches it.
        local log=$TOP/build/it-$SB-apt.log
        mkdir -p "$TOP/build"
        sbx sh -c "cd '$dir' && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ./$(basename "$DEB")" \
                >"$log" 2>&1 ||
                { cat "$log"; rm -f "$log"; echo "FAIL: $NAME: apt-get install failed"; exit 1; }
        rm -f "$log"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
        local t=$1; shift
        local i
        for ((i = 0; i < t * 10; i++)); do
                "$@" >/dev/null 2>&1 && return 0
                sleep 0.1
        done
        return 1
}

# metrics_token: makes an administrator's token for the gateway's /metrics
# in the sandbox (as sdflow-gateway(8) tells) and prints it.
metrics_token() {
        local t=sandbox-metrics-$SB
        sbx sh -c "install -d /etc/sdflow && printf %s '$t' | sha256sum | cut -d' ' -f1 >/etc/sdflow/metrics-tokens &&
                chown root:sdflow /etc/sdflow/metrics-tokens && chmod 0640 /etc/sdflow/metrics-tokens"
        echo "$t"
}

unit_state() { sbx systemctl show -P ActiveState "$1"; }
is_state() { [ "$(unit_state "$1")" = "$2" ]; }

# With SDFLOW_SANITIZED=1 (the package built with tools/build-deb
# --sanitize), any AddressSanitizer or UndefinedBehaviorSanitizer report in
# the sandbox's journal (daemons, helpers, steps, model servers) fails the
# scenario, and so does a program of a unit that aborted (abort_on_error).
sanitizer_check() {
        [ "${SDFLOW_SANITIZED:-0}" = 1 ] || return 0
        journal_must_not_have 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: [A-Za-z]+Sanitizer' \
                "sanitizer reports in the journal:"
        # A program that died of a signal no test sends (the tests' own kills are SIGKILL and SIGSEGV).
        journal_must_not_have 'Main process exited, code=(killed|dumped), status=(4/ILL|6/ABRT|7/BUS|8/FPE)' \
                "a program died under the sanitizers:"
}

# journal_must_not_have REGEX WHAT: a check that fails, showing the lines, if the sandbox's journal has any.
journal_must_not_have() {
        local out
        out=$(sbx journalctl -o cat --no-pager 2>/dev/null | grep -E "$1" | head -n 20)
        checks=$((checks + 1))
        if [ -n "$out" ]; then
                fail "$2"
                sed 's/^/      /' <<<"$out"
        fi
}

# mode_check: at the end of every scenario where sdflowd ran, whatever it
# did, nothing sdflow made under /var/lib/sdflow or /run/sdflow is open
# wider than it should be (tests/security/modewalk.py says what that
# means).  Scenarios that run a model server by hand (test-serve-activation)
# lay out their own files there, and have no state database.
mode_check() {
        sbx test -f /var/lib/sdflow/db/state.db 2>/dev/null || return 0
        local out rc
        out=$(sbx /usr/bin/python3 "$TOP/tests/security/modewalk.py" 2>&1)
        rc=$?
        checks=$((checks + 1))
        if [ $rc != 0 ] || [ -n "$out" ]; then
                fail "files and directories of sdflow open wider than they should be:"
                head -n 20 <<<"$out" | sed 's/^/      /'
        fi
}

finish() {
        mode_check
        sanitizer_check
        if [ "$fails" -gt 0 ]; then
                echo "FAIL: $NAME: $fails of $checks checks failed"
                exit 1
        fi
        echo "PASS: $NAME ($checks checks)"
        exit 0
}
