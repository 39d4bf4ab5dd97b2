"""One recording file walked frame by frame (``walk_video``), and what it showed, for JSON
(``recording_dict``); a launch of ``check --record`` judged from its recording (``judge_launch_video``).

Shared by ``splashaudit timeline`` and ``check --record`` (the check's observe launch recorded): the
same file gives the same timeline and findings whichever of the two reads it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from crawler.profiles import DeviceProfile
from crawler.video import decode, judge
from crawler.video.walk import Walker
from vision import Display
from vision.rules import RuleProfile
from vision.types import Finding

#: A recording this much narrower or wider than the profile's screen is that screen scaled (a phone's
#: recorder at 720p): its px per dp scales with it. Within it, the profile's density stands (1080 vs 1082).
SCALED_BEYOND = 0.03
#: The rules a recording with no touch in it can speak to (what a tap does needs a tap).
RECORDED_RULES = ("CLOSE_PRESENT", "CLOSE_SIZE", "CLOSE_CONTRAST", "CLOSE_POSITION", "AD_LABEL",
                  "PERMISSION_PURPOSE")


def display_for(info: decode.VideoInfo, profile: DeviceProfile | None, density: float | None) -> Display:
    size = (info.width_px, info.height_px)
    if profile is None:
        return Display(size[0], size[1], density)
    display = profile.display(size)
    if density is None:
        scale = info.width_px / profile.screen_px[0]
        density = profile.density * scale if abs(scale - 1) > SCALED_BEYOND else profile.density
    return Display(display.width_px, display.height_px, density, display.px_per_mm,
                   display.status_bar_dp, display.gesture_bar_dp)


def walk_video(path: Path, profile: DeviceProfile | None, density: float | None, rules: RuleProfile,
               progress=None):
    """(recording, info) of one video, or ``VideoError``."""
    capture, info = decode.open_video(path)
    display = display_for(info, profile, density)
    walker = Walker(display, rules, frame_interval_s=1 / min(max(info.fps, 1.0), decode.MAX_SAMPLE_HZ))
    started = time.perf_counter()
    try:
        for t_s, image in decode.frames(capture, info):
            why = walker.spent(t_s)
            if why is not None:
                walker.walk.cut_at_s, walker.walk.cut_why = t_s, why
                break
            walker.add(t_s, image)
            if progress is not None:
                progress(t_s, info)
    finally:
        capture.release()
    walk = walker.finish()
    walk.wall_s = round(time.perf_counter() - started, 2)
    used_density = display.density or info.width_px / 393
    return judge.read_recording(str(path), walk, used_density), info, display


def frame_dict(frame) -> dict:
    a = frame.analysis
    return {"t_s": round(frame.t_s, 3), "kind": a.screen.kind, "timeline_ad": frame.timeline_ad,
            "close_controls": [{"bbox": c.box.to_list(), "text": c.text} for c in a.close_controls],
            "countdown": a.countdown.seconds if a.countdown else None,
            "ad_label": a.ad_label.text if a.ad_label else None,
            "jump_buttons": [j.text for j in a.jump_buttons],
            "permission": None if a.permission is None else {
                "kind": a.permission.kind,
                "purpose": a.permission.purpose_overlay.text if a.permission.purpose_overlay else None},
            "left_app": frame.jump.detail if frame.jump else None}


def recording_dict(recording: judge.Recording, info: decode.VideoInfo, display: Display) -> dict:
    walk = recording.walk
    analysed = [f for f in walk.frames if f.file]
    return {"video": recording.name, "size_px": [info.width_px, info.height_px], "codec": info.codec,
            "fps": round(info.fps, 3), "duration_s": round(walk.end_s, 3), "density": display.density,
            "cut": walk.cut,
            "frames": {"looked_at": walk.looked_at, "analysed": walk.analysed, "countdown_reread": walk.reread,
                       "analysis_s": round(walk.analysis_s, 2), "wall_s": walk.wall_s},
            "timeline": [{"t_s": e.t_s, "what": e.what, "detail": e.detail} for e in recording.observe.events],
            "touches": recording.touches,
            "analysed_frames": [frame_dict(f) for f in analysed]}


@dataclass
class JudgedRecording:
    """The observe launch as its recording shows it: its timeline and findings (the recording's times)."""

    file: str
    source: str
    starts_at_s: float
    summary: dict
    findings: list[Finding]


def judge_launch_video(path: Path, source: str, starts_at_s: float, profile: DeviceProfile,
                       rules: RuleProfile, screen: Display,
                       returned: tuple[dict[int, float], float] | None = None) -> JudgedRecording:
    """Walk and judge the filed recording of a launch on ``screen`` (the display the check measured:
    a recorder that wrote a smaller picture has its px per dp scaled with it); raises
    ``decode.VideoError`` when the device's video cannot be read. A recording made of screenshots
    gives ``returned``: when each came back (s into the video) by its index on the video's grid, and
    that grid's rate (Hz)."""
    capture, info = decode.open_video(path)
    capture.release()
    density = screen.density * info.width_px / screen.width_px if screen.density else None
    walked, info, display = walk_video(path, profile, density, rules)
    if returned and returned[0]:
        _with_returns(walked, *returned)
    findings = judge.judge([walked], rules)
    summary = recording_dict(walked, info, display)
    summary["video"] = path.name
    return JudgedRecording(path.name, source, round(starts_at_s, 3), summary,
                           [f for f in findings if f.rule in RECORDED_RULES])


def _with_returns(recording, returned: dict[int, float], grid_hz: float) -> None:
    """A screenshot shows the screen as it was somewhere between when it was asked for (its place in
    the video) and when it came back: each sample and frame gets its return, so that a time read off
    them is bounded on both sides as in the live check (``probe_verdicts.close_delay_bounds``), not
    placed at the earlier, kinder end."""
    def back_s(t_s: float) -> float | None:
        return returned.get(round(t_s * grid_hz))

    launch = recording.observe
    launch.sample_returned_s = {t_s: r for t_s, _ in launch.samples if (r := back_s(t_s)) is not None}
    for frame in recording.walk.frames:
        frame.returned_s = back_s(frame.t_s)
