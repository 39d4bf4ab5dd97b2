"""Recording the Chromium phone's screen over DevTools: the page captured again and again, each frame
stamped with when it was taken, as a screen recorder would.

A capture is ``Page.captureScreenshot`` (JPEG, the emulated phone's pixels), the same frame the live
check looks at, asked for on a DevTools socket of our own as soon as the last one came back; a frame
the same as the one before is not kept (a recorder writes what changed). Each is stamped with when the
screen looked like it (s since the epoch): CAPTURE_TAIL_S before its reply, not before it was asked for.

DevTools' screencast (``Page.startScreencast``) was the first choice and is not used: headless Chromium
sends its frames at CSS px (412 x 915 for a 1082 x 2402 phone), drawing the browser at the phone's pixel
ratio (``--force-device-scale-factor``) rasterised text differently from what the live check sees (a 广告
label the analyzer reads in live frames went unread), and after a navigation paints went missing for
seconds. Captures have none of these faults; they come 5-10 a second here.

chromedriver reports the browser's DevTools address (``goog:chromeOptions.debuggerAddress``); the page
is the target whose id is the WebDriver window handle. ``websocket-client`` is Selenium's own
dependency, not one more.
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
from crawler.devices.web import css_metrics

#: A capture shows the screen as it was this long before its reply came (encoding and transfer take
#: about that); one that waited longer waited for the page, which drew nothing new meanwhile.
CAPTURE_TAIL_S = 0.1
#: JPEG quality of the captures (as the live check's frames: the analyzer holds on JPEG-90 copies).
CAPTURE_JPEG_QUALITY = 90
#: A capture not back after this long is given up and asked again (one asked while the page navigated
#: never comes back; one takes 30-200 ms here).
CAPTURE_GIVE_UP_S = 0.6


@dataclass
class Recording:
    """Frames (s since the epoch, JPEG bytes), in time order, and what the page's own scripts reported
    through their bindings: (binding name, payload, s since the epoch it arrived)."""

    frames: list[tuple[float, bytes]] = field(default_factory=list)
    calls: list[tuple[str, dict, float]] = field(default_factory=list)
    taken_s: list[float] = field(default_factory=list)     # every capture, kept or not: where the gaps are

    def frame_at(self, t_s: float) -> bytes | None:
        """The frame on screen at ``t_s``: the newest taken at or before it (None before the first)."""
        times = [t for t, _ in self.frames]
        index = bisect.bisect_right(times, t_s) - 1
        return self.frames[index][1] if index >= 0 else None


class PageRecorder:
    """Records the page of a ``WebDevice`` while in a ``with`` block; ``recording`` holds what came.

    ``page_scripts`` maps a binding name to a script run in every document the page loads from now on
    (the next cold launch), which may call ``window.NAME(json)``; each call lands in ``recording.calls``
    (a test fixture uses this to learn when the page was touched, never the checker).
    """

    def __init__(self, device, quality: int = CAPTURE_JPEG_QUALITY, page_scripts: dict[str, str] | None = None):
        self.device, self.quality = device, quality
        self.page_scripts = page_scripts or {}
        self.recording = Recording()
        self.errors: list[str] = []
        self._ws = None
        self._next_id = 0
        self._send_lock = threading.Lock()
        self._replies: dict[int, dict] = {}
        self._replied = threading.Condition()
        self._navigated = False
        self._clip: dict | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

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

    def _send(self, method: str, params: dict | None = None) -> int:
        with self._send_lock:
            self._next_id += 1
            self._ws.send(json.dumps({"id": self._next_id, "method": method, "params": params or {}}))
            return self._next_id

    def __enter__(self) -> PageRecorder:
        import websocket   # Selenium's dependency; imported here so a plain check never needs it

        self._ws = websocket.create_connection(self._page_socket_url(), timeout=10, suppress_origin=True)
        self._ws.settimeout(None)
        self._threads = [threading.Thread(target=self._read, name="recorder-socket", daemon=True),
                         threading.Thread(target=self._capture_loop, name="recorder-captures", daemon=True)]
        self._threads[0].start()
        self._send("Page.enable")
        # Device emulation belongs to the DevTools session that set it (chromedriver's): a capture on
        # this socket comes at CSS px, so it is asked for at the phone's pixel ratio. (Setting the
        # emulation here too made the page take chromedriver's taps at 1 / ratio of where they were.)
        metrics = css_metrics(self.device.profile)
        self._clip = {"x": 0, "y": 0, "width": metrics["width"], "height": metrics["height"],
                      "scale": metrics["pixelRatio"]}
        if self.page_scripts:
            self._send("Runtime.enable")        # binding calls are reported while Runtime is enabled
        for name, source in self.page_scripts.items():
            self._send("Runtime.addBinding", {"name": name})
            self._send("Page.addScriptToEvaluateOnNewDocument", {"source": source})
        self._threads[1].start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._threads[1].join(timeout=CAPTURE_GIVE_UP_S + 1)
        try:
            self._ws.close()
        finally:
            self._threads[0].join(timeout=5)

    # -- captures -----------------------------------------------------------------------------------
    def _capture_loop(self) -> None:
        last = None
        while not self._stop.is_set():
            asked = time.time()
            request = self._send("Page.captureScreenshot", {"format": "jpeg", "quality": self.quality,
                                                            "optimizeForSpeed": True, "clip": self._clip})
            reply = self._reply(request, CAPTURE_GIVE_UP_S)
            data = ((reply or {}).get("result") or {}).get("data")
            if not data:
                if reply is not None:
                    self.errors.append(f"capture failed: {str(reply.get('error'))[:150]}")
                time.sleep(0.05)
                continue
            stamp = max(asked, time.time() - CAPTURE_TAIL_S)
            self.recording.taken_s.append(stamp)
            if data != last:                  # unchanged screens are not kept (a recorder writes changes)
                last = data
                self.recording.frames.append((stamp, base64.b64decode(data)))

    def _reply(self, request: int, timeout_s: float) -> dict | None:
        deadline = time.monotonic() + timeout_s
        with self._replied:
            while request not in self._replies:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._navigated:
                    self._navigated = False   # a capture asked for before a navigation may never return
                    return None
                self._replied.wait(remaining)
            return self._replies.pop(request)

    # -- what comes back ----------------------------------------------------------------------------
    def _read(self) -> None:
        while True:
            try:
                message = json.loads(self._ws.recv())
            except Exception:  # noqa: BLE001 - closed socket: the recording is over
                with self._replied:
                    self._replied.notify_all()
                return
            if message.get("method") == "Page.frameNavigated" and not message["params"]["frame"].get("parentId"):
                with self._replied:
                    self._navigated = True
                    self._replied.notify_all()
            elif message.get("method") == "Runtime.bindingCalled" and message["params"].get("name") in self.page_scripts:
                try:
                    payload = json.loads(message["params"]["payload"])
                except ValueError:
                    continue
                self.recording.calls.append((message["params"]["name"], payload, time.time()))
            elif "id" in message:
                with self._replied:         # replies nobody waits for (set-up commands) are let go
                    self._replies = {k: v for k, v in self._replies.items() if k > message["id"] - 50}
                    self._replies[message["id"]] = message
                    self._replied.notify_all()
