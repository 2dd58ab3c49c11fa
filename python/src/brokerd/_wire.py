"""_wire.py: brokerd's transport (PROTOCOL.md "Wire format"): connecting over ipc, tcp or
tls+tcp, the SP handshake, and framing. No thread of its own: callers do the I/O, one
sender at a time and one reader at a time (the client sees to the latter)."""
import os
import select
import socket
import ssl
import struct
import threading
import time

from .errors import ConnectFailed, Invalid, IOFailure, ProtocolError

HANDSHAKE_REQ = b"\x00SP\x00\x00\x30\x00\x00"
HANDSHAKE_REP = b"\x00SP\x00\x00\x31\x00\x00"
IPC_MSG = 0x01
MAX_FRAME = 1 << 31  # a longer length is taken for a broken stream
READ_CHUNK = 65536
# how long a reader polls for a reply due at once before it sleeps (see Conn._spin);
# $BROKERD_SPIN_US sets it in microseconds, 0 turns it off
SPIN = float(os.environ.get("BROKERD_SPIN_US") or 50) / 1e6
_perf = time.perf_counter
_unpack_q = struct.Struct(">Q").unpack_from
_unpack_i = struct.Struct(">I").unpack_from
_pack_ipc = struct.Struct(">BQI").pack  # an ipc frame's header and the request id
_pack_tcp = struct.Struct(">QI").pack
_unpack_ipc = struct.Struct(">BQI").unpack_from
_unpack_tcp = struct.Struct(">QI").unpack_from
_DONTWAIT = int(socket.MSG_DONTWAIT)  # an int: the flag enum costs a conversion per call
SPARE_RECHECK = 0.05  # seconds between looks at whether the machine has a CPU to spare
_spare = [0.0, True]  # (when to look again, the last verdict), for every Conn of the process


def _cpu_to_spare():
    """_cpu_to_spare: whether fewer tasks are running on the machine than this process may
    use CPUs (the running count of /proc/loadavg, which includes the caller): polling for
    a reply then takes no CPU that brokerd or another process needs. True where that
    cannot be read."""
    try:
        with open("/proc/loadavg", "rb") as f:
            running = int(f.read().split()[3].split(b"/")[0])
        return running <= len(os.sched_getaffinity(0))
    except (OSError, ValueError, IndexError, AttributeError):
        return True


def default_url():
    """default_url: $BROKERD_URL, else the default address of PROTOCOL.md "Addresses"."""
    url = os.environ.get("BROKERD_URL")
    if url:
        return url
    if os.geteuid() == 0:
        return "ipc:///run/brokerd/brokerd.sock"
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return "ipc://%s/brokerd.sock" % xdg
    return "ipc:///tmp/brokerd-%d/brokerd.sock" % os.geteuid()


def parse_url(url):
    """parse_url: (scheme, path_or_host, port) of url; Invalid for anything else."""
    for scheme in ("ipc", "tcp", "tls+tcp"):
        prefix = scheme + "://"
        if not url.startswith(prefix):
            continue
        rest = url[len(prefix):]
        if scheme == "ipc":
            if not rest:
                raise Invalid("bad address %s: want ipc://PATH" % url)
            return scheme, rest, None
        if rest.startswith("["):
            host, sep, port = rest[1:].partition("]:")
            if not sep:
                raise Invalid("bad address %s: want [IPv6]:PORT" % url)
        else:
            host, sep, port = rest.rpartition(":")
            if not sep or not host:
                raise Invalid("bad address %s: want HOST:PORT" % url)
        if not port.isdigit():
            raise Invalid("bad port in %s" % url)
        return scheme, host, int(port)
    raise Invalid("unknown address scheme in %r: use ipc://PATH, tcp://HOST:PORT or "
                  "tls+tcp://HOST:PORT" % url)


def _setting(given, env):
    value = given if given is not None else os.environ.get(env)
    return value or None


def _tls_context(ca, cert, key):
    ca = _setting(ca, "BROKERD_TLS_CA")
    cert = _setting(cert, "BROKERD_TLS_CERT")
    key = _setting(key, "BROKERD_TLS_KEY")
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = True  # also matches an IP address against the IP entries
    ctx.verify_mode = ssl.CERT_REQUIRED
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def _wait_fd(fd, events, deadline):
    """_wait_fd: polls fd until ready (True) or deadline (False); deadline None: forever."""
    p = select.poll()
    p.register(fd, events)
    ms = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000) + 1)
    return bool(p.poll(ms))


