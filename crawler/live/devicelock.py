"""One device command at a time, with the prober's commands served before the sampler's next shot.

Appium sessions take one command at a time. A plain lock is not fair: the frame sampler, looping, took
it back at once after every screenshot and a tap waited behind several of them. Here ``with lock:``
(taps, foreground checks) is urgent: the sampler's ``with lock.background():`` waits until no urgent
command is waiting, so an urgent one waits at most for the screenshot already under way.

A command that never comes back (a frozen app's screenshot, a wedged driver) would hold the device for
good: an urgent command that has waited ``stall_s`` for one raises ``DeviceStalled`` instead.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from crawler.devices.faults import DeviceStalled

#: Longer than any device command answers on a busy machine (a cold launch, a screenshot at load 25).
STALL_S = 30.0


class DeviceLock:
    def __init__(self, stall_s: float = STALL_S) -> None:
        self.stall_s = stall_s
        self._cond = threading.Condition()
        self._busy = False
        self._busy_since = 0.0
        self._urgent_waiting = 0

    def __enter__(self) -> DeviceLock:
        with self._cond:
            self._urgent_waiting += 1
            try:
                while self._busy:
                    waited_s = time.monotonic() - self._busy_since
                    if waited_s >= self.stall_s:
                        raise DeviceStalled(f"the device has not answered a command for {waited_s:.0f} s")
                    self._cond.wait(self.stall_s - waited_s)
            finally:
                self._urgent_waiting -= 1
            self._take()
        return self

    @property
    def busy(self) -> bool:
        return self._busy

    def stalled_s(self) -> float | None:
        """How long the command under way has held the device, once that is ``stall_s`` or more."""
        with self._cond:
            held_s = time.monotonic() - self._busy_since
            return held_s if self._busy and held_s >= self.stall_s else None

    def _take(self) -> None:
        self._busy, self._busy_since = True, time.monotonic()

    def __exit__(self, *exc_info) -> None:
        self._release()

    @contextmanager
    def background(self):
        """Hold the device for a command that can wait (the next screenshot)."""
        with self._cond:
            while self._busy or self._urgent_waiting:
                self._cond.wait()
            self._take()
        try:
            yield self
        finally:
            self._release()

    def _release(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()
