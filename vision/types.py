"""Typed results of screen analysis.

Every box is in screenshot pixels, ``(x, y, w, h)`` with the origin at the top-left corner.
Sizes that a rule judges carry their unit in the name: ``_px``, ``_dp`` (density-independent
pixels; iOS points), ``_mm``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["violation", "warning", "pass", "inconclusive"]
ScreenKindName = Literal["splash_ad", "popup", "permission", "normal"]
ControlKind = Literal["glyph", "text"]

#: Verdicts from best to worst, so ``max(..., key=VERDICT_ORDER.index)`` picks the worst.
VERDICT_ORDER: tuple[Verdict, ...] = ("pass", "inconclusive", "warning", "violation")


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in screenshot pixels."""

    x: int
    y: int
    w: int
    h: int

    @property
    def x2(self) -> int:
        return self.x + self.w

    @property
    def y2(self) -> int:
        return self.y + self.h

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    @property
    def area(self) -> int:
        return max(self.w, 0) * max(self.h, 0)

    def contains(self, px: float, py: float, margin_px: float = 0) -> bool:
        return (self.x - margin_px <= px <= self.x2 + margin_px
                and self.y - margin_px <= py <= self.y2 + margin_px)

    def intersection(self, other: Box) -> int:
        w = min(self.x2, other.x2) - max(self.x, other.x)
        h = min(self.y2, other.y2) - max(self.y, other.y)
        return max(w, 0) * max(h, 0)

    def iou(self, other: Box) -> float:
        inter = self.intersection(other)
        union = self.area + other.area - inter
        return inter / union if union else 0.0

    def union(self, other: Box) -> Box:
        x, y = min(self.x, other.x), min(self.y, other.y)
        return Box(x, y, max(self.x2, other.x2) - x, max(self.y2, other.y2) - y)

    def expand(self, margin_px: int) -> Box:
        return Box(self.x - margin_px, self.y - margin_px, self.w + 2 * margin_px, self.h + 2 * margin_px)

    def clip(self, width_px: int, height_px: int) -> Box:
        x, y = max(self.x, 0), max(self.y, 0)
        return Box(x, y, max(min(self.x2, width_px) - x, 0), max(min(self.y2, height_px) - y, 0))

    def scaled(self, factor: float) -> Box:
        return Box(round(self.x * factor), round(self.y * factor),
                   round(self.w * factor), round(self.h * factor))

    def to_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]

    @classmethod
    def from_points(cls, x1: float, y1: float, x2: float, y2: float) -> Box:
        return cls(round(x1), round(y1), round(x2 - x1), round(y2 - y1))


#: A screenshot of unknown density is taken to be this many dp wide: the middle of phones (360-430 dp),
#: so the density assumed is off by under 10% either way. (At 360 dp, small ad labels on 393-412 dp
#: phones were looked for too small: the held-out designs scored 0.881 for ad labels, against 1.000.)
ASSUMED_WIDTH_DP = 393


def density_or_assumed(density: float | None, width_px: int) -> float:
    """``density``, or the one a screen ``width_px`` wide would have at ASSUMED_WIDTH_DP."""
    return density or width_px / ASSUMED_WIDTH_DP


@dataclass(frozen=True)
class Display:
    """What a screenshot's pixels mean physically.

    ``density`` is pixels per dp (Android densityDpi / 160; iOS scale). ``px_per_mm`` is the physical
    pixel pitch, known from a device profile's diagonal or dpi; ``None`` when unknown, and then sizes in
    mm are not given. Insets are the status bar (top) and gesture/navigation bar (bottom), in dp.
    """

    width_px: int
    height_px: int
    density: float | None
    px_per_mm: float | None = None
    status_bar_dp: float = 0.0
    gesture_bar_dp: float = 0.0


@dataclass(frozen=True)
class TextLine:
    """One line of text read by OCR (or taken from a view hierarchy)."""

    box: Box
    text: str
    confidence: float


