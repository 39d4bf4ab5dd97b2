"""The `splashaudit` command line.

Exit codes (all commands): 0 no violation; 1 some violation found by a finished check; 2 usage or
input error (bad file, unknown profile, bad rule profile); 3 environment (Appium or the Grid unreachable
or lost, device or app missing or crashing, the check could not finish); 130 interrupted.
Failures print one line on stderr; ``splashaudit --debug ...`` adds the Python traceback.
"""

from __future__ import annotations

import shutil
import sys
import traceback
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crawler.profiles import ProfileError, available_profiles, load_profile
from vision.rules import RuleProfileError, load_rule_profile

EXIT_USAGE, EXIT_ENVIRONMENT, EXIT_INTERRUPTED = 2, 3, 130
app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_enable=False,
                  help="Audit app splash ads and pop-ups: find it and close it (找得到，关得了).")
DEBUG = {"on": False}


@app.callback()
def _options(debug: bool = typer.Option(False, "--debug", "-v", help="Print the Python traceback of a failure.")
             ) -> None:
    DEBUG["on"] = debug
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

_VERDICT_STYLE = {"violation": "bold red", "warning": "yellow", "pass": "green",
                  "inconclusive": "dim"}


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print one clear line on stderr and return the Exit to raise."""
    print(f"splashaudit: {message}", file=sys.stderr)   # one line, never wrapped
    return typer.Exit(code)


def _load_rules(path: Optional[Path]):
    try:
        return load_rule_profile(path)
    except RuleProfileError as exc:
        raise fail(str(exc))


def _load_profile(name: Optional[str]):
    if name is None:
        return None
    try:
        return load_profile(name)
    except ProfileError as exc:
        raise fail(str(exc))


def _judging_inputs(density: Optional[float], rules: Optional[Path], profile: Optional[str],
                    json_path: Optional[Path]):
    """(rule profile, device profile, quiet) of `analyze` and `timeline`; a usage error for bad ones.
    Quiet: the JSON goes to a file and stdout is not a terminal, so no table is printed."""
    if density is not None and density <= 0:
        raise fail(f"--density must be positive, got {density}")
    return _load_rules(rules), _load_profile(profile), json_path is not None and not sys.stdout.isatty()


def _print_entry(entry: dict) -> None:
    if "error" in entry:
        return   # already said on stderr
    # App text (OCR) goes through markup escaping: an ad saying "[bold]" must not restyle the terminal.
    out.print(_findings_table(f"{entry['image']}  [{entry['screen']['kind']}]", entry["findings"],
                              "no rule applies to a screen of this kind"))


def _findings_table(title: str, findings: list[dict], none: str) -> Table:
    """A rule / verdict / message row per finding (``none`` when there is none); app text escaped."""
    table = Table(title=escape(title), title_justify="left", show_edge=False, expand=False)
    table.add_column("rule")
    table.add_column("verdict")
    table.add_column("message", overflow="fold")
    for f in findings:
        table.add_row(f["rule"], f"[{_VERDICT_STYLE[f['verdict']]}]{f['verdict']}[/]",
                      escape(f["message"].split(" [")[0]))
    if not findings:
        table.add_row("-", "[dim]n/a[/]", none)
    return table


@app.command()
def analyze(
    paths: list[str] = typer.Argument(..., help="Screenshots (PNG, JPEG, WebP) or folders of them."),
    density: Optional[float] = typer.Option(None, help="Pixels per dp (Android densityDpi / 160)."),
    profile: Optional[str] = typer.Option(None, help=f"Device profile: {', '.join(available_profiles())}."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write results as a JSON list here."),
    report: Optional[Path] = typer.Option(None, help="Write annotated PNGs and index.html here."),
    rules: Optional[Path] = typer.Option(None, help="A rule profile TOML replacing the defaults."),
) -> None:
    """Judge screenshots: screen kind, close controls, ad label, permission purpose, with findings."""
    from crawler import analyze_cmd

    rule_profile, device, quiet = _judging_inputs(density, rules, profile, json_path)
    result = analyze_cmd.run(paths, device, density, rule_profile, json_path, report,
                             on_result=None if quiet else _print_entry)
    if report is not None:
        err.print(f"report: {report / 'index.html'}", markup=False)
    raise typer.Exit(result.exit_code)


_UDID_HELP = "The phone to use (adb serial or iOS UDID); adds appium:udid to the profile's capabilities."
_CAP_HELP = "An extra capability, key=value (repeatable): --cap appium:systemPort=8201. JSON values parse."


def _caps(udid: Optional[str], cap: Optional[list[str]], platform: Optional[str]) -> dict:
    """The capabilities --udid and --cap ask for; a usage error (exit 2) for a malformed one."""
    from crawler.devices.caps import CapabilityError, command_line_caps

    if udid and platform == "web":
        raise fail("--udid picks an Android or iOS device; the Chromium phone has none")
    try:
        return command_line_caps(udid, cap)
    except CapabilityError as exc:
        raise fail(str(exc))


def _print_unit(entry: dict) -> None:
    """One judged recording (or group of recordings of one app): its timeline and findings."""
    names = " + ".join(v["video"] for v in entry["videos"])
    table = _findings_table(f"{names}  [{entry['verdict']}]", entry["findings"],
                            "no splash ad, pop-up or permission prompt in the recording")
    for video in entry["videos"]:
        events = ", ".join(f"{e['what']} {e['t_s']:.2f}s" for e in video["timeline"] if e["what"] != "touch")
        out.print(escape(f"{video['video']}: {video['duration_s']:.1f} s, {video['frames']['analysed']} of "
                         f"{video['frames']['looked_at']} frames analysed; {events or 'no events'}"),
                  highlight=False)
        for touch in video["touches"]:
            out.print(escape(f"  touch {touch['t_s']:.2f}s on {touch['on']}: {touch['followed']}"), highlight=False)
    out.print(table)


def _timeline_progress():
    """A rich progress bar per recording on stderr, when stderr is a terminal (None otherwise)."""
    if not sys.stderr.isatty():
        return None, None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[at]}"),
                   TimeRemainingColumn(), console=err, transient=True)

    def for_video(name: str):
        task = bar.add_task(escape(Path(name).name), total=None, at="")

        def update(t_s: float, info) -> None:
            bar.update(task, total=info.duration_s, completed=t_s, at=f"{t_s:.1f} s")
        return update
    return bar, for_video


@app.command()
def timeline(
    paths: list[str] = typer.Argument(..., metavar="VIDEO...", help="Screen recordings: MP4, WebM, MKV or MOV."),
    density: Optional[float] = typer.Option(None, help="Pixels per dp of the recording (Android densityDpi / 160)."),
    profile: Optional[str] = typer.Option(None, help=f"Device profile: {', '.join(available_profiles())}."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write timelines and findings as JSON here."),
    report: Optional[Path] = typer.Option(None, help="Write index.html with the timeline strips here."),
    rules: Optional[Path] = typer.Option(None, help="A rule profile TOML replacing the defaults."),
    same_app: bool = typer.Option(False, "--same-app", help="The recordings are launches of one app: judge "
                                  "them together (the first one teaches the app's main screen)."),
) -> None:
    """Judge screen recordings of app launches frame by frame: timeline, touches, findings."""
    from crawler import timeline_cmd

    rule_profile, device, quiet = _judging_inputs(density, rules, profile, json_path)
    bar, progress = _timeline_progress()
    if bar is not None:
        bar.start()
    try:
        result = timeline_cmd.run(paths, device, density, rule_profile, json_path, report, same_app=same_app,
                                  on_result=None if quiet else _print_unit, progress=progress)
    finally:
        if bar is not None:
            bar.stop()
    if report is not None:
        err.print(f"report: {report / 'index.html'}", markup=False)
    raise typer.Exit(result.exit_code)


def _progress_printer():
    def show(launch, frame) -> None:
        if not sys.stderr.isatty():
            return
        controls = ", ".join(c.text for c in frame.analysis.close_controls) or "-"
        err.print(f"launch {launch.index} {launch.kind:9} t={frame.t_s:5.2f}s {frame.kind:10} "
                  f"close: {escape(controls)}", highlight=False)
    return show


@app.command()
def check(
    target: str = typer.Argument(..., metavar="APP", help="Package id, bundle id or URL."),
    platform: Optional[str] = typer.Option(None, help="android, ios or web (default: the profile's)."),
    profile: Optional[str] = typer.Option(None, help="Device profile (default: chromium-phone for web)."),
    appium: Optional[str] = typer.Option(None, help="Appium or Selenium Grid URL; default: start one."),
    out: Path = typer.Option(Path("out/check"), help="Where result.json, frames/ and report.html go."),
    probes: int = typer.Option(5, min=3, help="Launches: observe, close, and the rest body taps."),
    rules: Optional[Path] = typer.Option(None, help="A rule profile TOML replacing the defaults."),
    udid: Optional[str] = typer.Option(None, help=_UDID_HELP),
    cap: Optional[list[str]] = typer.Option(None, "--cap", help=_CAP_HELP),
    reset: str = typer.Option("permissions", help="Before each Android cold launch: permissions (revoke the "
                              "app's runtime permissions), data (clear the app: logs out) or none."),
    shake: str = typer.Option("auto", help="Shake probe (4 more launches, on devices that take motion "
                              "input): auto (when the ad shows a shake cue), always, never."),
    record: bool = typer.Option(False, "--record", help="Record the observe launch (the phone's own recorder; "
                                "the Chromium phone's screenshots) and judge it from the recording too."),
) -> None:
    """Launch the app again and again, watch its splash ad, tap and verify."""
    from crawler import check_cmd

    rule_profile = _load_rules(rules)
    if reset not in ("permissions", "data", "none"):
        raise fail(f"--reset must be permissions, data or none, got {reset}")
    platform = platform or ("web" if target.startswith(("http://", "https://", "file:")) else None)
    default_profile = {"web": "chromium-phone", "ios": "iphone-1179x2556-3"}.get(
        platform or "", "android-1080x2400-2.625")
    device = _load_profile(profile or default_profile)
    if platform and device.platform != platform:
        raise fail(f"profile {device.name} is for {device.platform}, not {platform}")
    if shake not in check_cmd.SHAKE_MODES:
        raise fail(f"--shake {shake}: expected one of {', '.join(check_cmd.SHAKE_MODES)}")
    capabilities = _caps(udid, cap, device.platform)
    result = check_cmd.run_check(target, device, out, rule_profile, appium_url=appium, probes=probes,
                                 on_event=_progress_printer(), capabilities=capabilities, reset=reset,
                                 shake=shake, record=record)
    if DEBUG["on"] and result.cause is not None:
        traceback.print_exception(result.cause)
    # One line, never wrapped: what came of it, why it is not final, where the report is.
    why = f": {result.error}" if result.error else ""
    prefix = "splashaudit: " if result.error else ""
    differ = (result.recording or {}).get("disagreements")
    recorded = f" · its recording says otherwise on {', '.join(differ)}" if differ else ""
    print(f"{prefix}{target}: {result.verdict}{why}{recorded} · report: {out / 'report.html'}", file=sys.stderr)
    raise typer.Exit(result.exit_code)


@app.command()
def demo(
    out: Path = typer.Option(Path("out/demo"), help="Where the reports go."),
    all_apps: bool = typer.Option(False, "--all", help="The full tour: every fixture app, 5 launches each."),
    parallel: int = typer.Option(1, min=1, max=4, help="Checks at once (each its own Chromium)."),
) -> None:
    """Check bundled fixture apps (one per rule; --all: every one) on the Chromium phone."""
    from crawler import demo_cmd

    raise typer.Exit(demo_cmd.run_demo(out, _load_rules(None), on_event=_progress_printer(), full=all_apps,
                                       parallel=parallel))


@app.command()
def doctor(
    platform: str = typer.Option("android", help="android, ios or web (the bundled Chromium phone)."),
    appium: Optional[str] = typer.Option(None, help="An Appium server to use; default: start one."),
    udid: Optional[str] = typer.Option(None, help=_UDID_HELP),
    profile: Optional[str] = typer.Option(None, help="Device profile whose capabilities the session uses."),
    cap: Optional[list[str]] = typer.Option(None, "--cap", help=_CAP_HELP),
) -> None:
    """Check this machine and phone for a real run: one line per check, each failure with its fix."""
    import tempfile

    from crawler.devices.doctor import run_doctor

    if platform not in ("android", "ios", "web"):
        raise fail(f"--platform must be android, ios or web, got {platform}")
    device = _load_profile(profile or {"web": "chromium-phone", "ios": "iphone-1179x2556-3"}.get(
        platform, "android-1080x2400-3.0"))
    if device.platform != platform:
        raise fail(f"profile {device.name} is for {device.platform}, not {platform}")
    capabilities = _caps(udid, cap, platform)
    log_dir = Path(tempfile.mkdtemp(prefix="splashaudit-doctor-"))
    code = run_doctor(platform, device, appium, capabilities, log_dir,
                      say=lambda line: out.print(line, markup=False, highlight=False, soft_wrap=True))
    if code == 0:
        shutil.rmtree(log_dir, ignore_errors=True)     # the Appium log is kept only when something failed
    raise typer.Exit(code)


@app.command()
def profiles() -> None:
    """List the device profiles."""
    for name in available_profiles():
        p = load_profile(name)
        out.print(f"{name}: {p.platform} {p.screen_px[0]}x{p.screen_px[1]} px, density {p.density}",
                  markup=False)


farm_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                       help="A Selenium Grid 4 hub with Appium servers as its nodes (a device farm).")
app.add_typer(farm_app, name="farm")
_STATE_HELP = "Farm state file (pids, ports), so that status/down work from any shell."


@farm_app.command("up")
def farm_up(
    web_nodes: int = typer.Option(2, "--web-nodes", min=0, help="Chromium phone nodes to start."),
    android: str = typer.Option("auto", help="auto: one node per device in `adb devices`; none: no Android."),
    port: Optional[int] = typer.Option(None, help="The Grid's port (default: a free one)."),
    state: Path = typer.Option(None, help=_STATE_HELP + " Default ~/.splashaudit/farm.json."),
) -> None:
    """Start the Grid hub, an Appium server per device and per Chromium phone, one relay node each."""
    from crawler import farm
    from crawler.appium_server import EnvironmentProblem

    if android not in ("auto", "none"):
        raise fail(f"--android must be auto or none, got {android}")
    state = state or farm.DEFAULT_STATE
    try:
        st = farm.farm_up(state, web_nodes=web_nodes, android=android, port=port,
                          say=lambda m: err.print(m, markup=False, highlight=False))
    except EnvironmentProblem as exc:
        raise fail(str(exc), 3)
    except farm.FarmError as exc:
        raise fail(str(exc), 3 if "already up" not in str(exc) else EXIT_USAGE)
    for node in st["nodes"]:
        err.print(f"node {node['label']}: Appium {node['appium_url']}", markup=False, highlight=False)
    err.print(f"state: {state} · logs: {st['log_dir']} · stop with: splashaudit farm down", markup=False,
              highlight=False)
    print(st["grid_url"])           # stdout: the Grid URL alone, for scripts


@farm_app.command("status")
def farm_status(
    grid: Optional[str] = typer.Option(None, help="A Grid URL (default: the farm in the state file)."),
    state: Path = typer.Option(None, help=_STATE_HELP),
) -> None:
    """Show the Grid's nodes and their free slots."""
    from crawler import farm

    url, st = grid, None
    if url is None:
        st = farm.read_state(state or farm.DEFAULT_STATE)
        if not st:
            raise fail(f"no farm is up (no state file {state or farm.DEFAULT_STATE}); pass --grid URL", 3)
        url = st["grid_url"]
    status = farm.grid_status(url)
    if status is None or "nodes" not in status:
        raise fail(f"Selenium Grid unreachable at {url} (GET {url.rstrip('/')}/status got no answer)", 3)
    slots = farm.grid_slots(status)
    free = sum(not s.busy and s.availability == "UP" for s in slots)
    out.print(f"Grid {url}: {'ready' if status.get('ready') else 'not ready'}, "
              f"{len(status.get('nodes') or [])} node(s), {free}/{len(slots)} slot(s) free", markup=False)
    for line in farm.describe(status):
        out.print("  " + line, markup=False, highlight=False)
    for line in farm.dead_nodes(st or {}):
        out.print(line, markup=False, highlight=False)


