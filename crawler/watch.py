"""Watching a device's screen: frames sampled in the background, analysed when they change.

Screenshots are taken by a background thread as fast as the device gives them (JPEG where it can); the
watcher analyses the newest one whenever some part of the screen changed since the last analysed frame
(a coarse grid over a grey thumbnail, ``crawler.live.framediff``: a small control appearing in a corner
is a change), so unchanged frames cost nothing and the analysis never falls far behind the screen.
The watcher only analyses and decides: evidence is written elsewhere (``crawler.live.evidence``).
Every device call goes through one ``DeviceLock``: the sampler's screenshots wait behind the prober's
taps and foreground checks, never the other way round.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from crawler.devices.base import AppCrashed, Device, DeviceError, DeviceLost, Foreground, Jump, decode_png
from crawler.devices.faults import DeviceStalled
from crawler.live import framediff
from crawler.live.devicelock import DeviceLock
from vision import Display, analyze, tick
from vision.controls import AdCues, find_ad_cues
from vision.inapp import inapp_sheet
from vision.rules import RuleProfile
from vision.types import ScreenAnalysis

#: An unchanged screen is still reported this often, so time-based decisions are not starved.
REPEAT_EVERY_S = 0.5
#: In the launch CLOSE_PRESENT is judged on, an ad on which no close control was found is analysed
#: afresh at least this often (s), changed or not: a faint ✕ painted after the first look changes too
#: few pixels for the frame diff, and a countdown read again in place (``vision.tick``) looks for
#: nothing new; the violation must not rest on one look. (Not in the launches that tap: an analysis
#: under way, seconds long on a busy machine, would delay the tap.) A screenshot identical to the one
#: last analysed, byte for byte, is not looked at again: nothing was painted, however faint, and the
#: second of analysis would blind the watcher just when a short ad ends.
LOOK_AGAIN_S = 1.0


def look_again(last: Frame | None, t_s: float, analysed_s: float,
               every_s: float | None = LOOK_AGAIN_S) -> bool:
    """Whether ``last`` is an ad with no close control found whose last full analysis (of a frame
    taken at ``analysed_s``) was ``every_s`` or more before ``t_s`` (never when ``every_s`` is None)."""
    return every_s is not None and last is not None and last.is_ad and not last.analysis.close_controls \
        and t_s - analysed_s >= every_s


@dataclass
class Frame:
    """One analysed frame: when it was taken (s since launch), what it shows, who was in front."""

    t_s: float
    image: bytes                     # as the device encoded it (JPEG or PNG)
    analysis: ScreenAnalysis
    foreground: Foreground | None
    jump: Jump | None
    thumb: np.ndarray | None = field(default=None, repr=False)
    file: str | None = None          # set when the frame is kept as evidence
    annotated: str | None = None
    timeline_ad: str | None = None   # why the launch's timeline makes this an ad when vision alone did not
    before_main: bool | None = None  # shown before the app's main screen (None: main screen not known)
    keep: str | None = None          # why this frame must be kept as evidence (before/after a tap)
    close_since_s: float | None = None   # when its close control first showed, from the frames between
    analysed_t_s: float | None = None    # when the frame its analysis was made on was taken (a repeat's is older)
    recognised_from: str | None = None   # not analysed: the same screen as this analysed frame of a past launch
    #: when its screenshot came back (s since launch): the screen was captured between ``t_s`` and this
    returned_s: float | None = None
    #: since when the samples before it showed its screen, found while they were whole (a recording's
    #: walk lets their thumbnails go; None: walk the samples, as the live check does)
    shown_from_s: float | None = None

    def __post_init__(self) -> None:
        if self.analysed_t_s is None:
            self.analysed_t_s = self.t_s

    @property
    def kind(self) -> str:
        return self.analysis.screen.kind

    @property
    def is_ad(self) -> bool:
        return self.kind in ("splash_ad", "popup")

    @property
    def has_ad_cue(self) -> bool:
        """An ad label, countdown, jump button, close control or shake cue (摇一摇) is on screen."""
        a = self.analysis
        if a.ad_label or a.countdown or a.jump_buttons or a.close_controls or a.shake:
            return True
        cues = self.text_cues
        return bool(cues.ad_label or cues.countdown or cues.jump_buttons or cues.close_controls)

    @property
    def text_cues(self) -> AdCues:
        """The ad cues in the frame's text, which vision reports only on screens it calls ads."""
        return find_ad_cues(self.analysis.texts, [], self.analysis.size_px[0], self.analysis.card)


