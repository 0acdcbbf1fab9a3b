"""Text messages: what is refused before sending, and what a provider receives over HTTP.

The provider is a small HTTP server on the loopback interface that records what
it is sent; nothing here reaches beyond this machine.
"""

import json
import logging
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from clinic.text_messages import TextMessage, TextMessageNotSent, send_text_message

MOBILE = "+447911123456"
TOKEN = "sk_live_never_in_the_logs_3f9a"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Connections go to this machine only, and straight there (no proxy from the environment)."""
    for name in [
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    connect = socket.create_connection

    def loopback_connection(address, *args, **kwargs):
        assert address[0] in {"127.0.0.1", "localhost", "::1"}, f"network access to {address}"
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", loopback_connection)


class Provider:
    """A text-message provider on 127.0.0.1: records each request, answers `status`."""

    def __init__(self):
        self.received: list[dict] = []
        self.status = 201
        self.location = ""
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                provider.received.append(
                    {
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                        "content_type": self.headers.get("Content-Type"),
                        "json": json.loads(self.rfile.read(length) or b"null"),
                    }
                )
                self.send_response(provider.status)
                if provider.location:
                    self.send_header("Location", provider.location)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id": "msg_1"}')

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/messages"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider(settings):
    running = Provider()
    settings.TEXT_MESSAGE_BACKEND = "http"
    settings.TEXT_MESSAGE_HTTP_URL = running.url
    settings.TEXT_MESSAGE_HTTP_TOKEN = TOKEN
    settings.TEXT_MESSAGE_SENDER = "Threadline"
    settings.TEXT_MESSAGE_HTTP_TIMEOUT = 5
    yield running
    running.stop()


# The provider adapter --------------------------------------------------------------


def test_the_provider_receives_number_sender_and_text_with_the_bearer_token(provider, caplog):
    caplog.set_level(logging.DEBUG)
    sent = send_text_message(to=MOBILE, body="Hello Harriet\nSee you on Tuesday")

    assert sent == TextMessage(to=MOBILE, body="Hello Harriet\nSee you on Tuesday")
    (request,) = provider.received
    assert request["path"] == "/v1/messages"
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert request["content_type"] == "application/json"
    assert request["json"] == {
        "to": MOBILE,
        "from": "Threadline",
        "body": "Hello Harriet\nSee you on Tuesday",
    }
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
def test_a_provider_that_refuses_the_message_means_it_was_not_sent(provider, caplog, status):
    provider.status = status
    with pytest.raises(TextMessageNotSent, match=f"answered {status}"):
        send_text_message(to=MOBILE, body="Hello")
    assert len(provider.received) == 1
    assert TOKEN not in caplog.text


def test_a_redirect_is_not_followed_so_the_token_goes_nowhere_else(provider):
    provider.status = 302
    provider.location = provider.url.replace("/v1/messages", "/elsewhere")
    with pytest.raises(TextMessageNotSent, match="answered 302"):
        send_text_message(to=MOBILE, body="Hello")
    assert [request["path"] for request in provider.received] == ["/v1/messages"]


def test_a_provider_that_never_answers_times_out_and_the_message_is_not_sent(settings, caplog):
    # Accepts connections (the kernel's backlog) and never reads or answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    settings.TEXT_MESSAGE_BACKEND = "http"
    settings.TEXT_MESSAGE_HTTP_URL = f"http://127.0.0.1:{silent.getsockname()[1]}/v1/messages"
    settings.TEXT_MESSAGE_HTTP_TOKEN = TOKEN
    settings.TEXT_MESSAGE_SENDER = "Threadline"
    settings.TEXT_MESSAGE_HTTP_TIMEOUT = 0.2
    try:
        with pytest.raises(TextMessageNotSent, match="could not be reached"):
            send_text_message(to=MOBILE, body="Hello")
    finally:
        silent.close()
    assert TOKEN not in caplog.text


def test_a_provider_that_is_not_running_means_the_message_was_not_sent(settings):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    settings.TEXT_MESSAGE_BACKEND = "http"
    settings.TEXT_MESSAGE_HTTP_URL = f"http://127.0.0.1:{port}/v1/messages"
    settings.TEXT_MESSAGE_HTTP_TOKEN = TOKEN
    settings.TEXT_MESSAGE_SENDER = "Threadline"
    with pytest.raises(TextMessageNotSent, match="could not be reached"):
        send_text_message(to=MOBILE, body="Hello")


# What is refused before anything is sent --------------------------------------------


@pytest.mark.parametrize(
    "to",
    [
        "07911123456",  # not international
        "+44 7911 123456",  # spaces
        "+4479111234",  # too short for a UK mobile
        "+447700900123",  # a fictional number, reserved for drama
        "+44791112345x",
        "",
        "+",
    ],
)
def test_a_number_that_is_not_a_valid_international_number_gets_nothing(provider, to):
    with pytest.raises(TextMessageNotSent, match="number"):
        send_text_message(to=to, body="Hello")
    assert provider.received == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty"),
        ("  \n ", "empty"),
        ("x" * 613, "613 characters"),
        ("Hello\x00there", "control character"),
        ("Hello\x1b[2Jthere", "control character"),
        ("Hello\r\nthere", "control character"),
        ("Call \u202e0000 7946 020", "control character"),
    ],
    ids=["empty", "blank", "too long", "nul", "escape", "carriage return", "bidi override"],
)
def test_an_empty_overlong_or_control_laden_text_is_refused_and_nothing_is_sent(
    provider, body, reason
):
    with pytest.raises(TextMessageNotSent, match=reason):
        send_text_message(to=MOBILE, body=body)
    assert provider.received == []


def test_four_segments_of_text_are_allowed(text_outbox):
    send_text_message(to=MOBILE, body="x" * 612)
    assert [len(message.body) for message in text_outbox] == [612]


def test_a_refused_text_leaves_the_test_outbox_empty(text_outbox):
    with pytest.raises(TextMessageNotSent):
        send_text_message(to="+447911123456", body="\x07")
    assert text_outbox == []


# The other backends ------------------------------------------------------------------


def test_in_tests_texts_are_kept_in_the_outbox(text_outbox):
    send_text_message(to=MOBILE, body="Hello")
    assert text_outbox == [TextMessage(to=MOBILE, body="Hello")]


def test_the_console_backend_shows_the_text_in_the_log(settings, caplog, text_outbox):
    settings.TEXT_MESSAGE_BACKEND = "console"
    caplog.set_level(logging.INFO, logger="clinic.text_messages")
    send_text_message(to=MOBILE, body="Hello Harriet")
    assert MOBILE in caplog.text
    assert "Hello Harriet" in caplog.text
    assert text_outbox == []


def test_without_a_provider_texts_are_refused_not_dropped(settings):
    settings.TEXT_MESSAGE_BACKEND = "disabled"
    with pytest.raises(TextMessageNotSent, match="Text messages are not configured"):
        send_text_message(to=MOBILE, body="Hello")


def test_an_unknown_backend_is_a_configuration_error(settings):
    settings.TEXT_MESSAGE_BACKEND = "carrier-pigeon"
    with pytest.raises(ImproperlyConfigured, match="TEXT_MESSAGE_BACKEND"):
        send_text_message(to=MOBILE, body="Hello")


# Settings from the environment ------------------------------------------------------------


def settings_with(**environment) -> subprocess.CompletedProcess:
    """Load the settings in a fresh interpreter with these variables set."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.TEXT_MESSAGE_BACKEND)",
        ],
        cwd=REPO,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("TEXT_MESSAGE_")},
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            **environment,
        },
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("environment", "complaint"),
    [
        ({"TEXT_MESSAGE_BACKEND": "pager"}, "must be one of console, locmem, http, disabled"),
        (
            {"TEXT_MESSAGE_BACKEND": "http", "TEXT_MESSAGE_SENDER": "Threadline"},
            "needs TEXT_MESSAGE_HTTP_URL, TEXT_MESSAGE_HTTP_TOKEN to be set",
        ),
        (
            {
                "TEXT_MESSAGE_BACKEND": "http",
                "TEXT_MESSAGE_HTTP_URL": "http://sms.example/v1/messages",
                "TEXT_MESSAGE_HTTP_TOKEN": TOKEN,
                "TEXT_MESSAGE_SENDER": "Threadline",
            },
            "must be an https:// address",
        ),
    ],
    ids=["unknown backend", "http without address or token", "token over plain http"],
)
def test_a_text_message_setup_that_cannot_work_stops_the_app_from_starting(environment, complaint):
    loaded = settings_with(**environment)
    assert loaded.returncode != 0
    assert "ImproperlyConfigured" in loaded.stderr
    assert complaint in loaded.stderr
    assert TOKEN not in loaded.stderr


def test_a_complete_provider_setup_is_accepted():
    loaded = settings_with(
        TEXT_MESSAGE_BACKEND="http",
        TEXT_MESSAGE_HTTP_URL="https://sms.example/v1/messages",
        TEXT_MESSAGE_HTTP_TOKEN=TOKEN,
        TEXT_MESSAGE_SENDER="Threadline",
    )
    assert loaded.stdout.strip() == "http", loaded.stderr
