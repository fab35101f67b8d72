"""Single sign-on in the real app and a real Chromium, against a real OpenID Connect provider on loopback
(``tests/oidc_provider.py``): the provider's e-mail signs in the account that has it; an address no account has,
one the provider has not verified, and an ID token signed with a key the provider never published are refused,
and nothing is created."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb import KnowledgeBase
from pipeline.settings import Settings
from tests.oidc_provider import Identity, LocalOpenIDProvider, local_provider
from tests.test_browser import browser, serve_copy  # noqa: F401 (the browser fixture)
from tests.test_browser_desk import wait_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COMPANY_BUTTON = "Sign in with your company account"


@pytest.fixture(scope="module")
def sso(
    demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, KnowledgeBase, LocalOpenIDProvider]]:
    folder = tmp_path_factory.mktemp("sso")
    client_secret = secrets.token_urlsafe(24)
    with local_provider("incident-kb", client_secret) as provider:
        secrets_file = write_secrets(folder, provider, client_secret)
        with serve_copy(demo_settings, folder, STREAMLIT_SECRETS_FILES=str(secrets_file)) as (url, kb):
            provider.client.redirect_uris = [f"{url}/oauth2callback"]  # as a company registers the app
            yield url, kb, provider


def write_secrets(folder: Path, provider: LocalOpenIDProvider, client_secret: str) -> Path:
    """The ``[auth]`` table of ``.streamlit/secrets.toml`` as the README's "Running it for a team" shows it."""
    path = folder / "secrets.toml"
    path.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        f'client_id = "{provider.client.client_id}"\n'
        f'client_secret = "{client_secret}"\n'
        f'server_metadata_url = "{provider.url}/.well-known/openid-configuration"\n'
    )
    path.chmod(0o600)
    return path


def sign_in_with_company(browser, url: str, provider: LocalOpenIDProvider, identity: Identity):  # noqa: F811
    provider.identity = identity
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(url)
    page.get_by_role("button", name=COMPANY_BUTTON).click()
    return page


def test_the_providers_email_signs_in_its_account_and_signing_out_ends_both(browser, sso) -> None:  # noqa: F811
    url, kb, provider = sso
    page = sign_in_with_company(browser, url, provider, Identity("emily.carter@example.com", name="E. Carter"))
    page.get_by_role("button", name="Sign out").wait_for(timeout=60_000)
    assert "Emily Carter" in page.locator("[data-testid='stSidebar']").inner_text()
    assert "Thresholds" in page.locator("[data-testid='stSidebarNav']").inner_text()  # a lead's pages
    assert kb.user("Emily Carter").last_sign_in_at is not None

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name=COMPANY_BUTTON).wait_for(timeout=60_000)
    page.reload()  # the provider's identity is forgotten too: a new load does not sign in again
    page.get_by_role("button", name=COMPANY_BUTTON).wait_for(timeout=60_000)
    assert page.get_by_role("button", name="Sign out").count() == 0
    page.close()


@pytest.mark.parametrize(
    ("identity", "refusal"),
    [
        # An address no account has, carrying markdown and HTML that must stay text and fetch nothing.
        (
            Identity("[x](http://127.0.0.1:9/a)<img src='http://127.0.0.1:9/b'>@example.com"),
            "No active account has the address",
        ),
        # The team's lead's address, but the provider says its user typed it and it was never verified.
        (Identity("emily.carter@example.com", email_verified=False), "No active account has the address"),
    ],
    ids=["unknown-address-with-markup", "unverified-address"],
)
def test_an_address_that_is_not_an_accounts_is_refused_and_creates_nothing(
    browser,  # noqa: F811
    sso,
    identity: Identity,
    refusal: str,
) -> None:
    url, kb, provider = sso
    accounts = len(kb.users(active_only=False))
    fetched: list[str] = []
    page = sign_in_with_company(browser, url, provider, identity)
    page.on("request", lambda request: fetched.append(request.url))
    wait_text(page, refusal)
    assert page.get_by_role("button", name="Sign out").count() == 0
    assert len(kb.users(active_only=False)) == accounts
    assert page.locator("img[src*='127.0.0.1:9']").count() == 0 and not [u for u in fetched if ":9/" in u]

    page.get_by_role("button", name="Use another company account").click()  # forgets the refused identity
    page.get_by_text(refusal).first.wait_for(state="detached", timeout=60_000)
    page.reload()
    page.get_by_role("button", name=COMPANY_BUTTON).wait_for(timeout=60_000)
    page.wait_for_timeout(1_000)  # time for the refusal to come back, were the identity still there
    assert page.get_by_text(refusal).count() == 0
    page.close()


def test_an_id_token_signed_with_a_key_the_provider_never_published_is_refused(browser, sso) -> None:  # noqa: F811
    url, kb, provider = sso
    before = kb.user("Emily Carter").last_sign_in_at
    provider.signing_key = provider.key.generate_key(2048, parameters={"kid": "test-key", "alg": "RS256"})
    try:
        page = sign_in_with_company(browser, url, provider, Identity("emily.carter@example.com"))
        page.wait_for_url(f"{url}/", timeout=60_000)  # back from the provider, the token refused
        page.get_by_role("button", name=COMPANY_BUTTON).wait_for(timeout=60_000)
        page.wait_for_timeout(1_000)  # time for a sign-in, were there one
        assert page.get_by_role("button", name="Sign out").count() == 0
        assert kb.user("Emily Carter").last_sign_in_at == before
        page.close()
    finally:
        provider.signing_key = provider.key
