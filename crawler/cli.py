"""The `splashaudit` command line.

Exit codes (all commands): 0 no violation; 1 some violation; 2 usage or input error (bad file,
unknown profile, bad rule profile); 3 environment (Appium unreachable, device or app missing).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crawler.profiles import ProfileError, available_profiles, load_profile
from vision.rules import RuleProfileError, load_rule_profile

EXIT_USAGE = 2
app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Audit app splash ads and pop-ups: find it and close it (找得到，关得了).")
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


def _print_entry(entry: dict) -> None:
    if "error" in entry:
        return   # already said on stderr
    # App text (OCR) goes through markup escaping: an ad saying "[bold]" must not restyle the terminal.
    table = Table(title=escape(f"{entry['image']}  [{entry['screen']['kind']}]"), title_justify="left",
                  show_edge=False, expand=False)
    table.add_column("rule")
    table.add_column("verdict")
    table.add_column("message", overflow="fold")
    for f in entry["findings"]:
        table.add_row(f["rule"], f"[{_VERDICT_STYLE[f['verdict']]}]{f['verdict']}[/]",
                      escape(f["message"].split(" [")[0]))
    if not entry["findings"]:
        table.add_row("-", "[dim]n/a[/]", "no rule applies to a screen of this kind")
    out.print(table)


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

    if density is not None and density <= 0:
        raise fail(f"--density must be positive, got {density}")
    rule_profile = _load_rules(rules)
    device = _load_profile(profile)
    quiet = json_path is not None and not sys.stdout.isatty()
    result = analyze_cmd.run(paths, device, density, rule_profile, json_path, report,
                             on_result=None if quiet else _print_entry)
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
) -> None:
    """Launch the app again and again, watch its splash ad, tap and verify."""
    from crawler import check_cmd

    rule_profile = _load_rules(rules)
    platform = platform or ("web" if target.startswith(("http://", "https://", "file:")) else None)
    default_profile = {"web": "chromium-phone", "ios": "iphone-1179x2556-3"}.get(
        platform or "", "android-1080x2400-2.625")
    device = _load_profile(profile or default_profile)
    if platform and device.platform != platform:
        raise fail(f"profile {device.name} is for {device.platform}, not {platform}")
    result = check_cmd.run_check(target, device, out, rule_profile, appium_url=appium, probes=probes,
                                 on_event=_progress_printer())
    if result.error:
        print(f"splashaudit: {target}: {result.error}", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    err.print(f"{escape(target)}: {result.verdict} · report: {out / 'report.html'}", highlight=False)
    raise typer.Exit(130 if result.interrupted else result.exit_code)


@app.command()
def demo(out: Path = typer.Option(Path("out/demo"), help="Where the reports go.")) -> None:
    """Check every bundled fixture app on the Chromium phone through an embedded Appium server."""
    from crawler import demo_cmd

    raise typer.Exit(demo_cmd.run_demo(out, _load_rules(None), on_event=_progress_printer()))


@app.command()
def profiles() -> None:
    """List the device profiles."""
    for name in available_profiles():
        p = load_profile(name)
        out.print(f"{name}: {p.platform} {p.screen_px[0]}x{p.screen_px[1]} px, density {p.density}",
                  markup=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
