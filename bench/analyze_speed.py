"""Analysis speed beside one stock full-frame RapidOCR pass, on the same images, in the same run.

Prints, for the rendered screens and for the real ones (text-dense feeds cost more than our renders), the
per-image median of both and their ratio (target <= 0.5), then the peak resident memory of a 100-image
analysis run over both (target <= 600 MB).
Usage: python bench/analyze_speed.py [FOLDER...] [--images N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.imagefiles import collect, read_bgr  # noqa: E402
from crawler.profiles import load_profile  # noqa: E402
from vision import Display, analyze, ocr  # noqa: E402


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def display_for(path: Path, image) -> Display:
    truth = path.with_suffix(".json")
    known = json.loads(truth.read_text()) if truth.exists() else {}
    if known.get("profile"):
        return load_profile(known["profile"]).display((image.shape[1], image.shape[0]))
    return Display(image.shape[1], image.shape[0], known.get("density"))


def main() -> None:
    parser = argparse.ArgumentParser()
    screens = ROOT / "fixtures" / "screens"
    parser.add_argument("folders", nargs="*", default=[str(screens), str(screens / "real")])
    parser.add_argument("--images", type=int, default=60, help="images timed side by side")
    parser.add_argument("--repeat", type=int, default=3, help="runs per image; the fastest counts")
    parser.add_argument("--memory-run", type=int, default=100, help="images in the memory run")
    parser.add_argument("--memory-only", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_only:
        return memory_run(args.folders, args.memory_only)
    ocr.warm_up()
    for folder in args.folders:
        compare(folder, args.images, args.repeat)
    if args.memory_run:
        # In a process of its own: this one also holds the stock engine and its full-frame buffers.
        import subprocess
        subprocess.run([sys.executable, __file__, *args.folders, "--memory-only", str(args.memory_run)],
                       check=True)


def compare(folder: str, images: int, repeat: int) -> None:
    paths = [i.path for i in collect([folder])]
    if not paths:
        sys.exit(f"bench: {folder}: no images")
    sample = paths[:: max(1, len(paths) // images)][: images]
    ocr.full_frame_baseline(read_bgr(sample[0]))          # both engines loaded before timing
    ours, stock = [], []
    for path in sample:
        image = read_bgr(path)
        display = display_for(path, image)
        # Each image's time is the best of --repeat runs, for both, taken turn about: on a shared
        # machine a single run is as likely to time a neighbour's burst as the code.
        ours.append(min(timed(analyze, image, display) for _ in range(repeat)))
        stock.append(min(timed(ocr.full_frame_baseline, image) for _ in range(repeat)))
    ours_ms, stock_ms = statistics.median(ours) * 1000, statistics.median(stock) * 1000
    print(f"{Path(folder).name}: images timed: {len(sample)} (best of {repeat} runs each)")
    print(f"analyze median:              {ours_ms:7.1f} ms/image")
    print(f"full-frame RapidOCR median:  {stock_ms:7.1f} ms/image")
    print(f"ratio analyze / full-frame OCR: {ours_ms / stock_ms:.2f} (target <= 0.5)")


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the address space, which exec replaces;
    ru_maxrss on Linux carries the parent's peak over the exec, so a child started by the timing run
    would report that run's stock engine as its own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_run(folders: list[str], count: int) -> None:
    paths = [i.path for i in collect(folders)]
    paths = paths[:: max(1, len(paths) // count)]   # from every folder, not the first one alone
    for i in range(count):
        path = paths[i % len(paths)]
        image = read_bgr(path)
        analyze(image, display_for(path, image))
    peak_mb = peak_rss_mb()
    print(f"peak resident memory of a {count}-image analysis run: {peak_mb:.0f} MB (target <= 600 MB)")


if __name__ == "__main__":
    main()
