"""From recorded launches to one finding per rule, each with the frame and numbers behind it.

A tap is judged only with proof: the newest frame taken before it (at most ``tap_proof_s`` earlier)
shows the ad, and the frames after it say what happened. Without that proof the finding is
``inconclusive`` with the reason: a slow machine or a short ad never turns into a pass or a violation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from crawler.devices.base import CANNOT_SHAKE
from crawler.live import framediff, timeline
from crawler.live.motion import PROFILE_BY_NAME, PROFILES, Played, short_of_profile
from crawler.probes import Launch, ProbeSettings
from crawler.watch import REPEAT_EVERY_S, Frame, screen_since_s
from vision.rules import RuleProfile
from vision.types import Finding, ShakeCue
from vision.verdicts import finding

AD_RULES = ("CLOSE_PRESENT", "CLOSE_SIZE", "CLOSE_CONTRAST", "CLOSE_POSITION", "CLOSE_EFFECTIVE",
            "FULLSCREEN_JUMP", "AD_LABEL")
FRAME_RULES = ("CLOSE_SIZE", "CLOSE_CONTRAST", "CLOSE_POSITION", "AD_LABEL")
#: A close that went within this long of when the ad ended by itself (in the observe launch) is not
#: credited to the tap.
AD_END_MARGIN_S = 1.0
#: "It did not come back" (and "no close showed until the ad ended") needs frames no further apart
#: than this: a re-popped ad or a late close stays for seconds.
MAX_WATCH_GAP_S = 1.5


def _with_frame(f: Finding, frame: Frame) -> Finding:
    return replace(f, evidence={**f.evidence, "frame": frame.file, "t_s": frame.t_s})


def control_clarity(control) -> tuple:
    """How clearly a frame shows a close control, for choosing among frames of the same control:
    vision's confidence (to 0.1, so that noise does not decide), then its contrast (to 0.1: a control
    that fades in is judged faded in, not on a frame of its fade), then its size."""
    return round(control.confidence, 1), round(control.contrast_ratio or 0.0, 1), control.box.area


#: A control seen for less than this share of the time the longest-seen one was (a frame of a fade
#: or a slide, measured half drawn) is not what the per-frame rules are judged on.
SETTLED_SHARE = 0.5


def settled_frame(runs: list[list[Frame]], usable=lambda frame: True) -> Frame | None:
    """Of the frames of each run (a launch, in time order) showing close controls, the one the
    per-frame rules are judged on: the control as it ends up, not on a frame of its animation.

    Controls in one place (boxes overlapping by half) are one control, shown for as long as the frames
    showing it stand for (each until the next frame, at most a second). Of the controls shown at least
    SETTLED_SHARE as long as the longest-shown one, the largest (a ✕ that grows is judged grown; one
    that never grows past 8 dp is judged at 8 dp; a pill's shape measured half faded in, seen for a
    frame, is left out), on the frame where it shows clearest (``control_clarity``), the earliest of
    equals, among the ``usable`` frames (those filed as evidence) where it has any. The live check and
    a recording of the same launch choose alike."""
    places: list[list] = []        # [box, seconds shown, [(control, frame), ...]]
    for run in runs:
        for frame, after in zip(run, [*run[1:], None]):
            shown_s = min(after.t_s - frame.t_s, 1.0) if after is not None else REPEAT_EVERY_S
            for control in frame.analysis.close_controls:
                place = next((p for p in places if p[0].iou(control.box) >= 0.5), None)
                if place is None:
                    place = [control.box, 0.0, []]
                    places.append(place)
                place[1] += shown_s
                place[2].append((control, frame))
    if not places:
        return None
    longest_s = max(p[1] for p in places)
    place = max((p for p in places if p[1] >= SETTLED_SHARE * longest_s),
                key=lambda p: max(c.box.area for c, _ in p[2]))
    shown = [(c, f) for c, f in place[2] if usable(f)] or place[2]
    return max(shown, key=lambda cf: (control_clarity(cf[0]), -cf[1].t_s))[1]


def key_frame(launches: list[Launch]) -> Frame | None:
    """The frame the per-frame rules are judged on: ``settled_frame`` of the ad frames (preferring
    those filed as evidence), else the first ad frame (no close control seen)."""
    runs = [launch.ad_frames for launch in launches]
    # The observe launch is watched longest, without a touch, and analysed afresh (what a recording
    # of the check covers): its controls are judged where it saw any.
    observe = [l.ad_frames for l in launches
               if l.kind == "observe" and any(f.analysis.close_controls for f in l.ad_frames)]
    return settled_frame(observe or runs, usable=lambda f: bool(f.file)) or \
        next((f for run in runs for f in run), None)


def close_present(observe: Launch, rules: RuleProfile) -> Finding:
    max_delay_s = rules["CLOSE_PRESENT"]["max_delay_s"]
    ads = observe.ad_frames
    first_close = next((f for f in ads if f.analysis.close_controls), None)
    evidence = dict(ad_start_s=ads[0].t_s, frame=ads[0].file, max_delay_s=max_delay_s,
                    ad_end_s=ads[-1].t_s, frames=[f.file for f in ads if f.file])
    if first_close is None:
        end_s = _ad_end_s(observe)
        # Proven absent: no close in an analysed frame past the limit, or none up to the ad's end.
        if ads[-1].t_s - ads[0].t_s < max_delay_s and end_s - ads[-1].t_s > MAX_WATCH_GAP_S:
            # A close that came late would show in the frames near the ad's end: none was analysed.
            return finding(rules, "CLOSE_PRESENT", "inconclusive", "广告结束前的画面未能分析，无法确认全程无关闭控件",
                           f"no close control in the frames analysed, but the last of them ({ads[-1].t_s:.1f} s) "
                           f"came {end_s - ads[-1].t_s:.1f} s before the ad ended: a late close may have "
                           "been missed", **{**evidence, "ad_end_s": round(end_s, 2)})
        countdown = next((f.analysis.countdown.seconds for f in ads if f.analysis.countdown), None)
        only = ("（仅有倒计时）", f", only a countdown ({countdown})") if countdown is not None else ("", "")
        return finding(rules, "CLOSE_PRESENT", "violation", f"广告展示全程未出现关闭/跳过控件{only[0]}",
                       f"no close or skip control appeared while the ad was shown "
                       f"({ads[0].t_s:.1f}-{ads[-1].t_s:.1f} s, {len(ads)} frames){only[1]}",
                       countdown_only=countdown is not None, **evidence)
    close_seen_s = first_close.close_since_s or first_close.t_s
    delay_s = round(close_seen_s - ads[0].t_s, 2)
    least_s, most_s = close_delay_bounds(observe, first_close, close_seen_s)
    evidence.update(close_seen_s=round(close_seen_s, 3), close_frame_s=first_close.t_s, delay_s=delay_s,
                    delay_least_s=least_s, delay_most_s=most_s, close_frame=first_close.file)
    if least_s > max_delay_s:
        return finding(rules, "CLOSE_PRESENT", "violation",
                       f"关闭控件在广告出现 {delay_s:.1f} s 后才出现（上限 {max_delay_s:g} s）",
                       f"close control first showed {delay_s:.1f} s after the ad (at least {least_s:.1f} s; "
                       f"limit {max_delay_s:g} s)", **evidence)
    if most_s > max_delay_s:
        return finding(rules, "CLOSE_PRESENT", "inconclusive", "截图过慢，无法确定关闭控件出现的时间",
                       f"screenshots came too slowly to date the close control: it showed {least_s:.1f}-"
                       f"{most_s:.1f} s after the ad, and the limit {max_delay_s:g} s lies between", **evidence)
    return finding(rules, "CLOSE_PRESENT", "pass", f"关闭控件在广告出现后 {delay_s:.1f} s 内可见",
                   f"close control visible {delay_s:.1f} s after the ad appeared (at most {most_s:.1f} s)",
                   **evidence)


def close_delay_bounds(observe: Launch, first_close: Frame, close_seen_s: float) -> tuple[float, float]:
    """The least and the most time (s) the ad's close control can have come after the ad itself.

    A frame shows the screen as it was somewhere between when its screenshot was asked for and when
    it came back; on a busy machine that is seconds, not the tenth of a second of an idle one. The ad
    came after the last analysed frame without it and by the return of the first with it; the close
    after the last sample before the one that first shows it, and by that one's return.
    """
    ads = observe.ad_frames
    returned = observe.sample_returned_s
    ad_after_s = max((f.t_s for f in observe.frames if f.t_s < ads[0].t_s and not f.is_ad), default=ads[0].t_s)
    ad_by_s = ads[0].returned_s or ads[0].t_s
    close_by_s = returned.get(close_seen_s, first_close.returned_s or close_seen_s)
    if first_close is ads[0]:
        close_after_s = ad_after_s          # it may have come with the ad
    else:
        close_after_s = max([t for t, _ in observe.samples if t < close_seen_s]
                            + [f.t_s for f in ads if f.t_s < close_seen_s], default=ads[0].t_s)
    return round(max(0.0, close_after_s - ad_by_s), 2), round(max(0.0, close_by_s - ad_after_s), 2)


def _ad_end_s(launch: Launch) -> float:
    """When the launch's ad went, dated by the samples; the last ad frame when it never went."""
    ads = launch.ad_frames
    after = next((f for f in launch.frames if f.t_s > ads[-1].t_s and not f.is_ad), None)
    if after is None:
        return ads[-1].t_s
    return screen_since_s(launch.samples, after, ads[-1].t_s) if after.thumb is not None else after.t_s


