#!/usr/bin/env python3
"""TUI under a log flood (not a test; run by hand): a service prints lines as fast as it can
for 10 s while wfop's TUI runs in a tmux pane. Reports key latency (`?` opens the help, Esc
closes it; time until the screen shows it), wfop's CPU (user+sys over the flood) and peak RSS,
and whether the run record holds every line the service printed.

Modes: `host` (default: `wfop run` as operators get it: the TUI is a client of the run's host
process, whose CPU and RSS are reported beside the TUI's), `in-process` (`--stop-on-hangup`:
engine and TUI in one process, as before issue 14), `attach` (the run started with `--detach`,
the TUI opened with `wfop attach`).

Options (issue 15): `--list` shows the node list instead of the graph (`v`) and `--filter TEXT`
filters the log pane (`&` TEXT Enter) before the flood is measured, so the figures hold with
them active.

`--against BIN`: BIN (the reference) and this build, interleaved, ROUNDS (2) runs each, then
their figures side by side.

Usage: benches/tui_flood.py [SECONDS] [host|in-process|attach] [--list] [--filter TEXT]
       benches/tui_flood.py [SECONDS] [MODE] --against PREVIOUS_WFOP
       (needs tmux; builds release, or measures the binary named by WFOP_BIN)
"""
import json, os, shlex, subprocess, sys, tempfile, time
import signal

# `timeout` or Ctrl-C: leave through the `finally` below, which ends the tmux server (and
# the wfop in it).
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

ARGS = sys.argv[1:]
LIST = "--list" in ARGS
FILTER = None
if "--filter" in ARGS:
    FILTER = ARGS[ARGS.index("--filter") + 1]
    del ARGS[ARGS.index("--filter"):ARGS.index("--filter") + 2]
ARGS = [a for a in ARGS if a != "--list"]
if "--against" in ARGS:
    # Side by side (issue 16): the reference build (e.g. the previous release, kept aside) and
    # this tree's build, ROUNDS times each, interleaved; each run is this script on its own.
    i = ARGS.index("--against")
    ref, rest = ARGS[i + 1], ARGS[:i] + ARGS[i + 2:]
    rounds = int(os.environ.get("ROUNDS", "2"))
    if LIST:
        rest.append("--list")
    if FILTER:
        rest += ["--filter", FILTER]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
    builds = [("reference", ref), ("this build", os.path.join(root, "target/release/wfop"))]
    got = {name: [] for name, _ in builds}
    for r in range(rounds):
        for name, binary in builds:
            out = subprocess.run([sys.executable, os.path.abspath(__file__), *rest],
                                 env={**os.environ, "WFOP_BIN": binary},
                                 capture_output=True, text=True).stdout
            print(f"--- {name} ({binary}), round {r + 1}\n{out}", end="")
            fig = lambda key: next((l for l in out.splitlines() if key in l), "")
            cpu = fig("CPU-s per million lines").rsplit(",", 1)[-1].split()[:1]
            lat = fig("latency").split("median", 1)[-1].split(" (")[0]
            got[name].append((cpu[0] if cpu else "?", lat.strip()))
    for name, _ in builds:
        print(f"{name}: CPU-s per million lines {', '.join(c for c, _ in got[name])}; "
              f"key latency median {' / '.join(l for _, l in got[name])}")
    sys.exit(0)
SECS = float(ARGS[0]) if len(ARGS) > 0 else 10.0
MODE = ARGS[1] if len(ARGS) > 1 else "host"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# WFOP_BIN: another build to measure (e.g. the previous release, kept aside), else this tree's.
WFOP = os.environ.get("WFOP_BIN")
if not WFOP:
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    WFOP = os.path.join(ROOT, "target/release/wfop")
TMP = tempfile.mkdtemp()
SOCK = f"wfop-flood-{os.getpid()}"
HZ = os.sysconf("SC_CLK_TCK")

service = f"""
import sys, time
end = time.time() + {SECS}
n = 0
w = sys.stdout.write
while time.time() < end:
    for _ in range(1000):
        w("2024-06-28T15:30:12Z INFO worker-3 processed shot batch %d: ok, 1024 counts\\n" % n)
        n += 1
sys.stdout.flush()
open(COUNTFILE, "w").write(str(n))
""".replace("COUNTFILE", repr(os.path.join(TMP, "count")))
open(os.path.join(TMP, "flood.py"), "w").write(service)
open(os.path.join(TMP, "wf.json"), "w").write("""{ "name": "flood",
  "nodes": [ { "id": "start", "type": "start" },
             { "id": "flood", "type": "service", "run": { "command": ["python3", "%s"] } },
             { "id": "end", "type": "end" } ],
  "edges": [ { "from": "start", "to": "flood" }, { "from": "flood", "to": "end" } ] }""" % os.path.join(TMP, "flood.py"))

