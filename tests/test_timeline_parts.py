"""`splashaudit timeline`'s parts on drawn frames: touch dots told from controls, unreadable recordings
told apart, the report's escaping. Cheap: no analysis, no browser."""

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from crawler.video import decode, report
from vision import touchspots

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
from record_videos import draw_touch_spot  # noqa: E402  (the fixture recorder's "show taps" dot)

DENSITY = 2.625


def _photo(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:900, 0:1082].astype(np.float32)
    base = 130 + 50 * (x / 1082) - 40 * (y / 900) + 22 * np.sin(x / 41) * np.cos(y / 67)
    grey = np.clip(base + rng.integers(-8, 8, size=base.shape), 0, 255).astype(np.uint8)
    return cv2.merge([grey, np.clip(grey.astype(int) + 40, 0, 255).astype(np.uint8), grey])


def _find(before: np.ndarray, after: np.ndarray):
    """What the walker does: changed cells of the thumbnails, then a look at full size."""
    from vision import framediff
    cells = framediff.cell_changes(framediff.thumbnail_of(before), framediff.thumbnail_of(after)) > 5.0
    grey = [cv2.cvtColor(i, cv2.COLOR_BGR2GRAY) for i in (before, after)]
    boxes = touchspots.candidate_boxes(cells, 32, DENSITY)
    return [s for s in (touchspots.find_spot(*grey, box, DENSITY) for box in boxes) if s is not None]


@pytest.mark.parametrize("background", ["photo", "orange", "white"])
def test_a_show_taps_dot_is_found_where_it_was_drawn_appearing_and_fading(background):
    before = {"photo": _photo(), "orange": np.full((900, 1082, 3), (54, 90, 255), np.uint8),
              "white": np.full((900, 1082, 3), 255, np.uint8)}[background]
    down = before.copy()
    draw_touch_spot(down, 540, 450, DENSITY, 1.0)
    fading = before.copy()
    draw_touch_spot(fading, 540, 450, DENSITY, 0.4)
    spots = _find(before, down)
    assert len(spots) == 1 and spots[0].appearing
    assert abs(spots[0].x_px - 540) < 8 and abs(spots[0].y_px - 450) < 8
    faded = _find(down, fading)
    assert len(faded) == 1 and not faded[0].appearing


def test_controls_appearing_are_not_touches():
    photo = _photo()
    pill = photo.copy()                       # a 跳过 pill (70 x 32 dp) appearing in the corner
    cv2.rectangle(pill, (856, 105), (1040, 189), (40, 40, 40), -1)
    cv2.putText(pill, "5", (960, 165), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (255, 255, 255), 3)
    ticked = pill.copy()                      # its countdown ticking
    cv2.rectangle(ticked, (950, 120), (1000, 175), (40, 40, 40), -1)
    cv2.putText(ticked, "4", (960, 165), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (255, 255, 255), 3)
    circle = photo.copy()                     # a ✕ in an opaque white 36 dp circle (a pop-up's close)
    cv2.circle(circle, (540, 700), 47, (255, 255, 255), -1)
    cv2.line(circle, (520, 680), (560, 720), (60, 60, 60), 4)
    cv2.line(circle, (560, 680), (520, 720), (60, 60, 60), 4)
    assert _find(photo, pill) == [] and _find(pill, ticked) == [] and _find(photo, circle) == []


def test_a_recording_cut_short_and_a_corrupt_one_are_told_apart(tmp_path):
    good = tmp_path / "good.mp4"
    writer = cv2.VideoWriter(str(good), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"mp4v"), 15, (320, 640))
    for i in range(10):
        writer.write(np.full((640, 320, 3), 20 * i, np.uint8))
    writer.release()
    capture, info = decode.open_video(good)
    assert [round(t, 3) for t, _ in decode.frames(capture, info)][:3] == [0.0, 0.067, 0.133]
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(decode.VideoError, match="truncated"):
        decode.open_video(cut)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(decode.VideoError, match="not a video OpenCV can read"):
        decode.open_video(junk)
    with pytest.raises(decode.VideoError, match="empty"):
        (tmp_path / "empty.webm").write_bytes(b"")
        decode.open_video(tmp_path / "empty.webm")


def test_the_report_escapes_what_the_app_shows(tmp_path):
    hostile = "<script>alert(1)</script>"
    section = {"number": 1, "verdict": "violation",
               "findings": [{"rule": "CLOSE_PRESENT", "verdict": "violation", "message": hostile, "evidence": {}}],
               "videos": [{"name": f"{hostile}.mp4", "frames": [], "touches": [],
                           "strip": {"duration_s": 3.0, "thumbs": [], "spans": [{"left": 10, "width": 50}],
                                     "events": [{"left": 20, "t_s": 0.6, "what": "touch", "kind": "touch",
                                                 "detail": hostile}]}}]}
    page = report.write_index(tmp_path, [{"verdict": "violation"}], [section]).read_text()
    assert hostile not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- memory of a long walk --------------------------------------------------------------------------
