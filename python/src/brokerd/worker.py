"""brokerd.worker: serves the tasks of a brokerd pool (PROTOCOL.md "Pools") with Python
functions.

    python3 -m brokerd.worker POOL module:function [module:function ...]
                              [--processes N] [--maxtasksperchild N] [--url URL]

Each function is imported by its name ("module:qualname"), as Pool.apply_async sends it.
With --processes N, N worker processes serve at once, each with its own connection; one
that dies (or served --maxtasksperchild tasks) is replaced, as multiprocessing.Pool
replaces its workers. The workers stop when the pool is closed and drained, terminated or
deleted, or when brokerd shuts down.
A task a worker was running when it died goes back to the pool and runs elsewhere."""
import argparse
import importlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys

import brokerd
from ._client import check_json
from .errors import BrokerError

STOPPED = 3  # a worker's exit status once the pool is closed or terminated


def load(name):
    """load: the function named "module:qualname" (or "module.qualname")."""
    module, sep, qualname = name.partition(":")
    if not sep:
        module, _, qualname = name.rpartition(".")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError("%s is not callable" % name)
    return obj


def serve(pool, funcs, url=None, maxtasks=None, client=None):
    """serve: takes the tasks of pool (a name) for funcs (names, or a dict of name ->
    callable) and answers each with its function's result, or its exception's type name
    and message, until the pool is closed and drained or terminated (returns True) or
    maxtasks tasks were served (returns False)."""
    table = funcs if isinstance(funcs, dict) else {f: load(f) for f in funcs}
    c = client or brokerd.connect(url)
    served, done = 0, None
    try:
        while maxtasks is None or served < maxtasks:
            args = {"funcs": list(table)}
            if done is not None:
                args["done"], done = done, None  # the last answer rides with the next request
            try:
                task = c.call("pool.work", pool, **args)
            except BrokerError as e:
                if e.code in ("closed", "terminated", "deleted", "shutting_down"):
                    return True  # the pool, or brokerd, tells its workers to stop
                raise
            done = answer(task, table[task["func"]])
            served += 1
        return False
    finally:
        if done is not None:
            _send_last(c, pool, done)
        if client is None:
            c.close()


def _send_last(c, pool, done):
    try:
        c.call("pool.done", pool, **done)
    except BrokerError:
        pass  # the pool is gone or over: the answer has nowhere to go


def answer(task, fn):
    """answer: the `done` for task: its function's result (a chunk: the list of each
    call's result), or the type name and message of the exception it raised."""
    try:
        if "chunk" in task:
            result = [fn(*args) for args in task["chunk"]]
        else:
            result = fn(*task.get("args", []), **task.get("kwargs", {}))
        return {"task": task["task"], "result": check_json(result, "the result")}
    except Exception as e:  # the task's failure, for its submitter
        return {"task": task["task"], "error": {"type": type(e).__name__, "message": str(e)}}


def _child(pool, funcs, url, maxtasks):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.exit(STOPPED if serve(pool, funcs, url, maxtasks) else 0)


def run(pool, funcs, processes=1, maxtasks=None, url=None):
    """run: keeps `processes` worker processes serving pool until the pool stops them."""
    for f in funcs:
        load(f)  # a name that cannot be served: fail now, not in every child
    procs, stopping = [], []

    def start():
        p = multiprocessing.Process(target=_child, args=(pool, funcs, url, maxtasks))
        p.start()
        procs.append(p)
        if stopping:
            p.kill()  # SIGTERM came while it was being started

    parent = os.getpid()

    def stop(signum, frame):
        """SIGTERM: the worker processes are killed at once (brokerd gives a task one held
        to another worker). SIGKILL, as a signal that reaches a child during its fork is
        lost (CPython drops signals pending there)."""
        if os.getpid() != parent:  # a child before it reset the handler
            os._exit(128 + signum)
        stopping.append(signum)
        for p in list(procs):
            p.kill()

    signal.signal(signal.SIGTERM, stop)
    for _ in range(processes):
        start()
    while procs:
        multiprocessing.connection.wait([p.sentinel for p in procs])
        for p in [p for p in procs if not p.is_alive()]:
            procs.remove(p)
            p.join()
            if p.exitcode != STOPPED and not stopping:
                start()  # recycled (maxtasksperchild) or died: replace it
    if stopping:
        sys.exit(128 + stopping[0])


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m brokerd.worker",
                                 description="Serve a brokerd pool's tasks with Python "
                                             "functions.")
    ap.add_argument("pool", help="the pool's name")
    ap.add_argument("funcs", nargs="+", metavar="module:function",
                    help="the functions served, by the names submitters use")
    ap.add_argument("--processes", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--maxtasksperchild", type=int, default=None,
                    help="tasks a worker process serves before it is replaced")
    ap.add_argument("--url", default=None, help="brokerd's address (default: $BROKERD_URL, "
                                                 "else the default address)")
    a = ap.parse_args(argv)
    if a.processes < 1 or (a.maxtasksperchild is not None and a.maxtasksperchild < 1):
        ap.error("--processes and --maxtasksperchild take a number of at least 1")
    try:
        run(a.pool, a.funcs, a.processes, a.maxtasksperchild, a.url)
    except (ImportError, AttributeError, TypeError) as e:
        ap.exit(2, "brokerd.worker: cannot serve: %s\n" % e)


if __name__ == "__main__":
    main()
