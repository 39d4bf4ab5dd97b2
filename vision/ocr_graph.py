"""The PP-OCR networks rewritten into ops ONNX Runtime runs fast: same weights, same arithmetic.

Paddle's exporter writes every hard-swish as four elementwise ops (x * clip(x + 3, 0, 6) / 6) and
every PPLCNetV3 "learnable affine block" as a scalar Mul and Add after its convolution. ONNX Runtime
fuses neither: in the recogniser those elementwise passes over full activation maps took 58% of the
run time, more than the convolutions (28%). Here each hard-swish becomes x * HardSigmoid(x) (which
ONNX Runtime runs inside the convolution before it) and each scalar affine after a convolution goes
into that convolution's weights and bias. Recognition then takes about a third less time and
detection about a quarter less; outputs differ by float rounding (probabilities by < 1e-4).

The rewrite is made once, by ``vision.ocr_graph.main`` (``make setup``; it needs the ``onnx``
package, the ``fast-ocr`` extra), and kept in ~/.cache/splashaudit/ocr; the analyzer only reads it.
Without it the stock graph is used: the same text, slower.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

#: Part of the cached file's name: a change to the rewrite must not reuse files made by the old one.
REWRITE_VERSION = 1


def fast_model(model_path: str) -> str:
    """The path of the rewritten model when setup prepared it (``prepare``), else ``model_path``: the
    analyzer never writes, and without the rewrite it reads the same text, only slower."""
    target = prepared_path(model_path)
    return str(target) if target.exists() else model_path


def prepared_path(model_path: str) -> Path:
    """Where ``prepare`` keeps the rewrite of ``model_path``: the user's cache, named by the source's
    size and time and the rewrite's version (a changed model or rewrite is never mistaken for it)."""
    source = Path(model_path)
    stat = source.stat()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "splashaudit" / "ocr" / f"{source.stem}-{stat.st_size}-{stat.st_mtime_ns}-fused{REWRITE_VERSION}.onnx"


def prepare(model_paths: list[str]) -> list[Path]:
    """Rewrite each model not yet prepared (``make setup`` runs this; it needs the ``onnx`` package,
    installed with the ``fast-ocr`` extra). Run as its own process: importing onnx and holding a
    model's protobuf leaves about 60 MB resident that a long analysing process would carry."""
    done = []
    for model_path in model_paths:
        target = prepared_path(model_path)
        if not target.exists():
            rewrite_file(model_path, str(target))
        done.append(target)
    return done


def rewrite_file(source: str, target: str) -> None:
    """Rewrite one model file into another, written whole or not at all (parallel first runs)."""
    import onnx

    model = onnx.load(source)
    _Rewriter(model.graph).run()
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    partial = f"{target}.{os.getpid()}.part"
    onnx.save(model, partial)
    os.replace(partial, target)


