"""How a person is named on screens, exports and printed documents."""

from django.contrib.auth.base_user import AbstractBaseUser


def person_name(user: AbstractBaseUser | None, *, unknown: str = "") -> str:
    """The user's full name, else their username; `unknown` when nobody is recorded."""
    if user is None:
        return unknown
    return user.get_full_name() or user.get_username()  # type: ignore[attr-defined]
