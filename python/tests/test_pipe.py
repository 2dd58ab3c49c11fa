"""test_pipe.py: m.Pipe() ends as multiprocessing.connection.Connection (PROTOCOL.md
"Pipes")."""
import multiprocessing
import os
import signal

import pytest

import brokerd
from conftest import wait_until


def test_values_and_bytes_go_both_ways_in_order(client):
    a, b = client.Pipe()
    a.send({"n": 1})
    a.send([1, 2])
    a.send_bytes(b"raw\x00bytes")
    a.send_bytes(bytearray(b"0123456789"), 2, 3)
    assert b.recv() == {"n": 1} and b.recv() == [1, 2]
    assert b.recv() == b"raw\x00bytes"  # recv gives bytes as bytes
    assert b.recv_bytes() == b"234"
    b.send("back")
    assert a.poll() and a.recv() == "back" and not a.poll()
    b.send({"k": "v"})
    assert a.recv_bytes() == b'{"k":"v"}'  # a value's JSON text
    with pytest.raises(ValueError):
        a.send_bytes(b"abc", 2, 5)
    with pytest.raises(TypeError):
        a.send(object())


def test_a_one_way_pipe_reads_on_a_and_writes_on_b(client):
    reader, writer = client.Pipe(duplex=False)
    assert reader.readable and not reader.writable and writer.writable
    writer.send(1)
    assert reader.recv() == 1
    with pytest.raises(OSError) as e:
        reader.send(2)
    assert isinstance(e.value, brokerd.WrongEnd)
    with pytest.raises(OSError):
        writer.recv()


def test_maxlength_too_small_leaves_the_message(client):
    a, b = client.Pipe()
    a.send_bytes(b"x" * 10)
    with pytest.raises(brokerd.TooLong):
        b.recv_bytes(5)
    buf = bytearray(4)
    with pytest.raises(multiprocessing.BufferTooShort):
        b.recv_bytes_into(buf)
    big = bytearray(12)
    assert b.recv_bytes_into(big, 2) == 10 and big[2:] == b"x" * 10
    with pytest.raises(ValueError):
        b.recv_bytes(-1)


def test_a_full_direction_waits_and_times_out(client):
    a, b = client.Pipe(None, True, maxmsgs=1)
    a.send(1)
    with pytest.raises(brokerd.Full):
        a.send(2, timeout=0.1)
    with pytest.raises(brokerd.Empty):
        a.recv(timeout=0.1)
    assert b.recv() == 1
    a.send(2)
    assert b.recv() == 2


def test_close_gives_the_peer_the_rest_then_eof(client):
    a, b = client.Pipe()
    a.send(1)
    a.close()
    assert a.closed
    with pytest.raises(OSError):
        a.send(2)  # a closed handle, as Python's
    assert b.poll() and b.recv() == 1
    assert b.poll(None)  # EOF is ready
    with pytest.raises(EOFError):
        b.recv()
    with pytest.raises(BrokenPipeError):
        b.send(3)


def test_an_end_belongs_to_the_session_that_uses_it_first(client, daemon):
    a, b = client.Pipe("owned")
    a.send(1)
    with brokerd.connect(daemon.url) as other:
        a2, _ = other.Pipe("owned")
        with pytest.raises(brokerd.EndHeld) as e:
            a2.send(2)
        assert "session" in str(e.value)
    ends = a.stat()["ends"]
    assert ends["a"]["state"] == "open" and ends["b"]["state"] == "unopened"
    assert ends["b"]["buffered"] == 1


def child_answers(end):
    for _ in range(3):
        end.send(end.recv() * 2)
    end.close()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_passing_an_end_to_a_child_hands_it_over(client, method):
    a, b = client.Pipe()
    p = multiprocessing.get_context(method).Process(target=child_answers, args=(b,))
    p.start()
    for i in range(3):
        a.send(i)
    assert [a.recv(timeout=20) for _ in range(3)] == [0, 2, 4]
    with pytest.raises(EOFError):
        a.recv(timeout=20)
    p.join(20)
    assert p.exitcode == 0


def sends_and_waits(end, count):
    for i in range(count):
        end.send(i)
    end.send("sent")
    signal.pause()


def test_sigkill_of_the_holder_gives_eof_after_the_buffered_messages(client):
    a, b = client.Pipe()
    p = multiprocessing.get_context("fork").Process(target=sends_and_waits, args=(b, 3))
    p.start()
    got = []
    while not got or got[-1] != "sent":
        got.append(a.recv(timeout=20))
    os.kill(p.pid, signal.SIGKILL)
    p.join(20)
    with pytest.raises(EOFError):
        a.recv(timeout=20)
    assert got == [0, 1, 2, "sent"]


def test_an_unnamed_pipe_is_deleted_with_its_client(daemon, client):
    with brokerd.connect(daemon.url) as m:
        a, b = m.Pipe()
        a.send(1)
        name = a.name
        assert name in {o["name"] for o in client.call("ls")}
    wait_until(lambda: name not in {o["name"] for o in client.call("ls")},
               what="the unnamed pipe to go")
