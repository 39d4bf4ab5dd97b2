"""The real folds' scores as the team judges a change: the mean over eight forest seeds, both directions.

    nice -n 19 .venv/bin/python bench/seed_means.py [--seeds 20261130,1,2,3,4,5,6,7] [--check]

Each direction is fitted by fixtures/train_models.py's own recipe (rendered screens + one real fold +
the screens composed over that fold) and scored on the other real fold, once per seed. What the
screens show is read once and cached by train_models.py (build/train-cache/); the candidates, their
context and their measured boxes are cached here (build/bench-cache/) under the code that makes them,
so a run after a change to the features or the fitting only fits and scores (a few minutes).

Scoring mirrors ``analyzer.decide`` for the four numbers of issue 9 (close controls P and R, ads and
pop-ups recognised, ordinary screens left clean); ``--check`` also scores the first seed through
``analyzer.decide`` itself and fails when the two differ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "fixtures"))

import train_models  # noqa: E402
from crawler.imagefiles import read_bgr  # noqa: E402
from screen_scoring import Score, boxes_match, load_truths, match_count, real_fold  # noqa: E402
from vision import analyzer, dismiss, screen  # noqa: E402
from vision.permission import find_permission_prompt  # noqa: E402
from vision.types import Box  # noqa: E402

SEEDS = (20261130, 1, 2, 3, 4, 5, 6, 7)
PREP_DIR = ROOT / "build" / "bench-cache"
OVERLAYS = ("splash_ad", "popup")
#: The code that turns what a screen shows into candidates, their context and their measured boxes.
PREP_CODE = ("analyzer.py", "controls.py", "dismiss.py", "layout.py", "lexicon.py", "glyphs.py",
             "permission.py", "types.py")


class Prepared:
    """A labelled screen as train_models.Screen holds it, without the picture, plus what scoring needs."""

    def __init__(self, truth: dict, evidence: analyzer.Evidence):
        s = train_models.Screen(truth, evidence)
        self.truth, self.evidence, self.kind, self.labels = s.truth, s.evidence, s.kind, s.labels
        self.cues, self.candidates, self.ctx = s.cues, s.candidates, s.ctx
        # The box a reported control is scored by: the shape measuring grows it to (analyzer._measure_control).
        self.boxes = [analyzer._visible_box(s.image, c.control.box, c.control.kind) for c in s.candidates]
        self.permission = find_permission_prompt(evidence.lines)
        self.rows = s.rows

    def refresh_rows(self) -> None:
        self.rows = np.array([dismiss.features(c, self.ctx) for c in self.candidates], np.float32)


def _prep_key(truths: list[dict]) -> str:
    digest = hashlib.sha1()
    for name in PREP_CODE:
        digest.update((ROOT / "vision" / name).read_bytes())
    for t in truths:
        digest.update(str(t["path"]).encode())
        # the picture itself: a screen drawn again under the same truth is another screen
        if Path(t["path"]).is_file():
            digest.update(Path(t["path"]).read_bytes())
        digest.update(json.dumps({k: v for k, v in t.items() if k != "path"}, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def prepared(jobs: int) -> dict[str, list[Prepared]]:
    rendered = load_truths() + load_truths(train_models.SCREENS_DIR / "heldout")
    real = load_truths(train_models.REAL_DIR)
    drawn = {name: train_models.composed(train_models.COMPOSED_FIT_SEEDS, name) for name in "AB"}
    groups = {"rendered": rendered, "real": real, "drawn_A": drawn["A"], "drawn_B": drawn["B"]}
    every = [t for ts in groups.values() for t in ts]
    path = PREP_DIR / f"prep-{_prep_key(every)}.pkl"
    if path.exists():
        found = pickle.loads(path.read_bytes())
    else:
        evidence = train_models.gather_all(every, jobs)
        started = time.time()
        found = {name: [Prepared(t, evidence[str(t["path"])]) for t in ts] for name, ts in groups.items()}
        print(f"prepared {len(every)} screens in {time.time() - started:.0f} s", flush=True)
        PREP_DIR.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(found))
    for screens in found.values():
        for s in screens:
            s.refresh_rows()   # features are cheap: a change to them needs no new preparation
    return found


def fast_score(screens: list[Prepared], models) -> dict[str, float]:
    found_n = true_n = matched_n = 0
    overlay_n = overlay_right = normal_n = normal_clean = 0
    for s in screens:
        shares = models.dismiss.shares(s.rows)[:, 1].tolist() if s.candidates else []
        kind = screen.classify(s.candidates, shares, s.ctx, s.cues, s.permission, models.screen_kind).kind
        found = []
        if kind in OVERLAYS:
            found = [s.boxes[i] for i in dismiss.reported(shares, models.dismiss)]
        doubtful = [Box(*c["bbox"]) for c in s.truth.get("ambiguous_controls", [])]
        found = [b for b in found if not any(boxes_match(b, d) for d in doubtful)]
        expected = [Box(*c["bbox"]) for c in s.truth["close_controls"]]
        found_n, true_n = found_n + len(found), true_n + len(expected)
        matched_n += match_count(found, expected)
        if s.kind in OVERLAYS:
            overlay_n += 1
            overlay_right += kind in OVERLAYS
        elif s.kind == "normal":
            normal_n += 1
            normal_clean += kind == "normal"
    return {"P": matched_n / found_n if found_n else 1.0, "R": matched_n / true_n if true_n else 1.0,
            "kind": overlay_right / overlay_n, "clean": normal_clean / normal_n}


def slow_score(screens: list[Prepared], models) -> dict[str, float]:
    result = Score()
    for s in screens:
        image = read_bgr(s.truth["path"])
        result.add(s.truth, analyzer.decide(s.evidence, image, train_models.display_for(s.truth, image),
                                            models=models))
    return {"P": result.close_precision, "R": result.close_recall, "kind": result.overlay_rate,
            "clean": result.normal_clean_rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--jobs", type=int, default=1, help="processes reading screens not yet cached")
    parser.add_argument("--check", action="store_true", help="also score the first seed via analyzer.decide")
    parser.add_argument("--json", type=Path, help="write every seed's scores here")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    data = prepared(args.jobs)
    fold = {name: [s for s in data["real"] if real_fold(s.truth["image"]) == name] for name in "AB"}
    runs: dict[str, list[dict[str, float]]] = {"B": [], "A": []}
    for seed in seeds:
        train_models.SEED = seed
        for train, test in (("A", "B"), ("B", "A")):
            models = train_models.fit(data["rendered"] + fold[train] + data[f"drawn_{train}"])
            scores = fast_score(fold[test], models)
            runs[test].append(scores)
            print(f"seed {seed} fold {test}: " + " ".join(f"{k} {v:.3f}" for k, v in scores.items()), flush=True)
            if args.check and seed == seeds[0]:
                slow = slow_score(fold[test], models)
                assert all(abs(slow[k] - scores[k]) < 1e-9 for k in scores), (slow, scores)
                print("  (analyzer.decide agrees)", flush=True)
    for test in ("B", "A"):
        mean = {k: float(np.mean([r[k] for r in runs[test]])) for k in runs[test][0]}
        print(f"mean of {len(seeds)} seeds, fold {test}: " + " ".join(f"{k} {v:.3f}" for k, v in mean.items()))
    if args.json:
        args.json.write_text(json.dumps({"seeds": seeds, "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    import seed_means   # the cached screens pickle as seed_means.Prepared, whoever loads them

    seed_means.main()