@dataclass
class SamplerStats:
    sampled: int = 0
    analysed: int = 0
    started_s: float = 0.0
    stopped_s: float = 0.0
    sample_times_s: list[float] = field(default_factory=list)   # since launch, every frame taken
    errors: list[str] = field(default_factory=list)

    @property
    def sampled_per_s(self) -> float:
        span = self.stopped_s - self.started_s
        return round(self.sampled / span, 2) if span > 0 else 0.0

    def rate_between(self, start_s: float, end_s: float) -> float | None:
        """Frames taken per second between two times since launch (None for a span under a frame)."""
        inside = [t for t in self.sample_times_s if start_s <= t <= end_s]
        return round((len(inside) - 1) / (inside[-1] - inside[0]), 2) if len(inside) > 2 else None


def taken_after(device: Device, asked: float) -> float:
    """When a frame asked for at ``asked`` (monotonic) was taken at the earliest: then, or earlier for
    a frame of a stream (taken before it was asked for; ``Device.frame_taken_after_s``)."""
    after = getattr(device, "frame_taken_after_s", None)
    return asked if after is None else min(asked, after)


class FrameSampler:
    """Takes screenshots in a background thread; ``latest()`` gives the newest (t_s, image bytes, thumbnail)."""

    def __init__(self, device: Device, lock: DeviceLock, t0: float, interval_s: float = 0.1):
        self.device, self.lock, self.t0, self.interval_s = device, lock, t0, interval_s
        self.stats = SamplerStats(started_s=time.monotonic())
        self._latest: tuple[float, bytes, np.ndarray | None] | None = None
        self.history: list[tuple[float, np.ndarray | None]] = []    # (t_s, thumbnail) of every frame taken
        #: t_s -> when that screenshot came back: what a frame shows was on screen somewhere in between,
        #: an interval that grows to seconds on a busy machine and bounds every time read off the frames
        self.returned_s: dict[float, float] = {}
        #: (t_s, image, thumbnail) of each frame that changed from the one before it: what a busy watcher
        #: skipped can be analysed after the fact
        self.keyframes: list[tuple[float, bytes, np.ndarray | None]] = []
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
        # a screenshot that never came back is not waited for again (the device is freed after)
        self._thread.join(timeout=0 if self.lock.stalled_s() else 10)
        self.stats.stopped_s = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self.lock.background():
                    started = time.monotonic()
                    image = self.device.frame_bytes()
                    # Published before the device is let go: a tap waiting for this screenshot then
                    # has it as the newest frame before it (the proof that it landed on the ad).
                    self.publish(taken_after(self.device, started) - self.t0, image)
            except (DeviceLost, AppCrashed) as exc:
                self.failure = exc
                break
            except Exception as exc:  # a dying session is reported by the watcher, not here
                self.stats.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                if len(self.stats.errors) > 5:
                    break
                continue
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))
        with self._fresh:
            self._ended = True
            self._fresh.notify_all()                # a waiting latest() learns at once that no frame comes

    def publish(self, t_s: float, image: bytes) -> tuple[float, bytes, np.ndarray | None]:
        """Add a frame asked for at ``t_s`` and just come back (by the sampler, or by the prober right
        before a tap)."""
        returned_s = time.monotonic() - self.t0
        thumb = framediff.thumbnail(image)      # a few ms at 1/8 scale; kept to date changes later
        with self._fresh:
            self.returned_s[t_s] = returned_s
            self._latest = (t_s, image, thumb)
            self.history.append((t_s, thumb))
            if not self.keyframes or framediff.changed(self.keyframes[-1][2], thumb):
                self.keyframes.append((t_s, image, thumb))
            self.stats.sampled += 1
            self.stats.sample_times_s.append(round(t_s, 3))
            self._fresh.notify_all()
        return t_s, image, thumb

    def newest(self) -> tuple[float, bytes, np.ndarray | None] | None:
        """The newest frame taken so far, without waiting."""
        with self._fresh:
            return self._latest

    def latest(self, newer_than_s: float, timeout_s: float = 5.0) -> tuple[float, bytes, np.ndarray | None] | None:
        """The newest frame taken after ``newer_than_s``, waiting up to ``timeout_s`` for one."""
        deadline = time.monotonic() + timeout_s
        with self._fresh:
            while self._latest is None or self._latest[0] <= newer_than_s:
                remaining = deadline - time.monotonic()
                if self._ended or not self._thread.is_alive():
                    return None
                if remaining <= 0:
                    if (held_s := self.lock.stalled_s()) is not None:
                        raise DeviceStalled(f"the device has not answered a screenshot for {held_s:.0f} s")
                    if not self.lock.busy:
                        return None
                    remaining = 1.0     # a screenshot under way: waited for up to the lock's stall limit
                self._fresh.wait(remaining)
            return self._latest


