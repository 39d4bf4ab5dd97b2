"""`splashaudit check`: run the probe plan on one app and write result.json, frames and report.html.

Results are written after every launch, so an interrupted check (Ctrl-C, a lost device) leaves what
it gathered on disk; the Appium server it started is stopped on every path out. Until the whole plan
has run, result.json says ``complete: false`` and the verdict ``incomplete``; rules whose probes did
not run are ``inconclusive`` ("not probed: ..."), never ``pass``.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from crawler import atomic
from crawler.appium_server import AppiumServer, EnvironmentProblem, driver_args, is_grid, require_appium
from crawler.devices import DeviceError, open_device
from crawler.devices.faults import DeviceLost, server_label
from crawler.live import recorder
from crawler.live.motion import PROFILE_BY_NAME, PROFILES
from crawler.probe_verdicts import MotionSetup, judge_launches, mark_unprobed, shake_outcome, unprobed_findings
from crawler.probes import Launch, ProbeSettings, Prober
from crawler.profiles import DeviceProfile
from crawler.live.evidence import KEEP_EVERY_S, EvidenceWriter, image_suffix, write_frame_files
from crawler.reports import html
from crawler.serialize import finding_dict
from crawler.video.decode import VideoError
from crawler.video.files import judge_launch_video
from crawler.watch import Frame
from vision import Display, ocr
from vision.rules import RuleProfile
from vision.types import worst_verdict

EXIT_OK, EXIT_VIOLATION, EXIT_USAGE, EXIT_ENVIRONMENT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
#: When the default plan adds the shake probe (one launch per motion profile): ``auto`` once the
#: observe launch saw a shake cue (摇一摇), ``always`` after every observe launch, ``never``.
SHAKE_MODES = ("auto", "always", "never")
#: This many launches in a row ending in an app crash end the check: the app cannot be judged.
MAX_CRASHES_IN_A_ROW = 3
#: A launch whose device stopped answering (``DeviceStalled``) costs its stall limit and a new
#: session; two in a row say the app freezes (or the driver wedges) on every launch.
MAX_STALLS_IN_A_ROW = 2


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
    complete: bool = False                  # the whole plan ran: only then is the verdict final
    cause: BaseException | None = field(default=None, repr=False)   # why it stopped, for --debug
    evidence_errors: list[str] = field(default_factory=list)
    motion: MotionSetup = field(default_factory=MotionSetup)
    recording: dict | None = None           # check --record: the observe launch judged from its recording

    @property
    def verdict(self) -> str:
        if not self.complete:
            return "incomplete"
        return worst_verdict(f.verdict for f in self.findings)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if not self.complete:
            return EXIT_ENVIRONMENT         # lost Appium/Grid/device, or an app that kept crashing
        return EXIT_VIOLATION if self.verdict == "violation" else EXIT_OK


def _frame_dict(frame: Frame) -> dict:
    a = frame.analysis
    return {"t_s": round(frame.t_s, 3), "file": frame.file, "annotated": frame.annotated, "kind": a.screen.kind,
            "timeline_ad": frame.timeline_ad, "kept_as": frame.keep,
            "close_controls": [{"bbox": c.box.to_list(), "text": c.text} for c in a.close_controls],
            "countdown": a.countdown.seconds if a.countdown else None,
            "foreground": frame.foreground.identity if frame.foreground else None,
            "jump": frame.jump.detail if frame.jump and frame.jump.jumped else None}


def _launch_dict(launch: Launch) -> dict:
    fg = lambda f: None if f is None else {"identity": f.identity, "package": f.package,  # noqa: E731
                                           "windows": f.window_count}
    return {"index": launch.index, "kind": launch.kind, "profile": launch.profile, "outcome": launch.outcome,
            "error": launch.error,
            "action": launch.action, "foreground_before": fg(launch.foreground_before),
            "foreground_after": fg(launch.foreground_after), "duration_s": launch.duration_s,
            "frames_sampled_per_s": launch.sampled_per_s, "ad_frames_sampled_per_s": launch.ad_sampled_per_s,
            "frames_analysed": launch.analysed,
            "lost": launch.lost, "crashed": launch.crashed, "stalled": launch.stalled,
            "events": [{"t_s": e.t_s, "what": e.what, "detail": e.detail, "frame": e.frame}
                       for e in launch.events],
            "frames": [_frame_dict(f) for f in launch.frames]}


def result_dict(result: CheckResult) -> dict:
    return {"app": result.app, "platform": result.platform, "device": result.device,
            "verdict": result.verdict, "complete": result.complete, "error": result.error,
            "interrupted": result.interrupted, "evidence_errors": result.evidence_errors,
            "findings": [finding_dict(f) for f in result.findings],
            "launches": [_launch_dict(l) for l in result.launches],
            "recording": result.recording,
            "timings": {"started": result.started_s, "finished": result.finished_s,
                        "wall_s": round((result.finished_s or time.time()) - result.started_s, 2)}}


class Evidence:
    """Decides which frames to file (the first of each new screen state, a jump, the frames before
    and after a tap) and names them at once; the bytes are written by the background writer."""

    def __init__(self, out_dir: Path, writer: EvidenceWriter):
        self.frames_dir = out_dir / "frames"
        self.frames_dir.mkdir(parents=True, exist_ok=True)
        self.writer = writer
        self._last_kept: dict[int, Frame] = {}

    def keep(self, launch: Launch, frame: Frame) -> None:
        if frame.file is not None:
            return
        last = self._last_kept.get(launch.index)
        changed = last is None or last.kind != frame.kind or bool(frame.jump and frame.jump.jumped) \
            or bool(last.analysis.close_controls) != bool(frame.analysis.close_controls) \
            or frame.t_s - last.t_s >= KEEP_EVERY_S
        if not (changed or frame.keep):
            return
        name = f"launch{launch.index}-{frame.t_s:05.2f}s-{frame.kind}"
        suffix = image_suffix(frame.image)
        frame.file, frame.annotated = f"frames/{name}{suffix}", f"frames/{name}.annotated.jpg"
        self._last_kept[launch.index] = frame
        self.writer.submit(write_frame_files, frame.image, frame.analysis,
                           self.frames_dir / f"{name}{suffix}", self.frames_dir / f"{name}.annotated.jpg")

    def keep_events(self, launch: Launch) -> None:
        """File the frames events carry (what the screen showed when the app crashed)."""
        for event in launch.events:
            if event.png is not None and event.frame is None:
                name = f"launch{launch.index}-{event.t_s:05.2f}s-{event.what}{image_suffix(event.png)}"
                self.writer.submit((self.frames_dir / name).write_bytes, event.png)
                event.frame, event.png = f"frames/{name}", None


def write_outputs(out_dir: Path, result: CheckResult, writer: EvidenceWriter | None = None) -> None:
    """result.json and report.html; by ``writer``'s thread when given (the data is taken now)."""
    data = result_dict(result)
    if writer is None:
        _write_pages(out_dir, data)
    else:
        writer.submit(_write_pages, out_dir, data)


