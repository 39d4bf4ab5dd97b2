"""JUnit XML for CI systems: one testsuite per app, one testcase per rule judged for it.

A violation is a ``<failure>``, an inconclusive finding ``<skipped>`` with its reason, a warning a pass
whose ``<system-out>`` says so. An app whose check could not finish (node lost twice, Appium gone) gets a
``check`` testcase skipped with the reason. ElementTree escapes every attribute and text; characters
XML 1.0 cannot carry at all (control characters an OCR or a page title may hold) are dropped first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ORDER = {"violation": 3, "warning": 2, "pass": 1, "inconclusive": 0}


def clean(text) -> str:
    return _NOT_XML.sub("", "" if text is None else str(text))


def per_rule(findings: list[dict]) -> dict[str, tuple[str, list[str]]]:
    """rule -> (worst verdict, messages) over one app's findings, in first-seen order.

    Inconclusive counts only when nothing was decided for the rule."""
    rules: dict[str, tuple[str, list[str]]] = {}
    for f in findings:
        verdict, messages = rules.get(f["rule"], ("inconclusive", []))
        if f["rule"] not in rules or _ORDER[f["verdict"]] > _ORDER[verdict]:
            verdict = f["verdict"]
        rules[f["rule"]] = (verdict, [*messages, f"{f['verdict']}: {f['message']}"])
    return rules


def build(apps: list[dict], suite_name: str = "splashaudit") -> ET.ElementTree:
    """``apps``: dicts with ``app``, ``folder``, ``duration_s``, ``findings`` (rule/verdict/message)
    and ``problem`` (why the check is incomplete, or None)."""
    root = ET.Element("testsuites", name=suite_name)
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for app in apps:
        suite = ET.SubElement(root, "testsuite", name=clean(app["app"]))
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        rules = per_rule(app.get("findings") or [])
        cases = [(rule, verdict, messages) for rule, (verdict, messages) in rules.items()]
        if app.get("problem") or not cases:
            cases.append(("check", "inconclusive" if app.get("problem") else "pass",
                          [app.get("problem") or "the check ran; no rule applied to what the app showed"]))
        share = round(float(app.get("duration_s") or 0.0) / max(len(cases), 1), 3)
        for rule, verdict, messages in cases:
            case = ET.SubElement(suite, "testcase", classname=clean(f"splashaudit.{app['folder']}"),
                                 name=clean(rule), time=f"{share}")
            counts["tests"] += 1
            text = clean("\n".join(messages))
            if verdict == "violation":
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", type=clean(rule),
                                        message=clean(next((m for m in messages if m.startswith("violation")),
                                                           messages[0]))[:500])
                failure.text = text
            elif verdict == "inconclusive":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=clean(messages[-1])[:500])
            elif verdict == "warning" or text:
                ET.SubElement(case, "system-out").text = text
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", "0")
        suite.set("skipped", str(counts["skipped"]))
        suite.set("time", f"{float(app.get('duration_s') or 0.0):.2f}")
        props = ET.Element("properties")
        suite.insert(0, props)
        props.extend([
            ET.Element("property", name="app", value=clean(app["app"])),
            ET.Element("property", name="verdict", value=clean(app.get("verdict"))),
            ET.Element("property", name="report", value=clean(f"{app['folder']}/report.html"))])
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    return ET.ElementTree(root)


def write(path: Path, apps: list[dict]) -> Path:
    """Write the JUnit file atomically."""
    tree = build(apps)
    ET.indent(tree)
    tmp = Path(path).with_suffix(".xml.tmp")
    tree.write(tmp, encoding="utf-8", xml_declaration=True)
    tmp.replace(path)
    return Path(path)
