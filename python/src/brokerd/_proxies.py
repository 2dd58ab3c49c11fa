"""_proxies.py: Python-shaped handles on brokerd objects: Queue and PriorityQueue (as
queue's), Dict (a MutableMapping), Lock, RLock, Semaphore, Event, Condition and Barrier (as
threading's), Value and Array (as multiprocessing's), List (a MutableSequence) and
Namespace. A handle pickles as (url, name, type) and finds its client again in the
receiving process (one client per url per process)."""
import base64
import operator
import threading
import time
import uuid
from collections.abc import MutableMapping, MutableSequence, Sequence

from ._client import INT_MAX, INT_MIN, client_for
from multiprocessing import BufferTooShort

from .errors import NotFound, PipeClosed, TooLong

_MISSING = object()
MAX_TIMEOUT = 1e8


def _rebuild(url, kind, name, settings):
    return _KINDS[kind]._attach(client_for(url), name, settings)


def _fresh_name(client, name):
    """name, or for an unnamed object a new one, under the prefix the client's principal is
    confined to (brokerd refuses names outside it)."""
    if name is not None:
        return name
    prefix = (client.hello or {}).get("prefix") or ""
    return prefix + "py-" + uuid.uuid4().hex


def _timeout_args(timeout):
    """{"timeout": t} for a wait of at most t seconds; {} (no limit) for None or beyond
    brokerd's largest timeout."""
    if timeout is None:
        return {}
    timeout = max(timeout, 0)
    return {"timeout": timeout} if timeout <= MAX_TIMEOUT else {}


class _Proxy:
    _kind = None
    _track = False  # whether replies' versions are noted (shared state)

    def __init__(self, client, name):
        self._client = client
        self.name = _fresh_name(client, name)
        if name is None:
            client._note_anonymous(self.name)

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

    def _call(self, op, _then=None, **args):
        return self._client._run(op, self.name, args, _then, None)

    def stat(self):
        """stat: brokerd's stat of the object (a dict: type, size, waiters, created and the
        type's own fields, PROTOCOL.md "Daemon")."""
        return self._call("stat")


class _Shared(_Proxy):
    """Shared state (dict, list, value, array): every reply carries the object's version
    (PROTOCOL.md "Versions"); .version is the one this thread's last op on this handle
    saw, and if_version(v) is a handle whose writes run only at version v."""

    _track = True

    def __init__(self, client, name):
        super().__init__(client, name)
        self._seen = threading.local()
        self._if_version = None

    @classmethod
    def _attach(cls, client, name, settings):
        self = cls.__new__(cls)
        _Shared.__init__(self, client, name)
        self._settings(settings)
        return self

    def _call(self, op, _then=None, **args):
        if self._if_version is not None and op in WRITE_OPS:
            args["version"] = self._if_version
        return self._client._run(op, self.name, args, _then, self)

    @property
    def version(self):
        """version: the object's version as this thread's last op on this handle saw it
        (read it together with the data); before any op, brokerd's current one (0: the
        object does not exist)."""
        return _version_of(self, self.stat)

    def if_version(self, version):
        """if_version: this handle with every write made conditional: it runs only if the
        object is still at version (0: only if it does not exist yet), else raises
        brokerd.Conflict and changes nothing. Reads are unconditional."""
        return _view(self, "_if_version", version)


def _version_of(handle, stat):
    v = getattr(handle._seen, "version", None)
    if v is not None:
        return v
    try:
        return stat().get("version", 0)
    except NotFound:
        return 0  # a missing object is at version 0


