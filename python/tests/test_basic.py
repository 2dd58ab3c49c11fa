"""test_basic.py: connecting, hello, JSON-only values and the mapping of error codes to
exception classes."""
import queue
import subprocess
import threading

import pytest

import brokerd
from brokerd import errors
from conftest import REPO, Daemon, free_port


def test_connect_ping_hello(client):
    assert client.ping() == "pong"
    assert client.call("ping") == "pong"
    assert client.hello["server"] == "brokerd"
    assert client.hello["protocol"] == 1
    assert isinstance(client.session, int) and client.session > 0
    assert client.max_message == client.hello["max_message"] > 0
    assert client.owners is True


def test_default_url_follows_environment(monkeypatch, daemon):
    monkeypatch.setenv("BROKERD_URL", daemon.url)
    assert brokerd.default_url() == daemon.url
    with brokerd.connect() as c:
        assert c.ping() == "pong"
    monkeypatch.delenv("BROKERD_URL")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1234")
    import os
    expect = ("ipc:///run/brokerd/brokerd.sock" if os.geteuid() == 0
              else "ipc:///run/user/1234/brokerd.sock")
    assert brokerd.default_url() == expect


def test_connect_failure_is_connection_error(workdir):
    with pytest.raises(ConnectionError) as ei:
        brokerd.connect("ipc://%s/nobody.sock" % workdir, timeout=1)
    assert ei.value.code == "connect_failed"
    with pytest.raises(ValueError):
        brokerd.connect("http://example.com")


def test_errors_map_to_python_exceptions(client):
    q = client.Queue("q")
    with pytest.raises(queue.Empty) as ei:
        q.get(block=False)
    assert type(ei.value) is errors.Empty and ei.value.code == "empty"
    with pytest.raises(queue.Empty):
        q.get(timeout=0.05)
    small = client.Queue("small", maxsize=1)
    small.put(1)
    with pytest.raises(queue.Full) as ei:
        small.put(2, block=False)
    assert ei.value.code == "full"
    d = client.dict("d")
    with pytest.raises(KeyError) as ei:
        d["missing"]
    assert isinstance(ei.value, errors.BrokerError) and ei.value.code == "key_error"
    with pytest.raises(TypeError) as ei:
        d["x"] = object()
    assert "object" in str(ei.value) and not isinstance(ei.value, errors.BrokerError)
    with pytest.raises(TypeError):
        d["x"] = {1: 2}  # JSON object keys are str
    d["present"] = 1
    with pytest.raises(errors.WrongType):
        client.call("lock.acquire", "d", block=False)
    with pytest.raises(errors.NotFound):
        client.call("stat", "no-such-object")
    with pytest.raises(errors.BadArgument):
        client.call("queue.get", "q", timout=1)
    with pytest.raises(errors.UnknownOp):
        client.call("no.such.op")
    with pytest.raises(ValueError) as ei:
        client.call("queue.task_done", "q")
    assert ei.value.code == "value_error"
    client.call("list.append", "l", value=1)
    with pytest.raises(IndexError):
        client.call("list.get", "l", index=5)
    with pytest.raises(AttributeError):
        client.call("namespace.get", "ns", attr="nope")
    client.call("dict.set", "d", key="s", value="text")
    with pytest.raises(TypeError) as ei:
        client.call("dict.incr", "d", key="s")
    assert ei.value.code == "type_error"
    lock = client.Lock("lk")
    with pytest.raises(RuntimeError) as ei:
        lock.release()
    assert ei.value.code == "not_locked"
    client.call("barrier.create", "b", parties=2)
    with pytest.raises(threading.BrokenBarrierError):
        client.call("barrier.wait", "b", timeout=0)


def test_error_classes():
    assert issubclass(errors.Empty, queue.Empty) and issubclass(errors.Full, queue.Full)
    assert issubclass(errors.NotOwner, RuntimeError)
    assert issubclass(errors.IOFailure, ConnectionError)
    e = errors.error_for("not_found", "gone")
    assert type(e) is errors.NotFound and e.code == "not_found" and e.message == "gone"
    assert errors.error_for("brand_new", "x").code == "brand_new"
    import pickle
    again = pickle.loads(pickle.dumps(errors.Empty("m")))
    assert type(again) is errors.Empty and again.message == "m"


def test_json_values_round_trip(client):
    d = client.dict()
    assert d.name.startswith("py-")
    value = {"a": [1, 2.5, None, True, "é"], "t": (1, 2)}
    d["k"] = value
    assert d["k"] == {"a": [1, 2.5, None, True, "é"], "t": [1, 2]}
    d.update({"x": 1}, y=2)
    assert d.keys() == ["k", "x", "y"] and len(d) == 3 and "x" in d
    assert d.pop("x") == 1 and d.pop("x", 7) == 7
    assert d.setdefault("z", 5) == 5 and d.get("nope") is None
    assert d.popitem() == ("z", 5)
    assert sorted(d) == ["k", "y"] and d.items()[1] == ("y", 2)
    del d["y"]
    with pytest.raises(KeyError):
        del d["y"]
    d.clear()
    assert len(d) == 0
    with pytest.raises(TypeError):
        client.call("ping", extra=set())
    with pytest.raises(ValueError):
        d["nan"] = float("nan")


