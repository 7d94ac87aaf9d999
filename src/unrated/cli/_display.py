r"""Terminal-safe text: what came from data (ids, names, paths) is shown, never interpreted.

Control characters (ESC, BEL, newlines, ...) are written as Python escapes (``\x1b``), so an
id or a file name cannot move the cursor, retitle the window or split a message in two.
Rich markup is never applied to data: a line that holds data is printed with
``markup=False`` (and ``plain``), or built as :class:`rich.text.Text` (``shown``), which rich
does not parse, so ``[/bold]``, ``\[`` or ``:smile:`` in an id are printed as they are.
(Escaping markup instead is not exact: rich drops the backslash of ``\[`` in any text.)
"""

from __future__ import annotations

import re
import unicodedata

from rich.text import Text

_LONG_WORD = re.compile(r"\S{201,}")
_HEAD, _TAIL = 60, 40  # characters kept of an over-long word in a message (a path's file name)


def plain(value: object) -> str:
    """``str(value)`` with control and line-separator characters escaped."""
    text = str(value)
    if text.isprintable():  # fast path: no control characters (spaces are printable)
        return text
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) in ("Cc", "Zl", "Zp")
        else char
        for char in text
    )


def shown(value: object, style: str = "") -> Text:
    """``plain(value)`` as rich Text (a table cell, a title, a part of ``Text.assemble``)."""
    return Text(plain(value), style=style)


def one_line(text: str) -> str:
    """One line for an error or warning: control characters escaped, over-long words cut."""
    return _LONG_WORD.sub(
        lambda word: f"{word[0][:_HEAD]}…{word[0][-_TAIL:]} ({len(word[0]):,} characters)",
        plain(text),
    )
