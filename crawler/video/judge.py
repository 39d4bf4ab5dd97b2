"""A walked recording as the live check's launches, judged by the live check's own verdicts.

The recording is one launch. It is the *observe* launch (its timeline: ad start and end, when a close
control first showed, countdown, prompts), and each touch its dot shows is one more launch over the
same frames: a touch on a close control is a *close* launch, a touch on the ad's body (away from every
control, label and jump button) a *body_tap* launch, each with the frame before the touch as its proof
and the frames after it, up to the next touch, as its outcome. ``crawler.probe_verdicts`` then gives
the same findings, rule ids, clauses and evidence as ``splashaudit check``; a rule no touch speaks to
is ``inconclusive`` with the reason. Several recordings of one app (``--same-app``) are judged
together, as the check judges its launches: the first one teaches the app's main screen.

A recording has no foreground to ask: a screen a touch led to is another app, a browser or a store
page (a jump) when the app never showed it before the touch and it carries what only such a page
shows (a download or install button, a web address: ``vision.lexicon.outside_app``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from crawler.devices.base import Jump
from crawler.live import timeline
from crawler.probe_verdicts import judge_launches, key_frame, settled_frame
from crawler.probes import Launch, ProbeSettings, date_first_close, note_ad_timeline
from crawler.video.walk import Touch, Walk, on_close_control
from crawler.watch import Frame, screen_since_s
from vision import framediff, lexicon
from vision.rules import RuleProfile
from vision.types import Finding
from vision.verdicts import finding

#: A body touch stays this far (dp) from the ad's controls, label and jump buttons.
BODY_CLEARANCE_DP = 12.0


@dataclass
class Recording:
    """One recording once walked: its launches and what happened in it."""

    name: str
    walk: Walk
    observe: Launch
    touch_launches: list[Launch] = field(default_factory=list)
    touches: list[dict] = field(default_factory=list)        # each touch: where, on what, what followed
    density: float = 1.0

    @property
    def launches(self) -> list[Launch]:
        return [self.observe, *self.touch_launches]


# -- leaving the app ----------------------------------------------------------------------------------
def _outside_cue(frame: Frame) -> str | None:
    return next((t.text for t in frame.analysis.texts if lexicon.outside_app(t.text)), None)


def mark_jumps(walk: Walk) -> None:
    """Set ``jump`` on frames showing a page outside the app that a touch led to (see the module)."""
    if not walk.touches:
        return
    first_touch = walk.touches[0].t_s
    own = [f.thumb for f in walk.frames if f.t_s < first_touch and f.thumb is not None]
    left = None
    for frame in walk.frames:
        if frame.t_s <= first_touch:
            continue
        if left is not None and framediff.same_screen(frame.thumb, left.thumb):
            frame.jump = left.jump
            continue
        a = frame.analysis
        in_app = frame.kind == "permission" or a.close_controls or a.countdown is not None
        if in_app or any(framediff.same_screen(frame.thumb, t) for t in own):
            left = None     # (a landing page's 立即下载 may make it look like an ad; a closable one is not left)
            continue
        cue = _outside_cue(frame)
        if cue is not None:
            frame.jump = Jump(True, "outside_app", f"a page outside the app showed ('{cue}')")
            left = frame


# -- touches ------------------------------------------------------------------------------------------
def _frame_before(walk: Walk, t_s: float) -> Frame | None:
    return next((f for f in reversed(walk.frames) if f.t_s < t_s), None)


def classify_touch(touch: Touch, before: Frame | None, density: float) -> tuple[str, str]:
    """(kind, target): "close", "body" or "other", and what the touch landed on."""
    if before is None:
        return "other", "nothing analysed yet"
    a = before.analysis
    control = on_close_control(touch, before, density)
    if control is not None:
        return "close", f"close control '{control.text}'"
    if not (before.is_ad or timeline.is_candidate(before)):
        return "other", f"a {before.kind} screen"
    for jump in a.jump_buttons:
        if jump.box.contains(touch.x_px, touch.y_px, BODY_CLEARANCE_DP * density):
            return "other", f"jump button '{jump.text}'"
    for part in (a.ad_label, a.countdown):
        if part is not None and part.box.contains(touch.x_px, touch.y_px, BODY_CLEARANCE_DP * density):
            return "other", f"'{part.text}'"
    return "body", "ad body" if before.is_ad else "splash body"


def _before_dict(walk: Walk, before: Frame, touch_t: float) -> dict:
    """The proof of a touch, as the live prober files it (``Prober._file_before``)."""
    sample = next((thumb for t, thumb in reversed(walk.samples) if t < touch_t), None)
    if sample is not None and before.thumb is not None and not framediff.same_screen(sample, before.thumb):
        return {"t_s": round(before.t_s, 3), "kind": "not analysed (the screen moved before the touch)",
                "shows_ad": False}
    return {"t_s": round(before.t_s, 3), "kind": before.kind,
            "shows_ad": before.is_ad or timeline.is_candidate(before),
            "countdown": before.analysis.countdown.seconds if before.analysis.countdown else None,
            "recognised_from": None, "countdown_t_s": round(before.analysed_t_s, 3)}


def _followed(walk: Walk, touch_t: float, before: Frame | None, until_s: float) -> str:
    """What the screen did after a touch, in words, from the frames up to ``until_s``."""
    after = [f for f in walk.frames if touch_t < f.t_s <= until_s]
    jump = next((f for f in after if f.jump), None)
    if jump is not None:
        return f"{jump.jump.detail} {jump.t_s - touch_t:.2f} s later"
    moved = next((f for f in after if before is None or not framediff.same_screen(f.thumb, before.thumb)), None)
    if moved is None:
        return f"nothing changed in the {max(until_s - touch_t, 0):.1f} s after it"
    since = screen_since_s(walk.samples, moved, touch_t)
    what = "the ad" if moved.is_ad else f"a {moved.kind} screen"
    return f"{what} showed {since - touch_t:.2f} s later"


def touch_launches(name: str, walk: Walk, density: float, first_index: int) -> tuple[list[Launch], list[dict]]:
    """A close or body_tap launch per touch on an ad (other touches are only noted), and every touch."""
    launches, described = [], []
    for i, touch in enumerate(walk.touches):
        until = walk.touches[i + 1].t_s if i + 1 < len(walk.touches) else walk.end_s + 1
        before = _frame_before(walk, touch.t_s)
        kind, target = classify_touch(touch, before, density)
        described.append({"t_s": round(touch.t_s, 3), "x_px": round(touch.x_px), "y_px": round(touch.y_px),
                          "on": target, "kind": kind, "dot_seen_s": [round(t, 3) for t in touch.seen_s],
                          "followed": _followed(walk, touch.t_s, before, until)})
        if kind == "other" or before is None:
            continue
        launch = Launch(first_index + len(launches), "close" if kind == "close" else "body_tap")
        kept = replace(before, keep="before tap")
        frames = [kept if f is before else f for f in walk.frames if f.t_s < until]
        cut = next((j for j, f in enumerate(frames) if f.t_s > touch.t_s and f.jump), None)
        launch.frames = frames[:cut + 1] if cut is not None else frames
        first_after = next((f for f in launch.frames if f.t_s > touch.t_s), None)
        if first_after is not None:
            first_after.keep = first_after.keep or "after tap"
        launch.samples = [(t, thumb) for t, thumb in walk.samples if before.t_s - 2 <= t < until]
        launch.action = {"type": "tap", "x_px": round(touch.x_px), "y_px": round(touch.y_px), "target": target,
                         "started_s": round(touch.t_s, 3), "t_s": round(touch.t_s, 3),
                         "before": _before_dict(walk, kept, touch.t_s), "seen_as": "touch dot"}
        launch.outcome = described[-1]["followed"]
        launch.note(touch.t_s, "tap", f"{target} at ({round(touch.x_px)}, {round(touch.y_px)})")
        launches.append(launch)
    return launches, described


# -- one recording ------------------------------------------------------------------------------------
def observe_launch(walk: Walk, index: int) -> Launch:
    """The whole recording as the observe launch, up to the first page outside the app."""
    launch = Launch(index, "observe")
    cut = next((i for i, f in enumerate(walk.frames) if f.jump), None)
    launch.frames = walk.frames[:cut + 1] if cut is not None else list(walk.frames)
    launch.samples = walk.samples
    launch.analysed = walk.analysed
    launch.duration_s = round(walk.end_s, 3)
    return launch


def _note_events(recording: Recording, rules: RuleProfile) -> None:
    """The timeline's own events: ad start/end, close, countdown (as the check notes them), and what a
    recording shows besides: ad label, jump button, permission prompts, pages outside the app, an ad
    that came back after it went, touches."""
    launch, walk = recording.observe, recording.walk
    date_first_close(launch, walk.samples)
    note_ad_timeline(launch)
    ads = launch.ad_frames
    if ads:
        label = next((f for f in ads if f.analysis.ad_label), None)
        if label is not None:
            launch.note(label.t_s, "ad_label", label.analysis.ad_label.text)
        jump = next((f for f in ads if f.analysis.jump_buttons), None)
        if jump is not None:
            launch.note(jump.t_s, "jump_button", jump.analysis.jump_buttons[0].text)
    seen_prompt, was_ad, went = None, False, None
    for frame in walk.frames:
        prompt = frame.analysis.permission if frame.kind == "permission" else None
        if prompt is not None and prompt.kind != seen_prompt:
            purpose = prompt.purpose_overlay.text if prompt.purpose_overlay else "none"
            launch.note(frame.t_s, "permission", f"{prompt.kind}; purpose: {purpose}")
        seen_prompt = prompt.kind if prompt is not None else None
        if frame.jump and not any(e.what == "left_app" for e in launch.events):
            launch.note(frame.t_s, "left_app", frame.jump.detail)
        if frame.is_ad and went is not None and not frame.jump:
            launch.note(frame.t_s, "ad_back", f"{frame.t_s - went:.1f} s after it went")
            went = None
        if was_ad and not frame.is_ad and frame.kind != "permission" and not frame.jump:
            went = screen_since_s(walk.samples, frame, 0.0) if frame.thumb is not None else frame.t_s
        was_ad = frame.is_ad or (was_ad and frame.kind == "permission")
    for touch in recording.touches:
        launch.note(touch["t_s"], "touch", f"on {touch['on']}: {touch['followed']}")
    launch.events.sort(key=lambda e: e.t_s)


def read_recording(name: str, walk: Walk, density: float) -> Recording:
    """The walked recording as its observe launch; its touches become launches once ``judge`` has
    placed its frames by the app's main screen (a touch on a cue-less splash is a "splash body" tap)."""
    mark_jumps(walk)
    recording = Recording(name, walk, observe_launch(walk, 1))
    recording.density = density
    return recording