class Watcher:
    """Yields analysed frames of one launch until the caller stops iterating or time runs out."""

    def __init__(self, device: Device, display: Display, rules: RuleProfile, baseline: Foreground | None,
                 lock: DeviceLock, t0: float):
        self.device, self.display, self.rules = device, display, rules
        self.baseline, self.lock, self.t0 = baseline, lock, t0
        self.stats: SamplerStats | None = None
        self.sampler: FrameSampler | None = None
        #: When the probe next needs a look though nothing changed (a watch window ending), s since
        #: launch: the first screenshot at or after it is reported at once, not up to REPEAT_EVERY_S late.
        self.due_s: float | None = None
        self._analysed_s = -1.0        # when the last full analysis' frame was taken, s since launch
        self._analysed_image = b""     # and that frame's bytes
        #: Analyse a close-less ad afresh this often (``LOOK_AGAIN_S``); None: only when it changed.
        self.look_again_s: float | None = None

    def now_s(self) -> float:
        return time.monotonic() - self.t0

    def frames(self, duration_s: float, recognise=None):
        """Analysed frames until ``duration_s`` after launch.

        ``recognise(thumb)`` may name an already analysed frame (of an earlier launch) that shows the
        same screen, with the same controls in the same places: the new frame is then that one seen
        again, known without a fresh analysis (which on a busy machine takes longer than a short ad).
        """
        last_t, last = -1.0, None
        with FrameSampler(self.device, self.lock, self.t0) as sampler:
            self.sampler, self.stats = sampler, sampler.stats
            while self.now_s() < duration_s:
                got = sampler.latest(last_t)
                if got is None:
                    if sampler.failure is not None:
                        raise sampler.failure
                    raise DeviceError("; ".join(sampler.stats.errors[-1:]) or "no screenshot came back")
                last_t, image, thumb = got
                known = recognise(thumb) if recognise else None
                if known is not None and (last is None or last.recognised_from is None
                                          or framediff.changed(last.thumb, thumb) or self._due(last, last_t)):
                    foreground, jump = self._foreground(known.analysis)
                    last = dataclasses.replace(
                        known, t_s=last_t, image=image, thumb=thumb, foreground=foreground, jump=jump,
                        file=None, annotated=None, keep=None, analysed_t_s=None, before_main=None,
                        close_since_s=None, recognised_from=f"the frame analysed at {known.t_s:.2f} s",
                        returned_s=sampler.returned_s.get(last_t))
                    yield last
                    continue
                again = last is not None and self._look_again(last, last_t) and image != self._analysed_image
                if last is not None and not again and not framediff.changed(last.thumb, thumb):
                    if self._due(last, last_t):
                        # The same screen: no new analysis, but a fresh look at who is in front.
                        foreground, jump = self._foreground(last.analysis)
                        last = dataclasses.replace(last, t_s=last_t, image=image, foreground=foreground,
                                                   jump=jump, file=None, annotated=None, keep=None,
                                                   returned_s=sampler.returned_s.get(last_t))
                        yield last
                    continue
                last = (None if again else self._reread(last, last_t, image, thumb)) or \
                    self.analyse(last_t, image, thumb)
                sampler.stats.analysed += 1
                yield last

    def _reread(self, last: Frame | None, t_s: float, image_bytes: bytes, thumb: np.ndarray) -> Frame | None:
        """The last frame's analysis with its countdown read again, when nothing else changed since
        (``vision.tick``): tens of ms instead of a whole analysis, which on a busy machine outlasts a
        second of a short ad. None when the screen needs a full analysis."""
        if last is None or not tick.only_ticked(last.analysis, last.thumb, thumb):
            return None
        image = decode_png(image_bytes)
        analysis = tick.reread(image, last.analysis, self._display_of(image), self.rules)
        if analysis is None:
            return None
        foreground, jump = self._foreground(analysis)
        return Frame(t_s, image_bytes, analysis, foreground, jump, thumb,
                     returned_s=self.sampler.returned_s.get(t_s) if self.sampler else None)

    def _display_of(self, image: np.ndarray) -> Display:
        """The device's display at the size of ``image`` (a screenshot may be a pixel off the profile's)."""
        return Display(image.shape[1], image.shape[0], self.display.density, self.display.px_per_mm,
                       self.display.status_bar_dp, self.display.gesture_bar_dp)

    def _look_again(self, last: Frame, t_s: float) -> bool:
        """Whether ``last`` is an ad with no close control found that was last analysed in full
        ``look_again_s`` or more before ``t_s``."""
        return look_again(last, t_s, self._analysed_s, self.look_again_s)

    def _due(self, last: Frame, t_s: float) -> bool:
        """Whether an unchanged screen taken at ``t_s`` is to be reported again."""
        return t_s - last.t_s >= REPEAT_EVERY_S or (self.due_s is not None and last.t_s < self.due_s <= t_s)

    def _foreground(self, analysis: ScreenAnalysis) -> tuple[Foreground, Jump | None]:
        with self.lock:
            foreground = self.device.foreground()
        return foreground, self._jump(foreground, analysis)

    def _jump(self, foreground: Foreground, analysis: ScreenAnalysis) -> Jump | None:
        """A jump by who is in front, or, on iOS, by what the screen shows: an App Store sheet or an
        in-app Safari keeps the app's bundle id in front (``vision.inapp``)."""
        if self.baseline is None:
            return None
        jump = foreground.jump_since(self.baseline)
        if jump or self.device.platform != "ios" or not foreground.known:
            return jump
        sheet = inapp_sheet(analysis.texts, analysis.size_px)
        if sheet is None:
            return jump
        return Jump(True, sheet.kind, f"{sheet.detail}, {foreground.package} still in front")

    def analyse(self, t_s: float, image_bytes: bytes, thumb: np.ndarray | None = None,
                foreground: Foreground | None = None) -> Frame:
        """One frame analysed; who is in front is asked now unless ``foreground`` says (a past frame)."""
        image = decode_png(image_bytes)
        analysis = analyze(image, self._display_of(image), rules=self.rules)
        if t_s >= self._analysed_s:
            self._analysed_s, self._analysed_image = t_s, image_bytes
        if foreground is None:
            foreground, jump = self._foreground(analysis)
        else:
            jump = self._jump(foreground, analysis)
        if thumb is None:
            thumb = framediff.thumbnail(image_bytes)
        returned_s = self.sampler.returned_s.get(t_s) if self.sampler else None
        return Frame(t_s, image_bytes, analysis, foreground, jump, thumb, returned_s=returned_s)


