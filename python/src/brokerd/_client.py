"""_client.py: the connection to brokerd shared by a process's threads. A call writes its
request and waits for its reply on the calling thread; one waiting caller at a time reads
and hands each reply to the caller whose request id it carries (leader/follower, as
libbroker's client/client.c). No thread of its own."""
import itertools
import json
import os
import threading
import time
import weakref

from . import _wire
from .errors import (BrokerError, IOFailure, NoReply, ProtocolError, SessionLost,
                     TooBig, error_for)

MAX_IN_FLIGHT = 64
REPLY_GRACE = 30.0    # seconds a reply may take beyond the op's own timeout
CANCEL_GRACE = 5.0    # seconds an interrupted call waits for the answer to its cancel
IDLE_CHECK = 0.01     # seconds idle after which a call first checks the peer is there
READ_SLICE = 1.0      # a reader hands over at least this often
OWNER_MASK = (1 << 53) - 1

BLOCKING_OPS = frozenset((
    "queue.get", "queue.put", "queue.join", "lock.acquire", "rlock.acquire",
    "semaphore.acquire", "event.wait", "barrier.wait", "condition.acquire", "condition.wait"))
ACQUIRES = frozenset(("lock.acquire", "rlock.acquire", "semaphore.acquire",
                      "condition.acquire"))
OWNER_PREFIXES = ("lock.", "rlock.", "condition.", "semaphore.")

WAITING, DONE, FAILED, ABANDONED = range(4)

_live = weakref.WeakSet()  # every open client, so that a fork()ed child resets them
_by_url = weakref.WeakValueDictionary()  # url -> an open client, for unpickled handles
_by_url_mu = threading.Lock()


def client_for(url):
    """client_for: an open client of this process for url (the first one made for it, in a
    fork()ed child the inherited one, which reconnects), connecting if there is none."""
    with _by_url_mu:
        c = _by_url.get(url)
    if c is None or c._closed:
        c = Client(url)
    return c


