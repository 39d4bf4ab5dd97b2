"""The observe launch recorded (``check --record``), and judged from its recording as ``splashaudit
timeline`` judges a video: a timeline at the recording's frame rate, filed as an MP4 a regulator can
judge again.

Where the device has a recorder of its own (``Device.screen_recorder``: Android's screenrecord, iOS's
through XCUITest), it runs from just before the cold launch to the end of the observe launch, and the
video is the device's, at the phone's own frame rate. Elsewhere (the Chromium phone) the recording is
the watcher's own screenshots, every one it took, each at its time: DevTools'
screencast comes at CSS px and loses paints (``crawler.devices.pagerecorder``), so the screenshots
the verdicts rest on are also the truest recording of that screen.

The recording keeps its own clock, as ``splashaudit timeline`` reads it from the file (findings name
frames by it): its 0 is when its first frame was taken (the watcher's screenshots) or when the
recorder was asked to start (a device's recorder, which starts writing a few hundred ms later, so
its times run that much early). ``starts_at_s`` is that 0 in s since the launch.
Nothing here runs while a launch is watched: the video is written and walked once the plan is over.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from crawler.devices.base import DeviceError
from crawler.video.encode import EncodeError, write_on_grid

#: The watcher's screenshots are placed in the MP4 on a grid this fine (Hz): each at when it was taken.
GRID_HZ = 100
#: A device's recorder stops by itself this long after the observe launch could have ended.
RECORDER_SLACK_S = 10.0


@dataclass
class LaunchRecording:
    """What recorded one launch: the device's own video, or the watcher's screenshots (s since launch)."""

    source: str
    starts_at_s: float = 0.0
    video: bytes | None = None
    frames: list[tuple[float, bytes]] = field(default_factory=list)     # (t_s, encoded image), changes only
    taken_s: list[float] = field(default_factory=list)                  # every screenshot's time
    #: asked-for time -> when that screenshot came back: what it shows was on screen in between
    returned_s: dict[float, float] = field(default_factory=dict)
    error: str | None = None

    def returned_on_grid(self) -> dict[int, float]:
        """When each screenshot came back (s into the filed video), by its index on the video's grid."""
        return {round((t_s - self.starts_at_s) * GRID_HZ): back_s - self.starts_at_s
                for t_s, back_s in self.returned_s.items() if t_s >= self.starts_at_s}


def start(device, watch_s: float) -> LaunchRecording | None:
    """Start the device's own recorder before a cold launch watched up to ``watch_s`` (None: the
    device has none)."""
    if device.screen_recorder is None:
        return None
    recording = LaunchRecording(device.screen_recorder)
    try:
        device.start_screen_recording(watch_s + RECORDER_SLACK_S)
        recording.starts_at_s = time.monotonic()        # made relative to the launch by ``finish``
    except DeviceError as exc:
        recording.error = f"the screen recorder did not start: {exc}"[:300]
    return recording


def finish(device, recording: LaunchRecording | None, launch_t0: float | None, sampler) -> LaunchRecording:
    """The launch's recording once its watch is over: the device's video; the watcher's screenshots
    where the device has no recorder, or where its recorder failed (and the recording says so)."""
    if recording is not None and recording.error is None:
        recording.starts_at_s = recording.starts_at_s - launch_t0 if launch_t0 is not None else 0.0
        try:
            recording.video = device.stop_screen_recording()
            return recording
        except DeviceError as exc:
            recording.error = f"the screen recorder gave no video: {exc}"[:300]
    screenshots = from_screenshots(sampler)
    if recording is not None:           # the device's recorder failed: say so, and fall back
        screenshots.error = f"{recording.error}; {screenshots.error or 'its screenshots are the recording'}"
    return screenshots


def from_screenshots(sampler) -> LaunchRecording:
    """The watcher's screenshots as a recording: each changed one, and when every one was taken."""
    recording = LaunchRecording("the watcher's screenshots (device.frame_bytes)")
    if sampler is None or not sampler.keyframes:
        recording.error = "no screenshot was taken"
        return recording
    recording.frames = [(t_s, image) for t_s, image, _ in sampler.keyframes]
    recording.taken_s = [t_s for t_s, _ in sampler.history]
    recording.returned_s = dict(sampler.returned_s)
    recording.starts_at_s = recording.frames[0][0]
    return recording


def write_video(recording: LaunchRecording, path: Path) -> Path:
    """File the recording at ``path`` (MP4): the device's video as it came, or every screenshot the
    watcher took at the time it was taken (``crawler.video.encode``), as a recorder writes frames;
    the gaps between them stay gaps, so a change is never placed nearer than they allow.
    Raises DeviceError when there is nothing to write."""
    if recording.video is not None:
        path.write_bytes(recording.video)
        return path
    if not recording.frames:
        raise DeviceError(recording.error or "nothing was recorded")
    try:
        write_on_grid(_screenshots_on_grid(recording), path, GRID_HZ)
    except EncodeError as exc:
        raise DeviceError(str(exc)) from exc
    return path


def _screenshots_on_grid(recording: LaunchRecording):
    """(grid index, picture) of every screenshot taken: the newest changed one at or before it."""
    times = [t for t, _ in recording.frames]
    start_s, last_index, shown_at, shown = times[0], -1, -1, None
    size = None
    for t_s in sorted({*recording.taken_s, *times}):
        newest = bisect.bisect_right(times, t_s) - 1
        index = round((t_s - start_s) * GRID_HZ)
        if newest < 0 or index <= last_index:
            continue
        if newest != shown_at:
            shown_at, shown = newest, _decoded(recording.frames[newest][1], size)
            size = size or (shown.shape[1], shown.shape[0])
        last_index = index
        yield index, shown


def _decoded(image_bytes: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(image_bytes, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise DeviceError("a recorded screenshot does not decode")
    if size is not None and (image.shape[1], image.shape[0]) != size:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image
