"""test_metrics.py: brokerd's Prometheus endpoint (--metrics), scraped over HTTP and read by
a strict parser of the text format (version 0.0.4), written here from its specification:
every sample belongs to a family announced by # TYPE before it, names and labels are well
formed, histogram buckets are cumulative and end at +Inf = _count."""
import math
import re
import urllib.error
import urllib.request

import brokerd
from conftest import Daemon, free_port

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"^(%s)(?:\{((?:%s)(?:,%s)*)?\})? (\S+)$" % (NAME, LABEL, LABEL))
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", "")}


def family_of(name, types):
    """The announced family a sample name belongs to, or None."""
    if name in types:
        return name
    for fam, kind in types.items():
        for suffix in SUFFIXES.get(kind, ()):
            if suffix and name == fam + suffix:
                return fam
    return None


def unescape(v):
    return re.sub(r"\\([\\\"n])", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse(text):
    """{family: (type, [(name, {label: value}, float)])}; raises ValueError on any line that
    is not in the format."""
    types, samples = {}, {}
    assert text.endswith("\n"), "the last line must end with a newline"
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            if not re.fullmatch(NAME, name) or kind not in TYPES or name in types:
                raise ValueError("line %d: bad or repeated TYPE: %r" % (n, line))
            types[name] = kind
            samples[name] = []
        elif line.startswith("# HELP ") or line.startswith("#"):
            continue
        else:
            m = SAMPLE.match(line)
            if not m:
                raise ValueError("line %d: not a sample: %r" % (n, line))
            fam = family_of(m.group(1), types)
            if fam is None:
                raise ValueError("line %d: %s has no TYPE before it" % (n, m.group(1)))
            labels = {k: unescape(v) for k, v in re.findall(LABEL, m.group(2) or "")}
            samples[fam].append((m.group(1), labels, float(m.group(m.lastindex))))
    return {fam: (types[fam], samples[fam]) for fam in types}


def check_histogram(name, samples):
    buckets = [(float(l["le"]), v) for n, l, v in samples if n == name + "_bucket"]
    count = [v for n, _, v in samples if n == name + "_count"]
    assert buckets and buckets[-1][0] == math.inf, "the last bucket is +Inf"
    assert [b for b, _ in buckets] == sorted(b for b, _ in buckets)
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), "buckets are cumulative"
    assert count == [buckets[-1][1]], "+Inf bucket equals _count"


def scrape(port, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def value(fams, fam, **labels):
    for _, l, v in fams[fam][1]:
        if l == labels:
            return v
    raise KeyError((fam, labels))


def test_metrics_scrape_parses_and_counts(workdir):
    port = free_port()
    d = Daemon(workdir, ["--metrics", "127.0.0.1:%d" % port]).start()
    try:
        c = brokerd.connect(d.url)
        for i in range(5):
            c.call("queue.put", name='odd "name"\\', value=i)
        c.call("queue.put", name="small", value=1)
        try:
            c.call("queue.get_nowait", name="nothing")
        except brokerd.errors.BrokerError:
            pass
        fams = parse(scrape(port))
        assert fams["brokerd_request_duration_seconds"][0] == "histogram"
        check_histogram("brokerd_request_duration_seconds",
                        fams["brokerd_request_duration_seconds"][1])
        assert value(fams, "brokerd_queue_depth", queue='odd "name"\\') == 5
        assert value(fams, "brokerd_queue_depth", queue="small") == 1
        assert value(fams, "brokerd_queue_depth_total") == 6
        assert value(fams, "brokerd_objects", type="queue") == 2
        assert value(fams, "brokerd_requests_total", op="queue.put") == 6
        assert value(fams, "brokerd_errors_total", code="empty") == 1
        assert value(fams, "brokerd_sessions") == 1
        assert value(fams, "brokerd_memory_used_bytes") > 0
        assert fams["brokerd_requests_total"][0] == "counter"
        c.close()
        try:
            scrape(port, "/other")
            assert False, "only /metrics is served"
        except urllib.error.HTTPError as e:
            assert e.code == 404
    finally:
        assert d.stop() in (0, None)


def test_metrics_per_object_series_are_bounded(workdir):
    port = free_port()
    d = Daemon(workdir, ["--metrics", "127.0.0.1:%d" % port]).start()
    try:
        c = brokerd.connect(d.url)
        for i in range(50):
            for _ in range(i % 7 + 1):
                c.call("queue.put", name="q%d" % i, value=0)
        fams = parse(scrape(port))
        depths = [v for _, _, v in fams["brokerd_queue_depth"][1]]
        deepest = sorted((i % 7 + 1 for i in range(50)), reverse=True)[:20]
        assert sorted(depths, reverse=True) == deepest  # the 20 deepest, no more
        assert value(fams, "brokerd_queue_depth_total") == sum(i % 7 + 1 for i in range(50))
        c.close()
    finally:
        assert d.stop() in (0, None)


def test_parser_refuses_what_is_not_the_format():
    for bad in ["x 1\n", "# TYPE x gauge\nx{a=b} 1\n", "# TYPE x gauge\nx 1", "# TYPE x nope\n"]:
        try:
            parse(bad)
        except (ValueError, AssertionError):
            continue
        assert False, "accepted %r" % bad


def test_metrics_stay_on_loopback_in_protected_mode(workdir):
    import subprocess
    from conftest import BROKERD_BIN
    r = subprocess.run([BROKERD_BIN, "-l", "ipc://%s/b.sock" % workdir, "--metrics",
                        "0.0.0.0:9464"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert "protected mode keeps metrics" in r.stderr


def test_an_oversized_scrape_is_refused_and_the_endpoint_goes_on(workdir):
    import socket
    port = free_port()
    d = Daemon(workdir, ["--metrics", "127.0.0.1:%d" % port]).start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 +
                      b"\r\n\r\n")
            answer = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
            except ConnectionResetError:
                pass
        assert not answer.startswith(b"HTTP/1.1 200"), answer[:80]  # headers over 8 KiB
        assert "brokerd_sessions" in scrape(port)
    finally:
        assert d.stop() in (0, None)
