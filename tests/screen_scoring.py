"""Scoring the analyzer against the labelled screens in fixtures/screens (truth files beside PNGs)."""

from __future__ import annotations

import json
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
    label_right: int = 0
    permission_right: int = 0
    misses: list[str] = field(default_factory=list)

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
        found = [c.box for c in analysis.close_controls]
        expected = [Box(*c["bbox"]) for c in truth["close_controls"]]
        matched = match_count(found, expected)
        self.close_found += len(found)
        self.close_true += len(expected)
        self.close_matched += matched
        if matched < len(found) or matched < len(expected):
            self.misses.append(f"{name}: close found {len(found)} true {len(expected)} matched {matched}"
                               f" ({[c.text for c in analysis.close_controls]})")
        if analysis.screen.kind == truth["screen_kind"]:
            self.kind_right += 1
        else:
            self.misses.append(f"{name}: kind {analysis.screen.kind} != {truth['screen_kind']}"
                               f" {analysis.screen.reasons}")
        self._label(truth, analysis)
        self._permission(truth, analysis)

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
        if not right:
            self.misses.append(f"{truth['image']}: permission {got and (got.kind, got.purpose_overlay is not None)}"
                               f" != {want and (want['kind'], want['purpose_overlay'])}")

    def summary(self) -> str:
        return (f"{self.screens} screens; close controls P {self.close_precision:.3f} "
                f"R {self.close_recall:.3f} ({self.close_matched}/{self.close_true} true, "
                f"{self.close_found} found); screen kind {self.share(self.kind_right):.3f}; "
                f"ad label {self.share(self.label_right):.3f}; "
                f"permission {self.share(self.permission_right):.3f}")