def first_shown_s(history: list[tuple[float, np.ndarray | None]], without: Frame, with_: Frame,
                  box) -> float:
    """When what ``with_`` shows in ``box`` (and ``without`` did not) first showed, to within a frame.

    Analysis is slower than sampling: the frames taken between two analysed ones were only compared
    as thumbnails. Each is placed with the analysed frame its ``box`` region looks more like; the first
    one that looks like ``with_`` is when the control came (a countdown ticking inside it barely
    matters next to the control itself appearing).
    """
    region = framediff.region(box, with_.thumb)
    for t_s, thumb in history:
        if without.t_s < t_s < with_.t_s and thumb is not None and \
                framediff.region_distance(thumb, with_.thumb, region) < \
                framediff.region_distance(thumb, without.thumb, region):
            return t_s
    return with_.t_s


def screen_since_s(samples: list[tuple[float, np.ndarray | None]], frame: Frame, after_s: float) -> float:
    """Since when the screen ``frame`` shows was on screen (but not before ``after_s``), to a sample.

    Analysis is slower than sampling: the frames taken before ``frame`` are walked back for as long
    as they show the same screen (thumbnails compared, or ``frame.shown_from_s`` when it was found
    while they were whole).
    """
    since = frame.t_s
    for t_s, thumb in reversed(samples):
        if t_s >= frame.t_s:
            continue
        if t_s <= after_s:
            break
        if frame.shown_from_s is not None:
            if t_s < frame.shown_from_s:
                break
        elif not framediff.same_screen(thumb, frame.thumb):
            break
        since = t_s
    return since
