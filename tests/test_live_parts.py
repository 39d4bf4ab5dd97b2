"""The watcher's helpers: frames compared by what changed where, the fair device lock, the evidence writer."""

import functools
import threading
import time

import cv2
import numpy as np
import pytest

from crawler.devices.faults import DeviceStalled
from crawler.live import framediff
from crawler.live.devicelock import DeviceLock
from crawler.live.evidence import EvidenceWriter


def _photo(seed: int = 1) -> np.ndarray:
    """A 1082 x 2402 photo-like frame: a gradient with waves and grain (a fresh copy each call)."""
    return _photo_once(seed).copy()


@functools.lru_cache(maxsize=2)
def _photo_once(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:2402, 0:1082].astype(np.float32)
    base = 120 + 60 * (x / 1082) - 40 * (y / 2402) + 22 * np.sin(x / 41) * np.cos(y / 67)
    grain = rng.integers(-8, 8, size=base.shape)
    grey = np.clip(base + grain, 0, 255).astype(np.uint8)
    return cv2.merge([grey, np.clip(grey + 30, 0, 255).astype(np.uint8), grey])


def _jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def test_a_small_pill_appearing_in_a_corner_of_a_photo_is_a_change():
    photo = _photo()
    with_pill = photo.copy()
    cv2.rectangle(with_pill, (856, 105), (1040, 189), (40, 40, 40), -1)      # 70 x 32 dp at 2.625
    cv2.putText(with_pill, "5", (960, 165), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (255, 255, 255), 3)
    a, b = framediff.thumbnail(_jpeg(photo)), framediff.thumbnail(_jpeg(with_pill))
    assert framediff.changed(a, b)
    assert framediff.same_screen(a, b)          # still the same screen, give or take a control
    # the old global histogram called these the same frame
    hist = [cv2.normalize(h, h).flatten() for h in (
        cv2.calcHist([cv2.imdecode(np.frombuffer(_jpeg(img), np.uint8), cv2.IMREAD_REDUCED_COLOR_8)],
                     [0, 1, 2], None, [8, 8, 8], [0, 256] * 3) for img in (photo, with_pill))]
    assert cv2.compareHist(hist[0], hist[1], cv2.HISTCMP_CORREL) >= 0.9995


def test_a_12dp_close_glyph_appearing_is_a_change_and_the_same_frame_is_not():
    photo = _photo()
    with_x = photo.copy()
    cv2.line(with_x, (1000, 80), (1031, 111), (255, 255, 255), 4)
    cv2.line(with_x, (1031, 80), (1000, 111), (255, 255, 255), 4)
    a = framediff.thumbnail(_jpeg(photo))
    assert framediff.changed(a, framediff.thumbnail(_jpeg(with_x)))
    assert not framediff.changed(a, framediff.thumbnail(_jpeg(photo)))


def test_another_screen_is_not_the_same_screen():
    a, b = framediff.thumbnail(_jpeg(_photo())), framediff.thumbnail(_jpeg(np.full((2402, 1082, 3), 240, np.uint8)))
    assert framediff.changed(a, b) and not framediff.same_screen(a, b)


def test_an_urgent_command_goes_before_the_samplers_next_screenshot():
    lock, order, stop = DeviceLock(), [], threading.Event()

    def sampler():
        while not stop.is_set():
            with lock.background():
                order.append("shot")
                time.sleep(0.05)

    thread = threading.Thread(target=sampler)
    thread.start()
    time.sleep(0.12)
    with lock:
        shots_before_tap = order.count("shot")
        order.append("tap")
    time.sleep(0.12)
    stop.set()
    thread.join()
    # the tap waited at most for the screenshot under way: no later shot came in between
    assert order.index("tap") <= shots_before_tap
    assert order.count("shot") > shots_before_tap


def test_a_command_that_never_comes_back_stalls_the_next_urgent_one_not_a_slow_one():
    lock, release = DeviceLock(stall_s=0.3), threading.Event()

    def hold(seconds: float):
        with lock.background():
            release.wait(seconds)

    slow = threading.Thread(target=hold, args=(0.1,))
    slow.start()
    time.sleep(0.02)
    with lock:                       # a slow screenshot is waited for
        pass
    slow.join()
    stuck = threading.Thread(target=hold, args=(10,))
    stuck.start()
    time.sleep(0.02)
    with pytest.raises(DeviceStalled, match="has not answered a command for 0 s"):
        with lock:
            pass
    assert lock.stalled_s() >= 0.3
    release.set()
    stuck.join()
    assert lock.stalled_s() is None and not lock.busy


