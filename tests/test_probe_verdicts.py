"""Verdicts from recorded launches: a tap counts only with frames that prove it landed on the ad.

Launches are built by hand here (the frames a slow or a fast crawler would have recorded of a known
app), so every timing can be tried; tests/test_check_e2e.py proves the same on the Chromium phone.
"""

import dataclasses
import itertools

import numpy
import pytest

from crawler.devices.base import Foreground, Jump
from crawler.live import timeline
from crawler.probe_verdicts import (body_outcome, close_effective, fullscreen_jump, judge_launches, key_frame,
                                    settled_frame)
from crawler.probes import Launch, ProbeSettings
from crawler.watch import Frame
from vision.rules import load_rule_profile
from vision.types import Box, CloseControl, Position, ScreenAnalysis, ScreenKind, TextLine

RULES = load_rule_profile()
SETTINGS = ProbeSettings()
APP = Foreground("web", "http://app/", "http://app:80")
LANDING = Foreground("web", "http://landing/", "http://landing:80")
SKIP = CloseControl(Box(900, 100, 150, 80), "text", "跳过", 0.9)


def frame(t_s: float, ad: bool, jump: bool = False) -> Frame:
    kind = "splash_ad" if ad else "normal"
    analysis = ScreenAnalysis((1082, 2402), 2.625, ScreenKind(kind, 0.9),
                              close_controls=[SKIP] if ad else [])
    foreground = LANDING if jump else APP
    return Frame(t_s, b"", analysis, foreground, Jump(True, "other_origin", "landing") if jump else None)


def launch(kind: str, tap_t: float, before: Frame, after: list[Frame], target: str = "close control") -> Launch:
    l = Launch(2, kind, frames=[before, *after])
    l.action = {"type": "tap", "x_px": 1, "y_px": 1, "target": target, "started_s": tap_t - 0.1, "t_s": tap_t,
                "before": {"t_s": before.t_s, "kind": before.kind, "shows_ad": before.is_ad, "countdown": None}}
    return l


def world(ad_until_s: float, tap_t: float, frame_times, jump_at_s: float | None = None) -> list[Frame]:
    """Frames an app would give at ``frame_times``: its ad shown until ``ad_until_s``."""
    return [frame(t, ad=t < ad_until_s and (jump_at_s is None or t < jump_at_s),
                  jump=jump_at_s is not None and t >= jump_at_s) for t in frame_times if t > tap_t]


def frame_times(start_s: float, interval_s: float, until_s: float = 12.0):
    t, times = start_s, []
    while t < until_s:
        times.append(round(t, 3))
        t += interval_s
    return times


# -- a tap after the ad ended can never pass ------------------------------------------------------

def test_body_tap_whose_frame_before_shows_the_home_screen_is_inconclusive():
    l = launch("body_tap", 5.4, frame(5.1, ad=False), [frame(5.6, False), frame(7.2, False)], "ad body")
    f = fullscreen_jump([l], RULES, SETTINGS)
    assert f.verdict == "inconclusive" and "does not show the ad" in f.message


def test_body_tap_with_a_stale_frame_before_it_is_inconclusive():
    l = launch("body_tap", 5.4, frame(3.7, ad=True), [frame(5.6, True), frame(7.2, True)], "ad body")
    assert fullscreen_jump([l], RULES, SETTINGS).verdict == "inconclusive"


def test_body_tap_after_which_the_ad_is_gone_is_not_a_pass():
    # The ad was shown just before the tap but the first frame after it shows home: the ad may have
    # ended by itself before the tap landed, so "no jump" proves nothing about its body.
    l = launch("body_tap", 3.1, frame(2.8, ad=True), [frame(3.3, False), frame(5.0, False)], "ad body")
    jumped, why = body_outcome(l, SETTINGS)
    assert jumped is None and "may have ended by itself" in why
    assert fullscreen_jump([l], RULES, SETTINGS).verdict == "inconclusive"


