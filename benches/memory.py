#!/usr/bin/env python3
"""Peak memory with a large `--input` (not a test; run by hand or by benches/run_all.sh; issue 10:
"memory within a small multiple of the input size"). The input of issue 10: `data`, 82 000
small objects, about 4.3 MB of JSON text. Each case runs twice, once with that input and once
with `data` empty (the baseline: the binary, the runtime, the TUI's log buffer); the difference
is what the input costs, shown as a multiple of its text.

  line mode: `wfop run --plain`, one service `true`; peak RSS from `/usr/bin/time -v`
  TUI:       the TUI in a 120x40 tmux pane, one service printing LINES log lines, selected;
             peak RSS from /proc/<pid>/status VmHWM

Both without an input mapping (the service gets every variable on stdin) and with `n =
count(data)` (the mapping reads the whole input: it is parsed while it is read).

Usage: benches/memory.py [LINES] [WFOP]   (default 100000 and target/release/wfop, built first
when not given; needs tmux and /usr/bin/time)
"""
import json, os, re, shlex, subprocess, sys, tempfile, time

LINES = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if len(sys.argv) > 2:
    WFOP = os.path.abspath(sys.argv[2])
else:
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    WFOP = os.path.join(ROOT, "target/release/wfop")
TMP = tempfile.mkdtemp()

data = [{"id": i, "name": "sample-%06d" % i, "ok": i % 3 == 0} for i in range(82000)]
with open(os.path.join(TMP, "big.json"), "w") as f:
    json.dump({"data": data}, f)
with open(os.path.join(TMP, "empty.json"), "w") as f:
    json.dump({"data": []}, f)
INPUT_MB = os.path.getsize(os.path.join(TMP, "big.json")) / 2**20

open(os.path.join(TMP, "svc.py"), "w").write(f"""
import sys
w = sys.stdout.write
for n in range({LINES}):
    w("2024-06-28T15:30:12Z INFO worker-3 processed shot batch %d: ok, 1024 counts\\n" % n)
sys.stdout.flush()
""")


def workflow(name, mapped, command):
    node = {"id": "svc", "type": "service", "run": {"command": command}}
    if mapped:
        node["input_mapping"] = [{"name": "n", "value": "count(data)"}]
    wf = {"name": "memory", "inputs": {"data": {}},
          "nodes": [{"id": "start", "type": "start"}, node, {"id": "end", "type": "end"}],
          "edges": [{"from": "start", "to": "svc"}, {"from": "svc", "to": "end"}]}
    path = os.path.join(TMP, name + ".json")
    json.dump(wf, open(path, "w"))
    return path


def plain(mapped, inp):
    wf = workflow("plain", mapped, ["true"])
    r = subprocess.run(["/usr/bin/time", "-v", WFOP, "run", wf, "--plain", "--input",
                        os.path.join(TMP, inp), "--state-dir", os.path.join(TMP, "state")],
                       capture_output=True, text=True, cwd=TMP)
    if r.returncode != 0:
        sys.exit(f"wfop run --plain failed:\n{r.stdout}\n{r.stderr}")
    kb = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1)
    return int(kb) / 1024


SOCK = f"wfop-memory-{os.getpid()}"


def tmux(*args):
    return subprocess.run(["tmux", "-L", SOCK, *args], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "TMUX"}).stdout


def tui(mapped, inp):
    wf = workflow("tui", mapped, [sys.executable, os.path.join(TMP, "svc.py")])
    pidfile = os.path.join(TMP, "tui.pid")
    if os.path.exists(pidfile):
        os.remove(pidfile)
    cmd = (f"cd {shlex.quote(TMP)} && sh -c 'echo $$ > tui.pid; exec \"$0\" \"$@\"' "
           f"{shlex.quote(WFOP)} run {shlex.quote(wf)} --input {inp} --state-dir state; sleep 600")
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
        if "succeeded in" not in s:
            sys.exit("the TUI run failed:\n" + s)
        hwm = [l for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM")][0].split()[1]
        tmux("send-keys", "q")
        return int(hwm) / 1024
    finally:
        tmux("kill-server")


print(f"input: {INPUT_MB:.1f} MiB of JSON text (82 000 objects); wfop: {WFOP}; "
      f"TUI: {LINES} log lines")
print(f"{'case':28} {'baseline':>9} {'with input':>11} {'input costs':>12} {'multiple':>9}")
for label, run in [("line mode", plain), ("TUI", tui)]:
    for mapped in (False, True):
        base = run(mapped, "empty.json")
        big = run(mapped, "big.json")
        case = f"{label}, {'n = count(data)' if mapped else 'no mapping'}"
        print(f"{case:28} {base:7.1f} MiB {big:9.1f} MiB {big - base:8.1f} MiB "
              f"{(big - base) / INPUT_MB:8.1f}x")
