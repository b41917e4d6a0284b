#!/bin/bash
# The login form in a real browser: Debian's headless Chromium, driven by
# python3-selenium through chromedriver, inside the sandbox (where the
# gateway listens on 8443).  A wrong password shows the error; the right
# one lands on the page with the user's name and namespace; the session
# cookie is HttpOnly (scripts cannot read it); logout goes back to the form;
# hostile text in the URL is shown as text.  Screenshots go to build/.
. "$(dirname "$0")/lib.sh"
require_sandbox
require_deb
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || skip "no chromium and chromium-driver (tools/install-deps)"
/usr/bin/python3 -c 'import selenium' 2>/dev/null || skip "no python3-selenium (tools/install-deps)"
boot
install_deb
sbx systemctl enable --now sdflowd.socket sdflow-gateway.socket >/dev/null 2>&1
sbx useradd -m -s /bin/bash alice
sbx sh -c "echo 'alice:Br0wser-pw' | chpasswd"
printf 'apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata: {name: team-a}\nspec: {owner: {kind: User, name: alice}}\n' |
        sbx sdflow apply -f - >/dev/null
wait_for 10 is_state sdflow-gateway-tls.socket active
mkdir -p "$TOP/build"
shots=$TOP/build/it-login-browser
rm -rf "$shots" && mkdir -p "$shots"

out=$(sbx env HOME=/root /usr/bin/python3 - "$shots" <<'EOF' 2>&1
import sys, time
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait
from selenium.webdriver.support import expected_conditions as EC

shots = sys.argv[1]
o = webdriver.ChromeOptions()
o.binary_location = "/usr/bin/chromium"
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--ignore-certificate-errors", "--window-size=1000,760", "--user-data-dir=/run/chromium-profile"):
    o.add_argument(a)
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
wait = WebDriverWait(d, 20)
U = "https://127.0.0.1:8443"
def say(ok, what):
    print(("ok: " if ok else "not ok: ") + what, flush=True)
try:
    d.get(U + "/")
    wait.until(EC.presence_of_element_located((By.ID, "username")))
    say(d.current_url.startswith(U + "/login"), "/ without a session goes to the login form (%s)" % d.current_url)
    d.save_screenshot(shots + "/1-login.png")
    d.find_element(By.ID, "username").send_keys("alice")
    d.find_element(By.ID, "password").send_keys("wrong")
    d.find_element(By.ID, "login").click()
    err = wait.until(EC.presence_of_element_located((By.ID, "error")))
    say("Wrong user name or password" in err.text, "a wrong password shows the error: " + err.text)
    d.save_screenshot(shots + "/2-wrong.png")
    d.find_element(By.ID, "username").send_keys("alice")
    d.find_element(By.ID, "password").send_keys("Br0wser-pw")
    d.find_element(By.ID, "login").click()
    user = wait.until(EC.presence_of_element_located((By.ID, "user")))
    say(user.text == "alice", "the right password lands on the page with the user's name: " + user.text)
    say("team-a" in d.find_element(By.ID, "namespaces").text, "... and her namespace")
    d.save_screenshot(shots + "/3-home.png")
    c = d.get_cookie("__Host-sdflow_session")
    say(c is not None and c.get("httpOnly") and c.get("secure") and c.get("sameSite") == "Lax",
        "the session cookie is HttpOnly, Secure, SameSite=Lax: %r" % ({k: c.get(k) for k in ("httpOnly", "secure", "sameSite")} if c else None))
    say("sdflow_session" not in d.execute_script("return document.cookie"), "scripts cannot read it")
    d.get(U + "/api/whoami")
    say('"user":"alice"' in d.page_source, "the session works for the API (whoami)")
    d.get(U + "/")
    d.find_element(By.ID, "logout").click()
    wait.until(EC.presence_of_element_located((By.ID, "username")))
    say(d.current_url.startswith(U + "/login"), "logout goes back to the form")
    d.get(U + "/api/whoami")
    say('"code":401' in d.page_source, "after logout the API says 401")
    d.get(U + "/login?next=%2Fx%22%3E%3Cscript%3Ewindow.pwned%3D1%3C%2Fscript%3E")
    wait.until(EC.presence_of_element_located((By.ID, "username")))
    pwned = d.execute_script("return window.pwned === 1")
    nxt = d.find_element(By.NAME, "next").get_attribute("value")
    say(not pwned and "<script>" not in d.page_source.split("</style>")[1],
        "hostile text in ?next= is not markup (the form goes to %r)" % nxt)
    d.save_screenshot(shots + "/4-after-logout.png")
finally:
    d.quit()
EOF
)
while IFS= read -r line; do
        case $line in
        "ok: "*) ok "${line#ok: }" ;;
        "not ok: "*) fail "${line#not ok: }" ;;
        *) echo "  $line" ;;
        esac
done <<<"$out"
checks=$((checks + 1))
[ "$(grep -c '^ok: ' <<<"$out")" -ge 10 ] || fail "the browser session did not run through (see above)"
echo "  screenshots: $shots"
finish
