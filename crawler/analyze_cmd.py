"""`splashaudit analyze`: judge screenshots on disk, write JSON and an HTML report."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from crawler import atomic, imagefiles, serialize
from crawler.profiles import DeviceProfile
from crawler.reports import annotate, html
from vision import Display, analyze
from vision.rules import RuleProfile

EXIT_OK, EXIT_VIOLATION, EXIT_INPUT = 0, 1, 2


@dataclass
class AnalyzeRun:
    """Results of one `analyze` run, in the order the images were given."""

    entries: list[dict] = field(default_factory=list)
    errors: int = 0
    violations: int = 0

    @property
    def exit_code(self) -> int:
        # Unreadable input wins: a CI gate must not pass because a screenshot was never looked at.
        if self.errors:
            return EXIT_INPUT
        return EXIT_VIOLATION if self.violations else EXIT_OK


def display_for(size_px: tuple[int, int], profile: DeviceProfile | None,
                density: float | None) -> Display:
    if profile is not None:
        display = profile.display(size_px)
        if density:
            return Display(display.width_px, display.height_px, density, display.px_per_mm,
                           display.status_bar_dp, display.gesture_bar_dp)
        return display
    return Display(size_px[0], size_px[1], density)


def _sibling_hierarchy(image_path: Path) -> str | None:
    """An Appium page source saved beside the screenshot (``shot.png`` + ``shot.xml``), if any."""
    xml = image_path.with_suffix(".xml")
    try:
        return xml.read_text("utf-8") if xml.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None


def run(paths: list[str], profile: DeviceProfile | None, density: float | None,
        rules: RuleProfile, json_path: Path | None, report_dir: Path | None,
        on_result=None) -> AnalyzeRun:
    """Analyse every image; a bad file costs only its own entry. ``on_result(entry)`` per image."""
    result = AnalyzeRun()
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
    for index, item in enumerate(imagefiles.collect(paths), start=1):
        try:
            image = imagefiles.read_bgr(item.path)
        except imagefiles.ImageInputError as exc:
            print(f"splashaudit: {item.given}: {exc}", file=sys.stderr)
            entry = serialize.error_dict(item.given, str(exc))
            result.errors += 1
        else:
            analysis = analyze(image, display_for((image.shape[1], image.shape[0]), profile, density),
                               hierarchy_xml=_sibling_hierarchy(item.path), rules=rules)
            entry = serialize.analysis_dict(item.given, analysis)
            result.violations += analysis.verdict == "violation"
            if report_dir is not None:
                name = f"{index:04d}-{Path(item.given).stem}.png"
                annotate.save_annotated(image, analysis, report_dir / name)
                entry["annotated"] = name
        result.entries.append(entry)
        if on_result:
            on_result(entry)
        if json_path is not None:   # rewritten after each image: a crash keeps what was done
            atomic.write_json(json_path, result.entries)
    if json_path is not None:
        atomic.write_json(json_path, result.entries)
    if report_dir is not None:
        write_report(report_dir, result)
    return result


def write_report(report_dir: Path, result: AnalyzeRun) -> Path:
    counts = {"violation": sum(e.get("verdict") == "violation" for e in result.entries),
              "warning": sum(e.get("verdict") == "warning" for e in result.entries),
              "error": result.errors}
    return html.write_page(report_dir / "index.html", "analyze_report.html",
                           entries=result.entries, counts=counts)
