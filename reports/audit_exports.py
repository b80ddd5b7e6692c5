"""Audit exports for the auditors: the month's ledger as CSV + Parquet with manifests, the daily chain
verification and the daily chain head — written to the configured folder, recorded and mailed (outbox)."""
from __future__ import annotations

import calendar
import os
from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from grants import mail
from grants.db import today, unit_of_work
from grants.extensions import db
from reports.checkpoints import daily_head_report, verify_ledger
from grants.models import Role, User
from reports import exports
from reports.models import AuditExport

FORMATS = ("csv", "parquet")


def _month_bounds(period: str) -> tuple[date, date]:
    y, m = (int(x) for x in period.split("-"))
    return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])


def previous_month(on: date | None = None) -> str:
    first = (on or today()).replace(day=1)
    last = first - timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


def export_month(period: str, folder: str | None = None, *, mail_auditors: bool = True) -> list[AuditExport]:
    """Write the month's ledger entries (by booking date) as CSV and Parquet with manifests; record each file's
    SHA-256; queue a mail to the auditors. A month already exported is returned as recorded, not rewritten."""
    start, end = _month_bounds(period)
    folder = Path(folder or current_app.config["AUDIT_EXPORT_DIR"]) / period
    s = db.session
    done = s.scalars(select(AuditExport).where(AuditExport.period == period).order_by(AuditExport.fmt)).all()
    if {e.fmt for e in done} >= set(FORMATS):
        return list(done)
    folder.mkdir(parents=True, exist_ok=True)
    admin = User(role=Role.ADMIN)
    with unit_of_work() as s:
        flt = exports.scoped_filter(s, admin, {"date_from": start, "date_to": end})
        rows = []
        for fmt in FORMATS:
            if any(e.fmt == fmt for e in done):
                continue
            path = folder / f"ledger-{period}.{fmt}"
            tmp = path.with_suffix(path.suffix + ".part")
            m = exports.write_export(s, s.connection(), fmt, flt, tmp)
            os.replace(tmp, path)
            os.replace(str(tmp) + ".manifest.json", str(path) + ".manifest.json")
            m["file"] = path.name
            rows.append(AuditExport(period=period, fmt=fmt, path=str(path), sha256=m["sha256"], bytes=m["bytes"],
                                    row_count=m["row_count"], seq_to=flt.seq_to, manifest=m))
        s.add_all(rows)
        s.flush()
        files = rows + [e for e in done]
        if mail_auditors:
            attach = [r.path for r in files] + [r.path + ".manifest.json" for r in files]
            if sum(Path(p).stat().st_size for p in attach) > current_app.config["MAIL_ATTACH_MAX_BYTES"]:
                attach = [r.path + ".manifest.json" for r in files]
            lines = "\n".join(f"  {Path(r.path).name}: {r.row_count} rows, {r.bytes} bytes, sha256 {r.sha256}"
                              for r in files)
            mail.enqueue(s, f"audit-export:{period}", mail.auditors_mailbox(),
                         f"{period} 月度总账审计导出 / monthly ledger export {period}",
                         f"{period} 月总账（按记账日期）已导出，附清单与 SHA-256；文件存放于 {folder}。\n"
                         f"The ledger entries booked in {period} are exported (chain head seq {flt.seq_to}); "
                         f"files in {folder}:\n{lines}\n", attach)
    return files


def list_exports():
    return select(AuditExport).order_by(AuditExport.period.desc(), AuditExport.fmt)


def verify_and_report(on: date | None = None) -> dict:
    """Verify the whole chain; if broken, alert the bureau and the auditors (once a day). Mail the auditors the
    latest day checkpoint — the chain head they keep as the external copy."""
    on = on or today()
    r = verify_ledger()
    with unit_of_work() as s:
        if not r.ok:
            mail.enqueue(s, f"chain-broken:{on}", mail.role_addresses(Role.FINANCE_BUREAU, Role.ADMIN)
                         + mail.auditors_mailbox(),
                         f"警报：总账哈希链校验失败 / ALERT: ledger chain broken ({on})",
                         f"{on} 校验发现总账在 seq {r.first_broken_seq} 处断裂：{r.reason}\n"
                         f"The ledger hash chain is broken at seq {r.first_broken_seq}: {r.reason}\n"
                         f"checkpoint mismatches: {r.checkpoint_mismatches}\n")
        # the external copy of every chain's head now (not only the last checkpoint): deleting or rewriting the
        # newest entries is then caught against the mailed text (``grants ledger-head --check FILE``)
        report = daily_head_report()
        mail.enqueue(s, f"chain-head:{on}", mail.auditors_mailbox(),
                     f"总账链头 {on} / ledger chain heads {on}",
                     report + f"校验结果 / verification on {on}: {'完整 intact' if r.ok else '断裂 BROKEN'}\n")
    return {"ok": r.ok, "head_seq": r.head_seq, "first_broken_seq": r.first_broken_seq,
            "chain_head_mailed": on.isoformat()}
