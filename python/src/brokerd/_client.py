"""_client.py: the connection to brokerd shared by a process's threads. A call writes its
request and waits for its reply on the calling thread; one waiting caller at a time reads
and hands each reply to the caller whose request id it carries (leader/follower, as
libbroker's client/client.c). No thread of its own."""
import atexit
import itertools
import json
import json.encoder
import json.scanner
import os
import sys
import threading
import time
import weakref

from . import _token, _wire
from ._wire import SPIN
from .errors import (BrokerError, Invalid, IOFailure, NoReply, ProtocolError, SessionLost,
                     TooBig, Unauthorized, error_for)

MAX_IN_FLIGHT = 64
MAX_BATCH = 4096      # ops per batch (PROTOCOL.md "Limits")
REPLY_GRACE = 30.0    # seconds a reply may take beyond the op's own timeout
CANCEL_GRACE = 5.0    # seconds an interrupted call waits for the answer to its cancel
IDLE_CHECK = 0.01     # seconds idle after which a call first checks the peer is there
READ_SLICE = 1.0      # a reader hands over at least this often
SOLO_MAX = 1 << 16    # bytes of the longest request _solo sends (it holds _mu meanwhile)
OWNER_MASK = (1 << 53) - 1

BLOCKING_OPS = frozenset((
    "queue.get", "queue.put", "queue.join", "lock.acquire", "rlock.acquire",
    "semaphore.acquire", "event.wait", "barrier.wait", "condition.acquire", "condition.wait",
    "pipe.send", "pipe.recv", "pipe.poll", "pool.result", "pool.work", "pool.join"))
ACQUIRES = frozenset(("lock.acquire", "rlock.acquire", "semaphore.acquire",
                      "condition.acquire"))
OWNER_PREFIXES = ("lock.", "rlock.", "condition.", "semaphore.")
_NOTED = ACQUIRES | {"condition.wait", "barrier.wait", "batch"}  # see _note_reply

WAITING, DONE, FAILED, ABANDONED = range(4)

# every open client: a fork()ed child resets them, and the process closes them as it exits
# (a client dropped without close() stays open until then, so that what it got is
# confirmed and its unnamed objects deleted at the end, never lost half-way)
_live = set()
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


def _close_all():
    """_close_all: closes this process's clients as it exits, so that the items it got are
    confirmed (not put back for another consumer) and its unnamed objects deleted."""
    for c in list(_live):
        if c._pid == os.getpid():
            try:
                c.close()
            except Exception:  # exiting: nothing more can be done
                pass


class _ExitHook:
    """Registered with multiprocessing.util.register_after_fork: a child process of
    multiprocessing empties its finalizers before running its target, then runs these."""


_exit_hook = None


def _hook_exit():
    """_hook_exit: makes the process run _close_all as it exits: atexit for a normal exit
    (registered below), and multiprocessing's own exit path for its children, which leave
    with os._exit (skipping atexit): a finalizer, registered again in each child (whatever
    its start method) as the child starts, after it emptied the finalizers it had."""
    global _exit_hook
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is None or _exit_hook is not None:
        return
    _exit_hook = _ExitHook()
    _finalize_at_exit(_exit_hook)
    mp_util.register_after_fork(_exit_hook, _finalize_at_exit)


def _finalize_at_exit(_):
    sys.modules["multiprocessing.util"].Finalize(None, _close_all, exitpriority=0)


atexit.register(_close_all)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def check_json(value, where="value"):
    """check_json: value as JSON-ready data (tuples become lists); TypeError naming the type
    of anything that is not None, bool, int, float, str, list, tuple or a dict with str
    keys, OverflowError for an int beyond signed 64 bits. Never pickles."""
    if isinstance(value, int) and not isinstance(value, bool) and \
            not INT_MIN <= value <= INT_MAX:
        raise OverflowError("brokerd's integers are signed 64-bit: %d in %s is out of range"
                            % (value, where))
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


_getpid = os.getpid
_monotonic = time.monotonic
_SCALARS = frozenset((str, float, bool, type(None)))  # int: see check_json
INT_MIN, INT_MAX = -(1 << 63), (1 << 63) - 1  # brokerd's integers: signed 64-bit


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
        self.deadline = None if wait is None else _monotonic() + wait