def _view(handle, attr, version):
    """_view: a copy of handle (the same client, name and seen versions) with attr set to
    version, the condition of its writes."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError("a version is an integer >= 0")
    view = object.__new__(type(handle))
    view.__dict__.update(handle.__dict__)
    object.__setattr__(view, attr, version)
    return view


# the shared-state ops that write, and so take "version" (PROTOCOL.md "Versions")
WRITE_OPS = frozenset(
    ["dict." + op for op in ("set", "delete", "pop", "popitem", "setdefault", "update",
                             "clear", "incr", "cas")]
    + ["list." + op for op in ("create", "append", "extend", "insert", "pop", "remove",
                               "reverse", "sort", "set", "delete", "clear")]
    + ["value." + op for op in ("create", "set", "add", "cas", "getset")]
    + ["array." + op for op in ("create", "set", "add")]
    + ["namespace.set", "namespace.delete"])


_KEY_TYPES = frozenset((str, int, float, bool, type(None)))


def _key(key):
    """_key: key, if it can be a brokerd dict key (a JSON scalar); else TypeError, as Python
    gives for a key that is not hashable."""
    if type(key) not in _KEY_TYPES and not isinstance(key, (str, int, float)):
        raise TypeError("a brokerd dict key is str, int, float, bool or None, not %s"
                        % type(key).__name__)
    return key


def _pair(kv, i):
    """_pair: [key, value] of the i-th element given to Dict.update, as dict.update wants
    it: a sequence of two."""
    try:
        kv = list(kv)
    except TypeError:
        raise TypeError("cannot convert dictionary update sequence element #%d to a "
                        "sequence" % i) from None
    if len(kv) != 2:
        raise ValueError("dictionary update sequence element #%d has length %d; 2 is "
                         "required" % (i, len(kv)))
    return [_key(kv[0]), kv[1]]


def _tuples(pairs):
    return [tuple(kv) for kv in pairs]


def _tuple_if_list(item):
    return tuple(item) if isinstance(item, list) else item


def _acquired(r):
    return bool(r.get("acquired"))


def _notified(r):
    return bool(r.get("notified"))


def _swapped(r):
    return bool(r.get("swapped")), r.get("value")


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


def _ephemeral(ephemeral):
    """_ephemeral: the create argument that keeps an object out of brokerd's data dir (sent
    only when asked for, so that creating is the same request as before otherwise)."""
    return {"ephemeral": True} if ephemeral else {}


class Queue(_Proxy):
    """A brokerd queue with queue.Queue's methods; get/put raise queue.Empty/queue.Full.
    Items are JSON values. A got item is confirmed to brokerd with the client's next
    request, so a consumer that dies holding it does not lose it."""

    _kind = "queue"

    def __init__(self, client, name=None, maxsize=0, kind="fifo", ephemeral=False):
        """A handle on queue name (None: a new queue with a unique name). With a maxsize or
        kind other than the defaults, or ephemeral, it creates the queue (Exists if it
        exists with other settings); with the defaults it attaches to the queue as it is
        (every queue op creates an unbounded FIFO queue when the name is free). ephemeral:
        kept out of brokerd's data dir (gone after a restart)."""
        super().__init__(client, name)
        self.maxsize = maxsize
        if maxsize > 0 or kind != "fifo" or name is None or ephemeral:
            self._call("queue.create", kind=kind, maxsize=maxsize, **_ephemeral(ephemeral))

    def _settings(self, settings):
        self.maxsize = settings

    def _state(self):
        return self.maxsize

    def put(self, item, block=True, timeout=None):
        if self.maxsize <= 0 and timeout is not None and timeout < 0:
            timeout = None  # as queue.Queue: an unbounded put never waits
        return self._call("queue.put", value=item, **_wait_args(block, timeout))

    def put_nowait(self, item):
        return self.put(item, False)

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
        return self._call("queue.task_done")

    def join(self):
        return self._call("queue.join")