def test_body_tap_on_the_ad_that_stays_without_a_jump_passes_and_one_that_jumps_violates():
    stayed = launch("body_tap", 1.0, frame(0.8, True), [frame(1.2, True), frame(2.7, True)], "ad body")
    jumped = launch("body_tap", 1.0, frame(0.8, True), [frame(1.3, False, jump=True)], "ad body")
    assert fullscreen_jump([stayed], RULES, SETTINGS).verdict == "pass"
    assert fullscreen_jump([stayed, jumped], RULES, SETTINGS).verdict == "violation"


@pytest.mark.parametrize("interval_s, phase_s, tap_t", list(itertools.product(
    (0.1, 0.3, 0.7, 1.5, 3.0), (0.0, 0.05, 0.2), (2.6, 2.95, 3.2, 4.0))))
def test_body_taps_around_the_end_of_a_3s_ad_whose_body_links_away_never_pass(interval_s, phase_s, tap_t):
    """The ad's body jumps when tapped; it ends by itself at 3 s. A tap that lands after 3 s does
    nothing: whatever the frame timing, the verdict is a violation (tap proven on the ad) or
    inconclusive, never a pass."""
    times = frame_times(phase_s, interval_s)
    before_t = max((t for t in times if t <= tap_t - 0.05), default=None)
    if before_t is None:
        return
    jump_at = tap_t + 0.4 if tap_t < 3.0 else None
    before = frame(before_t, ad=before_t < 3.0)
    l = launch("body_tap", tap_t, before, world(3.0, tap_t, times, jump_at), "ad body")
    assert fullscreen_jump([l], RULES, SETTINGS).verdict != "pass"


# -- a close that works is never a violation ------------------------------------------------------

@pytest.mark.parametrize("interval_s, phase_s, reaction_s", list(itertools.product(
    (0.1, 0.25, 0.5, 1.0, 1.9, 2.1, 3.0, 5.0), (0.0, 0.13, 0.37), (0.05, 0.4, 1.2))))
def test_a_close_that_works_is_never_a_violation_however_slowly_frames_come(interval_s, phase_s, reaction_s):
    tap_t = 4.0
    times = frame_times(tap_t + phase_s, interval_s, until_s=tap_t + 12)
    l = launch("close", tap_t, frame(3.7, ad=True), world(tap_t + reaction_s, tap_t, times))
    f = close_effective(l, RULES, SETTINGS)
    assert f.verdict in ("pass", "inconclusive"), f.message
    if interval_s <= 0.5:
        assert f.verdict == "pass", f.message


@pytest.mark.parametrize("interval_s, phase_s", list(itertools.product((0.1, 0.5, 1.0, 2.5, 4.0), (0.0, 0.3))))
def test_a_dead_close_is_never_a_pass_and_a_violation_only_with_a_frame_2s_after_the_tap(interval_s, phase_s):
    tap_t = 1.5
    times = frame_times(tap_t + phase_s, interval_s, until_s=8.0)
    after = world(8.0, tap_t, times)              # the ad stays until its own timer ends at 8 s
    l = launch("close", tap_t, frame(1.3, ad=True), after)
    f = close_effective(l, RULES, SETTINGS)
    assert f.verdict in ("violation", "inconclusive"), f.message
    proof = [x for x in after if x.t_s - tap_t >= SETTINGS.dismiss_within_s]
    assert (f.verdict == "violation") == bool(proof)


def test_close_tap_whose_frame_before_does_not_show_the_ad_is_inconclusive():
    l = launch("close", 5.3, frame(5.0, ad=False), [frame(5.5, False), frame(9.0, False)])
    f = close_effective(l, RULES, SETTINGS)
    assert f.verdict == "inconclusive" and "not proven" in f.message


def unknown_front(f: Frame) -> Frame:
    """The frame as a phone gives it while the device names no app in front (appium-adb's null
    package during a window transition): who was in front is not known."""
    return dataclasses.replace(f, foreground=Foreground("android", "unknown (no window has focus)", ""), jump=None)


