"""Text messages through one small provider interface, chosen by the SMS_BACKEND setting.

Like Django's e-mail backends: the console backend (the default) prints each message, the file backend writes
one file per message into SMS_FILE_PATH (for tests and for a clinic trying the product), and the HTTP backend
posts each message as JSON to a provider's or a relay's address (docs/production.md). No provider SDK is needed.
"""

from __future__ import annotations

import json
import sys
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

DEFAULT_BACKEND = "needlepoint.sms.ConsoleBackend"


@dataclass(frozen=True)
class TextMessage:
    """One text message: the number in E.164 form and the words."""

    to: str
    body: str


class ConsoleBackend:
    """Prints each message to standard output (the default: nothing leaves the machine)."""

    def send(self, message: TextMessage) -> None:
        """Print the message."""
        sys.stdout.write(f"SMS to {message.to}\n{message.body}\n{'-' * 40}\n")
        sys.stdout.flush()


class FileBackend:
    """Writes each message to its own file in SMS_FILE_PATH: the number on the first line, then the words."""

    def send(self, message: TextMessage) -> None:
        """Write the message to a new file."""
        folder = Path(getattr(settings, "SMS_FILE_PATH", "") or "")
        if not str(folder) or str(folder) == ".":
            raise ImproperlyConfigured("SMS_FILE_PATH names the folder the file backend writes text messages to.")
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        path = folder / f"{stamp}-{uuid.uuid4().hex[:8]}.txt"
        path.write_text(f"{message.to}\n{message.body}\n", encoding="utf-8")


class HttpBackend:
    """Posts each message as JSON {"to", "from", "body"} to SMS_HTTP_URL with SMS_HTTP_TOKEN as a bearer token.

    A provider whose API takes another shape is reached through a small relay; any answer other than 2xx
    raises, so the send is rolled back and reported.
    """

    def send(self, message: TextMessage) -> None:
        """Post the message; raises on a refusal or a timeout."""
        url = getattr(settings, "SMS_HTTP_URL", "")
        if not url:
            raise ImproperlyConfigured("SMS_HTTP_URL is the address the HTTP text-message backend posts to.")
        payload = {"to": message.to, "from": getattr(settings, "SMS_SENDER", ""), "body": message.body}
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=getattr(settings, "SMS_TIMEOUT", 30)) as answer:
            if not 200 <= answer.status < 300:
                raise OSError(f"The text-message provider answered {answer.status}.")


def send_text(to: str, body: str) -> None:
    """Send one text message through the configured backend; raises if the backend refuses."""
    backend = import_string(getattr(settings, "SMS_BACKEND", "") or DEFAULT_BACKEND)()
    backend.send(TextMessage(to, body))
