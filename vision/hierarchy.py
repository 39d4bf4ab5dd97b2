"""Reading an Appium page source (Android UiAutomator2 or iOS XCUITest XML) for close controls.

The view tree gives exact bounds and, through the nearest clickable ancestor, the touch target. It
lacks what an app draws inside an image or a WebView, which is what vision is for.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from vision import lexicon
from vision.types import Box

_ANDROID_BOUNDS = re.compile(r"\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]")
#: View ids that name a skip or close control (GKD's community rules use the same tells).
_CLOSE_ID = re.compile(r"skip|close|dismiss|cancel|tt_splash_skip|ksad_skip|gdt_skip", re.IGNORECASE)


@dataclass(frozen=True)
class ViewNode:
    box: Box                 # visible bounds, px
    text: str                # text, content-desc or label
    view_id: str
    clickable: bool
    touch_box: Box | None    # bounds of this node or its nearest clickable ancestor, px


def _box(element: ET.Element, scale: float) -> Box | None:
    bounds = element.get("bounds")
    if bounds:
        m = _ANDROID_BOUNDS.match(bounds)
        if m:
            x1, y1, x2, y2 = (int(v) for v in m.groups())
            return Box(x1, y1, x2 - x1, y2 - y1)
    try:   # iOS gives points; the screenshot is in px
        x, y, w, h = (float(element.get(k, "")) for k in ("x", "y", "width", "height"))
    except ValueError:
        return None
    return Box(round(x * scale), round(y * scale), round(w * scale), round(h * scale))


def _text(element: ET.Element) -> str:
    for key in ("text", "content-desc", "label", "name", "value"):
        value = (element.get(key) or "").strip()
        if value:
            return value
    return ""


def parse_nodes(page_source: str, scale: float = 1.0) -> list[ViewNode]:
    """Every visible node with bounds. ``scale`` converts iOS points to px (Android is already px)."""
    root = ET.fromstring(page_source)
    nodes: list[ViewNode] = []

    def walk(element: ET.Element, clickable_box: Box | None) -> None:
        box = _box(element, scale)
        clickable = element.get("clickable") == "true" or element.get("accessible") == "true" \
            and element.tag.endswith("Button")
        if element.get("visible") == "false" or element.get("displayed") == "false":
            return
        if box is not None and box.area > 0:
            touch = box if clickable else clickable_box
            nodes.append(ViewNode(box, _text(element), element.get("resource-id", ""), clickable, touch))
            clickable_box = touch
        for child in element:
            walk(child, clickable_box)

    walk(root, None)
    return nodes


def close_nodes(nodes: list[ViewNode]) -> list[ViewNode]:
    """Nodes that are close or skip controls by their text or their view id."""
    found = []
    for node in nodes:
        by_text = node.text and (lexicon.close_label(node.text) or lexicon.is_cross_text(node.text))
        by_id = bool(_CLOSE_ID.search(node.view_id)) and len(node.text) <= 10
        if by_text or by_id:
            found.append(node)
    return found
