"""HTTP API JWT authorizers, emulated, and a local identity provider that issues the tokens.

API Gateway validates a JWT before the route's integration runs (``http-api-jwt-authorizer`` in the
API Gateway developer guide): the token is read from the authorizer's identity source (the bare token
or ``Bearer <token>``), its RSA signature checked with the issuer's key (here: the key of the
:class:`LocalIdentityProvider` the EmbeddedAws owns; the ``kid`` header must name it), then ``iss`` must
equal the configured issuer, ``aud`` (or ``client_id`` when there is no ``aud``) must match one of the
configured audiences, ``exp`` must be in the future and ``nbf`` in the past; if the route has
authorization scopes, ``scope`` (space-separated) or ``scp`` must contain at least one of them.
A missing or invalid token is ``401 {"message":"Unauthorized"}``, a missing scope
``403 {"message":"Forbidden"}``; either way the function is not invoked. On success the v2 event's
``requestContext.authorizer`` is ``{"jwt": {"claims": {...strings...}, "scopes": [...] or null}}``.

Lambda (``REQUEST``) and IAM authorizers are not emulated: their routes answer 401 with a warning.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

LOG = logging.getLogger("infra.embedded.auth")

#: API Gateway's JWT authorizers support RSA-based algorithms only.
_RSA_ALGORITHMS: dict[str, hashes.HashAlgorithm] = {
    "RS256": hashes.SHA256(),
    "RS384": hashes.SHA384(),
    "RS512": hashes.SHA512(),
}
JWT = "JWT"
LAMBDA = "REQUEST"
IAM = "AWS_IAM"


class TokenError(ValueError):
    """The token is missing or invalid (401); ``str()`` is the ``error_description``."""


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise TokenError("the token is malformed")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")


@dataclass(frozen=True)
class JwtAuthorizerConfig:
    """One ``JwtConfiguration`` of an HttpApi's ``Auth.Authorizers``, intrinsics resolved."""

    name: str
    issuer: str
    audience: tuple[str, ...]
    identity_source: str = "$request.header.Authorization"


@dataclass(frozen=True)
class RouteAuth:
    """The authorizer a route uses (``kind`` JWT, REQUEST for Lambda, AWS_IAM) and its scopes."""

    authorizer: str
    kind: str
    jwt: JwtAuthorizerConfig | None = None
    scopes: tuple[str, ...] = ()
    api_logical_id: str = ""
    #: the API's DefaultAuthorizer (not named by the event)
    default: bool = False


def issuing_configs(auths: Iterable[RouteAuth | None]) -> list[JwtAuthorizerConfig]:
    """The JWT configurations tokens are minted for by default: the DefaultAuthorizers' if any
    route uses one, else every JWT authorizer's (distinct, in route order)."""
    jwt_auths = [a for a in auths if a is not None and a.jwt is not None]
    chosen = [a for a in jwt_auths if a.default] or jwt_auths
    configs: list[JwtAuthorizerConfig] = []
    for auth in chosen:
        if auth.jwt is not None and auth.jwt not in configs:
            configs.append(auth.jwt)
    return configs


@dataclass
class AuthDecision:
    """``status`` None: authorized, ``context`` goes to ``requestContext.authorizer``."""

    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    context: dict[str, Any] | None = None

    @property
    def body(self) -> bytes:
        message = "Forbidden" if self.status == 403 else "Unauthorized"
        return json.dumps({"message": message}, separators=(",", ":")).encode()