class _Rewriter:
    """One pass over a graph: hard-swish chains replaced, scalar affines folded into convolutions."""

    def __init__(self, graph):
        from onnx import numpy_helper

        self.graph = graph
        self.constants = {node.output[0]: numpy_helper.to_array(node.attribute[0].t)
                          for node in graph.node if node.op_type == "Constant" and node.attribute}
        self.constants.update({t.name: numpy_helper.to_array(t) for t in graph.initializer})
        self._index()

    def _index(self) -> None:
        self.producer = {name: node for node in self.graph.node for name in node.output}
        self.consumers = defaultdict(list)
        for node in self.graph.node:
            for name in node.input:
                self.consumers[name].append(node)

    def run(self) -> None:
        self._replace_hard_swish()
        self._index()
        self._fold_conv_affine()

    def _scalar(self, name: str, value: float | None = None) -> float | None:
        """The value of a one-element constant input (or None), optionally only when it is ``value``."""
        found = self.constants.get(name)
        if found is None or found.size != 1:
            return None
        number = float(found.ravel()[0])
        return number if value is None or number == value else None

    def _only_consumer(self, name: str, op_type: str):
        users = self.consumers[name]
        return users[0] if len(users) == 1 and users[0].op_type == op_type else None

    def _hard_swish_at(self, clip):
        """(input, [Add, Clip, Mul, Div]) when ``clip`` is the middle of x * clip(x + 3, 0, 6) / 6."""
        add = self.producer.get(clip.input[0])
        if (add is None or add.op_type != "Add" or len(clip.input) != 3
                or self._scalar(clip.input[1], 0.0) is None or self._scalar(clip.input[2], 6.0) is None):
            return None
        inputs = [name for name in add.input if self._scalar(name, 3.0) is None]
        mul = self._only_consumer(clip.output[0], "Mul")
        if len(inputs) != 1 or len(add.input) != 2 or self._only_consumer(add.output[0], "Clip") is None \
                or mul is None or set(mul.input) != {inputs[0], clip.output[0]}:
            return None
        div = self._only_consumer(mul.output[0], "Div")
        if div is None or div.input[0] != mul.output[0] or self._scalar(div.input[1], 6.0) is None:
            return None
        return inputs[0], [add, clip, mul, div]

    def _replace_hard_swish(self) -> None:
        from onnx import helper

        replaced: dict[int, list] = {}
        dropped: set[int] = set()
        for clip in [node for node in self.graph.node if node.op_type == "Clip"]:
            found = self._hard_swish_at(clip)
            if found is None:
                continue
            x, chain = found
            gate = helper.make_node("HardSigmoid", [x], [clip.output[0] + "_gate"], alpha=1 / 6, beta=0.5)
            product = helper.make_node("Mul", [x, gate.output[0]], [chain[-1].output[0]])
            dropped.update(id(node) for node in chain)
            replaced[id(chain[-1])] = [gate, product]
        nodes = []
        for node in self.graph.node:
            nodes += replaced.get(id(node), [] if id(node) in dropped else [node])
        self._set_nodes(nodes)

    def _fold_conv_affine(self) -> None:
        """conv(x) * s + c with scalars s, c becomes one convolution with weights W*s and bias b*s + c."""
        from onnx import numpy_helper

        dropped: set[int] = set()
        for conv in [node for node in self.graph.node if node.op_type == "Conv"]:
            if len(conv.input) != 3 or conv.input[1] not in self.constants or conv.input[2] not in self.constants:
                continue
            mul = self._only_consumer(conv.output[0], "Mul")
            scale = self._scalar(next((n for n in mul.input if n != conv.output[0]), "")) if mul else None
            add = self._only_consumer(mul.output[0], "Add") if scale is not None else None
            shift = self._scalar(next((n for n in add.input if n != mul.output[0]), "")) if add else None
            if shift is None or len(mul.input) != 2 or len(add.input) != 2:
                continue
            weights = self.constants[conv.input[1]] * np.float32(scale)
            bias = self.constants[conv.input[2]] * np.float32(scale) + np.float32(shift)
            names = (conv.output[0] + "_w_folded", conv.output[0] + "_b_folded")
            self.graph.initializer.extend([numpy_helper.from_array(weights.astype(np.float32), names[0]),
                                           numpy_helper.from_array(bias.astype(np.float32), names[1])])
            conv.input[1], conv.input[2] = names
            conv.output[0] = add.output[0]
            dropped.update((id(mul), id(add)))
        self._set_nodes([node for node in self.graph.node if id(node) not in dropped])
        self._drop_unused_constants()

    def _drop_unused_constants(self) -> None:
        """The folded convolutions' old weights would otherwise stay in the model (and in memory)."""
        used = {name for node in self.graph.node for name in node.input} | {o.name for o in self.graph.output}
        self._set_nodes([node for node in self.graph.node
                         if node.op_type != "Constant" or node.output[0] in used])
        kept = [t for t in self.graph.initializer if t.name in used]
        del self.graph.initializer[:]
        self.graph.initializer.extend(kept)

    def _set_nodes(self, nodes: list) -> None:
        del self.graph.node[:]
        self.graph.node.extend(nodes)
        self._index()


def _rapidocr_models() -> list[str]:
    """The detection and recognition networks RapidOCR loads (the ones ``vision.ocr`` runs)."""
    from rapidocr_onnxruntime.utils import read_yaml, update_model_path
    from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH

    config = update_model_path(read_yaml(DEFAULT_CFG_PATH))
    return [str(config[section]["model_path"]) for section in ("Det", "Rec")]


def main() -> None:
    """Prepare the fused networks (``make setup``); without onnx, say so and leave the stock ones."""
    try:
        for path in prepare(_rapidocr_models()):
            print(f"ocr: {path}")
    except ImportError as exc:          # no onnx: the stock networks stay in use
        print(f"ocr: the fused networks were not made ({exc}); the stock ones are used, slower", file=sys.stderr)


if __name__ == "__main__":
    main()
