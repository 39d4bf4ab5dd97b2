"""Watching a device's screen: frames sampled in the background, analysed when they change.

Screenshots are taken by a background thread as fast as the device gives them (the aim is at least
4 a second); the watcher analyses the newest one whenever its colour histogram differs from the last
analysed frame (as PopSweeper does), so unchanged frames cost nothing and the analysis never falls far
behind the screen. Every device call goes through one lock: Appium sessions are not meant to take
two commands at once.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from crawler.devices.base import AppCrashed, Device, DeviceError, DeviceLost, Foreground, Jump, decode_png
from vision import Display, analyze
from vision.rules import RuleProfile
from vision.types import ScreenAnalysis

#: Histogram correlation above this means "the same picture" (a countdown tick still differs).
SAME_FRAME_CORRELATION = 0.9995
#: An unchanged screen is still reported this often, so time-based decisions are not starved.
REPEAT_EVERY_S = 0.5


@dataclass
class Frame:
    """One analysed frame: when it was taken (s since launch), what it shows, who was in front."""

    t_s: float
    png: bytes
    analysis: ScreenAnalysis
    foreground: Foreground | None
    jump: Jump | None
    file: str | None = None          # set when the frame is kept as evidence

    @property
    def kind(self) -> str:
        return self.analysis.screen.kind

    @property
    def is_ad(self) -> bool:
        return self.kind in ("splash_ad", "popup")


@dataclass
class SamplerStats:
    sampled: int = 0
    analysed: int = 0
    started_s: float = 0.0
    stopped_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def sampled_per_s(self) -> float:
        span = self.stopped_s - self.started_s
        return round(self.sampled / span, 2) if span > 0 else 0.0


class FrameSampler:
    """Takes screenshots in a background thread; ``latest()`` gives the newest (t_s, png)."""

    def __init__(self, device: Device, lock: threading.Lock, t0: float, interval_s: float = 0.2):
        self.device, self.lock, self.t0, self.interval_s = device, lock, t0, interval_s
        self.stats = SamplerStats(started_s=time.monotonic())
        self._latest: tuple[float, bytes] | None = None
        self.failure: DeviceError | None = None     # a lost device or crashed app: no use asking again
        self._ended = False
        self._stop = threading.Event()
        self._fresh = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="frame-sampler", daemon=True)

    def __enter__(self) -> FrameSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.stats.stopped_s = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                with self.lock:
                    png = self.device.screenshot_png()
            except (DeviceLost, AppCrashed) as exc:
                self.failure = exc
                break
            except Exception as exc:  # a dying session is reported by the watcher, not here
                self.stats.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                if len(self.stats.errors) > 5:
                    break
                continue
            with self._fresh:
                self._latest = (started - self.t0, png)
                self.stats.sampled += 1
                self._fresh.notify_all()
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))
        with self._fresh:
            self._ended = True
            self._fresh.notify_all()                # a waiting latest() learns at once that no frame comes

    def latest(self, newer_than_s: float, timeout_s: float = 5.0) -> tuple[float, bytes] | None:
        """The newest frame taken after ``newer_than_s``, waiting up to ``timeout_s`` for one."""
        deadline = time.monotonic() + timeout_s
        with self._fresh:
            while self._latest is None or self._latest[0] <= newer_than_s:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._ended or not self._thread.is_alive():
                    return None
                self._fresh.wait(remaining)
            return self._latest


def _thumb_histogram(png: bytes) -> np.ndarray:
    small = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_REDUCED_COLOR_8)
    hist = cv2.calcHist([small], [0, 1, 2], None, [8, 8, 8], [0, 256] * 3)
    return cv2.normalize(hist, hist).flatten()


class Watcher:
    """Yields analysed frames of one launch until the caller stops iterating or time runs out."""

    def __init__(self, device: Device, display: Display, rules: RuleProfile, baseline: Foreground | None,
                 lock: threading.Lock, t0: float):
        self.device, self.display, self.rules = device, display, rules
        self.baseline, self.lock, self.t0 = baseline, lock, t0
        self.stats: SamplerStats | None = None

    def frames(self, duration_s: float):
        last_t, last_hist, last_frame, last_png = -1.0, None, None, b""
        with FrameSampler(self.device, self.lock, self.t0) as sampler:
            self.stats = sampler.stats
            while time.monotonic() - self.t0 < duration_s:
                got = sampler.latest(last_t)
                if got is None:
                    if sampler.failure is not None:
                        raise sampler.failure
                    raise DeviceError("; ".join(sampler.stats.errors[-1:]) or "no screenshot came back")
                last_t, png = got
                # An unchanged screen encodes to the same bytes: no need to decode it to know.
                same_bytes, last_png = png == last_png, png
                hist = last_hist if same_bytes else _thumb_histogram(png)
                if last_frame is not None and cv2.compareHist(
                        hist, last_hist, cv2.HISTCMP_CORREL) >= SAME_FRAME_CORRELATION:
                    if last_t - last_frame.t_s >= REPEAT_EVERY_S:
                        yield dataclasses.replace(last_frame, t_s=last_t, file=None)
                    continue
                last_hist = hist
                last_frame = self._analyse(last_t, png)
                sampler.stats.analysed += 1
                yield last_frame

    def _analyse(self, t_s: float, png: bytes) -> Frame:
        image = decode_png(png)
        display = Display(image.shape[1], image.shape[0], self.display.density, self.display.px_per_mm,
                          self.display.status_bar_dp, self.display.gesture_bar_dp)
        analysis = analyze(image, display, rules=self.rules)
        with self.lock:
            foreground = self.device.foreground()
        jump = foreground.jump_since(self.baseline) if self.baseline else None
        return Frame(t_s, png, analysis, foreground, jump)