def _after_fork_in_child():
    for c in list(_live):
        c._forget_parent()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def check_json(value, where="value"):
    """check_json: value as JSON-ready data (tuples become lists); TypeError naming the type
    of anything that is not None, bool, int, float, str, list, tuple or a dict with str
    keys. Never pickles."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [check_json(v, where) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError("brokerd sends JSON only: a dict key of type %s in %s "
                                "(keys must be str)" % (type(k).__name__, where))
            out[k] = check_json(v, where)
        return out
    raise TypeError("brokerd sends JSON only: %s of type %s cannot be sent"
                    % (where, type(value).__name__))


def _owner_of_thread():
    return threading.get_ident() & OWNER_MASK


def _takes_owner(op):
    return isinstance(op, str) and op.startswith(OWNER_PREFIXES)


def _holds(op, env):
    """_holds: whether reply envelope env to op leaves the session holding something a lost
    session takes away (a lock, permits, a barrier pass, a condition wait)."""
    if not isinstance(env, dict) or env.get("ok") is not True:
        return False
    if op in ("condition.wait", "barrier.wait"):
        return True
    if op in ACQUIRES:
        r = env.get("result")
        return isinstance(r, dict) and r.get("acquired") is True
    return False


class _Call:
    __slots__ = ("id", "state", "reply", "blocks", "maybe_sent", "k", "deadline", "op",
                 "progress", "size", "acks")

    def __init__(self, rid, k, op, blocks, wait):
        self.id = rid
        self.k = k
        self.op = op
        self.blocks = blocks
        self.state = WAITING
        self.reply = None
        self.maybe_sent = True
        self.progress = [0]  # bytes of the request gone out
        self.size = None     # the frame's length, once it went out whole
        self.acks = None     # deliveries this request confirms
        self.deadline = None if wait is None else time.monotonic() + wait


class Client:
    """A connection to brokerd, shared by any number of threads (at most 64 calls in flight
    at once; more callers wait their turn). See brokerd.connect."""

    def __init__(self, url, timeout=10.0, tls_ca=None, tls_cert=None, tls_key=None):
        self.url = url
        self.timeout = timeout
        self._tls = (tls_ca, tls_cert, tls_key)
        self._ids = itertools.count(1)
        self._init_state()
        self.session = None
        self.max_message = 16 << 20
        self.owners = False
        self.hello = None
        self._closed = False
        _live.add(self)
        with self._mu:
            self._reconnect()
        with _by_url_mu:
            old = _by_url.get(url)
            if old is None or old._closed:
                _by_url[url] = self

    def _init_state(self):
        self._mu = threading.Lock()
        self._cv = threading.Condition(self._mu)
        self._flight = {}
        self._reading = False
        self._connecting = False
        self._k = None
        self._held = False
        self._lost = False
        self._unconfirmed = []
        self._last_reply = 0.0
        self._pid = os.getpid()

    # ---- fork ----

    def _forget_parent(self):
        """_forget_parent: in a fork()ed child: drops the parent's connection without writing
        on it, its calls and its unconfirmed deliveries (the parent's); new locks, as the
        parent's threads may have held them. The next call connects as a new session."""
        k = self._k
        self._init_state()
        self.session = None  # until the child's first call connects
        if k is not None:
            k.drop()

    # ---- connecting ----

    def _new_id(self):
        return 0x80000000 | (next(self._ids) & 0x7FFFFFFF)

    def _reconnect(self):
        """_reconnect: connects and greets with _mu released; other callers wait meanwhile."""
        self._connecting = True
        self._mu.release()
        k = hello = None
        try:
            k = _wire.open_conn(self.url, self.timeout, *self._tls)
            hello = self._greet(k)
        except BaseException:
            if k is not None:
                k.close()
            raise
        finally:
            self._mu.acquire()
            self._connecting = False
            self._cv.notify_all()
        self._k = k
        self.hello = hello
        self.session = hello.get("session")
        self.max_message = hello.get("max_message") or (16 << 20)
        self.owners = hello.get("owners") is True
        self._held = False
        self._unconfirmed = []  # the old session's: gone with it
        self._last_reply = time.monotonic()

    def _greet(self, k):
        rid = self._new_id()
        k.send(rid, b'{"op":"hello"}', self.timeout)
        deadline = time.monotonic() + REPLY_GRACE
        while time.monotonic() < deadline:
            for got, body in k.recv_frames(deadline - time.monotonic()):
                if got == rid:
                    return _result(_decode(body), "hello")
        raise NoReply("no greeting from brokerd in time")

    def _lose_conn(self, k):
        """_lose_conn: k broke. Its calls fail; if the session held or awaited anything, the
        next call raises SessionLost. _mu is held."""
        if self._k is not k:
            return
        awaited = False
        for call in self._flight.values():
            if call.k is k and call.state != DONE:
                awaited |= bool(call.acks)  # items it was to confirm: maybe held till now
            if call.k is k and call.state == WAITING:
                awaited |= call.maybe_sent
                call.state = FAILED
        self._lost |= self._held or awaited or bool(self._unconfirmed)
        self._k = None
        k.break_()
        self._close_if_unused(k)
        self._cv.notify_all()

    def _close_if_unused(self, k):
        """_close_if_unused: closes the lost connection k once no call is on it. _mu held."""
        if k is not self._k and not any(c.k is k for c in self._flight.values()):
            k.close()

    def _ready(self):
        """_ready: waits for a flight slot and a live connection (making one if need be)."""
        while True:
            if self._connecting or len(self._flight) >= MAX_IN_FLIGHT:
                self._cv.wait()
                continue
            k = self._k
            if (k is not None and not self._flight
                    and time.monotonic() - self._last_reply > IDLE_CHECK and k.peer_gone()):
                self._lose_conn(k)  # found idle and dead: nothing of ours was on it
            if self._k is not None:
                return
            self._reconnect()

    # ---- one call ----

    def _enter(self, request):
        """_enter: a new _Call in flight on a live connection, and the deliveries to confirm."""
        op = request["op"]
        if self._pid != os.getpid():
            self._forget_parent()  # forked without the at-fork hook
        with self._mu:
            if self._closed:
                raise BrokerError("the client is closed", "invalid")
            return self._enter_locked(request, op)

    def _enter_locked(self, request, op):
        self._ready()
        if self._lost:
            self._lost = False
            raise SessionLost(
                "the connection to brokerd was re-made (new session %s): what the old "
                "session held or awaited is gone; this call did not run" % self.session)
        blocks = op in BLOCKING_OPS and request.get("block") is not False
        t = request.get("timeout")
        if not blocks:
            wait = REPLY_GRACE
        elif isinstance(t, (int, float)) and not isinstance(t, bool) and t < 1e8:
            wait = t + REPLY_GRACE
        else:
            wait = None
        call = _Call(self._new_id(), self._k, op, blocks, wait)
        self._flight[call.id] = call
        acks = None
        if self._unconfirmed and "ack" not in request:
            acks, self._unconfirmed = self._unconfirmed, []
            call.acks = acks
        return call, acks

    def _encode(self, request, acks):
        req = request
        if self.owners:
            req = _with_owner(req)
        if acks:
            req = dict(req, ack=acks)
        body = json.dumps(req, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
        if len(body) > self.max_message:
            raise TooBig("request of %d bytes is over brokerd's limit of %d bytes"
                         % (len(body), self.max_message))
        return body

    def _transmit(self, call, body):
        try:
            call.size = call.k.send(call.id, body, self.timeout, call.progress)
        except IOFailure as e:
            with self._mu:
                call.maybe_sent = getattr(e, "sent", True)
                self._lose_conn(call.k)
            raise

    def _deliver(self, rid, body):
        """_deliver: hands a reply to the call waiting for rid, or drops it. _mu is held."""
        call = self._flight.get(rid)
        reply = _decode(body)
        if call is not None and call.state == WAITING:
            call.reply = reply
            call.state = DONE
        elif isinstance(reply, dict) and "delivery" in reply:
            self._held = True  # an abandoned call's item: the session holds it, unconfirmed

    def _handle_frames(self, k, frames, broke):
        """_handle_frames: hands out the replies a reader got on k; _mu is held."""
        self._reading = False
        for rid, body in frames:
            self._deliver(rid, body)
        if frames:
            self._last_reply = time.monotonic()
        if broke:
            self._lose_conn(k)
        self._cv.notify_all()

    def _await(self, call, until=None):
        """_await: waits for call's reply (until its deadline, or until the monotonic time
        until), reading for everyone while nobody else does. Interruptible: whoever reads
        gives the role back on the way out, with what it read."""
        while True:
            reader = False
            frames, broke = [], False
            try:
                with self._mu:
                    if call.state != WAITING:
                        return call.state
                    end = call.deadline if until is None else until
                    left = None if end is None else end - time.monotonic()
                    if left is not None and left <= 0:
                        return call.state
                    slice_ = READ_SLICE if left is None else min(left, READ_SLICE)
                    if self._reading:
                        self._cv.wait(slice_)
                        continue
                    self._reading = reader = True
                frames = call.k.recv_frames(slice_)
            except (IOFailure, ProtocolError):
                broke = True
            finally:
                if reader:
                    with self._mu:
                        self._handle_frames(call.k, frames, broke)

    def _retire(self, call, request, ok, acks):
        """_retire: takes call off the flight list and notes what its reply means for the
        session; acks go back to be confirmed later unless the request went out whole."""
        with self._mu:
            self._flight.pop(call.id, None)
            current = call.k is self._k
            if not current:
                self._close_if_unused(call.k)
            if current and ok and call.state == DONE:
                self._note_reply(request, call.reply)
            if current and call.state == ABANDONED and call.blocks:
                self._held = True  # an abandoned wait may yet be granted
            if current and not ok and acks:
                self._unconfirmed.extend(acks)  # confirming twice is harmless
            self._cv.notify_all()

    def _note_reply(self, request, reply):
        op = request["op"]
        if op != "batch":
            pairs = [(op, reply)]
        else:
            res = reply.get("result") if isinstance(reply, dict) else None
            ops = request.get("ops") or []
            pairs = [(o.get("op") if isinstance(o, dict) else None, env)
                     for o, env in zip(ops, res if isinstance(res, list) else [])]
        for one_op, env in pairs:
            if isinstance(env, dict) and isinstance(env.get("delivery"), int):
                self._unconfirmed.append(env["delivery"])
            self._held |= _holds(one_op, env)

    def _send_cancel(self, call):
        """_send_cancel: asks brokerd to withdraw call's parked wait; the cancel's own call in
        flight (to wait for), or None if it could not be sent."""
        body = ('{"op":"cancel","request":%d}' % call.id).encode()
        with self._mu:
            if call.k is not self._k:
                return None
            cancel = _Call(self._new_id(), call.k, "cancel", False, REPLY_GRACE)
            self._flight[cancel.id] = cancel
        try:
            call.k.send(cancel.id, body, self.timeout)
        except IOFailure:
            self._drop_call(cancel)
            return None
        return cancel

    def _drop_call(self, call):
        with self._mu:
            self._flight.pop(call.id, None)
            self._cv.notify_all()

    def _interrupted(self, call, intr):
        """_interrupted: the caller was interrupted (intr, e.g. KeyboardInterrupt) while
        sending or waiting for call. See Client.call for what is returned or raised.
        brokerd answers requests in the order it reads them, and a cancelled request before
        the cancel, so once the cancel is answered the call's own reply is in, unless the
        call never reached brokerd."""
        with self._mu:
            if call.k.broken:  # the connection broke, or the interruption cut the request
                call.maybe_sent = call.maybe_sent and call.progress[0] > 0
                self._abandon_locked(call)
                self._lose_conn(call.k)
                raise intr
        if not call.blocks:
            self._abandon(call)
            raise intr
        cancel = self._send_cancel(call) if call.state == WAITING else None
        answered = False
        if cancel is not None:
            try:
                answered = self._await(cancel, time.monotonic() + CANCEL_GRACE) == DONE
                if answered:
                    self._await(call, time.monotonic() + 0.5)  # normally in already
            except BaseException:
                answered = False
            finally:
                self._drop_call(cancel)
        with self._mu:
            state = call.state
            if state == WAITING and not answered:
                # no answer: end the session rather than leave a wait behind
                self._abandon_locked(call)
                self._lose_conn(call.k)
            elif state == WAITING:
                self._abandon_locked(call)  # it never reached brokerd
        reply = call.reply
        if state == DONE and isinstance(reply, dict) and reply.get("ok") is True:
            return reply  # the data came first: keep it (the interruption came too late)
        raise intr

    def _abandon(self, call):
        with self._mu:
            self._abandon_locked(call)

    def _abandon_locked(self, call):
        if call.state == WAITING:
            call.state = ABANDONED
        elif call.state == DONE and isinstance(call.reply, dict) and "delivery" in call.reply:
            self._held = True  # not confirmed: brokerd puts it back when the session ends
            call.state = ABANDONED

    def _round_trip(self, request):
        """_round_trip: the reply envelope to request, sent exactly once."""
        for attempt in (0, 1):
            call, acks = self._enter(request)
            ok = False
            try:
                body = self._encode(request, acks)
                try:
                    self._transmit(call, body)
                    state = self._await(call)
                except (IOFailure, TooBig):
                    raise
                except BaseException as intr:
                    reply = self._interrupted(call, intr)
                    ok = True
                    return reply
                if state == DONE:
                    ok = True
                    return call.reply
                if state == FAILED:
                    raise IOFailure("lost the connection to brokerd (the request may or "
                                    "may not have run)")
                self._abandon(call)
                if call.blocks:
                    cancel = self._send_cancel(call)  # its answer is not awaited
                    if cancel is not None:
                        self._drop_call(cancel)
                raise NoReply("no reply from brokerd in time")
            except IOFailure:
                # found dead before any of the request went out: it never ran
                if attempt == 0 and not call.maybe_sent:
                    continue
                raise
            finally:
                self._retire(call, request, ok, acks)

    def call(self, op, name=None, **args):
        """call: runs op on the object name with args; the reply's result, or raises the
        BrokerError subclass of its error code.

        Values must be JSON (None, bool, int, float, str, list, tuple, dict with str keys):
        anything else raises TypeError before anything is sent.

        Interruption: when a call that may wait in brokerd (queue.get, lock.acquire, ...) is
        interrupted while waiting (KeyboardInterrupt or any BaseException), it sends
        {"op": "cancel"} for it and waits up to 5 s for the answer. If brokerd withdrew the
        wait (it took nothing: an item stays in its queue, a lock is not granted), the
        interruption is raised. If the data came first (an item, a grant), the call returns
        it normally and the interruption is dropped: raising would lose the item or leave a
        lock held that the program does not know of. With no answer in 5 s the connection
        is closed (brokerd then withdraws the wait, and puts back anything taken) and the
        interruption is raised. A call that cannot wait is not cancelled: the interruption
        is raised at once and a late reply is dropped (an item it carried stays
        unconfirmed and goes back to its queue when the session ends)."""
        if not isinstance(op, str):
            raise TypeError("op must be a str, not %s" % type(op).__name__)
        request = {"op": op}
        if name is not None:
            if not isinstance(name, str):
                raise TypeError("name must be a str, not %s" % type(name).__name__)
            request["name"] = name
        for key, value in args.items():
            request[key] = check_json(value, "argument %r" % key)
        return _result(self._round_trip(request), op)

    def ping(self):
        return self.call("ping")

    def close(self):
        """close: confirms the last items received (briefly) and closes the connection.
        Whatever the session holds is released by brokerd."""
        with self._mu:
            mine = self._pid == os.getpid()
            ack = self._k is not None and mine and bool(self._unconfirmed)
        if ack and not self._closed:
            try:
                self.call("ack")
            except (BrokerError, OSError):
                pass
        with self._mu:
            self._closed = True
            k, self._k = self._k, None
        if k is not None:
            if mine:
                k.close()
            else:
                k.drop()
        _live.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- typed helpers (see _proxies.py) ----

    def Queue(self, name=None, maxsize=0, kind="fifo"):
        from ._proxies import Queue
        return Queue(self, name, maxsize, kind)

    def dict(self, name=None):
        from ._proxies import Dict
        return Dict(self, name)

    def Lock(self, name=None):
        from ._proxies import Lock
        return Lock(self, name)

    def RLock(self, name=None):
        from ._proxies import RLock
        return RLock(self, name)

    def Semaphore(self, value=1, name=None):
        from ._proxies import Semaphore
        return Semaphore(self, name, value)

    def BoundedSemaphore(self, value=1, name=None):
        from ._proxies import Semaphore
        return Semaphore(self, name, value, bounded=True)

    def Event(self, name=None):
        from ._proxies import Event
        return Event(self, name)

    def JoinableQueue(self, name=None, maxsize=0):
        """JoinableQueue: a FIFO queue (every brokerd queue has task_done and join)."""
        return self.Queue(name, maxsize)

    def LifoQueue(self, name=None, maxsize=0):
        return self.Queue(name, maxsize, "lifo")

    def PriorityQueue(self, name=None, maxsize=0):
        from ._proxies import PriorityQueue
        return PriorityQueue(self, name, maxsize)

    def Condition(self, name=None, lock=None):
        from ._proxies import Condition
        return Condition(self, name, lock)

    def Barrier(self, name=None, parties=None, timeout=None):
        from ._proxies import Barrier
        return Barrier(self, name, parties, timeout)

    def Value(self, name=None, typecode_or_type="i", value=None):
        """Value: a Value handle (value.create; value None: the type's zero)."""
        from ._proxies import Value, _MISSING
        return Value(self, name, typecode_or_type, _MISSING if value is None else value)

    def list(self, name=None, seq=()):
        from ._proxies import List
        return List(self, name, seq)

    def Namespace(self, name=None, **kw):
        from ._proxies import Namespace
        return Namespace(self, name, **kw)

    def Array(self, name=None, typecode="i", size_or_seq=0):
        from ._proxies import Array
        return Array(self, name, typecode, size_or_seq)


def _with_owner(request):
    op = request["op"]
    if _takes_owner(op) and "owner" not in request:
        return dict(request, owner=_owner_of_thread())
    if op == "batch" and isinstance(request.get("ops"), list):
        ops = [dict(o, owner=_owner_of_thread())
               if isinstance(o, dict) and _takes_owner(o.get("op")) and "owner" not in o
               else o for o in request["ops"]]
        return dict(request, ops=ops)
    return request


def _decode(body):
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _result(reply, op):
    if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
        raise ProtocolError("reply from brokerd to %s does not follow the protocol" % op)
    if reply["ok"]:
        return reply.get("result")
    code = reply.get("error")
    msg = reply.get("message") or ""
    raise error_for(code if isinstance(code, str) else "protocol_error", msg)


__all__ = ["Client", "check_json", "client_for"]
