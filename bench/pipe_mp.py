"""pipe_mp.py: Python's multiprocessing.Pipe(duplex=False) between two processes, one way,
as bench/pipe_bench.c does with a brokerd pipe: the parent sends for SECONDS, then closes;
the child receives until EOFError. Prints one JSON line: messages/s ("small": the same small
dict, pickled) or MiB/s ("big": SIZE bytes each, default 1 MiB, send_bytes/recv_bytes).
Usage: python3 bench/pipe_mp.py small|big SECONDS [SIZE]"""
import json
import multiprocessing as mp
import sys
import time


def receive(reader, writer, big, size):
    writer.close()  # else the child's own copy of the writer keeps EOF from coming
    try:
        while True:
            if big:
                if len(reader.recv_bytes()) != size:
                    sys.exit(1)
            else:
                reader.recv()
    except EOFError:
        sys.exit(0)


def main():
    kind, seconds = sys.argv[1], float(sys.argv[2])
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 20
    big = kind == "big"
    ctx = mp.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)
    child = ctx.Process(target=receive, args=(reader, writer, big, size))
    child.start()
    reader.close()
    data = bytes(size) if big else None
    n = 0
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:
        if big:
            writer.send_bytes(data)
        else:
            writer.send({"op": "tick", "n": n})
        n += 1
    writer.close()
    child.join()
    elapsed = time.monotonic() - start
    if child.exitcode != 0:
        sys.exit("pipe_mp: the receiver failed")
    if big:
        print(json.dumps({"test": "mp-pipe-big", "size": size, "messages": n,
                          "mib_per_sec": round(n * size / (1 << 20) / elapsed, 1)}))
    else:
        print(json.dumps({"test": "mp-pipe-small", "messages": n,
                          "msgs_per_sec": round(n / elapsed)}))


if __name__ == "__main__":
    main()
