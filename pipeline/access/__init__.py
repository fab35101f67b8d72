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
from pipeline.access.tokens import (
    IssuedToken,
    TokenNotFound,
    TokenRefused,
    authenticate,
    issue_token,
    revoke_token,
    tokens_of,
)

__all__ = [
    "ADMINS",
    "AGENTS",
    "LEADS",
    "Account",
    "IssuedToken",
    "LastAdmin",
    "PasswordRefused",
    "PermissionDenied",
    "SignInRefused",
    "SignedIn",
    "TokenNotFound",
    "TokenRefused",
    "add_account",
    "authenticate",
    "change_password",
    "issue_token",
    "locked",
    "may_review",
    "require",
    "reset_password",
    "resume",
    "revoke_token",
    "sign_in",
    "sign_in_by_email",
    "sign_out",
    "tokens_of",
    "update_account",
    "write_as",
]