# -- judging ------------------------------------------------------------------------------------------
def _cut_short(observe: Launch, touch_launches_: list[Launch], rules: RuleProfile) -> str | None:
    """Why CLOSE_PRESENT cannot be judged: a touch ended the ad before the limit, with no close seen."""
    ads = observe.ad_frames
    if not ads or any(f.analysis.close_controls for f in ads):
        return None
    limit = rules["CLOSE_PRESENT"]["max_delay_s"]
    for launch in touch_launches_:
        tap_t = launch.tap_t_s
        ended = next((f for f in launch.frames_after_tap() if not f.is_ad), None)
        if ads[0].t_s <= tap_t < ads[0].t_s + limit and ended is not None and ads[-1].t_s <= tap_t + 2.0:
            return (f"the recording's touch at {tap_t:.2f} s ended the ad {tap_t - ads[0].t_s:.1f} s after it "
                    f"appeared, before the {limit:g} s limit, and no close control had shown")
    return None


def _budget_cut(recording: Recording) -> str | None:
    """Why CLOSE_PRESENT cannot be judged: the walk stopped at its budget while the ad still showed,
    so a close that came after the cut is not ruled out."""
    walk, ads = recording.walk, recording.observe.ad_frames
    if walk.cut_at_s is None or not ads or not walk.frames or walk.frames[-1].t_s > ads[-1].t_s:
        return None
    return f"the walk stopped at {walk.cut_at_s:.1f} s ({walk.cut_why}) while the ad still showed"


