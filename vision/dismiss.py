"""Candidate close controls and the learned judgement of which of them are a way out.

Finding candidates is rules: a line whose words dismiss ("关闭", "No thanks", "跳过 5", "以后再说") or a ✕
drawn as an icon. Whether a candidate is the screen's way out is a judgement that depends on
everything around it (a "取消" in a dialog's button row is; a "Cancel" in a form's toolbar or an "x" that
clears a search box is not), so it is left to a forest fitted on labelled screens (``vision/models/
dismiss.npz``, see ``fixtures/train_models.py``) over the features below, all free of pixel scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vision import forest, lexicon
from vision.glyphs import GlyphHit
from vision.layout import NAV_BAR_SHARE, STATUS_BAR_SHARE, is_sheet, peer_count
from vision.types import Box, CloseControl, TextLine, density_or_assumed

DISMISS_KIND_ORDER = ("skip", "close", "later", "acknowledge", "decline")

FEATURES = (
    "is_glyph", "glyph_score", *(f"word_{k}" for k in DISMISS_KIND_ORDER), "shows_seconds",
    "cx_frac", "cy_frac", "w_dp", "h_dp", "side_gap_dp", "top_gap_dp", "bottom_gap_dp",
    "card", "in_card", "card_dx", "card_dy_top", "card_dy_bottom", "card_sheet", "card_area_frac",
    "status_shown", "peers", "row_accept", "row_others", "lines_log", "sentences_log",
    "ad_label", "countdown", "jump_buttons", "shape_growth", "confidence", "chars", "glyphs_on_screen",
    "mean_value", "dark_frac", "row_icons", "peak_level", "over_backdrop",
)


@dataclass
class Candidate:
    """A control that may dismiss the screen, before the model has judged it."""

    control: CloseControl         # its box stays the ✕ or the words: measuring grows it to its shape
    content: Box                  # the ✕ or the words themselves
    dismiss_kind: str             # skip, close, later, acknowledge, decline
    glyph_score: float = 0.0
    visible: Box | None = None    # the pill, circle or button around it, when found
    row_icons: int = -1           # shapes as big as a ✕ in its row (vision.layout.icon_peers); -1 for words
    peak_level: float = 1.0       # its brightest pixels against the screen's (see measure_brightness)
    over_backdrop: float = -1.0   # its brightest pixels against a modal card's backdrop; -1 without a card

    @property
    def shape(self) -> Box:
        return self.visible or self.content


@dataclass(frozen=True)
class ScreenContext:
    """What the features of a candidate need to know about the whole screen."""

    width_px: int
    height_px: int
    density: float
    lines: list[TextLine]
    sentences: int
    card: Box | None
    status_shown: bool
    ad_label: bool
    countdown: bool
    jump_buttons: int
    glyphs: int
    mean_value: float
    dark_frac: float


def text_candidates(lines: list[TextLine]) -> list[Candidate]:
    found = []
    for line in lines:
        kind = lexicon.dismiss_kind(line.text)
        if kind is not None:
            control = CloseControl(box=line.box, kind="glyph" if lexicon.is_cross_text(line.text) else "text",
                                   text=line.text, confidence=line.confidence)
            found.append(Candidate(control, line.box, kind))
    return found


def glyph_candidates(hits: list[GlyphHit], taken: list[Candidate]) -> list[Candidate]:
    """✕ icons not already part of a text candidate (OCR may read a drawn ✕ as "X")."""
    found = []
    for hit in hits:
        near = [c for c in taken if c.content.expand(c.content.h // 2).contains(*hit.glyph_box.center)]
        for same in near:
            if same.control.kind == "glyph":   # the ✕ read as "X": keep one, the shape
                taken.remove(same)
        if near and any(c.control.kind == "text" for c in near):
            continue
        control = CloseControl(box=hit.glyph_box, kind="glyph", text="✕", confidence=round(hit.score, 3))
        found.append(Candidate(control, hit.glyph_box, "close", hit.score, visible=hit.control_box))
    return found


def row_partners(box: Box, lines: list[TextLine]) -> tuple[int, int]:
    """(accepting buttons, other lines) in the same row as ``box``: a dialog's button row."""
    accept = others = 0
    cy = box.center[1]
    for line in lines:
        if line.box == box or abs(line.box.center[1] - cy) > 0.6 * max(box.h, line.box.h):
            continue
        if lexicon.accept_button(line.text):
            accept += 1
        else:
            others += 1
    return accept, others


def features(candidate: Candidate, ctx: ScreenContext) -> list[float]:
    box, density = candidate.shape, ctx.density
    w, h = ctx.width_px, ctx.height_px
    cx, cy = box.center
    card = ctx.card
    if card is not None:
        in_card = float(card.contains(cx, cy))
        card_dx = (cx - card.center[0]) / card.w
        card_dy_top, card_dy_bottom = (cy - card.y) / density / 100, (cy - card.y2) / density / 100
        card_sheet, card_area = float(is_sheet(card, w, h)), card.area / (w * h)
    else:
        in_card, card_dx, card_dy_top, card_dy_bottom, card_sheet, card_area = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    probe = next((l for l in ctx.lines if l.box == candidate.content), None)
    peers = peer_count(probe, ctx.lines, w) if probe is not None else 0
    row_accept, row_others = row_partners(candidate.content, ctx.lines)
    growth = box.area / max(candidate.content.area, 1)
    kind = candidate.dismiss_kind
    return [
        float(candidate.control.kind == "glyph"), candidate.glyph_score,
        *(float(kind == k) for k in DISMISS_KIND_ORDER),
        float(any(ch.isdigit() for ch in candidate.control.text)),
        cx / w, cy / h, box.w / density, box.h / density,
        min(box.x, w - box.x2) / density, box.y / density, (h - box.y2) / density,
        float(card is not None), in_card, card_dx, card_dy_top, card_dy_bottom, card_sheet, card_area,
        float(ctx.status_shown), float(min(peers, 10)), float(row_accept), float(min(row_others, 10)),
        math.log1p(len(ctx.lines)), math.log1p(ctx.sentences),
        float(ctx.ad_label), float(ctx.countdown), float(ctx.jump_buttons),
        min(growth, 20.0), candidate.control.confidence, float(len(candidate.control.text)),
        float(ctx.glyphs), ctx.mean_value, ctx.dark_frac, float(candidate.row_icons),
        candidate.peak_level, candidate.over_backdrop,
    ]


