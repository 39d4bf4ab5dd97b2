"""Rule profiles: the thresholds every rule judges by, loaded from TOML (defaults in rule_profiles/)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

RULE_IDS = ("CLOSE_PRESENT", "CLOSE_SIZE", "CLOSE_CONTRAST", "CLOSE_POSITION", "CLOSE_EFFECTIVE",
            "FULLSCREEN_JUMP", "AD_LABEL", "PERMISSION_PURPOSE", "SHAKE_JUMP")


class RuleProfileError(ValueError):
    """A rule profile that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class RuleSpec:
    """One rule: its id, the clause findings quote, and its thresholds (units in the key names)."""

    rule: str
    clause: str
    params: dict

    def __getitem__(self, key: str):
        return self.params[key]


@dataclass(frozen=True)
class RuleProfile:
    name: str
    rules: dict[str, RuleSpec]

    def __getitem__(self, rule: str) -> RuleSpec:
        return self.rules[rule]


def _default_text() -> str:
    return resources.files("vision").joinpath("rule_profiles/default.toml").read_text("utf-8")


def _parse(text: str, origin: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleProfileError(f"{origin}: not valid TOML: {exc}") from None


def load_rule_profile(path: str | Path | None = None) -> RuleProfile:
    """The default profile, or the one in ``path``, which must give every rule and threshold."""
    defaults = _parse(_default_text(), "default rule profile")
    if path is None:
        data, origin = defaults, "default"
    else:
        origin = str(path)
        try:
            data = _parse(Path(path).read_text("utf-8"), origin)
        except OSError as exc:
            raise RuleProfileError(f"{origin}: cannot read rule profile: {exc.strerror}") from None
    rules = {}
    for rule in RULE_IDS:
        section = data.get(rule)
        if not isinstance(section, dict):
            raise RuleProfileError(f"{origin}: missing section [{rule}]")
        missing = set(defaults[rule]) - set(section)
        if missing:
            raise RuleProfileError(f"{origin}: [{rule}] lacks {', '.join(sorted(missing))}")
        for key, value in section.items():
            expected = type(defaults[rule].get(key, value))
            if expected is float and isinstance(value, int):
                continue
            if not isinstance(value, expected):
                raise RuleProfileError(f"{origin}: [{rule}] {key} should be {expected.__name__}")
        params = {k: v for k, v in section.items() if k != "clause"}
        rules[rule] = RuleSpec(rule, str(section["clause"]), params)
    unknown = set(data) - set(RULE_IDS)
    if unknown:
        raise RuleProfileError(f"{origin}: unknown rule id(s) {', '.join(sorted(unknown))}")
    return RuleProfile(origin, rules)
