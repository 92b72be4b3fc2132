"""Watching whether a call releases the GIL, for the thread tests."""

import gc
import threading
import time
from typing import NamedTuple


class Watch(NamedTuple):
    """What this thread saw while another ran a call: `ticks` between the call's start and
    end, and `longest_pause`, the longest stretch of the call without a tick, as a share of
    the call's duration (0 to 1)."""

    ticks: int
    longest_pause: float

    def released(self):
        """Whether the call let this thread run for most of it: a call that holds the GIL
        throughout pauses the ticks for all of it but its edges (a share near 1). A call that
        releases it for its work pauses them only while it holds the GIL (converting the
        arguments, copying a large result into a new Python object: a third of a 128 MiB
        open, measured)."""
        return self.ticks > 5 and self.longest_pause < 0.75


def watch_gil(call):
    """Runs `call` in a thread while this thread ticks (sleeping 0.2 ms between ticks); returns
    the Watch of the ticks and the call's result. A tick needs the GIL.

    The cyclic garbage collector is off meanwhile, so that no collection run by a tick stalls
    the ticks for reasons that have nothing to do with `call`."""
    span = {}
    done = threading.Event()

    def run():
        span["start"] = time.perf_counter()
        span["result"] = call()
        span["end"] = time.perf_counter()
        done.set()

    ticks = []
    gc.collect()
    gc.disable()
    try:
        t = threading.Thread(target=run)
        t.start()
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.0002)
        t.join()
    finally:
        gc.enable()
    start, end = span["start"], span["end"]
    marks = [start] + [tick for tick in ticks if start < tick < end] + [end]
    pause = max(b - a for a, b in zip(marks, marks[1:]))
    return Watch(len(marks) - 2, pause / max(end - start, 1e-9)), span["result"]