def _untouched(rules: RuleProfile, rule: str, what: str) -> Finding:
    zh = {"CLOSE_EFFECTIVE": "录屏中没有可见的点击关闭控件的触点（请开启“显示点按操作反馈”）",
          "FULLSCREEN_JUMP": "录屏中没有可见的点击广告主体的触点（请开启“显示点按操作反馈”）"}[rule]
    return finding(rules, rule, "inconclusive", zh,
                   f"no visible touch on {what} in the recording (turn on Android's Show taps): "
                   "what a tap does cannot be told", touches_seen=0)


def judge(recordings: list[Recording], rules: RuleProfile, settings: ProbeSettings | None = None) -> list[Finding]:
    """Findings for recordings of one app: placed by the first one's main screen, judged as launches."""
    settings = settings or ProbeSettings(dismiss_within_s=rules["CLOSE_EFFECTIVE"]["dismiss_within_s"],
                                         repop_watch_s=rules["CLOSE_EFFECTIVE"]["repop_watch_s"])
    first = recordings[0]
    main_thumb = timeline.main_screen([f for f in first.observe.frames if not f.jump])
    index = 2
    for recording in recordings:
        timeline.place_all(recording.walk.frames, main_thumb, rules)
        recording.touch_launches, recording.touches = touch_launches(
            recording.name, recording.walk, recording.density, index)
        index += len(recording.touch_launches)
        _note_events(recording, rules)
    ads = first.observe.ad_frames
    after = next((f for f in first.observe.frames if ads and f.t_s > ads[-1].t_s and not f.is_ad), None)
    touched_before_end = any(l.tap_t_s is not None and ads and l.tap_t_s <= ads[-1].t_s + 0.5
                             for l in first.touch_launches)
    lasts_s = None
    if after is not None and not touched_before_end and after.thumb is not None:
        lasts_s = screen_since_s(first.walk.samples, after, ads[-1].t_s) - ads[0].t_s
    touch_launches_ = [l for r in recordings for l in r.touch_launches]
    for launch in touch_launches_:
        launch.ad_lasts_s = lasts_s
    launches = [first.observe, *touch_launches_]
    findings = judge_launches(launches, rules, settings, choose_key=best_frame)
    return _complete(findings, launches, first, touch_launches_, rules)


