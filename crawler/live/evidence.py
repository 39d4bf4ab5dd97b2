"""Evidence files written by one background thread, never by the watcher.

Encoding an annotated photo-like frame took 3.4 s inside the watcher's loop, and no tap was delivered
during a short ad. The watcher now only decides what to keep and names the file (a cheap step, so the
name is in the results at once); the bytes are written by ``EvidenceWriter``'s thread, at a lower CPU
priority than the watcher's, and ``flush`` waits for them before a report is final.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

import cv2
import numpy as np

#: The frames of one screen state kept as evidence, at most this many seconds apart (an ad that stays).
KEEP_EVERY_S = 2.0


class EvidenceWriter:
    """A queue of writing jobs run in order by one daemon thread; a context manager."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._jobs: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="evidence-writer", daemon=True)
        self._thread.start()

    def submit(self, job, *args) -> None:
        self._jobs.put((job, args))

    def flush(self) -> None:
        """Return once every job submitted so far is done."""
        self._jobs.join()

    def close(self) -> None:
        self.flush()
        self._jobs.put(None)
        self._thread.join(timeout=30)

    def __enter__(self) -> EvidenceWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _run(self) -> None:
        try:   # evidence can wait; the watcher's analysis and taps cannot
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        while (item := self._jobs.get()) is not None:
            job, args = item
            try:
                job(*args)
            except Exception as exc:  # a full disk must not stop the check: the result says what failed
                self.errors.append(f"{getattr(job, '__name__', 'job')}: {type(exc).__name__}: {exc}"[:300])
            finally:
                self._jobs.task_done()
        self._jobs.task_done()


def image_suffix(image_bytes: bytes) -> str:
    """``.jpg`` or ``.png``, from the bytes' own signature."""
    return ".jpg" if image_bytes[:3] == b"\xff\xd8\xff" else ".png"


def write_frame_files(image_bytes: bytes, analysis, raw_path: Path, annotated_path: Path) -> None:
    """The frame as the device gave it, and a small annotated JPEG beside it."""
    from crawler.reports import annotate

    raw_path.write_bytes(image_bytes)
    image = cv2.imdecode(np.frombuffer(image_bytes, np.uint8), cv2.IMREAD_COLOR)
    if image is not None:
        annotate.save_annotated(image, analysis, annotated_path)
