"""test_pool.py: m.Pool() with multiprocessing.Pool's methods, served by
`python3 -m brokerd.worker` processes (PROTOCOL.md "Pools")."""
import os
import subprocess
import sys
import threading

import pytest

import brokerd
from conftest import HERE, wait_until

FUNCS = ["pool_funcs:%s" % f for f in
         ("plus100", "add", "fail", "nap", "die_once", "die", "whoami")]


@pytest.fixture
def workers(daemon):
    """workers(pool, processes=..., extra=[...]): starts `python3 -m brokerd.worker`; all
    are stopped (terminated pool or SIGTERM) at the end."""
    started = []

    def start(pool, processes=1, extra=()):
        env = dict(os.environ, BROKERD_URL=daemon.url,
                   PYTHONPATH=os.pathsep.join([str(HERE), str(HERE.parent / "src")]))
        p = subprocess.Popen([sys.executable, "-m", "brokerd.worker", pool] + FUNCS +
                             ["--processes", str(processes)] + list(extra), env=env)
        started.append(p)
        return p

    yield start
    for p in started:
        if p.poll() is None:
            p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def parked_workers(client, pool):
    return len(client.call("stat", pool)["workers"])


def test_the_classic_100_apply_async_on_5_workers(client, workers):
    pool = client.Pool("classic")
    workers("classic", processes=5)
    got, mu, done = [], threading.Lock(), threading.Event()
    main = threading.get_ident()
    pids = set()

    def callback(value):
        with mu:
            got.append(value)
            pids.add(os.getpid())
            if len(got) == 100:
                done.set()

    results = [pool.apply_async("pool_funcs:plus100", (i,), callback=callback)
               for i in range(100)]
    assert done.wait(60)
    assert sorted(got) == [i + 100 for i in range(100)]  # each exactly once
    assert pids == {os.getpid()}  # in the submitter
    assert [r.get(10) for r in results] == [i + 100 for i in range(100)]
    assert all(r.ready() and r.successful() for r in results)
    assert threading.get_ident() == main


def test_map_imap_and_starmap_orders(client, workers):
    pool = client.Pool("orders")
    workers("orders", processes=3)
    xs = list(range(40))
    assert pool.map("pool_funcs:plus100", xs) == [x + 100 for x in xs]
    assert list(pool.imap("pool_funcs:plus100", xs)) == [x + 100 for x in xs]
    assert sorted(pool.imap_unordered("pool_funcs:plus100", xs)) == [x + 100 for x in xs]
    assert pool.starmap("pool_funcs:add", [(1, 2), (3, 4)]) == [3, 7]
    assert pool.apply("pool_funcs:add", (1,), {"b": 5}) == 6
    r = pool.map_async("pool_funcs:plus100", [1, 2])
    assert r.get(20) == [101, 102]
    assert pool.map("pool_funcs:plus100", []) == []
    assert pool.map("pool_funcs:plus100", xs, chunksize=7) == [x + 100 for x in xs]
    assert pool.starmap("pool_funcs:add", [(i, i) for i in range(9)], 4) == \
        [2 * i for i in range(9)]
    with pytest.raises(ValueError):
        pool.map("pool_funcs:fail", ["in a chunk"], chunksize=3)


def test_imap_in_chunks(client, workers):
    pool = client.Pool("imap_chunks")
    workers("imap_chunks", processes=2)
    xs = list(range(23))
    for size in (1, 4, 23, 50):
        assert list(pool.imap("pool_funcs:plus100", xs, size)) == [x + 100 for x in xs]
        assert sorted(pool.imap_unordered("pool_funcs:plus100", xs, chunksize=size)) == \
            [x + 100 for x in xs]
    assert pool.stat()["queued"] == 0
    with pytest.raises(ValueError):
        list(pool.imap("pool_funcs:fail", ["in an imap chunk"], 2))
    for bad in (0, -1):
        with pytest.raises(ValueError, match="Chunksize must be 1"):
            list(pool.imap("pool_funcs:plus100", xs, bad))
        with pytest.raises(ValueError, match="Chunksize must be 1"):
            pool.map("pool_funcs:plus100", xs, bad)