def claim_as_string(value: Any) -> str:
    """Claim value as API Gateway passes it in payload 2.0 (every claim a string).

    Observed on AWS: numbers as their decimal text, arrays as ``[a b]``. Booleans become
    ``true``/``false``; objects (not verified against AWS) JSON text.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + " ".join(claim_as_string(v) for v in value) + "]"
    return json.dumps(value, separators=(",", ":"))


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    """Scopes of a token: ``scope`` (space-separated) and ``scp`` (string or list)."""
    scopes: list[str] = []
    for name in ("scope", "scp"):
        value = claims.get(name)
        items = value.split() if isinstance(value, str) else value if isinstance(value, list) else []
        for item in items:
            if isinstance(item, str) and item not in scopes:
                scopes.append(item)
    return scopes


class LocalIdentityProvider:
    """An RSA key pair and the tokens signed with it: the issuer behind every JWT authorizer locally.

    Each EmbeddedAws generates its own key pair; tokens from another provider (another key) fail.
    ``mint_token()`` issues for the issuer and first audience of the deployed template's JWT authorizer
    (when all deployed JWT authorizers agree; otherwise name them).
    """

    def __init__(self, *, kid: str | None = None, key_size: int = 2048) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        self.kid = kid or uuid.uuid4().hex
        self._lock = threading.Lock()
        self._authorizers: dict[tuple[str, str], JwtAuthorizerConfig] = {}

    # ------------------------------------------------------------------ configuration
    def register(self, authorizers: Iterable[JwtAuthorizerConfig], scope: str = "") -> None:
        """Remember the JWT authorizers of a deployed stack (their issuer/audience are the defaults)."""
        with self._lock:
            for cfg in authorizers:
                self._authorizers[(scope, cfg.name)] = cfg

    @property
    def authorizers(self) -> list[JwtAuthorizerConfig]:
        with self._lock:
            return list(self._authorizers.values())

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWK set (what the issuer's ``jwks_uri`` would serve)."""
        numbers = self._key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": _b64url_encode(_int_bytes(numbers.n)),
                    "e": _b64url_encode(_int_bytes(numbers.e)),
                }
            ]
        }

    def default_authorizer(
        self, authorizers: Sequence[JwtAuthorizerConfig] | None = None
    ) -> JwtAuthorizerConfig:
        candidates = list(authorizers if authorizers is not None else self.authorizers)
        distinct = {(c.issuer, c.audience) for c in candidates}
        if len(distinct) == 1:
            return candidates[0]
        if not candidates:
            raise LookupError("no JWT authorizer is deployed: pass issuer= and audience=")
        names = ", ".join(sorted({c.name for c in candidates}))
        raise LookupError(
            f"several JWT authorizers ({names}) with different issuers/audiences: "
            "pass authorizer= (DeployedStack.mint_token) or issuer= and audience="
        )

    # ------------------------------------------------------------------ issuing
    def mint_token(
        self,
        subject: str,
        scopes: Sequence[str] = (),
        *,
        audience: str | None = None,
        issuer: str | None = None,
        expires_in: int = 3600,
        extra_claims: dict[str, Any] | None = None,
    ) -> str:
        """A signed RS256 access token (``kid``, ``iat``/``nbf``/``exp``, ``jti``, ``scope``).

        ``issuer``/``audience`` default to the deployed JWT authorizer's (resolved parameter values);
        a negative ``expires_in`` gives an expired token; ``extra_claims`` are added last and may
        override any claim (``aud`` as a list, ``nbf`` in the future, ``client_id`` without ``aud``…).
        """
        if issuer is None or audience is None:
            default = self.default_authorizer()
            issuer = default.issuer if issuer is None else issuer
            if audience is None:
                if not default.audience:
                    raise LookupError(f"authorizer {default.name} has no audience: pass audience=")
                audience = default.audience[0]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + expires_in,
            "jti": uuid.uuid4().hex,
        }
        if scopes:
            claims["scope"] = " ".join(scopes)
        claims.update(extra_claims or {})
        return self.sign(claims)

    def sign(self, claims: Mapping[str, Any], headers: Mapping[str, Any] | None = None) -> str:
        """Any claims, signed with this provider's key (RS256 unless ``headers`` say otherwise)."""
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid, **(headers or {})}
        algorithm = _RSA_ALGORITHMS.get(str(header["alg"]))
        if algorithm is None:
            raise ValueError(f"unsupported algorithm {header['alg']!r}: RS256, RS384 or RS512")
        signing_input = ".".join(
            _b64url_encode(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self._key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), algorithm)
        return f"{signing_input}.{_b64url_encode(signature)}"

    # ------------------------------------------------------------------ validating
    def verify(self, token: str, config: JwtAuthorizerConfig, now: float | None = None) -> dict[str, Any]:
        """The token's claims if API Gateway would accept it for ``config``; else :class:`TokenError`."""
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("the token is malformed")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except (ValueError, UnicodeDecodeError) as exc:
            raise TokenError("the token is malformed") from exc
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise TokenError("the token is malformed")
        algorithm = _RSA_ALGORITHMS.get(str(header.get("alg")))
        if algorithm is None:
            raise TokenError("the token's signing algorithm is not supported")
        if header.get("kid") != self.kid:
            raise TokenError("the token's kid does not match a key of the issuer")
        try:
            self._key.public_key().verify(
                signature, f"{parts[0]}.{parts[1]}".encode("ascii"), padding.PKCS1v15(), algorithm
            )
        except InvalidSignature as exc:
            raise TokenError("the token's signature is invalid") from exc
        if claims.get("iss") != config.issuer:
            raise TokenError("the token does not have a valid issuer")
        audiences = claims.get("aud") if "aud" in claims else claims.get("client_id")
        if isinstance(audiences, str):
            audiences = [audiences]
        if not isinstance(audiences, list) or not any(a in config.audience for a in audiences):
            raise TokenError("the token does not have a valid audience")
        now = time.time() if now is None else now
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= now:
            raise TokenError("the token has expired")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if value is None:
                continue
            if not isinstance(value, int | float) or isinstance(value, bool) or value > now:
                raise TokenError(f"the token's {name} is in the future")
        return claims


