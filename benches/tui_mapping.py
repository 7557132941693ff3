#!/usr/bin/env python3
"""The TUI with a large input variable (not a test; run by hand; issue 10 §1): a service prints
N lines while wfop's TUI runs in a tmux pane, once with the service selected and an input
mapping `n = count(data)` over a ~4.3 MB input `data`, once without a mapping. Reports the wall
time from wfop's start to the finished screen, wfop's CPU (user+sys) and peak RSS (VmHWM).

Usage: benches/tui_mapping.py [LINES] [WFOP]   (default 100000 and target/release/wfop, built
first when not given; needs tmux)
"""
import json, os, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "common"))
from tui_run import tui_run, vm_hwm_mib, wfop_binary, workflow, write_flood_service, write_input

LINES = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
WFOP = wfop_binary(2)
HZ = os.sysconf("SC_CLK_TCK")
TMP = tempfile.mkdtemp()

input_size = write_input(os.path.join(TMP, "input.json"))
write_flood_service(os.path.join(TMP, "svc.py"), LINES)


def one(mapped):
    name = "mapped" if mapped else "plain"
    command = [sys.executable, os.path.join(TMP, "svc.py")]
    json.dump(workflow("flood", command, mapped), open(os.path.join(TMP, name + ".json"), "w"))
    args = [name + ".json", "--input", "input.json", "--state-dir", "state"]
    with tui_run(TMP, WFOP, args, f"wfop-mapping-{os.getpid()}") as (pid, screen, wall):
        st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        cpu = (int(st[11]) + int(st[12])) / HZ
        ok = "succeeded in" in screen
        print(f"{name:7} {LINES} lines: wall {wall:6.1f} s  cpu {cpu:6.1f} s  "
              f"VmHWM {vm_hwm_mib(pid):6.1f} MiB  ({'succeeded' if ok else 'FAILED'})")


print(f"input: {input_size / 1e6:.1f} MB; wfop: {WFOP}")
one(False)
one(True)
