#!/bin/bash
# The API on a real systemd with the installed package: callers are told
# apart by SO_PEERCRED.  Root and members of sdflow-admin administer; a
# Profile's owner sees it (get, list, watch) but cannot change Profiles;
# everyone else sees nothing of it.  Rejected requests change nothing.
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
boot
install_deb
sbx systemctl enable --now sdflowd.socket >/dev/null 2>&1
for u in alice bob carol; do sbx useradd -m -s /bin/bash "$u"; done
sbx usermod -a -G sdflow-admin carol

as() { local u=$1; shift; sbx runuser -u "$u" -- "$@"; }
profile() { # NAME OWNER [CPU]
        printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: %s\n  labels: {team: "%s"}\nspec:\n  owner: {kind: User, name: %s}\n  resourceQuotaSpec:\n    hard: {cpu: "%s", memory: 1Gi}\n' \
                "$1" "$1" "$2" "${3:-1}"
}
profile team-a alice >"$TOP/build/it-team-a.yaml"
profile team-b bob >"$TOP/build/it-team-b.yaml"
profile team-a alice 2 >"$TOP/build/it-team-a2.yaml"
trap 'teardown; rm -f "$TOP"/build/it-team-*.yaml' EXIT

check "root applies team-a" sh -c "'$SANDBOX' exec $SB sdflow apply -f '$TOP/build/it-team-a.yaml' | grep -q 'profile.kubeflow.org/team-a created'"
check "an admin (carol, group sdflow-admin) applies team-b" sh -c "'$SANDBOX' exec $SB runuser -u carol -- sdflow apply -f '$TOP/build/it-team-b.yaml' | grep -q 'team-b created'"
check "re-applying is unchanged" sh -c "'$SANDBOX' exec $SB sdflow apply -f '$TOP/build/it-team-a.yaml' | grep -q 'team-a unchanged'"

# get / list
check "alice lists only her profile" test "$(as alice sdflow get profiles -o name)" = "profile.kubeflow.org/team-a"
check "bob lists only his profile" test "$(as bob sdflow get profiles -o name)" = "profile.kubeflow.org/team-b"
check "carol (admin) lists both" test "$(as carol sdflow get profiles -o name | wc -l)" = 2
check "alice gets team-a" as alice sdflow get profile team-a
out=$(as alice sdflow get profile team-b 2>&1); rc=$?
check "alice cannot get team-b (403)" test "$rc" = 1 -a -n "$(grep -F 'Error from server (Forbidden): user alice may not get profiles "team-b"' <<<"$out")"
out=$(as alice sdflow get profile no-such 2>&1)
check "nor learn whether a name exists (403 too)" grep -qF 'Error from server (Forbidden)' <<<"$out"
out=$(sbx sdflow get profile no-such 2>&1)
check "an admin gets 404 for a missing one" grep -qF 'Error from server (NotFound): profiles "no-such" not found' <<<"$out"
check "label selectors filter" test "$(sbx sdflow get profiles -l team=team-b -o name)" = "profile.kubeflow.org/team-b"

# apply / delete by a non-admin
out=$(as alice sdflow apply -f "$TOP/build/it-team-a2.yaml" 2>&1); rc=$?
check "alice cannot change her Profile's quota (403)" test "$rc" = 1 -a -n "$(grep -F 'Error from server (Forbidden)' <<<"$out")"
check "... and it is unchanged" test "$(sbx sdflow get profile team-a -o json | grep -c '"cpu": "1"')" = 1
out=$(as bob sdflow delete profile team-a --yes 2>&1); rc=$?
check "bob cannot delete team-a (403)" test "$rc" = 1 -a -n "$(grep -F 'Error from server (Forbidden)' <<<"$out")"
check "team-a still exists" sbx sdflow get profile team-a
out=$(as nobody sdflow get profiles -o name 2>/dev/null)
check "a stranger lists nothing" test -z "$out"