def identity_from_request(
    identity_source: str, headers: Mapping[str, str], query: Mapping[str, str]
) -> str | None:
    """The identity source's value (``$request.header.X`` or ``$request.querystring.x``)."""
    if identity_source.startswith("$request.header."):
        return headers.get(identity_source[len("$request.header.") :].lower())
    if identity_source.startswith("$request.querystring."):
        return query.get(identity_source[len("$request.querystring.") :])
    return None


def _challenge(error: str, description: str, scopes: Sequence[str] = ()) -> tuple[str, str]:
    # The shape of API Gateway's header (developer guide, "Troubleshooting HTTP API JWT authorizers").
    value = f'Bearer scope="{" ".join(scopes)}" error="{error}" error_description="{description}"'
    return ("www-authenticate", value)


def authorize(
    auth: RouteAuth,
    provider: LocalIdentityProvider | None,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    route_key: str = "",
) -> AuthDecision:
    """API Gateway's decision for a request to a route with ``auth`` (headers keyed in lower case)."""
    if auth.kind != JWT or auth.jwt is None or provider is None:
        LOG.warning(
            "route %s uses the %s authorizer %s, which the embedded AWS does not emulate: 401",
            route_key,
            auth.kind,
            auth.authorizer,
        )
        return AuthDecision(401)
    raw = identity_from_request(auth.jwt.identity_source, headers, query)
    if not raw:
        return AuthDecision(401)
    token = raw[len("Bearer ") :] if raw.startswith("Bearer ") else raw
    try:
        claims = provider.verify(token.strip(), auth.jwt)
    except TokenError as exc:
        LOG.info("JWT authorizer %s refused a token for %s: %s", auth.authorizer, route_key, exc)
        return AuthDecision(401, [_challenge("invalid_token", str(exc))])
    scopes: list[str] | None = None
    if auth.scopes:
        scopes = token_scopes(claims)
        if not any(s in auth.scopes for s in scopes):
            LOG.info("JWT authorizer %s: token lacks the scopes of %s", auth.authorizer, route_key)
            description = "expected scopes: [" + " ".join(auth.scopes) + "]"
            return AuthDecision(403, [_challenge("insufficient_scope", description, auth.scopes)])
    context = {"jwt": {"claims": {k: claim_as_string(v) for k, v in claims.items()}, "scopes": scopes}}
    return AuthDecision(context=context)


# ---------------------------------------------------------------------- template → route auth
IMPLICIT_HTTP_API = "ServerlessHttpApi"
SERVERLESS_HTTP_API = "AWS::Serverless::HttpApi"


