"""Text reading with RapidOCR (PP-OCRv4 det + rec, ONNX Runtime, models shipped in the wheel).

The stock ``RapidOCR()(image)`` pass detects on the full frame (a 1080 x 2400 screenshot is detected at
about 900 x 2000), runs the angle classifier and pads every line to 320 px for the recogniser. Screens
need none of that: UI text is upright; body text, titles and buttons are still detected at 1.2 px per
dp (small labels, and words the detector cuts short at that scale, are vision.smalltext's job); and a
short label padded to 192 px reads the same. So this module detects on a downscaled copy, maps the
boxes back, and recognises crops taken from the full-resolution frame, which keeps small labels
legible. Each thread loads its engine once and reuses it, so parallel checks in one process (a batch's
workers) read text at the same time instead of queueing for one engine.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import cv2
import numpy as np

from vision import ocr_graph
from vision.types import Box, TextLine, density_or_assumed

#: Detection resolution: pixels per dp on the downscaled copy the detector sees.
DETECT_PX_PER_DP = 1.2
#: Lines the recogniser reads below this confidence are dropped as noise.
MIN_TEXT_CONFIDENCE = 0.5

_per_thread = threading.local()


def engine():
    """This thread's RapidOCR engine (loading takes about half a second; RapidOCR is not thread-safe)."""
    found = getattr(_per_thread, "engine", None)
    if found is None:
        from rapidocr_onnxruntime import RapidOCR

        # limit_type "max" keeps our own pre-scaled size; the default ("min", 736) would upscale it.
        found = _per_thread.engine = RapidOCR(use_cls=False, print_verbose=False, det_limit_type="max")
        _reopen_session(found.text_det.infer, "Det")
        _reopen_session(found.text_rec.session, "Rec")
    return found


def _reopen_session(infer, section: str) -> None:
    """Reopen one of RapidOCR's ONNX Runtime sessions on the rewritten network, with the recogniser's
    memory arena on and idle threads asleep.

    RapidOCR turns the arena off, so every run maps and zeroes its activations afresh (detection took
    76 ms instead of 53 on a 512 x 1088 input). Worker threads spin between the parallel parts of a run
    (without it two threads ran a recogniser batch only 1.5x as fast as one, with it 1.8x) but stop when
    the run ends: by default they go on spinning after it, burning a core that the other checks of a
    batch on a 2-core machine need (83 CPU-ms per 23 ms batch, against 49 with the stop).
    """
    import onnxruntime as ort
    from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
    from rapidocr_onnxruntime.utils import read_yaml, update_model_path

    options = ort.SessionOptions()
    options.log_severity_level = 4
    # The arena keeps the largest buffers a run needed for the process's life: for the recogniser
    # (batches of text lines, a few MB) that is what makes its runs fast; for the detector it was a
    # whole screen's activation maps, 130 MB kept after one tall screen (peak of a 100-screen run 711
    # MB with it, 582 without), for 20-25 ms more per screen.
    options.enable_cpu_mem_arena = section == "Rec"
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    options.add_session_config_entry("session.force_spinning_stop", "1")
    model_path = update_model_path(read_yaml(DEFAULT_CFG_PATH))[section]["model_path"]
    # The same network with its hard-swishes and scalar affines in ops ONNX Runtime fuses (ocr_graph).
    infer.session = ort.InferenceSession(ocr_graph.fast_model(str(model_path)), sess_options=options,
                                         providers=["CPUExecutionProvider"])


def warm_up() -> None:
    """Load the models and run them once: ONNX Runtime's first inference is several times slower,
    which a live probe would otherwise pay on its first, most time-critical frame."""
    canvas = np.full((96, 320, 3), 255, np.uint8)
    cv2.putText(canvas, "Skip 5", (20, 64), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (0, 0, 0), 3)
    read_text(canvas, None)


def detect_scale(width_px: int, density: float | None) -> float:
    """Factor (<= 1) to shrink a screenshot by before text detection."""
    return min(1.0, DETECT_PX_PER_DP / density_or_assumed(density, width_px))