class Dict(_Shared, MutableMapping):
    """A brokerd dict as a MutableMapping. Keys are JSON scalars (str, int, float, bool,
    None), values any JSON. keys()/values()/items() return lists read at once."""

    _kind = "dict"

    def __getitem__(self, key):
        return self._call("dict.get", key=key if type(key) in _KEY_TYPES else _key(key))

    def __setitem__(self, key, value):
        return self._call("dict.set", key=key if type(key) in _KEY_TYPES else _key(key),
                          value=value)

    def __delitem__(self, key):
        return self._call("dict.delete", key=_key(key))

    def __len__(self):
        return self._call("dict.len")

    def __iter__(self):
        return iter(self._call("dict.keys"))

    def __contains__(self, key):
        return self._call("dict.contains", key=_key(key))

    def get(self, key, default=None):
        return self._call("dict.get", key=_key(key), default=default)

    def keys(self):
        return self._call("dict.keys")

    def values(self):
        return self._call("dict.values")

    def items(self):
        return self._call("dict.items", _then=_tuples)

    def pages(self, size=1000):
        """pages: the dict's items as lists of at most size (key, value) pairs, read one page
        per request (dict.items with limit and after): for a dict too large to read in one
        reply. Items added meanwhile come at the end; a page's last key deleted meanwhile
        raises KeyError."""
        args = {"limit": size}
        while True:
            r = self._call("dict.items", **args)
            yield _tuples(r["page"])
            if not r["more"]:
                return
            args["after"] = r["after"]

    def pop(self, key, default=_MISSING):
        if default is _MISSING:
            return self._call("dict.pop", key=_key(key))
        return self._call("dict.pop", key=_key(key), default=default)

    def popitem(self):
        return self._call("dict.popitem", _then=tuple)

    def setdefault(self, key, default=None):
        return self._call("dict.setdefault", key=_key(key), default=default)

    def update(self, other=(), **kw):
        if hasattr(other, "keys"):
            pairs = [[_key(k), other[k]] for k in other.keys()]
        else:
            pairs = [_pair(kv, i) for i, kv in enumerate(other)]
        pairs.extend([k, v] for k, v in kw.items())
        if pairs:
            return self._call("dict.update", items=pairs)

    def clear(self):
        return self._call("dict.clear")

    def copy(self):
        return dict(self.items())

    def incr(self, key, by=1):
        return self._call("dict.incr", key=_key(key), by=by)


class Lock(_Proxy):
    """A brokerd Lock, held by the acquiring thread (another thread of the same process
    neither re-acquires it nor releases it: RuntimeError) and released by brokerd when the
    process's session ends."""

    _kind = "lock"
    _prefix = "lock."

    def __init__(self, client, name=None):
        """A handle on the lock name, created (as this kind) if it does not exist."""
        super().__init__(client, name)
        self._call(self._prefix + "locked")

    def acquire(self, blocking=True, timeout=-1):
        if not blocking and timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        if timeout < 0 and timeout != -1:
            raise ValueError("timeout value must be a non-negative number")
        args = _wait_args(blocking, None if timeout == -1 else timeout)
        return self._call(self._prefix + "acquire", _then=_acquired, **args)

    __enter__ = acquire

    def release(self):
        return self._call(self._prefix + "release")

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
        if timeout is not None and timeout < 0:
            timeout = 0  # as threading.Semaphore
        return self._call("semaphore.acquire", _then=_acquired, **_wait_args(blocking, timeout))

    __enter__ = acquire

    def release(self, n=1):
        if n < 1:
            raise ValueError("n must be one or more")
        return self._call("semaphore.release", n=n)

    def __exit__(self, *exc):
        self.release()

    def value(self):
        return self._call("semaphore.value")


class Event(_Proxy):
    """A brokerd Event, as threading.Event."""

    _kind = "event"

    def __init__(self, client, name=None):
        """A handle on the event name, created (not set) if it does not exist."""
        super().__init__(client, name)
        self._call("event.is_set")

    def is_set(self):
        return self._call("event.is_set")

    def set(self):
        return self._call("event.set")

    def clear(self):
        return self._call("event.clear")

    def wait(self, timeout=None):
        return self._call("event.wait", **_timeout_args(timeout))