@farm_app.command("down")
def farm_down(state: Path = typer.Option(None, help=_STATE_HELP)) -> None:
    """Stop every process `farm up` started (listed in the state file), and nothing else."""
    from crawler import farm

    path = state or farm.DEFAULT_STATE
    st, pids = farm.farm_down(path)
    if st is None:
        err.print(f"no farm state at {path}: nothing to stop", markup=False)
        return
    err.print(f"stopped the farm at {st.get('grid_url')} ({len(st.get('processes', []))} processes, "
              f"{len(pids)} pids)", markup=False, highlight=False)


@app.command()
def batch(
    apps: Path = typer.Argument(..., metavar="APPS", help="Text file: one app a line (URL, package or "
                                "bundle id), optional platform and profile, # comments."),
    grid: Optional[str] = typer.Option(None, help="Selenium Grid URL (default: the running farm, if any)."),
    appium: Optional[str] = typer.Option(None, help="A single Appium server (or a cloud farm's URL)."),
    parallel: Optional[int] = typer.Option(None, min=1, help="Checks at once (default: the Grid's slots)."),
    platform: Optional[str] = typer.Option(None, help="Default platform for ids: android or ios."),
    profile: Optional[str] = typer.Option(None, help="Default device profile (where its platform fits)."),
    out: Path = typer.Option(Path("out/batch"), help="Batch folder: state, one folder per app, summaries."),
    force: bool = typer.Option(False, "--force", help="Check again apps already done."),
    probes: int = typer.Option(5, min=3, help="Launches per app: observe, close, then body taps."),
    rules: Optional[Path] = typer.Option(None, help="A rule profile TOML replacing the defaults."),
    state: Path = typer.Option(None, help="Farm state file used when neither --grid nor --appium is given."),
    udid: Optional[str] = typer.Option(None, help=_UDID_HELP + " Every app of the batch runs on it."),
    cap: Optional[list[str]] = typer.Option(None, "--cap", help=_CAP_HELP),
    record: bool = typer.Option(False, "--record", help="Record each app's observe launch and judge it "
                                "from the recording too (as check --record)."),
) -> None:
    """Check many apps on a device farm; resumable; summary.csv, summary.html and junit.xml."""
    from crawler import batch_cmd, farm
    from crawler.appium_server import EnvironmentProblem

    if grid and appium:
        raise fail("give --grid or --appium, not both")
    if platform not in (None, "android", "ios", "web"):
        raise fail(f"--platform must be android, ios or web, got {platform}")
    rule_profile = _load_rules(rules)
    if profile is not None:
        _load_profile(profile)
    capabilities = _caps(udid, cap, platform)
    try:
        outcome = batch_cmd.run_batch(apps, out, rule_profile, grid=grid, appium=appium, parallel=parallel,
                                      platform=platform, profile=profile, force=force, probes=probes,
                                      state_path=state or farm.DEFAULT_STATE, console=err,
                                      capabilities=capabilities, record=record)
    except EnvironmentProblem as exc:
        raise fail(str(exc), 3)
    raise typer.Exit(outcome.exit_code)


def main() -> None:
    """The command line, with no Python traceback for the user unless ``--debug`` asked for one."""
    try:
        app()
    except KeyboardInterrupt:
        print("splashaudit: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:          # noqa: BLE001 - the last line of defence: one line, a known code
        if DEBUG["on"]:
            traceback.print_exc()
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        print(f"splashaudit: internal error: {type(exc).__name__}: {first} (run with --debug for the "
              f"traceback)", file=sys.stderr)
        sys.exit(EXIT_ENVIRONMENT)


if __name__ == "__main__":
    main()
