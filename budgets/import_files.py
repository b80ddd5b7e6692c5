"""Spreadsheet uploads as institution staff make them: CSV in UTF-8 (with or without BOM) or in GBK /
GB18030 as Chinese Excel saves it, or XLSX; a preview report (row by row, with the verdict each valid row
would get) before anything is booked; and the template with Chinese headers."""
from __future__ import annotations

import csv
import io
import re

from budgets.expenses import importer
from budgets.expenses import service as compliance
from grants.access import require_writer
from grants.errors import Invalid
from grants.models import User

_REPR = re.compile(r":?\s*\[?<class '[^']*'>\]?")
PREVIEW_LIMIT = 2000  # rows judged one by one in the preview; a larger file is previewed for format only
TEMPLATE_HEADERS = ["课题编号", "支出日期", "金额", "预算科目", "用途", "摘要", "收款方", "收款方类型", "支付方式",
                    "发票号码", "发票查验", "单价", "数量", "已入共享平台", "专家职称", "咨询天数"]
TEMPLATE_EXAMPLE = ["ORD-2025-001", "2025-06-01", "1200.50", "业务费", "materials", "实验试剂", "鄂尔多斯化玻仪器公司",
                    "供应商", "银行转账", "INV-0001", "是", "", "", "", "", ""]


def to_utf8(content: bytes, filename: str) -> tuple[bytes, str]:
    """A CSV's bytes as UTF-8 (what the importer reads) and the encoding found; XLSX passes through."""
    if filename.lower().endswith((".xlsx", ".xlsm")):
        return content, "xlsx"
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:], "utf-8-sig"
    try:
        content.decode("utf-8")
        return content, "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(content).best()
    encoding = (best.encoding if best else "gb18030").lower()
    if encoding in ("gbk", "gb2312", "gb18030", "cp936", "hz") or best is None:
        encoding = "gb18030"  # the superset: every GBK file decodes the same
    try:
        return content.decode(encoding).encode("utf-8"), encoding
    except (UnicodeDecodeError, LookupError):
        raise Invalid("无法识别文件编码 / the file's encoding is not recognised",
                      {"file": ["save it as CSV UTF-8 or GBK, or as XLSX"]}) from None


def preview(content: bytes, filename: str, user: User) -> dict:
    """Row-by-row report of what an import would do — format errors, and for each valid row the verdict
    of the dry run — without booking anything. (Rows are judged one at a time against today's budget, so a
    file that together exceeds a budget line shows that only when booked.)"""
    require_writer(user)
    utf8, encoding = to_utf8(content, filename)
    df = importer.read_table(utf8, filename)
    parsed = list(importer.parse_rows(df))
    grants = importer._grants_by_code({d["grant_code"] for _, d, _ in parsed if d}, user)
    rows = []
    for n, data, errors in parsed:
        row = {"row": n, "errors": errors or {}, "verdict": None, "findings": [], "data": data or {}}
        if data and data["grant_code"] not in grants:
            row["errors"] = {"grant_code": [f"课题 {data['grant_code']} 不存在或无权访问 / grant not found"]}
        elif data and len(parsed) <= PREVIEW_LIMIT:
            facts = {k: v for k, v in data.items() if k != "grant_code"}
            facts["grant_id"] = grants[data["grant_code"]].id
            judgement, _ = compliance.check_expense(facts, user)
            row["verdict"] = judgement.verdict
            row["findings"] = [f.to_dict() for f in judgement.findings]
        rows.append(row)
    for row in rows:  # a parser's message may carry a Python class name: keep only the words
        row["errors"] = {k: [_REPR.sub("", str(m)) for m in v] for k, v in row["errors"].items()}
    return {"encoding": encoding, "rows": rows, "total": len(rows),
            "invalid": sum(1 for r in rows if r["errors"]), "valid": sum(1 for r in rows if not r["errors"])}


def book(content: bytes, filename: str, user: User, *, partial: bool) -> dict:
    """Book the upload: all or nothing (``partial=False``) or only the valid rows; the importer's report."""
    utf8, _ = to_utf8(content, filename)
    return importer.import_expenses(utf8, filename, user, partial=partial)


def template_csv() -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(TEMPLATE_HEADERS)
    w.writerow(TEMPLATE_EXAMPLE)
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "支出导入"
    ws.append(TEMPLATE_HEADERS)
    ws.append(TEMPLATE_EXAMPLE)
    for col in ws.columns:
        ws.column_dimensions[col[0].column_letter].width = 16
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