def _resolve(value: Any, values: Mapping[str, str], where: str) -> str:
    """A string property: literal, ``Ref`` of a parameter/pseudo parameter, or ``Fn::Sub`` of them."""
    from ._sam import SamError

    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str) and arg in values:
            return values[arg]
        if key == "Fn::Sub":
            text, local = (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 else (arg, {})
            if isinstance(text, str) and isinstance(local, dict):
                scope = {**values, **{k: _resolve(v, values, where) for k, v in local.items()}}

                def sub(match: re.Match[str]) -> str:
                    name = match.group(1)
                    if name.startswith("!"):
                        return "${" + name[1:] + "}"
                    if name not in scope:
                        raise SamError(f"{where}: ${{{name}}} cannot be resolved locally")
                    return scope[name]

                return re.sub(r"\$\{([^}]+)\}", sub, text)
    raise SamError(
        f"{where}: {json.dumps(value)} cannot be resolved locally "
        "(only literals, Refs to Parameters/pseudo parameters and Fn::Sub of them)"
    )


def _merge_auth(global_auth: Mapping[str, Any], local_auth: Mapping[str, Any]) -> dict[str, Any]:
    # SAM Globals: maps merge (local keys win), so authorizers merge by name.
    merged = {**global_auth, **local_auth}
    if isinstance(global_auth.get("Authorizers"), dict) and isinstance(local_auth.get("Authorizers"), dict):
        merged["Authorizers"] = {**global_auth["Authorizers"], **local_auth["Authorizers"]}
    return merged


def api_auth_sections(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """HttpApi logical id → its ``Auth`` (Globals merged); the implicit API gets the Globals'."""
    global_auth = ((template.get("Globals") or {}).get("HttpApi") or {}).get("Auth") or {}
    sections: dict[str, dict[str, Any]] = {IMPLICIT_HTTP_API: dict(global_auth)}
    for logical_id, res in (template.get("Resources") or {}).items():
        if isinstance(res, dict) and res.get("Type") == SERVERLESS_HTTP_API:
            sections[logical_id] = _merge_auth(global_auth, (res.get("Properties") or {}).get("Auth") or {})
    return sections


def event_api_id(props: Mapping[str, Any]) -> str:
    api_id = props.get("ApiId")
    if isinstance(api_id, dict) and isinstance(api_id.get("Ref"), str):
        return str(api_id["Ref"])
    return api_id if isinstance(api_id, str) else IMPLICIT_HTTP_API


def route_auth(
    api_id: str,
    api_auth: Mapping[str, Any],
    event_props: Mapping[str, Any],
    values: Mapping[str, str],
    where: str,
) -> RouteAuth | None:
    """The authorizer SAM attaches to an HttpApi event (None: no authorization).

    SAM's rules: the event's ``Auth.Authorizer``, else the API's ``DefaultAuthorizer``; ``NONE`` means
    none; the event's ``AuthorizationScopes`` if non-empty, else the authorizer's own.
    """
    event_auth = event_props.get("Auth") or {}
    is_default = not event_auth.get("Authorizer")
    name = event_auth.get("Authorizer") or api_auth.get("DefaultAuthorizer")
    if not name or name == "NONE":
        return None
    name = str(name)
    authorizers = api_auth.get("Authorizers") or {}
    if name == IAM and name not in authorizers:
        LOG.warning("%s: IAM authorization is not emulated; requests get 401 locally", where)
        return RouteAuth(name, IAM, api_logical_id=api_id, default=is_default)
    config = authorizers.get(name) or {}
    scopes = tuple(
        str(s) for s in (event_auth.get("AuthorizationScopes") or config.get("AuthorizationScopes") or [])
    )
    jwt_config = config.get("JwtConfiguration")
    if not isinstance(jwt_config, dict):
        LOG.warning(
            "%s: authorizer %s is a Lambda authorizer, not emulated; requests get 401 locally", where, name
        )
        return RouteAuth(name, LAMBDA, scopes=scopes, api_logical_id=api_id, default=is_default)
    at = f"{where}: authorizer {name}"
    issuer = _resolve(jwt_config.get("issuer", jwt_config.get("Issuer")), values, f"{at} issuer")
    audience_value = jwt_config.get("audience", jwt_config.get("Audience")) or []
    if isinstance(audience_value, list):
        audience = [_resolve(item, values, f"{at} audience") for item in audience_value]
    else:  # a Ref to a CommaDelimitedList parameter, whose value arrives as "a,b"
        audience = [a for a in _resolve(audience_value, values, f"{at} audience").split(",") if a]
    identity = _resolve(config.get("IdentitySource", "$request.header.Authorization"), values, at)
    if not identity.startswith(("$request.header.", "$request.querystring.")):
        from ._sam import SamError

        raise SamError(f"{at}: IdentitySource {identity!r} is not a header or query string selection")
    jwt = JwtAuthorizerConfig(name, issuer, tuple(audience), identity)
    return RouteAuth(name, JWT, jwt, scopes, api_id, is_default)