class Conn:
    """One connection to brokerd. send() may be called by any thread; recv_frames() by one
    thread at a time."""

    def __init__(self, sock, ipc, tls):
        self.sock = sock
        self.fd = sock.fileno()
        self.ipc = ipc
        self.tls = tls
        self.broken = False
        self._rcvtimeo = None  # SO_RCVTIMEO last set (plain sockets)
        self._spin_skip = 0  # replies to await asleep before spinning again (_spin)
        self._spin_backoff = 1
        self._send_mu = threading.Lock()
        self._tls_mu = threading.Lock()  # an SSL object takes one call at a time
        self._rb = bytearray()

    # ---- raw I/O ----
    #
    # A TLS socket is non-blocking: each call tries, then polls. A plain socket is in
    # blocking mode, as libbroker's: a send never waits (MSG_DONTWAIT, then poll), and a
    # reader blocks in recv under SO_RCVTIMEO, one system call per reply.

    def _try_send(self, view):
        """_try_send: bytes written, or 0 with the poll events to wait for."""
        try:
            if self.tls:
                with self._tls_mu:
                    return self.sock.send(view), 0
            return self.sock.send(view, _DONTWAIT), 0
        except ssl.SSLWantReadError:
            return 0, select.POLLIN
        except (ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
            return 0, select.POLLOUT

    def _write_all(self, data, deadline, progress=None):
        """_write_all: writes data by deadline; progress[0] counts the bytes gone out."""
        view = memoryview(data)
        sent_any = False
        progress = progress if progress is not None else [0]
        while view:
            try:
                n, events = self._try_send(view)
            except (OSError, ValueError) as e:
                err = IOFailure("cannot send to brokerd: %s" % e)
                err.sent = sent_any
                raise err from None
            if n:
                progress[0] += n
                sent_any = True
                view = view[n:]
                continue
            if self.broken:
                raise IOFailure("cannot send to brokerd: the connection is closed")
            until = deadline
            if events == select.POLLIN:  # TLS wants to read while another thread receives
                until = min(deadline, time.monotonic() + 0.01)
            if not _wait_fd(self.fd, events, until) and time.monotonic() >= deadline:
                err = IOFailure("cannot send to brokerd: timed out")
                err.sent = sent_any
                raise err

    def _try_recv(self):
        """_try_recv: bytes read (b"" at end of stream), or None with the events to wait for."""
        try:
            if self.tls:
                with self._tls_mu:
                    return self.sock.recv(READ_CHUNK), 0
            return self.sock.recv(READ_CHUNK, _DONTWAIT), 0
        except ssl.SSLWantWriteError:
            return None, select.POLLOUT
        except (ssl.SSLWantReadError, BlockingIOError, InterruptedError):
            return None, select.POLLIN

    # ---- framing ----

    def send(self, rid, body, timeout, progress=None):
        """send: one request with id rid (top bit set) and JSON bytes body; progress[0]
        (optional) counts its bytes gone out, also when an exception (an interruption)
        ends the send. A frame cut short breaks the connection (nothing after it would
        parse)."""
        with self._send_mu:
            return self.send_alone(rid, body, timeout, progress)

    def send_alone(self, rid, body, timeout, progress=None):
        """send_alone: send, for a caller that made sure no other thread sends meanwhile."""
        n = len(body) + 4
        frame = (_pack_ipc(IPC_MSG, n, rid) if self.ipc else _pack_tcp(n, rid)) + body
        size = len(frame)
        progress = progress if progress is not None else [0]
        try:
            if not self.tls and not self.broken:  # usually all of it goes at once
                try:
                    progress[0] = self.sock.send(frame, _DONTWAIT)
                except OSError:
                    pass  # full, or broken: _write_all waits or tells
                if progress[0] == size:
                    return size
            self._write_all(memoryview(frame)[progress[0]:], time.monotonic() + timeout,
                            progress)
        except IOFailure as e:
            if progress[0]:
                e.sent = True
            if getattr(e, "sent", True):
                self.break_()  # half a frame on the stream: nothing after it would parse
            raise
        except BaseException:
            if 0 < progress[0] < size:
                self.break_()
            raise
        return size

    def _frames(self):
        """_frames: the (id, body) of each whole frame at the head of the buffer, taken
        out of it."""
        rb = self._rb
        hl = 9 if self.ipc else 8
        frames = []
        at = 0
        while len(rb) - at >= hl:
            if self.ipc and rb[at] != IPC_MSG:
                raise ProtocolError("brokerd's reply does not follow the ipc framing")
            (flen,) = _unpack_q(rb, at + hl - 8)
            if flen < 4 or flen > MAX_FRAME or (len(rb) > at + hl and not rb[at + hl] & 0x80):
                raise ProtocolError("brokerd's reply does not follow the framing")
            if len(rb) - at - hl < flen:
                break
            (rid,) = _unpack_i(rb, at + hl)
            frames.append((rid, bytes(rb[at + hl + 4:at + hl + flen])))
            at += hl + flen
        if at:
            del rb[:at]
        return frames

    def recv_frames(self, timeout, spin=False):
        """recv_frames: the whole frames that arrive within timeout seconds (None: no limit),
        possibly none. IOFailure when the stream ended, ProtocolError when it is not framed.
        spin: a reply is due at once (see _spin)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            frames = self._frames() if self._rb else None
            if frames:
                return frames
            if self.broken:
                raise IOFailure("the connection to brokerd is closed")
            try:
                if spin and not self.tls and not self._rb:
                    spin = False
                    data, events = self._spin(), 0
                    if data is None:
                        continue
                elif self.tls:
                    data, events = self._try_recv()
                else:
                    data, events = self._recv_blocking(timeout, deadline), 0
            except (OSError, ValueError) as e:
                raise IOFailure("lost the connection to brokerd: %s" % e) from None
            if data:
                self._rb += data
                continue
            if data == b"":
                raise IOFailure("brokerd closed the connection")
            if events and not _wait_fd(self.fd, events, deadline) and deadline is not None \
                    and time.monotonic() >= deadline:
                return []
            if not events and deadline is not None and time.monotonic() >= deadline:
                return []

    def recv_reply(self, rid, timeout, spin=False):
        """recv_reply: recv_frames for a reader awaiting the reply to rid: on a plain socket
        with nothing buffered, one read that brings just that frame is taken as it is."""
        if self._rb or self.tls or self.broken:
            return self.recv_frames(timeout, spin)
        try:
            data = self._spin() if spin else None
            if data is None:
                data = self._recv_within(max(timeout, 0.001))  # 0 would wait for ever
        except (OSError, ValueError) as e:
            raise IOFailure("lost the connection to brokerd: %s" % e) from None
        if not data or len(data) < 13:
            pass
        elif self.ipc:
            kind, n, got = _unpack_ipc(data)
            if got == rid and n == len(data) - 9 and kind == IPC_MSG:
                return [(rid, data[13:])]
        else:
            n, got = _unpack_tcp(data)
            if got == rid and n == len(data) - 8:
                return [(rid, data[12:])]
        if data == b"":
            raise IOFailure("brokerd closed the connection")
        if data:
            self._rb += data
        return self._frames()

    def _spin(self):
        """_spin: bytes that arrive within SPIN seconds, read without sleeping, or None.
        A reply to a request that cannot wait in brokerd usually comes within tens of
        microseconds, and waking a sleeping reader costs as much again; so the reader
        polls for it first, but only while the machine has a CPU to spare (checked every
        SPARE_RECHECK seconds): when every CPU is busy, as with 8 processes calling on 2
        CPUs, polling would take the time brokerd and the others need. After a miss, the
        next 1, 2, 4 ... 64 replies are awaited asleep (a slow brokerd costs little), and a
        hit resets that."""
        if self._spin_skip:
            self._spin_skip -= 1
            return None
        now = _perf()
        if now >= _spare[0]:
            _spare[0], _spare[1] = now + SPARE_RECHECK, _cpu_to_spare()
        if not _spare[1]:
            return None
        recv, end = self.sock.recv, now + SPIN
        while True:
            try:
                data = recv(READ_CHUNK, _DONTWAIT)
            except BlockingIOError:
                if _perf() < end:
                    continue
                self._spin_skip = self._spin_backoff
                self._spin_backoff = min(2 * self._spin_backoff, 64)
                return None
            self._spin_backoff = 1
            return data

    def _recv_blocking(self, timeout, deadline):
        """_recv_blocking: bytes read from a plain socket, waiting until deadline (None:
        forever), timeout seconds from the start; None when the time is up."""
        if deadline is None:
            wait = 0.0
        elif not self._rb:
            wait = max(timeout, 0.001)  # usually as last time: no setsockopt
        else:
            wait = max(deadline - time.monotonic(), 0.001)  # the rest of a frame
        return self._recv_within(wait)

    def _recv_within(self, wait):
        """_recv_within: bytes read from a plain socket within wait seconds (0: no limit),
        or None when the time is up."""
        if wait != self._rcvtimeo:
            self._set_rcvtimeo(wait)
        try:
            return self.sock.recv(READ_CHUNK)
        except BlockingIOError:  # SO_RCVTIMEO passed
            return None

    def _set_rcvtimeo(self, wait):
        sec = int(wait)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                             struct.pack("ll", sec, int((wait - sec) * 1e6)))
        self._rcvtimeo = wait

    # ---- lifetime ----

    def break_(self):
        """break_: ends the stream for both sides; readers and senders fail."""
        if not self.broken:
            self.broken = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.broken = True
        try:
            self.sock.close()
        except OSError:
            pass

    def drop(self):
        """drop: in a fork()ed child: closes the inherited descriptor and nothing else (no
        shutdown, no TLS close_notify: the stream is the parent's)."""
        self.broken = True
        try:
            fd = self.sock.detach()
        except (OSError, AttributeError, ValueError):
            fd = self.fd
        try:
            os.close(fd)
        except OSError:
            pass

    def peer_gone(self):
        """peer_gone: whether an idle connection was closed or reset by brokerd."""
        if self.broken:
            return True
        p = select.poll()
        p.register(self.fd, select.POLLIN | getattr(select, "POLLRDHUP", 0))
        bad = select.POLLHUP | select.POLLERR | getattr(select, "POLLRDHUP", 0)
        return any(ev & bad for _, ev in p.poll(0))


def _trusted_uid(uid):
    """_trusted_uid: whether a daemon running as uid may be talked to over ipc: root, this
    process's own user, the "brokerd" service user, or $BROKERD_DAEMON_UID (a uid or a
    name). Another user could have made the socket to read what clients send."""
    import pwd
    if uid in (0, os.geteuid()):
        return True
    want = os.environ.get("BROKERD_DAEMON_UID") or "brokerd"
    if want.isdigit():
        return uid == int(want)
    try:
        return pwd.getpwnam(want).pw_uid == uid
    except KeyError:
        return False


def _check_daemon(s, url):
    uid = struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
    if not _trusted_uid(uid):
        raise ConnectFailed(
            "cannot connect to %s: the process listening there runs as uid %d, not root, "
            "you, or the brokerd user (set BROKERD_DAEMON_UID to trust it); nothing was sent"
            % (url, uid))


def _dial(scheme, host, port, deadline, url):
    if scheme == "ipc":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(max(deadline - time.monotonic(), 0.001))
            s.connect(host)
            _check_daemon(s, url)
        except ConnectFailed:
            s.close()
            raise
        except OSError as e:
            s.close()
            raise ConnectFailed("cannot connect to %s: %s" % (url, e)) from None
        return s
    try:
        s = socket.create_connection((host, port), max(deadline - time.monotonic(), 0.001))
    except OSError as e:
        raise ConnectFailed("cannot connect to %s: %s" % (url, e)) from None
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def open_conn(url, timeout, tls_ca=None, tls_cert=None, tls_key=None):
    """open_conn: a Conn to url, handshake done; ConnectFailed, Invalid or ProtocolError."""
    scheme, host, port = parse_url(url)
    deadline = time.monotonic() + timeout
    s = _dial(scheme, host, port, deadline, url)
    try:
        if scheme == "tls+tcp":
            try:
                ctx = _tls_context(tls_ca, tls_cert, tls_key)
                s.settimeout(max(deadline - time.monotonic(), 0.001))
                s = ctx.wrap_socket(s, server_hostname=host)
            except (OSError, ssl.SSLError, ssl.CertificateError) as e:
                raise ConnectFailed("TLS to %s: %s" % (url, e)) from None
        s.setblocking(False)
        k = Conn(s, scheme == "ipc", scheme == "tls+tcp")
        _handshake(k, url, deadline)
        if not k.tls:
            s.setblocking(True)  # see "raw I/O" in Conn
        return k
    except BaseException:
        s.close()
        raise


def _handshake(k, url, deadline):
    try:
        k._write_all(HANDSHAKE_REQ, deadline)
        while len(k._rb) < len(HANDSHAKE_REP):
            data, events = k._try_recv()
            if data == b"":
                raise ConnectFailed("cannot connect to %s: closed during the handshake" % url)
            if data:
                k._rb += data
            elif not _wait_fd(k.fd, events, deadline) and time.monotonic() >= deadline:
                raise ConnectFailed("cannot connect to %s: no handshake in time" % url)
    except (IOFailure, OSError) as e:
        raise ConnectFailed("cannot connect to %s: %s" % (url, e)) from None
    if bytes(k._rb[:8]) != HANDSHAKE_REP:
        raise ProtocolError("%s is not a brokerd (REP0) endpoint" % url)
    del k._rb[:8]
