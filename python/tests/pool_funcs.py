"""pool_funcs.py: functions the pool tests' workers serve (python3 -m brokerd.worker)."""
import os
import signal
import time


def plus100(i):
    return i + 100


def add(a, b=0):
    return a + b


def fail(message):
    raise ValueError(message)


def nap(seconds, value=None):
    time.sleep(seconds)
    return value


def die_once(path, value):
    """die_once: kills its worker the first time it runs (path marks that it did)."""
    if not os.path.exists(path):
        with open(path, "w"):
            pass
        os.kill(os.getpid(), signal.SIGKILL)
    return value


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def whoami():
    return os.getpid()
