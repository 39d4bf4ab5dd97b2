"""How a phone moves when it is picked up, carried, tilted or shaken, as its motion sensors read it.

A shake ad must not jump unless the phone is really shaken: T/TAF 078.7-2022 sets the floor at an
acceleration of 15 m/s², a rotation of 35° and a shake lasting 3 s (RULES.md, SHAKE_JUMP). The shake
probe plays motions below that floor (what happens to a phone every day) and one above it, each as a
stream of sensor readings, and sees whether the ad jumps.

A profile gives, at any time since it began, what the three motion sensors read, in the device's own
axes (x to the right of the screen, y up it, z out of it; W3C DeviceMotionEvent and Android agree):

- ``accel``: the accelerometer, gravity included (``accelerationIncludingGravity``, m/s²);
- ``linear``: the motion's own acceleration, gravity removed (``acceleration``, m/s²);
- ``gyro_rad_s``: the rotation rate (``rotationRate``, rad/s; the page gets deg/s).

The phone starts at rest in a hand, in portrait, its top tilted back 30° from the vertical, so
gravity reads (0, 8.50, 4.91). Each motion turns the phone about one of its axes by an angle that
changes smoothly; the gravity it reads turns with it, and the gyroscope reads the angle's rate.

Which profiles are below the floor is said by what they do, not by where we meant them to be:
``summarise`` measures the readings actually sent (a busy machine sends fewer) and ``below_floor``
names each threshold they miss. Every gentle profile misses one that does not depend on how the
acceleration is counted: the pick-up lasts 0.5 s, the walk and the tilt turn the phone under 35°.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Callable

GRAVITY_MS2 = 9.81
REST_TILT_DEG = 30.0
#: Gravity as the resting phone reads it (device axes, m/s²).
REST_GRAVITY = (0.0, GRAVITY_MS2 * math.cos(math.radians(REST_TILT_DEG)),
                GRAVITY_MS2 * math.sin(math.radians(REST_TILT_DEG)))
Vector = tuple[float, float, float]


@dataclass(frozen=True)
class Reading:
    """What the motion sensors read at one moment."""

    accel: Vector          # m/s², gravity included
    linear: Vector         # m/s², gravity removed
    gyro_rad_s: Vector     # rad/s


def _norm(v) -> float:
    return math.sqrt(sum(c * c for c in v))


def _rotated(v: Vector, axis: int, angle_deg: float) -> Vector:
    """``v`` seen from a phone turned by ``angle_deg`` about its own ``axis`` (0 x, 1 y, 2 z)."""
    a = math.radians(-angle_deg)        # a fixed vector turns the other way in the phone's frame
    c, s = math.cos(a), math.sin(a)
    i, j = [k for k in range(3) if k != axis]
    out = list(v)
    out[i], out[j] = c * v[i] - s * v[j], s * v[i] + c * v[j]
    return tuple(out)


def _ramp(t_s: float, duration_s: float, edge_s: float) -> float:
    """1 inside the motion, easing from 0 and back to 0 over ``edge_s`` at each end (a hand, not a step)."""
    if t_s <= 0 or t_s >= duration_s:
        return 0.0
    edge = min(t_s, duration_s - t_s, edge_s) / edge_s
    return 0.5 - 0.5 * math.cos(math.pi * edge) if edge < 1 else 1.0


@dataclass(frozen=True)
class MotionProfile:
    """One way a phone moves: a linear acceleration and a turn about one axis, both over time."""

    name: str
    description: str
    duration_s: float
    gentle: bool                                  # meant to stay under the T/TAF floor
    linear_fn: Callable[[float], Vector]          # m/s², device axes at rest
    angle_fn: Callable[[float], float]            # degrees turned about ``axis``
    axis: int

    def reading(self, t_s: float) -> Reading:
        angle = self.angle_fn(t_s)
        gravity = _rotated(REST_GRAVITY, self.axis, angle)
        linear = self.linear_fn(t_s) if 0 < t_s < self.duration_s else (0.0, 0.0, 0.0)
        step = 1e-3
        rate = math.radians(self.angle_fn(t_s + step) - self.angle_fn(t_s - step)) / (2 * step)
        gyro = tuple(rate if k == self.axis else 0.0 for k in range(3))
        return Reading(tuple(g + l for g, l in zip(gravity, linear)), linear, gyro)

    def at_rest(self) -> Reading:
        """Still again, where the motion left the phone (a tilt stays tilted)."""
        gravity = _rotated(REST_GRAVITY, self.axis, self.angle_fn(self.duration_s))
        return Reading(gravity, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))


REST = Reading(REST_GRAVITY, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
_UP = tuple(c / GRAVITY_MS2 for c in REST_GRAVITY)     # "up" in the resting phone's axes


def _pickup() -> MotionProfile:
    """Lifted off a table: 10 m/s² up for a quarter second, 10 m/s² braking for the next, tipped 12°.

    The lift turns into the brake at once: a turn spread over 40 ms put readings near zero in the
    middle of it, and a stream of 30 a second could hold one for 70 ms, splitting one half-second
    motion into two quarter-second ones (an ad that jumps on 0.3 s of 8 m/s² did not)."""
    def linear(t):
        push = (10.0 if t < 0.25 else -10.0) * _ramp(t, 0.5, 0.02)
        return tuple(push * u for u in _UP)
    return MotionProfile("pickup", "picking the phone up: about 10 m/s² for 0.5 s, tipped 12°", 0.5, True,
                         linear, lambda t: 12.0 * (0.5 - 0.5 * math.cos(math.pi * min(max(t, 0), 0.5) / 0.5)), 0)


def _tilt() -> MotionProfile:
    """Turned 20° towards the face over 0.6 s and held: the hand's lever adds a little acceleration."""
    def angle(t):
        return 20.0 * (0.5 - 0.5 * math.cos(math.pi * min(max(t, 0.0), 0.6) / 0.6))

    def linear(t):   # tangential acceleration of a phone 0.1 m from the wrist
        alpha = math.radians(20.0) * (math.pi / 0.6) ** 2 / 2 * math.cos(math.pi * t / 0.6) if t < 0.6 else 0.0
        return (0.0, 0.0, 0.1 * alpha)
    return MotionProfile("tilt", "a 20° tilt over 0.6 s, then held", 1.0, True, linear, angle, 0)


