"""`splashaudit demo`: every bundled fixture app checked on the Chromium phone, one report each.

The fixture apps reproduce the behaviours the rules are about (a dead close, a full-screen jump, ...),
so most of them are meant to fail: the demo exits 0 when it ran, whatever the verdicts.
"""

from __future__ import annotations

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


def run_demo(out: Path, rules: RuleProfile, on_event=None, apps: list[str] | None = None) -> int:
    console = Console(stderr=True, highlight=False)
    profile = load_profile("chromium-phone")
    rows = []
    try:
        with StaticServer(FIXTURE_APPS) as server, AppiumServer(out / "logs") as appium:
            site = fixture_site(server)
            for app in apps or site.apps():
                console.print(f"checking fixture app [bold]{escape(app)}[/] ...")
                result = run_check(site.url(app), profile, out / app, rules, appium_url=appium.url,
                                   on_event=on_event)
                rows.append({"app": app, "verdict": result.verdict, "report": f"{app}/report.html",
                             "findings": [(f.rule, f.verdict) for f in result.findings],
                             "error": result.error})
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
    console.print(f"report: {out / 'index.html'}")
    return EXIT_OK
