"""Turning read text and found glyphs into close controls, countdowns, ad labels and jump buttons."""

from __future__ import annotations

from dataclasses import dataclass, field

from vision import lexicon
from vision.glyphs import GlyphHit
from vision.layout import peer_count
from vision.types import AdLabel, Box, CloseControl, Countdown, JumpButton, TextLine


@dataclass
class AdCues:
    """Everything on a screen that speaks of an ad, before the screen kind is decided."""

    skip_controls: list[CloseControl]      # 跳过 / Skip: the splash-ad kind of close
    dismiss_controls: list[CloseControl]   # ✕, 关闭, 以后再说, No thanks: the pop-up kind
    countdown: Countdown | None
    ad_label: AdLabel | None
    jump_buttons: list[JumpButton]
    #: Bare numbers ("5") in reading order: a countdown only if one sits in a ring (checked on the image).
    bare_numbers: list[Countdown] = field(default_factory=list)

    @property
    def close_controls(self) -> list[CloseControl]:
        return self.skip_controls + self.dismiss_controls


def _text_control(line: TextLine, label: tuple[str, int | None], lines: list[TextLine], width_px: int,
                  card: Box | None) -> CloseControl | None:
    in_card = card is not None and card.expand(line.box.h * 2).contains(*line.box.center)
    # "跳过 5" or "Skip Ad" names the ad it skips: no chat line or chip reads exactly that.
    speaks_of_ad = label[1] is not None or any(w in lexicon.normalise(line.text) for w in ("广告", "ad"))
    if not in_card and not speaks_of_ad and peer_count(line, lines, width_px) >= 2:
        return None   # a chip, list item or chat message that happens to say 跳过 / 关闭
    return CloseControl(box=line.box, kind="text", text=line.text, confidence=line.confidence)


def is_letter_in(hit: GlyphHit, text_box: Box) -> bool:
    """A ✕ shape inside a text box and shorter than it is one of its letters ("Next", "text") or part
    of a character (the top of 留), not a glyph control; a ✕ taller than the line it overlaps (one
    drawn over dimmed text behind a pop-up), or in a circle taller than a line that runs on beyond
    it (the detector may run dimmed text on through the ✕'s circle), is not a letter of it. A
    character alone in its tile (an app's logo) still is."""
    if not (text_box.contains(*hit.glyph_box.center) and hit.glyph_box.h < text_box.h):
        return False
    control = hit.control_box
    return control.h < text_box.h or (control.contains(*text_box.center) and text_box.w <= control.w)


def inside_words(hit: GlyphHit, lines: list[TextLine]) -> bool:
    """Whether the ✕ is a letter of a line read (other than the ✕ itself read as "X")."""
    return any(is_letter_in(hit, line.box) and not lexicon.is_cross_text(line.text) for line in lines)


def _span(line: TextLine, start: int, end: int) -> Box:
    """Where characters start..end of a line sit: estimated from their share of its characters."""
    char_w = line.box.w / max(len(line.text), 1)
    return Box(round(line.box.x + start * char_w), line.box.y, max(round((end - start) * char_w), 1),
               line.box.h)


def _countdown_span(line: TextLine, seconds: int) -> Box:
    """Where the number sits in a "跳过 5" label."""
    index = line.text.find(str(seconds))
    return line.box if index < 0 else _span(line, index, index + len(str(seconds)))


def _ad_label_box(line: TextLine) -> Box:
    """The label alone, when it heads a longer line ("[广告]已在Wi-Fi下预加载")."""
    head = lexicon.ad_label_head(line.text)
    return line.box if head is None else _span(line, *head)


def stacked_words(lines: list[TextLine]) -> list[TextLine]:
    """Words written top to bottom ("跳过" down a vertical bar), which the detector finds a character
    at a time: runs of single characters one under the other, read as one line."""
    chars = sorted((l for l in lines if len(l.text.strip()) == 1), key=lambda l: l.box.y)
    words, run = [], []
    for char in chars + [None]:
        last = run[-1] if run else None
        if char is not None and last is not None and abs(char.box.center[0] - last.box.center[0]) \
                <= 0.3 * last.box.w and 0.7 <= char.box.h / last.box.h <= 1.43 \
                and char.box.y - last.box.y2 <= 0.5 * last.box.h:
            run.append(char)
            continue
        if len(run) >= 2:
            box = run[0].box
            for other in run[1:]:
                box = box.union(other.box)
            words.append(TextLine(box, "".join(l.text.strip() for l in run), min(l.confidence for l in run)))
        run = [char] if char is not None else []
    return words


def find_ad_cues(lines: list[TextLine], glyphs: list[GlyphHit], width_px: int,
                 card: Box | None) -> AdCues:
    cues = AdCues([], [], None, None, [])
    lines = lines + stacked_words(lines)
    for line in lines:
        label = ("dismiss", None) if lexicon.is_cross_text(line.text) else lexicon.close_label(line.text)
        if label is not None:
            control = _text_control(line, label, lines, width_px, card)
            if control is None:
                continue
            (cues.skip_controls if label[0] == "skip" else cues.dismiss_controls).append(control)
            if label[1] and cues.countdown is None:
                cues.countdown = Countdown(_countdown_span(line, label[1]), label[1], line.text)
        elif (seconds := lexicon.countdown_seconds(line.text)) is not None:
            if peer_count(line, lines, width_px) < 2:
                found = Countdown(line.box, seconds, line.text)
                if line.text.strip().isdigit():
                    cues.bare_numbers.append(found)
                elif cues.countdown is None:   # "5s", "5秒" speak for themselves
                    cues.countdown = found
        elif lexicon.ad_label(line.text):
            if cues.ad_label is None or line.box.h < cues.ad_label.box.h:
                cues.ad_label = AdLabel(_ad_label_box(line), line.text)
        elif lexicon.jump_button(line.text):
            cues.jump_buttons.append(JumpButton(line.box, line.text))
    for hit in glyphs:
        if inside_words(hit, lines):
            continue
        if any(c.box.expand(c.box.h // 2).contains(*hit.glyph_box.center) for c in cues.close_controls):
            continue
        cues.dismiss_controls.append(CloseControl(box=hit.glyph_box, kind="glyph", text="✕",
                                                  confidence=hit.score))
    _fold_cross_text(cues)
    return cues


def _fold_cross_text(cues: AdCues) -> None:
    """OCR sometimes reads a drawn ✕ as "X"; a glyph found there is the same control."""
    glyphs = [c for c in cues.dismiss_controls if c.kind == "glyph"]
    for control in list(cues.dismiss_controls):
        if control.kind == "text" and lexicon.is_cross_text(control.text):
            if any(g.box.contains(*control.box.center) for g in glyphs):
                cues.dismiss_controls.remove(control)
            else:
                control.kind = "glyph"
