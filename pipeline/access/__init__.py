"""Who is acting: accounts, sign-in and sessions, and the roles every change is checked against.

Beneath the rest of the pipeline: triage, the desk and the review all take the acting ``Account`` and ask
``require`` before they change anything; this package knows only the knowledge base and the settings.
"""

from pipeline.access.accounts import (
    ADMINS,
    AGENTS,
    LEADS,
    Account,
    PermissionDenied,
    may_review,
    require,
    write_as,
)
from pipeline.access.sign_in import (
    PasswordRefused,
    SignedIn,
    SignInRefused,
    change_password,
    resume,
    sign_in,
    sign_in_by_email,
    sign_out,
)
from pipeline.access.team import LastAdmin, add_account, locked, reset_password, update_account

__all__ = [
    "ADMINS",
    "AGENTS",
    "LEADS",
    "Account",
    "LastAdmin",
    "PasswordRefused",
    "PermissionDenied",
    "SignInRefused",
    "SignedIn",
    "add_account",
    "change_password",
    "locked",
    "may_review",
    "require",
    "reset_password",
    "resume",
    "sign_in",
    "sign_in_by_email",
    "sign_out",
    "update_account",
    "write_as",
]
