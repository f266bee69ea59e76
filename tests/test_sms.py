"""The text-message backends: the HTTP backend posts JSON to a real local server with the bearer token, and a
refusal from the provider raises; the file backend writes one file per message."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from needlepoint import sms


class _Provider(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []
    answer = 201

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Provider.received.append((self.headers["Authorization"], json.loads(self.rfile.read(length))))
        self.send_response(_Provider.answer)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def provider(settings):
    server = HTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "needlepoint.sms.HttpBackend"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{server.server_port}/send"
    settings.SMS_HTTP_TOKEN = "t0ken"
    settings.SMS_SENDER = "+15550100200"
    _Provider.received, _Provider.answer = [], 201
    yield _Provider
    server.shutdown()
    server.server_close()


def test_the_http_backend_posts_the_message_with_the_token(provider) -> None:
    sms.send_text("+15552013344", "Clinic: please answer")
    assert provider.received == [
        ("Bearer t0ken", {"to": "+15552013344", "from": "+15550100200", "body": "Clinic: please answer"})
    ]


def test_a_provider_refusal_raises(provider) -> None:
    provider.answer = 400
    with pytest.raises(OSError):
        sms.send_text("+15552013344", "Clinic: please answer")


def test_the_file_backend_writes_one_file_per_message(settings, tmp_path) -> None:
    settings.SMS_BACKEND = "needlepoint.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path)
    sms.send_text("+15552013344", "one")
    sms.send_text("+15552013344", "two")
    assert sorted(p.read_text().split("\n")[1] for p in tmp_path.glob("*.txt")) == ["one", "two"]
