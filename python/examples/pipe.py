"""pipe.py: a producer process sends five messages down a pipe and closes its end; the
main process receives them in order, then EOFError. With multiprocessing this would be
`reader, writer = Pipe(False)`; brokerd's pipe is the same, and named pipes also link
processes that are not parent and child.

    python3 pipe.py [fork|spawn]
"""
import os
import sys
from multiprocessing import Process, set_start_method

import brokerd


def produce(writer):
    for i in range(5):
        writer.send({"message": i})
    writer.close()


if __name__ == "__main__":
    method = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("START_METHOD")
    if method:
        set_start_method(method)

    with brokerd.connect() as m:
        reader, writer = m.Pipe(duplex=False)  # instead of Pipe(False)
        p = Process(target=produce, args=(writer,))
        p.start()
        got = []
        while True:
            try:
                got.append(reader.recv()["message"])
            except EOFError:
                print("end of pipe")
                break
        p.join()
        print("received:", got)
