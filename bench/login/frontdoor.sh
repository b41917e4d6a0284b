#!/bin/bash
# bench/login/frontdoor.sh: the front door on a real systemd (the sandbox,
# the installed package): how long a login takes (PAM included) and what
# checking a session costs a request.
#
#   bench/login/frontdoor.sh [DEB] [REQUESTS]
# Prints the p50/p90 of N logins over HTTPS (a new TLS connection each, as
# a browser's first visit) and over sdflowd's socket, and the p50 of the
# same API request (GET .../profiles) on sdflowd's socket without a
# credential (SO_PEERCRED, as the CLI) and with a session cookie: the
# difference is what validating the session adds.  The peer is the local
# socket in the same run.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
deb=${1:-$(ls "$top"/build/deb/sdflow_*_amd64.deb 2>/dev/null | head -n1)}
n=${2:-2000}
[ -f "$deb" ] || { echo "bench: give the package (tools/build-deb DIR)" >&2; exit 1; }
SB=bench-login
S=$top/tools/sdflow-sandbox
"$S" start $SB --bind "$top" >/dev/null
trap '"$S" stop $SB >/dev/null 2>&1 || true' EXIT
x() { "$S" exec $SB "$@"; }
x sh -c "cd '$(dirname "$deb")' && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ./$(basename "$deb")" >/dev/null 2>&1
x systemctl enable --now sdflowd.socket sdflow-gateway.socket >/dev/null 2>&1
x useradd -m -s /bin/bash carol
x sh -c "echo 'carol:bench-pw-1' | chpasswd"
x usermod -a -G sdflow-admin carol
for t in a b; do
        printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: team-%s}\nspec: {owner: {kind: User, name: carol}}\n' $t | x sdflow apply -f - >/dev/null
done
for _ in $(seq 50); do x curl -sk -o /dev/null https://127.0.0.1:8443/login && break; sleep 0.1; done
x /usr/bin/python3 - "$n" <<'PY'
import http.client, socket, ssl, statistics, sys, time, urllib.parse
n = int(sys.argv[1])
ctx = ssl._create_unverified_context()
form = urllib.parse.urlencode({"username": "carol", "password": "bench-pw-1"})
class Unix(http.client.HTTPConnection):
    def __init__(self):
        super().__init__("localhost")
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect("/run/sdflow/api.sock")
def login(conn, origin):
    t = time.perf_counter()
    conn.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded", "Origin": origin})
    r = conn.getresponse(); r.read()
    assert r.status == 303, r.status
    cookie = r.getheader("Set-Cookie").split(";")[0]
    return time.perf_counter() - t, cookie
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(len(v) * p))]
tls, unix = [], []
for i in range(30):
    c = http.client.HTTPSConnection("127.0.0.1", 8443, context=ctx)  # a new connection: a full handshake
    d, cookie = login(c, "https://127.0.0.1:8443"); tls.append(d); c.close()
    u = Unix(); d, _ = login(u, "http://localhost"); unix.append(d); u.close()
print("login, 30 each        p50        p90")
print("  HTTPS (new conn) %7.1f ms %7.1f ms" % (pct(tls, .5) * 1e3, pct(tls, .9) * 1e3))
print("  sdflowd socket   %7.1f ms %7.1f ms" % (pct(unix, .5) * 1e3, pct(unix, .9) * 1e3))
path = "/apis/kubeflow.org/v1/profiles"
plain, session = [], []
u = Unix()
for i in range(2 * n):
    h = {"Cookie": cookie} if i % 2 else {}
    t = time.perf_counter()
    u.request("GET", path, headers=h)
    r = u.getresponse(); body = r.read()
    d = time.perf_counter() - t
    assert r.status == 200 and b"team-b" in body, (r.status, body[:200])
    (session if i % 2 else plain).append(d)
gw = []
c = http.client.HTTPSConnection("127.0.0.1", 8443, context=ctx)
for i in range(n):
    t = time.perf_counter()
    c.request("GET", path, headers={"Cookie": cookie})
    r = c.getresponse(); r.read()
    gw.append(time.perf_counter() - t)
    assert r.status == 200
p, s, g = statistics.median(plain) * 1e6, statistics.median(session) * 1e6, statistics.median(gw) * 1e6
print("GET %s, %d each (p50)" % (path, n))
print("  sdflowd socket, SO_PEERCRED (as the CLI)   %7.1f us" % p)
print("  sdflowd socket, session cookie             %7.1f us" % s)
print("  session validation adds                    %7.1f us  (target <= 50 us)" % (s - p))
print("  through the gateway over TLS, session      %7.1f us  (keep-alive)" % g)
PY