def test_queue_helpers(client):
    q = client.Queue("jobs", maxsize=3)
    assert q.empty() and not q.full()
    for i in range(3):
        q.put(i)
    assert q.full() and q.qsize() == 3
    assert [q.get(), q.get_nowait(), q.get(timeout=1)] == [0, 1, 2]
    for _ in range(3):
        q.task_done()
    q.join()
    # items got are confirmed with the next request: nothing held afterwards
    client.ping()
    me = [s for s in client.call("sessions") if s["id"] == client.session][0]
    assert [h for h in me["holding"] if h["kind"] == "delivery"] == []


def test_too_big_is_refused_before_sending(client):
    client.max_message = 1000
    with pytest.raises(errors.TooBig):
        client.call("dict.set", "d", key="k", value="x" * 2000)
    assert client.ping() == "pong"


def test_tcp(workdir):
    port = free_port()
    d = Daemon(workdir, ["-l", "tcp://127.0.0.1:%d" % port]).start()
    try:
        with brokerd.connect("tcp://127.0.0.1:%d" % port) as c:
            assert c.ping() == "pong"
            q = c.Queue()
            q.put([1, 2])
            assert q.get() == [1, 2]
    finally:
        d.stop()


def test_tcp_ipv6(workdir):
    import socket
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    port = free_port()
    d = Daemon(workdir, ["-l", "tcp://[::1]:%d" % port]).start()
    try:
        with brokerd.connect("tcp://[::1]:%d" % port) as c:
            assert c.ping() == "pong"
    finally:
        d.stop()


@pytest.fixture
def pki(workdir):
    pki = workdir + "/pki"
    subprocess.run(["sh", str(REPO / "tests" / "certs.sh"), pki], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return pki


def test_tls(workdir, pki, monkeypatch):
    port = free_port()
    d = Daemon(workdir, ["-l", "tls+tcp://127.0.0.1:%d" % port,
                         "--tls-cert", pki + "/server.pem", "--tls-key",
                         pki + "/server.key"]).start()
    url = "tls+tcp://127.0.0.1:%d" % port
    try:
        with brokerd.connect(url, tls_ca=pki + "/ca.pem") as c:
            assert c.ping() == "pong"
            c.dict("d")["k"] = "v" * 100000
            assert c.dict("d")["k"] == "v" * 100000
        monkeypatch.setenv("BROKERD_TLS_CA", pki + "/ca.pem")
        with brokerd.connect("tls+tcp://localhost:%d" % port) as c:
            assert c.ping() == "pong"
        with pytest.raises(errors.ConnectFailed):
            brokerd.connect(url, tls_ca=pki + "/rogueca.pem", timeout=3)
    finally:
        d.stop()


def test_tls_client_certificate(workdir, pki):
    port = free_port()
    d = Daemon(workdir, ["-l", "tls+tcp://127.0.0.1:%d" % port,
                         "--tls-cert", pki + "/server.pem", "--tls-key", pki + "/server.key",
                         "--tls-ca", pki + "/ca.pem"]).start()
    url = "tls+tcp://127.0.0.1:%d" % port
    try:
        with brokerd.connect(url, tls_ca=pki + "/ca.pem", tls_cert=pki + "/client.pem",
                             tls_key=pki + "/client.key") as c:
            assert c.ping() == "pong"
    finally:
        d.stop()


def test_close_confirms_the_last_item(daemon):
    c = brokerd.connect(daemon.url)
    q = c.Queue("last")
    q.put("a")
    q.put("b")
    assert q.get() == "a"
    c.close()
    with brokerd.connect(daemon.url) as other:
        assert other.Queue("last").get(block=False) == "b"
        with pytest.raises(queue.Empty):
            other.Queue("last").get(block=False)
    with pytest.raises(errors.BrokerError):
        c.ping()


def test_unconfirmed_item_goes_back_when_the_session_ends(daemon):
    c = brokerd.connect(daemon.url)
    q = c.Queue("back")
    q.put("x")
    assert q.get() == "x"
    c._k.close()  # the session ends without confirming
    with brokerd.connect(daemon.url) as other:
        from conftest import wait_until
        wait_until(lambda: other.Queue("back").qsize() == 1)
        assert other.Queue("back").get(block=False) == "x"


def test_tls_fork_leaves_the_parents_stream_alone(workdir, pki):
    import os
    port = free_port()
    d = Daemon(workdir, ["-l", "tls+tcp://127.0.0.1:%d" % port,
                         "--tls-cert", pki + "/server.pem", "--tls-key",
                         pki + "/server.key"]).start()
    try:
        c = brokerd.connect("tls+tcp://127.0.0.1:%d" % port, tls_ca=pki + "/ca.pem")
        assert c.ping() == "pong"
        parent = c.session
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                c.ping()
                c.dict("tls-fork")["child"] = c.session
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        assert c.ping() == "pong" and c.session == parent
        assert c.dict("tls-fork")["child"] != parent
        c.close()
    finally:
        d.stop()


def test_queue_handles_attach_and_timeouts(client):
    q = client.Queue("bounded", maxsize=2)
    assert client.Queue("bounded").maxsize == 0  # attaches without re-creating
    client.Queue("bounded").put(1)
    client.Queue("bounded").put(2)
    assert q.full()
    with pytest.raises(errors.Exists):
        client.Queue("bounded", maxsize=5)
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    import threading
    assert q.get(timeout=threading.TIMEOUT_MAX) == 1  # no limit, not bad_argument
