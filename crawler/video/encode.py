"""Writing a recording as a phone's recorder does: an MP4 whose frames carry their own times.

Android's screenrecord writes a frame only when the screen changed, each stamped with when it was
drawn; ``decode`` reads those times back (never index / fps). OpenCV's VideoWriter writes frames at
a constant rate only, so the frames are encoded (MPEG-4 Part 2, ``mp4v``: in every opencv-python
wheel) and then re-wrapped packet by packet, each with its own instant on a ``fps`` grid (OpenCV's
raw video mode, ``VIDEOWRITER_PROP_PTS``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np


class EncodeError(RuntimeError):
    """OpenCV could not write the MP4 here; str() says which file."""


def write_on_grid(shown: Iterable[tuple[int, np.ndarray]], path: Path, fps: float) -> int:
    """Write ``shown`` ((grid index, BGR picture), indices rising, pictures of one size; read as they
    come, so a long recording is never held whole) to ``path``, each frame at index / ``fps`` s.
    Returns how many frames were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.mp4")
    try:
        grid, shape = _encode(shown, tmp)
        if not grid:
            raise EncodeError(f"{path}: no frame to write")
        _remux_with_times(tmp, path, grid, fps, shape)
    finally:
        tmp.unlink(missing_ok=True)
    return len(grid)


def _encode(shown: Iterable[tuple[int, np.ndarray]], path: Path) -> tuple[list[int], tuple]:
    writer, grid, shape = None, [], ()
    try:
        for index, image in shown:
            if writer is None:
                shape = image.shape
                writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"mp4v"), 30,
                                         (shape[1], shape[0]))
                if not writer.isOpened():
                    raise EncodeError(f"{path}: OpenCV cannot write MP4 (mp4v) here")
            writer.write(image)
            grid.append(index)
    finally:
        if writer is not None:
            writer.release()
    return grid, shape


def _remux_with_times(encoded: Path, path: Path, grid: list[int], fps: float, shape) -> None:
    """The encoded frames re-wrapped, each stamped with its grid instant (OpenCV's raw video mode)."""
    capture = cv2.VideoCapture(str(encoded), cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])
    fourcc = cv2.VideoWriter_fourcc(*"mp4v")     # (the stream reports FMP4, which MP4 files tag mp4v)
    extra = capture.retrieve(None, int(capture.get(cv2.CAP_PROP_CODEC_EXTRADATA_INDEX)))[1]
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, fourcc, fps, (shape[1], shape[0]),
                             [cv2.VIDEOWRITER_PROP_RAW_VIDEO, 1, cv2.VIDEOWRITER_PROP_KEY_INTERVAL, 12])
    try:
        for number, index in enumerate(grid):
            ok, packet = capture.read()
            if not ok:
                raise EncodeError(f"{encoded}: {number} of {len(grid)} frames came back")
            if number == 0 and extra is not None:     # MP4 keeps the stream header apart; raw packets carry it
                packet = np.concatenate([extra.reshape(-1), packet.reshape(-1)])
            writer.set(cv2.VIDEOWRITER_PROP_PTS, index)
            writer.write(packet.reshape(1, -1))
    finally:
        writer.release()
        capture.release()
