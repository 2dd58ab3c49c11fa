"""test_solo.py: a call made alone (the client's fast path, Client._solo) and every way it
hands over to the general one: a reply read in pieces, replies that are not its own, an
interruption while it reads, a connection that breaks under it."""
import os
import signal
import threading

import pytest

from brokerd import _client, _wire, errors


class ChoppedSocket:
    """A socket whose reads return at most `most` bytes (a reply in pieces)."""

    def __init__(self, sock, most):
        self._sock = sock
        self._most = most

    def recv(self, n, *flags):
        return self._sock.recv(min(n, self._most), *flags)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def test_a_lone_call_takes_the_fast_path(client, monkeypatch):
    v = client.Value("fast", "i", 0)
    v.add(1)
    taken = []
    monkeypatch.setattr(_client.Client, "_complete",
                        lambda *a, **kw: taken.append(a) or pytest.fail("slow path"))
    for _ in range(50):
        v.add(1)
    assert not taken
    monkeypatch.undo()
    assert v.value == 51


@pytest.mark.parametrize("most", [1, 5, 13])
def test_a_reply_in_pieces_is_put_together(client, most):
    d = client.dict("pieces")
    d["k"] = "x" * 100
    k = client._k
    k.sock = ChoppedSocket(k.sock, most)
    for i in range(20):
        d["k%d" % i] = i
        assert d["k%d" % i] == i
    assert d["k"] == "x" * 100


def test_a_late_reply_of_an_interrupted_call_is_skipped(client, monkeypatch):
    v = client.Value("late", "i", 0)
    v.add(1)
    real = type(client._k).recv_reply

    def interrupted(self, rid, timeout, spin=False):
        monkeypatch.setattr(type(self), "recv_reply", real)
        raise KeyboardInterrupt  # the request went out; its reply is left unread

    monkeypatch.setattr(type(client._k), "recv_reply", interrupted)
    with pytest.raises(KeyboardInterrupt):
        v.add(10)
    # the next call reads the interrupted one's reply first, drops it, and gets its own
    assert v.add(100) == 111
    assert v.value == 111


def test_an_alarm_during_the_read_interrupts_it(client):
    fired = []

    def handler(signum, frame):
        fired.append(signum)
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, handler)
    v = client.Value("alarm", "i", 0)
    made = 0
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.001, 0.0005)
        try:
            while not fired and made < 200000:
                v.add(1)
                made += 1
        except KeyboardInterrupt:
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, old)
    assert fired
    total = v.value
    assert total in (made, made + 1)  # the interrupted add ran, or did not go out
    assert v.add(1) == total + 1


def test_threads_joining_a_lone_call_get_their_replies(client):
    v = client.Value("joined", "i", 0)
    errors_seen = []

    def work():
        try:
            for _ in range(300):
                v.add(1)
        except BaseException as e:  # reported below
            errors_seen.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for _ in range(300):
        v.add(1)
    for t in threads:
        t.join(30)
    assert not errors_seen
    assert v.value == 7 * 300


@pytest.mark.skipif(bool(os.environ.get("BROKERD_TEST_FSYNC")),
                    reason="it counts on a restart losing the objects: no data dir")
def test_a_lone_call_on_a_dead_connection(client, daemon):
    v = client.Value("dead", "i", 0)
    v.add(1)
    daemon.proc.kill()
    daemon.proc.wait()
    with pytest.raises(ConnectionError):
        v.add(1)  # made at once: the fast path finds the connection gone
    daemon.start()
    assert client.ping() == "pong"
    with pytest.raises(errors.NotFound):
        client.call("value.get", "dead")


def test_a_lone_wait_longer_than_a_read_slice(client, daemon, monkeypatch):
    import brokerd
    monkeypatch.setattr(_client, "READ_SLICE", 0.2)
    q = client.Queue("slices")
    with brokerd.connect(daemon.url) as other:
        timer = threading.Timer(0.7, lambda: other.Queue("slices").put("late"))
        timer.start()
        try:
            assert q.get(timeout=10) == "late"  # handed over to _await after 0.2 s
        finally:
            timer.join()
    q.put("next")
    assert q.get() == "next"  # confirms "late" and gets the next alone again


def test_a_lone_request_over_the_solo_limit_goes_with_the_send_lock(client):
    d = client.dict("big")
    big = "x" * (_client.SOLO_MAX * 3)
    d["k"] = big
    assert d["k"] == big


class CountingSocket(ChoppedSocket):
    """A socket that counts the reads made without waiting (the reader polling)."""

    def __init__(self, sock):
        super().__init__(sock, 1 << 20)
        self.polls = 0

    def recv(self, n, *flags):
        if flags and flags[0] & _wire._DONTWAIT:
            self.polls += 1
        return self._sock.recv(n, *flags)


@pytest.mark.parametrize("running, polls", [(1, True), (64, False)])
def test_the_reader_polls_only_with_a_cpu_to_spare(client, monkeypatch, running, polls):
    v = client.Value("poll", "i", 0)
    v.add(1)
    k = client._k
    sock = CountingSocket(k.sock)
    monkeypatch.setattr(k, "sock", sock)
    monkeypatch.setattr(_wire, "_cpu_to_spare", lambda: running <= 2)
    monkeypatch.setattr(_wire, "_spare", [0.0, True])
    monkeypatch.setattr(_wire, "SPIN", 0.001)
    k._spin_skip = 0
    before = sock.polls
    for _ in range(20):
        v.add(1)
    assert (sock.polls > before) is polls
    monkeypatch.undo()
    assert v.value == 21


def test_a_cpu_to_spare_is_read_from_proc_loadavg(monkeypatch, tmp_path):
    import builtins
    real = builtins.open
    for line, cpus, spare in [(b"0.5 0.4 0.3 1/80 123\n", 2, True),
                              (b"3.1 2.0 1.0 3/80 123\n", 2, False),
                              (b"3.1 2.0 1.0 3/80 123\n", 4, True),
                              (b"garbage", 2, True)]:
        f = tmp_path / "loadavg"
        f.write_bytes(line)
        monkeypatch.setattr(builtins, "open", lambda p, *a, **kw: real(
            f if p == "/proc/loadavg" else p, *a, **kw))
        monkeypatch.setattr(_wire.os, "sched_getaffinity", lambda pid: set(range(cpus)))
        assert _wire._cpu_to_spare() is spare
        monkeypatch.undo()
