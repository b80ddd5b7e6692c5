"""Outgoing mail over plain SMTP (host and port from the environment)."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app


def send_mail(to: list[str], subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP(current_app.config["SMTP_HOST"], current_app.config["SMTP_PORT"], timeout=30) as smtp:
        smtp.send_message(msg)
