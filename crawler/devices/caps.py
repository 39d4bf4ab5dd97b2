"""Capabilities given on the command line: ``--udid ID`` and ``--cap key=value`` (repeatable).

They add to (and win over) the device profile's, so one profile serves every phone of its kind:
``--udid R58M123ABC --cap appium:systemPort=8201``. A key without a vendor prefix that is not a W3C
capability gets ``appium:`` (``--cap noReset=false``); values are read as JSON where they parse
(``true``, ``8201``, ``{"a": 1}``), else kept as text.
"""

from __future__ import annotations

import json

W3C_KEYS = frozenset({"platformName", "browserName", "browserVersion", "acceptInsecureCerts",
                      "pageLoadStrategy", "proxy", "timeouts", "unhandledPromptBehavior",
                      "strictFileInteractability", "setWindowRect", "webSocketUrl"})


class CapabilityError(ValueError):
    """A ``--cap`` that is not ``key=value``; the message says what was given."""


def parse_cap(text: str) -> tuple[str, object]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise CapabilityError(f"--cap {text!r}: expected key=value, e.g. --cap appium:systemPort=8201")
    if ":" not in key and key not in W3C_KEYS:
        key = f"appium:{key}"
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key, value


def command_line_caps(udid: str | None, caps: list[str] | None) -> dict:
    """The capabilities ``--udid`` and ``--cap`` ask for (``--udid`` wins over a ``--cap appium:udid``)."""
    found = dict(parse_cap(c) for c in caps or [])
    if udid:
        found["appium:udid"] = udid
    return found