def _write_pages(out_dir: Path, data: dict) -> None:
    atomic.write_json(out_dir / "result.json", data)
    html.write_page(out_dir / "report.html", "check_report.html", r=data)


def _plan(prober: Prober, kinds: list[str]) -> list:
    """(kind, probe) per launch; each body tap takes the next neutral point, each shake the next profile."""
    plan, body, shake = [], 0, 0
    for kind in kinds:
        if kind == "body_tap":
            plan.append((kind, lambda i, k=body: prober.body_tap(i, k)))
            body += 1
        elif kind == "shake":
            plan.append((kind, lambda i, p=PROFILES[shake % len(PROFILES)]: prober.shake(i, p)))
            shake += 1
        else:
            plan.append((kind, getattr(prober, kind)))
    return plan


def _planned_kinds(kinds: tuple[str, ...] | None, probes: int, can_shake: bool) -> list[str]:
    """The launches planned: ``kinds`` as given ("shake" is one launch per motion profile, none on a
    device that cannot be shaken), else observe, close and body taps."""
    if not kinds:
        return _plan_kinds(probes)
    planned = []
    for kind in kinds:
        planned += (["shake"] * len(PROFILES) if can_shake else []) if kind == "shake" else [kind]
    return planned


def _shake_after_observe(launch: Launch, mode: str, can_shake: bool) -> bool:
    """Whether the default plan goes on to the shake probe after this observe launch."""
    if launch.kind != "observe" or not can_shake or mode == "never":
        return False
    return mode == "always" or any(f.analysis.shake is not None and f.is_ad for f in launch.frames)


