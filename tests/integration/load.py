#!/usr/bin/python3
"""load.py: concurrent HTTP/1.1 clients for the serving scenarios.

    load.py --url http://127.0.0.1:8080/PATH --host HOST --body FILE
            --concurrency N --requests M [--key PYTHON-EXPR]

M requests in all over N keep-alive connections (one thread each), all
started together.  Prints one JSON object: "status" (count per HTTP status)
and "answers" (count per distinct answer: the body, or KEY evaluated with
`j` bound to the parsed JSON body).
"""
import argparse
import collections
import http.client
import json
import threading
import urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--host")
ap.add_argument("--body", required=True)
ap.add_argument("--concurrency", type=int, default=1)
ap.add_argument("--requests", type=int, default=1)
ap.add_argument("--key")
ap.add_argument("--header", action="append", default=[])
a = ap.parse_args()
u = urllib.parse.urlsplit(a.url)
body = open(a.body, "rb").read()
headers = {"Content-Type": "application/json"}
if a.host:
    headers["Host"] = a.host
for h in a.header:
    k, v = h.split(":", 1)
    headers[k.strip()] = v.strip()
status, answers = collections.Counter(), collections.Counter()
lock = threading.Lock()
start = threading.Barrier(a.concurrency)


def worker(n):
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=120)
    start.wait()
    for _ in range(n):
        try:
            conn.request("POST", u.path, body, headers)
            r = conn.getresponse()
            data = r.read()
            code = r.status
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException) as e:
            code, data = "error", repr(e).encode()
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=120)
        key = data.decode(errors="replace")
        if a.key and code == 200:
            try:
                key = str(eval(a.key, {"j": json.loads(data)}))
            except Exception as e:  # an answer the key does not fit is its own answer
                key = f"unparsable: {e}"
        with lock:
            status[str(code)] += 1
            answers[key] += 1
    conn.close()


per = [a.requests // a.concurrency + (1 if i < a.requests % a.concurrency else 0) for i in range(a.concurrency)]
threads = [threading.Thread(target=worker, args=(n,)) for n in per]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"status": status, "answers": answers}))
