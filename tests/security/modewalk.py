#!/usr/bin/python3
# modewalk.py: run as root on a host (or sandbox) where sdflow ran; walks
# /var/lib/sdflow and /run/sdflow and prints one line per file or directory
# that is open wider than it should be, exiting 1 if there is any
# (docs/security.md).  The rules:
#   - the few shared entries have the modes listed in SHARED;
#   - a namespace's two doors, /var/lib/sdflow/ns/NS and /run/sdflow/ns/NS,
#     are root's, of the namespace's own group (no member), mode 0750, and
#     their ACL names no user but the Profile's owner and contributors (and
#     the gateway, user sdflow, on the sockets' one, and sdflowd on both);
#     behind a door, the
#     namespace's own files are not looked at;
#   - anything else is no group's or other's to read or write (sockets
#     included: the modes decide who may connect).
import grp
import json
import os
import pwd
import stat
import subprocess
import sys

SHARED = {
    "/var/lib/sdflow": (stat.S_IFDIR, 0o755, "root", "root"),
    "/var/lib/sdflow/ns": (stat.S_IFDIR, 0o711, "root", "root"),
    "/run/sdflow": (stat.S_IFDIR, 0o755, "root", "root"),
    "/run/sdflow/ns": (stat.S_IFDIR, 0o711, "root", "root"),
    # The API answers whoever connects and checks who it is (SO_PEERCRED).
    "/run/sdflow/api.sock": (stat.S_IFSOCK, 0o666, "root", "root"),
    # The gateway's route table: the gateway's (group sdflow) to read.
    "/run/sdflow/control/routes.json": (stat.S_IFREG, 0o640, "sdflowd", "sdflow"),
    # sdflowd's own (user sdflowd): its runtime files, whose directory the
    # gateway (group sdflow) reads to watch the route table with inotify,
    # and its state database.
    "/run/sdflow/control": (stat.S_IFDIR, 0o750, "sdflowd", "sdflow"),
    "/var/lib/sdflow/db": (stat.S_IFDIR, 0o700, "sdflowd", "sdflowd"),
    # sdflow-privd's socket: sdflowd's alone to connect to.
    "/run/sdflow/priv.sock": (stat.S_IFSOCK, 0o600, "sdflowd", "sdflowd"),
}
DOOR_PARENTS = ("/var/lib/sdflow/ns", "/run/sdflow/ns")

problems = []


def name_of(getter, i):
    try:
        return getter(i)[0]
    except KeyError:
        return str(i)


def profiles():
    """Namespace -> the users its ACLs may name."""
    out = subprocess.run(["sdflow", "get", "profiles", "-o", "json"], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    doc = json.loads(out.stdout)
    seen = {}
    for p in doc.get("items", [doc] if doc.get("kind") == "Profile" else []):
        ns = p["metadata"]["name"]
        users = {p.get("spec", {}).get("owner", {}).get("name")}
        users.update((p.get("status") or {}).get("contributors") or [])
        seen[ns] = {u for u in users if u}
    return seen


def acl_users(path):
    out = subprocess.run(["getfacl", "-c", "-p", "-n", path], capture_output=True, text=True)
    users = set()
    for line in out.stdout.splitlines():
        parts = line.split(":")
        if len(parts) >= 3 and parts[0] == "user" and parts[1]:
            users.add(name_of(pwd.getpwuid, int(parts[1])))
    return users


def check_door(path, ns, allowed):
    st = os.lstat(path)
    group = name_of(grp.getgrgid, st.st_gid)
    mode = stat.S_IMODE(st.st_mode)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or mode != 0o750:
        problems.append(f"{path}: a namespace's door must be a directory of root's, mode 0750 (is {mode:04o}, "
                        f"{name_of(pwd.getpwuid, st.st_uid)}:{group})")
    try:
        g = grp.getgrgid(st.st_gid)
        user = pwd.getpwnam(g.gr_name)
        if user.pw_gid != st.st_gid or not user.pw_gecos.startswith(f"sdflow namespace {ns}") or g.gr_mem:
            problems.append(f"{path}: its group {group} is not namespace {ns}'s own (members: {g.gr_mem})")
    except KeyError:
        problems.append(f"{path}: its group {group} is no namespace user's")
    if allowed == "unknown":
        return
    if allowed is None:
        problems.append(f"{path}: no Profile {ns}, yet its door is there")
        return
    # sdflowd reads steps' outputs and checks replicas' readiness behind both doors.
    extra = acl_users(path) - allowed - {"sdflowd"} - ({"sdflow"} if path.startswith("/run/") else set())
    if extra:
        problems.append(f"{path}: its ACL lets in {sorted(extra)}, who are neither owner nor contributors of {ns}")


def walk(top, nss):
    for dirpath, dirnames, filenames in os.walk(top):
        for n in list(dirnames) + filenames:
            path = os.path.join(dirpath, n)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue  # gone meanwhile (a helper's file)
            if dirpath in DOOR_PARENTS:
                if stat.S_ISDIR(st.st_mode):
                    check_door(path, n, nss.get(n) if nss is not None else "unknown")
                    dirnames.remove(n) if n in dirnames else None
                    continue
            mode = stat.S_IMODE(st.st_mode)
            if path in SHARED:
                kind, want, owner, group = SHARED[path]
                have = (stat.S_IFMT(st.st_mode), mode, name_of(pwd.getpwuid, st.st_uid), name_of(grp.getgrgid, st.st_gid))
                if have != SHARED[path]:
                    problems.append(f"{path}: should be {want:04o} {owner}:{group}, is {mode:04o} {have[2]}:{have[3]}")
                continue
            if stat.S_ISLNK(st.st_mode):
                problems.append(f"{path}: a symbolic link where sdflow makes none")
            elif mode & 0o066:
                problems.append(f"{path}: mode {mode:04o} ({name_of(pwd.getpwuid, st.st_uid)}:"
                                f"{name_of(grp.getgrgid, st.st_gid)}): open to its group or to all")


def main():
    nss = profiles()
    if nss is None:
        print("modewalk: sdflow get profiles failed; doors checked without their ACLs' users", file=sys.stderr)
    for top in ("/var/lib/sdflow", "/run/sdflow"):
        if os.path.isdir(top):
            walk(top, nss)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


main()
