"""One device command at a time, with the prober's commands served before the sampler's next shot.

Appium sessions take one command at a time. A plain lock is not fair: the frame sampler, looping, took
it back at once after every screenshot and a tap waited behind several of them. Here ``with lock:``
(taps, foreground checks) is urgent: the sampler's ``with lock.background():`` waits until no urgent
command is waiting, so an urgent one waits at most for the screenshot already under way.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager


class DeviceLock:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._urgent_waiting = 0

    def __enter__(self) -> DeviceLock:
        with self._cond:
            self._urgent_waiting += 1
            try:
                while self._busy:
                    self._cond.wait()
            finally:
                self._urgent_waiting -= 1
            self._busy = True
        return self

    def __exit__(self, *exc_info) -> None:
        self._release()

    @contextmanager
    def background(self):
        """Hold the device for a command that can wait (the next screenshot)."""
        with self._cond:
            while self._busy or self._urgent_waiting:
                self._cond.wait()
            self._busy = True
        try:
            yield self
        finally:
            self._release()

    def _release(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()
