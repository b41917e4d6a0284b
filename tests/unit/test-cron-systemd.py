#!/usr/bin/python3
"""test-cron-systemd.py: the cron translation against systemd itself.

For each schedule (a fixed list plus random ones), the next 40 times after
several base times are computed twice: by systemd-analyze calendar from the
OnCalendar= events that test-cron --print makes, and by brute force from the
cron schedule's plain meaning (Vixie cron: a day matching either the day of
month or the day of week when both are restricted).  They must be equal.

    test-cron-systemd.py TEST-CRON-BINARY
"""
import datetime as dt
import os
import random
import re
import subprocess
import sys

ITER = 40
BASES = ["2026-01-01 00:00:00", "2026-02-27 23:59:30", "2028-02-28 12:00:00"]
FIXED = ["5,10/20 * * * *", "0 0 * * sun,7", "0 12 1 jan-mar,dec *", "* * * * *", "*/5 * * * *", "30 2 * * *", "0 9-17 * * 1-5", "0 9-17/2 * * MON-FRI",
         "15,45 */6 * * *", "0 0 * * 7", "0 0 * * 5-7", "0 12 * JAN,jul *", "0 0 */2 * *",
         "5 4 10/10 * *", "0 0 13 * 5", "30 6 1,15 * MON", "0 0 */10 * 1", "0 0 31 * *",
         "0 0 29 2 *", "@yearly", "@monthly", "@weekly", "@hourly", "0 0 30 */2 *"]
MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
DAYS = "sun mon tue wed thu fri sat".split()


def expand(text, lo, hi, names=None, dow=False):
    out = set()
    for item in text.split(","):
        step, stepped = 1, "/" in item
        if stepped:
            item, s = item.split("/")
            step = int(s)

        def val(t):
            if t.isdigit():
                return int(t)
            return names.index(t.lower()[:3]) + (0 if dow else 1)
        top = 6 if dow else hi
        if item == "*":
            a, b = lo, top
        elif "-" in item:
            a, b = (val(x) for x in item.split("-"))
        else:
            a = val(item)
            b = top if stepped else a  # a/n: from a to the end, every n
        out.update(0 if dow and v == 7 else v for v in range(a, b + 1, step))
    return out


def parse(schedule):
    macros = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
              "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
    f = macros.get(schedule, schedule).split()
    return (expand(f[0], 0, 59), expand(f[1], 0, 23), expand(f[2], 1, 31), expand(f[3], 1, 12, MONTHS),
            {v % 7 for v in expand(f[4], 0, 7, DAYS, dow=True)}, f[2].startswith("*"), f[4].startswith("*"))


def brute(schedule, base):
    mi, ho, dom, mo, dow, dom_any, dow_any = parse(schedule)
    t = base.replace(second=0) + dt.timedelta(minutes=1)
    out = []
    limit = base + dt.timedelta(days=366 * 400)
    while len(out) < ITER and t < limit:
        if t.month not in mo:
            t = (t.replace(day=1, hour=0, minute=0) + dt.timedelta(days=32)).replace(day=1)
            continue
        d_ok = t.day in dom
        w_ok = (t.isoweekday() % 7) in dow
        day = (d_ok or w_ok) if not dom_any and not dow_any else (d_ok and w_ok)
        if not day:
            t = t.replace(hour=0, minute=0) + dt.timedelta(days=1)
            continue
        if t.hour not in ho:
            t = t.replace(minute=0) + dt.timedelta(hours=1)
            continue
        if t.minute in mi:
            out.append(t)
        t += dt.timedelta(minutes=1)
    return out


def systemd(events, base):
    times = set()
    for ev in events:
        p = subprocess.run(["systemd-analyze", "calendar", f"--iterations={ITER}", f"--base-time={base} UTC", ev],
                           capture_output=True, text=True, env=dict(os.environ, TZ="UTC"), check=True)
        for m in re.finditer(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", p.stdout):
            times.add(dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"))
    return sorted(times)[:ITER]


def random_schedule(rng):
    def field(lo, hi):
        k = rng.random()
        if k < 0.3:
            return "*"
        if k < 0.45:
            return f"*/{rng.randint(2, max(2, (hi - lo) // 2))}"
        if k < 0.65:
            a = rng.randint(lo, hi)
            b = rng.randint(a, hi)
            return f"{a}-{b}" + (f"/{rng.randint(1, 4)}" if rng.random() < 0.3 else "")
        return ",".join(str(v) for v in sorted(rng.sample(range(lo, hi + 1), rng.randint(1, 3))))
    return " ".join([field(0, 59), field(0, 23), field(1, 31), field(1, 12), field(0, 6)])


def main():
    binary = sys.argv[1]
    rng = random.Random(4)
    schedules = FIXED + [random_schedule(rng) for _ in range(40)]
    p = subprocess.run([binary, "--print", *schedules], capture_output=True, text=True, check=True)
    blocks = p.stdout.split("\n\n")
    fails = 0
    for schedule, block in zip(schedules, blocks):
        events = [line for line in block.strip().split("\n") if line]
        for b in BASES:
            base = dt.datetime.strptime(b, "%Y-%m-%d %H:%M:%S")
            want, got = brute(schedule, base), systemd(events, b)
            if want != got:
                fails += 1
                print(f"'{schedule}' -> {events} from {b}: systemd {got[:3]}..., cron {want[:3]}...")
    print(f"cron vs systemd: {len(schedules)} schedules x {len(BASES)} base times, {fails} differ")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