def test_evidence_writer_runs_jobs_off_the_callers_thread_and_flush_waits_for_them(tmp_path):
    threads = []

    def slow_write(path):
        time.sleep(0.3)
        threads.append(threading.current_thread().name)
        path.write_text("x")

    with EvidenceWriter() as writer:
        started = time.monotonic()
        writer.submit(slow_write, tmp_path / "a")
        writer.submit(lambda: 1 / 0)
        assert time.monotonic() - started < 0.1          # the caller did not wait
        writer.flush()
        assert (tmp_path / "a").read_text() == "x"
    assert threads == ["evidence-writer"]
    assert writer.errors and "ZeroDivisionError" in writer.errors[0]


def test_a_late_close_is_dated_by_the_frames_between_two_analysed_ones():
    """The watcher analysed a ring-only frame at 0.3 s and a frame with the pill at 5.7 s; the
    thumbnails taken between them (every 0.3 s) say the pill came at 4.0 s, with a countdown ticking."""
    from crawler.watch import Frame, first_shown_s
    from vision.types import Box, ScreenAnalysis, ScreenKind

    def screen(t_s: float) -> np.ndarray:
        image = _photo()
        if t_s < 4.0:
            cv2.circle(image, (1000, 150), 50, (255, 255, 255), 5)
        else:
            cv2.rectangle(image, (856, 105), (1040, 189), (40, 40, 40), -1)
        cv2.putText(image, str(7 - int(t_s)), (950 if t_s < 4 else 980, 170), cv2.FONT_HERSHEY_SIMPLEX,
                    1.5, (255, 255, 255), 3)
        return image

    def frame(t_s):
        analysis = ScreenAnalysis((1082, 2402), 2.625, ScreenKind("splash_ad", 0.9))
        return Frame(t_s, b"", analysis, None, None, framediff.thumbnail(_jpeg(screen(t_s))))

    history = [(round(t, 2), framediff.thumbnail(_jpeg(screen(t)))) for t in np.arange(0.3, 6.0, 0.3)]
    shown = first_shown_s(history, frame(0.3), frame(5.7), Box(856, 105, 184, 84))
    assert 4.0 <= shown <= 4.3


def test_a_known_ad_screen_is_recognised_only_with_its_close_control_in_place():
    """Later launches know the observe launch's ad frames from a thumbnail; a frame where the pill has
    not come yet (a ring in its place) is not the frame with the pill, and a frame without a close is
    the known one without it only while nothing changed where a close showed in any known frame."""
    from crawler.probes import Prober
    from crawler.profiles import load_profile
    from crawler.watch import Frame
    from vision.rules import load_rule_profile
    from vision.types import Box, CloseControl, ScreenAnalysis, ScreenKind

    def screen(pill: bool, digit: str) -> np.ndarray:
        image = _photo()
        if pill:
            cv2.rectangle(image, (856, 105), (1040, 189), (40, 40, 40), -1)
        else:
            cv2.circle(image, (1000, 150), 50, (255, 255, 255), 5)
        cv2.putText(image, digit, (980, 170), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 3)
        return image

    pill = CloseControl(Box(856, 105, 184, 84), "text", "跳过 3", 0.9)
    with_pill = Frame(4.2, b"", ScreenAnalysis((1082, 2402), 2.625, ScreenKind("splash_ad", 0.9),
                                               close_controls=[pill]),
                      None, None, framediff.thumbnail(_jpeg(screen(True, "3"))))
    ring_only = Frame(0.3, b"", ScreenAnalysis((1082, 2402), 2.625, ScreenKind("splash_ad", 0.9)),
                      None, None, framediff.thumbnail(_jpeg(screen(False, "7"))))
    prober = Prober(None, "app", load_profile("chromium-phone").display((1082, 2402)), load_rule_profile())
    prober.known_ads = [with_pill, ring_only]
    assert prober._recognise(framediff.thumbnail(_jpeg(screen(True, "3")))) is with_pill
    faint = cv2.addWeighted(screen(True, "3"), 0.3, screen(False, "3"), 0.7, 0)      # a pill fading in
    assert prober._recognise(framediff.thumbnail(_jpeg(faint))) is ring_only          # not there yet
    # Most of the way in: the pill, known at a glance (analysing it took longer than the ad had left).
    nearly = cv2.addWeighted(screen(True, "3"), 0.7, screen(False, "7"), 0.3, 0)
    assert prober._recognise(framediff.thumbnail(_jpeg(nearly))) is with_pill
    assert prober._recognise(framediff.thumbnail(_jpeg(screen(True, "2")))) is not with_pill   # ticked: analyse
    assert prober._recognise(framediff.thumbnail(_jpeg(screen(False, "7")))) is ring_only
    # Where the pill will show, something changed: a ✕ growing there, or a ring that ticked, is analysed.
    assert prober._recognise(framediff.thumbnail(_jpeg(screen(False, "6")))) is None
    growing = screen(False, "7")                    # a ✕ in a dark disc, at 40% of its size
    cv2.circle(growing, (900, 147), 19, (40, 40, 40), -1)
    cv2.line(growing, (892, 139), (908, 155), (255, 255, 255), 2)
    cv2.line(growing, (908, 139), (892, 155), (255, 255, 255), 2)
    assert prober._recognise(framediff.thumbnail(_jpeg(growing))) is None
    assert prober._recognise(framediff.thumbnail(_jpeg(np.full((2402, 1082, 3), 240, np.uint8)))) is None

    # Seen live: the observe launch analysed the pill a tenth of a second into its fade-in and found it;
    # a frame with no pill yet must not pass for that one (a tap there hit nothing: a false violation).
    faint_known = Frame(3.6, b"", with_pill.analysis, None, None, framediff.thumbnail(_jpeg(faint)))
    prober.known_ads = [faint_known]
    assert prober._recognise(framediff.thumbnail(_jpeg(screen(False, "3")))) is None