def tmux(*args):
    return subprocess.run(["tmux", "-L", SOCK, *args], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "TMUX"}).stdout

def screen():
    return tmux("capture-pane", "-p")

W = shlex.quote(WFOP)
if MODE == "in-process":
    tail = "run wf.json --state-dir state --stop-on-hangup"
elif MODE == "attach":
    tail = "attach last --state-dir state"
    subprocess.run(f"cd {shlex.quote(TMP)} && {W} run wf.json --state-dir state --detach",
                   shell=True, check=True, capture_output=True)
else:
    tail = "run wf.json --state-dir state"
cmd = (f"cd {shlex.quote(TMP)} && sh -c 'echo $$ > pid; exec \"$0\" \"$@\"' {W} {tail}; "
       f"sleep 600")
tmux("new-session", "-d", "-x", "120", "-y", "40", "sh", "-c", cmd)
try:
    while not os.path.exists(os.path.join(TMP, "pid")):
        time.sleep(0.01)
    pid = int(open(os.path.join(TMP, "pid")).read())
    def cpu_of(p):
        f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / HZ
    def hwm_of(p):
        return int([l for l in open(f"/proc/{p}/status") if l.startswith("VmHWM")][0].split()[1])
    cpu = lambda: cpu_of(pid)
    give_up = time.time() + 60
    while "processed shot batch" not in screen():
        if time.time() > give_up:
            sys.exit("the flood did not start:\n" + screen())
        time.sleep(0.01)
    if LIST:
        tmux("send-keys", "v")
    if FILTER:
        # The filter works in the log pane: `/` (from any pane) focuses it, Esc leaves the
        # search input, then `&`.
        tmux("send-keys", "/")
        tmux("send-keys", "Escape")
        tmux("send-keys", "&")
        tmux("send-keys", "-l", FILTER)
        tmux("send-keys", "Enter")
    # The run host (not in-process): the pid its record names.
    host = None
    if MODE != "in-process":
        runs = os.path.join(TMP, "state", "runs")
        doc = json.load(open(os.path.join(runs, os.listdir(runs)[0], "run.json")))
        host = doc["pid"]
    t0, c0 = time.time(), cpu()
    # WFOP_FLOOD_PERF=FILE: a `perf record -g` of the TUI process over the flood, into FILE.
    perf = None
    if os.environ.get("WFOP_FLOOD_PERF"):
        perf = subprocess.Popen(["perf", "record", "-g", "-o", os.environ["WFOP_FLOOD_PERF"],
                                 "-p", str(pid), "--", "sleep", str(max(SECS - 2, 1))],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    h0 = cpu_of(host) if host else 0
    lat = []
    while time.time() - t0 < SECS - 1.5:
        for key, want in (("?", True), ("Escape", False)):
            s = time.time()
            tmux("send-keys", key)
            while ("keys — Esc closes" in screen()) != want:
                time.sleep(0.002)
            lat.append((time.time() - s) * 1000)
        time.sleep(0.3)
    t1, c1 = time.time(), cpu()
    h1 = cpu_of(host) if host else 0
    hwm = hwm_of(pid)
    if perf:
        perf.wait()
    host_hwm = hwm_of(host) if host else 0
    while "succeeded in" not in screen() and "failed in" not in screen():
        time.sleep(0.1)
    count = int(open(os.path.join(TMP, "count")).read())
    runs = os.path.join(TMP, "state", "runs")
    log = os.path.join(runs, os.listdir(runs)[0], "flood.log")
    recorded = sum(1 for l in open(log, "rb") if b"processed shot batch" in l)
    lat.sort()
    print(f"lines printed by the service: {count} in {SECS:.0f} s ({count / SECS:,.0f}/s)")
    print(f"lines in the record:          {recorded} ({'every line' if recorded == count else 'MISSING LINES'})")
    print(f"key -> screen latency over {len(lat)} keys: median {lat[len(lat)//2]:.0f} ms, "
          f"p90 {lat[len(lat)*9//10]:.0f} ms, max {lat[-1]:.0f} ms (includes tmux capture polling)")
    who = "wfop" if MODE == "in-process" else "TUI client"
    print(f"mode: {MODE}")
    print(f"view: {'list' if LIST else 'graph'}, log filter: {FILTER!r}")
    print(f"{who} CPU during the flood: {(c1 - c0) / (t1 - t0) * 100:.0f}% of one core, "
          f"{(c1 - c0) / (t1 - t0) / (count / SECS) * 1e6:.2f} CPU-s per million lines")
    print(f"{who} peak RSS: {hwm / 1024:.1f} MB")
    if host:
        print(f"run host CPU during the flood: {(h1 - h0) / (t1 - t0) * 100:.0f}% of one core")
        print(f"run host peak RSS: {host_hwm / 1024:.1f} MB")
finally:
    tmux("kill-server")