def best_frame(launches: list[Launch]) -> Frame | None:
    """The frame a recording's per-frame rules are judged on: chosen as the check chooses
    (``settled_frame``), among the analysed frames whose image the walk kept; with no close control,
    the check's own choice (the first ad frame)."""
    return settled_frame([l.ad_frames for l in launches], usable=lambda f: bool(f.file and f.image)) \
        or key_frame(launches)


def _complete(findings: list[Finding], launches: list[Launch], first: Recording,
              touch_launches_: list[Launch], rules: RuleProfile) -> list[Finding]:
    """The check's findings, made honest about what a recording cannot show."""
    if key_frame(launches) is None:
        return findings
    out = []
    for f in findings:
        if f.rule == "CLOSE_PRESENT" and f.verdict == "violation":
            budget = _budget_cut(first)
            why = budget or _cut_short(first.observe, first.touch_launches, rules)
            zh = "录屏判定因内存上限在广告展示中停止，无法确认之后是否出现关闭控件" if budget else \
                "广告被录屏中的点击提前结束，无法确认是否会出现关闭控件"
            if why:
                f = finding(rules, "CLOSE_PRESENT", "inconclusive", zh,
                            why, **{k: v for k, v in f.evidence.items() if k != "clause"})
        out.append(f)
    rules_given = {f.rule for f in out}
    if not any(l.kind == "close" for l in touch_launches_) and "CLOSE_EFFECTIVE" not in rules_given:
        out.append(_untouched(rules, "CLOSE_EFFECTIVE", "a close control"))
    if not any(l.kind == "body_tap" for l in touch_launches_) and "FULLSCREEN_JUMP" not in rules_given:
        out.append(_untouched(rules, "FULLSCREEN_JUMP", "the ad's body"))
    return out
