#!/usr/bin/env python3
"""The TUI with a 10 000-node workflow (issue 16 §5; not a test, run by hand): wfop's TUI runs a
generated workflow of N trivial services (`true`) in a 120x40 tmux pane. Reports the time from
the start to the first full screen (the graph pane drawn with its nodes), then the latency of
graph keys while the run goes on (↓ and → move the selection, the graph scrolls to follow it;
time from the key until the selected node's pane names the next node, tmux polling included), and wfop's CPU and peak RSS.

Shapes: `layered` (layers of 40, each node fed by one or two of the layer before: the
`benches/check.rs` workflow), `fanout` (start → fork → N workers → join → end), `chain`
(N services in a row).

Usage: benches/tui_scale.py [N] [layered|fanout|chain] [WFOP]
       (needs tmux; WFOP defaults to target/release/wfop, built first). The run is
       in-process (`--stop-on-hangup`), so ending the tmux server ends it.
"""
import json, os, re, shlex, subprocess, sys, tempfile, time
import signal

# `timeout` or Ctrl-C: leave through the `finally` below, which ends the tmux server (and
# the wfop in it).
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
SHAPE = sys.argv[2] if len(sys.argv) > 2 else "layered"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if len(sys.argv) > 3:
    WFOP = os.path.abspath(sys.argv[3])
else:
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    WFOP = os.path.join(ROOT, "target/release/wfop")
TMP = tempfile.mkdtemp()
SOCK = f"wfop-scale-{os.getpid()}"
HZ = os.sysconf("SC_CLK_TCK")
KEYS = 40


def workflow(shape, n):
    """The generated workflow: services run `true`."""
    svc = lambda i, label: {"id": f"s{i}", "type": "service", "label": label,
                            "run": {"command": ["true"]}}
    nodes, edges = [{"id": "start", "type": "start"}], []
    if shape == "fanout":
        nodes.append({"id": "fork", "type": "parallel"})
        edges.append({"from": "start", "to": "fork"})
        for i in range(n):
            nodes.append(svc(i, f"worker {i}"))
            edges += [{"from": "fork", "to": f"s{i}"}, {"from": f"s{i}", "to": "join"}]
        nodes.append({"id": "join", "type": "parallel"})
        edges.append({"from": "join", "to": "end"})
    elif shape == "chain":
        prev = "start"
        for i in range(n):
            nodes.append(svc(i, f"step {i}"))
            edges.append({"from": prev, "to": f"s{i}"})
            prev = f"s{i}"
        edges.append({"from": prev, "to": "end"})
    else:
        # benches/check.rs's generator: layers of 40, one or two feeds from the layer before.
        seed, mask = 0x2545F4914F6CDD1D, (1 << 64) - 1

        def rand(k):
            nonlocal seed
            seed ^= (seed << 13) & mask
            seed ^= seed >> 7
            seed ^= (seed << 17) & mask
            return seed % k
        layers = [list(range(i, min(i + 40, n))) for i in range(0, n, 40)]
        has_succ = [False] * n
        for k, layer in enumerate(layers):
            for s in layer:
                if k == 0:
                    edges.append({"from": "start", "to": f"s{s}"})
                    continue
                prev = layers[k - 1]
                a, b = prev[rand(len(prev))], prev[rand(len(prev))]
                for p in ([a] if a == b else [a, b]):
                    edges.append({"from": f"s{p}", "to": f"s{s}"})
                    has_succ[p] = True
        for k, layer in enumerate(layers):
            for s in layer:
                if not has_succ[s]:
                    to = (f"s{layers[k + 1][rand(len(layers[k + 1]))]}"
                          if k + 1 < len(layers) else "end")
                    edges.append({"from": f"s{s}", "to": to})
        nodes += [svc(i, f"Service {i}") for i in range(n)]
    nodes.append({"id": "end", "type": "end"})
    return {"name": f"{shape}-{n}", "nodes": nodes, "edges": edges}


def tmux(*args):
    return subprocess.run(["tmux", "-L", SOCK, *args], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "TMUX"}).stdout


def screen():
    return tmux("capture-pane", "-p")


def cpu_of(p):
    f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / HZ


def hwm_of(p):
    return int([l for l in open(f"/proc/{p}/status") if l.startswith("VmHWM")][0].split()[1])


json.dump(workflow(SHAPE, N), open(os.path.join(TMP, "wf.json"), "w"))
pidfile = os.path.join(TMP, "pid")
cmd = (f"cd {shlex.quote(TMP)} && sh -c 'echo $$ > pid; exec \"$0\" \"$@\"' "
       f"{shlex.quote(WFOP)} run wf.json --state-dir state --stop-on-hangup; sleep 600")


def full(s):
    """The first full screen: the graph pane's title, node boxes in it, and the key bar."""
    lines = s.splitlines()
    return (len(lines) >= 38 and any("graph" in l for l in lines[:3]) and "[" in s
            and "quit" in lines[-1])


def selected(s):
    """The title of the selected node's pane (`┌ Service 7 (s7) ──`): what a graph key moves."""
    for line in s.splitlines()[2:]:
        m = re.search(r"[┌+][ -](.*\((?:s\d+|start|end|fork|join)\))", line)
        if m:
            return m.group(1)
    return None


t0 = time.time()
tmux("new-session", "-d", "-x", "120", "-y", "40", "sh", "-c", cmd)
try:
    while not os.path.exists(pidfile) or not open(pidfile).read().strip():
        time.sleep(0.002)
    pid = int(open(pidfile).read())
    while not full(screen()):
        if time.time() - t0 > 600:
            sys.exit("no full screen after 600 s:\n" + screen())
        time.sleep(0.005)
    opened = time.time() - t0
    c0, k0 = cpu_of(pid), time.time()
    lat, stuck = [], 0
    for i in range(KEYS):
        # The first worker is selected at the start. Chain: every node is a layer of its own;
        # fan-out: down the workers; layered: to the next layer, then down it.
        if SHAPE == "chain":
            key = "Right"
        elif SHAPE == "fanout":
            key = "Down"
        else:
            key = "Right" if i % 4 == 0 else "Down"
        before = selected(screen())
        s = time.time()
        tmux("send-keys", key)
        while selected(screen()) == before:
            if time.time() - s > 5:
                stuck += 1
                break
            time.sleep(0.002)
        else:
            lat.append((time.time() - s) * 1000)
    c1, k1 = cpu_of(pid), time.time()
    lat.sort()
    print(f"workflow: {SHAPE}, {N} services ({N + 2 + (2 if SHAPE == 'fanout' else 0)} nodes)")
    print(f"start -> first full screen: {opened * 1000:.0f} ms")
    print(f"graph keys (Down, Right) -> screen over {len(lat)} keys while the run runs: "
          f"median {lat[len(lat) // 2]:.0f} ms, p90 {lat[len(lat) * 9 // 10]:.0f} ms, "
          f"max {lat[-1]:.0f} ms (includes tmux capture polling)"
          + (f"; {stuck} keys moved nothing" if stuck else ""))
    print(f"wfop CPU while the keys were sent: {(c1 - c0) / (k1 - k0) * 100:.0f}% of one core; "
          f"CPU since the start {cpu_of(pid):.2f} s; peak RSS {hwm_of(pid) / 1024:.1f} MB")
finally:
    tmux("kill-server")