@dataclass(frozen=True)
class Position:
    """Where a control sits: its distance to each screen edge and whether system bars cover it."""

    edge_distance_dp: dict[str, float]
    in_status_bar: bool
    in_gesture_bar: bool


@dataclass
class CloseControl:
    """A control that dismisses a splash ad or pop-up (✕ glyph, 跳过, 关闭, No thanks, ...)."""

    box: Box
    kind: ControlKind
    text: str
    confidence: float
    size_dp: tuple[float, float] | None = None
    size_mm: tuple[float, float] | None = None
    contrast_ratio: float | None = None
    position: Position | None = None
    touch_box: Box | None = None          # clickable bounds from a view hierarchy
    touch_size_dp: tuple[float, float] | None = None
    source: Literal["vision", "hierarchy"] = "vision"
    #: What was found before ``box`` was grown to the shape around it (a pill's label, a ✕'s strokes):
    #: a countdown read again in place is measured again from it (a pill fading in while it counts is
    #: not judged on its first frame, when its shape may not stand out yet).
    content_box: Box | None = field(default=None, repr=False)


@dataclass
class Countdown:
    """A countdown shown on an ad ("5", "5s", a number in a ring); not itself a close control."""

    box: Box
    seconds: int | None
    text: str


@dataclass
class AdLabel:
    box: Box
    text: str
    height_dp: float | None = None
    contrast_ratio: float | None = None


@dataclass
class JumpButton:
    """The ad's legitimate hot zone: 点击跳转详情, 立即下载, Install, Learn more, ..."""

    box: Box
    text: str


@dataclass
class ShakeCue:
    """A shake ad's cue ("摇一摇", "摇动手机", "扭一扭", "Shake your phone") and, when the ad states it
    next to the cue, what shaking leads to ("跳转详情页或第三方应用")."""

    box: Box
    text: str
    result_text: str | None = None
    result_box: Box | None = None

    @property
    def result_stated(self) -> bool:
        return self.result_text is not None


@dataclass
class PurposeOverlay:
    box: Box
    text: str


@dataclass
class PermissionPrompt:
    """A system permission prompt and, if the app shows one at the same moment, its purpose overlay."""

    kind: str                      # location, contacts, photos, camera, microphone, phone, storage, ...
    box: Box
    text: str
    purpose_overlay: PurposeOverlay | None = None


@dataclass
class ScreenKind:
    kind: ScreenKindName
    confidence: float
    reasons: list[str] = field(default_factory=list)


@dataclass
class Finding:
    """One rule's verdict on one screen (or one probe), with the evidence behind it."""

    rule: str
    verdict: Verdict
    message: str
    evidence: dict = field(default_factory=dict)


@dataclass
class ScreenAnalysis:
    """Everything the analyzer says about one screenshot."""

    size_px: tuple[int, int]
    density: float | None
    screen: ScreenKind
    close_controls: list[CloseControl] = field(default_factory=list)
    #: What the dismiss model takes for a way out, measured, on every kind of screen: a screen vision
    #: calls ordinary can be proven an ad by its launch (``crawler.live.timeline``), and then these are
    #: its close controls. On ads and pop-ups, the same as ``close_controls``.
    ways_out: list[CloseControl] = field(default_factory=list, repr=False)
    countdown: Countdown | None = None
    ad_label: AdLabel | None = None
    jump_buttons: list[JumpButton] = field(default_factory=list)
    permission: PermissionPrompt | None = None
    card: Box | None = None            # a modal card over a dimmed backdrop, when there is one
    shake: ShakeCue | None = None      # a shake ad's cue (摇一摇), on any kind of screen
    findings: list[Finding] = field(default_factory=list)
    texts: list[TextLine] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return worst_verdict(f.verdict for f in self.findings)


def worst_verdict(verdicts) -> Verdict:
    """The worst of some verdicts; ``pass`` when there are none."""
    return max(verdicts, key=VERDICT_ORDER.index, default="pass")
