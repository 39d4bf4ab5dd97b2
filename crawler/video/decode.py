"""Reading a screen recording cheaply: OpenCV's VideoCapture (the wheel's FFmpeg), one frame at a time.

Frame times come from the container (``CAP_PROP_POS_MSEC``), never from index / fps: phone recorders
(Android's screenrecord, iOS) write a frame only when the screen changed, so frames are unevenly
spaced. Above MAX_SAMPLE_HZ a frame is decoded (``grab``) but not converted (``retrieve``): the codec
must decode every frame anyway, the colour conversion and the thumbnail are what can be skipped.

A file that cannot be judged raises ``VideoError`` with a one-line reason: not there, empty, not a
video OpenCV can read, an MP4/MOV whose index never got written (a recording cut short), a stream
that stops before the frames its header announces.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".webm", ".mkv"}
#: Frames are looked at no more often than this (a 60 fps recording is read at 30 fps).
MAX_SAMPLE_HZ = 30.0
#: A stream may end this many frames short of its header's count (rounding of the duration).
FRAME_COUNT_SLACK = 2
_MP4_TOP_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"pdin", b"moof", b"mfra",
                  b"meta", b"styp", b"sidx", b"prft"}


class VideoError(ValueError):
    """A recording that cannot be judged; str() is the one-line reason."""


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width_px: int
    height_px: int
    fps: float                  # as the container states it (an average for a variable frame rate)
    frame_count: int            # as the container states it (0 when it does not say)
    codec: str

    @property
    def duration_s(self) -> float | None:
        return self.frame_count / self.fps if self.fps and self.frame_count else None


def _check_mp4(path: Path) -> None:
    """An MP4/MOV must end with whole boxes and hold its index (``moov``): a recorder writes the index
    last, so a recording cut short has none and no frame of it can be placed in time."""
    size, offset, kinds = path.stat().st_size, 0, []
    with open(path, "rb") as handle:
        while offset < size:
            handle.seek(offset)
            header = handle.read(16)
            if len(header) < 8:
                raise VideoError(f"truncated: {size - offset} stray bytes at the end of the MP4 boxes")
            box_size, kind = struct.unpack(">I4s", header[:8])
            if box_size == 1 and len(header) == 16:
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:
                box_size = size - offset
            if kind not in _MP4_TOP_BOXES or box_size < 8:
                if not kinds:
                    return      # not an MP4 box layout at all: let OpenCV say what it is
                raise VideoError(f"corrupt MP4: unknown box {kind!r} at byte {offset}")
            kinds.append(kind)
            if offset + box_size > size:
                raise VideoError(f"truncated: its {kind.decode(errors='replace')} box needs "
                                 f"{offset + box_size - size} more bytes than the file has")
            offset += box_size
    if b"moov" not in kinds and b"moof" not in kinds:
        raise VideoError("truncated: the MP4 has no index (moov box): the recording was not finished")


def open_video(path: Path) -> tuple[cv2.VideoCapture, VideoInfo]:
    """An opened capture and what the container says, or ``VideoError``."""
    if not path.exists():
        raise VideoError("no such file")
    if path.is_dir():
        raise VideoError("is a folder")
    if path.stat().st_size == 0:
        raise VideoError("empty file")
    if path.suffix.lower() in (".mp4", ".m4v", ".mov"):
        _check_mp4(path)
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        raise VideoError("not a video OpenCV can read (MP4, WebM, MKV or MOV expected; corrupt or truncated?)")
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC))
    codec = fourcc.to_bytes(4, "little").decode("ascii", errors="replace").strip("\0 ") or "?"
    if width < 16 or height < 16:
        capture.release()
        raise VideoError(f"no picture in it ({width} x {height} px)")
    info = VideoInfo(str(path), width, height, float(capture.get(cv2.CAP_PROP_FPS) or 0.0),
                     max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 0), codec)
    return capture, info


def frames(capture: cv2.VideoCapture, info: VideoInfo):
    """(t_s, BGR image) of the frames to look at, in order; ``VideoError`` when the stream breaks off.

    Frames closer than 1 / MAX_SAMPLE_HZ to the last one looked at are decoded and passed over.
    """
    decoded, looked_s, last_t = 0, None, -1.0
    while capture.grab():
        decoded += 1
        t_s = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
        if t_s <= last_t:               # a container without times: count frames instead
            t_s = last_t + (1 / info.fps if info.fps else 1 / MAX_SAMPLE_HZ)
        last_t = t_s
        if looked_s is not None and t_s - looked_s < 1 / MAX_SAMPLE_HZ - 1e-4:
            continue
        ok, image = capture.retrieve()
        if not ok or image is None:
            raise VideoError(f"frame {decoded} at {t_s:.2f} s does not decode")
        looked_s = t_s
        yield t_s, np.ascontiguousarray(image)
    if decoded == 0:
        raise VideoError(f"no frame decodes (codec {info.codec})")
    if info.frame_count and decoded < info.frame_count - FRAME_COUNT_SLACK:
        raise VideoError(f"truncated or corrupt: the stream stops after {decoded} of the "
                         f"{info.frame_count} frames its header announces (at {last_t:.2f} s)")
