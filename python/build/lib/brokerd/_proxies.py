"""_proxies.py: Python-shaped handles on brokerd objects: Queue (as queue.Queue), Dict (a
MutableMapping), Lock and RLock (as threading's). A handle pickles as (url, name, type) and
finds its client again in the receiving process (one client per url per process)."""
import uuid
from collections.abc import MutableMapping

from ._client import client_for

_MISSING = object()
MAX_TIMEOUT = 1e8


def _rebuild(url, kind, name, settings):
    return _KINDS[kind]._attach(client_for(url), name, settings)


def _fresh_name(name):
    return name if name is not None else "py-" + uuid.uuid4().hex


class _Proxy:
    _kind = None

    def __init__(self, client, name):
        self._client = client
        self.name = _fresh_name(name)

    @classmethod
    def _attach(cls, client, name, settings):
        self = cls.__new__(cls)
        _Proxy.__init__(self, client, name)
        self._settings(settings)
        return self

    def _settings(self, settings):
        pass

    def _state(self):
        return None

    def __reduce__(self):
        return (_rebuild, (self._client.url, self._kind, self.name, self._state()))

    def __repr__(self):
        return "<brokerd %s %r at %s>" % (self._kind, self.name, self._client.url)

    def _call(self, op, **args):
        return self._client.call(op, self.name, **args)


def _wait_args(block, timeout):
    """_wait_args: the "block"/"timeout" arguments for Python's (block, timeout)."""
    if not block:
        return {"block": False}
    if timeout is None:
        return {}
    if timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")
    if timeout > MAX_TIMEOUT:
        return {}  # brokerd's limit is about three years: longer is no limit
    return {"timeout": timeout}


class Queue(_Proxy):
    """A brokerd queue with queue.Queue's methods; get/put raise queue.Empty/queue.Full.
    Items are JSON values. A got item is confirmed to brokerd with the client's next
    request, so a consumer that dies holding it does not lose it."""

    _kind = "queue"

    def __init__(self, client, name=None, maxsize=0, kind="fifo"):
        """A handle on queue name (None: a new unique name). With a maxsize or kind other
        than the defaults it creates the queue (Exists if it exists with other settings);
        with the defaults it attaches to the queue as it is (every queue op creates an
        unbounded FIFO queue when the name is free)."""
        super().__init__(client, name)
        self.maxsize = maxsize
        if maxsize > 0 or kind != "fifo":
            self._call("queue.create", kind=kind, maxsize=maxsize)

    def _settings(self, settings):
        self.maxsize = settings

    def _state(self):
        return self.maxsize

    def put(self, item, block=True, timeout=None):
        self._call("queue.put", value=item, **_wait_args(block, timeout))

    def put_nowait(self, item):
        self.put(item, False)

    def get(self, block=True, timeout=None):
        return self._call("queue.get", confirm=True, **_wait_args(block, timeout))

    def get_nowait(self):
        return self.get(False)

    def qsize(self):
        return self._call("queue.qsize")

    def empty(self):
        return self._call("queue.empty")

    def full(self):
        return self._call("queue.full")

    def task_done(self):
        self._call("queue.task_done")

    def join(self):
        self._call("queue.join")


class Dict(_Proxy, MutableMapping):
    """A brokerd dict as a MutableMapping. Keys are JSON scalars (str, int, float, bool,
    None), values any JSON. keys()/values()/items() return lists read at once."""

    _kind = "dict"

    def __getitem__(self, key):
        return self._call("dict.get", key=key)

    def __setitem__(self, key, value):
        self._call("dict.set", key=key, value=value)

    def __delitem__(self, key):
        self._call("dict.delete", key=key)

    def __len__(self):
        return self._call("dict.len")

    def __iter__(self):
        return iter(self._call("dict.keys"))

    def __contains__(self, key):
        return self._call("dict.contains", key=key)

    def get(self, key, default=None):
        return self._call("dict.get", key=key, default=default)

    def keys(self):
        return self._call("dict.keys")

    def values(self):
        return self._call("dict.values")

    def items(self):
        return [tuple(kv) for kv in self._call("dict.items")]

    def pop(self, key, default=_MISSING):
        if default is _MISSING:
            return self._call("dict.pop", key=key)
        return self._call("dict.pop", key=key, default=default)

    def popitem(self):
        return tuple(self._call("dict.popitem"))

    def setdefault(self, key, default=None):
        return self._call("dict.setdefault", key=key, default=default)

    def update(self, other=(), **kw):
        if hasattr(other, "keys"):
            pairs = [[k, other[k]] for k in other.keys()]
        else:
            pairs = [list(kv) for kv in other]
        pairs.extend([k, v] for k, v in kw.items())
        if pairs:
            self._call("dict.update", items=pairs)

    def clear(self):
        self._call("dict.clear")

    def copy(self):
        return dict(self.items())

    def incr(self, key, by=1):
        return self._call("dict.incr", key=key, by=by)


class Lock(_Proxy):
    """A brokerd Lock, held by the acquiring thread (another thread of the same process
    neither re-acquires it nor releases it: RuntimeError) and released by brokerd when the
    process's session ends."""

    _kind = "lock"
    _prefix = "lock."

    def __init__(self, client, name=None):
        super().__init__(client, name)

    def acquire(self, blocking=True, timeout=-1):
        if not blocking and timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        if timeout < 0 and timeout != -1:
            raise ValueError("timeout value must be a non-negative number")
        args = _wait_args(blocking, None if timeout == -1 else timeout)
        r = self._call(self._prefix + "acquire", **args)
        return bool(r.get("acquired"))

    __enter__ = acquire

    def release(self):
        self._call(self._prefix + "release")

    def __exit__(self, *exc):
        self.release()

    def locked(self):
        return self._call(self._prefix + "locked")


class RLock(Lock):
    """A brokerd RLock: re-entrant for the thread that holds it."""

    _kind = "rlock"
    _prefix = "rlock."


class Semaphore(_Proxy):
    """A brokerd Semaphore (bounded: BoundedSemaphore). Permits are held by the process's
    session and come back if it ends; any thread may release, as in Python."""

    _kind = "semaphore"

    def __init__(self, client, name=None, value=1, bounded=False):
        super().__init__(client, name)
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._call("semaphore.create", value=value, bounded=bounded)

    def acquire(self, blocking=True, timeout=None):
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        r = self._call("semaphore.acquire", **_wait_args(blocking, timeout))
        return bool(r.get("acquired"))

    __enter__ = acquire

    def release(self, n=1):
        if n < 1:
            raise ValueError("n must be one or more")
        self._call("semaphore.release", n=n)

    def __exit__(self, *exc):
        self.release()

    def value(self):
        return self._call("semaphore.value")


class Event(_Proxy):
    """A brokerd Event, as threading.Event."""

    _kind = "event"

    def is_set(self):
        return self._call("event.is_set")

    def set(self):
        self._call("event.set")

    def clear(self):
        self._call("event.clear")

    def wait(self, timeout=None):
        args = {}
        if timeout is not None:
            timeout = max(timeout, 0)
            if timeout <= MAX_TIMEOUT:
                args["timeout"] = timeout
        return self._call("event.wait", **args)


_KINDS = {"queue": Queue, "dict": Dict, "lock": Lock, "rlock": RLock,
          "semaphore": Semaphore, "event": Event}