def tap_unproven(launch: Launch, settings: ProbeSettings) -> str | None:
    """Why the launch's tap cannot count as a tap on the ad, or None when a frame proves it did."""
    action = launch.action
    if action is None:
        return None
    before = action.get("before") or {}
    what = "motion" if action["type"] == "shake" else "tap"
    if not before.get("shows_ad"):
        return f"the last frame before the {what} ({before.get('t_s', '?')} s) does not show the ad"
    # A motion lasts seconds: its proof is the frame taken right before it began.
    gap_s = (action["started_s"] if what == "motion" else action["t_s"]) - before["t_s"]
    if gap_s > settings.tap_proof_s:
        return (f"the last frame before the {what} was taken {gap_s:.2f} s before it "
                f"(proof needs {settings.tap_proof_s:g} s): the ad may have gone")
    return None


def _frame_before_tap(launch: Launch) -> Frame | None:
    return next((f for f in launch.frames if f.keep == "before tap"), None)


def close_outcome(launch: Launch, settings: ProbeSettings) -> tuple[str, str, str]:
    """(verdict, zh, en) for one close tap, from the frames recorded after it."""
    tap_t, within_s = launch.tap_t_s, settings.dismiss_within_s
    after = launch.frames_after_tap()
    jump = next((f for f in after if f.jump), None)
    gone = next((f for f in after if not f.is_ad and f.kind != "permission"), None)
    if gone is not None and gone.thumb is not None:     # dated by the samples, not the analysis
        gone = replace(gone, t_s=screen_since_s(launch.samples, gone, tap_t))
        # The app's screen may have shown earlier still, between samples of the ad coming back.
        first_not_ad = next((t for t, ad in _what_was_seen(launch, after) if ad is False), gone.t_s)
        gone = replace(gone, t_s=min(gone.t_s, first_not_ad))
    if jump is not None and (gone is None or jump.t_s <= gone.t_s + settings.repop_watch_s):
        return ("violation", f"点击关闭后跳转：{jump.jump.detail}",
                f"the close tap jumped away at {jump.t_s:.1f} s: {jump.jump.detail}")
    still = [f for f in after if f.is_ad and f.t_s - tap_t >= within_s and (gone is None or f.t_s < gone.t_s)]
    if still:
        return ("violation", f"点击 {still[0].t_s - tap_t:.1f} s 后广告仍在",
                f"ad still shown in a frame taken {still[0].t_s - tap_t:.1f} s after the tap")
    if gone is None:
        last = after[-1].t_s - tap_t if after else 0.0
        return ("inconclusive", f"点击后 {last:.1f} s 内无帧可判定",
                f"no frame {within_s:g} s after the tap (the last came {last:.1f} s after it)")
    # Gone by when the first screenshot without it came back (asked for earlier, it may show a later screen).
    gone_by_s = launch.sample_returned_s.get(gone.t_s, gone.t_s)
    if gone_by_s - tap_t > within_s:
        return ("inconclusive", f"点击后首个可判定帧晚到 {gone_by_s - tap_t:.1f} s",
                f"frames came too slowly: the first screenshot after the tap without the ad came back "
                f"{gone_by_s - tap_t:.1f} s after it, so whether it went within {within_s:g} s is unknown")
    ads = launch.ad_frames
    if launch.ad_lasts_s is not None and ads and gone_by_s >= ads[0].t_s + launch.ad_lasts_s - AD_END_MARGIN_S:
        return ("inconclusive", f"广告可能自行结束（观察到的时长 {launch.ad_lasts_s:.1f} s）",
                f"it went {gone.t_s - ads[0].t_s:.1f} s into the ad, which ended by itself after "
                f"{launch.ad_lasts_s:.1f} s in the observe launch: the tap is not proven to have closed it")
    before = launch.action["before"]
    countdown, read_at_s = before.get("countdown"), before.get("countdown_t_s", before["t_s"])
    if countdown is not None and gone_by_s - read_at_s >= countdown - 1:
        return ("inconclusive", f"广告倒计时 {countdown} 可能已自行结束",
                f"the ad's own countdown ({countdown}) may have ended it by itself")
    if not any(_front_known(f) for f in after if f.t_s >= gone.t_s):
        return ("inconclusive", "广告消失后设备未报告前台应用，无法排除跳转",
                "the ad went, but no frame after it says which app was in front (the device named none): "
                "a jump cannot be ruled out")
    return _repop_outcome(launch, after, gone, settings)


