"""_pool.py: multiprocessing.Pool's API on a brokerd pool (PROTOCOL.md "Pools"): tasks go
to worker processes anywhere (python3 -m brokerd.worker, or any other client), by function
name; brokerd runs nothing. A callable is sent as its name, "module:qualname"."""
import builtins
import collections
import os
import sys
import threading
import traceback
from multiprocessing import TimeoutError as MpTimeoutError

from ._proxies import _KINDS, _Proxy, _timeout_args
from .errors import BrokerError, Exists, TaskError, Timeout, error_for

FETCH_WINDOW = 1024  # task ids an imap fetch names at most

_TASK_ERRORS = {}  # a builtin exception's name -> its TaskError class (see task_error)


def func_name(func):
    """func_name: the name a worker finds func by: a str as it is, a callable as
    "module:qualname" (a function of the main script by the script's module name, which a
    worker started in its directory can import)."""
    if isinstance(func, str):
        return func
    module, qualname = getattr(func, "__module__", None), getattr(func, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise TypeError("a pool task names a function a worker can import: %r has no "
                        "module-level name" % (func,))
    if module == "__main__":
        main = sys.modules["__main__"]
        spec = getattr(main, "__spec__", None)
        module = spec.name if spec else os.path.splitext(os.path.basename(main.__file__))[0]
    return "%s:%s" % (module, qualname)


def task_error(outcome):
    """task_error: the exception of a failed outcome: brokerd.TaskError (code task_error)
    carrying the worker's exception .type and .message, also an instance of that builtin
    exception when it is one (ValueError, KeyError...); worker_lost, timeout and
    terminated as their own classes."""
    code = outcome.get("error") or "internal"
    if code != "task_error":
        return error_for(code, outcome.get("message") or "")
    kind, message = outcome.get("type") or "Exception", outcome.get("message") or ""
    cls = _TASK_ERRORS.get(kind)
    if cls is None:
        base = getattr(builtins, kind, None)
        bases = (TaskError,)
        if isinstance(base, type) and issubclass(base, Exception) and \
                not issubclass(TaskError, base):
            bases = (TaskError, base)
        try:
            cls = type("TaskError[%s]" % kind, bases, {})
        except TypeError:  # a base whose layout does not mix
            cls = TaskError
        _TASK_ERRORS[kind] = cls
    e = cls("%s: %s" % (kind, message))
    e.type, e.message = kind, message
    return e



class AsyncResult:
    """multiprocessing's AsyncResult for one task (apply_async) or several (map_async):
    get(timeout), wait(timeout), ready(), successful()."""

    def __init__(self, pool, ids, single, callback=None, error_callback=None, chunked=False):
        self._pool = pool
        self._ids = ids
        self._single = single
        self._chunked = chunked  # each task's result is a list of results (a chunk)
        self._callback, self._error_callback = callback, error_callback
        self._outcomes = {}
        self._done = threading.Event()
        self._fetching = threading.Lock()  # one thread fetches; the others wait on _done
        if not ids:
            self._done.set()

    def _take(self, outcomes):
        for o in outcomes:
            self._outcomes[o["task"]] = o
        if len(self._outcomes) == len(self._ids) and not self._done.is_set():
            try:
                self._run_callback()  # before get() returns, as Python's
            except Exception:  # a callback's own bug: shown, and the results go on
                traceback.print_exc()
            self._done.set()

    def _run_callback(self):
        if self._callback is None and self._error_callback is None:
            return
        try:
            value = self._value()
        except BrokerError as e:  # the task's error: for error_callback
            if self._error_callback is not None:
                self._error_callback(e)
            return
        if self._callback is not None:
            self._callback(value)

    def _watched(self):
        return self._callback is not None or self._error_callback is not None

    def __del__(self):
        try:
            left = [t for t in self._ids if t not in self._outcomes]
            if left:
                self._pool._give_up(left)
        except Exception:  # the interpreter is going away: the session's end gives up
            pass

    def wait(self, timeout=None):
        if self._done.is_set():
            return
        if self._watched():  # the pool's watcher thread fetches it
            self._done.wait(timeout)
            return
        if not self._fetching.acquire(timeout=-1 if timeout is None else max(timeout, 0)):
            return  # another thread fetches, and did not get it all in time
        try:
            if not self._done.is_set():
                self._take(self._pool._fetch(self._ids, timeout))
        except Timeout:  # not all done yet
            pass
        finally:
            self._fetching.release()

    def ready(self):
        if not self._done.is_set() and not self._watched():
            self.wait(0)
        return self._done.is_set()

    def successful(self):
        if not self.ready():
            raise ValueError("%r not ready" % self)
        return all(o.get("ok") for o in self._outcomes.values())

    def get(self, timeout=None):
        self.wait(timeout)
        if not self._done.is_set():
            raise MpTimeoutError
        return self._value()

    def _value(self):
        values = []
        for tid in self._ids:
            values.extend(_values_of(self._outcomes[tid], self._chunked))
        return values[0] if self._single else values


class Pool(_Proxy):
    """A brokerd pool with multiprocessing.Pool's methods. Tasks run in worker processes
    started apart from the submitter (python3 -m brokerd.worker NAME module:function ...,
    or brokerd.worker.serve), which may die without losing a task: brokerd gives it to
    another worker. A function is named by "module:qualname" (a callable is sent as its
    name); arguments and results are JSON. Callbacks run in this process, in a thread of
    the handle's. map, starmap, imap and imap_unordered send all their tasks in one
    request, chunksize calls to a task (map's default as Python's; 1 for imap). The with
    statement terminates the pool at its end, as Python's."""

    _kind = "pool"

    def __init__(self, client, name=None, max_attempts=None, max_tasks=None):
        super().__init__(client, name)
        args = {k: v for k, v in (("max_attempts", max_attempts), ("max_tasks", max_tasks))
                if v is not None}
        try:
            self._call("pool.create", **args)
        except Exists:
            if args:
                raise  # it exists with other settings than asked for
        self._init_watch()

    @classmethod
    def _attach(cls, client, name, settings):
        self = super()._attach(client, name, settings)
        self._init_watch()
        return self

    def _init_watch(self):
        self._watch_mu = threading.Lock()
        self._watching = {}  # task id -> its AsyncResult, for the watcher thread
        self._watcher = None
        self._dropped = collections.deque()  # ids of results dropped unfetched (_give_up)

    # ---- submitting and fetching ----

    def _submit(self, func, arglists, kwds=None, deadline=None):
        name = func_name(func)
        tasks = []
        for args in arglists:
            task = {"func": name, "args": list(args), "kwargs": dict(kwds or {})}
            if deadline is not None:
                task["deadline"] = deadline
            tasks.append(task)
        return self._send(tasks)

    def _send(self, tasks):
        """_send: submits tasks (their ids), giving up first the tasks of results dropped
        unfetched since the last submit."""
        if self._dropped:
            self._forget_dropped()
        return self._call("pool.submit", tasks=tasks) if tasks else []

    def _give_up(self, ids):
        """_give_up: notes tasks whose outcomes will never be fetched (a result handle or
        an iterator dropped unfinished), for the next submit to give up with pool.forget
        (PROTOCOL.md), so that they do not fill the pool's max_tasks. Called by __del__,
        which may run anywhere: it only appends, without a lock."""
        self._dropped.extend(ids)

    def _forget_dropped(self):
        ids = []
        while self._dropped:
            ids.append(self._dropped.popleft())
        try:
            self._call("pool.forget", tasks=ids)
        except BrokerError:
            pass  # another session's (a fork's parent's) or gone: nothing to give up

    def _submit_chunks(self, func, arglists, chunksize):
        """_submit_chunks: tasks of chunksize calls each (PROTOCOL.md "Chunks"): their ids,
        and whether they are chunks (not for a chunksize of 1). chunksize None: as Python's
        Pool.map picks it (about four chunks per worker, here taken as 4 workers)."""
        arglists = [list(a) for a in arglists]
        if chunksize is None:
            chunksize, extra = divmod(len(arglists), 4 * 4)
            chunksize = max(chunksize + bool(extra), 1)
        if chunksize < 1:
            raise ValueError("Chunksize must be 1+, not %r" % (chunksize,))
        if chunksize == 1:
            return self._submit(func, arglists), False
        name = func_name(func)
        chunks = [arglists[i:i + chunksize] for i in range(0, len(arglists), chunksize)]
        return self._send([{"func": name, "chunk": c} for c in chunks]), True

    def _fetch(self, ids, timeout=None, any_=False):
        args = {"tasks": list(ids)}
        if any_:
            args["any"] = True
        if timeout is not None and timeout <= 0:
            args["block"] = False
        else:
            args.update(_timeout_args(timeout))
        return self._call("pool.result", **args)

    def _result(self, ids, single, callback, error_callback, chunked=False):
        r = AsyncResult(self, ids, single, callback, error_callback, chunked)
        if r._watched() and ids:
            self._watch(r)
        return r

    def _watch(self, r):
        with self._watch_mu:
            for tid in r._ids:
                self._watching[tid] = r
            if self._watcher is None or not self._watcher.is_alive():
                self._watcher = threading.Thread(target=self._watch_loop, daemon=True,
                                                 name="brokerd-pool-" + self.name)
                self._watcher.start()

    def _watch_loop(self):
        """_watch_loop: fetches the outcomes of tasks with callbacks as they come and runs
        the callbacks; ends when none is left. It waits at most 50 ms at a time, so that
        tasks submitted meanwhile are watched too."""
        while True:
            with self._watch_mu:
                ids = list(self._watching)
                if not ids:
                    self._watcher = None
                    return
            try:
                outcomes = self._fetch(ids, 0.05, any_=True)
            except Timeout:  # none done in 50 ms
                continue
            except BrokerError as e:
                self._fail_watched(ids, e)
                continue
            self._deliver(outcomes)

    def _deliver(self, outcomes):
        by_result = {}
        with self._watch_mu:
            for o in outcomes:
                r = self._watching.pop(o["task"], None)
                if r is not None:
                    by_result.setdefault(id(r), (r, []))[1].append(o)
        for r, got in by_result.values():
            r._take(got)

    def _fail_watched(self, ids, e):
        self._deliver([{"task": t, "ok": False, "error": e.code, "message": str(e)}
                       for t in ids])

    # ---- multiprocessing.Pool's methods ----

    def apply(self, func, args=(), kwds=None):
        return self.apply_async(func, args, kwds).get()

    def apply_async(self, func, args=(), kwds=None, callback=None, error_callback=None,
                    deadline=None):
        """apply_async: an AsyncResult of func(*args, **kwds) run by a worker; deadline:
        seconds one run may take (then it fails with brokerd.Timeout)."""
        ids = self._submit(func, [args], kwds, deadline)
        return self._result(ids, True, callback, error_callback)

    def map(self, func, iterable, chunksize=None):
        return self.map_async(func, iterable, chunksize).get()

    def map_async(self, func, iterable, chunksize=None, callback=None, error_callback=None):
        return self.starmap_async(func, [(x,) for x in iterable], chunksize, callback,
                                  error_callback)

    def starmap(self, func, iterable, chunksize=None):
        return self.starmap_async(func, iterable, chunksize).get()

    def starmap_async(self, func, iterable, chunksize=None, callback=None,
                      error_callback=None):
        ids, chunked = self._submit_chunks(func, iterable, chunksize)
        return self._result(ids, False, callback, error_callback, chunked)

    def imap(self, func, iterable, chunksize=1):
        """imap: an IMapIterator of the results in input order, each as soon as it and
        those before it are done."""
        ids, chunked = self._submit_chunks(func, [(x,) for x in iterable], chunksize)
        return IMapIterator(self, ids, chunked, True)

    def imap_unordered(self, func, iterable, chunksize=1):
        """imap_unordered: an IMapIterator of the results as they are done (a chunk's
        together)."""
        ids, chunked = self._submit_chunks(func, [(x,) for x in iterable], chunksize)
        return IMapIterator(self, ids, chunked, False)

    def close(self):
        self._call("pool.close")

    def terminate(self):
        self._call("pool.terminate")

    def join(self, timeout=None):
        """join: waits until the pool is closed (or terminated) and every task has run;
        ValueError on a running pool, as Python's."""
        self._call("pool.join", **_timeout_args(timeout))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.terminate()


def _values_of(outcome, chunked):
    """_values_of: the results a task's outcome carries (a chunk's, or its one), or raises
    its error."""
    if not outcome.get("ok"):
        raise task_error(outcome)
    result = outcome.get("result")
    return result if chunked else [result]


class IMapIterator:
    """multiprocessing's IMapIterator: next(timeout) gives the next result (raising
    multiprocessing.TimeoutError when it is not there in time). A failed task's error is
    raised in its place and the iteration goes on after it, as Python's; a failed chunk
    ends it, as Python's. Outcomes are fetched FETCH_WINDOW tasks at a time."""

    def __init__(self, pool, ids, chunked, ordered):
        self._pool, self._chunked, self._ordered = pool, chunked, ordered
        self._order = collections.deque(ids)  # ordered: the ids still to give, in order
        self._left = list(ids)                # not fetched yet, in order
        self._got = {}                        # ordered: fetched outcomes by id
        self._ready = collections.deque()     # unordered: fetched outcomes to give
        self._values = collections.deque()    # the current outcome's results to give
        self._ended = False

    def __iter__(self):
        return self

    def __next__(self):
        return self.next()

    def __del__(self):
        try:
            if self._left:
                self._pool._give_up(self._left)
        except Exception:  # the interpreter is going away: the session's end gives up
            pass

    def next(self, timeout=None):
        while not self._values:
            outcome = None if self._ended else self._next_outcome(timeout)
            if outcome is None:
                raise StopIteration
            if not outcome.get("ok") and self._chunked:
                self._ended = True
            self._values.extend(_values_of(outcome, self._chunked))
        return self._values.popleft()

    def _next_outcome(self, timeout):
        if self._ordered:
            if not self._order:
                return None
            while self._order[0] not in self._got:
                self._fetch_some(timeout)
            return self._got.pop(self._order.popleft())
        if not self._ready:
            if not self._left:
                return None
            self._fetch_some(timeout)
        return self._ready.popleft()

    def _fetch_some(self, timeout):
        try:
            outcomes = self._pool._fetch(self._left[:FETCH_WINDOW], timeout, any_=True)
        except Timeout:
            raise MpTimeoutError from None
        done = {o["task"] for o in outcomes}
        self._left = [t for t in self._left if t not in done]
        for o in outcomes:
            if self._ordered:
                self._got[o["task"]] = o
            else:
                self._ready.append(o)


_KINDS["pool"] = Pool  # handles pickle as (url, name, type)
