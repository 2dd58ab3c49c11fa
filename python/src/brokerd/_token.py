"""_token.py: the token a client greets brokerd with (PROTOCOL.md "hello"), found as
libbroker finds it (client/broker.h, brk_options): the argument token, else the first line
of token_file, else $BROKERD_TOKEN, else the file named by $BROKERD_TOKEN_FILE. A token is a
password: it never appears in an exception's message."""
import os
import stat

from .errors import Invalid

TOKEN_MAX = 4096  # bytes of a token file's first line read at most, as libbroker


def resolve(token=None, token_file=None):
    """resolve: the token to send (a str), or None for none; an empty value counts as unset.
    Invalid for a token file that is refused (see read_file)."""
    if not token and not token_file:
        token = os.environ.get("BROKERD_TOKEN")
        token_file = os.environ.get("BROKERD_TOKEN_FILE")
    if token:
        if not isinstance(token, str):
            raise TypeError("token must be a str, not %s" % type(token).__name__)
        return token
    return read_file(os.fspath(token_file)) if token_file else None


def read_file(path):
    """read_file: the first line of the token file path, trailing white space stripped.
    Invalid when it cannot be read, is not a regular file, is empty, or others (not owner
    or group) may read or write it: they would know, or could change, the secret."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as e:
        raise Invalid("token file %s refused: %s" % (path, e.strerror)) from None
    try:
        why = _refusal(os.fstat(fd))
        line = b"" if why else _first_line(fd)
    except OSError as e:
        why = e.strerror
    finally:
        os.close(fd)
    if not why and not line:
        why = "it is empty or cannot be read"
    if why:
        raise Invalid("token file %s refused: %s" % (path, why))
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("token file %s refused: the token is not UTF-8 text" % path) from None


def _refusal(st):
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if st.st_mode & (stat.S_IROTH | stat.S_IWOTH):
        return "others may read or write it (chmod o-rw, or 0600)"
    return None


def _first_line(fd):
    data = b""
    while len(data) < TOKEN_MAX:
        chunk = os.read(fd, TOKEN_MAX - len(data))
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].rstrip(b" \t\r\v\f")
