"""A real OpenID Connect provider on loopback, for the single sign-on tests: Authlib's authorization server (the
authorization code grant with its OpenID extension) behind Starlette and uvicorn, signing RS256 ID tokens with a
key made for the run. Whoever reaches its authorization endpoint is "signed in" at the provider as ``identity``,
which a test sets, as a company's provider would after its own login page."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.test_browser import free_port


@dataclass
class Identity:
    """Who the provider says is at the browser."""

    email: str
    email_verified: bool = True
    name: str = ""


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in ("openid", "email", "profile"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    identity: Identity
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class _Request(OAuth2Request):
    def __init__(self, request: Request, data: dict[str, str]) -> None:
        super().__init__(request.method, str(request.url), headers=request.headers)
        self.payload = BasicOAuth2Payload(data)
        self._data = data

    @property
    def args(self) -> dict[str, str]:
        return self._data

    @property
    def form(self) -> dict[str, str]:
        return self._data


class LocalOpenIDProvider(AuthorizationServer):
    def __init__(self, client: Client, identity: Identity) -> None:
        super().__init__(scopes_supported=["openid", "email", "profile"])
        self.client, self.identity = client, identity
        self.codes: dict[str, Code] = {}
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self.signing_key = self.key  # a test may sign with a key the provider never published
        self.register_token_generator("default", BearerTokenGenerator(lambda **_: secrets.token_urlsafe(24)))
        self.register_grant(_CodeGrant, [_OpenIDCode(self, require_nonce=True)])
        self.url = ""

    def query_client(self, client_id: str) -> Client | None:
        return self.client if client_id == self.client.client_id else None

    def save_token(self, token: dict, request: OAuth2Request) -> None:
        pass  # the tokens are not used again: the app keeps its own session

    def create_oauth2_request(self, request: _Request) -> _Request:
        return request

    def handle_response(self, status: int, body: object, headers: list[tuple[str, str]]) -> Response:
        if isinstance(body, dict):
            return JSONResponse(body, status, headers=dict(headers))
        return Response(body, status, headers=dict(headers))

    def send_signal(self, name: str, *args: object, **kwargs: object) -> None:
        pass

    def metadata(self) -> dict[str, object]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse(self.metadata())

        async def jwks(request: Request) -> Response:
            return JSONResponse(KeySet([self.key]).as_dict(private=False))

        async def authorize(request: Request) -> Response:
            oauth_request = _Request(request, dict(request.query_params))
            return self.create_authorization_response(oauth_request, grant_user=self.identity)

        async def token(request: Request) -> Response:
            form = await request.form()
            return self.create_token_response(_Request(request, {k: str(v) for k, v in form.items()}))

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/jwks", jwks),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
            ]
        )


class _CodeGrant(grants.AuthorizationCodeGrant):
    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        server: LocalOpenIDProvider = self.server
        server.codes[code] = Code(
            code, request.client.client_id, data["redirect_uri"], request.payload.scope, data.get("nonce"), request.user
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        found = self.server.codes.get(code)
        return found if found is not None and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        self.server.codes.pop(authorization_code.code, None)  # a code is good once

    def authenticate_user(self, authorization_code: Code) -> Identity:
        return authorization_code.identity


class _OpenIDCode(OpenIDCode):
    def __init__(self, provider: LocalOpenIDProvider, require_nonce: bool) -> None:
        super().__init__(require_nonce=require_nonce)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return any(c.nonce == nonce for c in self.provider.codes.values())

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.provider.signing_key

    def get_client_claims(self, client: Client) -> dict[str, object]:
        return {"iss": self.provider.url, "aud": [client.client_id]}

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def generate_user_info(self, user: Identity, scope: str) -> UserInfo:
        return UserInfo(sub=user.email, email=user.email, email_verified=user.email_verified, name=user.name)


@contextmanager
def local_provider(client_id: str, client_secret: str) -> Iterator[LocalOpenIDProvider]:
    """The provider, answering on a free loopback port until the block ends."""
    provider = LocalOpenIDProvider(Client(client_id, client_secret), Identity(""))
    port = free_port()
    provider.url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(provider.app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the local OpenID provider did not start")
        time.sleep(0.05)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)