def _front_known(frame: Frame) -> bool:
    """The device said who was in front when ``frame`` was taken (a null package says nothing)."""
    return frame.foreground is None or frame.foreground.known


def _repop_outcome(launch: Launch, after: list[Frame], gone: Frame, settings: ProbeSettings) -> tuple[str, str, str]:
    """The rest of a close tap's outcome once the ad went: did it come back within the watch?"""
    tap_t = launch.tap_t_s
    seen = _what_was_seen(launch, after)
    watch_end = gone.t_s + settings.repop_watch_s
    window = [(t, ad) for t, ad in seen if gone.t_s < t <= watch_end]
    repop = next((t for t, ad in window if ad), None)
    if repop is not None:
        return ("violation", f"关闭 {repop - gone.t_s:.1f} s 后广告再次弹出",
                f"the ad came back {repop - gone.t_s:.1f} s after closing")
    beyond = [t for t, _ in seen if t > watch_end][:1]      # the watch is covered up to its end
    times = [gone.t_s] + [t for t, _ in window] + beyond
    gap = max((b - a for a, b in zip(times, times[1:])), default=0.0)
    last = max((t for t, _ in seen), default=gone.t_s)
    if last < watch_end or gap > MAX_WATCH_GAP_S or any(ad is None for _, ad in window):
        why = (f"frames stopped {last - gone.t_s:.1f} s after it" if last < watch_end else
               f"{gap:.1f} s passed between two frames" if gap > MAX_WATCH_GAP_S else
               "a frame in that time showed something not analysed")
        return ("inconclusive", "关闭后观察不足，无法确认未再弹出",
                f"closed {gone.t_s - tap_t:.1f} s after the tap, but the {settings.repop_watch_s:g} s re-pop "
                f"watch is not covered: {why}")
    return ("pass", f"点击一次后 {gone.t_s - tap_t:.1f} s 内关闭，未跳转、未再弹出",
            f"one tap closed it in {gone.t_s - tap_t:.1f} s, no jump, no re-pop")


