"""`splashaudit check`: run the probe plan on one app and write result.json, frames and report.html.

Results are written after every launch, so an interrupted check (Ctrl-C, a lost device) leaves what
it gathered on disk; the Appium server it started is stopped on every path out.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from crawler import atomic
from crawler.appium_server import AppiumServer, EnvironmentProblem, require_appium
from crawler.devices import DeviceError, open_device
from crawler.probe_verdicts import judge_launches
from crawler.probes import Launch, ProbeSettings, Prober
from crawler.profiles import DeviceProfile
from crawler.reports import annotate, html
from crawler.serialize import finding_dict
from crawler.watch import Frame
from vision import Display, ocr
from vision.rules import RuleProfile
from vision.types import worst_verdict

EXIT_OK, EXIT_VIOLATION, EXIT_USAGE, EXIT_ENVIRONMENT = 0, 1, 2, 3


@dataclass
class CheckResult:
    app: str
    platform: str
    device: dict
    launches: list[Launch] = field(default_factory=list)
    findings: list = field(default_factory=list)
    started_s: float = field(default_factory=time.time)
    finished_s: float | None = None
    error: str | None = None
    interrupted: bool = False

    @property
    def verdict(self) -> str:
        return worst_verdict(f.verdict for f in self.findings)

    @property
    def exit_code(self) -> int:
        if self.verdict == "violation":
            return EXIT_VIOLATION
        return EXIT_ENVIRONMENT if self.error else EXIT_OK


def _frame_dict(frame: Frame) -> dict:
    a = frame.analysis
    return {"t_s": round(frame.t_s, 2), "file": frame.file, "kind": a.screen.kind,
            "close_controls": [{"bbox": c.box.to_list(), "text": c.text} for c in a.close_controls],
            "countdown": a.countdown.seconds if a.countdown else None,
            "foreground": frame.foreground.identity if frame.foreground else None,
            "jump": frame.jump.detail if frame.jump and frame.jump.jumped else None}


def _launch_dict(launch: Launch) -> dict:
    fg = lambda f: None if f is None else {"identity": f.identity, "package": f.package,  # noqa: E731
                                           "windows": f.window_count}
    return {"index": launch.index, "kind": launch.kind, "outcome": launch.outcome, "error": launch.error,
            "action": launch.action, "foreground_before": fg(launch.foreground_before),
            "foreground_after": fg(launch.foreground_after), "duration_s": launch.duration_s,
            "frames_sampled_per_s": launch.sampled_per_s, "frames_analysed": launch.analysed,
            "events": [{"t_s": e.t_s, "what": e.what, "detail": e.detail} for e in launch.events],
            "frames": [_frame_dict(f) for f in launch.frames]}


def result_dict(result: CheckResult) -> dict:
    return {"app": result.app, "platform": result.platform, "device": result.device,
            "verdict": result.verdict, "error": result.error, "interrupted": result.interrupted,
            "findings": [finding_dict(f) for f in result.findings],
            "launches": [_launch_dict(l) for l in result.launches],
            "timings": {"started": result.started_s, "finished": result.finished_s,
                        "wall_s": round((result.finished_s or time.time()) - result.started_s, 2)}}


class Evidence:
    """Keeps the frames worth filing: the first frame of each new screen state, and any jump."""

    def __init__(self, out_dir: Path):
        self.frames_dir = out_dir / "frames"
        self.frames_dir.mkdir(parents=True, exist_ok=True)

    def keep(self, launch: Launch, frame: Frame) -> None:
        previous = launch.frames[-2] if len(launch.frames) > 1 else None
        changed = previous is None or previous.kind != frame.kind or (frame.jump and frame.jump.jumped) \
            or bool(previous.analysis.close_controls) != bool(frame.analysis.close_controls)
        if not changed or frame.png is (previous.png if previous else None):
            return
        name = f"launch{launch.index}-{frame.t_s:05.2f}s-{frame.kind}"
        (self.frames_dir / f"{name}.png").write_bytes(frame.png)
        from crawler.devices.base import decode_png
        annotate.save_annotated(decode_png(frame.png), frame.analysis,
                                self.frames_dir / f"{name}.annotated.png")
        frame.file = f"frames/{name}.png"


def write_outputs(out_dir: Path, result: CheckResult) -> None:
    data = result_dict(result)
    atomic.write_json(out_dir / "result.json", data)
    html.write_page(out_dir / "report.html", "check_report.html", r=data)


def _plan(prober: Prober, probes: int) -> list:
    plan = [prober.observe, prober.close]
    plan += [lambda i, k=k: prober.body_tap(i, k) for k in range(max(probes - 2, 1))]
    return plan


def run_check(app: str, profile: DeviceProfile, out_dir: Path, rules: RuleProfile,
              appium_url: str | None = None, probes: int = 5, on_event=None,
              settings: ProbeSettings | None = None) -> CheckResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    result = CheckResult(app, profile.platform, {"profile": profile.name})
    evidence = Evidence(out_dir)
    def record(launch, frame):
        evidence.keep(launch, frame)
        if on_event:
            on_event(launch, frame)
    try:
        with ExitStack() as stack:
            if appium_url is None:
                appium_url = stack.enter_context(AppiumServer(out_dir / "logs")).url
            else:
                require_appium(appium_url)
            device = stack.enter_context(open_device(profile, appium_url))
            info = device.display_info()
            result.device.update(reported={"width_px": info.width_px, "height_px": info.height_px,
                                           "density": info.density, "source": info.source})
            display = profile.display((info.width_px, info.height_px))
            if info.density:
                display = Display(display.width_px, display.height_px, info.density, display.px_per_mm,
                                  display.status_bar_dp, display.gesture_bar_dp)
            ocr.warm_up()
            prober = Prober(device, app, display, rules, settings, on_event=record)
            for index, probe in enumerate(_plan(prober, probes), start=1):
                result.launches.append(probe(index))
                result.findings = judge_launches(result.launches, rules)
                write_outputs(out_dir, result)
    except (EnvironmentProblem, DeviceError) as exc:
        result.error = str(exc).splitlines()[0][:300]
    except KeyboardInterrupt:
        result.interrupted, result.error = True, "interrupted (Ctrl-C)"
    finally:
        result.findings = judge_launches(result.launches, rules) if result.launches else []
        result.finished_s = time.time()
        write_outputs(out_dir, result)
    return result
