#!/usr/bin/env python3
# Runs a command with its stderr on a 120x40 pseudo-terminal (stdin and stdout stay /dev/null), draining the
# terminal until the command ends. For the benchmarks: the spinner only runs on a terminal.
import fcntl, os, pty, select, struct, subprocess, sys, termios

master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
os.close(slave)
while child.poll() is None:
    ready, _, _ = select.select([master], [], [], 0.05)
    if ready:
        try:
            os.read(master, 65536)
        except OSError:
            break
sys.exit(child.wait())