def _what_was_seen(launch: Launch, after: list[Frame]) -> list[tuple[float, bool | None]]:
    """(t_s, shows an ad?) for every frame taken after the tap, analysed or only sampled: a sampled
    one counts as ad or not when it shows the same screen as an analysed frame (None when unknown)."""
    seen = [(f.t_s, f.is_ad) for f in after]
    ads = [f.thumb for f in launch.frames if f.is_ad and f.thumb is not None]
    others = [f.thumb for f in after if not f.is_ad and f.thumb is not None]
    analysed = {f.t_s for f in after}
    for t_s, thumb in launch.samples:
        if t_s > launch.tap_t_s and t_s not in analysed:
            ad = True if any(framediff.same_screen(thumb, a) for a in ads) else \
                False if any(framediff.same_screen(thumb, o) for o in others) else None
            seen.append((t_s, ad))
    return sorted(seen, key=lambda x: x[0])


def close_effective(launch: Launch, rules: RuleProfile, settings: ProbeSettings) -> Finding:
    evidence = dict(launch=launch.index, action=launch.action, outcome=launch.outcome,
                    frames=[f.file for f in launch.frames if f.file])
    if launch.error:
        return finding(rules, "CLOSE_EFFECTIVE", "inconclusive", f"设备出错：{launch.error}",
                       f"device error: {launch.error}", **evidence)
    if launch.action is None:
        return finding(rules, "CLOSE_EFFECTIVE", "inconclusive", f"未能点击关闭控件：{launch.outcome}",
                       f"could not tap a close control: {launch.outcome}", **evidence)
    if reason := tap_unproven(launch, settings):
        return finding(rules, "CLOSE_EFFECTIVE", "inconclusive", f"无法证明点中了广告：{reason}",
                       f"the tap is not proven to have landed on the ad: {reason}", **evidence)
    verdict, zh, en = close_outcome(launch, settings)
    label = {"pass": ("关闭有效", "close works"), "violation": ("关闭无效", "close did not work"),
             "inconclusive": ("无法判定", "cannot tell")}[verdict]
    return finding(rules, "CLOSE_EFFECTIVE", verdict, f"{label[0]}：{zh}", f"{label[1]}: {en}", **evidence)


