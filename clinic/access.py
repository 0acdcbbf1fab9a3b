"""Who may reach which record: the location rule, written once, and the one way to fetch.

Each model that views fetch by id says who may reach its rows in a queryset
method, `for_user(user)`: records held at a location (appointments, plans,
sessions, consents, stock lots) narrow to `reachable_locations(user)`; a
patient's own records are the clinic's, shared by every location. The role
a page needs is the view's `require_permission`; this module only answers
"which rows", and a row out of reach is answered as if it did not exist (404).

Views fetch through `get_for_user_or_404`, so a new view cannot forget the rule.
"""

from __future__ import annotations

from typing import Any, Self, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.shortcuts import get_object_or_404

from clinic.models import Location
from clinic.roles import Role

# Whoever asks: a signed-in account, or (before the login check) an anonymous visitor.
AnyUser = AbstractBaseUser | AnonymousUser
M = TypeVar("M", bound=models.Model)


def reachable_locations(user: AnyUser) -> models.QuerySet[Location]:
    """The active locations the user works at; every active one for managers and superusers."""
    active = Location.objects.filter(is_active=True)
    if getattr(user, "is_superuser", False):
        return active
    # A user without a staff record raises RelatedObjectDoesNotExist, an AttributeError.
    staff = getattr(user, "staff", None)
    if staff is None:
        return Location.objects.none()
    if staff.role == Role.MANAGER:
        return active
    return active.filter(staff=staff)


class LocationHeldQuerySet(models.QuerySet[M]):
    """Rows held at a location: reachable by the people who work there (and managers)."""

    # The path from the row to its location, for rows that hold it through another row.
    location_path = "location"

    def for_user(self, user: AnyUser) -> Self:
        return self.filter(**{f"{self.location_path}__in": reachable_locations(user)})


def get_for_user_or_404(
    queryset_or_model: models.QuerySet[M] | type[M], user: AnyUser, **lookup: Any
) -> M:
    """The one row matching `lookup` that `user` may reach, else 404.

    The queryset (or the model's default manager) must say who may reach its
    rows with a `for_user(user)` method: a model without one is a mistake, not
    a record open to all.
    """
    if isinstance(queryset_or_model, type):
        queryset = queryset_or_model._default_manager.all()
    else:
        queryset = queryset_or_model
    for_user = getattr(queryset, "for_user", None)
    if for_user is None:
        name = queryset.model.__name__
        raise TypeError(f"{name} has no for_user(user): say in its queryset who may reach it.")
    found: M = get_object_or_404(for_user(user), **lookup)
    return found
