"""test_examples.py: runs every program of python/examples/ against a fresh brokerd under
the fork and spawn start methods, checks its output, and that it left no object behind
(its unnamed objects are deleted when its client closes)."""
import os
import re
import subprocess
import sys

import pytest

from conftest import HERE

EXAMPLES = HERE.parent / "examples"
SRC = HERE.parent / "src"
TIMEOUT = 60


def unlocked_counter(line):
    """counter.py's unlocked count may lose updates (or not): only its sum is checked."""
    m = re.fullmatch(r"counter without a lock: (\d+) \((\d+) updates lost\)", line)
    return bool(m) and int(m[1]) <= 1000 and int(m[1]) + int(m[2]) == 1000


SQUARES = [i * i for i in range(20)]

EXPECTED = {
    "producer_consumer.py": [
        "items processed: 20",
        "squares: %s" % SQUARES,
    ],
    "shared_dict_list.py": [
        "dict: %s" % {i: i * i for i in range(10)},
        "list: %s" % list(range(10)),
    ],
    "counter.py": [
        unlocked_counter,
        "counter with a lock: 1000",
        "counter with atomic add: 1000",
    ],
    "semaphore.py": [
        "workers done: 20",
        "max at once <= 5: True",
        "running at the end: 0",
    ],
    "event.py": [
        "workers ready: 5",
        "started before the signal: []",
        "started after the signal: [0, 1, 2, 3, 4]",
    ],
    "condition.py": [
        "consumed: ['item 0', 'item 1', 'item 2']",
        "left over: []",
    ],
    "barrier.py": [
        "passed the barrier: 3",
        "wait() indexes: [0, 1, 2]",
        "arrived when each went on: [3, 3, 3]",
    ],
    "pool.py": [
        "callbacks run: 100",
        "results: True",
        "workers exited: [0, 0, 0, 0, 0]",
    ],
    "pipe.py": [
        "end of pipe",
        "received: [0, 1, 2, 3, 4]",
    ],
    "tickets.py": [
        "tickets left: 0",
        "tickets sold: 50",
        "each ticket sold once: True",
        "sellers' total: 50 by 4 sellers",
    ],
    "lifo_priority.py": [
        "lifo: [5, 4, 3, 2, 1]",
        "priority: [(1, 'urgent'), (1, 'urgent too'), (2, 'normal'), (3, 'low')]",
    ],
}


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


def run_example(name, method, url):
    env = dict(os.environ, PYTHONPATH=str(SRC), BROKERD_URL=url)
    env.pop("START_METHOD", None)
    return subprocess.run([sys.executable, str(EXAMPLES / name), method], env=env,
                          cwd=str(EXAMPLES), capture_output=True, text=True,
                          timeout=TIMEOUT)


@pytest.mark.parametrize("method", ["fork", "spawn"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example(name, method, daemon, client):
    done = run_example(name, method, daemon.url)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    expected = EXPECTED[name]
    assert len(lines) == len(expected), done.stdout
    for line, want in zip(lines, expected):
        if callable(want):
            assert want(line), line
        else:
            assert line == want
    assert client.call("ls") == []  # its unnamed objects went with its client
