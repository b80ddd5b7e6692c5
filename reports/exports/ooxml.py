"""Text in a spreadsheet cell: OOXML cannot carry most C0 control characters (openpyxl refuses them with
``IllegalCharacterError``), so they are written in OOXML's own escape ``_xHHHH_`` — what Excel shows as
the character — and read back exactly. A literal ``_`` that would look like an escape is escaped too
(``_x005F_``), so any stored text round-trips and the exported rows still hash to the ledger's hashes.

New text is refused at the boundary (``grants.fields.Text``); this keeps rows stored before that, or
written by other paths, exportable.
"""
from __future__ import annotations

import re

# openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE's set, plus an underscore that starts an escape-like sequence
_TO_ESCAPE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]|_(?=x[0-9A-Fa-f]{4}_)")
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def escape(text: str) -> str:
    """Text safe for a cell: control characters (and escape-like underscores) as ``_xHHHH_``."""
    return _TO_ESCAPE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def unescape(text: str) -> str:
    """The original text of a cell written by ``escape``."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def cell_safe(text: str) -> bool:
    """Whether openpyxl accepts this text in a cell as it is."""
    return not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", text)