def body_outcome(launch: Launch, settings: ProbeSettings) -> tuple[bool | None, str]:
    """(jumped, why) for one body tap; jumped is None when the frames cannot tell."""
    if launch.error:
        return None, f"device error: {launch.error}"
    if launch.action is None:
        return None, launch.outcome or "no tap"
    if reason := tap_unproven(launch, settings):
        return None, reason
    tap_t, after = launch.tap_t_s, launch.frames_after_tap()
    jump = next((f for f in after if f.jump), None)
    if jump is not None:
        return True, f"jump {jump.t_s - tap_t:.1f} s after the tap: {jump.jump.detail}"
    if not after:
        return None, "no frame after the tap"
    if not _still_shown(launch, after, _frame_before_tap(launch)):
        return None, (f"the ad was gone in the first frame after the tap ({after[0].t_s:.2f} s): it may "
                      "have ended by itself, so the tap is not proven to have hit it")
    if after[-1].t_s - tap_t < settings.jump_watch_s:
        return None, f"frames stopped {after[-1].t_s - tap_t:.1f} s after the tap (watch {settings.jump_watch_s:g} s)"
    last_known_s = max((f.t_s for f in after if _front_known(f)), default=tap_t)
    if last_known_s - tap_t < settings.jump_watch_s:
        return None, (f"who was in front is known only {last_known_s - tap_t:.1f} s into the "
                      f"{settings.jump_watch_s:g} s watch after the tap (the device named no app after that)")
    return False, f"no jump in {after[-1].t_s - tap_t:.1f} s after the tap, the ad still shown after it"


def _still_shown(launch: Launch, after: list[Frame], before: Frame | None) -> bool:
    """Whether the ad was still shown after the action: the first frame after it shows the ad, or a
    frame sampled up to then shows the same screen as the frame before it."""
    return after[0].is_ad or timeline.is_candidate(after[0]) or after[0].analysis.shake is not None or (
        before is not None and any(launch.tap_t_s < t_s <= after[0].t_s and framediff.same_screen(thumb, before.thumb)
                                   for t_s, thumb in launch.samples))


def fullscreen_jump(body_launches: list[Launch], rules: RuleProfile, settings: ProbeSettings) -> Finding:
    outcomes = [(l, *body_outcome(l, settings)) for l in body_launches]
    decided = [(l, jumped) for l, jumped, _ in outcomes if jumped is not None]
    jumped = [l for l, j in decided if j]
    evidence = dict(points=[l.action for l, _ in decided], jumped=[l.outcome for l in jumped],
                    probed=len(decided), undecided=[f"launch {l.index}: {why}" for l, j, why in outcomes if j is None],
                    hot_zone_fraction=round(len(jumped) / len(decided), 2) if decided else None)
    if not decided:
        reasons = "; ".join(sorted({why for _, _, why in outcomes})) or "no body tap"
        return finding(rules, "FULLSCREEN_JUMP", "inconclusive", f"未能证明点中了广告主体：{reasons}",
                       f"no body tap proven on the ad: {reasons}", **evidence)
    fraction = len(jumped) / len(decided)
    if fraction > rules["FULLSCREEN_JUMP"]["max_jump_fraction"]:
        return finding(rules, "FULLSCREEN_JUMP", "violation",
                       f"点击广告主体 {len(jumped)}/{len(decided)} 处发生跳转",
                       f"{len(jumped)} of {len(decided)} body taps jumped away", **evidence)
    return finding(rules, "FULLSCREEN_JUMP", "pass", f"点击广告主体 {len(decided)} 处均未跳转",
                   f"none of {len(decided)} body taps jumped (each with the ad shown before and after)",
                   **evidence)


