#!/usr/bin/env python3
"""The TUI with a large input variable (not a test; run by hand; issue 10 §1): a service prints
N lines while wfop's TUI runs in a tmux pane, once with the service selected and an input
mapping `n = count(data)` over a ~4.3 MB input `data`, once without a mapping. Reports the wall
time from wfop's start to the finished screen, wfop's CPU (user+sys) and peak RSS (VmHWM).

Usage: benches/tui_mapping.py [LINES] [WFOP]   (default 100000 and target/release/wfop, built
first when not given; needs tmux)
"""
import json, os, shlex, subprocess, sys, tempfile, time

LINES = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if len(sys.argv) > 2:
    WFOP = os.path.abspath(sys.argv[2])
else:
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    WFOP = os.path.join(ROOT, "target/release/wfop")
HZ = os.sysconf("SC_CLK_TCK")
TMP = tempfile.mkdtemp()

data = [{"id": i, "name": "sample-%06d" % i, "ok": i % 3 == 0} for i in range(82000)]
with open(os.path.join(TMP, "input.json"), "w") as f:
    json.dump({"data": data}, f)
input_size = os.path.getsize(os.path.join(TMP, "input.json"))

service = f"""
import sys
w = sys.stdout.write
for n in range({LINES}):
    w("2024-06-28T15:30:12Z INFO worker-3 processed shot batch %d: ok, 1024 counts\\n" % n)
sys.stdout.flush()
"""
open(os.path.join(TMP, "svc.py"), "w").write(service)

def workflow(mapped):
    node = {"id": "flood", "type": "service",
            "run": {"command": [sys.executable, os.path.join(TMP, "svc.py")]}}
    if mapped:
        node["input_mapping"] = [{"name": "n", "value": "count(data)"}]
    return {"name": "mapping", "inputs": {"data": {}},
            "nodes": [{"id": "start", "type": "start"}, node, {"id": "end", "type": "end"}],
            "edges": [{"from": "start", "to": "flood"}, {"from": "flood", "to": "end"}]}

SOCK = f"wfop-mapping-{os.getpid()}"
def tmux(*args):
    return subprocess.run(["tmux", "-L", SOCK, *args], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "TMUX"}).stdout

def one(mapped):
    name = "mapped" if mapped else "plain"
    wf = os.path.join(TMP, name + ".json")
    json.dump(workflow(mapped), open(wf, "w"))
    pidfile = os.path.join(TMP, name + ".pid")
    cmd = (f"cd {shlex.quote(TMP)} && sh -c 'echo $$ > {name}.pid; exec \"$0\" \"$@\"' "
           f"{shlex.quote(WFOP)} run {name}.json --input input.json --state-dir state; sleep 600")
    t0 = time.time()
    tmux("new-session", "-d", "-x", "120", "-y", "40", "sh", "-c", cmd)
    try:
        while not os.path.exists(pidfile) or not open(pidfile).read().strip():
            time.sleep(0.005)
        pid = int(open(pidfile).read())
        while True:
            s = tmux("capture-pane", "-p")
            if "succeeded in" in s or "failed in" in s:
                break
            if time.time() - t0 > 1800:
                sys.exit("gave up after 30 min:\n" + s)
            time.sleep(0.05)
        wall = time.time() - t0
        st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        cpu = (int(st[11]) + int(st[12])) / HZ
        hwm = [l for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM")][0].split()[1]
        tmux("send-keys", "q")
        ok = "succeeded in" in s
        print(f"{name:7} {LINES} lines: wall {wall:6.1f} s  cpu {cpu:6.1f} s  "
              f"VmHWM {int(hwm) / 1024:6.1f} MiB  ({'succeeded' if ok else 'FAILED'})")
    finally:
        tmux("kill-server")

print(f"input: {input_size / 1e6:.1f} MB; wfop: {WFOP}")
one(False)
one(True)