class PriorityQueue(Queue):
    """A brokerd priority queue as queue.PriorityQueue: put((priority, value)) is queue.put
    with "priority" the item's first element (a number; an item that is a number is its own
    priority) and "value" the whole item; get returns the item as a tuple. Lower priorities
    come out first, FIFO among equals (brokerd compares priorities only, not the rest)."""

    _kind = "priorityqueue"

    def __init__(self, client, name=None, maxsize=0, ephemeral=False):
        Queue.__init__(self, client, name, maxsize, "priority", ephemeral)

    def put(self, item, block=True, timeout=None):
        if isinstance(item, (tuple, list)) and item:
            priority = item[0]
        else:
            priority = item
        if isinstance(priority, bool) or not isinstance(priority, (int, float)):
            raise TypeError("a priority must be a number, not %s" % type(priority).__name__)
        if self.maxsize <= 0 and timeout is not None and timeout < 0:
            timeout = None
        return self._call("queue.put", value=item, priority=priority, **_wait_args(block, timeout))

    def get(self, block=True, timeout=None):
        return self._call("queue.get", _then=_tuple_if_list, confirm=True,
                          **_wait_args(block, timeout))


class Condition(_Proxy):
    """A brokerd Condition (threading.Condition) bound to a named Lock or RLock: acquire,
    release, wait, notify and notify_all are condition.*; wait_for loops on the client, as
    Python's. Held per thread, like the lock."""

    _kind = "condition"

    def __init__(self, client, name=None, lock=None):
        """condition.create on lock: a Lock or RLock handle, a lock's name, or None for a new
        RLock (as Python's default)."""
        super().__init__(client, name)
        lock_type = "lock" if isinstance(lock, Lock) and not isinstance(lock, RLock) else "rlock"
        if lock is None:
            lock = _fresh_name(client, None)
            client._note_anonymous(lock)
        elif not isinstance(lock, str):
            lock = lock.name
        self._call("condition.create", lock=lock, lock_type=lock_type)

    def acquire(self, blocking=True, timeout=-1):
        if not blocking and timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        if timeout < 0 and timeout != -1:
            raise ValueError("timeout value must be a non-negative number")
        args = _wait_args(blocking, None if timeout == -1 else timeout)
        return self._call("condition.acquire", _then=_acquired, **args)

    __enter__ = acquire

    def release(self):
        return self._call("condition.release")

    def __exit__(self, *exc):
        self.release()

    def wait(self, timeout=None):
        """wait: condition.wait; True if notified, False on timeout (the lock is held
        again either way). RuntimeError without the lock."""
        return self._call("condition.wait", _then=_notified, **_timeout_args(timeout))

    def wait_for(self, predicate, timeout=None):
        """wait_for: Python's loop: wait until predicate() is true or the time is up; the
        predicate's last result."""
        endtime = None
        waittime = timeout
        result = predicate()
        while not result:
            if waittime is not None:
                if endtime is None:
                    endtime = time.monotonic() + waittime
                else:
                    waittime = endtime - time.monotonic()
                    if waittime <= 0:
                        break
            self.wait(waittime)
            result = predicate()
        return result

    def notify(self, n=1):
        """notify: condition.notify; the number of waiters woken."""
        return self._call("condition.notify", n=max(n, 0))  # n < 1 wakes nobody

    def notify_all(self):
        return self._call("condition.notify_all")


class Barrier(_Proxy):
    """A brokerd Barrier (threading.Barrier, without an action): wait, abort and reset are
    barrier.*; a broken barrier raises threading.BrokenBarrierError. parties, n_waiting
    and broken come from stat."""

    _kind = "barrier"

    def __init__(self, client, name=None, parties=None, timeout=None):
        """barrier.create with parties and the default timeout (Exists if the barrier exists
        with other settings)."""
        super().__init__(client, name)
        if parties is None:
            raise TypeError("Barrier needs parties")
        args = {"parties": parties}
        if timeout is not None:
            args["timeout"] = timeout
        self._call("barrier.create", **args)

    def wait(self, timeout=None):
        """wait: barrier.wait; this party's arrival index (0 to parties - 1)."""
        return self._call("barrier.wait", **_timeout_args(timeout))

    def abort(self):
        return self._call("barrier.abort")

    def reset(self):
        return self._call("barrier.reset")

    def _stat(self, field):
        return self._call("stat", _then=operator.itemgetter(field))

    @property
    def parties(self):
        return self._stat("parties")

    @property
    def n_waiting(self):
        return self._stat("n_waiting")

    @property
    def broken(self):
        return self._stat("broken")


