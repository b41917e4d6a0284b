#!/bin/bash
# bench/pipelines/steps.sh: how fast the pipeline engine runs steps, on a
# real systemd (the sandbox) with the installed package, against the peer
# measured in the same run: `systemd-run --wait` started serially, with the
# same user, slice and sandbox properties as sdflow gives a step.
#
#   bench/pipelines/steps.sh [FANOUT] [CHAIN] [DEB]
# A fan-out of FANOUT (200) no-op steps (withSequence) and a chain of CHAIN
# (100) no-op steps (a DAG, each task depending on the one before), both
# with caching off, timed from submit to the workflow's end as the client
# sees it (sdflow submit -w).  Prints wall time and steps per second for
# each, and the peer's for the same counts.
set -euo pipefail
fanout=${1:-200}
chain=${2:-100}
top=$(cd "$(dirname "$0")/../.." && pwd)
deb=${3:-$top/build/deb/sdflow_0.1.0_amd64.deb}
[ -f "$deb" ] || { echo "bench: build the package first (tools/build-deb), or pass DEB" >&2; exit 1; }
sandbox=$top/tools/sdflow-sandbox
why=$("$sandbox" why-not)
[ -z "$why" ] || { echo "bench: no sandbox: $why" >&2; exit 1; }
name=bench-steps
work=$top/build/bench-steps
rm -rf "$work" && mkdir -p "$work"
"$sandbox" start "$name" --bind "$top" >/dev/null
trap '"$sandbox" stop "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
sbx() { "$sandbox" exec "$name" "$@"; }
sbx sh -c "cd '$(dirname "$deb")' && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ./$(basename "$deb")" >/dev/null 2>&1
sbx systemctl enable --now sdflowd.socket >/dev/null 2>&1
sbx useradd -m bench
printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: bench}\nspec: {owner: {kind: User, name: bench}}\n' >"$work/profile.yaml"
sbx sdflow apply -f "$work/profile.yaml" >/dev/null

# The fan-out and the chain, caching off (every step is the same no-op).
cat >"$work/fanout.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: fanout-
  labels: {pipelines.kubeflow.org/cache_enabled: "false"}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: noop, template: noop, withSequence: {count: "$fanout"}}
  - name: noop
    container: {image: debian:12, command: ["true"]}
YAML
{
        printf 'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: chain-\n'
        printf '  labels: {pipelines.kubeflow.org/cache_enabled: "false"}\nspec:\n  entrypoint: main\n  templates:\n'
        printf '  - name: noop\n    container: {image: debian:12, command: ["true"]}\n  - name: main\n    dag:\n      tasks:\n'
        printf '      - {name: s0, template: noop}\n'
        for i in $(seq 1 $((chain - 1))); do printf '      - {name: s%d, template: noop, dependencies: [s%d]}\n' "$i" $((i - 1)); done
} >"$work/chain.yaml"

now() { date +%s.%N; }
run_wf() { # FILE -> seconds
        local t0 t1
        t0=$(now)
        sbx runuser -u bench -- sdflow -n bench submit -w -f "$1" >"$work/out" || { cat "$work/out" >&2; echo "bench: the workflow failed" >&2; exit 1; }
        t1=$(now)
        echo "$t1 - $t0" | bc -l
}
# The peer: the same no-op as a transient service, one after another.
run_peer() { # COUNT -> seconds
        local t0 t1
        t0=$(now)
        sbx sh -c "for i in \$(seq 1 $1); do systemd-run --wait -q --collect -p User=sdflow-bench -p Group=sdflow-bench \
                -p Slice=sdflow-bench.slice -p PrivateNetwork=yes -p PrivateTmp=yes -p ProtectSystem=strict \
                -p ProtectHome=yes -p NoNewPrivileges=yes -p SystemCallFilter=@system-service true || exit 1; done"
        t1=$(now)
        echo "$t1 - $t0" | bc -l
}
run_wf "$work/fanout.yaml" >/dev/null # warm-up: caches, the daemon's first start
f=$(run_wf "$work/fanout.yaml")
c=$(run_wf "$work/chain.yaml")
pf=$(run_peer "$fanout")
pc=$(run_peer "$chain")
printf '%-34s %8s %10s %12s\n' "" "seconds" "steps/s" "vs peer"
printf '%-34s %8.2f %10.1f %11.2fx\n' "sdflow fan-out ($fanout steps)" "$f" "$(echo "$fanout / $f" | bc -l)" "$(echo "$pf / $f" | bc -l)"
printf '%-34s %8.2f %10.1f %12s\n' "systemd-run --wait x$fanout, serial" "$pf" "$(echo "$fanout / $pf" | bc -l)" "1.00x"
printf '%-34s %8.2f %10.1f %11.2fx\n' "sdflow chain ($chain steps)" "$c" "$(echo "$chain / $c" | bc -l)" "$(echo "$pc / $c" | bc -l)"
printf '%-34s %8.2f %10.1f %12s\n' "systemd-run --wait x$chain, serial" "$pc" "$(echo "$chain / $pc" | bc -l)" "1.00x"