def test_frames_whose_front_is_unknown_prove_no_stay():
    # A body tap on an ad that stays, but the phone named no app in front after the tap: a jump to
    # a store would look the same until a frame says who is in front.
    body = launch("body_tap", 1.0, frame(0.8, True), [unknown_front(frame(t, True)) for t in (1.2, 1.8, 2.7)],
                  "ad body")
    jumped, why = body_outcome(body, SETTINGS)
    assert jumped is None and "who was in front" in why
    # A close after which the ad went, no frame saying who was in front then.
    close = launch("close", 1.0, frame(0.8, True), [unknown_front(frame(t, False)) for t in (1.2, 1.7, 2.3, 3.0, 3.8, 4.5)])
    f = close_effective(close, RULES, SETTINGS)
    assert f.verdict == "inconclusive" and "which app was in front" in f.message
    # The same with the front known: a pass each.
    known = launch("close", 1.0, frame(0.8, True), [frame(t, False) for t in (1.2, 1.7, 2.3, 3.0, 3.8, 4.5)])
    assert close_effective(known, RULES, SETTINGS).verdict == "pass"


def test_close_that_jumps_or_comes_back_is_a_violation():
    jumped = launch("close", 1.0, frame(0.8, True), [frame(1.4, False, jump=True)])
    repop = launch("close", 1.0, frame(0.8, True),
                   [frame(1.2, False), frame(1.7, False), frame(2.3, True), frame(4.5, True)])
    assert close_effective(jumped, RULES, SETTINGS).verdict == "violation"
    assert close_effective(repop, RULES, SETTINGS).verdict == "violation"


def test_close_whose_frames_stop_before_the_repop_watch_is_inconclusive():
    l = launch("close", 1.0, frame(0.8, True), [frame(1.2, False), frame(2.0, False)])
    assert close_effective(l, RULES, SETTINGS).verdict == "inconclusive"


def test_splash_without_cues_whose_body_jumps_is_an_ad_and_one_that_does_not_is_not():
    def splash(t):
        f = frame(t, ad=False)
        f.before_main, f.thumb = True, __import__("numpy").arange(100, dtype="uint8").reshape(10, 10)
        return f

    observe = Launch(1, "observe", frames=[*(splash(t / 2) for t in range(8)), frame(4.0, False)])
    tapped = launch("body_tap", 1.0, splash(0.8), [splash(1.1), frame(1.4, False, jump=True)], "splash body")
    tapped.action["before"]["shows_ad"] = True
    verdicts = {f.rule: f.verdict for f in judge_launches([observe, tapped], RULES, SETTINGS)}
    assert verdicts["CLOSE_PRESENT"] == verdicts["AD_LABEL"] == verdicts["FULLSCREEN_JUMP"] == "violation"

    observe = Launch(1, "observe", frames=[splash(0.0), splash(1.0), frame(4.0, False)])
    stayed = launch("body_tap", 1.0, splash(0.8), [splash(1.1), splash(2.7)], "splash body")
    stayed.action["before"]["shows_ad"] = True
    findings = judge_launches([observe, stayed], RULES, SETTINGS)
    assert all(f.verdict == "inconclusive" for f in findings)
    assert "not taken for an ad" in findings[0].message


