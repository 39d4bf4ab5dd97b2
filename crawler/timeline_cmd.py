"""`splashaudit timeline`: judge screen recordings of app launches, frame by frame.

Each recording is read (``crawler.video.decode``), walked (``crawler.video.walk``: which frames to
analyse, the touches it shows) and judged as the live check's launches (``crawler.video.judge``).
A recording that cannot be read costs only its own entry: one line on stderr, exit code 2 at the end,
the others are still judged. Exit codes otherwise as ``analyze``: 1 when some rule is violated.
"""

from __future__ import annotations

import sys
from pathlib import Path

from crawler import atomic
from crawler.analyze_cmd import AnalyzeRun
from crawler.profiles import DeviceProfile
from crawler.serialize import finding_dict
from crawler.video import decode, judge, report
from crawler.video.files import recording_dict, walk_video
from vision.rules import RuleProfile
from vision.types import worst_verdict

#: Exit codes and their tally are `analyze`'s: an unreadable recording (2) wins over a violation (1).
TimelineRun = AnalyzeRun


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
        if recording.walk.cut_at_s is not None:
            print(f"splashaudit: {given}: judged up to {recording.walk.cut_at_s:.1f} s only: "
                  f"{recording.walk.cut_why}; split the recording to judge the rest", file=sys.stderr)
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


def _write_json(json_path: Path | None, result: TimelineRun) -> None:
    if json_path is not None:       # rewritten after each recording: a crash keeps what was done
        atomic.write_json(json_path, result.entries)
