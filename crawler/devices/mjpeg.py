"""A motion-JPEG screen stream (multipart/x-mixed-replace), read in the background; the newest frame kept.

UiAutomator2 streams the screen this way when the session has ``appium:mjpegServerPort`` (its server
on the phone listens on 7810, Appium forwards the port to the host): each part is
``--BoundaryString``, ``Content-type: image/jpg``, ``Content-Length: N``, a blank line and N bytes of
JPEG (appium-uiautomator2-server, ``server/mjpeg/MjpegScreenshotStream.java``). WebDriverAgent's
stream is framed the same way. A frame costs the phone one JPEG, not a PNG over adb and HTTP.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
import urllib.request

#: A stream that sends nothing for this long is taken for dead (UiAutomator2 sends at a fixed rate,
#: 10 frames a second by default, whether the screen changes or not).
STALL_S = 5.0
#: The longest a frame that was not queued takes from the phone's screenshot to here (its JPEG encoding
#: at full size and the adb forward): what dating a frame assumes. A frame read right behind the one
#: before it was queued, and is dated from that one instead (the phone takes them in order).
PIPELINE_S = 0.3
JPEG_START, JPEG_END = b"\xff\xd8", b"\xff\xd9"


def stream_url(session_caps: dict, appium_url: str | None) -> str | None:
    """Where a session's MJPEG stream can be read from here, or None when it has none.

    ``mjpegScreenshotUrl`` when the session names one; else ``mjpegServerPort`` on the Appium host
    (``adb forward`` binds the port there).
    """
    def cap(name):
        return session_caps.get(name, session_caps.get(f"appium:{name}"))
    if cap("mjpegScreenshotUrl"):
        return str(cap("mjpegScreenshotUrl"))
    port = cap("mjpegServerPort")
    if not port:
        return None
    host = (urllib.parse.urlsplit(appium_url).hostname if appium_url else None) or "127.0.0.1"
    return f"http://{host}:{int(port)}"


class MjpegStream:
    """The newest JPEG of a stream; ``next_frame`` waits for one newer than the last it gave.

    ``taken_after`` (``time.monotonic()``) is when the frame ``next_frame`` gave was taken at the
    earliest: the live check dates a frame by when its screenshot was asked for, and a streamed frame
    was taken before it arrived (see PIPELINE_S).
    """

    def __init__(self, url: str, interval_s: float = 0.1) -> None:
        self.url = url
        self.interval_s = interval_s
        self.failure: str | None = None
        self.frames_read = 0
        self.taken_after: float | None = None
        self._latest: bytes | None = None
        self._latest_after = 0.0
        self._last_arrival: float | None = None
        self._opened_at = time.monotonic()
        self._seq, self._given = 0, 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._response = None
        self._thread = threading.Thread(target=self._run, name="mjpeg-reader", daemon=True)

    def start(self) -> MjpegStream:
        self._thread.start()
        return self

    def next_frame(self, timeout_s: float) -> bytes | None:
        """The newest frame, newer than the last one returned, waiting up to ``timeout_s`` for it; None
        when none came in time (the stream stalled) or the stream died (``failure`` says how)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._seq == self._given and self.failure is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self.failure is not None:
                return None
            self._given, self.taken_after = self._seq, self._latest_after
            return self._latest

    def close(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            try:
                response.close()
            except OSError:
                pass
        self._thread.join(timeout=2)

    # -- the reader thread ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            # The timeout bounds the connection and every read: a stalled stream ends here.
            self._response = urllib.request.urlopen(self.url, timeout=STALL_S)
            while not self._stop.is_set():
                jpeg = self._read_part(self._response)
                if jpeg is None:
                    raise EOFError("the stream ended")
                self._publish(jpeg)
        except Exception as exc:      # noqa: BLE001 - refused, reset, stalled, ended: the stream is gone
            if not self._stop.is_set():
                self._fail(f"MJPEG stream at {self.url}: {type(exc).__name__}: {exc}"[:200])

    @staticmethod
    def _read_part(response) -> bytes | None:
        """The next part's JPEG: by its Content-Length, else from its start to its end marker."""
        length = None
        while True:
            line = response.readline()
            if not line:
                return None
            stripped = line.strip()
            if stripped.lower().startswith(b"content-length:"):
                length = int(stripped.split(b":", 1)[1])
            elif not stripped and length is not None:
                return response.read(length)
            elif stripped.startswith(JPEG_START):        # a part without headers
                data = bytearray(line)
                while JPEG_END not in data:
                    chunk = response.read(4096)
                    if not chunk:
                        return None
                    data += chunk
                return bytes(data[data.index(JPEG_START):data.index(JPEG_END) + 2])

    def _publish(self, jpeg: bytes) -> None:
        now = time.monotonic()
        with self._cond:
            if self._last_arrival is None:
                after = self._opened_at                 # the first is taken once the stream was asked for
            elif now - self._last_arrival >= self.interval_s / 2:
                after = now - PIPELINE_S                 # waited for: not queued
            else:
                after = self._latest_after              # queued behind the one before, taken after it
            # Taken after the one before it, and at least a millisecond later (the phone takes one a
            # frame interval): each frame's date is its own.
            self._latest_after = max(after, self._latest_after + 0.001) if self._last_arrival else after
            self._latest, self._seq, self._last_arrival = jpeg, self._seq + 1, now
            self.frames_read += 1
            self._cond.notify_all()

    def _fail(self, why: str) -> None:
        with self._cond:
            self.failure = why
            self._cond.notify_all()
