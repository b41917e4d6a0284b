#!/bin/bash
# An attacker's view of what a hostile workload can make the privileged
# side read or leave behind (docs/security.md):
#   - an output parameter that is a link to /etc/shadow, or to another
#     namespace's artifact, is not read (sdflowd runs as root);
#   - a link in the step's own /tmp to its own file still works;
#   - what a step leaves in /dev/shm is gone with it and never seen by a
#     step of another namespace running at the same time.
. "$(dirname "$0")/../integration/lib.sh"
require_sandbox
require_deb
boot
install_deb
W=$TOP/build/sec-workload-files
rm -rf "$W" && mkdir -p "$W"
trap 'teardown; rm -rf "$W"' EXIT
sbx systemctl enable --now sdflowd.socket >/dev/null 2>&1
sbx useradd -m alice
sbx useradd -m bob
for p in "team-a alice" "team-b bob"; do
        set -- $p
        printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: %s}\nspec:\n  owner: {kind: User, name: %s}\n' "$1" "$2" >"$W/p-$1.yaml"
        sbx sdflow apply -f "$W/p-$1.yaml" >/dev/null
done
as() { local u=$1; shift; sbx runuser -u "$u" -- "$@"; }
done_wf() { sbx sdflow -n "$1" get wf "$2" -o json 2>/dev/null | grep -Eq '"phase": "(Succeeded|Failed|Error)"' && \
        sbx sdflow -n "$1" get wf "$2" -o json | /usr/bin/python3 -c "import json,sys; s=json.load(sys.stdin)['status']; sys.exit(0 if s.get('finishedAt') else 1)"; }

# bob's private artifact, the target of the second link.
cat >"$W/bob.yaml" <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: secret, namespace: team-b}
spec:
  entrypoint: s
  templates:
  - name: s
    container: {image: busybox, command: [sh, -c, "echo bob-secret-42 > /tmp/s"]}
    outputs: {artifacts: [{name: s, path: /tmp/s}]}
EOF
as bob sdflow apply -f "$W/bob.yaml" >/dev/null
check "bob's workflow with a private artifact ends" wait_for 60 done_wf team-b secret
bobfile=$(sbx sh -c 'ls /var/lib/sdflow/ns/team-b/artifacts/secret/*/artifacts/s' | head -1)
check "bob's artifact exists ($bobfile)" test -n "$bobfile"

# alice's step: links as output parameters, and a legitimate link to its own file.
cat >"$W/alice.yaml" <<EOF
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: links, namespace: team-a}
spec:
  entrypoint: s
  templates:
  - name: s
    container:
      image: busybox
      command: [sh, -c, "ln -s /etc/shadow /tmp/shadow; ln -s $bobfile /tmp/bob; echo mine > /tmp/real; ln -s /tmp/real /tmp/own; echo done"]
    outputs:
      parameters:
      - {name: shadow, valueFrom: {path: /tmp/shadow}}
      - {name: bob, valueFrom: {path: /tmp/bob}}
      - {name: own, valueFrom: {path: /tmp/own}}
EOF
as alice sdflow apply -f "$W/alice.yaml" >/dev/null
check "alice's workflow of links ends" wait_for 60 done_wf team-a links
sbx sdflow -n team-a get wf links -o json >"$W/links.json"
check "no line of /etc/shadow reached the workflow's status" sh -c "! grep -q 'root:' '$W/links.json'"
check "nor bob's artifact" sh -c "! grep -q 'bob-secret-42' '$W/links.json'"
check "the link to /etc/shadow is refused with a message" sh -c "grep -Eq \"output parameter 'shadow': .*(cannot read|not a regular file)\" '$W/links.json'"
check "a link to the step's own file is read as the step's user" /usr/bin/python3 -c "
import json,sys
n=[n for n in json.load(open('$W/links.json'))['status']['nodes'].values() if n['type']=='Pod'][0]
p={x['name']: x['value'] for x in n['outputs']['parameters']}
assert p.get('own')=='mine', p"
check "no file in alice's node directory is a link sdflowd would follow as her parameter" sh -c "! '$SANDBOX' exec $SB find /var/lib/sdflow/ns/team-a/artifacts/links -path '*/parameters/*' -type l | grep -q ."

# /dev/shm: private to each step, gone with it.
shm_wf() { # NS NAME SCRIPT
        printf 'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: %s, namespace: %s}\nspec:\n  entrypoint: s\n  templates:\n  - name: s\n    container: {image: busybox, command: [sh, -c, "%s"]}\n' "$2" "$1" "$3"
}
shm_wf team-a shm-a 'echo alice > /dev/shm/leak-a; sleep 4; ls /dev/shm' >"$W/shm-a.yaml"
shm_wf team-b shm-b 'sleep 2; ls -a /dev/shm; cat /dev/shm/leak-a 2>&1 || true' >"$W/shm-b.yaml"
as alice sdflow apply -f "$W/shm-a.yaml" >/dev/null
as bob sdflow apply -f "$W/shm-b.yaml" >/dev/null
both_done() { done_wf team-a shm-a && done_wf team-b shm-b; }
check "both /dev/shm steps end" wait_for 60 both_done
res_a=$(sbx sdflow -n team-a get wf shm-a -o json | /usr/bin/python3 -c "import json,sys; print([n for n in json.load(sys.stdin)['status']['nodes'].values() if n['type']=='Pod'][0]['outputs']['result'])")
res_b=$(sbx sdflow -n team-b get wf shm-b -o json | /usr/bin/python3 -c "import json,sys; print([n for n in json.load(sys.stdin)['status']['nodes'].values() if n['type']=='Pod'][0]['outputs']['result'])")
check "alice's step sees its own file in /dev/shm" grep -q leak-a <<<"$res_a"
echo "      bob's step saw: $(tr "\n" " " <<<"$res_b")"
not_seen() { ! grep -q alice <<<"$res_b" && grep -q 'No such file' <<<"$res_b"; }
check "bob's step, running at the same time, does not see it" not_seen
check "nothing a step wrote is left in the host's /dev/shm" sh -c "! '$SANDBOX' exec $SB ls /dev/shm | grep -q leak"

finish