AD_CLOSE_PX = (456, 36, 60, 60)      # where the drawn ad's ✕ is (x, y, w, h at 540 x 1200)


def _stub_analysis(image, display, rules=None):
    """What vision would say of the drawn screens, told by their corner mark (the walk is under test)."""
    from vision.types import Box, CloseControl, ScreenAnalysis, ScreenKind
    if image[:8, :8].mean() < 128:
        return ScreenAnalysis((image.shape[1], image.shape[0]), display.density, ScreenKind("normal", 0.9))
    close = CloseControl(Box(*AD_CLOSE_PX), "glyph", "✕", 0.9)
    return ScreenAnalysis((image.shape[1], image.shape[0]), display.density, ScreenKind("splash_ad", 0.9), [close])


def _ad_dense(seconds: float, fps: int = 30):
    """(t_s, picture) of a recording where an ad comes every 5 s: 1 s of the app, 2 s of a video ad
    (new in every frame; the same video each time, as one ad shown at each launch), 2 s of its end
    card, whose ✕ is tapped (a "show taps" dot) 1 s in."""
    app = cv2.resize(_photo(5), (540, 1200))
    app[:8, :8] = 0
    card = cv2.resize(_photo(7), (540, 1200))
    card[:8, :8] = 255
    x, y, w, h = AD_CLOSE_PX
    for i in range(int(seconds * fps)):
        t_s = i / fps
        phase = t_s % 5
        if phase < 1:
            picture = app.copy()
        elif phase < 3:
            played = i % (5 * fps)
            picture = np.roll(card, shift=(3 * played, 2 * played), axis=(0, 1))
            picture[:8, :8] = 255
        else:
            picture = card.copy()
            if 4 <= phase < 4.3:
                draw_touch_spot(picture, x + w / 2, y + h / 2, DENSITY / 2, 1.0 - (phase - 4) / 0.3)
        yield t_s, picture


def _walked(seconds: float, monkeypatch):
    from crawler.video import walk
    from vision import Display
    from vision.rules import load_rule_profile
    monkeypatch.setattr(walk, "analyze", _stub_analysis)
    walker = walk.Walker(Display(540, 1200, DENSITY / 2), load_rule_profile())
    for t_s, picture in _ad_dense(seconds):
        walker.add(t_s, picture)
    return walker.finish()


def _kept(walked) -> tuple[int, int]:
    """(distinct thumbnails of samples and frames, frame images) a walk still holds."""
    thumbs = {id(t) for _, t in walked.samples if t is not None and t.size > 1}
    thumbs |= {id(f.thumb) for f in walked.frames if f.thumb is not None and f.thumb.size > 1}
    return len(thumbs), len({id(f.image) for f in walked.frames if f.image})


def test_a_long_ad_dense_walk_keeps_no_more_than_a_short_one(monkeypatch):
    """Ads, closes and touches every few seconds: what is kept whole stays under one fixed bound."""
    from dataclasses import replace

    from crawler.video import walk
    from crawler.watch import screen_since_s
    short, long = _walked(40, monkeypatch), _walked(160, monkeypatch)
    assert len(long.touches) >= 30 and len(long.samples) == 160 * 30
    cap_thumbs = 30 * (walk.KEEP_WHOLE_S + walk.TAP_BEFORE_S + walk.FIRST_CLOSE_BEFORE_S + 10)
    for walked in (short, long):
        thumbs, images = _kept(walked)
        assert thumbs <= cap_thumbs and images <= 60, (thumbs, images)
    assert _kept(long)[0] <= _kept(short)[0] + 10     # the same pictures again cost nothing more
    # what was dated while the samples were whole is what they date: each ad's end, as the judge asks
    monkeypatch.setattr(walk, "KEEP_WHOLE_S", 1e9)
    whole = _walked(160, monkeypatch)
    assert [f.t_s for f in whole.frames] == [f.t_s for f in long.frames]
    for kept, every in zip(long.frames[1:], whole.frames[1:]):
        for after_s in (0.0, every.t_s - 1.0):
            walked_back = replace(every, shown_from_s=None)        # thumbnails compared, as the live check does
            assert screen_since_s(long.samples, kept, after_s) == screen_since_s(whole.samples, walked_back, after_s)
