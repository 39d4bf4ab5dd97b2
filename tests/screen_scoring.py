"""Scoring the analyzer against the labelled screens in fixtures/screens (truth files beside PNGs)."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from vision.types import Box, ScreenAnalysis

SCREENS_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "screens"


def load_truths(directory: Path = SCREENS_DIR) -> list[dict]:
    truths = []
    for path in sorted(directory.glob("*.json")):
        truth = json.loads(path.read_text("utf-8"))
        truth["path"] = directory / truth["image"]
        truths.append(truth)
    return truths


def app_group(name: str) -> str:
    """Which app a real screenshot comes from: AidUI's names say it ("music_14--Voice-Recorder-4-55_39ce"),
    or number an app's screens close together ("10311")."""
    stem = Path(name).stem
    if "--" in stem:
        return stem.split("--", 1)[0]
    return str(int(stem.split("_")[0]) // 20) if stem.split("_")[0].isdigit() else stem


def real_fold(name: str) -> str:
    """"A" or "B" for a real screenshot, by app, so that near-identical screens of one app never sit
    in both folds."""
    return "AB"[zlib.crc32(app_group(name).encode()) % 2]


def boxes_match(found: Box, truth: Box) -> bool:
    """The same thing: centres inside each other's box (with a little slack) or overlapping well."""
    slack = max(8, round(0.3 * min(truth.w, truth.h)))
    return (truth.expand(slack).contains(*found.center) or found.expand(slack).contains(*truth.center)
            or found.iou(truth) >= 0.3)


def match_count(found: list[Box], truth: list[Box]) -> int:
    """Greedy one-to-one matches between found and true boxes."""
    used, matched = set(), 0
    for f in found:
        for i, t in enumerate(truth):
            if i not in used and boxes_match(f, t):
                used.add(i)
                matched += 1
                break
    return matched


@dataclass
class Score:
    screens: int = 0
    close_found: int = 0
    close_true: int = 0
    close_matched: int = 0
    kind_right: int = 0
    #: Screens whose truth is an ad or pop-up (either kind) and were called one of the two.
    overlay_screens: int = 0
    overlay_right: int = 0
    #: Ordinary screens called ordinary (and so given no close control).
    normal_screens: int = 0
    normal_clean: int = 0
    permission_screens: int = 0
    prompts_right: int = 0           # permission screens whose prompt and purpose overlay were right
    label_right: int = 0
    permission_right: int = 0
    misses: list[str] = field(default_factory=list)
    #: The confidence the analyzer gave each control it reported (ambiguous ones left out).
    confidences: list[float] = field(default_factory=list)
    #: Screens labelled with a shake cue (摇一摇), those whose cue was found in its place with its
    #: result stated or not as labelled, and the screens without one on which a cue was found.
    shake_screens: int = 0
    shake_right: int = 0
    shake_false: list[str] = field(default_factory=list)
    #: Ordinary screens given a CLOSE_PRESENT violation: an app accused of a pop-up it never showed.
    accused_ordinary: list[str] = field(default_factory=list)

    @property
    def close_precision(self) -> float:
        return self.close_matched / self.close_found if self.close_found else 1.0

    @property
    def close_recall(self) -> float:
        return self.close_matched / self.close_true if self.close_true else 1.0

    def share(self, right: int) -> float:
        return right / self.screens if self.screens else 0.0

    def add(self, truth: dict, analysis: ScreenAnalysis) -> None:
        name = truth["image"]
        self.screens += 1
        # Controls on which careful labellers differ ("OK" closing an information dialog) count
        # neither way: finding one is no error, missing one no miss.
        doubtful = [Box(*c["bbox"]) for c in truth.get("ambiguous_controls", [])]
        kept = [c for c in analysis.close_controls if not any(boxes_match(c.box, d) for d in doubtful)]
        found = [c.box for c in kept]
        self.confidences += [c.confidence for c in kept]
        expected = [Box(*c["bbox"]) for c in truth["close_controls"]]
        matched = match_count(found, expected)
        self.close_found += len(found)
        self.close_true += len(expected)
        self.close_matched += matched
        if matched < len(found) or matched < len(expected):
            self.misses.append(f"{name}: close found {len(found)} true {len(expected)} matched {matched}"
                               f" ({[c.text for c in analysis.close_controls]})")
        overlays = ("splash_ad", "popup")
        if truth["screen_kind"] in overlays:
            self.overlay_screens += 1
            self.overlay_right += analysis.screen.kind in overlays
        elif truth["screen_kind"] == "normal":
            self.normal_screens += 1
            self.normal_clean += analysis.screen.kind == "normal"
            if any(f.rule == "CLOSE_PRESENT" and f.verdict == "violation" for f in analysis.findings):
                self.accused_ordinary.append(name)
        else:
            self.permission_screens += 1
        if analysis.screen.kind == truth["screen_kind"]:
            self.kind_right += 1
        else:
            self.misses.append(f"{name}: kind {analysis.screen.kind} != {truth['screen_kind']}"
                               f" {analysis.screen.reasons}")
        self._label(truth, analysis)
        self._permission(truth, analysis)
        self._shake(truth, analysis)

    def _label(self, truth: dict, analysis: ScreenAnalysis) -> None:
        want, got = truth["ad_label"], analysis.ad_label
        right = (want is None and got is None) or (
            want is not None and got is not None and boxes_match(got.box, Box(*want["bbox"])))
        self.label_right += right
        if not right:
            self.misses.append(f"{truth['image']}: ad label {got and got.text!r} != {want and want['text']!r}")

    def _permission(self, truth: dict, analysis: ScreenAnalysis) -> None:
        want, got = truth["permission"], analysis.permission
        right = (want is None and got is None) or (
            want is not None and got is not None and got.kind == want["kind"]
            and (got.purpose_overlay is not None) == want["purpose_overlay"])
        self.permission_right += right
        self.prompts_right += right and want is not None
        if not right:
            self.misses.append(f"{truth['image']}: permission {got and (got.kind, got.purpose_overlay is not None)}"
                               f" != {want and (want['kind'], want['purpose_overlay'])}")

    def _shake(self, truth: dict, analysis: ScreenAnalysis) -> None:
        """A truth without a ``shake`` label shows no shake cue."""
        want, got = truth.get("shake"), analysis.shake
        if want is None:
            if got is not None:
                self.shake_false.append(truth["image"])
                self.misses.append(f"{truth['image']}: shake cue {got.text!r} found on a screen without one")
            return
        self.shake_screens += 1
        right = (got is not None and boxes_match(got.box, Box(*want["bbox"]))
                 and got.result_stated == (want["result_text"] is not None))
        self.shake_right += right
        if not right:
            self.misses.append(f"{truth['image']}: shake cue {got and (got.text, got.result_text)!r} != "
                               f"{(want['text'], want['result_text'])!r}")

    @staticmethod
    def _rate(right: int, total: int) -> float:
        return right / total if total else 1.0

    @property
    def overlay_rate(self) -> float:
        """Ads and pop-ups called an ad or a pop-up (the rules judged are the same for both)."""
        return self._rate(self.overlay_right, self.overlay_screens)

    @property
    def normal_clean_rate(self) -> float:
        return self._rate(self.normal_clean, self.normal_screens)

    def summary(self) -> str:
        return (f"{self.screens} screens; close controls P {self.close_precision:.3f} "
                f"R {self.close_recall:.3f} ({self.close_matched}/{self.close_true} true, "
                f"{self.close_found} found); screen kind {self.share(self.kind_right):.3f}; "
                f"ad label {self.share(self.label_right):.3f}; "
                f"permission {self.share(self.permission_right):.3f}; ads/pop-ups recognised "
                f"{self.overlay_rate:.3f} of {self.overlay_screens}; ordinary screens clean "
                f"{self.normal_clean_rate:.3f} of {self.normal_screens}; permission prompts right "
                f"{self.prompts_right} of {self.permission_screens}; shake cues right {self.shake_right} of "
                f"{self.shake_screens}, found where none is {len(self.shake_false)}")