def judge(candidates: list[Candidate], ctx: ScreenContext, model: forest.Forest) -> list[float]:
    """Each candidate's share of the dismiss model's votes (0-1)."""
    if not candidates:
        return []
    rows = np.array([features(c, ctx) for c in candidates], dtype=np.float32)
    return model.shares(rows)[:, 1].tolist()


def chosen(candidates: list[Candidate], shares: list[float], model: forest.Forest) -> list[CloseControl]:
    """The candidates the model takes for a way out, each with its calibrated confidence."""
    controls = []
    for i in reported(shares, model):
        candidates[i].control.confidence = round(float(model.calibrated(shares[i])), 3)
        controls.append(candidates[i].control)
    return controls


def reported(shares: list[float], model: forest.Forest) -> list[int]:
    """Which candidates are taken for a way out, by their share of the forest's votes.

    The threshold sits below an even chance: a pop-up or ad nearly always has a way out, so its best
    candidate is worth reporting when it is only likely. That holds for the screen's best candidate,
    not for a doubtful second one beside it: one the model's calibration calls more likely wrong than
    right is reported only when it is the best there is (a stray ✕ in a text field beside a dialog's
    "Cancel" is not).
    """
    best_share = max(shares, default=0.0)
    return [i for i, share in enumerate(shares) if share >= model.threshold_share
            and (model.calibrated(share) >= 0.5 or share == best_share)]


#: Backdrop brightness is judged on every this-many-th pixel each way: a veil is even, detail is not needed.
BACKDROP_STEP_PX = 4
MAX_OVER_BACKDROP = 4.0


def measure_brightness(image_bgr: np.ndarray, candidates: list[Candidate], card: Box | None) -> None:
    """Set each candidate's brightest pixels (95th percentile of the largest channel over its shape)
    against the screen's (99th percentile) and against the backdrop around a modal card.

    A dialog's scrim dims the page behind it, controls and all, and takes the touches meant for them:
    a chat bubble's ✕ or a dialer's ⌫ showing through the veil is no brighter than the veiled page,
    while the ✕ a pop-up draws beside or under its card sits above the veil. The system bars are not
    the backdrop: the system draws them undimmed over any veil.
    """
    if not candidates:
        return
    height_px, width_px = image_bgr.shape[:2]
    step = BACKDROP_STEP_PX
    coarse = image_bgr[::step, ::step].max(axis=2)
    screen_peak = max(_percentile(np.bincount(coarse.ravel(), minlength=256), 99), 1.0)
    page = np.ones(coarse.shape, bool)
    if card is not None:
        page[:int(STATUS_BAR_SHARE * height_px) // step] = False
        page[int((1 - NAV_BAR_SHARE) * height_px) // step:] = False
        page[max(0, card.y) // step:card.y2 // step + 1, max(0, card.x) // step:card.x2 // step + 1] = False
    page_counts = np.bincount(coarse[page], minlength=256)
    for candidate in candidates:
        box = candidate.shape
        x0, y0 = max(0, box.x), max(0, box.y)
        patch = image_bgr[y0:min(height_px, box.y2), x0:min(width_px, box.x2)].max(axis=2)
        peak = float(np.percentile(patch, 95)) if patch.size else 0.0
        candidate.peak_level, candidate.over_backdrop = peak / screen_peak, -1.0
        if card is None:
            continue
        # The page around the candidate, not the candidate itself: its counts taken out of the page's.
        own = (slice(y0 // step, box.y2 // step + 1), slice(x0 // step, box.x2 // step + 1))
        around = page_counts - np.bincount(coarse[own][page[own]], minlength=256)
        backdrop = _percentile(around, 99) if around.any() else 255.0
        candidate.over_backdrop = min(peak / max(backdrop, 1.0), MAX_OVER_BACKDROP)


def _percentile(counts: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation) of the 8-bit values counted in ``counts``:
    one count of the page serves every candidate, where masking the page anew for each took 10 ms."""
    total = int(counts.sum())
    rank = q / 100 * (total - 1)
    below = int(np.floor(rank))
    cumulative = np.cumsum(counts)
    low = int(np.searchsorted(cumulative, below + 1))
    high = int(np.searchsorted(cumulative, min(below + 2, total)))
    return low + (high - low) * (rank - below)


def image_stats(image_bgr: np.ndarray) -> tuple[float, float]:
    """(mean brightness 0-1, share of dark pixels) on a small copy: veils and photos differ here."""
    small = image_bgr[::8, ::8].max(axis=2)
    return float(small.mean()) / 255.0, float((small < 60).mean())


def context(width_px: int, height_px: int, density: float | None, lines: list[TextLine], sentences: int,
            card: Box | None, status_shown: bool, cues, glyphs: int, stats: tuple[float, float]) -> ScreenContext:
    return ScreenContext(width_px, height_px, density_or_assumed(density, width_px), lines, sentences, card,
                         status_shown, cues.ad_label is not None, cues.countdown is not None,
                         len(cues.jump_buttons), glyphs, *stats)
