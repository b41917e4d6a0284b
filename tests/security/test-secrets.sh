#!/bin/bash
# Secrets are not for other local users to read: a step's env, its script
# and its command line, and a custom model server's env, are in neither
# the units' properties (systemctl show), nor /run/systemd/transient, nor
# the command lines ps shows; the workloads still get them.
. "$(dirname "$0")/../integration/lib.sh"
require_sandbox
require_deb
boot
install_deb
W=$TOP/build/sec-secrets
rm -rf "$W" && mkdir -p "$W"
trap 'teardown; rm -rf "$W"' EXIT
sbx systemctl enable --now sdflowd.socket sdflow-gateway.socket >/dev/null 2>&1
sbx useradd -m alice
sbx useradd -m mallory
printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: team-a}\nspec:\n  owner: {kind: User, name: alice}\n' >"$W/p.yaml"
sbx sdflow apply -f "$W/p.yaml" >/dev/null
as() { local u=$1; shift; sbx runuser -u "$u" -- "$@"; }
cat >"$W/wf.yaml" <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: secret, namespace: team-a}
spec:
  entrypoint: main
  arguments: {parameters: [{name: token, value: ARG-SECRET-7731}]}
  templates:
  - name: main
    steps:
    - - {name: argv, template: argv}
      - {name: script, template: script}
  - name: argv
    container:
      image: busybox
      command: [sh, -c, 'echo "$DB_PASSWORD" "$1" "${SDFLOW_STEP_SPEC:-no spec}"; sleep 6', sh, "{{workflow.parameters.token}}"]
      env: [{name: DB_PASSWORD, value: "ENV-SECRET-4412 with 'quotes' and \"more\" and $dollars"}]
  - name: script
    script:
      image: python:3.11
      command: [python3]
      source: |
        # SCRIPT-SECRET-9087
        import time
        print("script ran")
        time.sleep(6)
EOF
as alice sdflow apply -f "$W/wf.yaml" >/dev/null
# (a oneshot step is "activating" while it runs)
units_running() { [ "$(sbx systemctl list-units --no-legend --state=activating,active 'sdflowwf_team-a_*' | wc -l)" = 2 ]; }
check "the two steps run" wait_for 30 units_running
units=$(sbx systemctl list-units --no-legend --plain 'sdflowwf_team-a_*' | awk '{print $1}')
check "both steps' units are found" test "$(wc -w <<<"$units")" = 2
for u in $units; do
        as mallory systemctl show "$u"
done >"$W/show.txt" 2>&1
check "systemctl show did show them (their ExecStart)" grep -q 'ExecStart=.*sdflow-step' "$W/show.txt"
for u in $units; do
        as mallory sh -c "cat /run/systemd/transient/$u"
done >"$W/transient.txt" 2>&1
as mallory ps -eo args >"$W/ps.txt" 2>&1
grep -E 'SECRET|SDFLOW_STEP' "$W/ps.txt" | sed 's/^/      ps: /' 
check "another user's systemctl show of the step's unit shows no secret" sh -c "! grep -Eq 'ENV-SECRET|ARG-SECRET|SCRIPT-SECRET' '$W/show.txt'"
check "... nor its unit file under /run/systemd/transient" sh -c "! grep -Eq 'ENV-SECRET|ARG-SECRET|SCRIPT-SECRET' '$W/transient.txt'"
check "... nor ps, but for the command's own argument" sh -c "! grep -Eq 'ENV-SECRET|SCRIPT-SECRET' '$W/ps.txt' && ! grep -q 'sdflow-step.*ARG-SECRET' '$W/ps.txt'"
check "the environment files are root's only" sh -c "[ \"\$('$SANDBOX' exec $SB sh -c 'stat -c %a:%U /run/sdflow/env/sdflowwf_*.env' | sort -u)\" = 600:root ]"
check "mallory cannot read them" sh -c "! '$SANDBOX' exec $SB runuser -u mallory -- sh -c 'cat /run/sdflow/env/sdflowwf_*.env'"
done_wf() { sbx sdflow -n team-a get wf secret -o json | /usr/bin/python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin)['status'].get('finishedAt') else 1)"; }
check "the workflow ends" wait_for 60 done_wf
out_of() { sbx sdflow -n team-a get wf secret -o json | /usr/bin/python3 -c "import json,sys; print([n for n in json.load(sys.stdin)['status']['nodes'].values() if n['displayName']==sys.argv[1]][0]['outputs']['result'])" "$1"; }
res=$(out_of argv)
echo "      the container step printed: $res"
check "the step got its env (quotes and \$ intact) and its argument, and not the spec" test "$res" = "ENV-SECRET-4412 with 'quotes' and \"more\" and \$dollars ARG-SECRET-7731 no spec"
check "the script step ran its script" test "$(out_of script)" = "script ran"
check "their environment files are gone with them" sh -c "! '$SANDBOX' exec $SB sh -c 'ls /run/sdflow/env/sdflowwf_* 2>/dev/null' | grep -q ."

# A custom model server's env.
sbx mkdir -p /srv/custom
sbx sh -c 'cat >/srv/custom/server.py' <<'PY'
import http.server, json, os, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, obj):
        b = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def do_GET(self):
        self.answer({"ready": True})
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.answer({"token": os.environ["HF_TOKEN"]})
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
cat >"$W/custom.yaml" <<'YAML'
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: custom, namespace: team-a}
spec:
  predictor:
    containers:
    - name: kserve-container
      image: python:3.11
      command: [/usr/bin/python3, /srv/custom/server.py]
      args: ["8081"]
      env: [{name: HF_TOKEN, value: HF-SECRET-5521}]
      ports: [{containerPort: 8081}]
YAML
as alice sdflow apply -f "$W/custom.yaml" >/dev/null
out=$(sbx curl -sS -H 'Host: custom.team-a.example.com' -d '{}' http://127.0.0.1:8080/v1/models/custom:predict)
echo "      the custom server answered: $out"
custom_up() { out=$(sbx curl -sS -H "Host: custom.team-a.example.com" -d "{}" http://127.0.0.1:8080/v1/models/custom:predict); grep -q HF-SECRET-5521 <<<"$out"; }
check "the custom server gets its env" wait_for 20 custom_up
server=sdflow_team-a_custom_1_0-server.service
as mallory systemctl show "$server" >"$W/show-server.txt" 2>&1
as mallory sh -c "cat /run/systemd/transient/sdflow_team-a_custom_1_0.socket /run/systemd/transient/$server 2>/dev/null" >"$W/transient-server.txt"
check "another user's systemctl show of the server shows no secret" sh -c "! grep -q HF-SECRET '$W/show-server.txt'"
check "... nor its unit file" sh -c "! grep -q HF-SECRET '$W/transient-server.txt'"
as alice sdflow -n team-a delete isvc custom >/dev/null
check "deleting the InferenceService removes the server's environment file" sh -c "! '$SANDBOX' exec $SB test -e /run/sdflow/env/$server.env"
finish
