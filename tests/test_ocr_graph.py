"""The OCR networks rewritten into fused ops (vision/ocr_graph.py) compute what the stock ones compute.

`make setup` prepares them once (the analyzer only reads them); these tests rewrite the stock files
afresh and run both on a real phone screen.
"""

from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort

from vision import ocr_graph

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "screens" / "real"


def _input(size_wh: tuple[int, int]) -> np.ndarray:
    """A real screen, normalised as RapidOCR feeds its networks (NCHW, (x / 255 - 0.5) / 0.5)."""
    image = cv2.imread(str(sorted(REAL.glob("*.jpg"))[0]))
    image = cv2.resize(image, size_wh, interpolation=cv2.INTER_AREA).astype(np.float32)
    return ((image / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]


def _run(model: str, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_the_fused_networks_give_the_stock_networks_outputs_with_fewer_ops(tmp_path):
    det, rec = ocr_graph._rapidocr_models()
    for source, size_wh in ((det, (320, 640)), (rec, (320, 48))):
        target = tmp_path / (Path(source).stem + ".onnx")
        ocr_graph.rewrite_file(source, str(target))
        x = _input(size_wh)
        stock, fused = _run(source, x), _run(str(target), x)
        assert stock.shape == fused.shape and np.abs(stock - fused).max() < 1e-3, Path(source).name
        if source == rec:       # the same character at every step of the text line
            assert (stock.argmax(axis=-1) == fused.argmax(axis=-1)).all()
        ops = lambda path: [n.op_type for n in onnx.load(path).graph.node]  # noqa: E731
        assert "Clip" in ops(source) and "Clip" not in ops(str(target))      # every hard-swish rewritten
        assert len(ops(str(target))) < len(ops(source))


def test_setup_prepared_the_fused_networks_the_analyzer_reads():
    for source in ocr_graph._rapidocr_models():
        assert ocr_graph.fast_model(source) != source, "run `make setup` (it prepares them)"