def test_a_splash_vision_called_ordinary_keeps_the_close_control_it_found_once_its_launch_proves_it_an_ad():
    # A faint 6 dp ✕ in the status bar of a splash with a 广告 label: the kind model may call the screen
    # ordinary (and then vision reports no controls), but the dismiss model took the ✕ for the way out.
    tiny = CloseControl(Box(1058, 26, 16, 16), "glyph", "✕", 0.5, size_dp=(6.1, 6.1), size_mm=(1.0, 1.0),
                        contrast_ratio=1.31, position=Position({"left": 403.0, "top": 9.9, "right": 3.0,
                                                                  "bottom": 897.0}, True, False))

    def splash(t_s: float) -> Frame:
        analysis = ScreenAnalysis((1082, 2402), 2.625, ScreenKind("normal", 0.36), ways_out=[tiny],
                                  texts=[TextLine(Box(47, 117, 81, 42), "广告", 0.99)])
        f = Frame(t_s, b"", analysis, APP, None)
        f.thumb = numpy.arange(100, dtype="uint8").reshape(10, 10)
        return f

    home = frame(5.0, False)
    home.thumb = numpy.zeros((10, 10), "uint8")
    observe = Launch(1, "observe", frames=[splash(0.0), splash(1.0), splash(2.0), home])
    timeline.place_all(observe.frames, timeline.main_screen(observe.frames), RULES)
    assert all(f.is_ad and f.analysis.close_controls == [tiny] for f in observe.frames[:3])
    verdicts = {f.rule: f.verdict for f in judge_launches([observe], RULES, SETTINGS)}
    assert verdicts["CLOSE_PRESENT"] == "pass"
    assert verdicts["CLOSE_SIZE"] == verdicts["CLOSE_CONTRAST"] == verdicts["CLOSE_POSITION"] == "violation"


def test_the_samples_between_slow_analyses_date_the_dismissal_and_show_the_ad_after_a_body_tap():
    """Analysis took 3 s a frame; the thumbnails sampled every 0.25 s in between still tell."""
    import numpy as np

    ad_thumb = np.random.default_rng(1).integers(0, 255, (300, 135), dtype=np.uint8)
    home_thumb = np.full((300, 135), 200, np.uint8)

    def shot(t, ad):
        f = frame(t, ad)
        f.thumb = ad_thumb if ad else home_thumb
        return f

    samples = [(round(t, 2), ad_thumb if t < 4.3 else home_thumb) for t in np.arange(3.0, 12.0, 0.25)]
    closed = launch("close", 4.0, shot(3.8, True), [shot(7.0, False), shot(10.5, False)])
    closed.samples = samples
    assert close_effective(closed, RULES, SETTINGS).verdict == "pass"
    closed.samples = []                       # without them, 3 s after the tap is too late to know
    assert close_effective(closed, RULES, SETTINGS).verdict == "inconclusive"

    samples = [(round(t, 2), ad_thumb if t < 4.6 else home_thumb) for t in np.arange(3.0, 12.0, 0.25)]
    body = launch("body_tap", 4.0, shot(3.8, True), [shot(7.0, False), shot(9.0, False)], "ad body")
    body.frames[0].keep = "before tap"
    body.samples = samples
    assert body_outcome(body, SETTINGS) == (False, body_outcome(body, SETTINGS)[1])
    body.samples = []
    assert body_outcome(body, SETTINGS)[0] is None


def test_a_close_that_coincides_with_the_ads_own_end_is_not_credited_to_the_tap():
    """The ad ended by itself after 3 s in the observe launch; here it went at 2.6 s, 0.2 s after a
    tap: the tap may have missed and the ad simply ended."""
    late = launch("close", 2.4, frame(2.2, True), [frame(2.6, False), frame(6.0, False)])
    late.frames.insert(0, frame(0.0, True))
    late.ad_lasts_s = 3.0
    assert close_effective(late, RULES, SETTINGS).verdict == "inconclusive"
    early = launch("close", 0.6, frame(0.4, True), [frame(t, False) for t in (0.8, 1.6, 2.4, 3.2, 4.0)])
    early.frames.insert(0, frame(0.0, True))
    early.ad_lasts_s = 3.0
    assert close_effective(early, RULES, SETTINGS).verdict == "pass"


def test_a_repop_between_two_slow_analyses_is_seen_in_the_samples_and_never_passes():
    """Seen in an e2e run on a busy machine: after the close tap the next analysis took 17 s; the ad
    came back and went meanwhile. The samples show it; without them the watch is not covered."""
    import numpy as np

    ad_thumb = np.random.default_rng(1).integers(0, 255, (300, 135), dtype=np.uint8)
    home_thumb = np.full((300, 135), 200, np.uint8)

    def shot(t, ad):
        f = frame(t, ad)
        f.thumb = ad_thumb if ad else home_thumb
        return f

    l = launch("close", 1.49, shot(0.9, True), [shot(1.6, False), shot(19.2, False)])
    l.samples = [(round(t, 2), ad_thumb if 2.5 <= t < 7.5 else home_thumb) for t in np.arange(1.6, 19.2, 0.4)]
    f = close_effective(l, RULES, SETTINGS)
    assert f.verdict == "violation" and "came back" in f.message
    l.samples = []
    assert close_effective(l, RULES, SETTINGS).verdict == "inconclusive"


