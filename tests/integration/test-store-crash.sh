#!/bin/bash
# Durability: sdflowd is killed with SIGKILL three times during a burst of
# applies.  Socket activation starts it again; afterwards every object whose
# apply was acknowledged is there and intact, and the database passes
# PRAGMA integrity_check.
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
boot
install_deb
sbx systemctl enable --now sdflowd.socket >/dev/null 2>&1
N=${N:-300}
# Each Profile's owner is a user of the host (else the apply is refused).
sbx sh -c "for i in \$(seq 1 $N); do useradd -M -N u\$i; done"

# The burst: one apply per object; "created" is the acknowledgement.
sbx sh -c "for i in \$(seq 1 $N); do
        printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: p-%d, labels: {i: \"%d\"}}\nspec: {owner: {kind: User, name: u%d}, resourceQuotaSpec: {hard: {cpu: \"%dm\"}}}\n' \$i \$i \$i \$i |
                sdflow --request-timeout=10 apply -f - 2>/dev/null | grep -q 'p-'\$i' created' && echo \$i
done" >"$TOP/build/it-acked.txt" &
burst=$!
kills=0
for k in 1 2 3; do
        sleep 0.7
        pid=$(sbx systemctl show -P MainPID sdflowd.service)
        if [ "$pid" != 0 ]; then
                sbx kill -KILL "$pid" && kills=$((kills + 1))
        fi
done
wait "$burst"
acked=$(wc -l <"$TOP/build/it-acked.txt")
echo "  $acked of $N applies acknowledged; sdflowd killed $kills times"
check "sdflowd was killed during the burst" test "$kills" -ge 2
check "most applies were acknowledged" test "$acked" -ge $((N / 2))

sbx systemctl stop sdflowd.service 2>/dev/null
check "integrity_check ok" test "$(sbx /usr/bin/python3 -c "import sqlite3; print(sqlite3.connect('/var/lib/sdflow/db/state.db').execute('PRAGMA integrity_check').fetchone()[0])")" = ok
all=$(sbx sdflow get profiles -o json)
missing=0 bad=0
while read -r i; do
        obj=$(/usr/bin/python3 -c "
import json,sys
items={o['metadata']['name']:o for o in json.load(sys.stdin)['items']}
o=items.get('p-$i')
if not o: print('missing'); sys.exit()
ok=o['spec']['owner']['name']=='u$i' and o['spec']['resourceQuotaSpec']['hard']['cpu']=='${i}m' and o['metadata']['labels']['i']=='$i'
print('ok' if ok else 'bad')" <<<"$all")
        [ "$obj" = missing ] && missing=$((missing + 1))
        [ "$obj" = bad ] && bad=$((bad + 1))
done <"$TOP/build/it-acked.txt"
check "every acknowledged object is there ($missing missing)" test "$missing" = 0
check "every acknowledged object is intact ($bad damaged)" test "$bad" = 0
rm -f "$TOP/build/it-acked.txt"
finish
