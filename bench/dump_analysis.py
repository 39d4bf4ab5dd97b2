"""The analyzer's output on every fixture screen, one JSON line each, for diffing two versions.

A speed change must not change what the analyzer finds; diffing this dump before and after one shows
whether it did, screen by screen (the scoring tests only show it when a score crosses its floor).
Usage: python bench/dump_analysis.py OUT.jsonl [FOLDER...] [--texts]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from analyze_speed import display_for  # noqa: E402
from crawler.imagefiles import collect, read_bgr  # noqa: E402
from vision import analyze  # noqa: E402


def summary(analysis, with_texts: bool) -> dict:
    """What a verdict rests on: the kind, the ways out and their measures, labels, prompts, findings."""
    plain = dataclasses.asdict(analysis)
    plain.pop("timings_ms")
    if not with_texts:
        plain.pop("texts")
    return plain


def main() -> None:
    parser = argparse.ArgumentParser()
    screens = ROOT / "fixtures" / "screens"
    parser.add_argument("out")
    parser.add_argument("folders", nargs="*",
                        default=[str(screens), str(screens / "heldout"), str(screens / "real")])
    parser.add_argument("--texts", action="store_true", help="also dump every line of text read")
    args = parser.parse_args()
    with open(args.out, "w", encoding="utf-8") as out:
        for folder in args.folders:
            for item in collect([folder]):
                image = read_bgr(item.path)
                analysis = analyze(image, display_for(item.path, image))
                record = {"image": str(item.path.relative_to(ROOT)), **summary(analysis, args.texts)}
                out.write(json.dumps(record, ensure_ascii=False, default=str, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
