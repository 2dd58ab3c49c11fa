"""conftest.py: runs the real brokerd for the tests, on a temporary ipc path, and waits for
its READY=1 on a NOTIFY_SOCKET the fixture binds (no sleeping)."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import brokerd  # noqa: E402

REPO = HERE.parent.parent
BROKERD_BIN = os.environ.get("BROKERD_BIN") or str(REPO / "build" / "brokerd")
START_TIMEOUT = 10.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """One brokerd process listening on self.url (ipc) and any extra listeners."""

    def __init__(self, workdir, extra_args=()):
        self.dir = workdir
        self.url = "ipc://%s/brokerd.sock" % workdir
        self.extra = list(extra_args)
        self.proc = None

    def start(self):
        notify_path = os.path.join(self.dir, "notify.sock")
        if os.path.exists(notify_path):
            os.unlink(notify_path)
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(notify_path)
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        durable = []
        if os.environ.get("BROKERD_TEST_FSYNC"):  # as tests/daemon.c: the suite on a data dir
            data = os.path.join(self.dir, "data")
            os.makedirs(data, exist_ok=True)
            durable = ["--data-dir", data, "--fsync", os.environ["BROKERD_TEST_FSYNC"]]
        try:
            self.proc = subprocess.Popen(
                [BROKERD_BIN, "-l", self.url, "--log-level", "warn"] + durable + self.extra,
                env=env)
            self._wait_ready(ns)
        finally:
            ns.close()
        return self

    def _wait_ready(self, ns):
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.proc.kill()
                raise RuntimeError("brokerd did not send READY=1 in %g s" % START_TIMEOUT)
            ns.settimeout(min(left, 0.5))
            try:
                msg = ns.recv(4096)
            except socket.timeout:
                if self.proc.poll() is not None:
                    raise RuntimeError("brokerd exited with %s" % self.proc.returncode)
                continue
            if b"READY=1" in msg.split(b"\n"):
                return

    def stop(self):
        """SIGTERMs a running daemon and returns its exit status (None if none was running).
        0 means a clean exit: brokerd checks that every request it received was answered."""
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = "hung"
        self.proc = None
        return rc

    def restart(self):
        self.stop()
        return self.start()


@pytest.fixture
def workdir():
    # short: an ipc path must fit in sun_path (108 bytes)
    d = tempfile.mkdtemp(prefix="brkpy")
    yield d
    subprocess.call(["rm", "-rf", d])


@pytest.fixture
def daemon(workdir):
    d = Daemon(workdir).start()
    yield d
    rc = d.stop()
    assert rc in (0, None), "brokerd exited with %s" % rc


@pytest.fixture
def client(daemon):
    c = brokerd.connect(daemon.url)
    yield c
    c.close()


def wait_until(predicate, timeout=10.0, what="condition"):
    """wait_until: polls observable state until predicate() is true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.005)
