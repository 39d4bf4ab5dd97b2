"""Recording the Chromium phone's screen: the page captured again and again, each frame stamped with
when it was taken, as a screen recorder would.

A capture is the live check's own frame (``WebDevice.frame_bytes``: DevTools' ``Page.captureScreenshot``,
JPEG, the emulated phone's pixels), asked for as soon as the last one came back, under a ``DeviceLock``
(the recorder's captures wait behind the caller's taps, never the other way round); a frame the same as
the one before is not kept (a recorder writes what changed). Each is stamped with when the screen
looked like it (s since the epoch): CAPTURE_TAIL_S before its reply, not before it was asked for.

DevTools' screencast (``Page.startScreencast``) was the first choice and is not used: headless Chromium
sends its frames at CSS px (412 x 915 for a 1082 x 2402 phone); drawing the browser at the phone's pixel
ratio instead (``--force-device-scale-factor``) rasterised text differently from what the live check
sees (a 广告 label the analyzer reads in live frames went unread), and after a navigation paints went
missing for seconds. Captures on a DevTools session of our own are no better: device emulation belongs
to chromedriver's session, so they come at CSS px; asking for them at a scale (``clip.scale``) cleared
chromedriver's emulation (the page fell to a pixel ratio of 1), and setting the emulation there too
moved chromedriver's taps. So captures go through chromedriver, as the live check's do (5-10 a second).

A DevTools socket of our own serves ``page_scripts`` only: chromedriver reports the browser's DevTools
address (``goog:chromeOptions.debuggerAddress``), the page is the target whose id is the WebDriver window
handle. ``websocket-client`` is Selenium's own dependency, not one more.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field

from crawler.devices.base import DeviceError
from crawler.live.devicelock import DeviceLock

#: A capture shows the screen as it was this long before its reply came (encoding and transfer take
#: about that); one that waited longer waited for the page, which drew nothing new meanwhile.
CAPTURE_TAIL_S = 0.1


@dataclass
class Recording:
    """Frames (s since the epoch, JPEG bytes), in time order; the time of every capture, kept or not
    (where the recording could have missed something); what the page's own scripts reported through
    their bindings: (binding name, payload, s since the epoch it arrived)."""

    frames: list[tuple[float, bytes]] = field(default_factory=list)
    taken_s: list[float] = field(default_factory=list)
    calls: list[tuple[str, dict, float]] = field(default_factory=list)

    def frame_at(self, t_s: float) -> bytes | None:
        """The frame on screen at ``t_s``: the newest taken at or before it (None before the first)."""
        times = [t for t, _ in self.frames]
        index = bisect.bisect_right(times, t_s) - 1
        return self.frames[index][1] if index >= 0 else None


class PageRecorder:
    """Records the page of a ``WebDevice`` while in a ``with`` block; ``recording`` holds what came.

    The caller's own device calls go ``with recorder.lock:`` (served before the next capture).
    ``page_scripts`` maps a binding name to a script run in every document the page loads from now on
    (the next cold launch), which may call ``window.NAME(json)``; each call lands in ``recording.calls``
    (a test fixture uses this to learn when the page was touched, never the checker).
    """

    def __init__(self, device, page_scripts: dict[str, str] | None = None):
        self.device = device
        self.page_scripts = page_scripts or {}
        self.recording = Recording()
        self.errors: list[str] = []
        self.lock = DeviceLock()
        self._ws = None
        self._next_id = 0
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- the page's own scripts -------------------------------------------------------------------------
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

    def _read(self) -> None:
        while True:
            try:
                message = json.loads(self._ws.recv())
            except Exception:  # noqa: BLE001 - closed socket: the recording is over
                return
            params = message.get("params") or {}
            if message.get("method") == "Runtime.bindingCalled" and params.get("name") in self.page_scripts:
                try:
                    payload = json.loads(params["payload"])
                except ValueError:
                    continue
                self.recording.calls.append((params["name"], payload, time.time()))

    # -- recording ----------------------------------------------------------------------------------------
    def __enter__(self) -> PageRecorder:
        if self.page_scripts:
            import websocket   # Selenium's dependency; imported here so a plain check never needs it

            self._ws = websocket.create_connection(self._page_socket_url(), timeout=10, suppress_origin=True)
            self._ws.settimeout(None)
            reader = threading.Thread(target=self._read, name="recorder-socket", daemon=True)
            reader.start()
            self._threads.append(reader)
            self._send("Page.enable")
            self._send("Runtime.enable")        # binding calls are reported while Runtime is enabled
            for name, source in self.page_scripts.items():
                self._send("Runtime.addBinding", {"name": name})
                self._send("Page.addScriptToEvaluateOnNewDocument", {"source": source})
        captures = threading.Thread(target=self._capture_loop, name="recorder-captures", daemon=True)
        captures.start()
        self._threads.append(captures)
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._threads[-1].join(timeout=10)
        if self._ws is not None:
            try:
                self._ws.close()
            finally:
                self._threads[0].join(timeout=5)

    def _capture_loop(self) -> None:
        last = None
        while not self._stop.is_set():
            try:
                with self.lock.background():
                    asked = time.time()
                    image = self.device.frame_bytes()
                    stamp = max(asked, time.time() - CAPTURE_TAIL_S)
            except Exception as exc:  # noqa: BLE001 - a page between documents: ask again
                self.errors.append(f"capture failed: {type(exc).__name__}: {str(exc)[:120]}")
                time.sleep(0.05)
                continue
            self.recording.taken_s.append(stamp)
            if image != last:                 # unchanged screens are not kept (a recorder writes changes)
                last = image
                self.recording.frames.append((stamp, image))
