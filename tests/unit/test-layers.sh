#!/bin/bash
# test-layers.sh: lib/'s layers hold.  Each file of lib/basic compiles with
# lib/basic alone on the include path, each of lib/model with lib/basic and
# lib/model (no I/O header reachable), and a model file that includes an I/O
# header does not compile.  Usage: test-layers.sh SOURCE_ROOT [CC]
set -u
root=$1
cc=${2:-cc}
lib=$root/lib
fail=0
pcflags=$(pkg-config --cflags jansson yaml-0.1 libpcre2-8 libcrypto 2>/dev/null)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

compiles() { # LAYER-DIRS... -- FILE
        local inc=()
        while [ "$1" != -- ]; do inc+=("-I$lib/$1"); shift; done
        shift
        # shellcheck disable=SC2086
        "$cc" -std=gnu11 -D_GNU_SOURCE -fsyntax-only "${inc[@]}" $pcflags "$1" 2>"$tmp/err"
}

for f in "$lib"/basic/*.c; do
        compiles basic -- "$f" || { echo "FAIL: $f needs more than lib/basic:"; cat "$tmp/err"; fail=1; }
done
for f in "$lib"/model/*.c; do
        compiles basic model -- "$f" || { echo "FAIL: $f needs more than lib/basic and lib/model:"; cat "$tmp/err"; fail=1; }
done
n_basic=$(ls "$lib"/basic/*.c | wc -l)
n_model=$(ls "$lib"/model/*.c | wc -l)
[ "$n_model" -ge 10 ] || { echo "FAIL: only $n_model files in lib/model"; fail=1; }

# The rule bites: an I/O header is out of a model file's reach, a model
# header out of a basic file's.
for h in server.h store.h http.h daemon.h; do
        [ -f "$lib/io/$h" ] || { echo "FAIL: lib/io/$h is gone: update this test"; fail=1; continue; }
        printf '#include "manifest.h"\n#include "%s"\n' "$h" >"$tmp/bad.c"
        if compiles basic model -- "$tmp/bad.c"; then
                echo "FAIL: a model file could include $h"
                fail=1
        elif ! grep -q "$h" "$tmp/err"; then
                echo "FAIL: including $h failed for another reason:"; cat "$tmp/err"; fail=1
        fi
done
printf '#include "macro.h"\n#include "manifest.h"\n' >"$tmp/bad.c"
if compiles basic -- "$tmp/bad.c"; then
        echo "FAIL: a basic file could include manifest.h"
        fail=1
fi
# And a well-formed model file does compile there (the harness works).
printf '#include "manifest.h"\n#include "macro.h"\nint f(void) { return 0; }\n' >"$tmp/good.c"
compiles basic model -- "$tmp/good.c" || { echo "FAIL: the harness cannot compile a model file:"; cat "$tmp/err"; fail=1; }

[ $fail = 0 ] && echo "ok: $n_basic basic and $n_model model files keep to their layers"
exit $fail