def test_no_close_is_a_violation_only_when_frames_were_analysed_until_the_ad_ended():
    """A close that comes late shows in the last frames of the ad: if none near the end was analysed
    (a busy machine), 'no close control appeared' is not proven."""
    def bare(t):
        f = frame(t, ad=True)
        f.analysis.close_controls = []
        return f

    watched = Launch(1, "observe", frames=[bare(t / 2) for t in range(10)] + [frame(5.2, False)])
    assert {f.rule: f.verdict for f in judge_launches([watched], RULES, SETTINGS)}["CLOSE_PRESENT"] == "violation"
    past_limit = Launch(1, "observe", frames=[bare(0.0), bare(3.8), frame(5.0, False)])   # none by 3.8 s
    assert {f.rule: f.verdict for f in judge_launches([past_limit], RULES, SETTINGS)}["CLOSE_PRESENT"] == "violation"
    sparse = Launch(1, "observe", frames=[bare(0.0), frame(7.5, False)])
    assert {f.rule: f.verdict for f in judge_launches([sparse], RULES, SETTINGS)}["CLOSE_PRESENT"] == "inconclusive"


def test_a_repop_that_hid_the_dismissal_from_the_analysis_is_seen_in_the_samples():
    """Seen on a busy machine: the app's home showed for 1 s between the tap and the ad coming back,
    and no analysis fell in that second; the first analysed home frame came after the ad's own end."""
    import numpy as np

    ad_thumb = np.random.default_rng(1).integers(0, 255, (300, 135), dtype=np.uint8)
    home_thumb = np.full((300, 135), 200, np.uint8)

    def shot(t, ad):
        f = frame(t, ad)
        f.thumb = ad_thumb if ad else home_thumb
        return f

    l = launch("close", 1.0, shot(0.8, True), [shot(1.1, True), shot(2.5, True), shot(7.2, False), shot(9.0, False)])
    l.samples = [(round(t, 2), home_thumb if 1.2 <= t < 2.2 or t >= 7.0 else ad_thumb)
                 for t in np.arange(1.1, 10.0, 0.3)]
    f = close_effective(l, RULES, SETTINGS)
    assert f.verdict == "violation" and "came back" in f.message, f.message


# -- a close control is dated by when its screenshots were asked for and came back -----------------

def _late_close_launch(close_at_s: float, ask_every_s: float, latency_s: float) -> Launch:
    """The observe launch of an ad (from t=0) whose close shows at ``close_at_s``, sampled every
    ``ask_every_s`` by screenshots that each take ``latency_s`` and capture the screen as it comes back."""
    frames, samples, returned = [], [], {}
    for t in frame_times(0.0, ask_every_s, 8.0):
        shot = frame(t, ad=True)
        if t + latency_s < close_at_s:      # captured before the close came
            shot = Frame(t, b"", ScreenAnalysis((1082, 2402), 2.625, ScreenKind("splash_ad", 0.9)), APP, None)
        shot.returned_s = round(t + latency_s, 3)
        frames.append(shot)
        samples.append((t, None))
        returned[t] = shot.returned_s
    frames.append(Frame(8.5, b"", ScreenAnalysis((1082, 2402), 2.625, ScreenKind("normal", 0.9)), APP, None))
    return Launch(1, "observe", frames=frames, samples=samples, sample_returned_s=returned)


