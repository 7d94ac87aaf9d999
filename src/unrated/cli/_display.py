r"""Terminal-safe text: what came from data (ids, names, paths) is shown, never interpreted.

Control characters (ESC, BEL, newlines, ...) are written as Python escapes (``\x1b``), so an
id or a file name cannot move the cursor, retitle the window or split a message in two;
``shown`` also escapes rich markup, so ``[/bold]`` in an id is printed as it is.
"""

from __future__ import annotations

import re
import unicodedata

from rich.markup import escape

_LONG_WORD = re.compile(r"\S{201,}")
_KEPT = 80  # characters kept of an over-long word in a message


def plain(value: object) -> str:
    """``str(value)`` with control and line-separator characters escaped (for ``print``)."""
    text = str(value)
    if text.isprintable():  # fast path: no control characters (spaces are printable)
        return text
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) in ("Cc", "Zl", "Zp")
        else char
        for char in text
    )


def shown(value: object) -> str:
    """``plain(value)`` with rich markup escaped: for ``console.print`` and table cells."""
    return escape(plain(value))


def one_line(text: str) -> str:
    """One line for an error or warning: control characters escaped, over-long words cut."""
    return _LONG_WORD.sub(
        lambda word: f"{word[0][:_KEPT]}… ({len(word[0]):,} characters)", plain(text)
    )
