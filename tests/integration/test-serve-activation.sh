#!/bin/bash
# sdflow-serve as a model replica the systemd way, from the installed
# package: a transient socket unit plus its service (DynamicUser,
# PrivateNetwork, Type=notify).  Scaled to zero nothing runs; the first
# request starts the server and gets the right prediction; after the idle
# time the service is gone while the socket listens; the next request wakes
# it again.  Cold-start times are printed, not asserted.
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
sbx_python() { sbx /usr/bin/python3 "$@"; }
/usr/bin/python3 -c 'import xgboost, sklearn' 2>/dev/null || skip "/usr/bin/python3 lacks python3-xgboost/python3-sklearn"
boot
install_deb
sbx install -d -m 0755 /var/lib/sdflow/models/iris
sbx_python "$TOP/examples/models/train-iris-xgboost.py" /var/lib/sdflow/models/iris >/dev/null
sbx chmod 0644 /var/lib/sdflow/models/iris/model.json
sbx systemd-run --quiet --unit=iris-0 \
        --socket-property=ListenStream=/run/sdflow/iris-0.sock --socket-property=FileDescriptorName=model \
        -p Type=notify -p DynamicUser=yes -p PrivateNetwork=yes -p ProtectSystem=strict -p ProtectHome=yes \
        -p NoNewPrivileges=yes -p CapabilityBoundingSet= -p DevicePolicy=closed \
        /usr/sbin/sdflow-serve --set=ModelPath=/var/lib/sdflow/models/iris/model.json --set=ModelName=iris \
        --idle-timeout=2s

body=$(/usr/bin/python3 -c 'import json; print(json.dumps({"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[6.2,3.4,5.4,2.3]}]}))')
infer() { sbx curl -sS --max-time 20 --unix-socket /run/sdflow/iris-0.sock -X POST -d "$body" http://iris/v2/models/iris/infer; }
right() { infer | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)["outputs"][0]["data"]; sys.exit(0 if d.index(max(d)) == 2 else 1)'; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

check "scaled to zero: the service is inactive" is_state iris-0.service inactive
check "the socket listens" is_state iris-0.socket active
t0=$(date +%s%N)
check "the first request wakes the model and is answered right (virginica)" right
cold1=$(ms "$t0")
check "the service runs" is_state iris-0.service active
check "it runs as a dynamic user, not root" test "$(sbx ps -o user= -p "$(sbx systemctl show -P MainPID iris-0.service)")" != root
check "after the idle time it exits" wait_for 30 is_state iris-0.service inactive
check "cleanly" test "$(sbx systemctl show -P Result iris-0.service)" = success
check "no model process is left" test "$(sbx systemctl show -P MainPID iris-0.service)" = 0
check "the socket still listens" is_state iris-0.socket active
t0=$(date +%s%N)
check "the next request wakes it again and is answered right" right
cold2=$(ms "$t0")
t0=$(date +%s%N)
check "a warm request is answered" right
warm=$(ms "$t0")
echo "  cold start + request: ${cold1} ms, ${cold2} ms; warm request: ${warm} ms (curl through nsenter, not a benchmark)"

# Through the gateway, which keeps connections to the replica alive: when
# the replica exits on idle, the pooled connection is dead; the next request
# must still be answered (the gateway notices and reconnects, waking it).
# (sdflowd, which would write the route table, is not running here.)
sbx install -d -m 0711 /run/sdflow/control
sbx sh -c 'printf "{\"routes\":[{\"host\":\"iris.ns.example.com\",\"namespace\":\"ns\",\"name\":\"iris\",\"revisions\":[{\"name\":\"iris-predictor-00001\",\"percent\":100,\"backends\":[\"/run/sdflow/iris-0.sock\"]}]}]}\n" >/run/sdflow/control/routes.json && chmod 0644 /run/sdflow/control/routes.json'
sbx systemctl enable --now sdflow-gateway.socket >/dev/null 2>&1
via_gw() { sbx curl -sS --max-time 20 -H 'Host: iris.ns.example.com' -d "$body" http://127.0.0.1:8080/v2/models/iris/infer | grep -q '"model_name":"iris"'; }
check "through the gateway" via_gw
check "again, on the pooled connection" via_gw
check "the replica exits on idle behind the gateway" wait_for 30 is_state iris-0.service inactive
check "the next request through the gateway is answered (stale pooled connection replaced)" via_gw
finish
