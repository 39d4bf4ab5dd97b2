"""Playing a motion profile on a device: a stream of sensor readings, watching for a jump as it goes.

Each reading is computed for the moment it is sent (``MotionProfile.reading(t)``), so a slow device or
a busy machine sends fewer readings of the same motion, never a slower one; every reading sent is
kept, and what the motion was is measured from them (``crawler.live.motion.summarise``). Chromium
fires ``devicemotion`` 60 times a second with the newest reading; three DevTools calls carry one
reading (about 8 ms each on a quiet machine here, so 30-40 readings a second).

Who is in front is asked as the motion ends, and every ``POLL_S`` while the full shake plays: a page
that jumps before that shake has lasted its 3 s is caught in the act, and the motion stops there (what
was played up to then is what it jumped on). A gentle motion is below the floor however far it got,
so it is not slowed by the asking.
The caller holds the device for the whole motion (``DeviceLock``): no screenshot comes between two
readings.
"""

from __future__ import annotations

import time

from crawler.devices.base import Device, Foreground
from crawler.live.motion import MotionProfile, Reading

#: How often (s) the foreground is checked while a motion plays.
POLL_S = 0.25


def play(device: Device, profile: MotionProfile, baseline: Foreground | None,
         poll_s: float = POLL_S) -> tuple[list[tuple[float, Reading]], str | None]:
    """Stream ``profile`` to ``device``: the readings sent, as ``(t_s since the start, reading)``, and
    why the stream stopped early (a jump seen), or None when it ran its course.

    The phone is left at rest where the motion ended, so the last reading is not held as if it went on.
    """
    sent: list[tuple[float, Reading]] = []
    started, next_poll_s, stopped = time.monotonic(), poll_s, None
    while (t_s := time.monotonic() - started) < profile.duration_s:
        reading = profile.reading(t_s)
        device.motion_set(reading)
        sent.append((t_s, reading))
        if not profile.gentle and t_s >= next_poll_s and baseline is not None:
            next_poll_s = t_s + poll_s
            jump = device.foreground().jump_since(baseline)
            if jump:
                # The last reading was held until the jump was seen: the motion lasted until then.
                seen_s = time.monotonic() - started
                sent.append((seen_s, reading))
                stopped = f"jump seen {seen_s:.2f} s into the motion: {jump.detail}"
                break
    rest = profile.at_rest()
    device.motion_set(rest)
    if stopped is None:
        end_s = time.monotonic() - started
        sent.append((end_s, rest))
        if baseline is not None and (jump := device.foreground().jump_since(baseline)):
            stopped = f"jump seen as the motion ended ({end_s:.2f} s): {jump.detail}"
    return sent, stopped
