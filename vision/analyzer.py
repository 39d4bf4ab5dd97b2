"""The analysis pipeline: one screenshot (and optionally its view tree) in, a ScreenAnalysis out."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from vision import dismiss, forest, glyphs, hierarchy, layout, lexicon, measure, ocr, resample, smalltext
from vision.controls import AdCues, find_ad_cues, inside_words, is_letter_in, stacked_words
from vision.permission import find_permission_prompt
from vision.rules import RuleProfile, load_rule_profile
from vision.screen import classify
from vision.shake import find_shake_cue
from vision.types import (Box, CloseControl, Countdown, Display, Finding, ScreenAnalysis, ScreenKind,
                          TextLine, density_or_assumed)
from vision.verdicts import judge_screen

#: A frame this dark and flat is a blocked screenshot (FLAG_SECURE), not a black ad.
BLANK_MAX_MEAN, BLANK_MAX_STD = 6.0, 2.0


@lru_cache(maxsize=1)
def default_rules() -> RuleProfile:
    return load_rule_profile()


class _Stopwatch:
    def __init__(self):
        self.timings_ms: dict[str, float] = {}

    @contextmanager
    def lap(self, name: str):
        start = time.perf_counter()
        yield
        self.timings_ms[name] = round((time.perf_counter() - start) * 1000, 1)


def _visible_box(image: np.ndarray, found: Box, kind: str, sharp_outline: bool = False) -> Box:
    """The pill, circle or button drawn around a control found at ``found`` (a ✕ or its words), or
    ``found`` itself when nothing encloses it."""
    if kind == "glyph":
        return glyphs.enclosing_shape(image, found, sharp_outline=sharp_outline)
    return glyphs.enclosing_shape(image, found, max_growth=2.2, aspect_range=(0.4, 6.0),
                                  sharp_outline=sharp_outline)


def measure_control(image: np.ndarray, control: CloseControl, display: Display) -> None:
    """Fill in a control's visible box, size, contrast and position on ``image``, from what was found
    of it (``content_box``, else ``box``)."""
    content = control.content_box = control.content_box or control.box
    # Only a drawn edge bounds what is measured: a translucent pill fading in over a gradient would
    # otherwise be measured as the patch of background that matches its fill.
    control.box = _visible_box(image, content, control.kind, sharp_outline=True)
    if control.box != content:
        # In a pill or circle, what a person must make out is the ✕ or label against the fill: measure
        # inside the shape, clear of its rounded corners and of the background around it.
        inset = round(0.15 * min(control.box.w, control.box.h))
        crop, margin = control.box.expand(-inset), 0
    else:
        # A bare glyph or label needs a margin so the crop holds what is around it as well.
        crop, margin = content, max(2, round(0.2 * min(content.w, content.h)))
    control.size_dp = measure.size_dp(control.box, display)
    control.size_mm = measure.size_mm(control.box, display)
    control.contrast_ratio = measure.crop_contrast_ratio(image, crop, margin)
    control.position = measure.position(control.box, display)
    if control.touch_box is not None:
        control.touch_size_dp = measure.size_dp(control.touch_box, display)


def _merge_hierarchy(controls: list[CloseControl], cues: AdCues, page_source: str,
                     display: Display) -> list[str]:
    """Give vision's controls their touch targets; add controls only the view tree knows."""
    # XCUITest trees are in points; UiAutomator2 trees are already in px.
    scale = (display.density or 1.0) if "XCUIElementType" in page_source[:2000] else 1.0
    try:
        nodes = hierarchy.parse_nodes(page_source, scale=scale)
    except Exception as exc:  # an unparsable tree must not cost the frame its analysis
        return [f"view hierarchy not used: {type(exc).__name__}"]
    # Labelled nodes first: an unlabelled skip container then merges into its label.
    for node in sorted(hierarchy.close_nodes(nodes), key=lambda n: not n.text):
        match = next((c for c in controls if node.box.contains(*c.box.center)), None)
        if match is not None:
            match.touch_box = node.touch_box
            continue
        label = lexicon.close_label(node.text) if node.text else None
        control = CloseControl(box=node.box, kind="text" if node.text else "glyph", text=node.text or "✕",
                               confidence=0.9, touch_box=node.touch_box, source="hierarchy")
        controls.append(control)
        if label and label[1] and cues.countdown is None:
            cues.countdown = Countdown(node.box, label[1], node.text)
    return []


