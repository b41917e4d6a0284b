#!/bin/bash
# The front door on a real systemd with the installed package: HTTPS on
# 8443 with Debian's snakeoil certificate, the login form checked through
# PAM by sdflow-privd, sessions and API tokens that act as the Unix user
# and nobody else, and what an attacker tries: wrong passwords, unknown and
# locked accounts, forged identity headers, tampered cookies, cross-site
# requests, floods of guesses, junk.
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
boot
install_deb
sbx systemctl enable --now sdflowd.socket sdflow-gateway.socket >/dev/null 2>&1

U=https://127.0.0.1:8443
# A second address, for a client that is not on loopback.
sbx ip addr add 10.9.9.9/32 dev lo
J=/run/login-test # cookie jars and answers, inside the sandbox
sbx install -d -m 0700 $J
pw() { echo "pw-$1-S3cret!"; }
for u in alice bob carol dave; do
        sbx useradd -m -s /bin/bash "$u"
        sbx sh -c "echo '$u:$(pw $u)' | chpasswd"
done
sbx useradd -m -s /usr/sbin/nologin erin
sbx sh -c "echo 'erin:$(pw erin)' | chpasswd"
sbx usermod -a -G sdflow-admin carol
sbx usermod -L dave # locked: the password is right, the account may not log in
for t in a:alice b:bob; do
        printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: team-%s}\nspec: {owner: {kind: User, name: %s}}\n' \
                "${t%%:*}" "${t#*:}" | sbx sdflow apply -f - >/dev/null
done

# curl inside the sandbox: status code last.
c() { sbx curl -sk -w '\n%{http_code}' "$@"; }
code() { tail -n1 <<<"$1"; }
login() { # USER PASSWORD JAR [BASE-URL]
        local u=$1 p=$2 jar=$3 base=${4:-$U}
        sbx curl -sk -o /dev/null -w '%{http_code}' -c "$jar" -H "Origin: $base" --data-urlencode "username=$u" \
                --data-urlencode "password=$p" $base/login
}

# ---- HTTPS --------------------------------------------------------------------
check "enabling sdflow-gateway.socket brings up the HTTPS socket too" wait_for 10 is_state sdflow-gateway-tls.socket active
check "the snakeoil pair is there (the package made it)" sbx test -s /etc/ssl/private/ssl-cert-snakeoil.key
out=$(sbx sdflow-gateway --check 2>&1)
check "sdflow-gateway --check names the certificate's subject and expiry" \
        bash -c "grep -q 'subject: /CN=' <<<\"\$1\" && grep -q 'expires: .* (in [0-9]* days)' <<<\"\$1\"" _ "$out"
for v in tls1_2 tls1_3; do
        out=$(sbx sh -c "echo | openssl s_client -connect 127.0.0.1:8443 -$v -alpn http/1.1 2>&1")
        check "the TLS socket speaks ${v/_/.} with ALPN http/1.1" \
                bash -c "grep -q 'Cipher is [A-Z]' <<<\"\$1\" && grep -q 'ALPN protocol: http/1.1' <<<\"\$1\"" _ "$out"
done
out=$(sbx sh -c "echo | openssl s_client -connect 127.0.0.1:8443 -tls1_2 -cipher 'AES256-SHA:AES128-SHA:AES256-GCM-SHA384' 2>&1")
check "TLS 1.2 offers no static-RSA or CBC suites" bash -c "grep -q 'Cipher is (NONE)' <<<\"\$1\"" _ "$out"
for v in tls1 tls1_1; do
        out=$(sbx sh -c "echo | openssl s_client -connect 127.0.0.1:8443 -$v 2>&1")
        check "the TLS socket refuses ${v/_/.}" bash -c "grep -q 'Cipher is (NONE)' <<<\"\$1\"" _ "$out"
done
out=$(c $U/login)
check "GET /login: the form, over HTTPS" test "$(code "$out")" = 200 -a -n "$(grep -F 'name="password"' <<<"$out")"
check "models stay on plain HTTP (8080)" test "$(sbx curl -s http://127.0.0.1:8080/healthz)" = ok

