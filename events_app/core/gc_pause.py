"""The cyclic garbage collector in a server process: paused during heavy builds, tuned once started.

Heavy builds in worker threads run without the cyclic garbage collector.

Building a 2,000-talk feed creates hundreds of thousands of short-lived objects; each allocation burst triggers
collections, and a full one walks every live object of the process while holding the GIL: measured 200-400 ms
during one cold build, with the event loop (every other request of the worker) stopped meanwhile. The build's
objects are freed by reference counting as soon as their bytes are kept, so the collector has nothing to find
there: it is paused while a build runs and resumes (with its counts, so it collects soon after) when the last
one ends.

Once a server has started, full collections are what stops its event loop: measured on the 2,000-talk
conference under load (bench/pages.py --only-big), each worker ran a full collection every 1.5 s, 100-160 ms
each, finding nothing. Requests' short-lived objects were promoted to the oldest generation while their request
was still running (the youngest was collected every 700 allocations), and each full collection walked every
object the process had built at start-up (modules, the app, templates). `tune_for_serving` moves what start-up
built out of the collector's sight (it lives as long as the process) and lets the youngest generation grow to
YOUNG_GENERATION objects first, so most of a request's objects are freed by reference counting before a
collection sees them. Measured after: no full collection in the run, a young one of ~15 ms every few seconds,
and the probe's p99 from 106-186 ms down to 24-80 ms in seven runs (docs/benchmarks.md).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_GENERATION = 50_000  # CPython's default is 700
_lock = threading.Lock()
_running = 0  # builds under way
_resume = True  # whether the collector was enabled when the first of them started
_tuned = False


@contextmanager
def collector_paused() -> Iterator[None]:
    global _running, _resume
    with _lock:
        if _running == 0:
            _resume = gc.isenabled()
            gc.disable()
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _resume:
                gc.enable()


def tune_for_serving() -> None:
    """Once per process, when a server has started: collect, freeze what is left, collect the young less often.
    Later calls (an app built again in the same process, as tests do) change nothing."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, old)
