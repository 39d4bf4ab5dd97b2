"""`splashaudit demo`: bundled fixture apps checked on the Chromium phone, one report each.

The fixture apps reproduce the behaviours the rules are about (a dead close, a full-screen jump, ...),
so most of them are meant to fail: the demo exits 0 when it ran, whatever the verdicts. By default it
is a short first look: one app per rule (``TOUR``), each with the one probe that shows its rule, on one
Appium server (``parallel`` at a time); ``--all`` is the full tour: every fixture app, the full plan.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crawler.appium_server import AppiumServer, EnvironmentProblem
from crawler.check_cmd import EXIT_ENVIRONMENT, EXIT_OK, run_check
from crawler.profiles import load_profile
from crawler.reports import html
from crawler.webserve import StaticServer, fixture_site
from vision.rules import RuleProfile

FIXTURE_APPS = Path(__file__).resolve().parent.parent / "fixtures" / "apps"
#: The short tour: each rule shown failing once, by the one probe that shows it (the passes show in
#: the same reports; the all-pass `compliant` app and the full plan are in ``--all``). One at a time:
#: two Chromiums on 2 busy cores were slower (278 s against 248 s for six apps) and lagged enough to
#: lose verdicts.
TOUR = {"no_close": ("observe",),                 # CLOSE_PRESENT
        "tiny_close": ("observe",),               # CLOSE_SIZE, CLOSE_CONTRAST, CLOSE_POSITION
        "dead_close": ("close",),                 # CLOSE_EFFECTIVE
        "fullscreen_jump": ("body_tap",),         # FULLSCREEN_JUMP (the whole ad body jumps)
        "permission_no_purpose": ("observe",)}    # PERMISSION_PURPOSE


def run_demo(out: Path, rules: RuleProfile, on_event=None, apps: list[str] | None = None, *,
             full: bool = False, parallel: int = 1) -> int:
    console = Console(stderr=True, highlight=False)
    profile = load_profile("chromium-phone")
    started = time.monotonic()
    try:
        with StaticServer(FIXTURE_APPS) as server, AppiumServer(out / "logs") as appium:
            site = fixture_site(server)
            names = list(apps or (site.apps() if full else TOUR))
            say_lock, done = threading.Lock(), []

            def check(app: str) -> dict:
                with say_lock:
                    console.print(f"checking [bold]{escape(app)}[/] ...")
                result = run_check(site.url(app), profile, out / app, rules, appium_url=appium.url,
                                   kinds=None if full else TOUR.get(app),
                                   on_event=on_event if parallel == 1 else None)
                row = {"app": app, "verdict": result.verdict, "report": f"{app}/report.html",
                       "findings": [(f.rule, f.verdict) for f in result.findings], "error": result.error}
                with say_lock:
                    done.append(app)
                    bad = ", ".join(rule for rule, verdict in row["findings"] if verdict == "violation")
                    console.print(f"[{len(done)}/{len(names)}] {escape(app)}: {result.verdict}"
                                  f"{' (' + bad + ')' if bad else ''} · {time.monotonic() - started:.0f} s")
                return row

            with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
                rows = list(pool.map(check, names))
    except EnvironmentProblem as exc:
        console.print(f"splashaudit: {escape(str(exc))}")
        return EXIT_ENVIRONMENT
    html.write_page(out / "index.html", "demo_index.html", rows=rows)
    table = Table(title="splashaudit demo", show_edge=False)
    for column in ("app", "verdict", "violations"):
        table.add_column(column)
    for row in rows:
        bad = ", ".join(rule for rule, verdict in row["findings"] if verdict == "violation")
        table.add_row(row["app"], row["verdict"], bad or "-")
    console.print(table)
    console.print(f"report: {out / 'index.html'} · {time.monotonic() - started:.0f} s")
    return EXIT_OK
