"""What the TUI benchmarks share (benches/memory.py, benches/tui_mapping.py): the wfop binary to
measure, issue 10's large input, a service that floods its log, and wfop's TUI run in a tmux
pane until its screen says the run ended."""
import contextlib, itertools, json, os, shlex, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wfop_binary(argv_index):
    """`sys.argv[argv_index]` if given, else target/release/wfop, built first."""
    if len(sys.argv) > argv_index:
        return os.path.abspath(sys.argv[argv_index])
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target/release/wfop")


def write_input(path, objects=82000):
    """Issue 10's input: `data`, `objects` small objects (82 000: about 4.3 MB of JSON text)."""
    data = [{"id": i, "name": "sample-%06d" % i, "ok": i % 3 == 0} for i in range(objects)]
    with open(path, "w") as f:
        json.dump({"data": data}, f)
    return os.path.getsize(path)


def write_flood_service(path, lines):
    """A Python service that prints `lines` log lines as fast as it can."""
    with open(path, "w") as f:
        f.write(f"""
import sys
w = sys.stdout.write
for n in range({lines}):
    w("2024-06-28T15:30:12Z INFO worker-3 processed shot batch %d: ok, 1024 counts\\n" % n)
sys.stdout.flush()
""")


def workflow(service_id, command, mapped):
    """start → one service → end; with `mapped`, the service's mapping `n = count(data)`."""
    node = {"id": service_id, "type": "service", "run": {"command": command}}
    if mapped:
        node["input_mapping"] = [{"name": "n", "value": "count(data)"}]
    return {"name": "bench", "inputs": {"data": {}},
            "nodes": [{"id": "start", "type": "start"}, node, {"id": "end", "type": "end"}],
            "edges": [{"from": "start", "to": service_id}, {"from": service_id, "to": "end"}]}


_RUNS = itertools.count()


@contextlib.contextmanager
def tui_run(tmp, wfop, args, sock):
    """Runs `wfop run ARGS` in its TUI in a 120x40 tmux pane (on server `sock`) in `tmp`, and
    waits until the screen says the run ended. Yields (pid of wfop, the screen, the wall time
    from the start to that screen); wfop is still there, for /proc/<pid> to be read. Then quits
    it and ends the tmux server."""
    # A server of its own per run: a `kill-server` returns before the server is gone, and a
    # next run on the same socket could start in the dying server (and wait for a screen
    # that never comes).
    sock = f"{sock}-{next(_RUNS)}"

    def tmux(*a):
        return subprocess.run(["tmux", "-L", sock, *a], capture_output=True, text=True,
                              env={k: v for k, v in os.environ.items() if k != "TMUX"}).stdout
    pidfile = os.path.join(tmp, sock + ".pid")
    if os.path.exists(pidfile):
        os.remove(pidfile)
    cmd = (f"cd {shlex.quote(tmp)} && sh -c 'echo $$ > {shlex.quote(pidfile)}; "
           f"exec \"$0\" \"$@\"' {shlex.quote(wfop)} run "
           + " ".join(shlex.quote(a) for a in args) + "; sleep 600")
    t0 = time.time()
    tmux("new-session", "-d", "-x", "120", "-y", "40", "sh", "-c", cmd)
    try:
        while not os.path.exists(pidfile) or not open(pidfile).read().strip():
            time.sleep(0.005)
        pid = int(open(pidfile).read())
        while True:
            screen = tmux("capture-pane", "-p")
            if "succeeded in" in screen or "failed in" in screen:
                break
            if time.time() - t0 > 1800:
                sys.exit("gave up after 30 min:\n" + screen)
            time.sleep(0.05)
        yield pid, screen, time.time() - t0
        tmux("send-keys", "q")
    finally:
        tmux("kill-server")


def vm_hwm_mib(pid):
    """The peak resident set of `pid` so far, in MiB."""
    line = [l for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM")][0]
    return int(line.split()[1]) / 1024