def _as_the_tree_says(screen: ScreenKind, controls: list[CloseControl]) -> ScreenKind:
    """A skip or close control the app's own view tree names is no judgement but a fact: a screen
    that holds one is an ad or a pop-up, however little of it vision could make out."""
    named = [c for c in controls if c.source == "hierarchy"]
    if screen.kind != "normal" or not named:
        return screen
    skip = any((lexicon.close_label(c.text) or ("", None))[0] == "skip" for c in named)
    return ScreenKind("splash_ad" if skip else "popup", 0.9,
                      [f"view hierarchy names a close control '{named[0].text}'", *screen.reasons])


def _has_cues(lines) -> bool:
    """Whether any short text speaks of an ad, a close control, a permission prompt or a shake."""
    return any(lexicon.close_label(l.text) or lexicon.ad_label(l.text) or lexicon.permission_button(l.text)
               or lexicon.countdown_seconds(l.text) is not None or lexicon.jump_button(l.text)
               or lexicon.is_cross_text(l.text) or lexicon.shake_cue(l.text) is not None for l in lines)


#: Screens with at most this many short lines read may be a dialog of sentences and buttons.
DIALOG_MAX_SHORT_LINES = 8


def _looks_like_dialog(lines) -> bool:
    """Whether the short text read may be a dialog's: a button that takes an offer ("AGREE", "OK",
    "CONTINUE"), or so little of it that the screen is mostly sentences. A dialog's way out may then
    be one of its long lines ("DO NOT AGREE AND CLOSE"), and its sentences tell it from a page."""
    return len(lines) <= DIALOG_MAX_SHORT_LINES or any(lexicon.accept_button(l.text) for l in lines)


#: A bare number is a countdown only inside a ring or badge at least this big (dp); smaller round
#: badges with a number are unread-message counts.
MIN_COUNTDOWN_RING_DP = 20
#: A word this close under a ring (in ring heights) is its caption: the ring is an app's icon tile.
CAPTION_GAP_RINGS = 0.75


def _confirm_countdown(image: np.ndarray, cues: AdCues, lines, display: Display) -> None:
    """Take the first bare number ("5") that is a countdown, unless a label ("跳过 5", "5s") showed one.

    A countdown's number sits in a ring of its own (or in the skip control). An unread count's badge
    is smaller; an icon tile (a round button with its caption under it) holds a symbol that OCR may
    read as a digit, so a ring with a caption does not count.
    """
    if cues.countdown is not None:
        return
    density = density_or_assumed(display.density, image.shape[1])
    for number in cues.bare_numbers:
        if any(c.box.contains(*number.box.center) for c in cues.skip_controls):
            cues.countdown = number
            return
        ring = glyphs.enclosing_shape(image, number.box, max_growth=4.0)
        if (ring != number.box and min(ring.w, ring.h) / density >= MIN_COUNTDOWN_RING_DP
                and not _has_caption(ring, lines)):
            cues.countdown = number
            return


def _has_caption(ring: Box, lines) -> bool:
    """Whether a word (not a control's label) sits centred just under the ring."""
    for line in lines:
        cx, _ = line.box.center
        gap_px = line.box.y - ring.y2
        if (ring.x <= cx <= ring.x2 and -0.1 * ring.h <= gap_px <= CAPTION_GAP_RINGS * ring.h
                and not lexicon.close_label(line.text) and lexicon.countdown_seconds(line.text) is None):
            return True
    return False


#: The clock or the battery level, alone or beside status icons that OCR reads as stray letters.
_STATUS_TEXT = re.compile(r"^\d{1,2}:\d{2}|(^|\D)\d{1,3}%$")


def _status_band_px(display: Display) -> float:
    """How far down (px, with some slack) the system status bar reaches."""
    band_px = (display.status_bar_dp * display.density if display.density and display.status_bar_dp
               else 0.035 * display.height_px)
    return band_px * 1.2