def _walk() -> MotionProfile:
    """Carried while walking: two steps a second bounce it up to 12 m/s², the arm sways it 6°."""
    def linear(t):
        bounce = 12.0 * math.sin(2 * math.pi * 2.0 * t) * _ramp(t, 3.0, 0.2)
        return tuple(bounce * u for u in _UP)
    return MotionProfile("walk", "walking: 2 Hz steps, peaks of 12 m/s², 6° of sway, for 3 s", 3.0, True,
                         linear, lambda t: 6.0 * math.sin(2 * math.pi * 1.0 * t) * _ramp(t, 3.0, 0.2), 0)


def _shake() -> MotionProfile:
    """A real shake: side to side at 2.5 Hz, peaks of 18 m/s², twisting ±45°, for 3.8 s."""
    def linear(t):
        return (18.0 * math.sin(2 * math.pi * 2.5 * t) * _ramp(t, 3.8, 0.15), 0.0, 0.0)
    return MotionProfile("shake", "a shake past the T/TAF floor: 18 m/s² peaks, ±45°, 3.8 s", 3.8, False,
                         linear, lambda t: 45.0 * math.sin(2 * math.pi * 2.5 * t) * _ramp(t, 3.8, 0.15), 1)


#: Gentle motions first, shortest first (an over-sensitive ad is shown by the first that jumps),
#: then the one shake that passes the floor.
PROFILES: tuple[MotionProfile, ...] = (_pickup(), _tilt(), _walk(), _shake())
PROFILE_BY_NAME = {p.name: p for p in PROFILES}


@dataclass
class Played:
    """What a profile's stream of readings actually was (a busy machine sends fewer of them)."""

    profile: str
    readings: int
    motion_s: float          # from the motion's start to the last reading sent
    rate_hz: float
    max_gap_s: float         # the longest wait between two readings
    held_share: float        # the share of the motion spent in waits past HELD_AFTER_S (a reading held)
    peak_linear_ms2: float   # the motion's own acceleration, gravity removed
    peak_accel_ms2: float    # the accelerometer's magnitude, gravity included
    rotation_deg: float      # the largest angle turned from the start (the readings' rates, held)
    strong_s: float          # from the first to the last reading at or over the acceleration floor
    swings: int = 0          # times the acceleration turned from one way to the other (SWING_SHARE of its peak)
    strong_held_s: float = 0.0   # how long the page held a reading at SWING_SHARE of the peak or more
    stopped: str | None = None   # why the stream stopped before the profile's end (a jump)

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


#: A wait between two readings longer than this holds a reading the motion had already left.
HELD_AFTER_S = 0.1
#: A swing counts when the acceleration along the motion's line reaches this share of its peak, one
#: way and then the other.
SWING_SHARE = 0.5


def _swings(sent: list[tuple[float, Reading]]) -> tuple[int, float]:
    """How often the acceleration turned from one way to the other along the motion's own line (the
    pick-up's lift and brake, a walk's steps, a shake's strokes), and how long the page held a reading
    that strong (each reading holds until the next)."""
    peak = max((r.linear for _, r in sent), key=_norm)
    size = _norm(peak)
    if size == 0:
        return 0, 0.0
    side, turns, held_s = 0, 0, 0.0
    for (t_s, r), (t_next, _) in zip(sent, [*sent[1:], sent[-1]]):
        along = sum(a * b for a, b in zip(r.linear, peak)) / size
        now = 1 if along >= SWING_SHARE * size else -1 if along <= -SWING_SHARE * size else 0
        held_s += (t_next - t_s) if now else 0.0
        if now and now != side:
            turns, side = turns + (side != 0), now
    return turns, held_s


