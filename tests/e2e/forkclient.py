"""``shipyard`` for a shell: the command runs in the test's zygote (tests/e2e/zygote.py), with
this process's arguments, folder, environment and standard streams; this process stands in for
it until it ends — signals sent here are passed on, its exit status is this one's.

Only the standard library, and no site (``-IS``): it starts in milliseconds.
"""

import contextlib
import json
import os
import signal
import socket
import sys

ZYGOTE_ENV = "SHIPYARD_TEST_ZYGOTE"
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2)


def _pass_on(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has just ended: its code is on the way
        os.kill(pid, number)


def main() -> None:
    env = dict(os.environ)
    path = env.pop(ZYGOTE_ENV)
    zygote = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    zygote.connect(path)
    request = {"argv": sys.argv[1:], "cwd": os.getcwd(), "env": env}
    socket.send_fds(zygote, [json.dumps(request).encode()], [0, 1, 2])
    pid = json.loads(zygote.recv(1 << 16))["pid"]
    for number in FORWARDED:
        signal.signal(number, lambda received, _: _pass_on(pid, received))
    code = json.loads(zygote.recv(1 << 16))["code"]
    if code < 0:  # killed by a signal: end the same way, so the shell reports 128 + N
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


main()
