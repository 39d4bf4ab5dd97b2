"""Screens that take the user out of an app without another app coming to the front.

On iOS an ad may open an App Store product sheet (``SKStoreProductViewController``) or a browser
(``SFSafariViewController``) inside the app itself: the app's bundle id stays the active app, so only
the screen shows the jump. This recognises the two from the text read on the screen, as a person would:

- a store sheet: its install button ("获取", "GET", "打开", "OPEN", a price) and the facts row a
  product page carries ("评分", "年龄", "排行", "开发者", "RATINGS", "AGE", "CHART", "DEVELOPER", ...);
- an in-app browser: "完成" / "Done" at the top left and a bare web address ("example.com") beside it
  in the top bar.

It is modest on purpose: it reads words and where they are, not icons. A store sheet whose text was
not read, or a browser page styled without its top bar, goes unseen (a missed jump is inconclusive
elsewhere, never a pass on its own); a screen of the app's own that says all of these at once would be
taken for one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vision.types import TextLine

STORE_BUTTONS = re.compile(r"^(获取|打开|更新|get|open|update|[¥$￥]\s?\d+(\.\d\d)?)$", re.IGNORECASE)
STORE_FACTS = {
    "ratings": r"评分|\bratings?\b", "age": r"年龄|\bage\b|\d+\s?岁|\d+\+\s*$", "chart": r"排行|\bchart\b",
    "developer": r"开发者|\bdeveloper\b", "language": r"语言|\blanguages?\b", "size": r"大小|\bsize\b",
    "category": r"类别|\bcategory\b", "news": r"新功能|版本历史|what.?s new|version history",
    "preview": r"预览|\bpreview\b", "privacy": r"app\s?隐私|app privacy", "iap": r"app\s?内购买|in-?app purchases",
    "reviews": r"评分及评论|ratings (&|and) reviews",
}
#: A store sheet shows its button and at least this many facts (or twice as many facts alone).
MIN_STORE_FACTS = 2
DONE_WORDS = re.compile(r"^(完成|done)$", re.IGNORECASE)
HOSTNAME = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$")
#: The browser's top bar: the top this share of the screen.
TOP_BAR_SHARE = 0.14


@dataclass(frozen=True)
class InAppSheet:
    kind: str            # "store" or "browser", as crawler.devices.base.JumpKind names them
    detail: str
    words: tuple[str, ...]


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("🔒", "")).strip()


def store_sheet(texts: list[TextLine]) -> InAppSheet | None:
    buttons = [t.text for t in texts if STORE_BUTTONS.match(_clean(t.text))]
    facts: dict[str, str] = {}
    for t in texts:
        for fact, pattern in STORE_FACTS.items():
            if fact not in facts and re.search(pattern, _clean(t.text), re.IGNORECASE):
                facts[fact] = t.text
    if (buttons and len(facts) >= MIN_STORE_FACTS) or len(facts) >= 2 * MIN_STORE_FACTS:
        words = tuple(buttons[:1]) + tuple(facts.values())
        return InAppSheet("store", "an App Store product sheet inside the app (" + ", ".join(words) + ")", words)
    return None


def browser_sheet(texts: list[TextLine], size_px: tuple[int, int]) -> InAppSheet | None:
    width, height = size_px
    top = [t for t in texts if t.box.center[1] < TOP_BAR_SHARE * height]
    done = next((t for t in top if DONE_WORDS.match(_clean(t.text)) and t.box.center[0] < 0.35 * width), None)
    host = next((t for t in top if HOSTNAME.match(_clean(t.text).lower().split(" ")[-1])), None)
    if done is None or host is None:
        return None
    words = (done.text, host.text)
    return InAppSheet("browser", f"an in-app browser showing {_clean(host.text)} ('{done.text}' to go back)", words)


def inapp_sheet(texts: list[TextLine], size_px: tuple[int, int]) -> InAppSheet | None:
    """A store sheet or an in-app browser on this screen, from its text; None when neither shows."""
    return store_sheet(texts) or browser_sheet(texts, size_px)
