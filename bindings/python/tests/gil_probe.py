"""Watching whether a call releases the GIL, for the thread tests."""

import gc
import threading
import time


def ticks_in_the_middle_of(call):
    """Runs `call` in a thread while this thread ticks (sleeping 0.2 ms between ticks);
    returns how many ticks fell in the middle half of the call, and the call's result.

    A tick needs the GIL. A native call that holds the GIL throughout lets none
    happen while it runs; one that releases it lets this thread tick freely.

    The cyclic garbage collector is off meanwhile: a collection run by a tick could free
    objects left by earlier tests (keystores closing their stores) with the GIL held, and
    stall the ticks for reasons that have nothing to do with `call`."""
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
    length = span["end"] - span["start"]
    lo, hi = span["start"] + length / 4, span["end"] - length / 4
    return sum(lo < tick < hi for tick in ticks), span["result"]
