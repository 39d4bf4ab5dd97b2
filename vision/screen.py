"""Which kind of screen a screenshot shows: ``splash_ad``, ``popup``, ``permission`` or ``normal``.

A system permission prompt is recognised by its words (vision.permission), which leave no doubt. The
rest is a judgement over many cues at once (how sure the dismiss model is of the best way out, a card
over a dimmed backdrop, an ad label, a countdown, a jump button, the status bar, how much text there
is), made by a forest fitted on labelled screens (``vision/models/screen_kind.npz``). The reasons
name the cues the screen showed, so a reader of the report can see what the judgement rested on.
"""

from __future__ import annotations

import math

import numpy as np

from vision import forest, lexicon
from vision.controls import AdCues
from vision.dismiss import Candidate, ScreenContext, row_partners
from vision.layout import is_sheet
from vision.types import PermissionPrompt, ScreenKind

FEATURES = (
    "best_glyph", "best_text", "best_skip", "best_any", "over_half", "share_sum",
    "best_cx_frac", "best_cy_frac", "card", "card_sheet", "card_area_frac", "status_shown",
    "ad_label", "countdown", "jump_buttons", "external_jump", "skip_word", "lines_log", "sentences_log",
    "mean_value", "dark_frac", "accept_buttons", "accept_beside_way_out", "questions", "centred_share",
)


def features(candidates: list[Candidate], shares: list[float], ctx: ScreenContext, cues: AdCues) -> list[float]:
    def best(keep) -> float:
        return max((s for c, s in zip(candidates, shares) if keep(c)), default=0.0)

    top = max(range(len(shares)), key=shares.__getitem__, default=None)
    top_box = candidates[top].shape if top is not None else None
    card = ctx.card
    return [
        best(lambda c: c.control.kind == "glyph"), best(lambda c: c.control.kind == "text"),
        best(lambda c: c.dismiss_kind == "skip"), best(lambda c: True),
        float(sum(s >= 0.5 for s in shares)), float(sum(shares)),
        top_box.center[0] / ctx.width_px if top_box else -1.0, top_box.center[1] / ctx.height_px if top_box else -1.0,
        float(card is not None), float(card is not None and is_sheet(card, ctx.width_px, ctx.height_px)),
        card.area / (ctx.width_px * ctx.height_px) if card else 0.0, float(ctx.status_shown),
        float(ctx.ad_label), float(ctx.countdown), float(len(cues.jump_buttons)),
        float(any(lexicon.external_jump(j.text) for j in cues.jump_buttons)),
        float(any(c.dismiss_kind == "skip" for c in candidates)),
        math.log1p(len(ctx.lines)), math.log1p(ctx.sentences), ctx.mean_value, ctx.dark_frac,
        *_dialog_features(candidates, ctx),
    ]


def _dialog_features(candidates: list[Candidate], ctx: ScreenContext) -> list[float]:
    """What a dialog says in its words and layout: buttons that take the offer (one beside a way out
    is a dialog's button row), a question put to the user, lines centred on the screen."""
    lines = ctx.lines
    accept = sum(lexicon.accept_button(line.text) for line in lines)
    beside = max((row_partners(c.content, lines)[0] for c in candidates if c.control.kind == "text"), default=0)
    questions = sum(line.text.strip().endswith(("?", "？")) for line in lines)
    centre_px, slack_px = ctx.width_px / 2, 0.04 * ctx.width_px
    centred = sum(abs(line.box.center[0] - centre_px) < slack_px for line in lines) / max(len(lines), 1)
    return [float(min(accept, 5)), float(min(beside, 3)), float(min(questions, 3)), centred]


def classify(candidates: list[Candidate], shares: list[float], ctx: ScreenContext, cues: AdCues,
             permission: PermissionPrompt | None, model: forest.Forest) -> ScreenKind:
    if permission is not None:
        return ScreenKind("permission", 0.95, [f"permission prompt asks for {permission.kind}"])
    votes = model.shares(np.array([features(candidates, shares, ctx, cues)], dtype=np.float32))[0]
    kind = model.classes[int(votes.argmax())]
    confidence = round(float(model.calibrated(votes.max())), 3)
    return ScreenKind(kind, confidence, _reasons(candidates, shares, ctx, cues) or ["no ad or pop-up cues"])


def _reasons(candidates: list[Candidate], shares: list[float], ctx: ScreenContext, cues: AdCues) -> list[str]:
    reasons = []
    if candidates:
        share, best = max(zip(shares, candidates), key=lambda pair: pair[0])
        reasons.append(f"close control '{best.control.text}' ({share:.2f})")
    if ctx.card is not None:
        reasons.append("card over a dimmed backdrop")
    if cues.countdown:
        reasons.append(f"countdown {cues.countdown.seconds}s")
    if cues.ad_label:
        reasons.append(f"ad label '{cues.ad_label.text}'")
    if cues.jump_buttons:
        reasons.append(f"jump button '{cues.jump_buttons[0].text}'")
    if not ctx.status_shown:
        reasons.append("no status bar")
    return reasons
