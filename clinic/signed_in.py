"""The request type of pages behind the login: `request.user` is a real account.

Every page but the login page, the health check and the patients' own links
is behind LoginRequiredMiddleware, so its views may say so in their signature
and hand `request.user` to services that record who acted.
"""

from django.contrib.auth.models import User
from django.http import HttpRequest


class SignedInRequest(HttpRequest):
    user: User
