"""`splashaudit timeline`: judge screen recordings of app launches, frame by frame.

Each recording is read (``crawler.video.decode``), walked (``crawler.video.walk``: which frames to
analyse, the touches it shows) and judged as the live check's launches (``crawler.video.judge``).
A recording that cannot be read costs only its own entry: one line on stderr, exit code 2 at the end,
the others are still judged. Exit codes otherwise as ``analyze``: 1 when some rule is violated.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from crawler import atomic
from crawler.analyze_cmd import AnalyzeRun
from crawler.profiles import DeviceProfile
from crawler.serialize import finding_dict
from crawler.video import decode, judge, report
from crawler.video.walk import Walker
from vision import Display
from vision.rules import RuleProfile
from vision.types import worst_verdict

#: A recording this much narrower or wider than the profile's screen is that screen scaled (a phone's
#: recorder at 720p): its px per dp scales with it. Within it, the profile's density stands (1080 vs 1082).
SCALED_BEYOND = 0.03
#: Exit codes and their tally are `analyze`'s: an unreadable recording (2) wins over a violation (1).
TimelineRun = AnalyzeRun


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
            walker.add(t_s, image)
            if progress is not None:
                progress(t_s, info)
    finally:
        capture.release()
    walk = walker.finish()
    walk.wall_s = round(time.perf_counter() - started, 2)
    used_density = display.density or info.width_px / 393
    return judge.read_recording(str(path), walk, used_density), info, display


def run(paths: list[str], profile: DeviceProfile | None, density: float | None, rules: RuleProfile,
        json_path: Path | None, report_dir: Path | None, same_app: bool = False, on_result=None,
        progress=None) -> TimelineRun:
    """Judge every recording (or all as launches of one app: ``same_app``); write JSON and a report."""
    result, group, sections = TimelineRun(), [], []
    for given in paths:
        try:
            recording, info, display = walk_video(Path(given), profile, density, rules,
                                                  progress(given) if progress else None)
        except decode.VideoError as exc:
            print(f"splashaudit: {given}: {exc}", file=sys.stderr)
            result.errors += 1
            result.entries.append({"video": given, "error": str(exc)})
            _write_json(json_path, result)
            continue
        group.append((recording, info, display))
        if not same_app:
            _judge_group(group, rules, result, report_dir, sections, on_result)
            group = []
            _write_json(json_path, result)
    if group:
        _judge_group(group, rules, result, report_dir, sections, on_result)
    _write_json(json_path, result)
    if report_dir is not None:
        report.write_index(report_dir, result.entries, sections)
    return result


def _judge_group(group: list, rules: RuleProfile, result: TimelineRun, report_dir: Path | None,
                 sections: list, on_result) -> None:
    recordings = [r for r, _, _ in group]
    findings = judge.judge(recordings, rules)
    entry = {"videos": [recording_dict(r, info, display) for r, info, display in group],
             "findings": [finding_dict(f) for f in findings],
             "verdict": worst_verdict(f.verdict for f in findings)}
    result.violations += entry["verdict"] == "violation"
    if report_dir is not None:
        sections.append(report.section(report_dir, len(result.entries) + 1, recordings, entry))
    result.entries.append(entry)
    if on_result:
        on_result(entry)


def _frame_dict(frame) -> dict:
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
            "frames": {"looked_at": walk.looked_at, "analysed": walk.analysed, "countdown_reread": walk.reread,
                       "analysis_s": round(walk.analysis_s, 2), "wall_s": walk.wall_s},
            "timeline": [{"t_s": e.t_s, "what": e.what, "detail": e.detail} for e in recording.observe.events],
            "touches": recording.touches,
            "analysed_frames": [_frame_dict(f) for f in analysed]}


def _write_json(json_path: Path | None, result: TimelineRun) -> None:
    if json_path is not None:       # rewritten after each recording: a crash keeps what was done
        atomic.write_json(json_path, result.entries)
