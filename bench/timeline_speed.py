"""How fast `splashaudit timeline` judges a recording, and how much memory it holds, on this machine.

The recording: 1080 x 2400 at a constant 30 fps (every frame written, as a phone's recorder at a fixed
rate gives it), made from the fixture apps' recordings (``fixtures/videos/``: a photo ad whose close
fades in and is tapped, an ad that comes back, a compliant ad tapped twice, a pop-up) played one after
another, with MOVING_S seconds of a picture that moves in every frame (a video ad) among them. It is
judged by the command line in a child process, as a user runs it: the ratio printed is the child's
wall time over the recording's own length (target <= 1.0), its peak memory the child's maximum
resident set (``os.wait4``'s usage of that child, target <= 600 MB). ``--minutes M`` judges the same
material looped to M minutes, to show that memory does not grow with length. ``--budget`` judges the
worst case instead: a picture that changes in every frame (a video ad playing throughout, at
BUDGET_FPS), long enough that the walk spends its budget (``walk.MAX_ANALYSED``) and stops: its peak
memory is the most one walk can hold.

The machine is shared: the load average before and after each run is printed beside the numbers, and
the child's CPU time (user + system, all its threads), which another engineer's load does not inflate.
Usage: python bench/timeline_speed.py [--seconds 30] [--minutes M]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures"))

import record_videos  # noqa: E402

sys.path.insert(0, str(ROOT))
from crawler.video import walk  # noqa: E402

SIZE_PX, FPS = (1080, 2400), 30
TAKES = ("fade_close", "repop", "compliant", "popup_compliant")
MOVING_S = 4.0


def _take_pictures(atlas, index, name: str, density: float):
    """Each 1/FPS of a take: the picture on screen (with its touch dots), at 1080 x 2400."""
    frames = record_videos.take_frames(atlas, index, name)
    for picture in record_videos.every_frame(index["takes"][name], frames, FPS, None, density):
        yield cv2.resize(picture, SIZE_PX, interpolation=cv2.INTER_AREA)


def _moving(seconds: float, base: np.ndarray):
    """A picture that changes in every frame: the photo ad's creative panning, as a video ad plays."""
    for i in range(int(seconds * FPS)):
        yield np.roll(base, shift=(3 * i, 2 * i), axis=(0, 1))


#: The budget run's frame rate: analyses come once a second whatever the rate (walk.MOVING_EVERY_S);
#: fewer frames only make the run shorter.
BUDGET_FPS = 10


def budget_seconds() -> float:
    """How long a video ad changing in every frame must run for the walk to spend its budget."""
    return walk.MAX_ANALYSED * walk.MOVING_EVERY_S * 1.1


def make_budget_recording(path: Path) -> float:
    """Write a video ad changing in every frame, long enough to spend the walk's budget; its length."""
    atlas, index = record_videos.load_archive()
    pictures = _take_pictures(atlas, index, "fade_close", 2.625)
    base = next(p for i, p in enumerate(pictures) if i >= 60)      # the photo ad, not the blank launch
    seconds = budget_seconds()
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"mp4v"), BUDGET_FPS, SIZE_PX)
    for i in range(int(seconds * BUDGET_FPS)):
        writer.write(np.roll(base, shift=(7 * i, 5 * i), axis=(0, 1)))
    writer.release()
    return seconds


def make_recording(path: Path, seconds: float) -> int:
    """Write the bench recording (``seconds`` long, material looped as needed); returns its frames."""
    atlas, index = record_videos.load_archive()
    density = 2.625
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE_PX)
    written, total = 0, int(seconds * FPS)
    while written < total:
        for number, name in enumerate(TAKES):
            last = None
            for picture in _take_pictures(atlas, index, name, density):
                writer.write(picture)
                last, written = picture, written + 1
                if written >= total:
                    break
            if number == 0 and written < total:
                for picture in _moving(MOVING_S, last):
                    writer.write(picture)
                    written += 1
                    if written >= total:
                        break
            if written >= total:
                break
    writer.release()
    return written


def judge(path: Path, seconds: float) -> dict:
    load_before = os.getloadavg()[0]
    out = path.with_suffix(".json")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "timeline", str(path), "--profile", "chromium-phone",
                             "--json", str(out)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    stderr = proc.stderr.read()
    # this child's own peak (RUSAGE_CHILDREN would carry an earlier, longer run's peak over)
    _, status, usage = os.wait4(proc.pid, 0)
    wall_s = time.perf_counter() - started
    code = proc.returncode = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"timeline failed ({code}): {stderr.strip()[-500:]}")
    peak_mb = usage.ru_maxrss / 1024
    video = json.loads(out.read_text())[0]["videos"][0]
    return {"cut": video.get("cut"), "seconds": seconds, "wall_s": round(wall_s, 1), "ratio": round(wall_s / seconds, 2),
            "walk_s": video["frames"]["wall_s"], "analysed": video["frames"]["analysed"],
            "analysis_s": video["frames"]["analysis_s"], "looked_at": video["frames"]["looked_at"],
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "peak_mb": round(peak_mb), "load": (round(load_before, 1), round(os.getloadavg()[0], 1))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--minutes", type=float, default=0.0, help="also judge the material looped to M minutes")
    parser.add_argument("--budget", action="store_true", help="judge a video ad long enough to spend the walk's budget")
    args = parser.parse_args()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    folder = ROOT / "build" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    if args.budget:
        path = folder / f"timeline-budget-{walk.MAX_ANALYSED}.mp4"
        seconds = make_budget_recording(path) if not path.exists() else budget_seconds()
        result = judge(path, seconds)
        print(f"a video ad of {seconds:.0f} s at {BUDGET_FPS} fps, {SIZE_PX[0]}x{SIZE_PX[1]}: {result['analysed']} frames "
              f"analysed, walk cut {result['cut']}; judged in {result['wall_s']} s; peak memory {result['peak_mb']} MB "
              f"(target <= 600); load average {result['load'][0]} -> {result['load'][1]}", flush=True)
        return
    for seconds in [args.seconds] + ([args.minutes * 60] if args.minutes else []):
        path = folder / f"timeline-{int(seconds)}s.mp4"
        if not path.exists():
            frames = make_recording(path, seconds)
            print(f"made {path.relative_to(ROOT)}: {frames} frames, {path.stat().st_size // 1024} KB", flush=True)
        result = judge(path, seconds)
        print(f"{seconds:.0f} s at {FPS} fps, {SIZE_PX[0]}x{SIZE_PX[1]}: judged in {result['wall_s']} s "
              f"(ratio {result['ratio']}, target <= 1.0; walk {result['walk_s']} s, {result['analysed']} of "
              f"{result['looked_at']} frames analysed in {result['analysis_s']} s; CPU {result['cpu_s']} s); peak memory "
              f"{result['peak_mb']} MB (target <= 600); load average {result['load'][0]} -> {result['load'][1]}",
              flush=True)


if __name__ == "__main__":
    main()