def _permission_findings(launches: list[Launch]) -> list[Finding]:
    seen, found = set(), []
    for launch in launches:
        for frame in launch.frames:
            for f in frame.analysis.findings:
                kind = frame.analysis.permission.kind if frame.analysis.permission else None
                if f.rule == "PERMISSION_PURPOSE" and kind not in seen:
                    seen.add(kind)
                    found.append(_with_frame(f, frame))
    return found


def promote_jumping_splash(launches: list[Launch], rules: RuleProfile, settings: ProbeSettings) -> bool:
    """A cue-less splash whose body jumped when tapped (with proof) is an ad: mark its frames so."""
    proven = [l for l in launches if l.kind == "body_tap" and l.action and l.action["target"] == "splash body"
              and body_outcome(l, settings)[0] is True]
    if not proven:
        return False
    for launch in launches:
        for frame in launch.frames:
            if timeline.is_candidate(frame):
                timeline.mark_ad(frame, timeline.JUMPED_WHEN_TAPPED, rules)
    return True


def _cueless_splash_note(launches: list[Launch], settings: ProbeSettings) -> str:
    """What the launches learned of a splash with no ad cue, if one was shown."""
    if not any(timeline.is_candidate(f) for l in launches for f in l.frames):
        return ""
    taps = [l for l in launches if l.action and l.action["target"] == "splash body"]
    if any(body_outcome(l, settings)[0] is False for l in taps):
        return " (a splash with no ad cue was shown; tapping it did not leave the app: not taken for an ad)"
    return " (a splash with no ad cue was shown, but no tap on it was proven: whether it is an ad is unknown)"


@dataclass(frozen=True)
class MotionSetup:
    """What the check knew of shaking the device: how motion reaches the app (None: it cannot be
    shaken, ``cannot`` says why) and whether the plan asked for the shake probe."""

    input: str | None = None
    cannot: str = CANNOT_SHAKE
    requested: bool = False


def shake_outcome(launch: Launch, settings: ProbeSettings) -> tuple[bool | None, str]:
    """(jumped, why) for one shake launch; jumped is None when the frames or the readings cannot tell."""
    if launch.error:
        return None, f"device error: {launch.error}"
    if launch.action is None:
        return None, launch.outcome or "no motion played"
    if reason := tap_unproven(launch, settings):
        return None, reason
    played, end_t, after = launch.action["played"], launch.tap_t_s, launch.frames_after_tap()
    jump = next((f for f in after if f.jump), None)
    if played.get("stopped"):
        return True, played["stopped"]
    if jump is not None:
        return True, f"jump {jump.t_s - end_t:.1f} s after the motion: {jump.jump.detail}"
    if not after:
        return None, "no frame after the motion"
    if not _still_shown(launch, after, next((f for f in launch.frames if f.keep == "before motion"), None)):
        return None, (f"the ad was gone in the first frame after the motion ({after[0].t_s:.2f} s): it may have "
                      "ended by itself, so it is not proven to have been shown through the motion")
    if after[-1].t_s - end_t < settings.jump_watch_s:
        return None, f"frames stopped {after[-1].t_s - end_t:.1f} s after the motion (watch {settings.jump_watch_s:g} s)"
    # "No jump" counts only if the page was sent the motion described (a busy machine sends fewer readings).
    short = short_of_profile(Played(**played))
    if short:
        return None, (f"the motion went out as {played['readings']} readings ({played['rate_hz']:.0f}/s): "
                      f"{'; '.join(short)}: too coarse to say the ad ignores it")
    return False, f"no jump in {after[-1].t_s - end_t:.1f} s after the motion, the ad still shown after it"