def test_a_worker_exception_reaches_get_with_its_type_and_message(client, workers):
    pool = client.Pool("errors")
    workers("errors")
    r = pool.apply_async("pool_funcs:fail", ("bad x",))
    with pytest.raises(ValueError) as e:
        r.get(20)
    assert isinstance(e.value, brokerd.TaskError)
    assert e.value.type == "ValueError" and e.value.message == "bad x"
    assert r.ready() and not r.successful()
    seen = []
    pool.apply_async("pool_funcs:fail", ("cb",), error_callback=seen.append).wait(20)
    wait_until(lambda: seen, what="the error callback")
    assert isinstance(seen[0], brokerd.TaskError) and seen[0].message == "cb"
    with pytest.raises(ValueError):
        list(pool.imap("pool_funcs:fail", ["in imap"]))


def test_not_ready_and_timeouts(client, workers):
    import multiprocessing
    pool = client.Pool("slow")
    r = pool.apply_async("pool_funcs:nap", (0.2, "late"))
    assert not r.ready()
    with pytest.raises(ValueError):
        r.successful()  # not ready, as Python's
    with pytest.raises(multiprocessing.TimeoutError):
        r.get(0.1)
    workers("slow")
    assert r.get(20) == "late"
    with pytest.raises(TypeError):
        pool.apply_async(lambda: 1)  # no name a worker could import


def test_a_killed_worker_s_task_runs_again_once(client, workers, tmp_path):
    pool = client.Pool("phoenix")
    workers("phoenix", processes=2)
    mark = str(tmp_path / "died")
    assert pool.apply("pool_funcs:die_once", (mark, "survived")) == "survived"
    assert os.path.exists(mark)
    assert pool.map("pool_funcs:plus100", [1, 2, 3]) == [101, 102, 103]  # still served


def test_a_task_that_kills_every_worker_fails_worker_lost(client, workers):
    pool = client.Pool("deadly", max_attempts=2)
    workers("deadly", processes=2)
    with pytest.raises(brokerd.WorkerLost):
        pool.apply("pool_funcs:die")
    assert pool.apply("pool_funcs:plus100", (1,)) == 101  # the replaced workers serve on


def test_close_join_terminate(client, workers):
    pool = client.Pool("lifecycle")
    with pytest.raises(ValueError):
        pool.join()  # on a running pool, as Python's
    rs = [pool.apply_async("pool_funcs:plus100", (i,)) for i in range(5)]
    pool.close()
    with pytest.raises(brokerd.BrokerError):
        pool.apply_async("pool_funcs:plus100", (1,))
    w = workers("lifecycle", processes=2)
    pool.join(30)
    assert [r.get(5) for r in rs] == [100, 101, 102, 103, 104]
    assert w.wait(30) == 0  # the workers stop once the pool is closed and drained

    with client.Pool("ended") as ended:
        r = ended.apply_async("pool_funcs:plus100", (1,))
    with pytest.raises(brokerd.Terminated):
        r.get(10)  # with terminates, as Python's


def submit_and_leave(url):
    with brokerd.connect(url) as m:
        pool = m.Pool("orphans")
        for i in range(5):
            pool.apply_async("pool_funcs:plus100", (i,))


def test_a_submitter_that_goes_away_leaves_no_results(client, daemon, workers):
    client.Pool("orphans")
    p = subprocess.run([sys.executable, "-c", "import sys; sys.path[:0] = %r; "
                        "import test_pool; test_pool.submit_and_leave(%r)"
                        % ([str(HERE), str(HERE.parent / "src")], daemon.url)], timeout=30)
    assert p.returncode == 0
    workers("orphans")
    wait_until(lambda: client.call("stat", "orphans")["queued"] == 0 and
               not client.call("stat", "orphans")["running"], what="the tasks to go")
    st = client.call("stat", "orphans")
    assert st["results"] == 0


