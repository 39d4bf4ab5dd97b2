"""The probe plan for one app. Every probe is a cold launch, watched frame by frame.

- observe: watch from launch until the app settles; the timeline says when the ad came and went, when
  a close control first showed, the countdown, and any permission prompt. It also teaches the prober
  the app's main screen, so later launches know what is splash (``crawler.live.timeline``).
- close: wait for the ad's close control (it may show late), tap it once; did the ad go within 2 s,
  did the app stay in front, did the ad come back within 3 s?
- body_tap: tap a neutral point of the ad body, away from every control and jump button; jump or not?
- shake: on a device that takes motion input, play one motion profile (picking the phone up, a tilt,
  walking, a real shake; ``crawler.live.motion``) while the ad shows; jump or not?
A permission prompt met on the way is denied (least privilege) after its frame has been judged.

Every tap (and every motion) is recorded with its proof (``action["before"]``): the newest frame taken
before it and whether that frame shows the ad; the frames after it are recorded until they can say
what happened.
Verdicts are drawn from these frames in ``crawler.probe_verdicts``, never from the probe's hopes.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

from crawler.devices.base import AppCrashed, AppMissing, Device, DeviceError, DeviceLost, DeviceStalled, Foreground
from crawler.live import framediff, recorder, shake as motion_player, timeline
from crawler.live.devicelock import STALL_S, DeviceLock
from crawler.live.motion import REST, MotionProfile, below_floor, summarise
from crawler.live.recorder import LaunchRecording
from crawler.watch import LOOK_AGAIN_S, Frame, Watcher, first_shown_s, screen_since_s, taken_after
from vision import lexicon
from vision.types import Box, Display, ScreenAnalysis
from vision.rules import RuleProfile

#: Where body taps go, as fractions of the ad's area; each body-tap launch takes the next one.
BODY_POINTS = ((0.5, 0.45), (0.3, 0.3), (0.7, 0.65), (0.35, 0.7), (0.65, 0.25))
#: Stay this far (dp) from every control, label and button when tapping the body.
BODY_CLEARANCE_DP = 24
#: Screens the observe launch's watch skipped (no frame for this long) are analysed after it, at most
#: BACKFILL_MAX of them.
BACKFILL_GAP_S = 1.0
BACKFILL_MAX = 10
#: A frame caught while a close control fades in is taken for the known frame it is nearer to only
#: within these shares of the way (``_on_its_way``): at the ends it is a tick or a change, not a fade.
ARRIVING_SHARES = (0.1, 0.9)
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
    kind: str                               # observe | close | body_tap | shake
    frames: list[Frame] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    action: dict | None = None
    outcome: str = ""
    foreground_before: Foreground | None = None
    foreground_after: Foreground | None = None
    error: str | None = None
    sampled_per_s: float = 0.0
    ad_sampled_per_s: float | None = None   # frames taken per second while the ad was shown
    ad_lasts_s: float | None = None         # how long the ad stayed by itself in the observe launch
    analysed: int = 0
    duration_s: float = 0.0
    #: (t_s, grey thumbnail) of every frame taken, analysed or not: they date changes between analyses
    samples: list = field(default_factory=list, repr=False)
    #: t_s of each sample -> when its screenshot came back
    sample_returned_s: dict = field(default_factory=dict, repr=False)
    lost: str | None = None                 # the device, its server or the app is gone: the check ends here
    crashed: str | None = None              # the app died: this launch cannot be judged
    stalled: str | None = None              # a device command never came back: not judged either
    failure: BaseException | None = field(default=None, repr=False)   # what lost the device, for --debug
    profile: str | None = None              # the motion a shake launch plays (crawler.live.motion)
    recording: LaunchRecording | None = field(default=None, repr=False)   # check --record's observe launch

    def note(self, t_s: float, what: str, detail: str = "") -> None:
        self.events.append(Event(round(t_s, 2), what, detail))

    @property
    def ad_frames(self) -> list[Frame]:
        return [f for f in self.frames if f.is_ad]

    @property
    def tap_t_s(self) -> float | None:
        return self.action["t_s"] if self.action else None

    def frames_after_tap(self) -> list[Frame]:
        """Frames taken after the tap had landed (their capture started after it returned)."""
        tap = self.tap_t_s
        return [] if tap is None else sorted((f for f in self.frames if f.t_s > tap), key=lambda f: f.t_s)


#: A sampler's screenshot asked for this recently (s) is a tap's or motion's proof as it stands: the lock is
#: taken once it came back, and a fresh one would show the screen no nearer the tap (a JPEG screenshot
#: takes 0.1-0.15 s on an idle machine), only make the action wait for it.
FRESH_PROOF_S = 0.25


@dataclass
class ProbeSettings:
    wait_for_ad_s: float = 8.0
    observe_max_s: float = 16.0
    settle_s: float = 1.5
    dismiss_within_s: float = 2.0
    repop_watch_s: float = 3.0
    jump_watch_s: float = 1.5
    #: A tap counts as a tap on the ad only if a frame taken at most this long before it shows the ad
    #: (from when that screenshot was asked for to when the tap returned: under load a JPEG screenshot
    #: and a tap take about 0.5 s each; a body tap also needs the ad shown after it, a close tap a
    #: dismissal before the ad's own end).
    tap_proof_s: float = 1.5
    #: A device command not back after this long (s) has stalled (``crawler.live.devicelock``).
    stall_s: float = STALL_S
    #: Record the observe launch (``crawler.live.recorder``), to be judged from its recording too.
    record: bool = False


class Prober:
    """Runs probes on one device for one app; each method returns the Launch it recorded."""

    def __init__(self, device: Device, app: str, display: Display, rules: RuleProfile,
                 settings: ProbeSettings | None = None, on_event=None):
        self.device, self.app, self.display, self.rules = device, app, display, rules
        self.settings = settings or ProbeSettings(
            dismiss_within_s=rules["CLOSE_EFFECTIVE"]["dismiss_within_s"],
            repop_watch_s=rules["CLOSE_EFFECTIVE"]["repop_watch_s"])
        self.lock = DeviceLock(self.settings.stall_s)
        self.on_event = on_event or (lambda launch, event: None)
        self.main_thumb = None          # the app's main screen, learned by the observe launch
        self.known_ads: list[Frame] = []   # the observe launch's analysed ad frames, to know them again
        self.ad_lasts_s: float | None = None   # how long the ad stayed in the observe launch (None: never went)
        self.splash_candidate = False   # observe saw a splash with no ad cue (tap it to learn more)
        self._tracker = timeline.SplashTracker(None, rules)
        self._pending_before = None     # ((t_s, image, thumb), frame acted on, label) of the launch's action
        self._motion_on: Frame | None = None   # the ad frame a shake launch's motion is played on

    # -- plumbing ---------------------------------------------------------------------------------
    def _launch(self, launch: Launch, prepare=None) -> Watcher:
        with self.lock:
            if prepare is not None:
                prepare()                   # what must be in place before the app starts (motion sensors)
            self.device.cold_launch(self.app)
            launch.foreground_before = self.device.launch_foreground()
        t0 = time.monotonic()
        launch.note(0.0, "launch", launch.foreground_before.identity)
        return Watcher(self.device, self.display, self.rules, launch.foreground_before, self.lock, t0)

    def _finish(self, launch: Launch, watcher: Watcher | None, started: float) -> Launch:
        if watcher is not None and watcher.stats:
            launch.sampled_per_s, launch.analysed = watcher.stats.sampled_per_s, watcher.stats.analysed
            launch.samples = watcher.sampler.history
            launch.sample_returned_s = watcher.sampler.returned_s
            ads = launch.ad_frames
            if ads:
                launch.ad_sampled_per_s = watcher.stats.rate_between(ads[0].t_s, ads[-1].t_s)
        launch.frames.sort(key=lambda f: f.t_s)
        if launch.lost or launch.crashed or launch.stalled:
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

    def _placed(self, launch: Launch, frames):
        """The launch's frames, each placed before or after the app's main screen as it comes."""
        self._tracker = timeline.SplashTracker(self.main_thumb, self.rules)
        for frame in frames:
            yield self._tracker.place(frame)

    def _tap(self, launch: Launch, watcher: Watcher, decided_on: Frame, x: float, y: float,
             target: str) -> float:
        """Tap, and record the proof: the newest frame taken before the tap and what it shows.

        Returns when the tap had landed (s since launch): frames whose capture started later show
        what came of it. A frame before the tap that differs from the one acted on is analysed only
        once the outcome has been watched (``_settle_before``): nothing slow between tap and outcome.
        """
        with self.lock:     # the frame before the tap is taken right before it: the proof
            newest = self._proof_shot(watcher)
            started_s = watcher.now_s()
            self.device.tap(x, y)
            t_s = watcher.now_s()
        launch.action = {"type": "tap", "x_px": round(x), "y_px": round(y), "target": target,
                         "started_s": round(started_s, 3),
                         "t_s": math.floor(t_s * 1000) / 1000}   # never after the raw time: frames after it stay after
        self._prove_before(launch, decided_on, newest)
        launch.note(t_s, "tap", f"{target} at ({round(x)}, {round(y)})")
        return t_s

    def _proof_shot(self, watcher: Watcher) -> tuple | None:
        """The newest (t_s, image, thumbnail) before a tap or motion, with the device held: the
        sampler's own when it was asked for within FRESH_PROOF_S (it came back before the lock was
        ours), else one taken now."""
        newest = watcher.sampler.newest() if watcher.sampler else None
        if newest is not None and watcher.now_s() - newest[0] <= FRESH_PROOF_S:
            return newest
        shot_s = watcher.now_s()
        image = self.device.frame_bytes()
        shot_s = taken_after(self.device, watcher.t0 + shot_s) - watcher.t0
        return watcher.sampler.publish(shot_s, image) if watcher.sampler else None

    def _prove_before(self, launch: Launch, decided_on: Frame, newest, label: str = "before tap") -> None:
        """File the frame taken right before the action as its proof (see ``_tap``)."""
        if newest is None or newest[0] <= decided_on.t_s:
            self._file_before(launch, decided_on, label)
        elif framediff.same_screen(decided_on.thumb, newest[2]):    # a countdown may have ticked
            self._file_before(launch, dataclasses.replace(decided_on, t_s=newest[0], image=newest[1],
                                                          thumb=newest[2], file=None, annotated=None), label)
        else:   # the screen moved between the decision and the action: judged once the outcome is in
            launch.action["before"] = {"t_s": round(newest[0], 3), "kind": "not yet analysed",
                                       "shows_ad": False}
            self._pending_before = (newest, decided_on, label)

    def _file_before(self, launch: Launch, before: Frame, label: str = "before tap") -> None:
        before.keep = label
        launch.action["before"] = {"t_s": round(before.t_s, 3), "kind": before.kind,
                                   "shows_ad": before.is_ad or timeline.is_candidate(before)
                                   or before.analysis.shake is not None,
                                   "countdown": before.analysis.countdown.seconds
                                   if before.analysis.countdown and not before.recognised_from else None,
                                   "recognised_from": before.recognised_from,
                                   "countdown_t_s": round(before.analysed_t_s, 3)}
        if any(f is before for f in launch.frames):
            self.on_event(launch, before)    # kept now if it was not kept when it came
        else:
            self._record(launch, before)

    def _settle_before(self, launch: Launch, watcher: Watcher) -> None:
        """Analyse the frame taken before the tap that differed from the one acted on."""
        if self._pending_before is None:
            return
        (t_s, image, thumb), decided_on, label = self._pending_before
        self._pending_before = None
        frame = watcher.analyse(t_s, image, thumb, foreground=decided_on.foreground)
        frame.before_main = decided_on.before_main and not frame.jump \
            and not framediff.same_screen(thumb, self.main_thumb)
        if frame.before_main and frame.has_ad_cue:
            timeline.mark_ad(frame, timeline.CUE_BEFORE_MAIN, self.rules)
        self._file_before(launch, frame, label)

    def _deny_permission(self, launch: Launch, frame: Frame) -> bool:
        """Tap the least-privilege answer of a permission prompt; True if one was tapped."""
        deny = next((t for t in frame.analysis.texts if lexicon.normalise(t.text) in DENY_WORDS), None)
        if deny is None:
            return False
        with self.lock:
            self.device.tap(*deny.box.center)
        launch.note(frame.t_s, "permission_denied", deny.text)
        return True

    def _run(self, index: int, kind: str, body, prepare=None, profile: str | None = None) -> Launch:
        started = time.monotonic()
        self.device.moment = f"launch {index} ({kind})"
        launch, watcher = Launch(index, kind, profile=profile), None
        self._pending_before = None
        record, recording = kind == "observe" and self.settings.record, None
        try:
            try:
                if record:
                    with self.lock:
                        recording = recorder.start(self.device, self.settings.observe_max_s)
                watcher = self._launch(launch, prepare)
                body(launch, watcher)
            finally:
                if prepare is not None:
                    self._disarm(launch)
                if record:
                    launch.recording = self._stop_recording(recording, watcher)
            self._settle_before(launch, watcher)
        except (DeviceLost, AppMissing) as exc:     # nothing more can be done on this device
            launch.lost, launch.failure = str(exc)[:300], exc
            launch.error = launch.lost
            launch.outcome = "not finished: " + ("app not installed" if isinstance(exc, AppMissing)
                                                 else "device lost")
        except AppCrashed as exc:
            self._crashed(launch, watcher, exc)
        except DeviceStalled as exc:
            self._stalled(launch, exc)
        except DeviceError as exc:
            launch.error = str(exc)[:300]
            launch.outcome = launch.outcome or "error"
        return self._finish(launch, watcher, started)

    def _stop_recording(self, recording, watcher: Watcher | None):
        """The launch's recording, whatever came of the launch (a gone device gives none, and says so)."""
        try:
            with self.lock:
                return recorder.finish(self.device, recording, watcher.t0 if watcher else None,
                                       watcher.sampler if watcher else None)
        except DeviceError as exc:      # a lost device cannot hand its video back
            recording = recording or recorder.LaunchRecording(str(self.device.screen_recorder))
            recording.error = f"the screen recorder gave no video: {exc}"[:300]
            return recording

    def _disarm(self, launch: Launch) -> None:
        """Hand the motion sensors back, whatever came of the launch (a lost device cannot be asked)."""
        try:
            with self.lock:
                self.device.motion_disarm()
        except DeviceLost:
            raise
        except DeviceError as exc:
            launch.note(0.0, "motion_disarm_failed", str(exc)[:200])

    def _stalled(self, launch: Launch, exc: DeviceStalled) -> None:
        """A command that never came back: the launch is not judged, the device freed for the next
        (or lost, where it cannot be freed)."""
        launch.stalled = launch.error = f"{exc} during {self.device.moment}"[:300]
        launch.outcome = "not finished: the device stopped answering"
        try:
            self.device.unstick(str(exc))
            # the stuck command's thread lets go of the old lock whenever its call returns, if ever
            self.lock = DeviceLock(self.settings.stall_s)
        except DeviceLost as lost:
            launch.lost, launch.failure = str(lost)[:300], lost
            launch.outcome = "not finished: device lost"

    def _crashed(self, launch: Launch, watcher: Watcher | None, exc: AppCrashed) -> None:
        """Note the crash with what the screen shows now (an error page), else the last frame seen."""
        launch.crashed = launch.error = str(exc)[:300]
        launch.outcome = "app crashed"
        png = launch.frames[-1].image if launch.frames else None
        try:
            with self.lock:
                png = self.device.screenshot_png()
        except DeviceError:
            pass                            # a crashed tab shows nothing: the last frame will do
        t_s = time.monotonic() - watcher.t0 if watcher is not None else 0.0
        launch.events.append(Event(round(t_s, 2), "app_crashed", launch.crashed, png=png))

    def _note_permission(self, launch: Launch, frame: Frame) -> None:
        prompt = frame.analysis.permission
        if not any(e.what == "permission" and e.t_s == round(frame.t_s, 2) for e in launch.events):
            purpose = prompt.purpose_overlay.text if prompt and prompt.purpose_overlay else "none"
            launch.note(frame.t_s, "permission", f"{prompt.kind if prompt else '?'}; purpose: {purpose}")
        self._deny_permission(launch, frame)

    def _target(self, frame: Frame, need_close: bool, body: bool, shake: bool = False) -> bool:
        """Whether ``frame`` shows what this probe acts on (a shake acts on a shake cue too)."""
        if need_close:
            return frame.is_ad and bool(frame.analysis.close_controls)
        if shake and frame.analysis.shake is not None:
            return True
        return frame.is_ad or (body and self.splash_candidate and timeline.is_candidate(frame))

    def _wait_for_target(self, launch: Launch, watcher: Watcher, frames, need_close: bool = False,
                         body: bool = False, shake: bool = False) -> Frame | None:
        """The first frame showing the target that the screen confirms: nothing moved since.

        Confirmed by the newest screenshot showing the same screen (a countdown may tick; no second
        analysis needed), else by the next analysed frame showing the same controls in the same
        places: acting on a pop-up still sliding in would tap where its ✕ was, not where it is, and
        blame the app for a tap that missed.
        Waits while an ad is shown (its close may come late); gives up once the ad has gone.
        """
        s = self.settings
        previous, ad_seen_at, last_ad_at = None, None, None
        watcher.due_s = s.wait_for_ad_s
        for frame in frames:
            self._record(launch, frame)
            if frame.kind == "permission":
                self._note_permission(launch, frame)
                previous = None
                continue
            if self._target(frame, need_close, body, shake):
                # A motion aims at no control: the screenshot taken right before it is its proof.
                if shake or frame.recognised_from or (previous is not None and _same_layout(previous, frame)):
                    return frame
                newest = watcher.sampler.newest() if watcher.sampler else None
                if newest and newest[0] > frame.t_s and framediff.same_screen(frame.thumb, newest[2]):
                    return frame
                previous = frame
            else:
                previous = None
            if frame.is_ad or self._target(frame, False, body, shake):
                ad_seen_at = frame.t_s if ad_seen_at is None else ad_seen_at
                last_ad_at = frame.t_s
                watcher.due_s = frame.t_s + s.settle_s
            elif last_ad_at is not None and frame.t_s - last_ad_at >= s.settle_s:
                return None      # the ad came and went without what we wait for
            if ad_seen_at is None and frame.t_s > s.wait_for_ad_s:
                return None
        return None

    @staticmethod
    def _no_target_outcome(launch: Launch, need_close: bool, act: str = "tapped") -> str:
        if launch.ad_frames:
            if need_close and not any(f.analysis.close_controls for f in launch.ad_frames):
                return "no close control to tap"
            return f"ad gone before it could be {act}"
        return "no ad seen"

    # -- the probes -----------------------------------------------------------------------------
    def observe(self, index: int) -> Launch:
        return self._run(index, "observe", self._observe)

    def _observe(self, launch: Launch, watcher: Watcher) -> None:
        """Watch until the screen settles after every ad-like screen (or none came by wait_for_ad_s)."""
        s = self.settings
        adlike_seen_at = last_adlike_at = None
        watcher.due_s = s.wait_for_ad_s
        watcher.look_again_s = LOOK_AGAIN_S     # CLOSE_PRESENT is judged on this launch alone
        for frame in watcher.frames(s.observe_max_s):
            self._record(launch, frame)
            if frame.kind == "permission":
                self._note_permission(launch, frame)
            elif frame.is_ad or frame.has_ad_cue:
                adlike_seen_at = frame.t_s if adlike_seen_at is None else adlike_seen_at
                last_adlike_at = frame.t_s
                watcher.due_s = frame.t_s + s.settle_s
            elif last_adlike_at is not None and frame.t_s - last_adlike_at >= s.settle_s:
                break
            elif adlike_seen_at is None and frame.t_s >= s.wait_for_ad_s:
                break
            if frame.jump:
                launch.note(frame.t_s, "jump", frame.jump.detail)
                break
        self._backfill(launch, watcher)
        self.learn_main_screen(launch)
        date_first_close(launch, watcher.sampler.history if watcher.sampler else [])
        self.learn_ads(launch, watcher.sampler.history if watcher.sampler else [])
        note_ad_timeline(launch)
        launch.outcome = "ad seen" if launch.ad_frames else "no ad seen"

    def _backfill(self, launch: Launch, watcher: Watcher) -> None:
        """Analyse, once the watch is over, the changed screens it skipped while an analysis ran.

        On a busy machine one analysis can outlast a short ad; the observe launch's timeline (when a
        close control came, whether one ever did) must not depend on that. Nothing waits on this.
        """
        if watcher.sampler is None or not launch.frames:
            return
        seen, end_s = sorted(f.t_s for f in launch.frames), watcher.now_s()
        todo = []
        for t_s, image, thumb in watcher.sampler.keyframes:
            earlier = [f for f in launch.frames if f.t_s <= t_s]
            later = [x for x in seen if x > t_s] or [end_s]
            # Where an ad already showed its close, what came between cannot change CLOSE_PRESENT.
            settled = earlier and earlier[-1].is_ad and earlier[-1].analysis.close_controls
            if earlier and not settled and later[0] - earlier[-1].t_s > BACKFILL_GAP_S and t_s not in seen:
                todo.append((t_s, image, thumb))
        for t_s, image, thumb in todo[:BACKFILL_MAX]:
            before = max((f for f in launch.frames if f.t_s <= t_s), key=lambda f: f.t_s)
            frame = watcher.analyse(t_s, image, thumb, foreground=before.foreground)
            frame.keep = "analysed after the watch"
            self._record(launch, frame)
        launch.frames.sort(key=lambda f: f.t_s)

    def learn_main_screen(self, launch: Launch) -> None:
        """The app's main screen from a finished observe launch; its splash frames placed by it."""
        self.main_thumb = timeline.main_screen(launch.frames)
        timeline.place_all(launch.frames, self.main_thumb, self.rules)
        self.splash_candidate = any(timeline.is_candidate(f) for f in launch.frames)

    def learn_ads(self, launch: Launch, history) -> None:
        """The observe launch's ad screens (and splash screens with no ad cue), to be known again at a
        glance, and how long its ad stayed."""
        seen, self.known_ads = set(), []
        for frame in [*launch.ad_frames, *(f for f in launch.frames if timeline.is_candidate(f))]:
            if frame.thumb is not None and id(frame.analysis) not in seen:
                seen.add(id(frame.analysis))
                self.known_ads.append(frame)
        self.known_ads.sort(key=lambda f: -len(f.analysis.close_controls))
        ads = launch.ad_frames
        after = next((f for f in launch.frames if f.t_s > ads[-1].t_s and not f.is_ad), None) if ads else None
        if after is not None:
            self.ad_lasts_s = screen_since_s(history, after, ads[-1].t_s) - ads[0].t_s

    def _recognise(self, thumb) -> Frame | None:
        """An ad frame of the observe launch that ``thumb`` shows again: the same screen, and nothing
        changed where any of them has a close control (not a cell: a control that comes late or fades
        in is not there yet; a countdown that ticked inside it is another known frame, or analysed)."""
        # Where any known ad frame had a close control: a frame without one (the ad before its close
        # came, or a ✕ growing from nothing) is that frame again only while that place is unchanged too.
        places = [framediff.region(c.box, thumb) for known in self.known_ads for c in known.analysis.close_controls]
        same = [known for known in self.known_ads if framediff.same_screen(thumb, known.thumb)]
        for known in same:
            if not any(framediff.changed(thumb[rows, cols], known.thumb[rows, cols]) for rows, cols in places):
                return known
        return _on_its_way(thumb, same, places)

    def close(self, index: int) -> Launch:
        return self._run(index, "close", self._close)

    def _close(self, launch: Launch, watcher: Watcher) -> None:
        s = self.settings
        frames = self._placed(launch, watcher.frames(s.observe_max_s + s.dismiss_within_s + s.repop_watch_s,
                                                     self._recognise))
        launch.ad_lasts_s = self.ad_lasts_s
        ad = self._wait_for_target(launch, watcher, frames, need_close=True)
        if ad is None:
            launch.outcome = self._no_target_outcome(launch, need_close=True)
            return
        control = max(ad.analysis.close_controls, key=lambda c: c.box.area)
        target = control.touch_box or control.box
        tap_t = self._tap(launch, watcher, ad, *target.center, target=f"close control '{control.text}'")
        launch.outcome = self._watch_after_close(launch, watcher, frames, tap_t)

    def _watch_after_close(self, launch: Launch, watcher: Watcher, frames, tap_t: float) -> str:
        """Record frames after a close tap until they can tell: gone (and not back), still there, a jump.

        Each frame is labelled before it is recorded, so the frames that decide are filed as evidence.
        """
        s = self.settings
        dismissed_at = None
        watcher.due_s = tap_t + s.dismiss_within_s
        for frame in frames:
            if frame.t_s <= tap_t:
                continue   # taken before the tap landed
            first = not launch.frames_after_tap()
            ending = None
            if frame.jump:
                ending = ("jump", f"jump after close: {frame.jump.detail}")
            elif dismissed_at is not None and frame.is_ad:
                ending = ("re-pop", f"ad came back {frame.t_s - dismissed_at:.1f} s after closing")
            elif dismissed_at is None and frame.is_ad and frame.t_s - tap_t >= s.dismiss_within_s:
                ending = ("still shown", f"ad still shown {frame.t_s - tap_t:.1f} s after the tap")
            frame.keep = frame.keep or ("after tap" if first else ending[0] if ending else None)
            self._record(launch, frame)
            if ending:
                launch.note(frame.t_s, ending[0], ending[1])
                return ending[1]
            if dismissed_at is None and not frame.is_ad and frame.kind != "permission":
                dismissed_at = frame.t_s
                watcher.due_s = dismissed_at + s.repop_watch_s
                launch.note(frame.t_s, "ad_dismissed")
            if dismissed_at is not None and frame.t_s - dismissed_at >= s.repop_watch_s:
                return f"dismissed {dismissed_at - tap_t:.1f} s after the tap, no jump, no re-pop"
        return "frames ended before the outcome was seen"

    def body_tap(self, index: int, point_index: int) -> Launch:
        return self._run(index, "body_tap", lambda launch, watcher: self._body_tap(
            launch, watcher, point_index))

    def _body_tap(self, launch: Launch, watcher: Watcher, point_index: int) -> None:
        s = self.settings
        frames = self._placed(launch, watcher.frames(s.observe_max_s + s.jump_watch_s + 2, self._recognise))
        ad = self._wait_for_target(launch, watcher, frames, body=True)
        if ad is None:
            launch.outcome = self._no_target_outcome(launch, need_close=False)
            return
        point = neutral_point(ad.analysis, self.display, point_index)
        if point is None:
            launch.outcome = "no neutral point on the ad body"
            return
        what = "ad body" if ad.is_ad else "splash body"
        tap_t = self._tap(launch, watcher, ad, *point, target=what)
        launch.outcome = self._watch_for_jump(launch, watcher, frames, tap_t, "after tap")

    def _watch_for_jump(self, launch: Launch, watcher: Watcher, frames, since_s: float, first_label: str) -> str:
        """Record the frames after an action (taken after ``since_s``) until a jump or ``jump_watch_s``."""
        watcher.due_s = since_s + self.settings.jump_watch_s
        for frame in frames:
            if frame.t_s <= since_s:
                continue
            first = not launch.frames_after_tap()
            frame.keep = frame.keep or (first_label if first else "jump" if frame.jump else None)
            self._record(launch, frame)
            if frame.jump:
                launch.note(frame.t_s, "jump", frame.jump.detail)
                return f"jump: {frame.jump.detail}"
            if frame.t_s - since_s >= self.settings.jump_watch_s:
                return "no jump"
        return "frames ended before the outcome was seen"

    def shake(self, index: int, profile: MotionProfile) -> Launch:
        """A launch with motion sensors at rest; once the ad shows, ``profile`` is played on it."""
        return self._run(index, "shake", lambda launch, watcher: self._shake(launch, watcher, profile),
                         prepare=lambda: self.device.motion_arm(REST), profile=profile.name)

    def _shake(self, launch: Launch, watcher: Watcher, profile: MotionProfile) -> None:
        s = self.settings
        self._motion_on = None
        frames = self._placed(launch, watcher.frames(s.observe_max_s + profile.duration_s + s.jump_watch_s + 2,
                                                     self._recognise_shaken))
        ad = self._wait_for_target(launch, watcher, frames, shake=True)
        if ad is None:
            launch.outcome = self._no_target_outcome(launch, need_close=False, act="shaken")
            return
        self._motion_on = ad
        end_t = self._play(launch, watcher, ad, profile)
        if end_t is None:
            launch.outcome = "ad gone before it could be shaken (the screen changed before the motion began)"
            return
        launch.outcome = self._watch_for_jump(launch, watcher, frames, end_t, "after motion")
        self._remember_ads(launch)

    def _recognise_shaken(self, thumb) -> Frame | None:
        """A known ad screen (``_recognise``), or the one the motion was played on, seen again: after a
        motion only a jump matters, which the foreground tells, so the same screen needs no new analysis
        (on a busy machine one took 4 s, and the watch after the motion is 1.5 s)."""
        known = self._recognise(thumb)
        if known is None and self._motion_on is not None and framediff.same_screen(thumb, self._motion_on.thumb):
            return self._motion_on
        return known

    def _remember_ads(self, launch: Launch) -> None:
        """A shake launch's analysed ad frames, to be known again at a glance by the next launches
        (a plan of shake launches only has no observe launch to learn them from)."""
        known = {id(f.analysis) for f in self.known_ads}
        for frame in launch.ad_frames:
            if frame.recognised_from is None and not frame.jump and frame.thumb is not None \
                    and id(frame.analysis) not in known:
                known.add(id(frame.analysis))
                self.known_ads.append(frame)

    def _play(self, launch: Launch, watcher: Watcher, decided_on: Frame, profile: MotionProfile) -> float | None:
        """Play ``profile`` with the device held throughout; record the proof frame and what was played.

        Returns when the motion ended (s since launch): frames taken later show what came of it; None
        when the screen had changed before it could begin (on a busy machine the ad may be over by the
        time its first frame is analysed): a motion then proves nothing.
        """
        spec = self.rules["SHAKE_JUMP"]
        with self.lock:
            newest = self._proof_shot(watcher)
            if newest is not None and not framediff.same_screen(decided_on.thumb, newest[2]):
                return None
            started_s = watcher.now_s()
            sent, stopped = motion_player.play(self.device, profile, watcher.baseline)
            t_s = watcher.now_s()
        played = summarise(profile.name, sent, spec["min_acceleration_ms2"], stopped)
        launch.action = {"type": "shake", "target": f"motion '{profile.name}'", "profile": profile.name,
                         "description": profile.description, "gentle": profile.gentle,
                         "how": self.device.motion_support(), "started_s": round(started_s, 3),
                         "t_s": math.floor(t_s * 1000) / 1000, "played": played.to_dict(),
                         "below_floor": below_floor(played, spec["min_acceleration_ms2"], spec["min_rotation_deg"],
                                                    spec["min_duration_s"])}
        self._prove_before(launch, decided_on, newest, "before motion")
        launch.note(started_s, "motion", f"{profile.name}: {played.readings} readings in {played.motion_s:.2f} s "
                    f"({played.rate_hz:.0f}/s), peak {played.peak_linear_ms2:.1f} m/s², {played.rotation_deg:.0f}°")
        if stopped:
            launch.note(t_s, "motion_stopped", stopped)
        return t_s


