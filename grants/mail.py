"""Outgoing mail through an outbox: a message is queued in the use case's transaction and delivered later.

``enqueue`` writes the message (with a dedupe key: the same key is never queued twice) inside the caller's
``unit_of_work``; ``deliver_due`` sends what is pending over SMTP. A send that fails (server down, refused)
leaves the message pending with a back-off and is retried; a message is claimed (``sending``) in its own
committed transaction before the SMTP conversation, so two deliverers never both send it, and a claim left
behind by a process that died mid-send is marked ``uncertain`` for a person to look at — never resent.

SMTP settings come from the environment (``grants.config``): ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_TLS``
(``none`` | ``starttls`` | ``ssl``), ``SMTP_USER``, ``SMTP_PASSWORD``, ``MAIL_FROM``.
"""
from __future__ import annotations

import mimetypes
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Optional

from flask import current_app
from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from grants.db import Base, now, unit_of_work
from grants.extensions import db

PENDING, SENDING, SENT, FAILED, UNCERTAIN = "pending", "sending", "sent", "failed", "uncertain"
MAX_ATTEMPTS = 8
CLAIM_STALE_AFTER = timedelta(minutes=15)


class OutboxMessage(Base):
    __tablename__ = "mail_outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    recipients: Mapped[str] = mapped_column(Text)  # comma-separated
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(default=list)  # file paths
    status: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    claimed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    message_id: Mapped[str] = mapped_column(String(200), default="")


def enqueue(session, dedupe_key: str, to: list[str] | tuple[str, ...], subject: str, body: str,
            attachments: list[str] | None = None) -> OutboxMessage | None:
    """Queue one message in the caller's transaction; None if nobody to send to or the key was queued already."""
    to = sorted({a.strip() for a in to if a and a.strip()})
    if not to:
        return None
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)) is not None:
        return None
    msg = OutboxMessage(dedupe_key=dedupe_key, recipients=", ".join(to), subject=subject[:300], body=body,
                        attachments=list(attachments or []), status=PENDING, next_attempt_at=now())
    session.add(msg)
    session.flush()
    return msg


def _aware(d: datetime | None) -> datetime | None:
    from grants.db import TZ

    return d.replace(tzinfo=TZ) if d is not None and d.tzinfo is None else d


def _claim(limit: int) -> list[int]:
    """Mark up to ``limit`` due messages as sending, in a transaction of their own (committed)."""
    with unit_of_work() as s:
        t = now()
        stale = s.scalars(select(OutboxMessage).where(OutboxMessage.status == SENDING)).all()
        for m in stale:
            if _aware(m.claimed_at) < t - CLAIM_STALE_AFTER:
                m.status, m.last_error = UNCERTAIN, "claimed by a deliverer that never finished: check before resending"
        stmt = (select(OutboxMessage).where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= t)
                .order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True))
        claimed = s.scalars(stmt).all()
        for m in claimed:
            m.status, m.claimed_at, m.attempts = SENDING, t, m.attempts + 1
        return [m.id for m in claimed]


def _build(m: OutboxMessage) -> EmailMessage:
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = cfg["MAIL_FROM"]
    msg["To"] = m.recipients
    msg["Subject"] = m.subject
    domain = cfg["MAIL_FROM"].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = m.message_id or make_msgid(idstring=f"outbox-{m.id}", domain=domain)
    msg.set_content(m.body)
    for p in m.attachments or []:
        path = Path(p)
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        main, sub = ctype.split("/", 1)
        msg.add_attachment(path.read_bytes(), maintype=main, subtype=sub, filename=path.name)
    return msg


def smtp_connection():
    """An SMTP connection as configured: plain, STARTTLS or implicit TLS, with login when a user is set."""
    cfg = current_app.config
    host, port, tls = cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), (cfg.get("SMTP_TLS") or "none").lower()
    if tls == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=30, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=30)
        if tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
    if cfg.get("SMTP_USER"):
        smtp.login(cfg["SMTP_USER"], cfg.get("SMTP_PASSWORD") or "")
    return smtp


def deliver_due(limit: int = 100) -> dict:
    """Send pending messages whose time has come; returns counts. Safe to run from several processes."""
    ids = _claim(limit)
    counts = {"sent": 0, "retry": 0, "failed": 0}
    if not ids:
        return counts
    smtp = None
    for mid in ids:
        m = db.session.get(OutboxMessage, mid)
        try:
            email = _build(m)
            if smtp is None:
                smtp = smtp_connection()
            smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as e:
            if smtp is not None:
                try:
                    smtp.close()
                finally:
                    smtp = None
            with unit_of_work():
                m.last_error = f"{type(e).__name__}: {e}"[:2000]
                if m.attempts >= MAX_ATTEMPTS:
                    m.status = FAILED
                    counts["failed"] += 1
                else:
                    m.status = PENDING
                    m.next_attempt_at = now() + timedelta(minutes=2 ** m.attempts)
                    counts["retry"] += 1
            continue
        with unit_of_work():
            m.status, m.sent_at, m.message_id, m.last_error = SENT, now(), email["Message-ID"], ""
        counts["sent"] += 1
    if smtp is not None:
        try:
            smtp.quit()
        except smtplib.SMTPException:
            pass
    return counts


def role_addresses(*roles) -> list[str]:
    """E-mail addresses of the active users with any of these roles."""
    from grants.models import User

    return sorted(set(db.session.scalars(select(User.email).where(
        User.active.is_(True), User.email.is_not(None), User.email != "", User.role.in_(roles)))))


def auditors_mailbox() -> list[str]:
    """The auditors: the configured mailbox (``AUDIT_MAILBOX``) and every auditor account with an address."""
    from grants.models import Role

    box = [a for a in (current_app.config.get("AUDIT_MAILBOX") or "").split(",") if a.strip()]
    return sorted(set(box) | set(role_addresses(Role.AUDITOR)))