def _crop_quad(image_bgr: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Cut a text quadrilateral out of the image as an upright rectangle (as RapidOCR does)."""
    quad = quad.astype(np.float32)
    width = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    height = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    width, height = max(width, 1), max(height, 1)
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    matrix = cv2.getPerspectiveTransform(quad, target)
    crop = cv2.warpPerspective(image_bgr, matrix, (width, height),
                               borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    if height / width >= 1.5:
        crop = np.rot90(crop)
    return crop


def detect_text_boxes(image_bgr: np.ndarray, density: float | None) -> list[np.ndarray]:
    """Text quadrilaterals (4 x 2 float arrays, full-resolution px), top-to-bottom."""
    h, w = image_bgr.shape[:2]
    det = engine().text_det
    # The network wants sides that are multiples of 32: scale straight to them, in one area-averaged
    # resize (RapidOCR would resize our copy a second time, linearly, to round it).
    scale = detect_scale(w, density)
    small_w, small_h = (max(32, round(side * scale / 32) * 32) for side in (w, h))
    small = cv2.resize(image_bgr, (small_w, small_h),
                       interpolation=cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR)
    # Normalised to [-1, 1] (mean 0.5, std 0.5) in float32; RapidOCR does it in float64.
    blob = cv2.dnn.blobFromImage(small, scalefactor=2 / 255, mean=(127.5, 127.5, 127.5))
    preds = det.infer(blob)[0]
    quads, _ = det.postprocess_op(preds, (h, w))
    quads = det.filter_tag_det_res(quads, (h, w))
    if len(quads) == 0:
        return []
    quads = [q.astype(np.float32) for q in quads]
    return sorted(quads, key=lambda q: (q[:, 1].min(), q[:, 0].min()))


def quad_box(quad: np.ndarray) -> Box:
    """The upright box around a text quadrilateral."""
    x1, y1 = quad.min(axis=0)
    x2, y2 = quad.max(axis=0)
    return Box.from_points(x1, y1, x2, y2)


#: The recogniser's input: lines are scaled to this height and padded to a common width per batch.
REC_HEIGHT_PX = 48
#: Short lines are padded to this width (RapidOCR pads everything to 320, which is most of the cost
#: of reading a short label); a lone character still gets the full 320, without which the model
#: misreads bare digits.
REC_MIN_WIDTH_PX, REC_CHAR_WIDTH_PX = 192, 320
REC_BATCH = 6
#: At most this much padded line width (px) per batch: the recogniser's working memory grows with it,
#: and six sentences at once took ~100 MB more at the peak than six labels.
REC_BATCH_WIDTH_PX = 6 * 320


def _batches(order: list[int], aspects: list[float]) -> list[list[int]]:
    """Indices (sorted by aspect) cut into batches of at most REC_BATCH lines and REC_BATCH_WIDTH_PX."""
    batches: list[list[int]] = []
    for index in order:
        width_px = max(REC_MIN_WIDTH_PX, aspects[index] * REC_HEIGHT_PX)
        if batches and len(batches[-1]) < REC_BATCH and width_px * (len(batches[-1]) + 1) <= REC_BATCH_WIDTH_PX:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


def read_crops(crops: list[np.ndarray]) -> list[tuple[str, float]]:
    """(text, confidence) for each upright line image, batched by aspect ratio."""
    rec = engine().text_rec
    aspects = [c.shape[1] / max(c.shape[0], 1) for c in crops]
    order = sorted(range(len(crops)), key=aspects.__getitem__)
    results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
    for batch in _batches(order, aspects):
        floor_px = REC_CHAR_WIDTH_PX if aspects[batch[0]] < 1.2 else REC_MIN_WIDTH_PX
        width_ratio = max(floor_px / REC_HEIGHT_PX, aspects[batch[-1]])
        inputs = np.stack([rec.resize_norm_img(crops[i], width_ratio) for i in batch]).astype(np.float32)
        scores = rec.session(inputs)[0]
        best = scores.argmax(axis=2)    # one pass over the 6,625 classes; the scores are picked, not re-reduced
        decoded = rec.postprocess_op.decode(best, np.take_along_axis(scores, best[..., None], axis=2)[..., 0],
                                            is_remove_duplicate=True)
        for i, (text, confidence) in zip(batch, decoded):
            results[i] = (text, float(confidence))
    return results


def recognise(image_bgr: np.ndarray, quads: list[np.ndarray]) -> list[TextLine]:
    """Read each quadrilateral from the full-resolution image."""
    if not quads:
        return []
    results = read_crops([_crop_quad(image_bgr, q) for q in quads])
    lines = []
    for quad, (text, score) in zip(quads, results):
        text = text.strip()
        if not text or score < MIN_TEXT_CONFIDENCE:
            continue
        lines.append(TextLine(quad_box(quad), text, round(float(score), 3)))
    return lines


#: A text box longer than this many times its height holds a sentence, not a control's label.
SHORT_BOX_MAX_ASPECT = 8.0


def split_by_length(quads: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(short, long) text boxes: labels and buttons first, sentences only when a screen needs them."""
    short, long = [], []
    for quad in quads:
        width, height = np.ptp(quad[:, 0]), max(np.ptp(quad[:, 1]), 1.0)
        (short if width / height <= SHORT_BOX_MAX_ASPECT else long).append(quad)
    return short, long


def read_text(image_bgr: np.ndarray, density: float | None) -> list[TextLine]:
    """Every line of text on a screenshot, with boxes in full-resolution px."""
    return recognise(image_bgr, detect_text_boxes(image_bgr, density))


def full_frame_baseline(image_bgr: np.ndarray) -> list[TextLine]:
    """The stock RapidOCR pass over the whole frame (detector at full size, angle classifier on).

    Kept as the yardstick the speed benchmark compares :func:`read_text` against.
    """
    from rapidocr_onnxruntime import RapidOCR

    stock = _stock_engine(RapidOCR)
    result, _ = stock(image_bgr)
    lines = []
    for quad, text, score in result or []:
        lines.append(TextLine(quad_box(np.asarray(quad, dtype=np.float32)), text, float(score)))
    return lines


@lru_cache(maxsize=1)
def _stock_engine(factory):
    return factory()