# ---- shared state: values, lists, namespaces, arrays ----

_VALUE_TYPES = {int: "int", float: "float", bool: "bool", str: "str"}
for _c in "bBhHiIlLqQ":
    _VALUE_TYPES[_c] = "int"
for _c in "fd":
    _VALUE_TYPES[_c] = "float"
_VALUE_TYPES["?"] = "bool"
_VALUE_TYPES["u"] = "str"
_VALUE_TYPES.update({"int": "int", "float": "float", "bool": "bool", "str": "str"})


def _value_type(typecode_or_type):
    """_value_type: brokerd's value type for a ctypes/array typecode or a Python type:
    integer codes (b B h H i I l L q Q) and int -> "int" (signed 64-bit); 'f', 'd' and
    float -> "float"; '?' and bool -> "bool"; 'u' and str -> "str"."""
    try:
        return _VALUE_TYPES[typecode_or_type]
    except (KeyError, TypeError):
        raise TypeError("no brokerd value type for %r" % (typecode_or_type,)) from None


def _sel(key):
    """_sel: the "index" or "slice" argument for a Python index or slice."""
    if isinstance(key, slice):
        return {"slice": [_index_or_none(key.start), _index_or_none(key.stop),
                          _index_or_none(key.step)]}
    try:
        return {"index": _position(key)}
    except TypeError:
        raise TypeError("indices must be integers or slices, not %s"
                        % type(key).__name__) from None


def _index_or_none(i):
    """_index_or_none: a slice bound as brokerd takes it (signed 64-bit: a bound beyond
    selects what the largest one does, as Python's slices clamp)."""
    return None if i is None else _clamp(operator.index(i))


def _clamp(i):
    i = int(i)  # before 3.10, operator.index(True) is True: send 1
    return INT_MIN if i < INT_MIN else INT_MAX if i > INT_MAX else i


def _position(i, what="index"):
    """_position: an index as brokerd takes it; IndexError for one beyond 64 bits (no
    sequence is that long)."""
    i = int(operator.index(i))
    if not INT_MIN <= i <= INT_MAX:
        raise IndexError("%s out of range" % what)
    return i


class Value(_Shared):
    """A brokerd value (multiprocessing.Value): .value is value.get/value.set; add, cas and
    getset are value.add/cas/getset. Its type is fixed at creation and checked by brokerd
    (type_error: TypeError). No lock: every op is atomic in brokerd."""

    _kind = "value"

    def __init__(self, client, name=None, typecode_or_type="i", value=_MISSING,
                 ephemeral=False):
        """value.create with the type of typecode_or_type (see _value_type) and value
        (default: the type's zero); an existing value of that type is left as it is.
        ephemeral: kept out of brokerd's data dir."""
        super().__init__(client, name)
        args = {"type": _value_type(typecode_or_type), **_ephemeral(ephemeral)}
        if value is not _MISSING:
            args["value"] = value
        self._call("value.create", **args)

    @property
    def value(self):
        return self._call("value.get")

    @value.setter
    def value(self, v):
        self._call("value.set", value=v)

    def get(self):
        return self._call("value.get")

    def set(self, v):
        return self._call("value.set", value=v)

    def add(self, n=1):
        """add: value.add; the new value."""
        return self._call("value.add", delta=n)

    def cas(self, expected, new):
        """cas: value.cas; (swapped, the value afterwards)."""
        return self._call("value.cas", _then=_swapped, expected=expected, value=new)

    def getset(self, new):
        """getset: value.getset; the value replaced."""
        return self._call("value.getset", value=new)