def summarise(profile: str, sent: list[tuple[float, Reading]], min_accel_ms2: float,
              stopped: str | None = None) -> Played:
    """Measure the readings sent, each as ``(t_s since the motion began, reading)``."""
    if not sent:
        return Played(profile, 0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0, 0.0, stopped)
    times = [t for t, _ in sent]
    turned, largest = [0.0, 0.0, 0.0], 0.0
    for (t, r), (t_next, _) in zip(sent, sent[1:]):
        turned = [a + w * (t_next - t) for a, w in zip(turned, r.gyro_rad_s)]
        largest = max(largest, _norm(turned))
    strong = [t for t, r in sent if _norm(r.linear) >= min_accel_ms2]
    span = times[-1]            # times count from the motion's start
    gaps = [b - a for a, b in zip([0.0, *times], times)]
    held = sum(max(0.0, gap - HELD_AFTER_S) for gap in gaps)
    return Played(profile, len(sent), span, (len(sent) - 1) / span if span > 0 else 0.0,
                  max(gaps, default=0.0), held / span if span > 0 else 1.0,
                  max(_norm(r.linear) for _, r in sent), max(_norm(r.accel) for _, r in sent),
                  math.degrees(largest), strong[-1] - strong[0] if strong else 0.0, *_swings(sent), stopped)


def below_floor(played: Played, min_accel_ms2: float, min_rotation_deg: float,
                min_duration_s: float) -> list[str]:
    """The thresholds the played motion did not reach (empty: it passed the T/TAF floor).

    Measured in the app's favour, since a jump under the floor is a violation: the peak (with gravity
    counted in, as an accelerometer reads it, when that is more) and the largest turn (the rates as the
    page held them) over the whole motion so far, and its duration from its start (not only the time
    spent at the peak) to when a jump was seen, after the page made it: on a busy machine a reading's
    round trip took 0.4 s, and the page's own 3 s, counted from its first strong reading, ended 0.3 s
    after the last reading sent.
    """
    short = []
    peak_ms2 = max(played.peak_linear_ms2, played.peak_accel_ms2)   # gravity counted in, if that is more
    if peak_ms2 < min_accel_ms2:
        short.append(f"acceleration {peak_ms2:.1f} m/s² < {min_accel_ms2:g}")
    if played.rotation_deg < min_rotation_deg:
        short.append(f"rotation {played.rotation_deg:.0f}° < {min_rotation_deg:g}°")
    if played.motion_s < min_duration_s:
        short.append(f"lasted {played.motion_s:.1f} s < {min_duration_s:g} s")
    return short


#: A played motion stands for its profile when it reached this share of the profile's own peaks,
#: turn and swings, and held readings that strong for this share of the time the profile has them
#: (edges fall between readings: 0.85-1.0 of it at 20 readings a second, 0.6 at 12 on a pick-up).
PEAK_SHARE = 0.9
STRONG_HELD_SHARE = 0.8


@lru_cache(maxsize=None)
def nominal(name: str) -> Played:
    """The profile as it would be played with a reading every 5 ms: its own peaks and turn."""
    profile = PROFILE_BY_NAME[name]
    times = [i * 0.005 for i in range(int(profile.duration_s / 0.005) + 1)]
    return summarise(name, [(t, profile.reading(t)) for t in times], float("inf"))


def short_of_profile(played: Played) -> list[str]:
    """How the readings sent fell short of the motion the profile describes (empty: they did not).

    A reading held at a peak makes a motion harsher (a peak lasts, a turn adds up); what makes it
    gentler is a peak never sent, a wait that swallowed swings (a pick-up's lift and brake, a walk's
    steps), or one that held a weak reading where the motion was strong: each is counted against the
    profile's own.
    """
    own, short = nominal(played.profile), []
    if played.peak_linear_ms2 < PEAK_SHARE * own.peak_linear_ms2:
        short.append(f"peak {played.peak_linear_ms2:.1f} of its {own.peak_linear_ms2:.1f} m/s²")
    if played.rotation_deg < PEAK_SHARE * own.rotation_deg:
        short.append(f"turn {played.rotation_deg:.0f}° of its {own.rotation_deg:.0f}°")
    if played.swings < math.ceil(PEAK_SHARE * own.swings):
        short.append(f"{played.swings} of its {own.swings} swings")
    if played.strong_held_s < STRONG_HELD_SHARE * own.strong_held_s:
        short.append(f"strong for {played.strong_held_s:.2f} of its {own.strong_held_s:.2f} s")
    return short