def _status_bar_shown(lines, display: Display) -> bool:
    """Whether the system status bar's clock or battery level is on screen."""
    band_px = _status_band_px(display)
    return any(line.box.y2 <= band_px and _STATUS_TEXT.search(line.text.strip()) for line in lines)


def _blank_analysis(size_px, display: Display, rules: RuleProfile) -> ScreenAnalysis:
    reason = "screenshot is blank: the app may block screenshots (FLAG_SECURE)"
    spec = rules["CLOSE_PRESENT"]
    return ScreenAnalysis(
        size_px=size_px, density=display.density, screen=ScreenKind("normal", 0.0, [reason]),
        findings=[Finding("CLOSE_PRESENT", "inconclusive", f"CLOSE_PRESENT 无法判定：截图全黑 / "
                          f"inconclusive: {reason} [{spec.clause}]", {"clause": spec.clause})],
        notes=[reason])


def _find_shapes(image_bgr: np.ndarray, display: Display, clock: _Stopwatch):
    """✕ glyphs, the modal card and small-word blobs: the parts of the analysis that need no OCR."""
    copies = resample.Copies(image_bgr, display.density)
    with clock.lap("glyphs"):
        glyph_hits = glyphs.find_close_glyphs(image_bgr, display.density, copies)
    with clock.lap("layout"):
        card = layout.find_modal_card(image_bgr)
    with clock.lap("word_blobs"):
        blobs = smalltext.word_blobs(image_bgr, display.density, copies)
    return glyph_hits, card, blobs


@dataclass
class Evidence:
    """What a screenshot shows before anything is judged: text read, ✕ shapes, the modal card."""

    lines: list[TextLine]
    sentences: list[Box]           # long text boxes, read into ``lines`` only where cues called for it
    glyph_hits: list[glyphs.GlyphHit]
    card: Box | None
    status_shown: bool
    stats: tuple[float, float]     # mean brightness, dark share (vision.dismiss.image_stats)


def gather(image_bgr: np.ndarray, display: Display, clock: _Stopwatch | None = None) -> Evidence:
    """Read the text and find the shapes of one screenshot (the costly part of the analysis)."""
    clock = clock or _Stopwatch()
    with clock.lap("ocr"):
        quads = ocr.detect_text_boxes(image_bgr, display.density)
        short_boxes, long_boxes = ocr.split_by_length(quads)
        lines = ocr.recognise(image_bgr, short_boxes)
        status_shown = _status_bar_shown(lines, display)
    glyph_hits, card, blobs = _find_shapes(image_bgr, display, clock)
    sentences = [ocr.quad_box(q) for q in long_boxes]
    # A ✕ in a sentence is one of its letters even before the sentence is read.
    glyph_hits = [hit for hit in glyph_hits if not any(is_letter_in(hit, box) for box in sentences)]
    with clock.lap("small_words"):
        # Short boxes that were read stay as they are; those the recogniser could not read (a label
        # cut short at detection scale) get the second, closer look with the rest. The system status
        # bar's icons look like small words but are not the app's: skipped when the bar is shown.
        lines += smalltext.find_small_words(image_bgr, display.density, lines, sentences, blobs,
                                            skip_above_px=_status_band_px(display) if status_shown else 0)
    if long_boxes and (glyph_hits or card or _has_cues(lines) or _looks_like_dialog(lines)):
        # Sentences matter on ads, pop-ups and prompts (jump buttons, the permission question, the
        # purpose banner, a long refusal such as "DO NOT AGREE AND CLOSE"); on an ordinary screen they
        # are content, and reading them is most of the cost.
        with clock.lap("ocr_long"):
            lines += ocr.recognise(image_bgr, long_boxes)
    lines += smalltext.split_off_close_words(image_bgr, lines)
    return Evidence(lines, sentences, glyph_hits, card, status_shown, dismiss.image_stats(image_bgr))