def run_check(app: str, profile: DeviceProfile, out_dir: Path, rules: RuleProfile,
              appium_url: str | None = None, probes: int = 5, on_event=None,
              settings: ProbeSettings | None = None, kinds: tuple[str, ...] | None = None,
              capabilities: dict | None = None, reset: str = "permissions",
              shake: str = "auto", record: bool = False) -> CheckResult:
    """Check ``app``: ``probes`` launches (observe, close, then body taps, and the shake probe as
    ``shake`` says: see SHAKE_MODES), or exactly the probe ``kinds`` given (a shorter plan judges only
    the rules its probes speak to). ``capabilities`` add to the profile's (``--udid``, ``--cap``);
    ``reset`` is what an Android cold launch resets first; ``record``: the observe launch is recorded
    and judged from its recording too (``result.recording``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = CheckResult(app, profile.platform, {"profile": profile.name})
    writer = EvidenceWriter()
    evidence = Evidence(out_dir, writer)
    planned: list[str] = []
    prober = device = None
    # Loading the OCR models takes about a second of CPU, opening the device about a second of
    # waiting on the browser or phone: side by side, not one after the other.
    warming = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocr-warm-up")
    warmed = warming.submit(ocr.warm_up)
    warming.shutdown(wait=False)

    def keep(launch, frame):
        evidence.keep(launch, frame)
        if on_event:
            on_event(launch, frame)
    try:
        with ExitStack() as stack:
            if appium_url is None:
                appium_url = stack.enter_context(AppiumServer(out_dir / "logs",
                                                              extra_args=driver_args([profile.platform]))).url
                server = server_label(appium_url)
            else:
                server = server_label(appium_url, "Selenium Grid" if is_grid(require_appium(appium_url))
                                      else "Appium")
            device = stack.enter_context(open_device(profile, appium_url, capabilities=capabilities, reset=reset))
            device.server, device.moment = server, "setup"
            display = _display(device, profile, result)
            warmed.result()
            prober = Prober(device, app, display, rules, settings, on_event=keep)
            if record:
                prober.settings = replace(prober.settings, record=True)
            motion_input = device.motion_support()
            result.motion = MotionSetup(motion_input, device.cannot_shake, bool(kinds and "shake" in kinds))
            result.device["motion_input"] = motion_input or device.cannot_shake
            planned = _planned_kinds(kinds, probes, motion_input is not None)
            more = None if kinds else (lambda launch: ["shake"] * len(PROFILES) if _shake_after_observe(
                launch, shake, motion_input is not None) else [])
            _run_plan(prober, planned, result, evidence, rules, out_dir, more)
    except (EnvironmentProblem, DeviceError) as exc:
        result.error, result.cause = str(exc).splitlines()[0][:300], exc
    except KeyboardInterrupt:
        result.interrupted, result.error = True, "interrupted (Ctrl-C)"
    finally:
        if device is not None:      # where the frames came from (MJPEG, DevTools, screenshots), and why
            result.device["frames"] = getattr(device, "frames_from", None)
        result.findings = _judge(result, rules, planned, prober.settings if prober else settings)
        if not result.interrupted:
            result.recording = _judge_recording(result, out_dir, profile, rules,
                                                prober.display if prober else None)
        writer.close()     # every frame on disk before the final report names it
        result.evidence_errors = writer.errors
        result.finished_s = time.time()
        write_outputs(out_dir, result)
    return result


def _judge_recording(result: CheckResult, out_dir: Path, profile: DeviceProfile, rules: RuleProfile,
                     display: Display | None) -> dict | None:
    """The recorded observe launch filed as an MP4 and judged from it, as ``splashaudit timeline`` judges
    it, beside what the check found: each rule the recording speaks to, and whether the two agree."""
    launch = next((l for l in result.launches if l.recording is not None), None)
    if launch is None or display is None:
        return None
    recording, launch.recording = launch.recording, None
    entry = {"launch": launch.index, "source": recording.source, "starts_at_s": round(recording.starts_at_s, 3),
             "file": None, "error": recording.error}
    try:
        path = recorder.write_video(recording, out_dir / f"launch{launch.index}-recording.mp4")
        entry["file"] = path.name
        judged = judge_launch_video(path, recording.source, recording.starts_at_s, profile, rules, display,
                                    (recording.returned_on_grid(), recorder.GRID_HZ))
    except (DeviceError, VideoError) as exc:
        entry["error"] = f"the recording could not be judged: {exc}"[:300]
        return entry
    checked = {f.rule: f.verdict for f in result.findings}
    entry.update(timeline=judged.summary, findings=[finding_dict(f) for f in judged.findings],
                 check_verdicts={f.rule: checked.get(f.rule) for f in judged.findings},
                 disagreements=sorted(f.rule for f in judged.findings
                                      if checked.get(f.rule) not in (None, f.verdict)))
    return entry


def _plan_kinds(probes: int) -> list[str]:
    return ["observe", "close"] + ["body_tap"] * max(probes - 2, 1)


def _display(device, profile: DeviceProfile, result: CheckResult) -> Display:
    """The display as the device reports it: size, density and system bars (the profile's guesses
    stand only where the device does not say)."""
    info = device.display_info()
    result.device.update(reported={"width_px": info.width_px, "height_px": info.height_px,
                                   "density": info.density, "source": info.source,
                                   "status_bar_dp": info.status_bar_dp, "gesture_bar_dp": info.gesture_bar_dp,
                                   "bars_source": info.bars_source or "the profile"})
    display = profile.display((info.width_px, info.height_px))
    return Display(display.width_px, display.height_px, info.density or display.density, display.px_per_mm,
                   display.status_bar_dp if info.status_bar_dp is None else info.status_bar_dp,
                   display.gesture_bar_dp if info.gesture_bar_dp is None else info.gesture_bar_dp)


def _run_plan(prober: Prober, planned: list[str], result: CheckResult, evidence: Evidence, rules: RuleProfile,
              out_dir: Path, more=None) -> None:
    """Run the probes in order, writing the result after each; stop at a lost device or a crashing app.

    ``more(launch)`` may add kinds to the plan after a launch (the shake probe after an observe launch
    that saw a shake cue); a shake launch may drop the motions left or play its own once more
    (``_after_shake``).
    """
    settings, crashes, stalls, index, retried = prober.settings, 0, 0, 0, set()
    plan = _plan(prober, planned)
    while index < len(plan):
        kind, probe = plan[index]
        index += 1
        launch = probe(index)
        result.launches.append(launch)
        evidence.keep_events(launch)
        if launch.lost:
            raise launch.failure or DeviceLost(launch.lost)
        crashes = crashes + 1 if launch.crashed else 0
        stalls = stalls + 1 if launch.stalled else 0
        if crashes >= MAX_CRASHES_IN_A_ROW:
            result.error = (f"the app crashed in {crashes} launches in a row "
                            f"({index - crashes + 1}-{index}); last: {launch.crashed}")[:300]
            return
        if stalls >= MAX_STALLS_IN_A_ROW:
            result.error = (f"the device stopped answering in {stalls} launches in a row "
                            f"({index - stalls + 1}-{index}; a frozen app or a wedged driver): "
                            f"{launch.stalled}")[:300]
            return
        if more is not None and (extra := more(launch)):
            planned += extra
            plan += _plan(prober, extra)
        if kind == "shake":
            _after_shake(prober, launch, index, planned, plan, retried)
        result.findings = _judge(result, rules, planned, settings,
                                 running="the check is still running (or was killed)")
        write_outputs(out_dir, result, evidence.writer)
    result.complete = True


def _after_shake(prober: Prober, launch: Launch, index: int, planned: list[str], plan: list, retried: set) -> None:
    """What a shake launch changes in the plan: once a motion below the floor is proven to jump, the
    motions left are not played (SHAKE_JUMP is a violation whatever they do); a motion whose outcome
    the launch could not tell (sent too coarsely on a busy machine, the ad gone first) is played once
    more, next."""
    jumped, _ = shake_outcome(launch, prober.settings)
    if jumped and launch.action and launch.action.get("below_floor"):
        keep = [i for i in range(len(plan)) if i < index or plan[i][0] != "shake"]
        planned[:], plan[:] = [planned[i] for i in keep], [plan[i] for i in keep]
    elif jumped is None and launch.profile not in retried and not launch.lost and not launch.crashed:
        retried.add(launch.profile)
        profile = PROFILE_BY_NAME[launch.profile]
        planned.insert(index, "shake")
        plan.insert(index, ("shake", lambda i, p=profile: prober.shake(i, p)))


def _judge(result: CheckResult, rules: RuleProfile, planned: list[str], settings: ProbeSettings | None,
           running: str = "the check stopped early") -> list:
    if not result.launches:
        reason = result.error or "no launch ran"
        return unprobed_findings(rules, reason)
    findings = judge_launches(result.launches, rules, settings, result.motion)
    return mark_unprobed(findings, result.launches, planned, rules, stopped=None if result.complete
                         else result.error or running)
