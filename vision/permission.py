"""System permission prompts, and the purpose statement an app must show beside them.

MIIT asks that the purpose be told "at that very moment" in an overlay (a mask or a top banner). The
prompt's own text does not count: it is the system's question, not the app's explanation.
"""

from __future__ import annotations

from vision import lexicon
from vision.types import PermissionPrompt, PurposeOverlay, TextLine


def _continues(upper: TextLine, line: TextLine) -> bool:
    """Whether ``line`` is the next line of a sentence that ``upper`` began (wrapped text)."""
    gap = line.box.y - upper.box.y2
    overlap = min(upper.box.x2, line.box.x2) - max(upper.box.x, line.box.x)
    return (-0.3 * line.box.h <= gap <= 0.8 * line.box.h and overlap >= 0.3 * min(upper.box.w, line.box.w)
            and 0.55 <= line.box.h / max(upper.box.h, 1) <= 1.8)


def _join_rows(lines: list[TextLine]) -> list[TextLine]:
    """Merge lines that continue one another (a wrapped sentence) into one block of text."""
    blocks: list[TextLine] = []
    for line in sorted(lines, key=lambda l: (l.box.y, l.box.x)):
        index = next((i for i in range(len(blocks) - 1, -1, -1) if _continues(blocks[i], line)), None)
        if index is None:
            blocks.append(line)
            continue
        last = blocks[index]
        joint = " " if last.text[-1:].isascii() and line.text[:1].isascii() else ""
        blocks[index] = TextLine(last.box.union(line.box), last.text + joint + line.text,
                                 min(last.confidence, line.confidence))
    return blocks


def find_permission_prompt(lines: list[TextLine]) -> PermissionPrompt | None:
    """The permission prompt on screen, if any, with the purpose overlay shown beside it."""
    blocks = _join_rows(lines)
    question = next((b for b in blocks if lexicon.permission_kind(b.text)), None)
    if question is None:
        return None
    buttons = [l for l in lines if lexicon.permission_button(l.text) and l.box.y > question.box.y]
    if not buttons:
        return None
    prompt_box = question.box
    for button in buttons:
        prompt_box = prompt_box.union(button.box)
    # The question may wrap onto lines of another size ("…访问您的通讯" / "录吗？"): read them all.
    first_button_y = min(b.box.y for b in buttons)
    wording = " ".join(b.text for b in blocks if question.box.y <= b.box.y < first_button_y
                       and prompt_box.contains(*b.box.center))
    overlay = None
    for block in blocks:
        if block is question or prompt_box.contains(*block.box.center):
            continue
        if lexicon.states_purpose(block.text) and len(lexicon.normalise(block.text)) >= 6:
            overlay = PurposeOverlay(block.box, block.text)
            break
    kind = lexicon.permission_kind(wording) or lexicon.permission_kind(question.text) or "other"
    return PermissionPrompt(kind=kind, box=prompt_box,
                            text=question.text, purpose_overlay=overlay)
