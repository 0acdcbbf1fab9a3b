"""Two-factor sign-in: an authenticator app (TOTP, django-otp) plus one-time backup codes.

The password step is Django's LoginView with django-axes. After it, a user who
needs a second factor is held on the pages here by `RequireSecondFactorMiddleware`
until they have typed a code: to `/accounts/two-factor/` when they have an
authenticator app, to enrolment (`/accounts/two-factor/setup/`) when they have
none. Who needs one: staff whose role is in `settings.TWO_FACTOR_REQUIRED_ROLES`
(practitioners and managers in production, nobody in development), superusers
when managers do, and anyone who enrolled voluntarily.

Five wrong codes in a row sign the user out; django-otp's own throttling also
makes each device wait longer after every failure (1, 2, 4, 8… seconds), and
that count survives signing in again. A clinic manager resets a lost device
from the staff list (`clinic.staff_views`); the user then enrols again.
"""

import re
from base64 import b32encode
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction
from clinic.qr_codes import qr_code_svg
from clinic.redirects import safe_next_url
from clinic.roles import Role

MAX_FAILURES = 5
BACKUP_CODE_COUNT = 10
# Wrong codes typed in a row in this session.
FAILURES_SESSION_KEY = "two_factor_failures"
# Fresh backup codes waiting to be shown once and acknowledged.
BACKUP_CODES_SESSION_KEY = "two_factor_backup_codes"

# What a signed-in user who still owes a second factor may open.
OPEN_BEFORE_SECOND_FACTOR = {
    "two_factor_verify",
    "two_factor_setup",
    "two_factor_backup_codes",
    "keepalive",
    "login",
    "logout",
    "healthz",
}


# Who needs what --------------------------------------------------------------

# request.user: a signed-in account, or an anonymous visitor.
AnyUser = User | AnonymousUser


def has_authenticator(user: AnyUser) -> bool:
    return bool(TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists())


def second_factor_required(user: AnyUser) -> bool:
    """Whether this signed-in user must type a code before using Threadline."""
    required = set(settings.TWO_FACTOR_REQUIRED_ROLES)
    staff = getattr(user, "staff", None)
    if staff is not None and staff.role in required:
        return True
    if user.is_superuser and Role.MANAGER in required:
        return True
    return has_authenticator(user)


def remove_second_factor(user: AnyUser) -> None:
    """Delete the user's authenticator apps and backup codes: they enrol again."""
    TOTPDevice.objects.filter(user_id=user.pk).delete()
    StaticDevice.objects.filter(user_id=user.pk).delete()


def new_backup_codes(user: AnyUser) -> list[str]:
    """Replace the user's backup codes with fresh ones; each works once."""
    StaticDevice.objects.filter(user_id=user.pk).delete()
    device = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def second_factor_given(user: AnyUser) -> bool:
    """Whether this session's user has typed a code (or needs none yet)."""
    # django-otp's OTPMiddleware gives request.user its is_verified() at run time.
    verified: bool = user.is_verified()  # type: ignore[union-attr]
    return verified


def backup_codes_left(user: AnyUser) -> int:
    return int(StaticToken.objects.filter(device__user_id=user.pk).count())


# The middleware --------------------------------------------------------------


