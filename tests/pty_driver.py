"""Runs a command in a pseudo-terminal (as its controlling terminal) and answers prompts.

Usage: python3 pty_driver.py TRANSCRIPT ANSWERS_JSON -- command args...
ANSWERS_JSON is a list of [expected_text, reply]: wait until expected_text has appeared in the
output since the last reply, then type reply followed by Enter (a reply "^C" sends Ctrl-C alone;
a reply "raw:KEYS" sends KEYS as they are, without Enter). The terminal is 120x40.
After the command ends, the terminal's echo and canonical-mode flags are written to
TRANSCRIPT.stty (`echo=1 icanon=1`), to check that the command restored them. The whole transcript is written
to TRANSCRIPT; the exit code is the command's (128+N for a signal). A liveness bound of 60 s
per step ends a hung run (exit 124).
"""
import fcntl
import json
import os
import pty
import select
import struct
import sys
import termios
import time


def main():
    transcript_path, answers = sys.argv[1], json.loads(sys.argv[2])
    argv = sys.argv[sys.argv.index("--") + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.setdefault("TERM", "xterm-256color")
        os.execvp(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    out = b""
    mark = 0

    def pump(deadline):
        nonlocal out
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.time()))
        if not r:
            return True
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        out += data
        return True

    alive = True
    for expected, reply in answers:
        deadline = time.time() + 60
        while alive and expected.encode() not in out[mark:]:
            if time.time() > deadline:
                break
            alive = pump(deadline)
        mark = len(out)
        if reply == "^C":
            os.write(fd, b"\x03")
        elif reply.startswith("raw:"):
            os.write(fd, reply[4:].encode())
        else:
            os.write(fd, reply.encode() + b"\r")
    deadline = time.time() + 60
    while alive and time.time() < deadline:
        alive = pump(deadline)
    if alive:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    try:
        lflag = termios.tcgetattr(fd)[3]
        with open(transcript_path + ".stty", "w") as f:
            f.write("echo=%d icanon=%d" % (bool(lflag & termios.ECHO), bool(lflag & termios.ICANON)))
    except termios.error:
        pass
    with open(transcript_path, "wb") as f:
        f.write(out)
    if alive:
        sys.exit(124)
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


main()
