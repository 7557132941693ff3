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
import json, os, re, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "common"))
from tui_run import tui_run, vm_hwm_mib, wfop_binary, workflow, write_flood_service, write_input

LINES = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
WFOP = wfop_binary(2)
TMP = tempfile.mkdtemp()

INPUT_MB = write_input(os.path.join(TMP, "big.json")) / 2**20
write_input(os.path.join(TMP, "empty.json"), objects=0)
write_flood_service(os.path.join(TMP, "svc.py"), LINES)


def workflow_file(name, mapped, command):
    path = os.path.join(TMP, name + ".json")
    json.dump(workflow("svc", command, mapped), open(path, "w"))
    return path


def plain(mapped, inp):
    wf = workflow_file("plain", mapped, ["true"])
    r = subprocess.run(["/usr/bin/time", "-v", WFOP, "run", wf, "--plain", "--input",
                        os.path.join(TMP, inp), "--state-dir", os.path.join(TMP, "state")],
                       capture_output=True, text=True, cwd=TMP)
    if r.returncode != 0:
        sys.exit(f"wfop run --plain failed:\n{r.stdout}\n{r.stderr}")
    kb = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1)
    return int(kb) / 1024


def tui(mapped, inp):
    wf = workflow_file("tui", mapped, [sys.executable, os.path.join(TMP, "svc.py")])
    args = [wf, "--input", inp, "--state-dir", "state"]
    with tui_run(TMP, WFOP, args, f"wfop-memory-{os.getpid()}") as (pid, screen, _):
        if "succeeded in" not in screen:
            sys.exit("the TUI run failed:\n" + screen)
        return vm_hwm_mib(pid)


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
