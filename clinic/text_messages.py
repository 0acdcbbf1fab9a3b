"""Text messages (SMS): the one way Threadline sends them.

    send_text_message(to="+447911123456", body="...")  # -> TextMessage

The message is checked first and nothing is sent if it fails:

- `to` is a number written in E.164 (`+` and digits, no spaces) that
  `phonenumbers` knows as a valid number, the same test the patient's phone
  field applies when it is typed in (reserved fictional ranges such as
  +44 7700 900xxx are not valid);
- `body` is not blank and at most 612 characters (four concatenated segments
  of 153 GSM characters: a provider splits, and bills, anything longer);
- `body` holds no control characters (a line feed is allowed: a text may
  have lines) and no bidirectional-override characters, which can make a
  link or a number read differently from what it is.

Then the backend named by the setting `TEXT_MESSAGE_BACKEND` hands it on:

- `console`: logs it (the default with DEBUG on);
- `locmem`: appends it to `outbox` (the test suite; like Django's mail outbox);
- `http`: POSTs `{"to", "from", "body"}` as JSON to `TEXT_MESSAGE_HTTP_URL`
  with `Authorization: Bearer <TEXT_MESSAGE_HTTP_TOKEN>`, from
  `TEXT_MESSAGE_SENDER`, waiting at most `TEXT_MESSAGE_HTTP_TIMEOUT` seconds.
  Only a 2xx answer counts as sent; redirects are not followed (they would
  carry the token elsewhere). The token is never logged;
- `disabled`: the default with DEBUG off and nothing configured. It refuses
  every message with TextMessageNotSent("Text messages are not configured"),
  so a production clinic that never set a provider learns of it in the
  reminder's result and the log, instead of texts vanishing silently.

Every refusal, of the message or by the provider, raises TextMessageNotSent,
whose message says why; callers decide what else still goes out.
"""

from __future__ import annotations

import json
import logging
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

MAX_BODY_CHARACTERS = 612  # 4 segments of 153 GSM-7 characters
ALLOWED_CONTROL_CHARACTERS = {"\n"}
# Explicit directional embeddings, overrides and isolates (Unicode TR9).
BIDI_CONTROLS = {chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}


@dataclass(frozen=True)
class TextMessage:
    to: str  # E.164, e.g. "+447911123456"
    body: str


class TextMessageNotSent(Exception):
    """The message was refused (by the checks here or by the provider); nothing went out."""


# Where the locmem backend puts messages; tests read and clear it.
outbox: list[TextMessage] = []


def send_text_message(*, to: str, body: str) -> TextMessage:
    """Check the message and hand it to the configured backend, or raise TextMessageNotSent."""
    message = TextMessage(to=_checked_number(to), body=_checked_body(body))
    backend = BACKENDS.get(settings.TEXT_MESSAGE_BACKEND)
    if backend is None:
        raise ImproperlyConfigured(
            f"TEXT_MESSAGE_BACKEND must be one of {', '.join(BACKENDS)}, "
            f"not {settings.TEXT_MESSAGE_BACKEND!r}."
        )
    backend(message)
    return message


def text_messages_enabled() -> bool:
    """Whether texts can go out at all (the "disabled" backend refuses every one)."""
    return bool(settings.TEXT_MESSAGE_BACKEND != "disabled")


def masked(number: str) -> str:
    """A number as logs show it: enough to tell two apart, not enough to dial."""
    return f"{number[:3]}…{number[-3:]}"


def _checked_number(to: str) -> str:
    if not isinstance(to, str) or not to.startswith("+") or not to[1:].isdigit():
        raise TextMessageNotSent(
            "Text message not sent: the number must be in international form, "
            "such as +447911123456."
        )
    try:
        number = phonenumbers.parse(to, None)
    except phonenumbers.NumberParseException:
        number = None
    if (
        number is None
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) != to
    ):
        raise TextMessageNotSent(f"Text message not sent: {masked(to)} is not a valid number.")
    return to


def _checked_body(body: str) -> str:
    if not isinstance(body, str) or not body.strip():
        raise TextMessageNotSent("Text message not sent: the message is empty.")
    if len(body) > MAX_BODY_CHARACTERS:
        raise TextMessageNotSent(
            f"Text message not sent: {len(body)} characters, "
            f"more than the {MAX_BODY_CHARACTERS} allowed."
        )
    for character in body:
        if character in BIDI_CONTROLS or (
            unicodedata.category(character) == "Cc" and character not in ALLOWED_CONTROL_CHARACTERS
        ):
            raise TextMessageNotSent(
                f"Text message not sent: the message holds a control character "
                f"(U+{ord(character):04X})."
            )
    return body


# Backends --------------------------------------------------------------------------


def _console(message: TextMessage) -> None:
    logger.info("Text message to %s:\n%s", message.to, message.body)


def _locmem(message: TextMessage) -> None:
    outbox.append(message)


def _disabled(message: TextMessage) -> None:
    raise TextMessageNotSent("Text messages are not configured")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a hop: following it would send the token on."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _http(message: TextMessage) -> None:
    url: str = settings.TEXT_MESSAGE_HTTP_URL
    token: str = settings.TEXT_MESSAGE_HTTP_TOKEN
    if not url.startswith(("https://", "http://")) or not token:
        raise TextMessageNotSent("Text messages are not configured")
    payload = {"to": message.to, "from": settings.TEXT_MESSAGE_SENDER, "body": message.body}
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {token}",
        },
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=settings.TEXT_MESSAGE_HTTP_TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
        error.close()
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        logger.warning("Text message to %s not sent: %s", masked(message.to), reason)
        raise TextMessageNotSent(
            f"Text message not sent: the provider could not be reached ({reason})."
        ) from None
    if not 200 <= status < 300:
        logger.warning(
            "Text message to %s not sent: the provider answered %s", masked(message.to), status
        )
        raise TextMessageNotSent(f"Text message not sent: the provider answered {status}.")
    logger.info("Text message to %s accepted by the provider (%s)", masked(message.to), status)


BACKENDS: dict[str, Callable[[TextMessage], None]] = {
    "console": _console,
    "locmem": _locmem,
    "http": _http,
    "disabled": _disabled,
}
