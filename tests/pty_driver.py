"""Runs a command in a pseudo-terminal (as its controlling terminal) and answers prompts.

Usage: python3 pty_driver.py TRANSCRIPT ANSWERS_JSON -- command args...
ANSWERS_JSON is a list of [expected, reply]. `expected` is text to wait for in the output since
the last reply, or one of:
  "@start"    no wait at all: the reply is typed at once, before any output is read;
  "@termios"  wait (reading no output) until the command first changes the terminal's local
              modes (echo, canonical mode, signals): the moment its prompt code took over.
The reply is typed followed by Enter; a reply "^C" sends Ctrl-C alone; "raw:KEYS" sends KEYS as
they are, without Enter (JSON escapes such as \\u001b and \\r work); "sig:NAME" sends signal NAME
(e.g. TERM) to the command; "stopped:NAME:KEYS" stops the command (SIGSTOP), types KEYS,
sends signal NAME and continues it, so the signal comes before the command could read KEYS.
Each reply is one write, as a terminal writes a paste.
The terminal is 120x40.

After the command ends:
- TRANSCRIPT.stty holds the terminal's echo and canonical-mode flags (`echo=1 icanon=1`), to
  check that the command restored them;
- TRANSCRIPT.left holds every byte still in the terminal's input queue (typed but never read),
  which a shell would read next (the driver keeps the terminal open to read them);
- TRANSCRIPT.order notes, per reply, how many output bytes had been read when it was typed and
  the local modes then (`reply N: after B bytes, echo=E`).
The whole output is written to TRANSCRIPT; the exit code is the command's (128+N for a signal).
A liveness bound of 60 s per step ends a hung run (exit 124).
"""
import fcntl
import json
import os
import select
import signal
import struct
import sys
import termios
import time


def main():
    transcript_path, answers = sys.argv[1], json.loads(sys.argv[2])
    argv = sys.argv[sys.argv.index("--") + 1:]
    fd, slave = os.openpty()
    initial_lflag = termios.tcgetattr(slave)[3]
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    pid = os.fork()
    if pid == 0:
        os.close(fd)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for i in (0, 1, 2):
            os.dup2(slave, i)
        if slave > 2:
            os.close(slave)
        os.environ.setdefault("TERM", "xterm-256color")
        os.execvp(argv[0], argv)
    out = b""
    mark = 0
    status = None
    order = []

    def exited():
        nonlocal status
        if status is None:
            p, st = os.waitpid(pid, os.WNOHANG)
            if p == pid:
                status = st
        return status is not None

    def pump(deadline):
        """Reads what the command wrote; False once it has ended and nothing is left."""
        nonlocal out
        r, _, _ = select.select([fd], [], [], max(0.0, min(0.05, deadline - time.time())))
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            out += data
            if data:
                return True
        return not exited()

    alive = True
    for expected, reply in answers:
        deadline = time.time() + 60
        if expected == "@start":
            pass
        elif expected == "@termios":
            while termios.tcgetattr(fd)[3] == initial_lflag and time.time() < deadline:
                if exited():
                    break
                time.sleep(0.0005)
        else:
            while alive and expected.encode() not in out[mark:]:
                if time.time() > deadline:
                    break
                alive = pump(deadline)
        mark = len(out)
        lflag = termios.tcgetattr(fd)[3]
        order.append("reply %d: after %d bytes, echo=%d" % (len(order), len(out), bool(lflag & termios.ECHO)))
        if reply == "^C":
            os.write(fd, b"\x03")
        elif reply.startswith("raw:"):
            os.write(fd, reply[4:].encode())
        elif reply.startswith("sig:"):
            os.kill(pid, getattr(signal, "SIG" + reply[4:]))
        elif reply.startswith("stopped:"):
            # Stop the command, type KEYS, send signal NAME, continue it: the signal is handled
            # before the command can read what was typed, which stays in the input queue.
            name, keys = reply[8:].split(":", 1)
            os.kill(pid, signal.SIGSTOP)
            _, st = os.waitpid(pid, os.WUNTRACED)
            if not os.WIFSTOPPED(st):
                status = st
            os.write(fd, keys.encode())
            os.kill(pid, getattr(signal, "SIG" + name))
            os.kill(pid, signal.SIGCONT)
        else:
            os.write(fd, reply.encode() + b"\r")
    deadline = time.time() + 60
    while alive and time.time() < deadline:
        alive = pump(deadline)
    # Whatever the command wrote last.
    while select.select([fd], [], [], 0.05)[0]:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    hung = status is None
    if hung:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
    try:
        lflag = termios.tcgetattr(fd)[3]
        with open(transcript_path + ".stty", "w") as f:
            f.write("echo=%d icanon=%d" % (bool(lflag & termios.ECHO), bool(lflag & termios.ICANON)))
    except termios.error:
        pass
    # What is still queued for the terminal's next reader (a shell, after wfop).
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~(termios.ICANON | termios.ECHO)
    attrs[6][termios.VMIN] = 0
    attrs[6][termios.VTIME] = 0
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    left = b""
    while True:
        try:
            data = os.read(slave, 65536)
        except OSError:
            break
        if not data:
            break
        left += data
    with open(transcript_path + ".left", "wb") as f:
        f.write(left)
    with open(transcript_path + ".order", "w") as f:
        f.write("\n".join(order))
    with open(transcript_path, "wb") as f:
        f.write(out)
    if hung:
        sys.exit(124)
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


main()