class RequireSecondFactorMiddleware:
    """Until a user who needs a second factor has given it, every page but the
    two-factor ones (and sign-in, sign-out, keep-alive, health check) sends them there.

    Also keeps a user who has just been given backup codes on the page that
    shows them until they confirm they have saved them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[object, ...],
        view_kwargs: dict[str, object],
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated:
            return None
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_BEFORE_SECOND_FACTOR:
            return None
        if second_factor_given(user):
            if BACKUP_CODES_SESSION_KEY in request.session:
                return _send_to(request, "two_factor_backup_codes")
            return None
        if not second_factor_required(user):
            return None
        return _send_to(
            request, "two_factor_verify" if has_authenticator(user) else "two_factor_setup"
        )


def _send_to(request: HttpRequest, url_name: str) -> HttpResponse:
    url = reverse(url_name)
    if request.headers.get("HX-Request"):
        # htmx would swap the page into a fragment: make the browser load the
        # whole page instead, and come back to the page it was on.
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        if current.path and current.netloc == request.get_host():
            here = current.path + (f"?{current.query}" if current.query else "")
            url += "?" + urlencode({"next": here})
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    if request.method == "GET":
        url += "?" + urlencode({"next": request.get_full_path()})
    return redirect(url)


# Helpers for the views -------------------------------------------------------


def _next_url(request: HttpRequest, default: str = "home") -> str:
    candidate = request.POST.get("next") or request.GET.get("next")
    return safe_next_url(request, candidate) or reverse(default)


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


def _normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def _second_factor_given(request: HttpRequest, device: object, summary: str) -> None:
    """Mark the session verified by `device`, with a new session key and CSRF token."""
    request.session.cycle_key()
    rotate_token(request)
    otp_login(request, device)
    request.session.pop(FAILURES_SESSION_KEY, None)
    record_event(action=AuditAction.LOGIN, actor=Actor.from_request(request), summary=summary)


def _check_code(user: AnyUser, code: str) -> tuple[object | None, datetime | None]:
    """The device that accepts `code` (six digits: the app; else a backup code), or None,
    and until when throttling refuses to check it, if it does."""
    model = TOTPDevice if re.fullmatch(r"\d{6}", code) else StaticDevice
    locked_until = None
    with transaction.atomic():
        for device in model.objects.devices_for_user(user, confirmed=True).select_for_update():
            allowed, details = device.verify_is_allowed()
            if not allowed:
                locked_until = (details or {}).get("locked_until")
                continue
            if device.verify_token(code):
                return device, None
    return None, locked_until


def _wait_message(locked_until: datetime) -> str:
    seconds = max(1, round((locked_until - timezone.now()).total_seconds()))
    return f"Too many wrong codes: wait {seconds} seconds, then type the newest code."


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# Forms ---------------------------------------------------------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The six-digit code your authenticator app shows now, or one of your "
        "backup codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        return _normalise(self.cleaned_data["code"])


class ConfirmAppForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=16,
        help_text="The six digits the app shows for Threadline.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_code(self) -> str:
        code = _normalise(self.cleaned_data["code"])
        if not re.fullmatch(r"\d{6}", code):
            raise forms.ValidationError("Type the six digits the app shows.")
        return code


class SavedCodesForm(forms.Form):
    saved = forms.BooleanField(
        label="I have saved these codes",
        error_messages={"required": "Tick the box once you have saved the codes."},
    )


# Views ---------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the app, or a backup code."""
    user = request.user
    next_url = _next_url(request)
    if second_factor_given(user) or not second_factor_required(user):
        return redirect(next_url)
    if not has_authenticator(user):
        return redirect(_with_next("two_factor_setup", next_url))

    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        device, locked_until = _check_code(user, form.cleaned_data["code"])
        if device is not None:
            summary = "Second factor verified"
            if isinstance(device, StaticDevice):
                summary += f" with a backup code ({backup_codes_left(user)} left)"
            _second_factor_given(request, device, summary)
            return redirect(next_url)

        failures = request.session.get(FAILURES_SESSION_KEY, 0) + 1
        request.session[FAILURES_SESSION_KEY] = failures
        actor = Actor.from_request(request)
        record_event(
            action=AuditAction.LOGIN_FAILED,
            actor=actor,
            summary=f"Wrong second-factor code ({failures} of {MAX_FAILURES})",
        )
        if failures >= MAX_FAILURES:
            record_event(
                action=AuditAction.LOGIN_FAILED,
                actor=actor,
                summary=f"Signed out after {MAX_FAILURES} wrong second-factor codes",
            )
            logout(request)
            messages.error(
                request,
                f"{MAX_FAILURES} wrong codes in a row: you have been signed out. "
                "Sign in again, or ask a clinic manager if you have lost your phone.",
            )
            return redirect("login")
        form.add_error(
            "code",
            _wait_message(locked_until)
            if locked_until
            else "That code is not right. Type the newest code from the app, or a backup code.",
        )
    return render(
        request,
        "registration/two_factor_verify.html",
        {"form": form, "next": next_url, "attempts_left": MAX_FAILURES - _failures(request)},
    )


