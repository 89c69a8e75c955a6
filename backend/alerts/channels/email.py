"""E-mail over SMTP (plain text, UTF-8), with optional STARTTLS and login."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from backend.alerts.channels import plain_text
from pletfri.settings import AlertsSettings


class EmailChannel:
    name = "email"

    def __init__(self, settings: AlertsSettings) -> None:
        self.settings = settings

    def compose(self, address: str, message: dict[str, Any]) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.settings.sender
        mail["To"] = address
        mail["Subject"] = f"[Pletfri] {message['title']}"
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain="pletfri")
        mail.set_content(plain_text(message))
        # After set_content, which replaces the Content-* headers.
        mail["Content-Language"] = message.get("language", "en")
        return mail

    def send(self, address: str, message: dict[str, Any]) -> None:
        s = self.settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.send_timeout_s) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
            smtp.send_message(self.compose(address, message))