def date_first_close(launch: Launch, history) -> None:
    """Date the ad's first close control by the frames taken between analyses, not the analysed one."""
    ads = launch.ad_frames
    first = next((i for i, f in enumerate(ads) if f.analysis.close_controls), None)
    if not first:       # none, or shown with the ad's first frame
        return
    frame = ads[first]
    control = max(frame.analysis.close_controls, key=lambda c: c.box.area)
    frame.close_since_s = first_shown_s(history, ads[first - 1], frame, control.box)


def note_ad_timeline(launch: Launch) -> None:
    """Events from the launch's frames: ad start and end, first close control, countdown changes."""
    ads = launch.ad_frames
    if not ads:
        return
    launch.note(ads[0].t_s, "ad_start", ads[0].kind)
    first_close = next((f for f in ads if f.analysis.close_controls), None)
    if first_close is not None:
        launch.note(first_close.close_since_s or first_close.t_s, "close_seen",
                    first_close.analysis.close_controls[0].text)
    last_countdown = None
    for frame in ads:
        countdown = frame.analysis.countdown
        if countdown and countdown.seconds != last_countdown:
            last_countdown = countdown.seconds
            launch.note(frame.t_s, "countdown", str(countdown.seconds))
    launch.note(ads[-1].t_s, "ad_end")
    launch.events.sort(key=lambda e: e.t_s)


def _on_its_way(thumb, same: list[Frame], places) -> Frame | None:
    """A known ad frame without a close control or one with it, for a frame caught while the control
    fades in between them (everywhere it changed, a blend of the two, ARRIVING_SHARES of the way):
    the nearer of the two. Analysing such a frame in full took 1.9 s on a busy machine, and the tap
    then came too near the ad's own end to be credited. A countdown that ticked, or anything else
    that changed there, is no blend: it is read again or analysed."""
    low, high = ARRIVING_SHARES
    for arrived in (f for f in same if f.analysis.close_controls):
        for before in (f for f in same if not f.analysis.close_controls):
            moved = [p for p in places if framediff.changed(thumb[p], arrived.thumb[p])
                     or framediff.changed(thumb[p], before.thumb[p])]
            shares = [framediff.blend_share(thumb, before.thumb, arrived.thumb, p) for p in moved]
            if moved and all(share is not None and low <= share <= high for share in shares):
                return arrived if min(shares) >= 0.5 else before
    return None


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
