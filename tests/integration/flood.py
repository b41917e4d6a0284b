#!/usr/bin/python3
"""flood.py: what a hostile local user or network client does to sdflow's
daemons, for test-availability.sh.  Prints one JSON object with what
happened.

  flood.py watches SOCKET N HOLD      N watches (timeoutSeconds=3600) on the
                                      API socket, held HOLD s: the status of each
  flood.py idle SOCKET N HOLD         N connections that send nothing, held HOLD s:
                                      how many were answered at once, and how
  flood.py halfopen HOST PORT N HOLD  N TCP connections that never finish their
                                      request head, held HOLD s (in the background
                                      of the other checks): how many the server closed
  flood.py tokens HOST PORT HOSTHDR N N requests with wrong bearer tokens on one
                                      connection: the statuses, and the time
  flood.py watchlines SOCKET PATH WAIT a watch (replaying from resourceVersion 1)
                                      read only after WAIT s: whether every line is
                                      whole JSON, and the last event's type
"""
import json
import resource
import socket
import sys
import time


def unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def status_of(s, timeout):
    """The status code of the first response on s, or None (no answer in time / closed)."""
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except (socket.timeout, ConnectionResetError, OSError):
        pass
    line = data.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[1].isdigit() else None


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(n + 100, soft), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def watches(path, n, hold):
    raise_nofile(n)
    conns, codes = [], {}
    for i in range(n):
        try:
            s = unix(path)
        except OSError as e:
            codes["connect: " + e.strerror] = codes.get("connect: " + e.strerror, 0) + 1
            continue
        s.sendall(b"GET /apis/kubeflow.org/v1/profiles?watch=1&timeoutSeconds=3600 HTTP/1.1\r\nHost: x\r\n\r\n")
        c = status_of(s, 5)
        codes[str(c)] = codes.get(str(c), 0) + 1
        conns.append(s)
    print(json.dumps({"codes": codes}), flush=True)
    time.sleep(hold)


def idle(path, n, hold):
    raise_nofile(n)
    conns, answered = [], {}
    for i in range(n):
        try:
            conns.append(unix(path))
        except OSError as e:
            answered["connect: " + e.strerror] = answered.get("connect: " + e.strerror, 0) + 1
    time.sleep(0.5)
    for s in conns:
        s.setblocking(False)
        try:
            data = s.recv(4096)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        line = data.split(b"\r\n", 1)[0].split()
        key = line[1].decode() if len(line) >= 2 else "closed"
        answered[key] = answered.get(key, 0) + 1
    print(json.dumps({"opened": len(conns), "answered": answered}), flush=True)
    time.sleep(hold)


def halfopen(host, port, n, hold):
    raise_nofile(n)
    conns, failed = [], 0
    for i in range(n):
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            conns.append(s)
        except OSError:
            failed += 1
    print(json.dumps({"opened": len(conns), "failed": failed}), flush=True)
    time.sleep(hold)
    closed = 0
    for s in conns:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    print(json.dumps({"opened": len(conns), "closed_by_server": closed}), flush=True)


def tokens(host, port, hosthdr, n):
    s = socket.create_connection((host, port), timeout=10)
    f = s.makefile("rb")
    codes, t0 = {}, time.monotonic()
    for i in range(n):
        req = ("POST /v1/models/x:predict HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer wrong-%d\r\n"
               "Content-Length: 2\r\n\r\n{}" % (hosthdr, i)).encode()
        try:
            s.sendall(req)
            line = f.readline().split()
            code = int(line[1])
            length = 0
            while True:
                h = f.readline()
                if h in (b"\r\n", b""):
                    break
                if h.lower().startswith(b"content-length:"):
                    length = int(h.split(b":")[1])
            f.read(length)
        except (OSError, IndexError, ValueError):
            codes["closed"] = codes.get("closed", 0) + 1
            s = socket.create_connection((host, port), timeout=10)
            f = s.makefile("rb")
            continue
        codes[str(code)] = codes.get(str(code), 0) + 1
    print(json.dumps({"codes": codes, "seconds": round(time.monotonic() - t0, 3)}), flush=True)


def watchlines(path, target, wait):
    s = unix(path)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target).encode())
    time.sleep(wait)  # a slow reader: the server's queue fills meanwhile
    s.settimeout(10)
    data = b""
    try:
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            data += b
    except (socket.timeout, OSError):
        pass
    head, _, body = data.partition(b"\r\n\r\n")
    # De-chunk.
    out, rest = b"", body
    whole_chunks = True
    while rest:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            whole_chunks = False
            break
        try:
            size = int(size_line, 16)
        except ValueError:
            whole_chunks = False
            break
        if size == 0:
            break
        if len(rest) < size + 2:
            whole_chunks = False
            break
        out += rest[:size]
        rest = rest[size + 2:]
    lines = [l for l in out.split(b"\n") if l]
    bad, types = 0, []
    for l in lines:
        try:
            types.append(json.loads(l)["type"])
        except (ValueError, KeyError):
            bad += 1
    print(json.dumps({"status": head.split(b"\r\n", 1)[0].decode(errors="replace"), "lines": len(lines),
                      "bad_lines": bad, "whole_chunks": whole_chunks, "last": types[-1] if types else None,
                      "bytes": len(out)}), flush=True)


cmd = sys.argv[1]
a = sys.argv[2:]
if cmd == "watches":
    watches(a[0], int(a[1]), float(a[2]))
elif cmd == "idle":
    idle(a[0], int(a[1]), float(a[2]))
elif cmd == "halfopen":
    halfopen(a[0], int(a[1]), int(a[2]), float(a[3]))
elif cmd == "tokens":
    tokens(a[0], int(a[1]), a[2], int(a[3]))
elif cmd == "watchlines":
    watchlines(a[0], a[1], float(a[2]))
else:
    sys.exit("flood.py: unknown command " + cmd)
