#!/usr/bin/python3
"""http-abuse.py ADDR: malformed, oversized, slow and vanishing clients
against an sdflow daemon at ADDR (a Unix socket path or HOST:PORT).
Prints "ok: ..." / "not ok: ..." lines; exits 1 if any check failed.
Expects the daemon configured with MaxHeaderBytes=4K, MaxBodyBytes=64K and
RequestTimeoutSec=2s."""
import socket
import sys
import time

ADDR = sys.argv[1]
failed = 0


def connect():
    if ADDR.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(ADDR)
    else:
        host, port = ADDR.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    s.settimeout(10)
    return s


def read_all(s):
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def check(what, cond, detail=""):
    global failed
    if cond:
        print("ok:", what)
    else:
        failed += 1
        print("not ok:", what, detail)


def exchange(raw, close_after_send=False):
    s = connect()
    try:
        s.sendall(raw)
    except (BrokenPipeError, ConnectionResetError):
        pass
    if close_after_send:
        s.shutdown(socket.SHUT_WR)
    r = read_all(s)
    s.close()
    return r


def status_of(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def healthy():
    r = exchange(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    return status_of(r) == 200 and r.endswith(b"ok\n")


cases = [
    ("garbage request line", b"HELLO\r\n\r\n", 400, b"malformed request line"),
    ("missing Host", b"GET /healthz HTTP/1.1\r\n\r\n", 400, b"missing Host header"),
    ("header name with space", b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", 400,
     b"invalid character in header name"),
    ("request smuggling CL+TE", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, b"both Content-Length and Transfer-Encoding"),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, b"unsupported HTTP version"),
    ("gzip transfer coding", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
     b"unsupported Transfer-Encoding"),
    ("header over MaxHeaderBytes", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8192 + b"\r\n\r\n", 431,
     b"request head too large"),
    ("Content-Length over MaxBodyBytes", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n", 413,
     b"exceeds the limit of 65536 bytes"),
    ("chunked body over MaxBodyBytes", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     + b"8000\r\n" + b"z" * 0x8000 + b"\r\n" + b"8000\r\n" + b"z" * 0x8000 + b"\r\n" + b"10\r\n" + b"z" * 16 + b"\r\n",
     413, b"exceeds the limit"),
    ("bad chunk size", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
     b"malformed chunked body"),
    ("unknown path", b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404, b'"code":404'),
]
for what, raw, want, text in cases:
    r = exchange(raw)
    check(f"{what}: {want}", status_of(r) == want and text in r, repr(r[:200]))
    check(f"{what}: error body is JSON", b'{"error":' in r or want == 404, repr(r[:200]))

# Slow clients (slowloris): they get 408 after RequestTimeoutSec while others are served.
slow = []
for i in range(50):
    s = connect()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHo")
    slow.append(s)
check("served while 50 slow clients hang", healthy())
t0 = time.monotonic()
answers = [read_all(s) for s in slow]
elapsed = time.monotonic() - t0
check("slow clients get 408", all(status_of(a) == 408 for a in answers),
      repr([a[:40] for a in answers if status_of(a) != 408][:3]))
print(f"info: slow clients released after {elapsed:.1f} s")
for s in slow:
    s.close()

# A body that never completes.
s = connect()
s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-part")
r = read_all(s)
check("incomplete body gets 408", status_of(r) == 408, repr(r[:100]))
s.close()

# Clients that vanish mid-request or before reading the answer.
for i in range(20):
    s = connect()
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    s.close()
    s = connect()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 50)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
check("served after vanishing clients", healthy())

# Keep-alive and pipelining still work.
s = connect()
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 3 + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
r = read_all(s)
check("4 pipelined requests, 4 answers", r.count(b"HTTP/1.1 200 OK") == 4, repr(r[:200]))
sys.exit(1 if failed else 0)
