#!/usr/bin/env python3
# Runs a command on a pseudo-terminal of COLUMNS x ROWS as its controlling terminal (stdin and stderr on the
# terminal, stdout a pipe), optionally types Ctrl-C after INTERRUPT_AFTER seconds, and prints JSON: the exit
# code, the seconds from Ctrl-C (or start) to the end, stdout and what the terminal showed. With "type": {"after":
# TEXT, "text": TEXT}, types the text once the terminal has shown `after` (a prompt).
#   python3 terminal.py '{"columns": 80, "rows": 24, "interruptAfter": 0.5, "command": ["node", "..."]}'
import fcntl, json, os, pty, select, signal, struct, subprocess, sys, termios, time

spec = json.loads(sys.argv[1])
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', spec.get('rows', 24), spec.get('columns', 80), 0, 0))

def child_setup():
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

env = {**os.environ, **spec.get('env', {})}
for name in spec.get('unsetEnv', []):
    env.pop(name, None)
child = subprocess.Popen(spec['command'], stdin=slave, stdout=subprocess.PIPE, stderr=slave,
                         preexec_fn=child_setup, env=env)
os.close(slave)
terminal = b''
stdout = b''
start = time.time()
interrupted_at = None
typed = False
deadline = start + spec.get('limit', 60)
os.set_blocking(child.stdout.fileno(), False)
while True:
    if spec.get('interruptAfter') is not None and interrupted_at is None and time.time() - start >= spec['interruptAfter']:
        os.write(master, b'\x03')  # what the terminal turns into SIGINT for the foreground process group
        interrupted_at = time.time()
    if spec.get('type') and not typed and spec['type']['after'].encode() in terminal:
        os.write(master, spec['type']['text'].encode())
        typed = True
    ready, _, _ = select.select([master, child.stdout], [], [], 0.02)
    for fd in ready:
        try:
            data = os.read(fd if fd == master else child.stdout.fileno(), 65536)
        except OSError:
            data = b''
        if fd == master:
            terminal += data
        else:
            stdout += data
    if child.poll() is not None:
        try:
            while True:
                data = os.read(child.stdout.fileno(), 65536)
                if not data: break
                stdout += data
        except OSError:
            pass
        break
    if time.time() > deadline:
        child.kill()
        child.wait()
        break
end = time.time()
print(json.dumps({
    'code': child.returncode,
    'seconds': end - (interrupted_at or start),
    'stdout': stdout.decode('utf-8', 'replace'),
    'terminal': terminal.decode('utf-8', 'replace'),
}))
