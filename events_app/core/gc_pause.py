"""Heavy builds in worker threads run without the cyclic garbage collector.

Building a 2,000-talk feed creates hundreds of thousands of short-lived objects; each allocation burst triggers
collections, and a full one walks every live object of the process while holding the GIL: measured 200-400 ms
during one cold build, with the event loop (every other request of the worker) stopped meanwhile. The build's
objects are freed by reference counting as soon as their bytes are kept, so the collector has nothing to find
there: it is paused while a build runs and resumes (with its counts, so it collects soon after) when the last
one ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_running = 0  # builds under way
_resume = True  # whether the collector was enabled when the first of them started


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
