"""Recording the Chromium phone's screen: DevTools ``Page.startScreencast`` frames, each with its paint time.

Chromium pushes a JPEG frame whenever the page paints (``Page.screencastFrame``, acknowledged with
``Page.screencastFrameAck``), stamped with the time the frame was swapped (``metadata.timestamp``, s
since the epoch). Unchanged screens send nothing, so a recording is a list of (paint time, JPEG): a
video at a fixed frame rate is made from it by timestamp (``frame_at``), never by arrival.

Events need a socket of their own: the WebDriver passthrough (``goog/cdp/execute``) answers commands
only. chromedriver reports the browser's DevTools address (``goog:chromeOptions.debuggerAddress``);
the page is the target whose id is the WebDriver window handle. ``websocket-client`` is Selenium's
own dependency, not one more.

Headless Chromium paints screencast frames at CSS px unless the browser runs at the phone's pixel
ratio (``--force-device-scale-factor``, see ``recording_capabilities``): a recording must have the
pixels a screenshot has, or an 8 dp ✕ is 8 px.
"""

from __future__ import annotations

import base64
import bisect
import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field

from crawler.devices.base import DeviceError

#: JPEG quality of screencast frames (as watched frames: the analyzer holds on JPEG-90 copies).
SCREENCAST_JPEG_QUALITY = 90
@dataclass
class Recording:
    """Screencast frames (paint time s since the epoch, JPEG bytes), sorted, and what the page's own
    scripts reported through their bindings: (binding name, payload, s since the epoch it arrived)."""

    frames: list[tuple[float, bytes]] = field(default_factory=list)
    calls: list[tuple[str, dict, float]] = field(default_factory=list)

    def frame_at(self, t_s: float) -> bytes | None:
        """The frame on screen at ``t_s``: the newest painted at or before it (None before the first)."""
        times = [t for t, _ in self.frames]
        index = bisect.bisect_right(times, t_s) - 1
        return self.frames[index][1] if index >= 0 else None


def recording_capabilities(capabilities: dict, density: float) -> dict:
    """``capabilities`` with the browser drawn at the phone's pixel ratio, so screencast frames have
    screenshot pixels (headless Chromium otherwise paints them at CSS px)."""
    caps = json.loads(json.dumps(capabilities))
    chrome = caps.setdefault("goog:chromeOptions", {})
    chrome["args"] = [*chrome.get("args", []), f"--force-device-scale-factor={density:g}"]
    return caps


class Screencast:
    """Records the page of a ``WebDevice`` while in a ``with`` block; ``recording`` holds what came.

    ``page_scripts`` maps a binding name to a script run in every document the page loads from now on
    (the next cold launch), which may call ``window.NAME(json)``; each call lands in ``recording.calls``
    (a test fixture uses this to learn when the page was touched, never the checker).
    """

    def __init__(self, device, quality: int = SCREENCAST_JPEG_QUALITY, max_size_px: tuple[int, int] | None = None,
                 page_scripts: dict[str, str] | None = None, max_fps: float | None = None):
        self.device, self.quality = device, quality
        #: Chromium encodes the next frame only once the last is acknowledged: acknowledging no faster
        #: than this keeps an animation at full size from flooding a busy machine (input waits behind it)
        self.min_interval_s = 1 / max_fps if max_fps else 0.0
        self.page_scripts = page_scripts or {}
        self.max_size_px = max_size_px or tuple(device.profile.screen_px)
        self.recording = Recording()
        self._ws = None
        self._next_id = 0
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._last_ack = 0.0
        self.errors: list[str] = []

    # -- the socket ---------------------------------------------------------------------------------
    def _page_socket_url(self) -> str:
        driver = self.device.driver
        address = (driver.capabilities.get("goog:chromeOptions") or {}).get("debuggerAddress")
        if not address:
            raise DeviceError("the Chromium session does not report a DevTools address (debuggerAddress)")
        with urllib.request.urlopen(f"http://{address}/json", timeout=10) as reply:
            targets = json.loads(reply.read().decode("utf-8"))
        handle = driver.current_window_handle
        page = next((t for t in targets if t.get("id") == handle), None)
        if page is None:
            raise DeviceError(f"no DevTools target for the window {handle}")
        return page["webSocketDebuggerUrl"]

    def _send(self, method: str, params: dict | None = None) -> None:
        with self._send_lock:
            self._next_id += 1
            self._ws.send(json.dumps({"id": self._next_id, "method": method, "params": params or {}}))

    def __enter__(self) -> Screencast:
        import websocket   # Selenium's dependency; imported here so a plain check never needs it

        self._ws = websocket.create_connection(self._page_socket_url(), timeout=10, suppress_origin=True)
        self._ws.settimeout(None)
        self._reader = threading.Thread(target=self._read, name="screencast", daemon=True)
        self._reader.start()
        self._send("Page.enable")
        if self.page_scripts:
            self._send("Runtime.enable")        # binding calls are reported while Runtime is enabled
        for name, source in self.page_scripts.items():
            self._send("Runtime.addBinding", {"name": name})
            self._send("Page.addScriptToEvaluateOnNewDocument", {"source": source})
        width, height = self.max_size_px
        self._send("Page.startScreencast", {"format": "jpeg", "quality": self.quality, "maxWidth": width,
                                             "maxHeight": height, "everyNthFrame": 1})
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self._send("Page.stopScreencast")
            time.sleep(0.2)                 # the frames already on their way
        except Exception:  # noqa: BLE001 - a gone browser has stopped casting anyway
            pass
        try:
            self._ws.close()
        finally:
            if self._reader is not None:
                self._reader.join(timeout=5)
        with self._lock:
            self.recording.frames.sort(key=lambda f: f[0])

    # -- what comes back ----------------------------------------------------------------------------
    def _read(self) -> None:
        while True:
            try:
                message = json.loads(self._ws.recv())
            except Exception:  # noqa: BLE001 - closed socket: the recording is over
                return
            method = message.get("method")
            if method == "Page.screencastFrame":
                params = message["params"]
                wait_s = self.min_interval_s - (time.monotonic() - self._last_ack)
                if wait_s > 0:
                    time.sleep(wait_s)
                try:
                    self._send("Page.screencastFrameAck", {"sessionId": params["sessionId"]})
                    self._last_ack = time.monotonic()
                except Exception:  # noqa: BLE001
                    return
                stamp = params["metadata"].get("timestamp") or time.time()
                with self._lock:
                    self.recording.frames.append((float(stamp), base64.b64decode(params["data"])))
            elif method == "Runtime.bindingCalled" and message["params"].get("name") in self.page_scripts:
                try:
                    payload = json.loads(message["params"]["payload"])
                except ValueError:
                    continue
                with self._lock:
                    self.recording.calls.append((message["params"]["name"], payload, time.time()))
            elif "error" in message:
                self.errors.append(str(message["error"].get("message", message["error"]))[:200])
