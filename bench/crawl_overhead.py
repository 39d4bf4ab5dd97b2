"""Wall time of a whole `check` beside the time the fixture app itself holds the screen.

The fixture apps' splash ads last a known time (compliant: 5 s; see fixtures/apps/README.md); a check
makes several cold launches, so the app's own share is (launches x splash seconds). The ratio of the
check's wall time to that share is the crawler's overhead (target <= 1.3). Also printed: frames sampled
per second, and the Appium session start. Usage: python bench/crawl_overhead.py [APP] [--splash-s S]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.appium_server import AppiumServer  # noqa: E402
from crawler.check_cmd import run_check  # noqa: E402
from crawler.profiles import load_profile  # noqa: E402
from crawler.webserve import FIXTURE_APPS_DIR, StaticServer, fixture_site  # noqa: E402
from vision.rules import load_rule_profile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app", nargs="?", default="compliant")
    parser.add_argument("--splash-s", type=float, default=5.0, help="the app's own splash duration")
    parser.add_argument("--probes", type=int, default=5)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="splashaudit-bench-"))
    with StaticServer(FIXTURE_APPS_DIR) as server, AppiumServer(out / "logs") as appium:
        site = fixture_site(server)
        start = time.monotonic()
        result = run_check(site.url(args.app), load_profile("chromium-phone"), out / args.app,
                           load_rule_profile(), appium_url=appium.url, probes=args.probes)
        wall_s = time.monotonic() - start
    app_s = len(result.launches) * args.splash_s
    rates = [l.sampled_per_s for l in result.launches if l.sampled_per_s]
    print(f"app: {args.app}, launches: {len(result.launches)}, verdict: {result.verdict}")
    print(f"check wall time:          {wall_s:6.1f} s")
    print(f"app's own splash time:    {app_s:6.1f} s ({len(result.launches)} x {args.splash_s:g} s)")
    print(f"ratio wall / splash time: {wall_s / app_s:.2f} (target <= 1.3)")
    print(f"frames sampled per second: median {sorted(rates)[len(rates) // 2]:.1f}, min {min(rates):.1f}")
    print(f"per launch (s): {[l.duration_s for l in result.launches]}")


if __name__ == "__main__":
    main()