class List(_Shared, MutableSequence):
    """A brokerd list as a MutableSequence (Python's list): indexes and slices map to
    list.get/set/delete with "index" or "slice"; iteration is one list.read. sort takes
    reverse only (brokerd never runs client code: no key)."""

    _kind = "list"

    def __init__(self, client, name=None, seq=(), ephemeral=False):
        """A handle on list name; with seq (or ephemeral: kept out of brokerd's data dir),
        list.create holding seq's items (a list that exists is left as it is)."""
        super().__init__(client, name)
        items = list(seq)
        if items or ephemeral:
            self._call("list.create", items=items, **_ephemeral(ephemeral))

    def __getitem__(self, key):
        return self._call("list.get", **_sel(key))

    def __setitem__(self, key, value):
        if isinstance(key, slice):
            value = list(value)
        return self._call("list.set", value=value, **_sel(key))

    def __delitem__(self, key):
        return self._call("list.delete", **_sel(key))

    def __len__(self):
        return self._call("list.len")

    def __iter__(self):
        return iter(self._call("list.read"))

    def __reversed__(self):
        return reversed(self._call("list.read"))

    def __contains__(self, value):
        return self._call("list.contains", value=value)

    def insert(self, index, value):
        return self._call("list.insert", index=_clamp(operator.index(index)), value=value)

    def append(self, value):
        return self._call("list.append", value=value)

    def extend(self, values):
        items = list(values)
        if items:
            return self._call("list.extend", items=items)

    def pop(self, index=-1):
        return self._call("list.pop", index=_position(index, "pop index"))

    def remove(self, value):
        return self._call("list.remove", value=value)

    def index(self, value, start=None, stop=None):
        args = {}
        if start is not None:
            args["start"] = _clamp(operator.index(start))
        if stop is not None:
            args["stop"] = _clamp(operator.index(stop))
        return self._call("list.index", value=value, **args)

    def count(self, value):
        return self._call("list.count", value=value)

    def reverse(self):
        return self._call("list.reverse")

    def sort(self, *, reverse=False):
        return self._call("list.sort", reverse=bool(reverse))

    def clear(self):
        return self._call("list.clear")

    def copy(self):
        return self._call("list.read")


class Array(_Shared, Sequence):
    """A brokerd array (multiprocessing.Array): a fixed number of ints (typecodes b B h H
    i I l L q Q, or int) or floats ('f', 'd', or float). Indexes and slices map to
    array.get/array.set; iteration is one array.read; add(i, n) is array.add."""

    _kind = "array"

    def __init__(self, client, name=None, typecode="i", size_or_seq=0, ephemeral=False):
        """array.create with length size_or_seq (zeros) or items size_or_seq; an existing
        array of that type and length is left as it is (Exists otherwise). ephemeral: kept
        out of brokerd's data dir."""
        super().__init__(client, name)
        kind = _value_type(typecode)
        if kind not in ("int", "float"):
            raise TypeError("a brokerd array holds ints or floats, not %r" % (typecode,))
        if isinstance(size_or_seq, int):
            self._call("array.create", type=kind, length=size_or_seq, **_ephemeral(ephemeral))
        else:
            self._call("array.create", type=kind, items=list(size_or_seq),
                       **_ephemeral(ephemeral))

    def __getitem__(self, key):
        return self._call("array.get", **_sel(key))

    def __setitem__(self, key, value):
        if isinstance(key, slice):
            try:
                value = list(value)
            except TypeError:
                raise ValueError("Can only assign sequence of same size") from None
        return self._call("array.set", value=value, **_sel(key))

    def __len__(self):
        return self._call("array.len")

    def __iter__(self):
        return iter(self._call("array.read"))

    def add(self, index, n=1):
        """add: array.add; the element's new value."""
        return self._call("array.add", index=_position(index), delta=n)

    def read(self):
        return self._call("array.read")


