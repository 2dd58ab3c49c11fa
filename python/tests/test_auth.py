"""test_auth.py: tokens: connect(token=, token_file=) and $BROKERD_TOKEN(_FILE) greet every
connection, the first and each reconnect (after fork too), against a brokerd whose config
names principals; refused token files; the exception classes of unauthorized, forbidden
and out_of_memory."""
import json
import os
import pickle
import subprocess
import sys

import pytest

import brokerd
from brokerd import _client, _token, errors
from conftest import HERE, Daemon, free_port

APP_TOKEN = "app-token-0123456789abcdef"
OPS_TOKEN = "ops-token-0123456789abcdef"
PRINCIPALS = [
    {"name": "app", "token": APP_TOKEN, "role": "rw", "prefix": "app."},
    {"name": "ops", "token": OPS_TOKEN, "role": "admin"},
]


@pytest.fixture(autouse=True)
def no_token_in_env(monkeypatch):
    """The tests decide which token the environment holds."""
    monkeypatch.delenv("BROKERD_TOKEN", raising=False)
    monkeypatch.delenv("BROKERD_TOKEN_FILE", raising=False)


@pytest.fixture
def auth_daemon(workdir):
    """A brokerd whose config file names principals "app" (rw on "app.") and "ops" (admin),
    on ipc and on a loopback tcp listener (d.tcp_url): over ipc, root and brokerd's own uid
    are admin without a token (PROTOCOL.md "Authentication"), as the tests' user may be."""
    config = os.path.join(workdir, "config.json")
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"principals": PRINCIPALS}, f)
    tcp_url = "tcp://127.0.0.1:%d" % free_port()
    d = Daemon(workdir, ["--config", config, "--listen", tcp_url])
    d.tcp_url = tcp_url
    d.start()
    yield d
    rc = d.stop()
    assert rc in (0, None), "brokerd exited with %s" % rc


def token_file(tmp_path, text, mode=0o600, name="token"):
    path = tmp_path / name
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def whoami(c):
    hello = c.call("hello")
    return hello.get("principal"), hello.get("role"), hello.get("prefix")


# ---- without a daemon: the token's sources, files, and the exception classes ----

def test_the_token_comes_from_the_argument_else_the_environment(tmp_path, monkeypatch):
    f = token_file(tmp_path, "from-file-0123456789 \t\r\nsecond line\n")
    g = token_file(tmp_path, "from-env-file-0123456\n", 0o640, "env-token")
    assert _token.resolve() is None
    assert _token.resolve("arg-token-0123456789") == "arg-token-0123456789"
    assert _token.resolve(token_file=f) == "from-file-0123456789"
    monkeypatch.setenv("BROKERD_TOKEN_FILE", g)
    assert _token.resolve() == "from-env-file-0123456"
    monkeypatch.setenv("BROKERD_TOKEN", "from-env-0123456789")
    assert _token.resolve() == "from-env-0123456789"  # the env's token before its file
    assert _token.resolve(token_file=f) == "from-file-0123456789"  # arguments first
    assert _token.resolve("arg-token-0123456789", f) == "arg-token-0123456789"
    monkeypatch.setenv("BROKERD_TOKEN", "")  # empty: as if unset
    assert _token.resolve() == "from-env-file-0123456"


def test_the_greeting_carries_the_token_only_when_there_is_one():
    assert _client._hello_body(None) == b'{"op":"hello"}'
    assert json.loads(_client._hello_body('t"0123456789abcdef\u00e9')) == {
        "op": "hello", "token": 't"0123456789abcdef\u00e9'}


def test_refused_token_files(tmp_path, monkeypatch):
    secret = "secret-token-0123456789"
    open_file = token_file(tmp_path, secret + "\n", 0o644, "open")
    for path in (open_file, token_file(tmp_path, "", 0o600, "empty"),
                 token_file(tmp_path, "  \n", 0o600, "blank"),
                 str(tmp_path / "missing"), str(tmp_path)):
        with pytest.raises(errors.Invalid) as e:
            brokerd.connect("ipc:///nonexistent/brokerd.sock", token_file=path)
        assert secret not in str(e.value)
    with pytest.raises(errors.Invalid, match="others may read"):
        _token.read_file(open_file)
    monkeypatch.setenv("BROKERD_TOKEN_FILE", open_file)
    with pytest.raises(errors.Invalid):
        brokerd.connect("ipc:///nonexistent/brokerd.sock")
    os.chmod(open_file, 0o640)  # a group may read it
    with pytest.raises(errors.ConnectFailed):
        brokerd.connect("ipc:///nonexistent/brokerd.sock")


def test_the_new_error_codes_have_classes():
    cases = [("unauthorized", errors.Unauthorized, PermissionError),
             ("forbidden", errors.Forbidden, PermissionError),
             ("out_of_memory", errors.OutOfMemory, MemoryError)]
    for code, cls, base in cases:
        e = errors.error_for(code, "why")
        assert type(e) is cls and isinstance(e, base) and isinstance(e, errors.BrokerError)
        assert e.code == code and str(e) == "%s: why" % code
        assert type(pickle.loads(pickle.dumps(e))) is cls
        assert getattr(brokerd, cls.__name__) is cls and cls.__name__ in brokerd.__all__