@pytest.mark.parametrize("close_at_s, ask_every_s, latency_s, verdict", [
    (4.0, 0.2, 0.1, "violation"),       # an idle machine: dated to a fifth of a second
    (1.0, 0.2, 0.1, "pass"),
    # A busy machine: a screenshot asked for at 2.0 s comes back at 4.0 s showing the close. Dated by
    # when it was asked for, a close shown at 3.9 s would pass; it can only be said it came between.
    (3.9, 2.0, 2.0, "inconclusive"),
    (2.5, 1.6, 1.6, "inconclusive"),
    (1.0, 1.0, 0.5, "pass"),
])
def test_a_close_is_dated_between_a_screenshot_asked_for_and_its_return(close_at_s, ask_every_s, latency_s, verdict):
    observe = _late_close_launch(close_at_s, ask_every_s, latency_s)
    found = next(f for f in judge_launches([observe], RULES, SETTINGS) if f.rule == "CLOSE_PRESENT")
    assert found.verdict == verdict, found.message
    assert found.evidence["delay_least_s"] <= close_at_s <= found.evidence["delay_most_s"] + latency_s


def test_a_dismissal_seen_only_in_a_screenshot_that_came_back_late_is_not_a_pass():
    # Asked for 0.5 s after the tap, the first screenshot without the ad came back 3.5 s after it: the
    # ad may have gone at any moment up to then, past the 2 s the close has.
    after = [1.5, 2.5, 3.5, 4.5, 5.0]
    quick = launch("close", 1.0, frame(0.8, True), [frame(t, False) for t in after])
    quick.sample_returned_s = {t: t + 0.1 for t in after}
    assert close_effective(quick, RULES, SETTINGS).verdict == "pass"
    slow = launch("close", 1.0, frame(0.8, True), [frame(t, False) for t in after])
    slow.sample_returned_s = {**quick.sample_returned_s, 1.5: 4.5}
    found = close_effective(slow, RULES, SETTINGS)
    assert found.verdict == "inconclusive" and "came back 3.5 s after" in found.message


def _shown(t_s: float, control: CloseControl) -> Frame:
    analysis = ScreenAnalysis((1082, 2402), 2.625, ScreenKind("splash_ad", 0.9), close_controls=[control])
    return Frame(t_s, b"", analysis, APP, None)


def test_the_rules_are_judged_on_a_close_control_as_it_ends_up_not_on_a_frame_of_its_animation():
    # a pill fading in: its first frame measured faint, and its shape larger than it is (seen 0.2 s)
    half_drawn = dataclasses.replace(SKIP, box=Box(760, 96, 290, 218), contrast_ratio=1.4)
    fading = [half_drawn, *(dataclasses.replace(SKIP, contrast_ratio=r) for r in (3.5, 8.4, 8.4, 8.4))]
    frames = [_shown(t, c) for t, c in zip((3.9, 4.1, 4.6, 5.6, 6.6), fading)]
    assert key_frame([Launch(1, "observe", frames=frames)]) is frames[2]      # faded in, the first of equals
    # a ✕ growing from nothing: judged grown, though as clear before
    growing = [dataclasses.replace(SKIP, box=Box(900, 100, w, 80), contrast_ratio=7.0) for w in (40, 90, 150, 150)]
    frames = [_shown(t, c) for t, c in zip((4.0, 4.1, 4.2, 6.0), growing)]
    assert key_frame([Launch(1, "observe", frames=frames)]) is frames[2]
    # a 跳过 pill and a ✕ shown all along: the larger one
    small_x = CloseControl(Box(1000, 300, 40, 40), "glyph", "✕", 0.9, contrast_ratio=9.0)
    both = [_shown(t, SKIP) for t in (1.0, 2.0, 3.0)]
    for f in both:
        f.analysis.close_controls.append(small_x)
    assert key_frame([Launch(1, "observe", frames=both)]) is both[0]
    # a recording chooses among the frames whose image it kept, as the check would have
    frames = [_shown(t, c) for t, c in zip((3.9, 4.1, 4.6, 5.6, 6.6), fading)]
    assert settled_frame([frames], usable=lambda f: f is not frames[2]) is frames[3]
