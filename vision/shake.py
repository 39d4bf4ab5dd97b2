"""The cue of a shake ad (摇一摇) and whether the ad says what shaking does.

Since 2023 splash ads ask to be shaken: "摇一摇 跳转详情页或第三方应用" under a phone with motion
lines, "摇动手机 了解更多", "扭一扭", "Shake your phone to learn more". The 2025 national practice
guide wants the cue visible and the result of shaking stated; an ad that says only "摇一摇" (or "摇一摇
有惊喜") does not tell the person holding the phone that moving it will take them elsewhere.

The cue is found in the text read (the icon alone is not looked for: every cue seen in real ads
carries the words). The result is stated when the cue's own line goes on to say it ("摇一摇跳转详情页")
or a line right next to it does (the small print under the big 摇一摇).
"""

from __future__ import annotations

from vision import lexicon
from vision.layout import peer_count
from vision.types import Box, ShakeCue, TextLine

#: A line states the cue's result when its centre lies within this many cue heights of the cue
#: (above or below), and it overlaps the cue's column widened by as much on each side.
RESULT_REACH_LINES = 3.0
#: A bare cue word ("摇一摇" and nothing else) on the left of the screen with this many peers in a
#: list is a menu item (WeChat's 发现 page lists 摇一摇 among 扫一扫 and 看一看), not an ad's cue: an ad
#: centres its cue or puts it in a pill with its result.
MENU_PEERS = 2
MENU_MAX_CENTRE_FRAC = 0.35


def _remainder(line: TextLine) -> str:
    """The line's normalised text without the cue words: what else it says."""
    norm = lexicon.normalise(line.text)
    start, end = lexicon.shake_cue(line.text) or (0, 0)
    return norm[:start] + norm[end:]


def _near(cue: Box, other: Box) -> bool:
    reach_px = RESULT_REACH_LINES * cue.h
    cx, cy = other.center
    widened = Box(round(cue.x - reach_px), cue.y, round(cue.w + 2 * reach_px), cue.h)
    return abs(cy - cue.center[1]) <= reach_px + cue.h / 2 and widened.x <= cx <= widened.x2


def _stated_result(line: TextLine, lines: list[TextLine]) -> TextLine | None:
    """The line that says what shaking ``line``'s cue does: itself, else the nearest line by it."""
    if lexicon.shake_result(_remainder(line)):
        return line
    near = [o for o in lines if o is not line and _near(line.box, o.box) and lexicon.shake_result(o.text)]
    return min(near, key=lambda o: abs(o.box.center[1] - line.box.center[1]), default=None)


def _menu_item(line: TextLine, lines: list[TextLine], width_px: int) -> bool:
    return (not _remainder(line) and line.box.center[0] < MENU_MAX_CENTRE_FRAC * width_px
            and peer_count(line, lines, width_px) >= MENU_PEERS)


def find_shake_cue(lines: list[TextLine], width_px: int) -> ShakeCue | None:
    """The screen's shake cue, the largest if there are several, with the result stated next to it."""
    found: list[ShakeCue] = []
    for line in lines:
        if lexicon.shake_cue(line.text) is None:
            continue
        result = _stated_result(line, lines)
        if result is None and _menu_item(line, lines, width_px):
            continue
        found.append(ShakeCue(line.box, line.text, result.text if result else None,
                              result.box if result else None))
    return max(found, key=lambda c: (c.result_stated, c.box.h), default=None)