class Client:
    """A connection to brokerd, shared by any number of threads (at most 64 calls in flight
    at once; more callers wait their turn). See brokerd.connect."""

    def __init__(self, url, timeout=10.0, tls_ca=None, tls_cert=None, tls_key=None,
                 token=None, token_file=None):
        self.url = url
        self.timeout = timeout
        self._tls = (tls_ca, tls_cert, tls_key)
        self._greeting = _hello_body(_token.resolve(token, token_file))
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
        self._sleepers = 0  # threads in _cv.wait: notify only when there are any
        self._flight = {}
        self._reading = False
        self._connecting = False
        self._k = None
        self._held = False
        self._lost = False
        self._unconfirmed = []
        self._last_reply = 0.0
        self._pid = os.getpid()
        self._anonymous = []  # names this process made up for unnamed objects (see close)
        self._batching = threading.local()  # .ops: this thread's open batch
        self._batches = 0  # batches open in all threads: _batching is looked at if any

    def _sleep(self, timeout=None):
        """_sleep: waits on _cv (with _mu held) for a _wake or the timeout."""
        self._sleepers += 1
        try:
            self._cv.wait(timeout)
        finally:
            self._sleepers -= 1

    def _wake(self):
        if self._sleepers:
            self._cv.notify_all()

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
            self._wake()
        _hook_exit()
        self._k = k
        self.hello = hello
        self.session = hello.get("session")
        self.max_message = hello.get("max_message") or (16 << 20)
        self.owners = hello.get("owners") is True
        self._held = False
        self._unconfirmed = []  # the old session's: gone with it
        self._last_reply = time.monotonic()

    def _greet(self, k):
        """_greet: hello's result on the new connection k, sent with the token if any;
        Unauthorized (brokerd's message, never the token) when brokerd refuses it."""
        rid = self._new_id()
        k.send(rid, self._greeting, self.timeout)
        deadline = time.monotonic() + REPLY_GRACE
        while time.monotonic() < deadline:
            for got, body in k.recv_frames(deadline - time.monotonic()):
                if got == rid:
                    return _hello_result(_decode(body))
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
        self._wake()

    def _close_if_unused(self, k):
        """_close_if_unused: closes the lost connection k once no call is on it. _mu held."""
        if k is not self._k and not any(c.k is k for c in self._flight.values()):
            k.close()

    def _ready(self):
        """_ready: waits for a flight slot and a live connection (making one if need be)."""
        while True:
            if self._connecting or len(self._flight) >= MAX_IN_FLIGHT:
                self._sleep()
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
        if self._pid != _getpid():
            self._forget_parent()  # forked without the at-fork hook
        with self._mu:
            if self._closed:
                raise Invalid("the client is closed")
            self._ready()
            if self._lost:
                self._lost = False
                raise SessionLost(
                    "the connection to brokerd was re-made (new session %s): what the old "
                    "session held or awaited is gone; this call did not run" % self.session)
            call = self._add_call(request, op)
            return call, call.acks

    def _add_call(self, request, op):
        """_add_call: a new _Call for request in flight on the connection, carrying the
        deliveries to confirm (taken off _unconfirmed). _mu is held."""
        blocks = op in BLOCKING_OPS and request.get("block") is not False
        t = request.get("timeout") if blocks else None
        if not blocks:
            wait = REPLY_GRACE
        elif isinstance(t, (int, float)) and not isinstance(t, bool) and t < 1e8:
            wait = t + REPLY_GRACE
        else:
            wait = None
        call = _Call(self._new_id(), self._k, op, blocks, wait)
        self._flight[call.id] = call
        if self._unconfirmed and "ack" not in request:
            call.acks, self._unconfirmed = self._unconfirmed, []
        return call

    def _encode(self, request, acks):
        req = request
        op = request["op"]
        if self.owners and (op.startswith(OWNER_PREFIXES) or op == "batch"):
            req = _with_owner(req)
        if acks:
            req = dict(req, ack=acks)
        body = _dumps(req)
        if len(body) > self.max_message:
            raise TooBig("request of %d bytes is over brokerd's limit of %d bytes"
                         % (len(body), self.max_message))
        return body

    def _transmit(self, call, body):
        try:
            call.size = call.k.send(call.id, body, self.timeout, call.progress)
        except IOFailure as e:
            with self._mu:
                self._send_failed(call, e)
            raise

    def _send_failed(self, call, e):
        """_send_failed: call's request did not go out whole (IOFailure e): the connection
        is lost. _mu is held."""
        call.maybe_sent = getattr(e, "sent", True)
        self._lose_conn(call.k)

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
            self._last_reply = _monotonic()
        if broke:
            self._lose_conn(k)
        self._wake()

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
                    left = None if end is None else end - _monotonic()
                    if left is not None and left <= 0:
                        return call.state
                    slice_ = READ_SLICE if left is None else min(left, READ_SLICE)
                    if self._reading:
                        self._sleep(slice_)
                        continue
                    self._reading = reader = True
                frames = call.k.recv_frames(slice_, SPIN > 0)
            except (IOFailure, ProtocolError):
                broke = True
            finally:
                if reader:
                    with self._mu:
                        self._handle_frames(call.k, frames, broke)
            if call.state != WAITING:
                return call.state

    def _retire(self, call, request, ok, acks):
        """_retire: takes call off the flight list and notes what its reply means for the
        session; acks go back to be confirmed later unless the request went out whole."""
        with self._mu:
            self._flight.pop(call.id, None)
            current = call.k is self._k
            if not current:
                self._close_if_unused(call.k)
            reply = call.reply
            if current and ok and call.state == DONE and type(reply) is dict and (
                    call.op in _NOTED or "delivery" in reply):
                self._note_reply(request, reply)
            if current and call.state == ABANDONED and call.blocks:
                self._held = True  # an abandoned wait may yet be granted
            if current and not ok and acks:
                self._unconfirmed.extend(acks)  # confirming twice is harmless
            self._wake()

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
            self._wake()

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
        reply = self._solo(request)
        if reply is not None:
            return reply
        for attempt in (0, 1):
            call, acks = self._enter(request)
            try:
                return self._complete(call, request, acks)
            except IOFailure:
                # found dead before any of the request went out: it never ran
                if attempt == 0 and not call.maybe_sent:
                    continue
                raise

    def _complete(self, call, request, acks, body=None, raised=None):
        """_complete: sends call (unless it went out: call.size) and waits for its reply;
        the reply envelope, or raises (see Client.call). raised: what interrupted _solo,
        handled here as if it came now."""
        ok = False
        try:
            try:
                if raised is not None:
                    raise raised
                if call.size is None:
                    self._transmit(call, body or self._encode(request, acks))
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
        finally:
            self._retire(call, request, ok, acks)

    def _solo(self, request):
        """_solo: the reply envelope to request when it is made alone: no other call under
        way, nothing unusual (no reconnection or lost session; a plain connection in use a
        moment ago). The caller is the reader from the start (for a slice of READ_SLICE
        seconds), and the reply, usually the one frame it reads, needs
        no hand-out: a one-thread program's call, in two lock sections (the request is
        sent in the first, where nobody else can send, so without the send lock; hence a
        limit of SOLO_MAX bytes, which go out at once into an idle socket). None when the
        request is not alone, or did not go out at all (then _round_trip makes it as any
        other call); anything else on the way is taken over by _complete."""
        op = request["op"]
        frames, broke, raised, body = [], False, None, None
        mu = self._mu
        mu.acquire()
        try:
            k = self._k
            if (k is None or k.tls or self._flight or self._reading or self._connecting
                    or self._lost or self._closed or self._pid != _getpid()
                    or _monotonic() - self._last_reply > IDLE_CHECK):
                return None
            call = self._add_call(request, op)
            self._reading = True
            try:
                body = self._encode(request, call.acks)
                if len(body) <= SOLO_MAX:  # else _complete sends it, with the send lock
                    # nobody else sends while _mu is held with no other call in flight
                    call.size = k.send_alone(call.id, body, self.timeout, call.progress)
            except IOFailure as e:
                self._send_failed(call, e)
                raised = e
            except BaseException as e:
                raised = e
        finally:
            mu.release()
        if call.size is not None:
            try:
                frames = k.recv_reply(call.id, READ_SLICE, SPIN > 0)
            except (IOFailure, ProtocolError):
                broke = True
            except BaseException as e:
                raised = e
        if len(frames) == 1 and frames[0][0] == call.id:
            reply = _decode(frames[0][1])
            mu.acquire()
            try:
                if type(reply) is dict and call.state == WAITING:
                    self._reading = False
                    del self._flight[call.id]
                    self._last_reply = _monotonic()
                    if op in _NOTED or "delivery" in reply:
                        self._note_reply(request, reply)
                    if self._sleepers:
                        self._cv.notify_all()
                    return reply
            finally:
                mu.release()
        with self._mu:
            self._handle_frames(k, frames, broke)  # gives the reader's role back
        if isinstance(raised, IOFailure) and not call.maybe_sent:
            self._retire(call, request, False, call.acks)
            return None
        return self._complete(call, request, call.acks, body, raised)

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
        return self._run(op, name, args)

    def _run(self, op, name, args, then=None, track=None):
        """_run: call's work; then(result) post-processes the result and track (a handle)
        notes the version the reply carries. Inside a batch (Client.batch) the request is
        queued and a Pending is returned instead."""
        if not isinstance(op, str):
            raise TypeError("op must be a str, not %s" % type(op).__name__)
        request = {"op": op}
        if name is not None:
            if not isinstance(name, str):
                raise TypeError("name must be a str, not %s" % type(name).__name__)
            request["name"] = name
        for key, value in args.items():
            t = type(value)
            request[key] = value if t in _SCALARS or (
                t is int and INT_MIN <= value <= INT_MAX) else check_json(
                value, "argument %r" % key)
        queued = getattr(self._batching, "ops", None) if self._batches else None
        if queued is not None:
            pending = Pending(op, then, track)
            queued.append((request, pending))
            return pending
        return _finish(self._round_trip(request), op, then, track)

    def ping(self):
        return self.call("ping")

    def close(self):
        """close: confirms the last items received (briefly) and closes the connection.
        Whatever the session holds is released by brokerd."""
        with self._mu:
            mine = self._pid == os.getpid()
            ack = self._k is not None and mine and bool(self._unconfirmed)
            anonymous, self._anonymous = self._anonymous, []
            live = self._k is not None  # else the session is over: no reconnecting to close
        if mine and live and anonymous and not self._closed:
            self._delete(anonymous)
        elif ack and not self._closed:
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

    shutdown = close  # multiprocessing's Manager name; brokerd itself keeps running

    def _delete(self, names):
        """_delete: deletes the objects named (in batches; errors ignored: the client is
        closing, and another process may have deleted them)."""
        for at in range(0, len(names), MAX_BATCH):
            ops = [{"op": "del", "name": n} for n in names[at:at + MAX_BATCH]]
            try:
                _result(self._round_trip({"op": "batch", "ops": ops}), "batch")
            except (BrokerError, OSError):
                return

    def _note_anonymous(self, name):
        with self._mu:
            self._anonymous.append(name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def batch(self):
        """batch: a context manager that sends the ops made in its block (by this thread,
        through this client's handles) as one atomic batch when the block ends; see Batch."""
        return Batch(self)

    # ---- typed helpers (see _proxies.py) ----
    #
    # Each takes the object's name first, as brokerd's objects are named: m.Queue("jobs"),
    # m.Value("hits", "i", 0). Called as multiprocessing's Manager is, without a name
    # (m.Queue(), m.Value("i", 0), m.Semaphore(5), m.Barrier(3), m.dict({"a": 1})), each
    # makes an object with a new unique name, deleted when this client closes (the end of
    # the process, or close()), as a Manager's objects live as long as the Manager.
    # name= also works, except for dict and Namespace, whose keywords are their contents.

    def Queue(self, *args, **kw):
        """Queue(name=None, maxsize=0), or Manager's Queue(maxsize=0)."""
        from ._proxies import Queue
        name, rest = _named(args, kw, _is_number)
        return Queue(self, name, *rest, **kw)

    def JoinableQueue(self, *args, **kw):
        """JoinableQueue: a FIFO queue (every brokerd queue has task_done and join)."""
        return self.Queue(*args, **kw)

    def LifoQueue(self, *args, **kw):
        from ._proxies import Queue
        name, rest = _named(args, kw, _is_number)
        return Queue(self, name, *rest, kind="lifo", **kw)

    def PriorityQueue(self, *args, **kw):
        from ._proxies import PriorityQueue
        name, rest = _named(args, kw, _is_number)
        return PriorityQueue(self, name, *rest, **kw)

    def dict(self, *args, **kw):
        """dict(name=None, mapping_or_pairs=(), **kw), or Manager's dict(mapping, **kw): a
        Dict, updated with the mapping and the keywords."""
        from ._proxies import Dict
        name, rest = _named(args, {}, lambda a: not isinstance(a[0], str))
        d = Dict(self, name)
        if rest or kw:
            d.update(*rest, **kw)
        return d

    def list(self, *args, **kw):
        """list(name=None, seq=()), or Manager's list(seq)."""
        from ._proxies import List
        name, rest = _named(args, kw, lambda a: not isinstance(a[0], str))
        return List(self, name, *rest, **kw)

    def Namespace(self, *args, **kw):
        """Namespace(name=None, **attributes)."""
        from ._proxies import Namespace
        name, rest = _named(args, {}, lambda a: False)
        if rest:
            raise TypeError("Namespace takes a name and keyword attributes")
        return Namespace(self, name, **kw)

    def Value(self, *args, **kw):
        """Value(name=None, typecode_or_type="i", value=None), or Manager's
        Value(typecode, value, lock=True) (lock is ignored: every op is atomic)."""
        from ._proxies import Value, _MISSING
        kw.pop("lock", None)
        name, rest = _named(args, kw, _typecode_first)
        rest = list(rest) + [None] * (2 - len(rest))
        typecode, value = kw.pop("typecode_or_type", rest[0] or "i"), kw.pop("value", rest[1])
        ephemeral = kw.pop("ephemeral", False)
        _no_more(kw, "Value")
        return Value(self, name, typecode, _MISSING if value is None else value, ephemeral)

    def Array(self, *args, **kw):
        """Array(name=None, typecode="i", size_or_seq=0), or Manager's
        Array(typecode, sequence_or_size, lock=True)."""
        from ._proxies import Array
        kw.pop("lock", None)
        name, rest = _named(args, kw, _typecode_first)
        return Array(self, name, *rest, **kw)

    def Lock(self, name=None):
        from ._proxies import Lock
        return Lock(self, name)

    def RLock(self, name=None):
        from ._proxies import RLock
        return RLock(self, name)

    def Semaphore(self, *args, **kw):
        """Semaphore(name=None, value=1), or Manager's Semaphore(value=1)."""
        from ._proxies import Semaphore
        name, rest = _named(args, kw, _is_number)
        return Semaphore(self, name, *rest, **kw)

    def BoundedSemaphore(self, *args, **kw):
        from ._proxies import Semaphore
        name, rest = _named(args, kw, _is_number)
        return Semaphore(self, name, *rest, bounded=True, **kw)

    def Event(self, name=None):
        from ._proxies import Event
        return Event(self, name)

    def Condition(self, *args, **kw):
        """Condition(name=None, lock=None), or Manager's Condition(lock=None)."""
        from ._proxies import Condition
        name, rest = _named(args, kw, lambda a: not isinstance(a[0], str))
        return Condition(self, name, *rest, **kw)

    def Pipe(self, name=None, duplex=True, maxmsgs=None, maxbytes=None, ephemeral=False):
        """Pipe: the two ends (a, b) of the pipe name (None: a new pipe with a unique name),
        created with these settings (brokerd.Exists if it exists with others). With
        duplex=False, a only receives and b only sends, as multiprocessing.Pipe(False)
        returns (reader, writer). maxmsgs and maxbytes bound each direction (default 1,000
        messages and 16 MiB); ephemeral keeps it out of brokerd's data dir. See PipeEnd."""
        from ._proxies import make_pipe
        return make_pipe(self, name, duplex, maxmsgs, maxbytes, ephemeral)

    def Pool(self, name=None, max_attempts=None, max_tasks=None):
        """Pool: multiprocessing.Pool's methods on the brokerd pool name (None: a new one),
        its tasks run by worker processes (python3 -m brokerd.worker). max_attempts: how
        many workers may die running one task before it fails (default 3); max_tasks: the
        tasks it holds at most (default 100,000). See brokerd.Pool."""
        from ._pool import Pool
        return Pool(self, name, max_attempts, max_tasks)

    def Barrier(self, *args, **kw):
        """Barrier(name=None, parties, timeout=None), or Manager's Barrier(parties,
        action=None, timeout=None) (an action cannot run in brokerd: TypeError)."""
        from ._proxies import Barrier
        if kw.pop("action", None) is not None:
            raise TypeError("brokerd runs no client code: a Barrier takes no action")
        if args and _is_number(args):  # Manager's (parties, action=None, timeout=None)
            if len(args) > 1 and args[1] is not None:
                raise TypeError("brokerd runs no client code: a Barrier takes no action")
            args = (None, args[0]) + tuple(args[2:3]) + tuple(args[3:])
        name, rest = _named(args, kw, _is_number)
        return Barrier(self, name, *rest, **kw)


def _is_number(args):
    return isinstance(args[0], (int, float)) and not isinstance(args[0], bool)


def _typecode_first(args):
    """_typecode_first: whether Value/Array args are Manager's (typecode, ...): the first is
    a typecode or type and the second (if any) is not."""
    from ._proxies import _VALUE_TYPES

    def code(a):
        return isinstance(a, (str, type)) and a in _VALUE_TYPES
    return code(args[0]) and not (len(args) > 1 and code(args[1]))


def _named(args, kw, manager_style):
    """_named: (name, other positional arguments) of a typed helper's call: name= if given,
    else the first argument unless manager_style(args) says the call is Manager's (no
    name: None, so the handle makes one up)."""
    if "name" in kw:
        return kw.pop("name"), args
    if args and (args[0] is None or not manager_style(args)):
        return args[0], args[1:]
    return None, args


def _no_more(kw, what):
    if kw:
        raise TypeError("%s got an unexpected keyword argument %r" % (what, next(iter(kw))))


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _c_encoder():
    """_c_encoder: a function of a value to its compact JSON text, as _ENCODER.encode
    gives, made once: the C encoder that encode makes anew on each call, where Python has
    it (CPython 3.9 to 3.13 take these arguments); else encode."""
    try:
        make = json.encoder.c_make_encoder
        encode = make(None, None, json.encoder.encode_basestring, None, ":", ",",
                      False, False, False)
        if "".join(encode({"a": [1, 2.5, None, True, "\u00e9"]}, 0)) != \
                '{"a":[1,2.5,null,true,"\u00e9"]}':
            raise ValueError("unexpected output")
    except (AttributeError, TypeError, ValueError):
        return _ENCODER.encode
    return lambda value: "".join(encode(value, 0))


_encode_json = _c_encoder()
_encode_str = json.encoder.encode_basestring
_LITERALS = {True: "true", False: "false", None: "null"}
_heads = {}    # (op, name) -> the JSON text that opens a request with them
_members = {}  # key -> the JSON text that opens a member with it


def _dumps(request):
    """_dumps: request (a dict with a str op, first, and maybe a str name) as compact JSON
    bytes, as _encode_json would write it, made faster for the usual requests: the
    opening with the op and name from a cache, str and int values formatted here."""
    op = request["op"]
    name = request.get("name")
    head = _heads.get((op, name))
    if head is None:
        if type(name) is not str and (name is not None or "name" in request):
            return _encode_json(request).encode("utf-8")
        if len(_heads) >= 4096:
            _heads.clear()
        head = _heads[op, name] = _encode_json(
            {"op": op} if name is None else {"op": op, "name": name})[:-1]
    parts = [head]
    for key, value in request.items():
        if key == "op" or key == "name":
            continue
        member = _members.get(key)
        if member is None:
            if len(_members) >= 4096:
                _members.clear()
            member = _members[key] = "," + _encode_json(key) + ":"
        t = type(value)
        parts.append(member)
        parts.append(_encode_str(value) if t is str else int.__repr__(value) if t is int
                     else _LITERALS[value] if value is None or t is bool
                     else _encode_json(value))
    parts.append("}")
    return "".join(parts).encode("utf-8")


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


_scan = json.scanner.make_scanner(json.JSONDecoder())


def _decode(body):
    """_decode: the JSON value of a reply body (brokerd's replies are compact: one scanner
    call), or None if it is not JSON."""
    try:
        text = body.decode("utf-8")
        value, end = _scan(text, 0)
        return value if end == len(text) else json.loads(text)
    except (UnicodeDecodeError, ValueError, StopIteration):
        return None


def _hello_body(token):
    """_hello_body: the greeting's text: {"op":"hello"}, with "token" when there is one."""
    if token is None:
        return b'{"op":"hello"}'
    return json.dumps({"op": "hello", "token": token}, separators=(",", ":")).encode()


def _hello_result(reply):
    try:
        return _result(reply, "hello")
    except Unauthorized as e:
        raise Unauthorized("brokerd refused the token: %s" % (e.message or e.code)) from None


def _result(reply, op):
    if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
        raise ProtocolError("reply from brokerd to %s does not follow the protocol" % op)
    if reply["ok"]:
        return reply.get("result")
    code = reply.get("error")
    msg = reply.get("message") or ""
    raise error_for(code if isinstance(code, str) else "protocol_error", msg)


def _finish(reply, op, then, track):
    """_finish: the result of reply to op (raising its error), after track noted the
    version it carries and then(result) post-processed it."""
    if type(reply) is dict:
        if track is not None:
            version = reply.get("version")
            if type(version) is int:
                track._seen.version = version
        if reply.get("ok") is True:
            result = reply.get("result")
            return then(result) if then is not None else result
    result = _result(reply, op)
    return then(result) if then is not None else result


class Pending:
    """The result of an op made inside a batch: .value once the batch has run (raising the
    op's error if it failed), and .version for ops on shared state."""

    __slots__ = ("op", "_then", "_track", "_done", "_value", "_error", "version")

    def __init__(self, op, then, track):
        self.op = op
        self._then = then
        self._track = track
        self._done = False
        self._value = self._error = self.version = None

    def _settle(self, reply):
        self._done = True
        if isinstance(reply, dict) and isinstance(reply.get("version"), int):
            self.version = reply["version"]
        try:
            self._value = _finish(reply, self.op, self._then, self._track)
        except BrokerError as e:
            self._error = e
        return self._error

    def _fail(self, error):
        self._done = True
        self._error = error

    @property
    def value(self):
        if not self._done:
            raise RuntimeError("a batched op's result is known once its batch has run")
        if self._error is not None:
            raise self._error
        return self._value

    def __bool__(self):
        raise TypeError("a batched op's result has no truth value: use .value after "
                        "the batch")

    def __repr__(self):
        if not self._done:
            return "<brokerd pending %s>" % self.op
        if self._error is not None:
            return "<brokerd %s failed: %s>" % (self.op, self._error)
        return "<brokerd %s: %r>" % (self.op, self._value)


class Batch:
    """with client.batch() as b: ops made in the block by this thread return Pending
    results and are sent together when the block ends, as one atomic request
    (PROTOCOL.md "Batches": no other client's op runs between them, and each op succeeds
    or fails on its own). Ops that may wait must say block=False (brokerd refuses the whole
    batch otherwise). When the block ends:
    - if brokerd refused the whole batch (a malformed op, a failed version condition:
      Conflict), nothing ran and that error is raised;
    - otherwise every op ran; each Pending holds its value or error, and the first op
      error is raised (its .index tells which op) after all are filled in.
    An exception inside the block sends nothing. Batches do not nest; b.results lists the
    Pending results in order."""

    def __init__(self, client):
        self._client = client
        self._ops = []

    @property
    def results(self):
        return [p for _, p in self._ops]

    def __enter__(self):
        local = self._client._batching
        if getattr(local, "ops", None) is not None:
            raise RuntimeError("brokerd batches do not nest")
        self._ops = []
        local.ops = self._ops
        with self._client._mu:
            self._client._batches += 1
        return self

    def __exit__(self, exc_type, exc, tb):
        self._client._batching.ops = None
        with self._client._mu:
            self._client._batches -= 1
        if exc_type is None:
            self._send()
        return False

    def _send(self):
        if not self._ops:
            return
        request = {"op": "batch", "ops": [r for r, _ in self._ops]}
        try:
            replies = _result(self._client._round_trip(request), "batch")
        except BrokerError as e:
            for _, p in self._ops:
                p._fail(e)
            raise
        first = None
        for i, ((_, p), reply) in enumerate(zip(self._ops, replies)):
            error = p._settle(reply)
            if error is not None and first is None:
                error.index = i
                first = error
        if first is not None:
            raise first


__all__ = ["Batch", "Client", "Pending", "check_json", "client_for"]