def test_an_unchanged_screen_is_reported_at_the_first_screenshot_of_the_time_a_probe_asked_for(
        web_device, fixture_apps):
    """A watch window that ends between two of the watcher's periodic repeats is not overrun: a probe
    deciding at ``tap + 1.5 s`` gets the first screenshot taken then, not the next repeat."""
    from crawler.profiles import load_profile
    from crawler.watch import REPEAT_EVERY_S, Watcher
    from vision.rules import load_rule_profile

    web_device.cold_launch(fixture_apps.url("no_ad"))       # a static page: only repeats come
    watcher = Watcher(web_device, load_profile("chromium-phone").display(), load_rule_profile(),
                      web_device.foreground(), DeviceLock(), time.monotonic())
    seen, reported = 0, None
    for frame in watcher.frames(10.0):
        if watcher.due_s is not None:
            reported = frame
            break
        seen += 1
        if seen == 3:       # the first frame analysed, then two repeats: the loop's steady state
            watcher.due_s = frame.t_s + REPEAT_EVERY_S / 2
    taken = [t_s for t_s, _ in watcher.sampler.history]
    assert reported is not None
    assert reported.t_s == min(t_s for t_s in taken if t_s >= watcher.due_s)


def test_a_countdown_that_ticks_is_read_again_where_it_is_and_says_what_a_full_analysis_says(
        web_device, fixture_apps):
    from crawler.devices.base import decode_png
    from crawler.profiles import load_profile
    from crawler.watch import Watcher
    from vision import analyze
    from vision.rules import load_rule_profile

    web_device.cold_launch(fixture_apps.url("compliant"))    # a 5 s ad counting 跳过 5 ... 1
    rules, display = load_rule_profile(), load_profile("chromium-phone").display()
    watcher = Watcher(web_device, display, rules, web_device.foreground(), DeviceLock(), time.monotonic())
    reread = []
    for frame in watcher.frames(6.0):
        if "countdown read again" in frame.analysis.notes:
            reread.append(frame)
        if not frame.is_ad:
            break
    assert reread, "no tick of the countdown was read again in place"
    for frame in reread:
        full = analyze(decode_png(frame.image), display, rules=rules)
        assert [c.text for c in frame.analysis.close_controls] == [c.text for c in full.close_controls]
        assert frame.kind == full.screen.kind


def test_an_ad_without_a_close_is_not_analysed_again_when_its_screenshot_has_not_changed_a_byte(
        web_device, fixture_apps):
    """The observe launch looks at a close-less ad afresh every LOOK_AGAIN_S (a faint ✕ changes too few
    pixels for the frame diff), but a screenshot identical to the one analysed has nothing new, however
    faint: analysing it again only blinds the watcher for a second, which at a short ad's end left
    CLOSE_PRESENT unproven ("a late close may have been missed")."""
    from crawler.profiles import load_profile
    from crawler.watch import LOOK_AGAIN_S, Watcher
    from vision import analyze
    from vision.rules import load_rule_profile

    display = load_profile("chromium-phone").display()
    analyze(_photo(), display)      # the OCR models loaded before the ad, not during its first second
    web_device.cold_launch(fixture_apps.url("label_no_close"))   # a still photo ad, 4 s, no close
    watcher = Watcher(web_device, display, load_rule_profile(), web_device.foreground(), DeviceLock(),
                      time.monotonic())
    watcher.look_again_s = LOOK_AGAIN_S
    analysed, analyse = [], watcher.analyse
    watcher.analyse = lambda t_s, image, *a, **k: analysed.append(image) or analyse(t_s, image, *a, **k)
    ad_frames = []
    for frame in watcher.frames(8.0):
        if ad_frames and not frame.is_ad:
            break
        if frame.is_ad:
            ad_frames.append(frame)
    assert ad_frames, "the ad was not seen"
    assert len(analysed) == len(set(analysed)), "an identical screenshot was analysed twice"
    shots = [f.image for f in ad_frames]
    assert max(map(shots.count, shots)) >= 3, "the still ad's unchanged screenshots were not reported as such"
    assert ad_frames[-1].t_s - ad_frames[0].t_s > LOOK_AGAIN_S     # long enough to have looked again
