"""Walking a recording frame by frame: which frames to analyse, and the touches shown in it.

Every frame looked at is shrunk to the live check's grey thumbnail (``vision.framediff``) and compared
with the last analysed one, cell by cell (a control appearing in a corner is a change). A changed
picture is analysed once it holds still for a frame (a pill fading in, a page sliding in is analysed
settled, not half drawn), or after MOVING_EVERY_S when it never does (a video ad playing). An
unchanged picture is repeated every REPEAT_EVERY_S without a new analysis, as the live watcher does,
so the verdicts' time-based questions are not starved. The frames skipped are kept as thumbnails:
they date changes between analyses (when a close control came, when an ad went), as in the live check.

Touch dots (Android's "show taps", ``vision.touchspots``) are found between consecutive frames; the
cells under a dot do not count as a change of the picture.

Memory hardly grows with the video's length: a thumbnail is shared by the frames that show the same
picture, and thumbnails and images far (EVICT_AFTER_S) from anything the verdicts date (an ad, a
prompt or a close control coming or going, a touch) are let go, but for the few clearest frames with
a close control (KEEP_CANDIDATES).
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from crawler.watch import Frame
from vision import Display, analyze, framediff, tick, touchspots
from vision.rules import RuleProfile
from vision.types import ScreenAnalysis, ScreenKind

#: An unchanged picture is reported this often (as the live watcher does).
REPEAT_EVERY_S = 0.5
#: A picture that keeps changing (a video ad) is analysed at most this often.
MOVING_EVERY_S = 1.0
#: A recording written at a few frames a second shows a video ad as pictures each held for a while: a
#: change over more than BROAD_SHARE of the cells is broad, and after MOVING_CHANGES broad changes within
#: MOVING_EVERY_S a picture counts as settled only once it held MOVING_HOLD_S (not one frame).
BROAD_SHARE, MOVING_CHANGES, MOVING_HOLD_S = 0.5, 3, 0.4
#: Touch dots seen this close in time and place are one touch.
TOUCH_GAP_S, TOUCH_NEAR_DP = 0.6, 24.0
#: The cells a dot covered stay out of the change test this long after it was last seen.
SPOT_LINGER_S = 0.35
#: Thumbnails and frame images older than EVICT_AFTER_S and further than NEEDED_NEAR_S from anything
#: the verdicts date (an ad, a prompt or a close control coming or going; a touch) are let go: what is
#: dated walks back or forward over the frames a second or two (a touch's proof 2 s before it).
EVICT_AFTER_S, NEEDED_NEAR_S = 20.0, 3.0
#: Of the analysed frames far from all that, this many showing a close control keep their image.
KEEP_CANDIDATES = 6
#: A thumbnail this flat (grey standard deviation) is a blank or loading screen: not analysed.
BLANK_MAX_STD = 4.0
#: Evidence images are kept as JPEG at this quality; the report's strip uses tiny copies.
IMAGE_JPEG_QUALITY, STRIP_WIDTH_PX = 90, 72


@dataclass
class Touch:
    """A touch shown by its dot: first seen at ``t_s``, at (x_px, y_px) of the recording."""

    t_s: float
    x_px: float
    y_px: float
    radius_px: float
    seen_s: list[float] = field(default_factory=list)
    appeared: bool = False          # its dot was seen appearing (not only fading)


@dataclass
class Walk:
    """What walking one recording found."""

    frames: list[Frame] = field(default_factory=list)          # analysed or repeated, in time order
    samples: list[tuple[float, np.ndarray | None]] = field(default_factory=list)   # every frame looked at
    touches: list[Touch] = field(default_factory=list)
    strip: list[tuple[float, bytes]] = field(default_factory=list)   # (t_s, small JPEG) of analysed frames
    analysed: int = 0
    reread: int = 0                 # frames where only a countdown ticked: read again, not analysed
    looked_at: int = 0
    analysis_s: float = 0.0
    wall_s: float = 0.0
    end_s: float = 0.0


def encode_jpeg(image: np.ndarray, quality: int = IMAGE_JPEG_QUALITY) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


class Walker:
    """Feed it a recording's frames in order (``add``), then ``finish``; ``walk`` holds the result."""

    def __init__(self, display: Display, rules: RuleProfile, on_frame=None, frame_interval_s: float = 1 / 30):
        self.display, self.rules = display, rules
        #: A picture shown this long with no frame after it held still (a recorder that writes frames
        #: only on change leaves gaps: the gap is the proof)
        self.hold_s = 1.5 * frame_interval_s
        self.frame_interval_s = frame_interval_s
        self.density = display.density or display.width_px / 393
        self.on_frame = on_frame or (lambda frame: None)
        self.walk = Walk()
        self._last: Frame | None = None                 # the last analysed (or repeated) frame
        self._last_analysed: Frame | None = None
        self._pending: tuple[float, np.ndarray, np.ndarray] | None = None
        self._moving_since: float | None = None
        self._previous: tuple[float, np.ndarray, np.ndarray] | None = None   # the frame looked at before
        self._run_start: tuple[float, np.ndarray] | None = None       # when the pending change began
        self._spot_cells: np.ndarray | None = None
        self._spot_until = -1.0
        self._evicted_to = 0.0
        self._evict_at = [0, 0]                         # next sample and frame to consider letting go
        self._judged_s: list[float] = []                # times of frames and touches verdicts look at
        self._broad_s: list[float] = []                 # times of recent broad changes (see BROAD_SHARE)
        self._candidates: list[tuple[tuple, Frame]] = []    # see _keep_candidate

    # -- one frame ------------------------------------------------------------------------------------
    def add(self, t_s: float, image: np.ndarray) -> None:
        self._fill_gap(t_s)
        thumb = framediff.thumbnail_of(image)
        walk = self.walk
        walk.looked_at += 1
        walk.end_s = t_s
        previous = self._previous
        cells = None if previous is None else framediff.cell_changes(previous[2], thumb) > framediff.CELL_CHANGE
        if cells is not None and not cells.any():
            thumb = previous[2]             # the same picture: one thumbnail for both
        elif previous is not None:
            if cells.mean() > BROAD_SHARE:
                self._broad_s = [t for t in self._broad_s if t > t_s - MOVING_EVERY_S] + [t_s]
            self._look_for_touches(previous, (t_s, image, thumb))
        walk.samples.append((t_s, thumb))
        self._previous = (t_s, image, thumb)
        self._decide(t_s, image, thumb)
        if t_s - self._evicted_to > EVICT_AFTER_S:
            self._evict(t_s)

    def _fill_gap(self, t_s: float) -> None:
        """What a gap before a frame at ``t_s`` says: the picture shown before it held still all along
        (a pending change settled; an unchanged picture is repeated through it, as it would have been),
        up to the frame interval before ``t_s`` (kept as a sample: the time a change is bounded by)."""
        previous = self._previous
        if previous is not None and t_s - previous[0] >= self.hold_s:
            self.walk.samples.append((t_s - self.frame_interval_s, previous[2]))
        if self._pending is not None and t_s - self._pending[0] >= self._hold_needed_s(self._pending[0]):
            self._analyse(*self._pending)
        last = self._last
        while last is not None and t_s - last.t_s >= REPEAT_EVERY_S + self.hold_s and self._pending is None:
            last = replace(last, t_s=last.t_s + REPEAT_EVERY_S, file=None, annotated=None, keep=None)
            self._emit(last)

    def _differs(self, a: np.ndarray, b: np.ndarray, t_s: float) -> bool:
        """Whether the picture changed, leaving out the cells a touch dot covers."""
        cells = framediff.cell_changes(a, b) > framediff.CELL_CHANGE
        if self._spot_cells is not None and t_s <= self._spot_until and cells.shape == self._spot_cells.shape:
            cells &= ~self._spot_cells
        return bool(cells.any())

    def _decide(self, t_s: float, image: np.ndarray, thumb: np.ndarray) -> None:
        last = self._last
        if last is None:
            self._analyse(t_s, image, thumb)
            return
        if not self._differs(last.thumb, thumb, t_s):
            self._pending = self._moving_since = self._run_start = None
            if t_s - last.t_s >= REPEAT_EVERY_S:
                self._emit(replace(last, t_s=t_s, file=None, annotated=None, keep=None))
            return
        pending = self._pending
        if pending is not None and not self._differs(pending[2], thumb, t_s):
            if t_s - pending[0] + self.frame_interval_s >= self._hold_needed_s(pending[0]):
                self._analyse(*pending)             # held still: settled, dated by when it first showed
                return
        else:
            self._pending = (t_s, image, thumb)
            self._run_start = self._run_start or (t_s, thumb)
            self._moving_since = self._moving_since if self._moving_since is not None else t_s
        if t_s - max(self._moving_since, last.analysed_t_s or last.t_s) >= MOVING_EVERY_S:
            self._analyse(t_s, image, thumb)        # it keeps moving: look now and then

    def _hold_needed_s(self, at_s: float) -> float:
        """How long a picture shown at ``at_s`` must hold to count as settled: a frame, or MOVING_HOLD_S
        while the screen keeps changing broadly (a video ad recorded at a few frames a second)."""
        recent = sum(at_s - MOVING_EVERY_S < t <= at_s for t in self._broad_s)
        return MOVING_HOLD_S if recent >= MOVING_CHANGES else self.hold_s

    def _stamp(self, t_s: float, thumb: np.ndarray) -> float:
        """The time a settled picture is dated by: when its screen first showed, when it is another
        screen than the last analysed one (the analysis waited a frame for it to hold still)."""
        start, last = self._run_start, self._last
        if start is not None and last is not None and not framediff.same_screen(last.thumb, thumb) \
                and framediff.same_screen(start[1], thumb):
            return start[0]
        return t_s

    def _only_ticked(self, thumb: np.ndarray, image: np.ndarray) -> ScreenAnalysis | None:
        """The last analysis with its countdown read again, when nothing but the countdown changed
        (every changed cell lies where the last analysed frame showed its countdown); else None."""
        last = self._last_analysed
        if last is None or last.thumb is None or last.thumb.shape != thumb.shape:
            return None
        boxes = tick.ticking_boxes(last.analysis)
        if not boxes:
            return None
        cells = framediff.cell_changes(last.thumb, thumb) > framediff.CELL_CHANGE
        cell_px = framediff.CELL_PX * 8
        allowed = np.zeros(cells.shape, bool)
        for box in boxes:
            allowed[max(box.y // cell_px - 1, 0):box.y2 // cell_px + 2,
                    max(box.x // cell_px - 1, 0):box.x2 // cell_px + 2] = True
        if (cells & ~allowed).any():
            return None
        return tick.reread(image, last.analysis)

    def _analyse(self, t_s: float, image: np.ndarray, thumb: np.ndarray, stamp: bool = True) -> None:
        if self._last is not None and t_s <= self._last.t_s:
            return
        ticked = self._only_ticked(thumb, image)
        if ticked is not None:
            analysis = ticked
            self.walk.reread += 1
        elif float(thumb.std()) <= BLANK_MAX_STD:      # a blank or loading screen: nothing to read on it
            analysis = ScreenAnalysis((image.shape[1], image.shape[0]), self.display.density,
                                      ScreenKind("normal", 1.0, ["blank screen (not analysed)"]))
        else:
            started = time.perf_counter()
            analysis = analyze(image, self.display, rules=self.rules)
            self.walk.analysis_s += time.perf_counter() - started
            self.walk.analysed += 1
        t_s = self._stamp(t_s, thumb) if stamp else t_s
        self._held_until(t_s)
        frame = Frame(t_s, encode_jpeg(image), analysis, None, None, thumb, file=_label(t_s))
        small = cv2.resize(image, (STRIP_WIDTH_PX, round(image.shape[0] * STRIP_WIDTH_PX / image.shape[1])),
                           interpolation=cv2.INTER_AREA)
        self.walk.strip.append((t_s, encode_jpeg(small, 70)))
        self._pending = self._moving_since = self._run_start = None
        self._last_analysed = frame
        self._emit(frame)

    def _held_until(self, t_s: float) -> None:
        """Repeat the last frame at the sample right before a change dated ``t_s`` when it still showed
        that picture: a recording shows the screen continuously, so the change is bounded on both sides
        to a frame interval (a live check's screenshots leave the time between them unknown)."""
        last = self._last
        before = next(((s_t, thumb) for s_t, thumb in reversed(self.walk.samples) if s_t < t_s - 1e-6), None)
        if last is None or before is None or before[1] is None or before[0] <= last.t_s + 1e-6:
            return
        if not self._differs(last.thumb, before[1], before[0]):
            self._emit(replace(last, t_s=before[0], file=None, annotated=None, keep=None))

    def _emit(self, frame: Frame) -> None:
        last, self._last = self._last, frame
        self.walk.frames.append(frame)
        if last is None or _status(last) != _status(frame):
            # what verdicts date (an ad coming or going, its first close control, a prompt) lies here
            bisect.insort(self._judged_s, frame.t_s)
            if last is not None:
                bisect.insort(self._judged_s, last.t_s)
        self.on_frame(frame)

    # -- touch dots -----------------------------------------------------------------------------------
    def _look_for_touches(self, before, after) -> None:
        cells = framediff.cell_changes(before[2], after[2]) > framediff.CELL_CHANGE
        cell_px = framediff.CELL_PX * 8
        boxes = touchspots.candidate_boxes(cells, cell_px, self.density)
        if not boxes or len(boxes) > 4:
            return
        grey_a = cv2.cvtColor(before[1], cv2.COLOR_BGR2GRAY)
        grey_b = cv2.cvtColor(after[1], cv2.COLOR_BGR2GRAY)
        for box in boxes:
            spot = touchspots.find_spot(grey_a, grey_b, box, self.density)
            if spot is not None:
                fresh = self._note_spot(spot, after[0] if spot.appearing else before[0], cells.shape, cell_px)
                last = self._last
                if not fresh or last is None or last.t_s >= before[0]:
                    continue
                # the picture right before the touch, as the live prober takes and analyses it: the
                # tap's proof (on a video ad the last analysis may be most of a second old)
                if self._pending is None and not self._differs(last.thumb, before[2], before[0]):
                    self._emit(replace(last, t_s=before[0], file=None, annotated=None, keep=None))
                elif spot.appearing:
                    self._analyse(before[0], before[1], before[2], stamp=False)

    def _note_spot(self, spot: touchspots.Spot, seen_s: float, grid_shape, cell_px: int) -> bool:
        """Add a dot to its touch (a new touch when none is near in time and place); True if new."""
        near_px = TOUCH_NEAR_DP * self.density
        touch = next((t for t in reversed(self.walk.touches)
                      if seen_s - t.seen_s[-1] <= TOUCH_GAP_S
                      and np.hypot(t.x_px - spot.x_px, t.y_px - spot.y_px) <= near_px), None)
        fresh = touch is None
        if fresh:
            touch = Touch(seen_s, spot.x_px, spot.y_px, spot.radius_px)
            self.walk.touches.append(touch)
        touch.seen_s.append(seen_s)
        bisect.insort(self._judged_s, seen_s)
        if spot.appearing and not touch.appeared:
            touch.appeared, touch.t_s = True, min(touch.t_s, seen_s)
        # the cells under the dot (and its rim) are no change of the picture while it shows
        mask = np.zeros(grid_shape, bool)
        r = spot.radius_px * 1.3
        x1, x2 = int((spot.x_px - r) // cell_px), int((spot.x_px + r) // cell_px)
        y1, y2 = int((spot.y_px - r) // cell_px), int((spot.y_px + r) // cell_px)
        mask[max(y1, 0):y2 + 1, max(x1, 0):x2 + 1] = True
        replace_cells = self._spot_cells is None or self._spot_until < seen_s or self._spot_cells.shape != grid_shape
        self._spot_cells = mask if replace_cells else (self._spot_cells | mask)
        self._spot_until = seen_s + SPOT_LINGER_S
        return fresh

    # -- memory ---------------------------------------------------------------------------------------
    def _evict(self, now_s: float) -> None:
        """Let go of thumbnails and images far from anything the verdicts look at."""
        horizon, judged = now_s - EVICT_AFTER_S, self._judged_s

        def needed(t_s: float) -> bool:
            i = bisect.bisect_left(judged, t_s - NEEDED_NEAR_S)
            return i < len(judged) and judged[i] <= t_s + NEEDED_NEAR_S
        samples, frames = self.walk.samples, self.walk.frames
        while self._evict_at[0] < len(samples) and samples[self._evict_at[0]][0] < horizon:
            t_s, thumb = samples[self._evict_at[0]]
            if thumb is not None and not needed(t_s):
                samples[self._evict_at[0]] = (t_s, None)
            self._evict_at[0] += 1
        while self._evict_at[1] < len(frames) and frames[self._evict_at[1]].t_s < horizon:
            frame = frames[self._evict_at[1]]
            if frame.image and not needed(frame.t_s):
                if frame.file and frame.analysis.close_controls:
                    self._keep_candidate(frame)
                else:
                    frame.image = b""
            self._evict_at[1] += 1
        self._evicted_to = horizon

    def _keep_candidate(self, frame: Frame) -> None:
        """Keep the image of an analysed frame with a close control only while it is among the
        KEEP_CANDIDATES clearest and largest of those far from every event: the per-frame rules are
        judged on the clearest (``crawler.video.judge.best_frame``), which needs its image as evidence."""
        controls = frame.analysis.close_controls
        key = (round(max(c.confidence for c in controls), 2), max(c.box.area for c in controls))
        self._candidates.append((key, frame))
        self._candidates.sort(key=lambda kept: kept[0], reverse=True)
        for _, dropped in self._candidates[KEEP_CANDIDATES:]:
            dropped.image = b""
        del self._candidates[KEEP_CANDIDATES:]

    def finish(self) -> Walk:
        """The walk, once the last frame was added: a change still pending is analysed."""
        if self._pending is not None:
            t_s, image, thumb = self._pending
            self._analyse(t_s, image, thumb)
        elif self._last is not None and self._previous is not None and self._previous[0] > self._last.t_s:
            self._emit(replace(self._last, t_s=self._previous[0], file=None, annotated=None, keep=None))
        self._previous = self._pending = None
        return self.walk


def _status(frame: Frame) -> tuple[bool, bool, bool]:
    """What a frame shows that the verdicts care about: an ad or an ad cue, a prompt, a close control."""
    return frame.is_ad or frame.has_ad_cue, frame.kind == "permission", bool(frame.analysis.close_controls)


def _label(t_s: float) -> str:
    """How a frame is named in findings and reports: its time in the recording."""
    return f"{t_s:.3f} s"