# ---- against brokerd with principals ----

def test_the_right_token_authenticates(auth_daemon, tmp_path, monkeypatch):
    with brokerd.connect(auth_daemon.url, token=APP_TOKEN) as c:
        assert whoami(c) == ("app", "rw", "app.")
        c.dict("app.d")["k"] = 1
        assert c.dict("app.d")["k"] == 1
    f = token_file(tmp_path, OPS_TOKEN + "\n")
    with brokerd.connect(auth_daemon.url, token_file=f) as c:
        assert whoami(c) == ("ops", "admin", None)
    monkeypatch.setenv("BROKERD_TOKEN", APP_TOKEN)
    with brokerd.connect(auth_daemon.url) as c:
        assert whoami(c)[:2] == ("app", "rw")
    monkeypatch.delenv("BROKERD_TOKEN")
    monkeypatch.setenv("BROKERD_TOKEN_FILE", f)
    with brokerd.connect(auth_daemon.url) as c:
        assert whoami(c)[:2] == ("ops", "admin")


def test_a_wrong_token_is_unauthorized_at_connect(auth_daemon):
    with pytest.raises(errors.Unauthorized) as e:
        brokerd.connect(auth_daemon.url, token="not-a-token-of-anyone-0123")
    assert isinstance(e.value, PermissionError)
    assert "not-a-token" not in str(e.value)
    assert str(e.value).startswith("unauthorized: brokerd refused the token: ")


def test_without_a_token_ops_are_unauthorized(auth_daemon):
    with brokerd.connect(auth_daemon.tcp_url) as c:  # hello needs no token
        c.ping()
        assert whoami(c)[1] == "none"
        with pytest.raises(errors.Unauthorized):
            c.dict("app.d")["k"] = 1
        with pytest.raises(errors.Unauthorized):
            len(c.dict("app.d"))


def test_a_name_outside_the_prefix_is_forbidden(auth_daemon):
    with brokerd.connect(auth_daemon.url, token=APP_TOKEN) as c:
        with pytest.raises(errors.Forbidden):
            c.dict("other.d")["k"] = 1
        c.dict("app.d")["k"] = 1


def test_a_confined_manager_makes_and_deletes_its_unnamed_objects(auth_daemon):
    with brokerd.connect(auth_daemon.url, token=APP_TOKEN) as c:
        q, d, cv = c.Queue(), c.dict(), c.Condition()
        q.put(1)
        d["k"] = 2
        names = [q.name, d.name]
        assert all(n.startswith("app.py-") for n in names)  # inside its prefix
    with brokerd.connect(auth_daemon.url, token=OPS_TOKEN) as admin:
        left = [o["name"] for o in admin.call("ls")]
        assert not [n for n in left if n.startswith("app.py-")], left  # deleted at close


def test_a_forked_child_reconnects_with_the_token(auth_daemon):
    c = brokerd.connect(auth_daemon.url, token=APP_TOKEN)
    d = c.dict("app.sessions")
    parent = c.session
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            d["child"] = [whoami(c)[1], c.session]  # the first call reconnects
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    role, session = d["child"]
    assert role == "rw" and session != parent and c.session == parent
    c.close()


def test_a_reconnect_after_a_restart_sends_the_token(auth_daemon):
    c = brokerd.connect(auth_daemon.url, token=APP_TOKEN)
    first = c.hello
    auth_daemon.restart()
    assert whoami(c)[:2] == ("app", "rw")  # the call that reconnected
    assert c.hello is not first  # greeted anew
    c.close()


def test_a_worker_takes_a_token_file(auth_daemon, tmp_path):
    f = token_file(tmp_path, APP_TOKEN + "\n")
    env = dict(os.environ, BROKERD_URL=auth_daemon.url,
               PYTHONPATH=os.pathsep.join([str(HERE), str(HERE.parent / "src")]))
    w = subprocess.Popen([sys.executable, "-m", "brokerd.worker", "app.pool",
                          "pool_funcs:plus100", "--token-file", f], env=env)
    try:
        with brokerd.connect(auth_daemon.url, token_file=f) as c:
            pool = c.Pool("app.pool")
            assert pool.apply_async("pool_funcs:plus100", (1,)).get(timeout=30) == 101
            pool.terminate()
        assert w.wait(30) == 0  # the pool told it to stop
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
    open_file = token_file(tmp_path, APP_TOKEN + "\n", 0o644, "open")
    bad = subprocess.run([sys.executable, "-m", "brokerd.worker", "app.pool",
                          "pool_funcs:plus100", "--token-file", open_file], env=env,
                         stderr=subprocess.PIPE, text=True, timeout=60)
    assert bad.returncode == 2 and "others may read" in bad.stderr
    assert APP_TOKEN not in bad.stderr
