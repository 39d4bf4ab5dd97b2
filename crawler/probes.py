"""The probe plan for one app. Every probe is a cold launch, watched frame by frame.

- observe: watch from launch until the app settles; the timeline says when the ad came and went, when
  a close control first showed, the countdown, and any permission prompt.
- close: tap the detected close control once; did the ad go within 2 s, did the app stay in front,
  did the ad come back within 3 s?
- body_tap: tap a neutral point of the ad body, away from every control and jump button; jump or not?
A permission prompt met on the way is denied (least privilege) after its frame has been judged.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from crawler.devices.base import AppCrashed, Device, DeviceError, DeviceLost, Foreground
from crawler.watch import Frame, Watcher
from vision import lexicon
from vision.types import Box, Display, ScreenAnalysis
from vision.rules import RuleProfile

#: Where body taps go, as fractions of the ad's area; each body-tap launch takes the next one.
BODY_POINTS = ((0.5, 0.45), (0.3, 0.3), (0.7, 0.65), (0.35, 0.7), (0.65, 0.25))
#: Stay this far (dp) from every control, label and button when tapping the body.
BODY_CLEARANCE_DP = 24
DENY_WORDS = {"不允许", "拒绝", "禁止", "始终不允许", "dontallow", "deny", "拒绝并不再询问"}


@dataclass
class Event:
    t_s: float
    what: str
    detail: str = ""
    png: bytes | None = field(default=None, repr=False)   # a frame to file with the event (a crash)
    frame: str | None = None                                # where that frame was filed


@dataclass
class Launch:
    """One cold launch: what was seen, what was done, what came of it."""

    index: int
    kind: str                               # observe | close | body_tap
    frames: list[Frame] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    action: dict | None = None
    outcome: str = ""
    foreground_before: Foreground | None = None
    foreground_after: Foreground | None = None
    error: str | None = None
    sampled_per_s: float = 0.0
    analysed: int = 0
    duration_s: float = 0.0
    lost: str | None = None                 # the device or its server went away: the check ends here
    crashed: str | None = None              # the app died: this launch cannot be judged
    failure: BaseException | None = field(default=None, repr=False)   # what lost the device, for --debug

    def note(self, t_s: float, what: str, detail: str = "") -> None:
        self.events.append(Event(round(t_s, 2), what, detail))

    @property
    def ad_frames(self) -> list[Frame]:
        return [f for f in self.frames if f.is_ad]


@dataclass
class ProbeSettings:
    wait_for_ad_s: float = 8.0
    observe_max_s: float = 16.0
    settle_s: float = 1.5
    dismiss_within_s: float = 2.0
    repop_watch_s: float = 3.0
    jump_watch_s: float = 1.5


class Prober:
    """Runs probes on one device for one app; each method returns the Launch it recorded."""

    def __init__(self, device: Device, app: str, display: Display, rules: RuleProfile,
                 settings: ProbeSettings | None = None, on_event=None):
        self.device, self.app, self.display, self.rules = device, app, display, rules
        self.settings = settings or ProbeSettings(
            dismiss_within_s=rules["CLOSE_EFFECTIVE"]["dismiss_within_s"],
            repop_watch_s=rules["CLOSE_EFFECTIVE"]["repop_watch_s"])
        self.lock = threading.Lock()
        self.on_event = on_event or (lambda launch, event: None)

    # -- plumbing ---------------------------------------------------------------------------------
    def _launch(self, launch: Launch) -> Watcher:
        with self.lock:
            self.device.cold_launch(self.app)
            launch.foreground_before = self.device.foreground()
        t0 = time.monotonic()
        launch.note(0.0, "launch", launch.foreground_before.identity)
        return Watcher(self.device, self.display, self.rules, launch.foreground_before,
                               self.lock, t0)

    def _finish(self, launch: Launch, watcher: Watcher | None, started: float) -> Launch:
        if watcher is not None and watcher.stats:
            launch.sampled_per_s, launch.analysed = watcher.stats.sampled_per_s, watcher.stats.analysed
        if launch.lost or launch.crashed:
            launch.duration_s = round(time.monotonic() - started, 2)
            return launch                   # nothing more to ask of a gone device or a dead app
        with self.lock:
            try:
                launch.foreground_after = self.device.foreground()
            except Exception as exc:  # the session may be gone; that is already the outcome
                launch.error = launch.error or f"device lost: {exc}"[:200]
        launch.duration_s = round(time.monotonic() - started, 2)
        return launch

    def _record(self, launch: Launch, frame: Frame) -> None:
        launch.frames.append(frame)
        self.on_event(launch, frame)

    def _tap(self, launch: Launch, watcher: Watcher, x: float, y: float, target: str) -> float:
        """Tap and return when it happened (s since launch): frames before then predate it."""
        with self.lock:
            self.device.tap(x, y)
            t_s = time.monotonic() - watcher.t0
        launch.action = {"type": "tap", "x_px": round(x), "y_px": round(y), "target": target,
                         "t_s": round(t_s, 2)}
        launch.note(t_s, "tap", f"{target} at ({round(x)}, {round(y)})")
        return t_s

    def _deny_permission(self, launch: Launch, frame: Frame) -> bool:
        """Tap the least-privilege answer of a permission prompt; True if one was tapped."""
        deny = next((t for t in frame.analysis.texts if lexicon.normalise(t.text) in DENY_WORDS), None)
        if deny is None:
            return False
        with self.lock:
            self.device.tap(*deny.box.center)
        launch.note(frame.t_s, "permission_denied", deny.text)
        return True

    def _run(self, index: int, kind: str, body) -> Launch:
        started = time.monotonic()
        self.device.moment = f"launch {index} ({kind})"
        launch, watcher = Launch(index, kind), None
        try:
            watcher = self._launch(launch)
            body(launch, watcher)
        except DeviceLost as exc:
            launch.lost, launch.failure = str(exc)[:300], exc
            launch.error = launch.lost
            launch.outcome = "not finished: device lost"
        except AppCrashed as exc:
            self._crashed(launch, watcher, exc)
        except DeviceError as exc:
            launch.error = str(exc)[:300]
            launch.outcome = launch.outcome or "error"
        return self._finish(launch, watcher, started)

    def _crashed(self, launch: Launch, watcher: Watcher | None, exc: AppCrashed) -> None:
        """Note the crash with what the screen shows now (an error page), else the last frame seen."""
        launch.crashed = launch.error = str(exc)[:300]
        launch.outcome = "app crashed"
        png = launch.frames[-1].png if launch.frames else None
        try:
            with self.lock:
                png = self.device.screenshot_png()
        except DeviceError:
            pass                            # a crashed tab shows nothing: the last frame will do
        t_s = time.monotonic() - watcher.t0 if watcher is not None else 0.0
        launch.events.append(Event(round(t_s, 2), "app_crashed", launch.crashed, png=png))

    def _wait_for_ad(self, launch: Launch, frames) -> Frame | None:
        """The first ad frame that the next frame confirms: same kind, controls in the same places.

        Acting on a pop-up still sliding in would tap where its ✕ was, not where it is, and blame the
        app for a tap that missed.
        """
        previous = None
        for frame in frames:
            self._record(launch, frame)
            if frame.kind == "permission":
                self._note_permission(launch, frame)
            elif frame.is_ad and previous is not None and _same_layout(previous, frame):
                return frame
            previous = frame if frame.is_ad else None
        return previous   # time ran out on an ad seen once: better than nothing

    @staticmethod
    def _no_ad_outcome(launch: Launch) -> str:
        return "ad gone before it could be tapped" if launch.ad_frames else "no ad seen"

    def _note_permission(self, launch: Launch, frame: Frame) -> None:
        prompt = frame.analysis.permission
        if not any(e.what == "permission" and e.t_s == frame.t_s for e in launch.events):
            purpose = prompt.purpose_overlay.text if prompt and prompt.purpose_overlay else "none"
            launch.note(frame.t_s, "permission", f"{prompt.kind if prompt else '?'}; purpose: {purpose}")
        self._deny_permission(launch, frame)

    # -- the probes -----------------------------------------------------------------------------
    def observe(self, index: int) -> Launch:
        return self._run(index, "observe", self._observe)

    def _observe(self, launch: Launch, watcher: Watcher) -> None:
        s = self.settings
        ad_seen_at = close_seen_at = last_ad_at = None
        last_countdown = None
        for frame in watcher.frames(s.observe_max_s):
            self._record(launch, frame)
            if frame.kind == "permission":
                self._note_permission(launch, frame)
            elif frame.is_ad:
                if ad_seen_at is None:
                    ad_seen_at = frame.t_s
                    launch.note(frame.t_s, "ad_start", frame.kind)
                if close_seen_at is None and frame.analysis.close_controls:
                    close_seen_at = frame.t_s
                    launch.note(frame.t_s, "close_seen", frame.analysis.close_controls[0].text)
                countdown = frame.analysis.countdown
                if countdown and countdown.seconds != last_countdown:
                    last_countdown = countdown.seconds
                    launch.note(frame.t_s, "countdown", str(countdown.seconds))
                last_ad_at = frame.t_s
            elif last_ad_at is not None and frame.t_s - last_ad_at >= s.settle_s:
                break
            elif ad_seen_at is None and frame.t_s >= s.wait_for_ad_s:
                break
            if frame.jump:
                launch.note(frame.t_s, "jump", frame.jump.detail)
                break
        if last_ad_at is not None:
            launch.note(last_ad_at, "ad_end")
        launch.outcome = "ad seen" if ad_seen_at is not None else "no ad seen"

    def close(self, index: int) -> Launch:
        return self._run(index, "close", self._close)

    def _close(self, launch: Launch, watcher: Watcher) -> None:
        s = self.settings
        frames = watcher.frames(s.wait_for_ad_s + s.dismiss_within_s + s.repop_watch_s + 2)
        ad = self._wait_for_ad(launch, self._until(frames, s.wait_for_ad_s))
        if ad is None:
            launch.outcome = self._no_ad_outcome(launch)
            return
        if not ad.analysis.close_controls:
            launch.outcome = "no close control to tap"
            return
        control = max(ad.analysis.close_controls, key=lambda c: c.box.area)
        target = control.touch_box or control.box
        tap_t = self._tap(launch, watcher, *target.center, target=f"close control '{control.text}'")
        dismissed_at = repop_at = None
        for frame in frames:
            if frame.t_s < tap_t:
                continue   # taken before the tap landed
            self._record(launch, frame)
            if frame.jump:
                launch.note(frame.t_s, "jump", frame.jump.detail)
                launch.outcome = f"jump after close: {frame.jump.detail}"
                return
            if dismissed_at is None and not frame.is_ad and frame.kind != "permission":
                dismissed_at = frame.t_s
                launch.note(frame.t_s, "ad_dismissed")
            elif dismissed_at is not None and frame.is_ad:
                repop_at = frame.t_s
                launch.note(frame.t_s, "ad_repop", frame.kind)
                break
            if dismissed_at is None and frame.t_s - tap_t > s.dismiss_within_s:
                break
            if dismissed_at is not None and frame.t_s - dismissed_at > s.repop_watch_s:
                break
        if dismissed_at is None:
            launch.outcome = f"ad still shown {s.dismiss_within_s:g} s after the tap"
        elif repop_at is not None:
            launch.outcome = f"ad came back {repop_at - dismissed_at:.1f} s after closing"
        else:
            launch.outcome = f"dismissed in {dismissed_at - tap_t:.1f} s, no jump, no re-pop"

    @staticmethod
    def _until(frames, limit_s: float):
        """The frames taken up to ``limit_s`` after launch; the rest stay in ``frames`` for later."""
        for frame in frames:
            yield frame
            if frame.t_s > limit_s:
                return

    def body_tap(self, index: int, point_index: int) -> Launch:
        return self._run(index, "body_tap", lambda launch, watcher: self._body_tap(
            launch, watcher, point_index))

    def _body_tap(self, launch: Launch, watcher: Watcher, point_index: int) -> None:
        s = self.settings
        frames = watcher.frames(s.wait_for_ad_s + s.jump_watch_s + 2)
        ad = self._wait_for_ad(launch, self._until(frames, s.wait_for_ad_s))
        if ad is None:
            launch.outcome = self._no_ad_outcome(launch)
            return
        point = neutral_point(ad.analysis, self.display, point_index)
        if point is None:
            launch.outcome = "no neutral point on the ad body"
            return
        tap_t = self._tap(launch, watcher, *point, target="ad body")
        deadline = time.monotonic() + s.jump_watch_s
        while time.monotonic() < deadline:
            with self.lock:
                jump = self.device.foreground().jump_since(launch.foreground_before)
            if jump:
                launch.note(tap_t, "jump", jump.detail)
                launch.outcome = f"jump: {jump.detail}"
                return
            time.sleep(0.25)
        launch.outcome = "no jump"


def _same_layout(a: Frame, b: Frame) -> bool:
    """Two ad frames show the same controls in the same places (a countdown may tick)."""
    if a.kind != b.kind or len(a.analysis.close_controls) != len(b.analysis.close_controls):
        return False
    return all(x.box.iou(y.box) >= 0.5 for x, y in zip(a.analysis.close_controls, b.analysis.close_controls))


def _obstacles(analysis: ScreenAnalysis) -> list[Box]:
    boxes = [c.box for c in analysis.close_controls] + [j.box for j in analysis.jump_buttons]
    boxes += [x.box for x in (analysis.ad_label, analysis.countdown) if x is not None]
    return boxes


def neutral_point(analysis: ScreenAnalysis, display: Display, index: int) -> tuple[float, float] | None:
    """A point on the ad body, away from every control, label and jump button."""
    width, height = analysis.size_px
    density = display.density or width / 360
    top = display.status_bar_dp * density
    bottom = height - display.gesture_bar_dp * density
    area = analysis.card or Box(0, round(top), width, round(bottom - top))
    clearance = BODY_CLEARANCE_DP * density
    obstacles = [b.expand(round(clearance)) for b in _obstacles(analysis)]
    order = BODY_POINTS[index % len(BODY_POINTS):] + BODY_POINTS[:index % len(BODY_POINTS)]
    grid = [(fx / 10, fy / 20) for fy in range(2, 19) for fx in range(2, 9)]
    for fx, fy in list(order) + grid:
        x, y = area.x + fx * area.w, area.y + fy * area.h
        if not any(b.contains(x, y) for b in obstacles):
            return x, y
    return None
