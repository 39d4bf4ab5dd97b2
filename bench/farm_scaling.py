"""Device-farm scaling: the same batch through a Grid with one node and with two, as a speed-up ratio.

Starts a real farm (`crawler.farm.farm_up`: Grid hub + Appium relay nodes with headless Chromium) with
one web node, runs `splashaudit batch` on the fixture apps with --parallel 1, stops it; then again with
two nodes and --parallel 2. Prints both wall times, the speed-up (target >= 1.6x with two nodes), and
the Grid's own overhead per session: new-session time through the Grid minus straight to the Appium
server behind it (median of several sessions each).

Each check is mostly OCR on the host's CPU, so two nodes only go faster when the host has the cores
for two checks at once: on a 2-core machine the ratio says as much about the CPU as about the Grid.

Usage: python bench/farm_scaling.py [--apps popup_compliant,no_close,...] [--probes 3] [--sessions 5]
(default: every fixture app in fixtures/apps)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler import farm  # noqa: E402
from crawler.profiles import load_profile  # noqa: E402
from crawler.webserve import FIXTURE_APPS_DIR, StaticServer, fixture_site  # noqa: E402


def session_times(url: str, count: int) -> list[float]:
    """Seconds to open (and, not counted, close) a Chromium phone session at ``url``."""
    from crawler.devices.web import WebDevice

    profile, times = load_profile("chromium-phone"), []
    for _ in range(count):
        started = time.perf_counter()
        device = WebDevice.connect(profile, url)
        times.append(time.perf_counter() - started)
        device.close()
    return times


def run(nodes: int, apps: list[str], site, probes: int, work: Path, sessions: int) -> dict:
    state = work / f"farm-{nodes}.json"
    st = farm.farm_up(state, web_nodes=nodes, android="none", say=lambda m: None)
    try:
        overhead = None
        if sessions:
            direct = session_times(st["nodes"][0]["appium_url"], sessions)
            via_grid = session_times(st["grid_url"], sessions)
            overhead = (statistics.median(direct), statistics.median(via_grid))
        apps_file = work / f"apps-{nodes}.txt"
        apps_file.write_text("".join(site.url(a) + "\n" for a in apps), encoding="utf-8")
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "crawler.cli", "batch", str(apps_file), "--grid", st["grid_url"],
                               "--parallel", str(nodes), "--probes", str(probes), "--out", str(work / f"out-{nodes}")],
                              capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - started
        if proc.returncode not in (0, 1):
            print(proc.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"batch with {nodes} node(s) failed with exit code {proc.returncode}")
        return {"wall_s": wall, "overhead": overhead}
    finally:
        farm.farm_down(state)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # All the fixture apps by default: with a handful of checks of unequal length, how they happen to
    # pair up on two nodes decides the ratio more than the farm does.
    parser.add_argument("--apps", default="", help="comma-separated fixture app names (default: all)")
    parser.add_argument("--probes", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=5, help="sessions timed for the Grid overhead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="farm-bench-") as tmp, StaticServer(FIXTURE_APPS_DIR, origins=2) as srv:
        site, work = fixture_site(srv), Path(tmp)
        apps = [a for a in args.apps.split(",") if a] or site.apps()
        print(f"{len(apps)} fixture apps, --probes {args.probes}, {os.cpu_count()} CPU cores")
        one = run(1, apps, site, args.probes, work, args.sessions)
        two = run(2, apps, site, args.probes, work, 0)
    print(f"one node,  --parallel 1: {one['wall_s']:6.1f} s")
    print(f"two nodes, --parallel 2: {two['wall_s']:6.1f} s")
    print(f"speed-up with two nodes: {one['wall_s'] / two['wall_s']:.2f}x (target >= 1.6x)")
    if one["overhead"]:
        direct, via_grid = one["overhead"]
        print(f"session start: {direct:.2f} s straight to Appium, {via_grid:.2f} s through the Grid "
              f"(median of {args.sessions}); Grid overhead per session {via_grid - direct:+.2f} s")


if __name__ == "__main__":
    main()
