"""The public page behind every patient link, and the desk's side of links.

Anyone may open `/p/<token>/`: the token is the patient's only key, so the page
says nothing about the patient but their first name and the clinic, answers a
mistyped, expired or revoked link with a plain page, and limits how often one
address or one token may knock (clinic.rate_limits).
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.client_address import client_address
from clinic.permissions import require_permission
from clinic.rate_limits import allow
from consultations import patient_links
from consultations.models import PatientLink

# Enough for a patient filling a long form with drafts saved as they go; far too few
# to guess a 256-bit token, which is not the point: they stop a flood.
REQUESTS_PER_ADDRESS = 400
REQUESTS_PER_TOKEN = 200
LIMIT_WINDOW = timedelta(minutes=10)


def keep_private(response: HttpResponse) -> HttpResponse:
    """A patient's page is never cached or indexed, and its address never leaves the site.

    "same-origin", not "no-referrer": with no referrer at all, browsers send a form's
    POST with `Origin: null`, which Django's CSRF check rightly refuses.
    """
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def public_page(
    request: HttpRequest, template: str, context: dict, *, status: int = 200
) -> HttpResponse:
    return keep_private(render(request, template, context, status=status))


def within_public_limits(request: HttpRequest, *keys: str) -> bool:
    """Count this request against its address and each of `keys`; False once any is over."""
    # Behind the load balancer, each patient's own address (clinic.client_address).
    address = client_address(request) or "unknown"
    answers = [allow(key=f"address:{address}", limit=REQUESTS_PER_ADDRESS, window=LIMIT_WINDOW)]
    answers += [allow(key=key, limit=REQUESTS_PER_TOKEN, window=LIMIT_WINDOW) for key in keys]
    return all(answers)


def _link_stopped(request: HttpRequest, error: patient_links.LinkUnusable) -> HttpResponse:
    link = error.link
    if link is None:
        return public_page(request, "public/link_unknown.html", {}, status=404)
    return public_page(
        request,
        "public/link_stopped.html",
        {"reason": error.reason, "location": link.location},
        status=410,
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def patient_link(request: HttpRequest, token: str) -> HttpResponse:
    """Open the link and hand over to its purpose's page."""
    if not within_public_limits(request, f"token:{token[:64]}"):
        response = public_page(request, "public/too_many_requests.html", {}, status=429)
        response["Retry-After"] = str(int(LIMIT_WINDOW.total_seconds()))
        return response
    actor = Actor.from_request(request)
    try:
        link = patient_links.open_link(token=token, actor=actor)
    except patient_links.LinkUnusable as error:
        return _link_stopped(request, error)
    page = patient_links.page_for(link.purpose)
    if page is None:
        raise Http404("This kind of link has no page.")
    try:
        response = page(request, link, actor)
    except patient_links.LinkUnusable as error:  # used or revoked while the form was open
        return _link_stopped(request, error)
    return keep_private(response)


@require_permission("consultations.change_patient")
@require_POST
def patient_link_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop a link from working (a message sent to the wrong person, a changed plan)."""
    link = get_for_user_or_404(PatientLink.objects.select_related("patient"), request.user, pk=pk)
    if patient_links.revoke_link(link=link, actor=Actor.from_request(request)):
        messages.success(request, f"The link ({link.get_purpose_display()}) no longer works.")
    else:
        messages.info(request, "That link had already stopped working; nothing changed.")
    return redirect("consultations:patient_chart", pk=link.patient_id)
