"""A report's JSON (compliance overview, budget execution, seed figures, policy replay) as an XLSX workbook."""
from __future__ import annotations

import io
import json
import re
from decimal import Decimal

from reports.exports import ooxml

_MONEY = re.compile(r"-?\d+\.\d{2}")


def _cell_value(v):
    """Money strings become numbers with format 0.00; lists are joined; everything else as is."""
    if isinstance(v, str) and _MONEY.fullmatch(v):
        return Decimal(v), "0.00"
    if isinstance(v, (list, tuple)):
        return ooxml.escape(", ".join(str(x) for x in v)), None
    if isinstance(v, dict):
        return ooxml.escape(json.dumps(v, ensure_ascii=False)), None
    if isinstance(v, str):
        return ooxml.escape(v), None
    return v, None


def report_workbook(report: dict, title: str) -> bytes:
    """A report's JSON as a workbook: a summary sheet of its scalars, one sheet per list of rows."""
    # not a cycle: openpyxl (~25 MB) is loaded by the first workbook, not by every web worker at start-up
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    wb.properties.title = title
    summary = wb.create_sheet("summary")
    sheets: list[tuple[str, list[dict]]] = []

    def walk(prefix: str, node: dict):
        for k, v in node.items():
            name = f"{prefix}{k}"
            if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                sheets.append((name, v))
            elif isinstance(v, dict) and any(isinstance(x, (list, dict)) for x in v.values()):
                walk(name + ".", v)
            else:
                yield_row(summary, [name, v])

    def yield_row(ws, values):
        row = []
        for v in values:
            value, fmt = _cell_value(v)
            cell = WriteOnlyCell(ws, value)
            if fmt:
                cell.number_format = fmt
            row.append(cell)
        ws.append(row)

    summary.append(["item", "value"])
    walk("", report)
    used = set()
    for name, rows in sheets:
        sheet_name = name.replace(".", "_")[:31]
        while sheet_name in used:
            sheet_name = sheet_name[:29] + f"_{len(used)}"
        used.add(sheet_name)
        ws = wb.create_sheet(sheet_name)
        header = list(dict.fromkeys(k for r in rows for k in r))
        ws.append(header)
        for r in rows:
            yield_row(ws, [r.get(h) for h in header])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