def _profile_evidence(launch: Launch, settings: ProbeSettings) -> dict:
    jumped, why = shake_outcome(launch, settings)
    action, after = launch.action or {}, launch.frames_after_tap()
    profile = PROFILE_BY_NAME.get(launch.profile)
    return {"launch": launch.index, "profile": launch.profile, "description": profile and profile.description,
            "gentle": bool(profile and profile.gentle), "played": action.get("played"),
            "below_floor": action.get("below_floor"), "jumped": jumped, "why": why,
            "before_frame": next((f.file for f in launch.frames if f.keep == "before motion"), None),
            "after_frame": next((f.file for f in after if f.file), None),
            "jump_frame": next((f.file for f in after if f.jump and f.file), None)}


def _shake_cue(launches: list[Launch]) -> tuple[ShakeCue, Frame] | None:
    """The shake cue the launches' ad frames showed (one that states its result, if any does); an app's
    own "摇一摇" feature on an ordinary screen is no shake ad."""
    seen = [(f.analysis.shake, f) for l in launches for f in l.frames if f.analysis.shake is not None and f.is_ad]
    return max(seen, key=lambda cue_frame: cue_frame[0].result_stated, default=None)


def _motion_part(profiles: list[dict], motion: MotionSetup, shaken: bool) -> tuple[str, str, str]:
    """(verdict, zh, en) of SHAKE_JUMP's motion question when no gentle motion was proven to jump."""
    if motion.input is None:
        return "inconclusive", "设备无法由工具输入晃动", motion.cannot
    if not shaken:
        return "inconclusive", "未进行摇动检测", "not shaken: the shake probe did not run"
    gentle = [p.name for p in PROFILES if p.gentle]
    quiet = {p["profile"] for p in profiles if p["jumped"] is False}
    if not set(gentle) <= quiet:
        why = "; ".join(f"{p['profile']}: {p['why']}" for p in profiles
                        if p["profile"] in gentle and p["profile"] not in quiet and p["jumped"] is None)
        return "inconclusive", f"轻微晃动未能全部判定：{why}", f"not every gentle motion was decided: {why or 'not played'}"
    full = next((p for p in profiles if not p["gentle"]), None)
    then = ("; the full T/TAF shake jumped, as allowed" if full and full["jumped"] else
            "; the full T/TAF shake did not jump either" if full and full["jumped"] is False else "")
    return "pass", f"{'、'.join(gentle)} 轻微晃动均未跳转", f"none of the gentle motions ({', '.join(gentle)}) jumped{then}"


def shake_jump(launches: list[Launch], rules: RuleProfile, settings: ProbeSettings,
               motion: MotionSetup) -> Finding | None:
    """SHAKE_JUMP from the shake launches and the shake cue seen; None when neither speaks to it."""
    shakes, cue = [l for l in launches if l.kind == "shake"], _shake_cue(launches)
    if not shakes and cue is None and not motion.requested:
        return None
    spec = rules["SHAKE_JUMP"]
    profiles = [_profile_evidence(l, settings) for l in shakes]
    evidence = dict(profiles=profiles, motion_input=motion.input, thresholds={k: spec[k] for k in (
        "min_acceleration_ms2", "min_rotation_deg", "min_duration_s")}, cue=None if cue is None else {
        "text": cue[0].text, "bbox": cue[0].box.to_list(), "result_text": cue[0].result_text,
        "frame": cue[1].file, "t_s": cue[1].t_s})
    under = [p for p in profiles if p["jumped"] and p["below_floor"]]
    if under:
        p = under[0]
        return finding(rules, "SHAKE_JUMP", "violation", f"低于阈值的晃动（{p['profile']}）即跳转：{p['why']}",
                       f"jumped on a motion below the T/TAF floor ({p['profile']}: {'; '.join(p['below_floor'])}): "
                       f"{p['why']}", **evidence)
    verdict, zh, en = _motion_part(profiles, motion, bool(shakes))
    if cue is not None and not cue[0].result_stated:
        return finding(rules, "SHAKE_JUMP", "warning", f"摇一摇提示“{cue[0].text}”未说明摇动后的结果；{zh}",
                       f"shake cue '{cue[0].text}' does not say what shaking does; {en}", **evidence)
    return finding(rules, "SHAKE_JUMP", verdict, zh, en, **evidence)


