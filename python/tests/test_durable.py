"""test_durable.py: the Python client against a brokerd with a data dir: what it stores
survives a restart (SIGTERM) and a crash (SIGKILL under fsync always), ephemeral objects do
not, and the data dir's errors map to Python exceptions."""
import os
import shutil
import tempfile

import pytest

import brokerd
from brokerd import errors
from conftest import Daemon


@pytest.fixture
def durable(workdir):
    data = os.path.join(workdir, "data")
    os.mkdir(data)
    d = Daemon(workdir, ["--data-dir", data, "--fsync", "always"]).start()
    yield d
    assert d.stop() in (0, None)


def fill(c):
    q = c.Queue("jobs")
    for i in range(5):
        q.put({"n": i})
    assert q.get() == {"n": 0}
    pq = c.PriorityQueue("pq")
    pq.put((2, "late"))
    pq.put((1, "soon"))
    d = c.dict("cfg")
    d["a"] = 1
    d[7] = [1, 2]
    c.list("l", [1, "two"]).append(3.5)
    v = c.Value("hits", "i", 10)
    v.add(5)
    c.Array("arr", "d", [0.5, 1.5])
    ns = c.Namespace("ns")
    ns.x = {"deep": True}
    a, b = c.Pipe("pp")
    a.send("to b")
    c.Queue("scratch", ephemeral=True).put(1)
    c.Value("tmp", "i", 1, ephemeral=True)
    c.list("tmpl", ephemeral=True).append(1)
    return {"cfg": d.version, "hits": v.version}


def check(c, versions):
    assert c.Queue("jobs").qsize() == 4
    assert c.Queue("jobs").get() == {"n": 1}
    assert c.PriorityQueue("pq").get() == (1, "soon")
    d = c.dict("cfg")
    assert dict(d.items()) == {"a": 1, 7: [1, 2]}
    assert d.version == versions["cfg"]
    assert list(c.list("l")) == [1, "two", 3.5]
    v = c.Value("hits", "i")
    assert v.value == 15 and v.version == versions["hits"]
    assert list(c.Array("arr", "d", 2)) == [0.5, 1.5]
    assert c.Namespace("ns").x == {"deep": True}
    a, b = c.Pipe("pp")
    assert b.recv() == "to b"
    names = {o["name"] for o in c.call("ls")}
    assert not names & {"scratch", "tmp", "tmpl"}


def test_everything_stored_survives_a_restart(durable):
    with brokerd.connect(durable.url) as c:
        versions = fill(c)
    durable.restart()
    with brokerd.connect(durable.url) as c:
        check(c, versions)


def test_and_a_crash_under_fsync_always(durable):
    with brokerd.connect(durable.url) as c:
        versions = fill(c)
        durable.proc.kill()
        durable.proc.wait()
    durable.start()
    with brokerd.connect(durable.url) as c:
        check(c, versions)


def test_an_unacknowledged_item_comes_back_after_a_crash(durable):
    with brokerd.connect(durable.url) as c:
        q = c.Queue("work")
        q.put("a")
        q.put("b")
        assert q.get() == "a"  # confirmed with the client's next request, which never comes
        durable.proc.kill()
        durable.proc.wait()
    durable.start()
    with brokerd.connect(durable.url) as c:
        q = c.Queue("work")
        assert [q.get(timeout=1), q.get(timeout=1)] == ["a", "b"]


def test_save_and_its_errors(durable):
    with brokerd.connect(durable.url) as c:
        c.dict("d")["k"] = "v"
        done = c.call("save")
        assert done["generation"] >= 2 and done["seconds"] >= 0
        assert c.call("info")["persistence"]["fsync"] == "always"
        c.Queue("e", maxsize=3, ephemeral=True)
        with pytest.raises(errors.Exists):
            c.Queue("e", maxsize=3)  # the same but for ephemeral
    if os.environ.get("BROKERD_TEST_FSYNC"):
        return  # every daemon of this run has a data dir (conftest.py)
    plain = Daemon(tempfile.mkdtemp(prefix="brkpy")).start()  # no data dir
    try:
        with brokerd.connect(plain.url) as c:
            with pytest.raises(errors.Storage) as e:
                c.call("save")
            assert isinstance(e.value, OSError) and "data dir" in str(e.value)
            assert "persistence" not in c.call("info")
    finally:
        assert plain.stop() == 0
        shutil.rmtree(plain.dir)
