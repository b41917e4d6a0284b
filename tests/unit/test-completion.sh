#!/bin/bash
# test-completion.sh COMPLETION-FILE: bash completion of sdflow, against a
# stand-in sdflow on PATH that answers "get KIND -o name" as the API would
# (the real API: tests/integration/test-api-access.sh).  With and without
# bash-completion's helpers.
set -u
comp=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/sdflow" <<'STUB'
#!/bin/bash
# Records the namespace it was asked for; answers get KIND -o name.
ns=default kind=
while [ $# -gt 0 ]; do
        case $1 in
        -n) ns=$2; shift ;;
        -A) ns=all ;;
        get) kind=$2; shift ;;
        esac
        shift
done
case $kind:$ns in
profiles:*) printf 'profile.kubeflow.org/%s\n' team-a team-b ;;
wf:team-a) printf 'workflow.argoproj.io/%s\n' train-x7k2p eval-q9z ;;
wf:team-b) printf 'workflow.argoproj.io/%s\n' bob-run ;;
wf:all) printf 'workflow.argoproj.io/%s\n' train-x7k2p eval-q9z bob-run ;;
wf:default) printf 'workflow.argoproj.io/%s\n' mine ;;
isvc:*|inferenceservices:*) printf 'inferenceservice.serving.kserve.io/%s\n' iris ;;
cwf:*) printf 'cronworkflow.argoproj.io/%s\n' nightly ;;
esac
STUB
chmod +x "$tmp/sdflow"
checks=0 fails=0
# expect "LINE" WORD...: completing LINE (the cursor at its end) offers each WORD.
run() {
        PATH=$tmp:$PATH bash -c "$1
                . '$comp'
                line=\$1
                read -ra COMP_WORDS <<<\"\$line\"
                [[ \$line == *' ' ]] && COMP_WORDS+=('')
                COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1)) COMP_LINE=\$line COMP_POINT=\${#line}
                _sdflow sdflow \"\${COMP_WORDS[COMP_CWORD]}\" \"\${COMP_WORDS[COMP_CWORD-1]}\"
                printf '%s\n' \"\${COMPREPLY[@]}\"" _ "$2"
}
expect() {
        local line=$1 out w; shift
        for mode in plain bash-completion; do
                local pre=
                if [ $mode = bash-completion ]; then
                        [ -f /usr/share/bash-completion/bash_completion ] || continue
                        pre='. /usr/share/bash-completion/bash_completion'
                fi
                out=$(run "$pre" "$line" 2>&1)
                for w in "$@"; do
                        checks=$((checks + 1))
                        grep -qx -- "$w" <<<"$out" ||
                                { echo "FAIL ($mode): '$line' does not offer '$w' (offers: $(tr '\n' ' ' <<<"$out"))"; fails=$((fails + 1)); }
                done
        done
}
refuse() { # LINE WORD: not offered
        local out
        out=$(run '' "$1" 2>&1)
        checks=$((checks + 1))
        ! grep -qx -- "$2" <<<"$out" || { echo "FAIL: '$1' offers '$2'"; fails=$((fails + 1)); }
}
expect 'sdflow ' get apply logs token
expect 'sdflow get ' wf isvc exp experiments cwf profiles
expect 'sdflow -n team-a get wf ' train-x7k2p eval-q9z
refuse 'sdflow -n team-a get wf ' bob-run
expect 'sdflow get wf -n team-b ' bob-run
expect 'sdflow get wf ' mine
expect 'sdflow get wf -A ' bob-run train-x7k2p
expect 'sdflow --namespace=team-b stop ' bob-run
expect 'sdflow -n ' team-a team-b
expect 'sdflow get --' --watch --selector --output --all-namespaces
refuse 'sdflow apply --' --watch
expect 'sdflow logs ' isvc/ wf/ trial/
expect 'sdflow -n team-a logs wf/' wf/train-x7k2p wf/eval-q9z
expect 'sdflow logs isvc/' isvc/iris
expect 'sdflow -n team-a retry ' train-x7k2p isvc/
expect 'sdflow -n team-a retry isvc/' isvc/iris
expect 'sdflow trigger ' nightly
expect 'sdflow predict ' iris
expect 'sdflow token ' list create delete
expect 'sdflow token create ' team-a team-b
expect 'sdflow contributor ' list add remove
expect 'sdflow -o ' json yaml wide name
echo "test-completion: $checks checks, $fails failed"
[ "$fails" = 0 ]