def _failures(request: HttpRequest) -> int:
    failures: int = request.session.get(FAILURES_SESSION_KEY, 0)
    return failures


@never_cache
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan the QR code (or type the key), confirm with a code."""
    user = request.user
    next_url = _next_url(request, default="two_factor_settings")
    if has_authenticator(user):
        messages.info(request, "Two-factor sign-in is already set up for your account.")
        return redirect(
            next_url if second_factor_given(user) else _with_next("two_factor_verify", next_url)
        )

    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)

    form = ConfirmAppForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
            allowed, details = device.verify_is_allowed()
            confirmed = allowed and device.verify_token(form.cleaned_data["code"])
            if confirmed:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                # Anything left from an earlier, unfinished enrolment goes.
                TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).delete()
                codes = new_backup_codes(user)
                record_event(
                    action=AuditAction.UPDATE,
                    actor=Actor.from_request(request),
                    obj=device,
                    summary=f"Set up two-factor sign-in for {user.get_username()}",
                )
        if confirmed:
            _second_factor_given(request, device, "Second factor verified")
            request.session[BACKUP_CODES_SESSION_KEY] = codes
            return redirect(_with_next("two_factor_backup_codes", next_url))
        form.add_error(
            "code",
            _wait_message(details["locked_until"])
            if not allowed
            else "That code does not match. Check the phone's clock is set automatically "
            "and type the newest code.",
        )

    secret = b32encode(device.bin_key).decode()
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "next": next_url,
            "qr_code": qr_code_svg(device.config_url),
            "secret": _grouped(secret),
            "required": second_factor_required(user),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def backup_codes(request: HttpRequest) -> HttpResponse:
    """Show fresh backup codes once; the user confirms they have saved them."""
    next_url = _next_url(request)
    codes = request.session.get(BACKUP_CODES_SESSION_KEY)
    if not codes:
        return redirect(next_url)
    form = SavedCodesForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        del request.session[BACKUP_CODES_SESSION_KEY]
        messages.success(request, "Two-factor sign-in is on. Keep your backup codes safe.")
        return redirect(next_url)
    return render(
        request,
        "registration/two_factor_backup_codes.html",
        {"form": form, "next": next_url, "codes": [_grouped(code) for code in codes]},
    )


@require_GET
def manage(request: HttpRequest) -> HttpResponse:
    """The user's own "Two-factor sign-in" page: whether it is on, set it up, new codes."""
    user = request.user
    return render(
        request,
        "registration/two_factor_settings.html",
        {
            "enrolled": has_authenticator(user),
            "required": second_factor_required(user),
            "backup_codes_left": backup_codes_left(user),
        },
    )


@require_POST
def replace_backup_codes(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (has_authenticator(user) and second_factor_given(user)):
        messages.error(request, "Set up two-factor sign-in first.")
        return redirect("two_factor_settings")
    with transaction.atomic():
        codes = new_backup_codes(user)
        record_event(
            action=AuditAction.UPDATE,
            actor=Actor.from_request(request),
            summary=f"New backup codes for {user.get_username()}",
        )
    request.session[BACKUP_CODES_SESSION_KEY] = codes
    return redirect(_with_next("two_factor_backup_codes", reverse("two_factor_settings")))


@never_cache
@require_GET
def keepalive(request: HttpRequest) -> HttpResponse:
    """For "Stay signed in": renews the idle window now (clinic.idle_sessions)."""
    request.session.modified = True
    return HttpResponse(status=204)
