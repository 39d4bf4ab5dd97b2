"""Wall time of a whole `check` beside the time the fixture app itself holds the screen, and how fast
the crawler acts on a short photo-like ad.

The fixture apps' splash ads last a known time (compliant: 5 s; photo_ad: a 3 s photo-like ad; see
fixtures/apps/README.md); a check makes several cold launches, so the app's own share is (launches x
splash seconds). The ratio of the check's wall time to that share is the crawler's overhead (target
<= 1.3). Also printed, per app: the time from the ad's first frame to each tap (median; target <= 1.0 s),
frames sampled per second while the ad was shown (target >= 5), and how many taps were proven on the ad.

Usage: python bench/crawl_overhead.py [APP[:SPLASH_S] ...]   (default: compliant:5 photo_ad:3)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.appium_server import AppiumServer  # noqa: E402
from crawler.check_cmd import run_check  # noqa: E402
from crawler.probe_verdicts import tap_unproven  # noqa: E402
from crawler.probes import ProbeSettings  # noqa: E402
from crawler.profiles import load_profile  # noqa: E402
from crawler.webserve import FIXTURE_APPS_DIR, StaticServer, fixture_site  # noqa: E402
from vision.rules import load_rule_profile  # noqa: E402


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "-"


def report(app: str, splash_s: float, result, wall_s: float) -> None:
    app_s = len(result.launches) * splash_s
    taps = [l for l in result.launches if l.action and l.ad_frames]
    to_tap = [l.action["t_s"] - l.ad_frames[0].t_s for l in taps]
    proven = [l for l in taps if tap_unproven(l, ProbeSettings()) is None]
    ad_rates = [l.ad_sampled_per_s for l in result.launches if l.ad_sampled_per_s]
    rates = [l.sampled_per_s for l in result.launches if l.sampled_per_s]
    print(f"app: {app}, launches: {len(result.launches)}, verdict: {result.verdict}")
    print("  " + ", ".join(f"{f.rule} {f.verdict}" for f in result.findings))
    print(f"  check wall time:            {wall_s:6.1f} s")
    print(f"  app's own splash time:      {app_s:6.1f} s ({len(result.launches)} x {splash_s:g} s)")
    print(f"  ratio wall / splash time:   {wall_s / app_s:.2f} (target <= 1.3)")
    print(f"  ad's first frame to tap:    median {_median(to_tap)} s over {len(to_tap)} taps "
          f"{[round(t, 2) for t in to_tap]} (target <= 1.0); proven on the ad: {len(proven)}/{len(taps)}")
    print(f"  frames/s during the ad:     median {_median(ad_rates)} {ad_rates} (target >= 5)")
    print(f"  frames/s over each launch:  median {_median(rates)}, min {min(rates, default=0):.1f}")
    print(f"  per launch (s): {[l.duration_s for l in result.launches]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("apps", nargs="*", default=["compliant:5", "photo_ad:3"])
    parser.add_argument("--probes", type=int, default=5)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="splashaudit-bench-"))
    with StaticServer(FIXTURE_APPS_DIR) as server, AppiumServer(out / "logs") as appium:
        site = fixture_site(server)
        for spec in args.apps:
            app, _, splash = spec.partition(":")
            start = time.monotonic()
            result = run_check(site.url(app), load_profile("chromium-phone"), out / app,
                               load_rule_profile(), appium_url=appium.url, probes=args.probes)
            report(app, float(splash or 5), result, time.monotonic() - start)


if __name__ == "__main__":
    main()