# watch: alice sees events of team-a only
as alice sdflow get profiles -w >"$TOP/build/it-watch-alice.txt" 2>&1 &
wpid=$!
sleep 1
sbx sdflow apply -f "$TOP/build/it-team-a2.yaml" >/dev/null
profile team-b bob 3 | sbx sdflow apply -f - >/dev/null
sleep 1
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
check "alice's watch shows team-a modified" grep -q '^team-a .*MODIFIED' "$TOP/build/it-watch-alice.txt"
check "alice's watch never shows team-b" test -z "$(grep team-b "$TOP/build/it-watch-alice.txt")"
rm -f "$TOP/build/it-watch-alice.txt"

# Rejected requests change nothing; conflicts are refused.
before=$(sbx sdflow get profile team-a -o json)
printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: team-a}\nspec: {owner: {kind: User, name: alice}, resourceQuotaSpec: {hard: {cpu: "-2"}}}\n' >"$TOP/build/it-team-bad.yaml"
out=$(sbx curl -sS --unix-socket /run/sdflow/api.sock -X POST --data-binary @"$TOP/build/it-team-bad.yaml" -w '\n%{http_code}' http://x/apis/kubeflow.org/v1/profiles)
check "invalid quota: 422 naming the field" test "$(tail -n1 <<<"$out")" = 422 -a -n "$(grep -F '"field":"spec.resourceQuotaSpec.hard.cpu"' <<<"$out")"
stale=$(sed 's/^metadata: {name: team-a}/metadata: {name: team-a, resourceVersion: "1"}/; s/"-2"/"5"/' "$TOP/build/it-team-bad.yaml")
out=$(sbx sh -c "printf '%s' '$stale' | curl -sS --unix-socket /run/sdflow/api.sock -X PUT --data-binary @- -w '\n%{http_code}' http://x/apis/kubeflow.org/v1/profiles/team-a")
check "stale resourceVersion: 409 Conflict" test "$(tail -n1 <<<"$out")" = 409
out=$(sbx sh -c "head -c 9000000 /dev/zero | tr '\\0' a | curl -sS --unix-socket /run/sdflow/api.sock -X POST --data-binary @- -w '\n%{http_code}' http://x/apis/kubeflow.org/v1/profiles")
check "a body over MaxBodyBytes: 413" test "$(tail -n1 <<<"$out")" = 413
out=$(sbx sh -c "printf 'a: [' | curl -sS --unix-socket /run/sdflow/api.sock -X POST --data-binary @- -w '\n%{http_code}' http://x/apis/kubeflow.org/v1/profiles")
check "broken YAML: 400" test "$(tail -n1 <<<"$out")" = 400
check "unknown kind path: 404" test "$(sbx curl -sS --unix-socket /run/sdflow/api.sock -o /dev/null -w '%{http_code}' http://x/apis/example.com/v1/widgets)" = 404
check "nothing changed by the rejected requests" test "$(sbx sdflow get profile team-a -o json)" = "$before"
rm -f "$TOP/build/it-team-bad.yaml"

# Namespaced objects: InferenceServices (here with no model at /srv/m, so
# they are stored but not Ready; test-isvc.sh runs real ones).
isvc() { printf 'apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: %s, namespace: %s}\nspec:\n  predictor:\n    model:\n      modelFormat: {name: xgboost}\n      storageUri: file:///srv/m\n      resources: {limits: {cpu: 100m, memory: 64Mi}}\n' "$1" "$2"; }
isvc iris team-a >"$TOP/build/it-isvc-a.yaml"
isvc rf team-b >"$TOP/build/it-isvc-b.yaml"
check "alice applies an isvc in her namespace" sh -c "'$SANDBOX' exec $SB runuser -u alice -- sdflow apply -f '$TOP/build/it-isvc-a.yaml' | grep -q 'inferenceservice.serving.kserve.io/iris created'"
out=$(isvc iris team-b | sbx runuser -u alice -- sdflow apply -f - 2>&1); rc=$?
check "alice cannot apply into team-b (403)" test "$rc" = 1 -a -n "$(grep -F 'Error from server (Forbidden): user alice may not use namespace team-b' <<<"$out")"
check "bob applies one in team-b" as bob sdflow apply -f "$TOP/build/it-isvc-b.yaml"
rm -f "$TOP"/build/it-isvc-?.yaml
check "alice gets hers by short name" as alice sdflow -n team-a get isvc iris
complete_as() { # USER LINE: what bash completion offers (the installed file, bash-completion's helpers)
        sbx runuser -u "$1" -- bash -c '. /usr/share/bash-completion/bash_completion; . /usr/share/bash-completion/completions/sdflow
                read -ra COMP_WORDS <<<"$1"; COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE="$1 "; COMP_POINT=${#COMP_LINE}
                _sdflow; printf "%s\n" "${COMPREPLY[@]}"' _ "$2"
}
check "bash completion offers alice her InferenceService's name, from the API" grep -qx iris <<<"$(complete_as alice 'sdflow -n team-a get isvc')"
bob_offered=$(complete_as bob 'sdflow -n team-a get isvc')
check "... and bob none of team-a's" test -z "$bob_offered"
check "its status says why it is not Ready" sh -c "'$SANDBOX' exec $SB runuser -u alice -- sdflow -n team-a get isvc iris -o wide | grep -q 'False .*ModelCopyFailed'"
out=$(as bob sdflow -n team-a get isvc iris 2>&1); rc=$?
check "bob cannot get it (403)" test "$rc" = 1 -a -n "$(grep -F 'Error from server (Forbidden)' <<<"$out")"
out=$(as alice sdflow -n team-a get isvc no-such 2>&1); rc=$?
check "the owner gets 404 for a name missing in her namespace" test "$rc" = 1 -a -n "$(grep -F 'Error from server (NotFound): inferenceservices "no-such" not found' <<<"$out")"
out=$(as bob sdflow -n team-a get isvc no-such 2>&1); rc=$?
check "... a stranger 403, as for a name that exists" test "$rc" = 1 -a -n "$(grep -F 'Error from server (Forbidden)' <<<"$out")"
out=$(as bob sdflow -n team-a get isvc 2>&1); rc=$?
check "bob cannot list team-a (403)" test "$rc" = 1
check "bob's list across namespaces shows only his" test "$(as bob sdflow get isvc -A -o name)" = "inferenceservice.serving.kserve.io/rf"
check "carol (admin) lists both" test "$(as carol sdflow get isvc -A -o name | wc -l)" = 2
as bob sdflow get isvc -A -w >"$TOP/build/it-watch-bob.txt" 2>&1 &
wpid=$!
sleep 1
isvc iris team-a | sed 's/xgboost/sklearn/' | sbx runuser -u alice -- sdflow apply -f - >/dev/null
isvc rf team-b | sed 's/xgboost/sklearn/' | sbx runuser -u bob -- sdflow apply -f - >/dev/null
sleep 1
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
check "bob's watch shows his change" grep -q '^team-b .*rf .*MODIFIED' "$TOP/build/it-watch-bob.txt"
check "bob's watch never shows team-a" test -z "$(grep -E 'team-a|iris' "$TOP/build/it-watch-bob.txt")"
rm -f "$TOP/build/it-watch-bob.txt"
out=$(as bob sdflow -n team-a delete isvc iris 2>&1); rc=$?
check "bob cannot delete alice's (403)" test "$rc" = 1 -a -n "$(grep -F 'Error from server (Forbidden)' <<<"$out")"
check "alice deletes hers" as alice sdflow -n team-a delete isvc iris

# Contributors: the owner decides who else may use the namespace.
check "alice (owner) adds bob to team-a" as alice sdflow contributor add team-a bob
check "bob now sees team-a and team-b" test "$(as bob sdflow get profiles -o name | wc -l)" = 2
check "the contributor list shows bob" test "$(as bob sdflow contributor list team-a)" = bob
check "the Profile's status lists contributors" sh -c "'$SANDBOX' exec $SB sdflow get profile team-a -o json | grep -q '\"contributors\"'"
out=$(as bob sdflow contributor add team-a carol 2>&1); rc=$?
check "a contributor cannot add contributors (403)" test "$rc" = 1 -a -n "$(grep -F 'Error from server (Forbidden)' <<<"$out")"
out=$(as alice sdflow contributor add team-a no-such-user 2>&1); rc=$?
check "a contributor must be a Unix user (422)" test "$rc" = 1 -a -n "$(grep -F 'is not a Unix user' <<<"$out")"
check "alice removes bob" as alice sdflow contributor remove team-a bob
check "bob no longer sees team-a" test "$(as bob sdflow get profiles -o name)" = "profile.kubeflow.org/team-b"

# Argo Workflows are validated, stored and run in the owner's namespace; nobody else sees them.
sed 's/  name: dag-diamond/  name: dag-diamond\n  namespace: team-a/' "$TOP/examples/workflows/diamond.yaml" >"$TOP/build/it-wf.yaml"
check "alice applies Argo's DAG diamond" as alice sdflow apply -f "$TOP/build/it-wf.yaml"
check "it runs to the end" sh -c "'$SANDBOX' exec $SB runuser -u alice -- sdflow -n team-a get wf dag-diamond -w | tail -1 | grep -q 'Succeeded 4/4'"
out=$(as bob sdflow -n team-a get wf dag-diamond 2>&1); rc=$?
check "a user who is not in team-a cannot see it (403)" test "$rc" = 1 -a -n "$(grep -F 'Error from server (Forbidden)' <<<"$out")"
out=$(as bob sdflow -n team-a logs wf/dag-diamond 2>&1); rc=$?
check "nor read its steps' logs" test "$rc" = 1 -a -n "$(grep -F 'Error from server (Forbidden)' <<<"$out")"
printf 'apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: loop, namespace: team-a}\nspec:\n  entrypoint: d\n  templates:\n  - {name: e, container: {image: busybox}}\n  - name: d\n    dag:\n      tasks:\n      - {name: a, template: e, dependencies: [b]}\n      - {name: b, template: e, dependencies: [a]}\n' >"$TOP/build/it-wf-loop.yaml"
out=$(as alice sdflow apply -f "$TOP/build/it-wf-loop.yaml" 2>&1); rc=$?
check "a DAG with a cycle is refused, naming the field" test "$rc" = 1 -a -n "$(grep -F 'spec.templates[1].dag.tasks: the dependencies form a cycle' <<<"$out")"
sed 's/image: python:3.11/image: example.org\/trainer:2/; s/name: dag-diamond/name: unmapped/' "$TOP/build/it-wf.yaml" >"$TOP/build/it-wf-unmapped.yaml"
out=$(as alice sdflow apply -f "$TOP/build/it-wf-unmapped.yaml" 2>&1); rc=$?
check "an image the image map does not know is refused, naming the field, the image and the map" test "$rc" = 1 -a -n "$(grep -F "spec.templates[0].container.image: image 'example.org/trainer:2' is not in the image map /etc/sdflow/images.conf" <<<"$out")"
rm -f "$TOP/build/it-wf.yaml" "$TOP/build/it-wf-loop.yaml" "$TOP/build/it-wf-unmapped.yaml"

# Deleting a Profile asks first; --yes deletes.
out=$(sbx sdflow delete profile team-b </dev/null 2>&1); rc=$?
check "delete without --yes is refused off a terminal" test "$rc" = 1 -a -n "$(grep -F 'pass --yes' <<<"$out")"
check "carol deletes team-b with --yes" sh -c "'$SANDBOX' exec $SB runuser -u carol -- sdflow delete profile team-b --yes | grep -q 'deleted'"
check "team-b is gone" sh -c "! '$SANDBOX' exec $SB sdflow get profile team-b"
finish