class Namespace:
    """A brokerd namespace (multiprocessing's Namespace): attribute get/set/delete are
    namespace.get/set/delete (AttributeError when absent); _asdict() is namespace.read.
    Names starting with "_" are the handle's own, so that no attribute is hidden: its
    object name is ._name, and ._version, ._if_version(v) and ._stat() are the .version,
    .if_version(v) and .stat() of the other shared-state handles."""

    _kind = "namespace"
    _track = True

    def __init__(self, client, name=None, **kw):
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_name", _fresh_name(client, name))
        object.__setattr__(self, "_seen", threading.local())
        object.__setattr__(self, "_cond", None)
        if name is None:
            client._note_anonymous(self._name)
        for k, v in kw.items():
            setattr(self, k, v)

    @classmethod
    def _attach(cls, client, name, settings):
        return cls(client, name)

    def __reduce__(self):
        return (_rebuild, (self._client.url, self._kind, self._name, None))

    def _call(self, op, _then=None, **args):
        if self._cond is not None and op in WRITE_OPS:
            args["version"] = self._cond
        return self._client._run(op, self._name, args, _then, self)

    @property
    def _version(self):
        return _version_of(self, self._stat)

    def _if_version(self, version):
        return _view(self, "_cond", version)

    def _stat(self):
        return self._call("stat")

    def __getattr__(self, attr):
        if attr.startswith("_"):
            raise AttributeError(attr)
        return self._call("namespace.get", attr=attr)

    def __setattr__(self, attr, value):
        if attr.startswith("_"):
            object.__setattr__(self, attr, value)
        else:
            return self._call("namespace.set", attr=attr, value=value)

    def __delattr__(self, attr):
        if attr.startswith("_"):
            object.__delattr__(self, attr)
        else:
            return self._call("namespace.delete", attr=attr)

    def _asdict(self):
        return self._call("namespace.read")

    def __dir__(self):
        return sorted(set(object.__dir__(self)) | set(self._call("namespace.attrs")))

    def __repr__(self):
        items = ", ".join("%s=%r" % kv for kv in self._asdict().items())
        return "Namespace(%s)" % items


# ---- pipes ----

