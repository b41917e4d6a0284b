#!/bin/bash
# storageUri is read as the caller of the apply: a contributor can serve
# only a model they could read themselves, never one of the owner's
# private files; the owner can; a pipeline's artifact is the namespace's.
. "$(dirname "$0")/../integration/lib.sh"
require_sandbox
require_deb
/usr/bin/python3 -c 'import xgboost, sklearn' 2>/dev/null || skip "/usr/bin/python3 lacks python3-xgboost/python3-sklearn"
boot
install_deb
W=$TOP/build/sec-model-reader
rm -rf "$W" && mkdir -p "$W"
trap 'teardown; rm -rf "$W"' EXIT
sbx systemctl enable --now sdflowd.socket >/dev/null 2>&1
sbx useradd -m alice
sbx useradd -m bob
printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: team-a}\nspec:\n  owner: {kind: User, name: alice}\n' >"$W/p.yaml"
sbx sdflow apply -f "$W/p.yaml" >/dev/null
as() { local u=$1; shift; sbx runuser -u "$u" -- "$@"; }
as alice sdflow contributor add team-a bob >/dev/null
# alice's private model: 0600 in a 0700 directory of her home.
as alice mkdir -m 0700 /home/alice/private
as alice /usr/bin/python3 "$TOP/examples/models/train-iris-xgboost.py" /home/alice/private/m >/dev/null
as alice chmod 0600 /home/alice/private/m/model.json
as bob mkdir -p /var/tmp/bob
as bob /usr/bin/python3 "$TOP/examples/models/train-iris-xgboost.py" /var/tmp/bob/m >/dev/null
isvc() { printf 'apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: %s, namespace: team-a}\nspec:\n  predictor:\n    model:\n      modelFormat: {name: xgboost}\n      storageUri: file://%s\n' "$1" "$2"; }
isvc stolen /home/alice/private/m >"$W/stolen.yaml"
isvc own /home/alice/private/m >"$W/own.yaml"
isvc bobs /var/tmp/bob/m >"$W/bobs.yaml"
as bob sdflow apply -f "$W/stolen.yaml" >/dev/null 2>&1
check "a contributor's InferenceService of the owner's private model is not Ready: the copy failed as bob" sh -c "'$SANDBOX' exec $SB sdflow -n team-a get isvc stolen -o json | grep -q 'ModelCopyFailed' && '$SANDBOX' exec $SB sdflow -n team-a get isvc stolen -o json | grep -q 'bob cannot read /home/alice/private/m'"
check "... no copy of the model is in the namespace" sh -c "! '$SANDBOX' exec $SB test -e /var/lib/sdflow/ns/team-a/models/stolen/1/model.json"
as alice sdflow apply -f "$W/own.yaml" >/dev/null 2>&1
check "the owner serves her own private model" sh -c "'$SANDBOX' exec $SB sdflow -n team-a get isvc own | grep -q ' True '"
as bob sdflow apply -f "$W/bobs.yaml" >/dev/null 2>&1
check "the contributor serves a model he can read" sh -c "'$SANDBOX' exec $SB sdflow -n team-a get isvc bobs | grep -q ' True '"
finish
