"""What a failing device looks like, told apart: a lost server or session, a crashed app, a plain error.

Every call of the ``Device`` interface passes through ``guarded`` (``Device.__init_subclass__`` wraps
them all), which turns the ways a server, a session or a driver dies into the project's own errors
with one line naming the server and the moment:

- ``DeviceLost``: the Appium server or Grid stopped answering (connection refused or reset, timeout,
  urllib3 ``MaxRetryError``), the session is gone (``InvalidSessionIdException``), or the driver behind
  the server is (Appium answers 500 "Could not proxy command ... ECONNREFUSED" once chromedriver or
  UiAutomator2 died). The check cannot go on: ``Appium at 127.0.0.1:4723 stopped answering during
  launch 2 (close)``.
- ``AppCrashed``: the app under test died but the device did not (on the Chromium phone the tab
  crashed, or the page became the browser's own error page). That launch cannot be judged; the next
  cold launch may still work.

Anything else stays what it was: a bug is not a lost device. On phones (``MAP_DRIVER_ERRORS``) a driver
error that is neither becomes a one-line ``DeviceError`` naming the call ("still running after 500ms
timeout" from UiAutomator2's terminateApp): the probe it happened in is ``inconclusive`` with that
reason and the next launch goes on, where a WebDriverException would have ended the check with a
traceback.
"""

from __future__ import annotations

import functools
import http.client
import socket
import urllib.parse

from selenium.common.exceptions import InvalidSessionIdException, WebDriverException
from urllib3.exceptions import HTTPError as Urllib3Error


class DeviceError(RuntimeError):
    """A device command failed (session gone, app not installed, tap not delivered, ...)."""


class DeviceLost(DeviceError):
    """The server, the session or the driver behind it is gone: nothing more can be asked of the device."""


class DeviceStalled(DeviceError):
    """A device command has not come back for longer than any answer takes (a frozen app, a wedged
    driver): what was asked is not known to have happened. Appium waits 240 s for its driver."""


class AppCrashed(DeviceError):
    """The app under test died (tab crash, browser error page); the device itself still answers."""


class AppMissing(DeviceError):
    """The app under test is not installed on the device: no launch can work, the check ends here."""


#: Words of a WebDriver error that mean the driver or session behind the server is gone. Appium's
#: proxy (chromedriver, UiAutomator2, WDA) and the Grid's relay word it like this; lower case.
_GONE = ("could not proxy command", "econnrefused", "econnreset", "socket hang up", "chrome not reachable",
         "not connected to devtools", "invalid session id", "no such session", "session deleted",
         "unable to execute request for an existing session", "unable to find session",
         "connection refused", "connection reset", "instrumentation process is not running",
         "502 bad gateway", "503 service unavailable", "504 gateway")
#: Words that mean the app's page (not the browser, not the driver) died.
_CRASHED = ("tab crashed", "target crashed", "page crash")


def server_label(url: str, kind: str = "Appium") -> str:
    """``Appium at 127.0.0.1:4723``: who to blame, without credentials or path."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or url
    return f"{kind} at {host}:{parts.port}" if parts.port else f"{kind} at {host}"


def crash_cause(exc: BaseException) -> str | None:
    """Why ``exc`` means the app's page died, or None."""
    if isinstance(exc, WebDriverException) and not isinstance(exc, InvalidSessionIdException):
        text = (exc.msg or "").lower()
        if any(word in text for word in _CRASHED):
            return "the app's page crashed (tab crashed)"
    return None


def lost_cause(exc: BaseException) -> str | None:
    """How ``exc`` says the server, session or driver is gone ("stopped answering", ...), or None."""
    if isinstance(exc, InvalidSessionIdException):
        return "lost the session"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "did not answer in time"
    if isinstance(exc, (ConnectionError, http.client.HTTPException, Urllib3Error)):
        return "stopped answering"
    if isinstance(exc, WebDriverException):
        text = (exc.msg or "").lower()
        if any(word in text for word in _GONE):
            return "lost its driver (" + (exc.msg or "").strip().splitlines()[0][:120] + ")"
    return None


def translate(exc: BaseException, server: str, moment: str) -> DeviceError | None:
    """The project's error for ``exc`` (a ``DeviceLost``, ``AppCrashed`` or ``DeviceStalled``), or None
    to let it be."""
    if isinstance(exc, DeviceError):
        return None
    crash = crash_cause(exc)
    if crash:
        return AppCrashed(f"{crash} during {moment}")
    cause = lost_cause(exc)
    if cause:
        return DeviceLost(f"{server} {cause} during {moment}")
    if _RENDERER_SILENT in first_line(exc).lower():
        # chromedriver gave up on a page that never answered (a frozen app): as a command that never
        # came back, not as a lost device
        return DeviceStalled(f"the device has not answered: {first_line(exc, 120)}")
    return None


#: chromedriver's words when a page's renderer did not answer a command (60 s on a frozen page).
_RENDERER_SILENT = "timed out receiving message from renderer"
#: What Appium puts before a driver's own words in every unknown error (HTTP 500).
_APPIUM_PREFIX = "An unknown server-side error occurred while processing the command. Original error: "


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an error's message, without Appium's generic preamble (WebDriver messages
    carry stack traces after it)."""
    text = (getattr(exc, "msg", None) or str(exc) or type(exc).__name__).strip().replace(_APPIUM_PREFIX, "")
    return (text.splitlines() or [type(exc).__name__])[0][:limit]


def driver_error(exc: BaseException, server: str, moment: str, call: str) -> DeviceError | None:
    """A one-line ``DeviceError`` for a driver's own error (not a lost server, not a crash), or None."""
    if isinstance(exc, WebDriverException):
        return DeviceError(f"{call} failed on {server} during {moment}: {first_line(exc)}")
    return None


def guarded(method):
    """``method`` of a device, with transport failures turned into ``DeviceLost`` / ``AppCrashed``
    (and, on devices that set ``MAP_DRIVER_ERRORS``, any other driver error into a ``DeviceError``)."""
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            server, moment = getattr(self, "server", "the device"), getattr(self, "moment", "setup")
            mapped = translate(exc, server, moment)
            if mapped is None and getattr(self, "MAP_DRIVER_ERRORS", False):
                mapped = driver_error(exc, server, moment, method.__name__)
            if mapped is None:
                raise
            if isinstance(mapped, AppCrashed):
                self.page_crashed = True   # the next cold launch may find the crashed page's session gone
            raise mapped from exc
    call.__guarded__ = True
    return call