class PipeEnd(_Proxy):
    """One end ("a" or "b") of a brokerd pipe, with multiprocessing.connection.Connection's
    methods (PROTOCOL.md "Pipes"). The end is taken by the session that first uses it, so
    passing it to a child process hands the end to the child. recv() raises EOFError
    (brokerd.EndOfPipe) once the other end is closed and everything it sent was received;
    send() toward a closed end raises BrokenPipeError. Unlike Python's, messages are JSON
    values (send/recv) or bytes (send_bytes/recv_bytes), recv and send take a timeout
    (brokerd.Empty / brokerd.Full when it passes), and a message longer than recv_bytes'
    maxlength raises brokerd.TooLong (an OSError) and stays in the pipe."""

    _kind = "pipe_end"

    def __init__(self, client, name, end, duplex):
        super().__init__(client, name)
        self.end = end
        self.duplex = duplex
        self._closed = False

    @classmethod
    def _attach(cls, client, name, settings):
        end, duplex = settings
        self = cls.__new__(cls)
        _Proxy.__init__(self, client, name)
        self.end, self.duplex, self._closed = end, duplex, False
        return self

    def _state(self):
        return (self.end, self.duplex)

    def __repr__(self):
        return "<brokerd pipe %r end %s at %s>" % (self.name, self.end, self._client.url)

    @property
    def closed(self):
        return self._closed

    @property
    def readable(self):
        return self.duplex or self.end == "a"

    @property
    def writable(self):
        return self.duplex or self.end == "b"

    def _op(self, op, then=None, **args):
        if self._closed:
            raise PipeClosed("handle is closed")
        return self._call(op, _then=then, end=self.end, **args)

    def send(self, obj, timeout=None):
        """send: obj (JSON) to the other end; waits while its inbox is full (brokerd.Full
        when timeout passes first)."""
        return self._op("pipe.send", value=obj, **_timeout_args(timeout))

    def send_bytes(self, buf, offset=0, size=None, timeout=None):
        """send_bytes: the bytes of buf (any bytes-like object) from offset, size of them."""
        view = memoryview(buf).cast("B")
        if offset < 0 or offset > len(view):
            raise ValueError("offset is out of bounds")
        if size is None:
            size = len(view) - offset
        elif size < 0 or offset + size > len(view):
            raise ValueError("size is out of bounds" if size >= 0 else "size is negative")
        data = base64.b64encode(view[offset:offset + size]).decode("ascii")
        return self._op("pipe.send", bytes=data, **_timeout_args(timeout))

    def recv(self, timeout=None):
        """recv: the next message (a value, or bytes if sent by send_bytes); EOFError once
        the other end is closed and the pipe is drained; brokerd.Empty if timeout passed."""
        return self._op("pipe.recv", then=_message, confirm=True, **_timeout_args(timeout))

    def recv_bytes(self, maxlength=None, timeout=None):
        """recv_bytes: the next message as bytes (a value as its JSON text); brokerd.TooLong
        (an OSError) if it is longer than maxlength: the message stays in the pipe."""
        if maxlength is not None and maxlength < 0:
            raise ValueError("negative maxlength")
        return self._op("pipe.recv", then=_message, confirm=True, maxlength=maxlength,
                        **{"as": "bytes"}, **_timeout_args(timeout))

    def recv_bytes_into(self, buf, offset=0):
        """recv_bytes_into: the next message written into buf (a writable buffer) at offset;
        its length. multiprocessing.BufferTooShort if it does not fit (it stays)."""
        view = memoryview(buf).cast("B")
        if offset < 0 or offset > len(view):
            raise ValueError("offset out of bounds")
        try:
            data = self.recv_bytes(len(view) - offset)
        except TooLong:
            raise BufferTooShort("the next message is longer than the buffer; it stays "
                                 "in the pipe") from None
        view[offset:offset + len(data)] = data
        return len(data)

    def poll(self, timeout=0.0):
        """poll: whether a message or EOF is ready to receive, within timeout seconds
        (0: now; None: wait until one is)."""
        return self._op("pipe.poll", **({} if timeout is None else _timeout_args(timeout)))

    def close(self):
        """close: closes this end; the other end receives what is left, then EOFError."""
        if not self._closed:
            self._closed = True
            self._call("pipe.close", end=self.end)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _message(r):
    """_message: a pipe.recv result as Python's: the value, or the bytes."""
    if "bytes" in r:
        return base64.b64decode(r["bytes"])
    return r.get("value")


def make_pipe(client, name=None, duplex=True, maxmsgs=None, maxbytes=None, ephemeral=False):
    """make_pipe: the two ends (a, b) of pipe name (None: a new one), created with the
    settings given (Exists if it exists with other settings). With duplex=False, a only
    receives and b only sends, as Pipe(False) returns (reader, writer)."""
    pipe = PipeEnd(client, name, "a", duplex)  # an unnamed pipe is noted for deletion
    args = {"duplex": bool(duplex), **_ephemeral(ephemeral)}
    if maxmsgs is not None:
        args["maxmsgs"] = maxmsgs
    if maxbytes is not None:
        args["maxbytes"] = maxbytes
    client.call("pipe.create", pipe.name, **args)
    return pipe, PipeEnd._attach(client, pipe.name, ("b", duplex))


_KINDS = {"queue": Queue, "dict": Dict, "lock": Lock, "rlock": RLock,
          "semaphore": Semaphore, "event": Event, "value": Value, "list": List,
          "array": Array, "namespace": Namespace, "priorityqueue": PriorityQueue,
          "condition": Condition, "barrier": Barrier, "pipe_end": PipeEnd}
