"""errors.py: the exceptions of the brokerd client, one class per error code.

Each wire code of proto/PROTOCOL.md "Error codes" (and each client-side code) has a class
derived from BrokerError; where PROTOCOL.md maps a code to a Python exception, the class
derives from that too, so ``except queue.Empty`` or ``except KeyError`` work as expected.
"""
import queue
import threading


class BrokerError(Exception):
    """A failed brokerd call. ``code`` is the stable wire string, ``message`` is for people."""

    code = "internal"

    def __init__(self, message="", code=None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def __str__(self):
        return "%s: %s" % (self.code, self.message) if self.message else self.code

    def __reduce__(self):
        return (_rebuild_error, (self.code, self.message))


def _rebuild_error(code, message):
    return error_for(code, message)


def _define(name, code, *bases, doc=""):
    cls = type(name, (BrokerError,) + bases, {"code": code, "__doc__": doc or code})
    _BY_CODE[code] = cls
    return cls


_BY_CODE = {}

BadRequest = _define("BadRequest", "bad_request")
UnknownOp = _define("UnknownOp", "unknown_op")
BadArgument = _define("BadArgument", "bad_argument")
WrongType = _define("WrongType", "wrong_type")
NotFound = _define("NotFound", "not_found")
KeyNotFound = _define("KeyNotFound", "key_error", KeyError)
IndexOutOfRange = _define("IndexOutOfRange", "index_error", IndexError)
WrongValueType = _define("WrongValueType", "type_error", TypeError)
NoAttribute = _define("NoAttribute", "attribute_error", AttributeError)
Conflict = _define("Conflict", "conflict")
LimitExceeded = _define("LimitExceeded", "limit_exceeded")
Empty = _define("Empty", "empty", queue.Empty)
Full = _define("Full", "full", queue.Full)
Timeout = _define("Timeout", "timeout", TimeoutError)
BadValue = _define("BadValue", "value_error", ValueError)
Exists = _define("Exists", "exists")
Deleted = _define("Deleted", "deleted")
ShuttingDown = _define("ShuttingDown", "shutting_down")
NotOwner = _define("NotOwner", "not_owner", RuntimeError)
NotLocked = _define("NotLocked", "not_locked", RuntimeError)
LeaseExpired = _define("LeaseExpired", "lease_expired", RuntimeError)
BrokenBarrier = _define("BrokenBarrier", "broken_barrier", threading.BrokenBarrierError)
Cancelled = _define("Cancelled", "cancelled")
EndOfPipe = _define("EndOfPipe", "eof", EOFError,
                    doc="the other end of the pipe is closed and everything it sent was received")
BrokenPipe = _define("BrokenPipe", "broken_pipe", BrokenPipeError)
EndHeld = _define("EndHeld", "end_held", OSError, doc="the pipe end is held by another session")
PipeClosed = _define("PipeClosed", "closed", OSError, doc="the pipe end is closed")
WrongEnd = _define("WrongEnd", "wrong_end", OSError,
                   doc="sending on the reading end, or receiving on the writing end, of a "
                       "one-way pipe")
TooLong = _define("TooLong", "too_long", OSError,
                  doc="the next message is longer than maxlength; it stays in the pipe")
WorkerLost = _define("WorkerLost", "worker_lost",
                     doc="the workers that took the task died, as many times as the pool allows")
Terminated = _define("Terminated", "terminated", doc="the pool was terminated")
TaskError = _define("TaskError", "task_error",
                    doc="the worker's function raised: .type is its exception's name")
Storage = _define("Storage", "storage", OSError,
                  doc="brokerd cannot write its data dir (a full disk...): the write was refused")
Unauthorized = _define("Unauthorized", "unauthorized", PermissionError,
                       doc="brokerd wants a token (connect's token= or token_file=, "
                           "$BROKERD_TOKEN, $BROKERD_TOKEN_FILE), or refused the one given")
Forbidden = _define("Forbidden", "forbidden", PermissionError,
                    doc="the session's role or name prefix does not allow the op")
OutOfMemory = _define("OutOfMemory", "out_of_memory", MemoryError,
                      doc="brokerd is at its max-memory: writes are refused, reads and "
                          "deletes still work")
Internal = _define("Internal", "internal")

# client side: never on the wire
TooBig = _define("TooBig", "too_big", ValueError)
ConnectFailed = _define("ConnectFailed", "connect_failed", ConnectionError)
IOFailure = _define("IOFailure", "io_error", ConnectionError,
                    doc="the connection broke; the request may or may not have run")
NoReply = _define("NoReply", "no_reply", TimeoutError)
ProtocolError = _define("ProtocolError", "protocol_error")
SessionLost = _define("SessionLost", "session_lost",
                      doc="the connection was re-made and what the old session held is "
                          "gone; the call did not run")
Invalid = _define("Invalid", "invalid", ValueError)


def error_for(code, message=""):
    """error_for: a new exception of the class for code (BrokerError for an unknown code)."""
    cls = _BY_CODE.get(code)
    return cls(message) if cls else BrokerError(message, code)


__all__ = ["BrokerError", "error_for"] + [c.__name__ for c in _BY_CODE.values()]
