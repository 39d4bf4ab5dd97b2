"""A splash is what stands between a cold launch and the app's own main screen.

One screenshot cannot always tell an ad: a photo with nothing but a small 广告 label, or with no cue at
all, reads as an ordinary screen. The launch's timeline can: the app's main screen is learned from the
observe launch (the last ordinary screen it settled on), and what a launch shows before it is a splash.
A splash with an ad cue (广告/AD label, countdown, jump button, close or skip control) is a splash ad;
a splash with no cue is only a *candidate*: a brand splash (logo only) is not an ad, but one whose body
opens another page or app when tapped is, and the jump is the proof.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from crawler.live import framediff
from crawler.watch import Frame
from vision.rules import RuleProfile
from vision import measure
from vision.types import AdLabel, Display, ScreenKind
from vision.verdicts import judge_screen

#: A thumbnail this flat (grey standard deviation) is a blank or loading screen, not a splash.
BLANK_MAX_STD = 4.0
CUE_BEFORE_MAIN = "ad cue shown before the app's main screen"
JUMPED_WHEN_TAPPED = "shown before the app's main screen, and its body opened another page when tapped"


def _measured(label: AdLabel, frame: Frame) -> AdLabel:
    """An ad label found in the text, with its height (dp) and contrast as vision measures them."""
    width, height = frame.analysis.size_px
    size = measure.size_dp(label.box, Display(width, height, frame.analysis.density))
    image = cv2.imdecode(np.frombuffer(frame.image, np.uint8), cv2.IMREAD_COLOR) if frame.image else None
    contrast = measure.crop_contrast_ratio(image, label.box, margin_px=2) if image is not None else None
    return AdLabel(label.box, label.text, size[1] if size else None, contrast)


PROVEN_AD_CONFIDENCE = 0.95


def mark_ad(frame: Frame, reason: str, rules: RuleProfile) -> None:
    """Make an ordinary-looking frame a splash ad for ``reason`` and judge it as one (vision's rules)."""
    if frame.is_ad or frame.kind == "permission":
        return
    # The launch proved it (an ad cue before the app's main screen, or a tap that left the app): as
    # sure as vision's surest calls, so a proven ad with no way out is accused (vision.verdicts).
    screen = ScreenKind("splash_ad", PROVEN_AD_CONFIDENCE, [*frame.analysis.screen.reasons, reason])
    analysis = replace(frame.analysis, screen=screen)
    # Vision fills ad parts only on screens it calls ads: its ways out, and the cues in the text.
    analysis.close_controls = [replace(c) for c in analysis.ways_out]
    cues = frame.text_cues
    analysis.countdown = analysis.countdown or cues.countdown
    analysis.jump_buttons = analysis.jump_buttons or cues.jump_buttons
    if analysis.ad_label is None and cues.ad_label is not None:
        analysis.ad_label = _measured(cues.ad_label, frame)
    analysis.findings = judge_screen(analysis, rules) + [
        f for f in frame.analysis.findings if f.rule == "PERMISSION_PURPOSE"]
    frame.analysis, frame.timeline_ad = analysis, reason


def is_candidate(frame: Frame) -> bool:
    """A splash with no ad cue shown before the main screen: an ad only if tapping it jumps."""
    return (frame.before_main is True and not frame.is_ad and frame.kind == "normal"
            and not frame.has_ad_cue and frame.thumb is not None and float(frame.thumb.std()) > BLANK_MAX_STD)


def main_screen(frames: list[Frame]):
    """The thumbnail of the app's main screen: the last ordinary frame with no ad cue (None if none)."""
    for frame in reversed(frames):
        if frame.kind == "normal" and not frame.is_ad and not frame.has_ad_cue and not frame.jump:
            return frame.thumb
    return None


class SplashTracker:
    """Places each frame of one launch before or after the app's main screen, given its thumbnail."""

    def __init__(self, main_thumb, rules: RuleProfile):
        self.main_thumb, self.rules = main_thumb, rules
        self.main_seen = main_thumb is None

    def place(self, frame: Frame) -> Frame:
        if self.main_thumb is None:
            return frame
        if not self.main_seen and framediff.same_screen(frame.thumb, self.main_thumb):
            self.main_seen = True
        # A page another app or origin shows after a jump (an ad's landing page) is no splash of the app.
        frame.before_main = not self.main_seen and not frame.jump
        if frame.before_main and frame.has_ad_cue:
            mark_ad(frame, CUE_BEFORE_MAIN, self.rules)
        return frame


def place_all(frames: list[Frame], main_thumb, rules: RuleProfile) -> None:
    """Place a finished launch's frames, in order (the observe launch, once its main screen is known)."""
    tracker = SplashTracker(main_thumb, rules)
    for frame in frames:
        tracker.place(frame)
