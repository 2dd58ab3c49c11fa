"""brokerd.worker: serves the tasks of a brokerd pool (PROTOCOL.md "Pools") with Python
functions.

    python3 -m brokerd.worker POOL module:function [module:function ...]
                              [--processes N] [--maxtasksperchild N] [--url URL]
                              [--token-file FILE]

Each function is imported by its name ("module:qualname"), as Pool.apply_async sends it.
With --processes N, N worker processes serve at once, each with its own connection; one
that dies (or served --maxtasksperchild tasks) is replaced, as multiprocessing.Pool
replaces its workers; after 6 in a row failed as they started (brokerd unreachable, say),
it gives up with status 1. The workers stop when the pool is closed and drained, terminated
or deleted, or when brokerd shuts down, and die with the parent process.
A task a worker was running when it died goes back to the pool and runs elsewhere.
A brokerd configured with principals takes the token of --token-file, else of
$BROKERD_TOKEN or $BROKERD_TOKEN_FILE (see brokerd.connect)."""
import argparse
import ctypes
import importlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time

import brokerd
from . import _token
from ._client import check_json
from .errors import BrokerError, Invalid, Unauthorized

STOPPED = 3  # a worker's exit status once the pool is closed or terminated
UNREACHABLE = 4  # a worker's exit status when brokerd cannot be reached
QUICK = 1.0  # seconds: a worker process that fails sooner failed to start
GIVE_UP = 6  # worker processes in a row that failed to start or reach brokerd: give up
PR_SET_PDEATHSIG = 1


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


def serve(pool, funcs, url=None, maxtasks=None, client=None, token=None, token_file=None):
    """serve: takes the tasks of pool (a name) for funcs (names, or a dict of name ->
    callable) and answers each with its function's result, or its exception's type name
    and message, until the pool is closed and drained or terminated (returns True) or
    maxtasks tasks were served (returns False). Without client, it connects to url with
    token or token_file (as brokerd.connect)."""
    table = funcs if isinstance(funcs, dict) else {f: load(f) for f in funcs}
    c = client or brokerd.connect(url, token=token, token_file=token_file)
    served, done = 0, None
    try:
        while maxtasks is None or served < maxtasks:
            args = {"funcs": list(table)}
            if done is not None:
                args["done"], done = done, None  # the last answer rides with the next request
            try:
                task = c.call("pool.work", pool, **args)
            except BrokerError as e:
                if e.code in ("closed", "terminated", "deleted", "shutting_down") or (
                        e.code == "not_found" and "done" in args):
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


def _child(pool, funcs, url, maxtasks, parent, token_file=None):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with(parent)
    try:
        stopped = serve(pool, funcs, url, maxtasks, token_file=token_file)
    except (ConnectionError, Unauthorized) as e:  # brokerd unreachable, gone or refusing us
        print("brokerd.worker: %s" % e, file=sys.stderr)
        sys.exit(UNREACHABLE)
    sys.exit(STOPPED if stopped else 0)


def _die_with(parent):
    """_die_with: this worker process ends when the parent does, even by SIGKILL, as
    multiprocessing's pool workers do (Linux's PR_SET_PDEATHSIG; elsewhere not)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the request was made
        os._exit(1)


def run(pool, funcs, processes=1, maxtasks=None, url=None, token_file=None):
    """run: keeps `processes` worker processes serving pool until the pool stops them."""
    for f in funcs:
        load(f)  # a name that cannot be served: fail now, not in every child
    if token_file:
        _token.read_file(token_file)  # a refused file, too
    procs, stopping, since = [], [], {}
    parent = os.getpid()

    def start():
        p = multiprocessing.Process(target=_child,
                                    args=(pool, funcs, url, maxtasks, parent, token_file))
        p.start()
        procs.append(p)
        since[p] = time.monotonic()
        if stopping:
            p.kill()  # SIGTERM came while it was being started

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
    failed = 0  # worker processes in a row that failed to start
    while procs:
        multiprocessing.connection.wait([p.sentinel for p in procs])
        for p in [p for p in procs if not p.is_alive()]:
            procs.remove(p)
            p.join()
            lived = time.monotonic() - since.pop(p)
            if p.exitcode == STOPPED or stopping:
                continue
            bad = p.exitcode == UNREACHABLE or (p.exitcode != 0 and lived < QUICK)
            failed = failed + 1 if bad else 0
            if failed >= GIVE_UP:
                for q in procs:
                    q.kill()
                sys.exit("brokerd.worker: %d worker processes in a row failed as they "
                         "started or could not reach brokerd (see above); giving up" % failed)
            if failed:
                time.sleep(0.1 * 2 ** failed)  # 0.2 s, 0.4 s ... between attempts
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
    ap.add_argument("--token-file", default=None, metavar="FILE",
                    help="authenticate with the token on FILE's first line (default: "
                         "$BROKERD_TOKEN, else $BROKERD_TOKEN_FILE)")
    a = ap.parse_args(argv)
    if a.processes < 1 or (a.maxtasksperchild is not None and a.maxtasksperchild < 1):
        ap.error("--processes and --maxtasksperchild take a number of at least 1")
    try:
        run(a.pool, a.funcs, a.processes, a.maxtasksperchild, a.url, a.token_file)
    except (ImportError, AttributeError, TypeError, Invalid) as e:
        ap.exit(2, "brokerd.worker: cannot serve: %s\n" % e)


if __name__ == "__main__":
    main()
