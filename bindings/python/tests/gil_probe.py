"""Watching whether a call releases the GIL, for the thread tests."""

import threading
import time


def ticks_in_the_middle_of(call):
    """Runs `call` in a thread while this thread ticks (sleeping 0.2 ms between ticks);
    returns how many ticks fell in the middle half of the call, and the call's result.

    A tick needs the GIL. A native call that holds the GIL throughout lets none
    happen while it runs; one that releases it lets this thread tick freely."""
    span = {}
    done = threading.Event()

    def run():
        span["start"] = time.perf_counter()
        span["result"] = call()
        span["end"] = time.perf_counter()
        done.set()

    ticks = []
    t = threading.Thread(target=run)
    t.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.0002)
    t.join()
    length = span["end"] - span["start"]
    lo, hi = span["start"] + length / 4, span["end"] - length / 4
    return sum(lo < tick < hi for tick in ticks), span["result"]