def test_pools_pickle_and_workers_refuse_unknown_functions(client, daemon):
    import pickle
    pool = client.Pool("pickled")
    assert pickle.loads(pickle.dumps(pool)).name == "pickled"
    env = dict(os.environ, BROKERD_URL=daemon.url,
               PYTHONPATH=os.pathsep.join([str(HERE), str(HERE.parent / "src")]))
    p = subprocess.run([sys.executable, "-m", "brokerd.worker", "pickled", "nosuch:fn"],
                       env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "cannot serve" in p.stderr


def test_maxtasksperchild_recycles_worker_processes(client, workers):
    pool = client.Pool("recycled")
    workers("recycled", processes=1, extra=["--maxtasksperchild", "2"])
    pids = [pool.apply("pool_funcs:whoami") for _ in range(6)]
    assert len(set(pids)) == 3 and pids[0] == pids[1] and pids[2] == pids[3]


def test_imap_goes_on_after_a_failed_task_as_python_s(client, workers):
    pool = client.Pool("imap_fail")
    workers("imap_fail", processes=2)
    it = pool.imap("pool_funcs:plus100", [1, "x", 3])
    assert next(it) == 101
    with pytest.raises(TypeError):
        next(it)
    assert next(it) == 103
    with pytest.raises(StopIteration):
        next(it)
    seen, errors = [], 0
    it = pool.imap_unordered("pool_funcs:plus100", [1, "x", 3, "y", 5])
    while True:
        try:
            seen.append(next(it))
        except TypeError:
            errors += 1
        except StopIteration:
            break
    assert sorted(seen) == [101, 103, 105] and errors == 2
    # a failed chunk ends the iteration, as Python's chunked imap does
    it = pool.imap("pool_funcs:plus100", [1, 2, "x", 4, 5, 6], chunksize=2)
    assert [next(it), next(it)] == [101, 102]
    with pytest.raises(TypeError):
        next(it)
    with pytest.raises(StopIteration):
        next(it)


def test_imap_next_with_a_timeout(client, workers):
    import multiprocessing
    pool = client.Pool("imap_timeout")
    it = pool.imap("pool_funcs:plus100", [1, 2])
    with pytest.raises(multiprocessing.TimeoutError):
        it.next(timeout=0.2)  # no worker yet
    workers("imap_timeout")
    assert it.next(timeout=20) == 101 and list(it) == [102]


def test_two_threads_get_one_result(client, workers):
    pool = client.Pool("two_gets")
    r = pool.apply_async("pool_funcs:nap", (0.5, "slept"))
    workers("two_gets")
    got, failed = [], []

    def get():
        try:
            got.append(r.get(20))
        except BaseException as e:  # reported below
            failed.append(e)

    threads = [threading.Thread(target=get) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not failed and got == ["slept"] * 4


def test_workers_that_cannot_start_give_up(workdir):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(HERE.parent / "src")]))
    p = subprocess.run([sys.executable, "-m", "brokerd.worker", "p", "pool_funcs:plus100",
                        "--processes", "2", "--url", "ipc://%s/nobody.sock" % workdir],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "could not reach brokerd" in p.stderr and "giving up" in p.stderr


def test_worker_processes_die_with_their_parent(client, workers):
    import signal
    client.Pool("orphans")
    parent = workers("orphans", processes=2)
    wait_until(lambda: parked_workers(client, "orphans") == 2, what="two parked workers")
    pids = [w["pid"] for w in client.call("stat", "orphans")["workers"]]
    assert parent.pid not in pids
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)

    def gone(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] == "Z"  # a zombie of init is gone too

    wait_until(lambda: all(gone(pid) for pid in pids), what="the orphaned workers' end")
    wait_until(lambda: parked_workers(client, "orphans") == 0, what="their sessions' end")


def test_dropped_results_give_their_tasks_up(client, workers):
    import gc
    pool = client.Pool("dropped", max_tasks=10)
    rs = [pool.apply_async("pool_funcs:plus100", (i,)) for i in range(10)]
    with pytest.raises(brokerd.LimitExceeded):
        pool.apply_async("pool_funcs:plus100", (10,))
    del rs
    gc.collect()
    r = pool.apply_async("pool_funcs:plus100", (10,))  # gives the ten up first
    assert pool.stat()["queued"] == 1
    it = pool.imap("pool_funcs:plus100", range(5))
    workers("dropped")
    assert r.get(20) == 110 and next(it) == 100
    del it  # abandoned part-way: its unfetched tasks are given up with the next submit
    assert pool.apply("pool_funcs:plus100", (1,)) == 101
    wait_until(lambda: pool.stat()["results"] == 0, what="no outcome kept for nobody")
