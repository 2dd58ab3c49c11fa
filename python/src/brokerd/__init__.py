"""brokerd: the Python client of brokerd, a daemon that hosts named queues, dicts, locks
and more for processes (proto/PROTOCOL.md). Standard library only; values are JSON.

    import brokerd
    c = brokerd.connect()            # $BROKERD_URL or the default address
    q = c.Queue("jobs"); q.put({"id": 1}); q.get()
    d = c.dict("config"); d["mode"] = "fast"
    with c.Lock("deploy"): ...
    a, b = c.Pipe("chat")            # two ends; hand b to another process
"""
from . import errors
from ._client import Client, check_json
from ._client import Batch, Pending
from ._pool import AsyncResult, Pool
from ._proxies import (Array, Barrier, Condition, Dict, Event, List, Lock, Namespace, PipeEnd,
                       PriorityQueue, Queue, RLock, Semaphore, Value)
from ._wire import default_url
from .errors import *  # noqa: F401,F403 - the exception classes

__version__ = "0.1.0"


def connect(url=None, timeout=10.0, tls_ca=None, tls_cert=None, tls_key=None, token=None,
            token_file=None):
    """connect: a Client of brokerd at url (None: $BROKERD_URL, else the default address),
    greeted with hello. timeout: seconds to connect and to send. TLS files default to
    $BROKERD_TLS_CA, $BROKERD_TLS_CERT and $BROKERD_TLS_KEY.

    token: for a brokerd configured with principals, the secret sent in the hello of every
    connection (the first, and each reconnect, after fork() too): token, else the first line
    of token_file, else $BROKERD_TOKEN, else the file named by $BROKERD_TOKEN_FILE; none: no
    token (brokerd then raises Unauthorized for every op but hello and ping). A token file
    others may read or write, an empty or unreadable one raises errors.Invalid. A token
    brokerd refuses raises errors.Unauthorized here, or from the call that reconnects.
    A process that receives pickled handles without a client of its own (multiprocessing's
    spawn) authenticates with the environment's token."""
    return Client(url or default_url(), timeout, tls_ca, tls_cert, tls_key, token, token_file)


__all__ = ["connect", "Client", "Queue", "Dict", "Lock", "RLock", "Semaphore", "Event",
           "Value", "List", "Namespace", "Array", "PriorityQueue", "Condition", "Barrier",
           "PipeEnd", "Batch", "Pending", "Pool", "AsyncResult",
           "check_json",
           "default_url", "errors"] + errors.__all__