def candidates_of(evidence: Evidence, image_bgr: np.ndarray, display: Display):
    """(ad cues, candidate close controls, their screen context) from what a screenshot shows."""
    height, width = image_bgr.shape[:2]
    lines = evidence.lines
    cues = find_ad_cues(lines, evidence.glyph_hits, width, evidence.card)
    _confirm_countdown(image_bgr, cues, lines, display)
    candidates = dismiss.text_candidates(lines + stacked_words(lines))
    for candidate in candidates:
        if candidate.control.kind == "text":
            candidate.visible = _visible_box(image_bgr, candidate.control.box, candidate.control.kind)
    glyph_hits = [h for h in evidence.glyph_hits if not inside_words(h, lines)]
    candidates += dismiss.glyph_candidates(glyph_hits, candidates)
    for candidate in candidates:
        if candidate.control.kind == "glyph":
            candidate.row_icons = layout.icon_peers(image_bgr, candidate.content)
    dismiss.measure_brightness(image_bgr, candidates, evidence.card)
    ctx = dismiss.context(width, height, display.density, lines, len(evidence.sentences), evidence.card,
                          evidence.status_shown, cues, len(glyph_hits), evidence.stats)
    return cues, candidates, ctx


def analyze(image_bgr: np.ndarray, display: Display, hierarchy_xml: str | None = None,
            rules: RuleProfile | None = None) -> ScreenAnalysis:
    """Analyse one screenshot (BGR, as OpenCV loads it).

    ``display`` says what its pixels mean (density, physical pitch, insets); ``hierarchy_xml`` is an
    Appium page source taken at the same moment, when there is one.
    """
    rules = rules or default_rules()
    height, width = image_bgr.shape[:2]
    if float(image_bgr.mean()) <= BLANK_MAX_MEAN and float(image_bgr.std()) <= BLANK_MAX_STD:
        return _blank_analysis((width, height), display, rules)
    clock = _Stopwatch()
    evidence = gather(image_bgr, display, clock)
    return decide(evidence, image_bgr, display, hierarchy_xml, rules, clock=clock)


def decide(evidence: Evidence, image_bgr: np.ndarray, display: Display, hierarchy_xml: str | None = None,
           rules: RuleProfile | None = None, models: forest.Models | None = None,
           clock: _Stopwatch | None = None) -> ScreenAnalysis:
    """The judgements over what :func:`gather` found: the screen's kind, its ways out, the findings.

    ``models`` replaces the committed fitted models (the training script scores its own this way).
    """
    rules, models, clock = rules or default_rules(), models or forest.Models.committed(), clock or _Stopwatch()
    height, width = image_bgr.shape[:2]
    with clock.lap("cues"):
        cues, candidates, ctx = candidates_of(evidence, image_bgr, display)
        shares = dismiss.judge(candidates, ctx, models.dismiss)
        permission = find_permission_prompt(evidence.lines)
        screen = classify(candidates, shares, ctx, cues, permission, models.screen_kind)
    controls = dismiss.chosen(candidates, shares, models.dismiss)
    notes = _merge_hierarchy(controls, cues, hierarchy_xml, display) if hierarchy_xml else []
    screen = _as_the_tree_says(screen, controls)
    analysis = ScreenAnalysis(size_px=(width, height), density=display.density, screen=screen,
                              ways_out=controls, texts=evidence.lines, notes=notes, card=evidence.card,
                              shake=find_shake_cue(evidence.lines, width))
    with clock.lap("measure"):
        _fill_ad_parts(analysis, image_bgr, controls, cues, display)
    analysis.permission = permission
    analysis.findings = judge_screen(analysis, rules)
    analysis.timings_ms = clock.timings_ms
    return analysis


def _fill_ad_parts(analysis: ScreenAnalysis, image: np.ndarray, controls: list[CloseControl], cues: AdCues,
                   display: Display) -> None:
    # Measured on every screen: one vision calls ordinary may be proven an ad by its launch.
    for control in controls:
        measure_control(image, control, display)
    if analysis.screen.kind not in ("splash_ad", "popup"):
        return
    analysis.close_controls = controls
    analysis.countdown = cues.countdown
    analysis.jump_buttons = cues.jump_buttons
    if cues.ad_label is not None:
        label = cues.ad_label
        label.height_dp = measure.size_dp(label.box, display)[1] if display.density else None
        label.contrast_ratio = measure.crop_contrast_ratio(image, label.box, margin_px=2)
        analysis.ad_label = label
