"""Fitted decision forests, evaluated with numpy alone.

The judgements of the analyzer that no rule can settle (is this ✕ or "No thanks" the way out of a
pop-up? is this screen a pop-up, a splash ad or the app itself?) come from random forests fitted by
``fixtures/train_models.py`` (scikit-learn, a training-only dependency) and exported as plain arrays:
one ``.npz`` per model in ``vision/models/``, loaded once, offline. Evaluating them needs no
scikit-learn: each tree is walked for all rows at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MODELS_DIR = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class Forest:
    """A forest of binary trees sharing one node table; ``roots[i]`` is tree i's first node.

    ``left``/``right`` are child indices (-1 at a leaf), ``feature``/``threshold`` the split
    (go left when ``x[feature] <= threshold``), ``value`` each node's class shares (n_nodes x n_classes).
    """

    roots: np.ndarray
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    classes: tuple[str, ...]
    feature_names: tuple[str, ...]
    #: Platt scaling of the winning class's share: calibrated = 1 / (1 + exp(-(a * share + b))).
    calibration: tuple[float, float]
    #: The share above which a row counts as the positive class (binary models).
    threshold_share: float

    def shares(self, rows: np.ndarray) -> np.ndarray:
        """Per-class mean leaf shares (rows x classes), as the forest votes."""
        rows = np.asarray(rows, dtype=np.float32).reshape(-1, len(self.feature_names))
        total = np.zeros((len(rows), len(self.classes)), dtype=np.float64)
        index = np.arange(len(rows))
        for root in self.roots:
            node = np.full(len(rows), root, dtype=np.int64)
            while True:
                inner = self.left[node] >= 0
                if not inner.any():
                    break
                at = node[inner]
                go_left = rows[index[inner], self.feature[at]] <= self.threshold[at]
                node[inner] = np.where(go_left, self.left[at], self.right[at])
            total += self.value[node]
        return total / len(self.roots)

    def calibrated(self, share: np.ndarray | float) -> np.ndarray | float:
        """The probability that a decision taken at this share is right (fitted on held-out rows)."""
        a, b = self.calibration
        return 1.0 / (1.0 + np.exp(-(a * np.asarray(share) + b)))


def save(path: Path, forest: Forest) -> None:
    meta = {"classes": list(forest.classes), "feature_names": list(forest.feature_names),
            "calibration": list(forest.calibration), "threshold_share": forest.threshold_share}
    np.savez_compressed(path, roots=forest.roots.astype(np.int32), left=forest.left.astype(np.int32),
                        right=forest.right.astype(np.int32), feature=forest.feature.astype(np.int16),
                        threshold=forest.threshold.astype(np.float32), value=forest.value.astype(np.float16),
                        meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8))


def load(path: Path) -> Forest:
    with np.load(path) as data:
        meta = json.loads(bytes(data["meta"]).decode("utf-8"))
        return Forest(data["roots"].astype(np.int64), data["left"].astype(np.int64),
                      data["right"].astype(np.int64), data["feature"].astype(np.int64),
                      data["threshold"].astype(np.float32), data["value"].astype(np.float64),
                      tuple(meta["classes"]), tuple(meta["feature_names"]),
                      tuple(meta["calibration"]), float(meta["threshold_share"]))


@lru_cache(maxsize=None)
def model(name: str) -> Forest:
    """The committed model ``vision/models/NAME.npz``, loaded once per process."""
    return load(MODELS_DIR / f"{name}.npz")


@dataclass(frozen=True)
class Models:
    """The analyzer's fitted models: which candidates are a way out, and which kind a screen is."""

    dismiss: Forest
    screen_kind: Forest

    @classmethod
    def committed(cls) -> Models:
        return cls(model("dismiss"), model("screen_kind"))
