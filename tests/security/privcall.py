#!/usr/bin/python3
"""privcall.py: crafted calls to sdflow-privd, as a compromised sdflowd would
send them (tests/security/test-privsep.sh).

  privcall.py SOCKET NS_USER NS_SLICE CASE

Sends the call CASE names over the peer-to-peer D-Bus connection on SOCKET
and prints one line: "accepted JOB" (exit 0), "refused ERROR: MESSAGE"
(exit 3) or "failed ERROR: MESSAGE" (exit 4: an error that is not a
refusal).  Each case but "valid", "valid-long" and "valid-stop" breaks one rule of
sdflow-privd(8)."""
import sys

import dbus

sock, ns_user, ns_slice, case = sys.argv[1:5]

B = lambda v: dbus.Boolean(v, variant_level=1)
S = lambda v: dbus.String(v, variant_level=1)
T = lambda v: dbus.UInt64(v, variant_level=1)
AS = lambda v: dbus.Array(v, signature="s", variant_level=1)


def exec_start(path, *argv):
    return dbus.Array([dbus.Struct((path, dbus.Array([path, *argv], signature="s"), False))],
                      signature="(sasb)", variant_level=1)


def binds(*pairs):
    return dbus.Array([dbus.Struct((a, b, False, dbus.UInt64(0))) for a, b in pairs],
                      signature="(ssbt)", variant_level=1)


def sandboxed(user=ns_user, slice_=ns_slice, argv=("/bin/true",)):
    """A workload service that privd must accept: the mandatory sandbox."""
    return [
        ("Description", S("privsep test")),
        ("Type", S("oneshot")),
        ("User", S(user)),
        ("Slice", S(slice_)),
        ("NoNewPrivileges", B(True)),
        ("CapabilityBoundingSet", T(0)),
        ("ProtectSystem", S("strict")),
        ("ProtectHome", S("yes")),
        ("PrivateTmp", B(True)),
        ("PrivateDevices", B(True)),
        ("PrivateNetwork", B(True)),
        ("ExecStart", exec_start(*argv)),
    ]


def without(props, name):
    return [p for p in props if p[0] != name]


def replace(props, name, value):
    return [(n, value if n == name else v) for n, v in props]


NAME = "sdflowwf_privsep_%s.service" % case.replace("-", "_")
HELPER = "/usr/lib/sdflow/sdflow-ns"
root_helper = [
    ("Description", S("helper")),
    ("Type", S("oneshot")),
    ("ExecStart", exec_start(HELPER, "chpasswd", ns_user)),
]

# case: (method, unit, properties, auxiliary units)
cases = {
    "valid": ("start", NAME, sandboxed(), []),
    "valid-long": ("start", NAME, replace(sandboxed(argv=("/bin/sleep", "300")), "Type", S("simple")), []),
    "root-user": ("start", NAME, replace(sandboxed(), "User", S("root")), []),
    "uid-0": ("start", NAME, replace(sandboxed(), "User", S("0")), []),
    "no-user": ("start", NAME, without(sandboxed(), "User"), []),
    "user-twice": ("start", NAME, sandboxed() + [("User", S("root"))], []),
    "other-user": ("start", NAME, replace(sandboxed(), "User", S("sdflowd")), []),
    "system-slice": ("start", NAME, replace(sandboxed(), "Slice", S("system.slice")), []),
    "sdflow-slice": ("start", NAME, replace(sandboxed(), "Slice", S("sdflow.slice")), []),
    "no-slice": ("start", NAME, without(sandboxed(), "Slice"), []),
    "no-nnp": ("start", NAME, without(sandboxed(), "NoNewPrivileges"), []),
    "nnp-false": ("start", NAME, replace(sandboxed(), "NoNewPrivileges", B(False)), []),
    "caps": ("start", NAME, replace(sandboxed(), "CapabilityBoundingSet", T(1 << 21)), []),
    "no-caps-prop": ("start", NAME, without(sandboxed(), "CapabilityBoundingSet"), []),
    "protect-system-full": ("start", NAME, replace(sandboxed(), "ProtectSystem", S("full")), []),
    "no-private-network": ("start", NAME, without(sandboxed(), "PrivateNetwork"), []),
    "no-private-tmp": ("start", NAME, without(sandboxed(), "PrivateTmp"), []),
    "bind-shadow": ("start", NAME, sandboxed() + [("BindReadOnlyPaths", binds(("/etc/shadow", "/x")))], []),
    "root-directory": ("start", NAME, sandboxed() + [("RootDirectory", S("/"))], []),
    "read-write-etc": ("start", NAME, sandboxed() + [("ReadWritePaths", AS(["/etc"]))], []),
    "unknown-property": ("start", NAME, sandboxed() + [("ExecStartPre", exec_start("/bin/true"))], []),
    "ambient-caps": ("start", NAME, sandboxed() + [("AmbientCapabilities", T(1 << 21))], []),
    "wrong-type": ("start", NAME, replace(sandboxed(), "User", dbus.UInt32(0, variant_level=1)), []),
    "relative-exec": ("start", NAME, replace(sandboxed(), "ExecStart", exec_start("bin/true")), []),
    "other-name": ("start", "privsep-evil.service", sandboxed(), []),
    "root-helper-verb": ("start", "sdflow-ns-privsep.service", root_helper, []),
    "root-shell": ("start", "sdflow-ns-privsep.service",
                   replace(root_helper, "ExecStart", exec_start("/bin/sh", "-c", "id > /run/pwned")), []),
    # A replica's socket, valid, whose service runs as root.
    "aux-root": ("start", "sdflow_privsep_aux.socket",
                 [("Description", S("privsep test")), ("Slice", S(ns_slice)),
                  ("Listen", dbus.Array([dbus.Struct(("Stream", "/run/sdflow/ns/%s/privsep.sock" % ns_user[len("sdflow-"):]))],
                                        signature="(ss)", variant_level=1))],
                 [("sdflow_privsep_aux.service", replace(sandboxed(), "User", S("root")))]),
    "stop-sdflowd": ("stop", "sdflowd.service", None, None),
    "stop-dbus": ("stop", "dbus.service", None, None),
    "set-sdflowd": ("set", "sdflowd.service", [("MemoryMax", T(1 << 20))], None),
    "valid-stop": ("stop", NAME.replace("valid_stop", "valid_long"), None, None),
}

method, unit, props, aux = cases[case]
conn = dbus.connection.Connection("unix:path=" + sock)
systemd = ("org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager")
try:
    if method == "start":
        aux_arg = dbus.Array([dbus.Struct((n, dbus.Array([dbus.Struct(p) for p in ps], signature="(sv)")))
                              for n, ps in aux], signature="(sa(sv))")
        job = conn.call_blocking(*systemd, "StartTransientUnit", "ssa(sv)a(sa(sv))",
                                 (unit, "fail", dbus.Array([dbus.Struct(p) for p in props], signature="(sv)"),
                                  aux_arg))
    elif method == "set":
        job = conn.call_blocking(*systemd, "SetUnitProperties", "sba(sv)",
                                 (unit, True, dbus.Array([dbus.Struct(p) for p in props], signature="(sv)")))
    else:
        job = conn.call_blocking(*systemd, "StopUnit", "ss", (unit, "replace"))
    print("accepted", job)
except dbus.exceptions.DBusException as e:
    kind = "refused" if e.get_dbus_name() == "org.sdflow.Privileged1.Refused" else "failed"
    print(kind, "%s: %s" % (e.get_dbus_name(), e.get_dbus_message()))
    sys.exit(3 if kind == "refused" else 4)