def judge_launches(launches: list[Launch], rules: RuleProfile,
                   settings: ProbeSettings | None = None, motion: MotionSetup | None = None,
                   choose_key=key_frame) -> list[Finding]:
    """One finding per rule that the probes could speak to. ``choose_key(launches)`` picks the frame
    the per-frame rules are judged on (a recording picks the control's best frame of many)."""
    settings = settings or ProbeSettings()
    observe = next((l for l in launches if l.kind == "observe"), None)
    if key_frame(launches) is None:
        promote_jumping_splash(launches, rules, settings)
    frame = choose_key(launches)
    findings: list[Finding] = []
    if frame is None:
        why = _cueless_splash_note(launches, settings)
        reason = f"no splash ad or pop-up appeared in {len(launches)} launches{why}"
        findings += [finding(rules, rule, "inconclusive", f"{len(launches)} 次启动均未出现开屏广告或弹窗",
                             reason, launches=len(launches)) for rule in AD_RULES]
    else:
        if observe is not None and observe.ad_frames:
            findings.append(close_present(observe, rules))
        else:
            findings += [_with_frame(f, frame) for f in frame.analysis.findings
                         if f.rule == "CLOSE_PRESENT"]
        findings += [_with_frame(f, frame) for f in frame.analysis.findings if f.rule in FRAME_RULES]
        close = next((l for l in launches if l.kind == "close"), None)
        if close is not None:
            findings.append(close_effective(close, rules, settings))
        body = [l for l in launches if l.kind == "body_tap"]
        if body:
            findings.append(fullscreen_jump(body, rules, settings))
    shake = shake_jump(launches, rules, settings, motion or MotionSetup())
    return findings + _permission_findings(launches) + ([shake] if shake else [])


#: The probe each rule needs a finished launch of; the other ad rules are judged on any ad frame.
PROBE_OF = {"CLOSE_PRESENT": "observe", "CLOSE_EFFECTIVE": "close", "FULLSCREEN_JUMP": "body_tap"}


def _not_probed(rules: RuleProfile, rule: str, reason: str) -> Finding:
    return finding(rules, rule, "inconclusive", f"未完成检测：{reason}", f"not probed: {reason}",
                   not_probed=reason)


def unprobed_findings(rules: RuleProfile, reason: str) -> list[Finding]:
    """Every ad rule inconclusive for ``reason`` (no launch ran at all)."""
    return [_not_probed(rules, rule, reason) for rule in AD_RULES]


def mark_unprobed(findings: list[Finding], launches: list[Launch], planned: list[str], rules: RuleProfile,
                  stopped: str | None) -> list[Finding]:
    """``findings`` made honest about what did not run, so that no rule passes (or fails) unprobed.

    A rule whose probe has no launch that finished (device lost, app crashed, never reached) is
    inconclusive with the reason. When the check ``stopped`` before its plan ran out, ad rules it
    never reached are inconclusive too, and so is FULLSCREEN_JUMP's pass on fewer body taps than planned.
    """
    no_ad = key_frame(launches) is None
    replaced: dict[str, Finding] = {}
    for rule, kind in PROBE_OF.items():
        runs = [l for l in launches if l.kind == kind]
        finished = [l for l in runs if not l.error]
        reason = next((l.error if f"launch {l.index} " in l.error else f"launch {l.index} ({kind}): {l.error}"
                       for l in runs if l.error), stopped)
        current = next((f for f in findings if f.rule == rule), None)
        short = bool(stopped) and len(finished) < planned.count(kind) and current is not None \
            and current.verdict == "pass"
        if reason and (not finished or (no_ad and stopped) or short):
            replaced[rule] = _not_probed(rules, rule, reason)
    if stopped and no_ad:
        replaced.update({rule: _not_probed(rules, rule, stopped) for rule in AD_RULES if rule not in PROBE_OF})
    if stopped and "shake" in planned:
        finished = [l for l in launches if l.kind == "shake" and not l.error]
        current = next((f for f in findings if f.rule == "SHAKE_JUMP"), None)
        if current is None or (current.verdict == "pass" and len(finished) < planned.count("shake")):
            replaced["SHAKE_JUMP"] = _not_probed(rules, "SHAKE_JUMP", stopped)
    kept, seen = [], set()
    for f in findings:
        if f.rule not in replaced:
            kept.append(f)
        elif f.rule not in seen:
            kept.append(replaced[f.rule])
            seen.add(f.rule)
    return kept + [f for rule, f in replaced.items() if rule not in seen]