# ---- logging in -----------------------------------------------------------------
check "alice logs in: 303 to /" test "$(login alice "$(pw alice)" $J/alice)" = 303
cookie=$(sbx sh -c "grep sdflow_session $J/alice | cut -f7")
check "the session id is 256 bits in base64url" test ${#cookie} = 43
hdrs=$(sbx curl -sk -D - -o /dev/null -H "Origin: $U" --data-urlencode username=alice --data-urlencode "password=$(pw alice)" $U/login)
check "the cookie is __Host-, HttpOnly, Secure, SameSite=Lax, Path=/" \
        bash -c "grep -i '^set-cookie: __Host-sdflow_session=' <<<\"\$1\" | grep -q 'Path=/;.*HttpOnly; Secure; SameSite=Lax'" _ "$hdrs"
out=$(c -b $J/alice $U/api/whoami)
check "whoami: alice, by her session, owner of team-a only" \
        bash -c "grep -q '\"user\":\"alice\"' <<<\"\$1\" && grep -q '\"authenticatedBy\":\"session\"' <<<\"\$1\" && grep -q team-a <<<\"\$1\" && ! grep -q team-b <<<\"\$1\"" _ "$out"
out=$(c -b $J/alice $U/apis/kubeflow.org/v1/profiles)
check "the session works for /apis: alice lists team-a and not team-b" \
        test "$(code "$out")" = 200 -a -n "$(grep team-a <<<"$out")" -a -z "$(grep team-b <<<"$out")"
out=$(c -b $J/alice $U/apis/serving.kserve.io/v1beta1/namespaces/team-b/inferenceservices)
check "alice's session cannot read bob's namespace (403)" test "$(code "$out")" = 403
out=$(c -b $J/alice $U/)
check "the landing page greets alice and lists her namespace" \
        bash -c "grep -q '<span id=\"user\">alice</span>' <<<\"\$1\" && grep -q team-a <<<\"\$1\"" _ "$out"
check "carol (sdflow-admin) logs in" test "$(login carol "$(pw carol)" $J/carol)" = 303
check "... and is an admin through her session" sh -c "'$SANDBOX' exec $SB curl -sk -b $J/carol $U/api/whoami | grep -q '\"admin\":true'"

# ---- the same refusal for every reason --------------------------------------------
bodies=()
for who in "alice:wrong-password" "mallory:$(pw alice)" "dave:$(pw dave)" "erin:$(pw erin)"; do
        out=$(c -H "Origin: $U" --data-urlencode "username=${who%%:*}" --data-urlencode "password=${who#*:}" $U/login)
        check "refused (401): ${who%%:*}" test "$(code "$out")" = 401
        bodies+=("$(sed '$d' <<<"$out" | sha256sum)")
done
t=$(sbx curl -sk -o /dev/null -w '%{time_total}' -H "Origin: $U" --data-urlencode username=erin --data-urlencode "password=$(pw erin)" $U/login)
echo "  (erin's right password, refused for her nologin shell, answered in $t s)"
check "a refusal after a right password is not faster than a wrong one (PAM's delay, 1.5 s or more)" \
        awk -v t="$t" 'BEGIN { exit !(t >= 1.45) }'
check "wrong password, unknown user, locked account, nologin shell: the same answer" \
        test "${bodies[0]}" = "${bodies[1]}" -a "${bodies[0]}" = "${bodies[2]}" -a "${bodies[0]}" = "${bodies[3]}"
check "no session was made for them" test "$(sbx curl -s --unix-socket /run/sdflow/api.sock http://x/api/sessions | grep -o '"user":' | wc -l)" = 3
check "each failure is in the journal with the address" \
        sh -c "'$SANDBOX' exec $SB journalctl -o cat | grep -q 'Failed login for alice from 127.0.0.1'"
check "... an unknown user's name is not (it may be a password typed too early)" \
        sh -c "'$SANDBOX' exec $SB journalctl -o cat | grep 'Failed login for an unknown user from 127.0.0.1' | grep -vq mallory"
check "privd says why (locked account)" sh -c "'$SANDBOX' exec $SB journalctl -u sdflow-privd -o cat | grep -q 'Login of dave (from 127.0.0.1) refused'"

# ---- forged identities, tampered cookies ------------------------------------------
for h in "kubeflow-userid: alice" "X-Remote-User: alice" "X-Forwarded-User: root" "X-Sdflow-User: root"; do
        out=$(c -H "$h" $U/api/whoami)
        check "a forged identity header ($h) gets 401" test "$(code "$out")" = 401
        out=$(c -H "$h" $U/apis/kubeflow.org/v1/profiles)
        check "... on /apis too ($h)" test "$(code "$out")" = 401
done
last=${cookie: -1}; [ "$last" = A ] && last=B || last=A
flip=${cookie:0:42}$last
for bad in "$flip" "${cookie:0:42}" "${cookie}x" "${cookie:0:40}%00%0a" "../../../etc/shadow"; do
        out=$(c -H "Cookie: __Host-sdflow_session=$bad" $U/api/whoami)
        check "a tampered or malformed cookie gets 401 (${bad:0:12}...)" test "$(code "$out")" = 401
done
out=$(c -H "Authorization: Bearer sdf_$(printf 'A%.0s' $(seq 43))" $U/api/whoami)
check "an unknown API token gets 401" test "$(code "$out")" = 401
out=$(c -H "Cookie: $(for i in $(seq 1000); do printf 'c%d=v; ' $i; done)__Host-sdflow_session=$cookie" $U/api/whoami)
check "1000 cookies: handled, and the session still found" test "$(code "$out")" = 200
# The gateway's own uid speaks for nobody: a local user cannot borrow it either.
out=$(sbx runuser -u bob -- curl -s -w '\n%{http_code}' --unix-socket /run/sdflow/api.sock -H 'X-Forwarded-For: 10.0.0.1' http://x/api/whoami)
check "bob on the local socket is bob, whatever X-Forwarded-For says" grep -q '"user":"bob"' <<<"$out"

# ---- a namespace's model on the same origin ----------------------------------------------
# bob's "model" echoes what it gets and answers a page that would set a
# session of his choosing; it stands in for his InferenceService's replica.
sbx install -d -m 0755 /run/evil && sbx chown bob /run/evil
cat >"$TOP/build/it-evil-model.py" <<'EOF'
import os, socketserver
class H(socketserver.StreamRequestHandler):
    def handle(self):
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            b = self.rfile.read(1)
            if not b:
                return
            head += b
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                         b"Set-Cookie: __Host-sdflow_session=Attacker; Path=/; Secure\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(head) + head)
s = socketserver.UnixStreamServer("/run/evil/m.sock", H)
os.chmod("/run/evil/m.sock", 0o666)
s.serve_forever()
EOF
sbx runuser -u bob -- sh -c "nohup /usr/bin/python3 '$TOP/build/it-evil-model.py' >/dev/null 2>&1 &"
wait_for 10 sbx test -S /run/evil/m.sock
sbx sh -c 'printf "{\"routes\":[{\"host\":\"evil.team-b.example.com\",\"namespace\":\"team-b\",\"name\":\"evil\",\"revisions\":[{\"name\":\"evil-1\",\"percent\":100,\"backends\":[\"/run/evil/m.sock\"]}]}]}\n" >/run/sdflow/control/routes.json.new && mv /run/sdflow/control/routes.json.new /run/sdflow/control/routes.json && chmod 0644 /run/sdflow/control/routes.json'
out=$(sbx curl -sk -D - -b $J/alice -H "Authorization: Bearer sdf_$(printf 'B%.0s' $(seq 43))" $U/serving/team-b/evil/x)
check "a model on 8443 is reached" grep -q '^GET /x HTTP/1.1' <<<"$out"
check "... and never gets alice's session cookie" test -z "$(grep -i 'sdflow_session=' <<<"$(sed -n '/^GET/,$p' <<<"$out")")"
check "... nor an API token" test -z "$(grep -i 'Bearer sdf_' <<<"$out")"
check "... and its answer cannot set a cookie" test -z "$(grep -i '^set-cookie' <<<"$out")"
check "... nor run as a page of this origin (CSP sandbox)" grep -qi '^content-security-policy: sandbox' <<<"$out"
out=$(c -b $J/alice $U/api/whoami)
check "alice's session is still hers" grep -q '"user":"alice"' <<<"$out"

# ---- cross-site requests -------------------------------------------------------------
tok() { # JAR ORIGIN NAME
        c -b "$1" -H "Origin: $2" -H 'Content-Type: application/json' --data "{\"name\":\"$3\"}" $U/api/tokens
}
out=$(tok $J/alice https://evil.example laptop)
check "a cross-site POST with alice's cookie is refused (403)" test "$(code "$out")" = 403
out=$(c -b $J/alice -H 'Content-Type: application/json' --data '{"name":"laptop"}' $U/api/tokens)
check "... and one with no Origin at all" test "$(code "$out")" = 403
out=$(tok $J/alice null laptop)
check "... and one with Origin: null (a sandboxed frame)" test "$(code "$out")" = 403
out=$(c -b $J/alice -H "Origin: https://127.0.0.1:8443.evil.example" -H 'Content-Type: application/json' --data '{"name":"laptop"}' $U/api/tokens)
check "... and one whose Origin only starts like ours" test "$(code "$out")" = 403
out=$(c -H "Origin: https://evil.example" --data-urlencode username=alice --data-urlencode "password=$(pw alice)" $U/login)
check "a login posted from another site is refused (login CSRF)" test "$(code "$out")" = 403

# ---- API tokens ------------------------------------------------------------------------
out=$(tok $J/alice $U laptop)
check "alice makes an API token from her session (201)" test "$(code "$out")" = 201
token=$(sed -n 's/.*"token":"\(sdf_[A-Za-z0-9_-]*\)".*/\1/p' <<<"$out")
check "it is shown once: sdf_ and 43 characters" test ${#token} = 47
out=$(c -H "Authorization: Bearer $token" $U/apis/kubeflow.org/v1/profiles)
check "the token works over HTTPS as alice" test "$(code "$out")" = 200 -a -n "$(grep team-a <<<"$out")" -a -z "$(grep team-b <<<"$out")"
check "the store keeps only its hash" sh -c "! '$SANDBOX' exec $SB grep -rqa '${token#sdf_}' /var/lib/sdflow/db"
out=$(c -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data '{"name":"more"}' $U/api/tokens)
check "a token cannot make another (403)" test "$(code "$out")" = 403
out=$(c -b $J/alice -H "Origin: $U" -X DELETE $U/api/tokens/laptop)
check "alice revokes it" test "$(code "$out")" = 200
out=$(c -H "Authorization: Bearer $token" $U/api/whoami)
check "a revoked token gets 401" test "$(code "$out")" = 401

# ---- the CLI against a remote sdflow -------------------------------------------------------
out=$(tok $J/alice $U cli)
sbx sh -c "printf '%s\n' '$(sed -n 's/.*"token":"\(sdf_[A-Za-z0-9_-]*\)".*/\1/p' <<<"$out")' >$J/alice.token"
host=$(sbx hostname)
sbx sh -c "echo '127.0.0.1 $host' >>/etc/hosts"
CA=/etc/ssl/certs/ssl-cert-snakeoil.pem
out=$(sbx sdflow --server "https://$host:8443" --token-file $J/alice.token --certificate-authority $CA get profiles -o name 2>&1)
check "root's CLI with alice's token over HTTPS acts as alice" test "$out" = "profile.kubeflow.org/team-a"
out=$(sbx sdflow --server https://127.0.0.1:8443 --token-file $J/alice.token --certificate-authority $CA get profiles 2>&1); rc=$?
check "a certificate that does not name the host is refused" test $rc = 1 -a -n "$(grep -F 'certificate is not trusted' <<<"$out")"
sbx openssl req -x509 -newkey rsa:2048 -nodes -keyout $J/other.key -out $J/other.pem -days 1 -subj /CN=other 2>/dev/null
out=$(sbx sdflow --server "https://$host:8443" --token-file $J/alice.token --certificate-authority $J/other.pem get profiles 2>&1); rc=$?
check "... and one the given authority did not sign" test $rc = 1 -a -n "$(grep -F 'certificate is not trusted' <<<"$out")"
out=$(sbx sdflow --server https://127.0.0.1:8443 --insecure-skip-tls-verify --token-file $J/alice.token get profiles -o name 2>&1)
check "--insecure-skip-tls-verify connects anyway" test "$out" = "profile.kubeflow.org/team-a"
out=$(sbx sh -c "SDFLOW_SERVER=https://$host:8443 SDFLOW_TOKEN=\$(cat $J/alice.token) sdflow --certificate-authority $CA -n team-a get isvc 2>&1")
check "SDFLOW_SERVER and SDFLOW_TOKEN work too" grep -q 'No resources found' <<<"$out"
sbx sh -c "mkdir -p $J/home/.config/sdflow && cat >$J/home/.config/sdflow/config" <<EOF
apiVersion: v1
kind: Config
current-context: remote
clusters:
- name: here
  cluster: {server: "https://$host:8443", certificate-authority: $CA}
users:
- name: alice
  user: {tokenFile: $J/alice.token}
contexts:
- name: remote
  context: {cluster: here, user: alice, namespace: team-a}
EOF
out=$(sbx env HOME=$J/home sdflow get profiles -o name 2>&1)
check "~/.config/sdflow/config (a kubeconfig) names server, CA and token" test "$out" = "profile.kubeflow.org/team-a"
out=$(sbx env HOME=$J/home sdflow token list --user 2>&1)
check "sdflow token list --user, remotely: alice's tokens" grep -q '^cli ' <<<"$out"
out=$(sbx env HOME=$J/home sdflow token create --user more 2>&1); rc=$?
check "... a token cannot make another, from the CLI either" test $rc = 1
check "sdflow token delete --user cli (locally, as alice)" sbx runuser -u alice -- sdflow token delete --user cli
out=$(sbx env HOME=$J/home sdflow get profiles 2>&1); rc=$?
check "after revocation the CLI gets 401" test $rc = 1 -a -n "$(grep -F 'Unauthorized' <<<"$out")"
out=$(sbx runuser -u alice -- sdflow token create --user laptop2 --expires 1h 2>/dev/null)
check "sdflow token create --user (locally) prints a new token" test ${#out} = 47
out=$(sbx sdflow session list 2>&1)
check "sdflow session list (admin): the sessions with id, user and address" grep -qE '^[0-9a-f]{12} +alice +127.0.0.1' <<<"$out"

# ---- plain HTTP -------------------------------------------------------------------------
out=$(sbx curl -s -w '\n%{http_code}' --data-urlencode username=alice --data-urlencode "password=$(pw alice)" http://10.9.9.9:8080/login)
check "a login over plain HTTP from the network is refused (403)" test "$(code "$out")" = 403
out=$(sbx curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/login)
check "... from loopback, the form is served" test "$out" = 200

# ---- bad input ------------------------------------------------------------------------------
before=$(sbx curl -s --unix-socket /run/sdflow/api.sock http://x/api/sessions | grep -o '"user":' | wc -l)
bad() { # WHAT CODE curl-args...
        local what=$1 want=$2; shift 2
        local got
        got=$(sbx curl -sk -o /dev/null -w '%{http_code}' -H "Origin: $U" "$@" $U/login)
        check "$what: $want" test "$got" = "$want"
}
bad "a form without a password" 400 --data-urlencode username=alice
bad "a form without a user name" 400 --data-urlencode "password=x"
bad "a password over 1024 bytes" 400 --data-urlencode username=alice --data-urlencode "password=$(head -c 2000 /dev/zero | tr '\0' a)"
bad "a login body over 8 KiB" 413 --data-urlencode username=alice --data-urlencode "x=$(head -c 9000 /dev/zero | tr '\0' a)"
bad "a NUL byte in the user name" 400 --data 'username=al%00ice&password=x'
bad "a malformed %-escape" 400 --data 'username=%zz&password=x'
bad "JSON instead of a form" 415 -H 'Content-Type: application/json' --data '{"username":"alice"}'
sbx sh -c "head -c 4000 /dev/urandom >$J/junk"
bad "binary junk" 400 -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @$J/junk
check "none of it made a session" test "$(sbx curl -s --unix-socket /run/sdflow/api.sock http://x/api/sessions | grep -o '"user":' | wc -l)" = "$before"

# ---- hanging up before the answer is no free guess ----------------------------------------------
for i in 1 2 3 4 5 6 7; do
        sbx curl -sk -o /dev/null -m 0.3 -H "Origin: $U" --data-urlencode username=carol \
                --data-urlencode "password=wrong-$i" $U/login
        sleep 2.7 # the check goes on, and ends, without the client
done
out=$(c -H "Origin: $U" --data-urlencode username=carol --data-urlencode "password=$(pw carol)" $U/login)
check "7 wrong guesses whose client hung up before the answer still count: carol is held (429)" \
        test "$(code "$out")" = 429

# ---- back-off ----------------------------------------------------------------------------------
for i in 1 2 3 4 5 6; do login bob wrong-$i $J/x >/dev/null; done
out=$(c -D - -H "Origin: $U" --data-urlencode username=bob --data-urlencode "password=$(pw bob)" $U/login)
check "after 6 failures in a minute, even bob's right password waits (429, Retry-After)" \
        test "$(code "$out")" = 429 -a -n "$(grep -i '^retry-after: [0-9]' <<<"$out")"
start=$(date +%s%N)
sbx python3 - <<'EOF'
# A thousand guesses for one user on parallel connections: all held back,
# none reaches PAM (which would take its failure delay each).
import http.client, ssl, threading, urllib.parse
ctx = ssl._create_unverified_context()
codes = {}
def guess(n):
    for i in range(n):
        c = http.client.HTTPSConnection("127.0.0.1", 8443, context=ctx, timeout=30)
        body = urllib.parse.urlencode({"username": "bob", "password": "guess%d" % i})
        c.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://127.0.0.1:8443"})
        s = c.getresponse().status
        codes[s] = codes.get(s, 0) + 1
        c.close()
ts = [threading.Thread(target=guess, args=(100,)) for _ in range(10)]
[t.start() for t in ts]
[t.join() for t in ts]
open("/run/login-test/flood", "w").write(repr(codes))
EOF
flood=$(sbx cat $J/flood)
echo "  (answers to 1000 parallel guesses: $flood)"
check "1000 parallel guesses: held back (429) but a few, no error" \
        sbx python3 -c "import sys; c = eval(sys.argv[1]); sys.exit(not (c.get(429, 0) >= 990 and set(c) <= {401, 429}))" "$flood"
echo "  (1000 held-back guesses took $(( ($(date +%s%N) - start) / 1000000 )) ms)"
check "sdflowd is still up and answering" test "$(sbx curl -s --unix-socket /run/sdflow/api.sock http://x/healthz)" = ok
check "guesses from 127.0.0.1 hold that address back, for alice too (429)" test "$(login alice "$(pw alice)" $J/x)" = 429
check "alice from another address is not held back by bob's guesses" \
        test "$(login alice "$(pw alice)" $J/alice2 https://10.9.9.9:8443)" = 303

# ---- a flood through the front door leaves the local socket to its users ---------------------
sbx sh -c "cat >$J/flood.py" <<'EOF'
# C keep-alive clients on an unauthenticated front-door path (plain HTTP
# from loopback: the fastest way in), while bob's CLI-like probes use the
# local socket: how many of them fail.
import socket, subprocess, sys, threading, time
C, D = int(sys.argv[1]), float(sys.argv[2])
stop = time.time() + D
counts, lock = {}, threading.Lock()
def client():
    while time.time() < stop:
        try:
            s = socket.create_connection(("127.0.0.1", 8080), timeout=15)
            f = s.makefile("rb")
            for _ in range(50):
                if time.time() > stop:
                    break
                s.sendall(b"GET /api/whoami HTTP/1.1\r\nHost: x\r\n\r\n")
                code = (f.readline().split() + [b"?", b"?"])[1].decode()
                cl = 0
                while True:
                    h = f.readline()
                    if h in (b"\r\n", b""):
                        break
                    if h.lower().startswith(b"content-length:"):
                        cl = int(h.split(b":")[1])
                f.read(cl)
                with lock:
                    counts[code] = counts.get(code, 0) + 1
            s.close()
        except Exception as e:
            with lock:
                counts[type(e).__name__] = counts.get(type(e).__name__, 0) + 1
ts = [threading.Thread(target=client, daemon=True) for _ in range(C)]
[t.start() for t in ts]
time.sleep(1)
probes = fails = 0
while time.time() < stop:
    r = subprocess.run(["runuser", "-u", "bob", "--", "curl", "-s", "-o", "/dev/null", "-m", "5", "-w", "%{http_code}",
                        "--unix-socket", "/run/sdflow/api.sock", "http://x/apis/kubeflow.org/v1/profiles"],
                       capture_output=True, text=True)
    probes += 1
    fails += r.stdout != "200"
    time.sleep(0.2)
[t.join() for t in ts]
open("/run/login-test/frontflood", "w").write("%d %d %r" % (probes, fails, counts))
EOF
sbx python3 $J/flood.py 400 12
read -r probes fails answers < <(sbx cat $J/frontflood)
echo "  (400 clients on the front door for 12 s: $answers; bob's $probes probes of the local socket, $fails failed)"
check "a flood of 400 clients through the gateway: bob's requests on the local socket are all answered" \
        test "$fails" = 0 -a "$probes" -ge 5
check "... and models on 8080 too" test "$(sbx curl -s -m 5 http://127.0.0.1:8080/healthz)" = ok

# ---- logout, revocation, expiry ------------------------------------------------------------------
out=$(c -b $J/alice2 -H "Origin: https://10.9.9.9:8443" -X POST https://10.9.9.9:8443/logout)
check "POST /logout: 303 to /login" test "$(code "$out")" = 303
out=$(c -b $J/alice2 https://10.9.9.9:8443/api/whoami)
check "after logout the session gets 401" test "$(code "$out")" = 401
id=$(sbx curl -s --unix-socket /run/sdflow/api.sock http://x/api/sessions | grep -o '"id":"[0-9a-f]*","user":"carol"' | head -n1 | cut -d'"' -f4)
check "an admin lists sessions with their ids" test ${#id} = 12
out=$(sbx curl -s -w '\n%{http_code}' --unix-socket /run/sdflow/api.sock -X DELETE http://x/api/sessions/$id)
check "... and revokes carol's" test "$(code "$out")" = 200
out=$(c -b $J/carol $U/api/whoami)
check "carol's revoked session gets 401" test "$(code "$out")" = 401
out=$(sbx runuser -u bob -- curl -s -w '\n%{http_code}' --unix-socket /run/sdflow/api.sock http://x/api/sessions)
check "bob lists only his own sessions" test -z "$(grep -E 'alice|carol' <<<"$out")"
sbx sh -c 'printf "SessionIdleTimeoutSec=2\n" >>/etc/sdflow/sdflowd.conf && systemctl restart sdflowd.service'
check "alice logs in again" test "$(login alice "$(pw alice)" $J/alice3)" = 303
check "... her session works" test "$(code "$(c -b $J/alice3 $U/api/whoami)")" = 200
sleep 3
check "after the idle timeout it gets 401" test "$(code "$(c -b $J/alice3 $U/api/whoami)")" = 401
# The absolute lifetime: a session used every half second still ends.
sbx sh -c 'sed -i "/^SessionIdleTimeoutSec=/d" /etc/sdflow/sdflowd.conf && printf "SessionLifetimeSec=3\n" >>/etc/sdflow/sdflowd.conf && systemctl restart sdflowd.service'
check "alice logs in once more" test "$(login alice "$(pw alice)" $J/alice4)" = 303
v=$(sbx sh -c "grep sdflow_session $J/alice4 | cut -f7")
codes=""
# The cookie by hand: curl's jar would drop it at its Max-Age by itself.
for i in $(seq 10); do codes="$codes $(code "$(c -H "Cookie: __Host-sdflow_session=$v" $U/api/whoami)")"; sleep 0.5; done
echo "  (whoami every 0.5 s with SessionLifetimeSec=3:$codes)"
check "in use, the session works until its lifetime ends, then gets 401" \
        bash -c "[[ '$codes' == ' 200'* && '$codes' == *'401' && '$codes' != *'401 200'* ]]"

# ---- nothing secret in the journal ----------------------------------------------------------------
journal_must_not_have "pw-(alice|bob|carol|dave|erin)-S3cret|${cookie:-no-cookie}|${token:-no-token}" "a password, session id or token in the journal:"
journal_must_not_have "sdflowd.service: Main process exited, code=(killed|dumped)" "sdflowd crashed:"
finish
