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

Memory does not grow with the video's length: thumbnails and frame images are kept whole only while
the walk is within KEEP_WHOLE_S of them, and what the verdicts later read off them is taken before
they go. Past it, a frame's thumbnail is kept once per picture (``Pictures``): a screen shown again
(the app's home, the same ad at the next launch) costs nothing more. Each frame carries since when the samples before it showed its screen (``Frame.shown_from_s``,
what ``screen_since_s`` dates by); a touch's proof (the sample before it, and those up to the next
frame) is kept as the thumbnail of the frame before the touch when it showed the same screen, else as
no screen at all; only the samples the first close control and the first tap on one are dated by stay
whole (two windows of a few seconds). Images stay for the first ad frame, the frames around the first
touches (the report's evidence) and, per place a close control showed, the KEEP_CANDIDATES clearest
frames (the per-frame rules are judged on the clearest). A thumbnail is shared by the samples and
frames that show the same picture.

What still grows is bounded by a budget: a picture that never repeats (a video ad playing for an hour)
keeps one thumbnail, analysis and strip picture per analysed frame (about 25 KB at 1080 x 2400), and
every frame looked at a sample. Past MAX_ANALYSED analyses or MAX_WALK_S the walk stops and says where
(``Walker.spent``): the rest of the recording is not judged, and the command says so.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from crawler.probe_verdicts import control_clarity
from crawler.watch import Frame, look_again
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
#: Thumbnails and frame images are kept whole while the walk is within this of them: a frame is
#: emitted at most a second or two after the picture it shows, and a touch is read once SETTLED_S passed.
KEEP_WHOLE_S = 10.0
#: A touch's dot comes and goes, and the first frame after it is emitted, within this (then it is read).
SETTLED_S = 3.0
#: The samples this far before and after the first close control and the first tap on one stay whole:
#: the close is dated back to the frame before it (up to the frame interval of a slow recording), the
#: tap's outcome read over CLOSE_EFFECTIVE's dismiss and re-pop watches after it (plus TAP_WATCH_SLACK_S).
FIRST_CLOSE_BEFORE_S, TAP_BEFORE_S, TAP_WATCH_SLACK_S = 3.0, 3.0, 2.0
#: Of the analysed frames showing a close control in one place, this many (the clearest) keep their
#: image; at most CONTROL_PLACES places are told apart.
KEEP_CANDIDATES, CONTROL_PLACES = 6, 16
#: A touch within this many dp of a close control's box is a touch on it.
CONTROL_MARGIN_DP = 8.0
#: What a let-go sample is kept as when it did not show the screen a touch's proof compares it with.
NO_SCREEN = np.zeros((1, 1), np.uint8)
#: A thumbnail this flat (grey standard deviation) is a blank or loading screen: not analysed.
BLANK_MAX_STD = 4.0
#: Evidence images are kept as JPEG at this quality; the report's strip uses tiny copies.
IMAGE_JPEG_QUALITY, STRIP_WIDTH_PX = 90, 72
#: The frames around this many first touches keep their image (the report shows at most ten frames).
EVIDENCE_TOUCHES = 10
#: What a walk holds past KEEP_WHOLE_S grows with the frames it analysed (an analysis, a strip picture,
#: a thumbnail each: about 25 KB at 1080 x 2400) and with the time it walked (a sample per frame looked
#: at, a frame each REPEAT_EVERY_S). Past either budget the walk stops, and what it walked is judged,
#: marked as cut (``Walk.cut_at_s``): 1000 analyses are over a quarter of an hour of a video ad
#: changing throughout, or a hundred launches' ads and screens.
MAX_ANALYSED, MAX_WALK_S = 1000, 7200.0
#: The first ad frame and the first close control on a screen vision does not call an ad are kept at
#: most this many times, waiting for one vision calls an ad.
FIRST_PINS = 4


class Pictures:
    """The thumbnails a walk keeps once it passed them, one per picture: a frame or proof showing a
    picture kept before (no cell changed, as ``Walker.add`` tells two pictures apart) shares that
    one's thumbnail, so what stays grows with the pictures a recording shows, not with its length."""

    #: Thumbnails are filed by their mean grey in bins this wide; two of one picture differ by at most
    #: CELL_CHANGE in every cell, so in mean, and sit in the same bin or the next.
    BIN_GREY = 8

    def __init__(self) -> None:
        self._bins: dict[int, list[np.ndarray]] = {}
        self.kept = 0

    def one_of(self, thumb: np.ndarray | None) -> np.ndarray | None:
        """The kept thumbnail of the picture ``thumb`` shows (``thumb`` itself, kept, if none is)."""
        if thumb is None or thumb.size <= 1:
            return thumb
        key = int(thumb.mean()) // self.BIN_GREY
        for near in (key, key - 1, key + 1):
            for kept in self._bins.get(near, ()):
                if kept is thumb or (kept.shape == thumb.shape and not framediff.changed(kept, thumb)):
                    return kept
        self._bins.setdefault(key, []).append(thumb)
        self.kept += 1
        return thumb


@dataclass
class Touch:
    """A touch shown by its dot: first seen at ``t_s``, at (x_px, y_px) of the recording."""

    t_s: float
    x_px: float
    y_px: float
    radius_px: float
    seen_s: list[float] = field(default_factory=list)
    appeared: bool = False          # its dot was seen appearing (not only fading)
    read: bool = False              # its proof was taken from the samples (see Walker._read_touch)


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
    cut_at_s: float | None = None   # the walk stopped here, its budget spent (MAX_ANALYSED, MAX_WALK_S)
    cut_why: str | None = None

    @property
    def cut(self) -> dict | None:
        """Where and why the walk stopped short of the recording's end, for JSON and the report."""
        return None if self.cut_at_s is None else {"at_s": round(self.cut_at_s, 3), "why": self.cut_why}


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
        self._analysed_s = -1.0                         # when the last full analysis' frame was shown
        self._pending: tuple[float, np.ndarray, np.ndarray] | None = None
        self._moving_since: float | None = None
        self._previous: tuple[float, np.ndarray, np.ndarray] | None = None   # the frame looked at before
        self._run_start: tuple[float, np.ndarray] | None = None       # when the pending change began
        self._spot_cells: np.ndarray | None = None
        self._spot_until = -1.0
        self._evict_at = [0, 0]                         # next sample and frame to consider letting go
        self._read_upto = 0                             # the touches before this one are all read
        self._whole: list[tuple[float, float]] = []     # spans of samples kept whole (first close, first tap)
        self._proofs: dict[int, np.ndarray | None] = {}     # sample index -> what it is kept as (None: whole)
        self._keep_images: set[int] = set()             # id() of frames whose image the evidence needs
        self._first_ad_seen = self._close_dated = self._close_tapped = False
        self._pins = [0, 0]                             # first ad frames and first close controls kept
        self._run: tuple[np.ndarray, float, float] | None = None    # see _shown_from
        self._broad_s: list[float] = []                 # times of recent broad changes (see BROAD_SHARE)
        self._places: list[tuple[object, list[tuple[tuple, Frame]]]] = []    # see _keep_candidate
        self._pictures = Pictures()                     # the thumbnails kept past KEEP_WHOLE_S

    # -- one frame ------------------------------------------------------------------------------------
    def spent(self, t_s: float) -> str | None:
        """Why the walk can take no frame at ``t_s`` within its memory budget, or None while it can."""
        if len(self.walk.strip) >= MAX_ANALYSED:
            return f"{MAX_ANALYSED} frames analysed (the memory budget of one walk)"
        if t_s >= MAX_WALK_S:
            return f"{MAX_WALK_S / 60:g} minutes walked (the memory budget of one walk)"
        return None

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
        for touch in self._unread():
            if t_s - touch.t_s >= SETTLED_S and self._frame_after(touch.t_s) is not None:
                self._read_touch(touch)
        self._evict(t_s - KEEP_WHOLE_S)

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
            if self._look_again(t_s):
                self._analyse(t_s, image, thumb)
            elif t_s - last.t_s >= REPEAT_EVERY_S:
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

    def _look_again(self, t_s: float) -> bool:
        """Whether the last frame is an ad with no close control found whose last full analysis was
        LOOK_AGAIN_S or more before ``t_s``: looked at afresh, as the live watcher does."""
        return look_again(self._last, t_s, self._analysed_s)

    def _only_ticked(self, thumb: np.ndarray, image: np.ndarray) -> ScreenAnalysis | None:
        """The last analysis with its countdown read again, when nothing but the countdown changed
        since the last analysed frame; else None."""
        last = self._last_analysed
        if last is None or not tick.only_ticked(last.analysis, last.thumb, thumb):
            return None
        return tick.reread(image, last.analysis, self.display, self.rules)

    def _analyse(self, t_s: float, image: np.ndarray, thumb: np.ndarray, stamp: bool = True) -> None:
        if self._last is not None and t_s <= self._last.t_s:
            return
        ticked = None if self._look_again(t_s) else self._only_ticked(thumb, image)
        if ticked is not None:
            analysis = ticked
            self.walk.reread += 1
        elif float(thumb.std()) <= BLANK_MAX_STD:      # a blank or loading screen: nothing to read on it
            analysis = ScreenAnalysis((image.shape[1], image.shape[0]), self.display.density,
                                      ScreenKind("normal", 1.0, ["blank screen (not analysed)"]))
        else:
            started = time.perf_counter()
            analysis = analyze(image, self.display, rules=self.rules)
            self._analysed_s = t_s
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
        frame.shown_from_s = self._shown_from(frame)
        self.walk.frames.append(frame)
        ad, _, close = _status(frame)
        # What a screen not yet called an ad shows may turn out to be the ad's (``timeline.place_all``):
        # the firsts are kept until one on a screen vision calls an ad, at most FIRST_PINS times.
        if ad and not self._first_ad_seen and (last is None or not _status(last)[0]):
            self._keep_images.add(id(frame))       # the report's first ad frame
            self._pins[0] += 1
            self._first_ad_seen = frame.is_ad or self._pins[0] >= FIRST_PINS
        if close and not self._close_dated and (last is None or not _status(last)[2]):
            # the first close control is dated by the samples since the frame before it
            self._whole.append((frame.t_s - FIRST_CLOSE_BEFORE_S, frame.t_s))
            self._keep_images.update(id(f) for f in (frame, last) if f is not None)
            self._pins[1] += 1
            self._close_dated = frame.is_ad or self._pins[1] >= FIRST_PINS
        self.on_frame(frame)

    def _shown_from(self, frame: Frame) -> float:
        """The earliest sample of the unbroken run before ``frame`` that shows its screen (its own time
        when the sample right before it does not), while they are whole: what ``screen_since_s`` dates
        by. A repeat of the last frame's picture goes on from the run found for it (``_run``: its
        thumbnail, up to when the run was walked, where it began)."""
        samples, thumb, since = self.walk.samples, frame.thumb, frame.t_s
        run = self._run if self._run is not None and self._run[0] is thumb and frame.t_s >= self._run[1] else None
        i = len(samples)
        while i > 0 and samples[i - 1][0] >= frame.t_s:
            i -= 1
        while i > 0:
            t_s, sample = samples[i - 1]
            if run is not None and t_s < run[1]:
                since = min(since, run[2])
                break
            if sample is None or not (sample is thumb or framediff.same_screen(sample, thumb)):
                break
            since, i = t_s, i - 1
        self._run = (thumb, frame.t_s, since)
        return since

    # -- touch dots -----------------------------------------------------------------------------------
    def _look_for_touches(self, before, after) -> None:
        cells = framediff.cell_changes(before[2], after[2]) > framediff.CELL_CHANGE
        cell_px = framediff.CELL_PX * framediff.THUMB_SCALE
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
    def _unread(self) -> list[Touch]:
        """The touches whose samples are not read yet: looked for past the leading read ones, since the
        walk asks on every frame and a long recording holds hundreds of touches."""
        touches = self.walk.touches
        while self._read_upto < len(touches) and touches[self._read_upto].read:
            self._read_upto += 1
        return [t for t in touches[self._read_upto:] if not t.read]

    def _frame_after(self, t_s: float) -> Frame | None:
        """The first frame after ``t_s`` (frames are emitted in time order: looked for from the end)."""
        after = None
        for frame in reversed(self.walk.frames):
            if frame.t_s <= t_s:
                break
            after = frame
        return after

    def _read_touch(self, touch: Touch) -> None:
        """Take what the verdicts read of a touch off its samples while they are whole: the one right
        before it and those up to the next frame are compared only with the frame before the touch (is
        the proof the screen it shows; was the ad still shown after a body tap), so each is kept as that
        frame's thumbnail when it showed the same screen, else as NO_SCREEN. The first tap on a close
        control keeps its samples whole: its outcome reads them against every ad frame."""
        touch.read = True
        frames, samples = self.walk.frames, self.walk.samples
        before = next((f for f in reversed(frames) if f.t_s < touch.t_s), None)
        after = self._frame_after(touch.t_s)
        if before is None or before.thumb is None:
            return
        if self.walk.touches.index(touch) < EVIDENCE_TOUCHES:
            # the report's frames around the first touches
            self._keep_images.update(id(f) for f in (before, after) if f is not None)
        if not self._close_tapped and on_close_control(touch, before, self.density) is not None:
            self._close_tapped = True
            rule = self.rules["CLOSE_EFFECTIVE"]
            self._whole.append((touch.t_s - TAP_BEFORE_S, touch.t_s + rule["dismiss_within_s"]
                                + rule["repop_watch_s"] + TAP_WATCH_SLACK_S))
            self._keep_images.add(id(before))
        i = bisect.bisect_left(samples, touch.t_s, key=lambda sample: sample[0])
        until_s = after.t_s if after is not None else samples[-1][0]
        read = [i - 1] if i > 0 else []
        while i < len(samples) and samples[i][0] <= until_s:
            read.append(i)
            i += 1
        for i in read:
            thumb = samples[i][1]
            if thumb is None or i < self._evict_at[0]:
                continue
            kept = before.thumb if thumb is before.thumb or framediff.same_screen(thumb, before.thumb) else NO_SCREEN
            # a sample two touches read against different frames stays whole
            self._proofs[i] = kept if self._proofs.get(i, kept) is kept else None

    def _evict(self, horizon_s: float) -> None:
        """Let go of the thumbnails and images the walk has passed by KEEP_WHOLE_S (see the module)."""
        unread = [t.t_s for t in self._unread()]
        if unread:      # a touch's samples are read once it settled: wait for them
            horizon_s = min(horizon_s, min(unread) - TAP_BEFORE_S)
        samples, frames = self.walk.samples, self.walk.frames
        while self._evict_at[0] < len(samples) and samples[self._evict_at[0]][0] < horizon_s:
            i = self._evict_at[0]
            t_s, thumb = samples[i]
            read, kept = i in self._proofs, self._proofs.pop(i, None)
            if any(start <= t_s <= end for start, end in self._whole):
                pass
            elif not read:
                samples[i] = (t_s, None)
            else:       # its own picture when two touches read it against different frames (kept None)
                samples[i] = (t_s, self._pictures.one_of(thumb if kept is None else kept))
            self._evict_at[0] += 1
        while self._evict_at[1] < len(frames) and frames[self._evict_at[1]].t_s < horizon_s:
            frame = frames[self._evict_at[1]]
            if frame is not self._last and frame is not self._last_analysed:   # (still compared with)
                frame.thumb = self._pictures.one_of(frame.thumb)
            if frame.image and id(frame) not in self._keep_images:
                if frame.file and frame.analysis.close_controls:
                    self._keep_candidate(frame)
                else:
                    frame.image = b""
            self._evict_at[1] += 1

    def _keep_candidate(self, frame: Frame) -> None:
        """Keep the image of an analysed frame with a close control only while it is among the
        KEEP_CANDIDATES clearest (``control_clarity``, then the earliest) of the frames with a control
        in the same place: the per-frame rules are judged on the clearest frame of the control chosen
        (``crawler.probe_verdicts.settled_frame``), which needs its image."""
        controls = frame.analysis.close_controls
        key = max(control_clarity(c) for c in controls)
        kept_in = 0
        for control in controls:
            place = next((p for p in self._places if p[0].iou(control.box) >= 0.3), None)
            if place is None and len(self._places) < CONTROL_PLACES:
                place = (control.box, [])
                self._places.append(place)
            if place is None or any(f is frame for _, f in place[1]):
                continue
            place[1].append((key, frame))
            place[1].sort(key=lambda kept: kept[0], reverse=True)     # stable: the earliest of equals first
            dropped = place[1][KEEP_CANDIDATES:]
            del place[1][KEEP_CANDIDATES:]
            kept_in += all(f is not frame for _, f in dropped)
            for _, other in dropped:
                if other is not frame and not any(f is other for p in self._places for _, f in p[1]):
                    other.image = b""
        if not kept_in:
            frame.image = b""

    def finish(self) -> Walk:
        """The walk, once the last frame was added: a change still pending is analysed."""
        if self._pending is not None:
            t_s, image, thumb = self._pending
            self._analyse(t_s, image, thumb)
        elif self._last is not None and self._previous is not None and self._previous[0] > self._last.t_s:
            self._emit(replace(self._last, t_s=self._previous[0], file=None, annotated=None, keep=None))
        self._previous = self._pending = None
        for touch in self._unread():
            self._read_touch(touch)
        return self.walk


def on_close_control(touch: Touch, frame: Frame, density: float):
    """The close control of ``frame`` the touch landed on (within CONTROL_MARGIN_DP), or None."""
    for control in frame.analysis.close_controls:
        box = control.touch_box or control.box
        if box.contains(touch.x_px, touch.y_px, CONTROL_MARGIN_DP * density):
            return control
    return None


def _status(frame: Frame) -> tuple[bool, bool, bool]:
    """What a frame shows that the verdicts care about: an ad or an ad cue, a prompt, a close control."""
    return frame.is_ad or frame.has_ad_cue, frame.kind == "permission", bool(frame.analysis.close_controls)


def _label(t_s: float) -> str:
    """How a frame is named in findings and reports: its time in the recording."""
    return f"{t_s:.3f} s"
