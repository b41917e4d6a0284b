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
        sbx sh -c "cd '$dir' && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ./$(basename "$DEB")" \
                >/tmp/sdflow-it-$SB-apt.log 2>&1 ||
                { cat /tmp/sdflow-it-$SB-apt.log; rm -f /tmp/sdflow-it-$SB-apt.log; echo "FAIL: $NAME: apt-get install failed"; exit 1; }
        rm -f /tmp/sdflow-it-$SB-apt.log
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

finish() {
        sanitizer_check
        if [ "$fails" -gt 0 ]; then
                echo "FAIL: $NAME: $fails of $checks checks failed"
                exit 1
        fi
        echo "PASS: $NAME ($checks checks)"
        exit 0
}
