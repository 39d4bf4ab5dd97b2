"""Devices the live checker drives through Appium: Android, iOS and the Chromium phone (web).

``open_device(profile, appium_url)`` picks the adapter from ``profile.platform``; every adapter
implements ``crawler.devices.base.Device``.
"""

from __future__ import annotations

from crawler.devices.base import (Device, DeviceError, DisplayInfo, Foreground, Jump, decode_png,
                                  detect_jump)
from crawler.profiles import DeviceProfile

__all__ = ["Device", "DeviceError", "DisplayInfo", "Foreground", "Jump", "decode_png", "detect_jump",
           "open_device"]


def open_device(profile: DeviceProfile, appium_url: str, *, capabilities: dict | None = None,
                timeout_s: float = 60.0, reset: str = "permissions") -> Device:
    """Open a session for ``profile`` on the Appium server at ``appium_url``.

    ``capabilities`` adds to the profile's (e.g. ``{"appium:udid": "emulator-5554"}``). ``reset``: what
    an Android cold launch resets first (``permissions``, ``data`` or ``none``; see ``devices.android``).
    """
    if profile.platform == "web":
        from crawler.devices.web import WebDevice
        return WebDevice.connect(profile, appium_url, timeout_s=timeout_s, capabilities=capabilities)
    if profile.platform == "android":
        from crawler.devices.android import AndroidDevice
        return AndroidDevice.connect(profile, appium_url, capabilities=capabilities, reset=reset)
    if profile.platform == "ios":
        from crawler.devices.ios import IOSDevice
        return IOSDevice.connect(profile, appium_url, capabilities=capabilities)
    raise DeviceError(f"{profile.name}: unknown platform {profile.platform!r} (android, ios or web)")
