"""HTTP API JWT authorizers, emulated like API Gateway (probe template's ``AuthApi``)."""

from __future__ import annotations

import base64
import copy
import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra import DeployedStack, EmbeddedAws, SamError
from infra.embedded import LocalIdentityProvider
from infra.embedded._http import routes_from_template
from infra.embedded._sam import load_template, translate

PROBE = Path(__file__).parent / "templates" / "probe" / "template.yaml"
ISSUER = "https://issuer.probe.test/"  # the probe template's JwtIssuer default
UNAUTHORIZED = b'{"message":"Unauthorized"}'
FORBIDDEN = b'{"message":"Forbidden"}'


@pytest.fixture
def client(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> httpx.Client:
    _, stack = embedded_probe
    assert stack.api_url
    return httpx.Client(base_url=stack.api_url, timeout=30)


@pytest.fixture
def stack(embedded_probe: tuple[EmbeddedAws, DeployedStack]) -> DeployedStack:
    return embedded_probe[1]


def _invocations(stack: DeployedStack) -> int:
    functions = stack.embedded.stats()["functions"]
    return int(functions.get(stack.function_name("WhoAmIFunction"), {}).get("invocations", 0))


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _refused(
    client: httpx.Client, stack: DeployedStack, path: str, headers: dict[str, str]
) -> httpx.Response:
    """A request the authorizer refuses: the function must not run."""
    before = _invocations(stack)
    resp = client.get(path, headers=headers)
    assert resp.status_code in (401, 403), resp.text
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["apigw-requestid"]
    assert _invocations(stack) == before
    return resp


# ---------------------------------------------------------------------- accepted
def test_valid_token_reaches_the_function_with_its_claims_as_strings(
    client: httpx.Client, stack: DeployedStack
) -> None:
    token = stack.mint_token(
        "alice",
        ["probe/stock.read"],
        extra_claims={"groups": ["ops", "sales"], "email_verified": True, "tenant": {"id": 7}},
    )
    resp = client.get("/me", headers=_bearer(token))
    assert resp.status_code == 200, resp.text
    seen = resp.json()
    assert seen["routeKey"] == "GET /me"
    jwt = seen["authorizer"]["jwt"]
    claims = jwt["claims"]
    assert claims["sub"] == "alice"
    assert claims["iss"] == ISSUER
    assert claims["aud"] == "probe-api"  # the template's JwtAudience default
    assert claims["scope"] == "probe/stock.read"
    assert all(isinstance(v, str) for v in claims.values())
    assert int(claims["exp"]) - int(claims["iat"]) == 3600
    assert claims["nbf"] == claims["iat"]
    assert claims["groups"] == "[ops sales]"  # arrays as API Gateway renders them
    assert claims["email_verified"] == "true"
    assert json.loads(claims["tenant"]) == {"id": 7}
    assert jwt["scopes"] is None  # the route has no AuthorizationScopes
    assert seen["authorization"] == f"Bearer {token}"  # the header still reaches the function


def test_bare_token_and_bearer_prefix_are_both_accepted(client: httpx.Client, stack: DeployedStack) -> None:
    token = stack.mint_token("bob")
    assert client.get("/me", headers={"authorization": token}).status_code == 200
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # Only "Bearer " is stripped: another scheme leaves a value that is not a JWT.
    _refused(client, stack, "/me", {"authorization": f"Token {token}"})


def test_identity_provider_defaults_to_the_default_authorizer_of_the_template(
    embedded_probe: tuple[EmbeddedAws, DeployedStack], client: httpx.Client
) -> None:
    aws, stack = embedded_probe
    token = aws.identity_provider.mint_token("carol")
    assert client.get("/me", headers=_bearer(token)).json()["authorizer"]["jwt"]["claims"]["sub"] == "carol"
    jwks = aws.identity_provider.jwks()
    assert jwks["keys"][0]["kid"] == aws.identity_provider.kid
    assert jwks["keys"][0]["kty"] == "RSA"
    with pytest.raises(KeyError, match="no JWT authorizer 'Nope'"):
        stack.mint_token("x", authorizer="Nope")


def test_any_configured_audience_and_client_id_without_aud_are_accepted(
    client: httpx.Client, stack: DeployedStack
) -> None:
    second = stack.mint_token("dan", audience="probe-second-client")
    assert client.get("/me", headers=_bearer(second)).status_code == 200
    listed = stack.mint_token("dan", extra_claims={"aud": ["elsewhere", "probe-api"]})
    assert client.get("/me", headers=_bearer(listed)).status_code == 200
    cognito_style = stack.embedded.identity_provider.sign(
        {"iss": ISSUER, "sub": "dan", "client_id": "probe-api", "exp": int(time.time()) + 60}
    )
    assert client.get("/me", headers=_bearer(cognito_style)).status_code == 200
    # With both, aud is what counts.
    both = stack.mint_token("dan", audience="elsewhere", extra_claims={"client_id": "probe-api"})
    _refused(client, stack, "/me", _bearer(both))


# ---------------------------------------------------------------------- 401
def test_no_token_is_401_and_the_function_is_not_invoked(client: httpx.Client, stack: DeployedStack) -> None:
    resp = _refused(client, stack, "/me", {})
    assert resp.status_code == 401
    assert resp.content == UNAUTHORIZED
    assert _refused(client, stack, "/me", {"authorization": ""}).status_code == 401
    assert _refused(client, stack, "/me", {"authorization": "Bearer"}).status_code == 401
    assert _refused(client, stack, "/me", {"authorization": "not-a-jwt"}).status_code == 401


def test_token_signed_with_another_key_is_401(client: httpx.Client, stack: DeployedStack) -> None:
    provider = stack.embedded.identity_provider
    claims = {"iss": ISSUER, "aud": "probe-api", "sub": "mallory", "exp": int(time.time()) + 600}
    # Another identity provider: its key id is unknown to the authorizer.
    stranger = LocalIdentityProvider(key_size=1024)
    resp = _refused(client, stack, "/me", _bearer(stranger.sign(claims)))
    assert resp.status_code == 401
    assert resp.content == UNAUTHORIZED
    # Another key claiming the provider's key id: the signature does not verify.
    impostor = LocalIdentityProvider(kid=provider.kid, key_size=1024)
    resp = _refused(client, stack, "/me", _bearer(impostor.sign(claims)))
    assert resp.status_code == 401
    assert "signature" in resp.headers["www-authenticate"]
    # A genuine token whose claims were edited after signing.
    header, payload, signature = provider.sign(claims).split(".")
    edited = dict(claims, sub="root")
    forged_payload = base64.urlsafe_b64encode(json.dumps(edited).encode()).rstrip(b"=").decode()
    forged = f"{header}.{forged_payload}.{signature}"
    assert _refused(client, stack, "/me", _bearer(forged)).status_code == 401
    # Unsigned ("alg": "none") tokens are not RSA-signed: refused.
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"' + provider.kid.encode() + b'"}')
    unsigned = f"{none_header.rstrip(b'=').decode()}.{payload}."
    assert _refused(client, stack, "/me", _bearer(unsigned)).status_code == 401


def test_expired_and_not_yet_valid_tokens_are_401(client: httpx.Client, stack: DeployedStack) -> None:
    expired = stack.mint_token("erin", expires_in=-60)
    resp = _refused(client, stack, "/me", _bearer(expired))
    assert resp.status_code == 401
    assert resp.content == UNAUTHORIZED
    assert "expired" in resp.headers["www-authenticate"]
    future = stack.mint_token("erin", extra_claims={"nbf": int(time.time()) + 600})
    assert _refused(client, stack, "/me", _bearer(future)).status_code == 401
    no_exp = stack.embedded.identity_provider.sign({"iss": ISSUER, "aud": "probe-api", "sub": "erin"})
    assert _refused(client, stack, "/me", _bearer(no_exp)).status_code == 401


def test_wrong_audience_is_401_with_api_gateways_www_authenticate(
    client: httpx.Client, stack: DeployedStack
) -> None:
    token = stack.mint_token("frank", audience="some-other-api")
    resp = _refused(client, stack, "/me", _bearer(token))
    assert resp.status_code == 401
    assert resp.content == UNAUTHORIZED
    # As in API Gateway's troubleshooting guide for HTTP API JWT authorizers.
    assert resp.headers["www-authenticate"] == (
        'Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"'
    )


def test_wrong_issuer_is_401(client: httpx.Client, stack: DeployedStack) -> None:
    token = stack.mint_token("gina", issuer="https://evil.example/")
    resp = _refused(client, stack, "/me", _bearer(token))
    assert resp.status_code == 401
    assert resp.content == UNAUTHORIZED
    # Issuers are compared exactly (no trailing-slash leniency).
    no_slash = stack.mint_token("gina", issuer=ISSUER.rstrip("/"))
    assert _refused(client, stack, "/me", _bearer(no_slash)).status_code == 401


# ---------------------------------------------------------------------- scopes
def test_missing_scope_is_403_and_one_of_the_route_scopes_is_enough(
    client: httpx.Client, stack: DeployedStack
) -> None:
    no_scope = stack.mint_token("hank")
    resp = _refused(client, stack, "/stock/sku-1", _bearer(no_scope))
    assert resp.status_code == 403
    assert resp.content == FORBIDDEN
    wrong = stack.mint_token("hank", ["probe/other", "openid"])
    assert _refused(client, stack, "/stock/sku-1", _bearer(wrong)).status_code == 403

    ok = stack.mint_token("hank", ["openid", "probe/stock.admin"])
    resp = client.get("/stock/sku-1", headers=_bearer(ok))
    assert resp.status_code == 200, resp.text
    assert resp.json()["authorizer"]["jwt"]["scopes"] == ["openid", "probe/stock.admin"]
    # "scp" (Okta, Entra ID), as a list or a string, counts too.
    scp = stack.mint_token("hank", extra_claims={"scp": ["probe/stock.read"]})
    assert client.get("/stock/sku-1", headers=_bearer(scp)).status_code == 200
    # An invalid token is 401 even where a scope is also missing.
    expired = stack.mint_token("hank", expires_in=-1)
    assert _refused(client, stack, "/stock/sku-1", _bearer(expired)).status_code == 401


def test_route_with_another_authorizer_uses_its_issuer_identity_source_and_scopes(
    client: httpx.Client, stack: DeployedStack
) -> None:
    token = stack.mint_token("ivy", ["probe/admin"], authorizer="AdminJwt")
    resp = client.get("/admin", params={"access_token": token})
    assert resp.status_code == 200, resp.text
    claims = resp.json()["authorizer"]["jwt"]["claims"]
    assert (claims["iss"], claims["aud"]) == (f"{ISSUER}admin", "probe-admin")
    # The authorizer-level AuthorizationScopes apply to its routes.
    unscoped = stack.mint_token("ivy", authorizer="AdminJwt")
    assert _refused(client, stack, f"/admin?access_token={unscoped}", {}).status_code == 403
    # Its identity source is the query string; the Authorization header is not looked at.
    assert _refused(client, stack, "/admin", _bearer(token)).status_code == 401
    # A token of the default authorizer does not open it.
    default = stack.mint_token("ivy", ["probe/admin"])
    assert _refused(client, stack, f"/admin?access_token={default}", {}).status_code == 401


# ---------------------------------------------------------------------- open and not emulated
def test_route_with_authorizer_none_needs_no_token(client: httpx.Client) -> None:
    resp = client.post("/hooks/webshop", content=b"{}")
    assert resp.status_code == 200
    seen = resp.json()
    assert seen["routeKey"] == "POST /hooks/{channel}"
    assert seen["authorizer"] is None
    # Routes of the API without any Auth stay open too.
    assert client.get("/raw").status_code == 200


def test_lambda_and_iam_authorizers_are_not_emulated_401_and_a_warning(
    client: httpx.Client, stack: DeployedStack, caplog: pytest.LogCaptureFixture
) -> None:
    token = stack.mint_token("judy")
    with caplog.at_level(logging.WARNING, logger="infra.embedded.auth"):
        assert _refused(client, stack, "/custom", _bearer(token)).content == UNAUTHORIZED
        assert _refused(client, stack, "/iam", _bearer(token)).status_code == 401
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "LambdaAuth" in messages
    assert "AWS_IAM" in messages
    assert "not emulate" in messages


# ---------------------------------------------------------------------- route configuration
def _translated_security(template: dict[str, Any], values: dict[str, str]) -> dict[tuple[str, str], Any]:
    """What samtranslator writes into each HttpApi's OpenAPI body: (METHOD, path) → security."""
    tpl = copy.deepcopy(template)
    tpl.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://bucket/code.zip"
    for res in tpl["Resources"].values():
        props = res.get("Properties") or {}
        props.pop("CodeUri", None)
        if props.pop("DefinitionUri", None) is not None:
            props["Definition"] = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    cfn = translate(tpl, values)
    found: dict[tuple[str, str], Any] = {}
    for res in cfn["Resources"].values():
        if res["Type"] != "AWS::ApiGatewayV2::Api":
            continue
        for path, item in res["Properties"]["Body"]["paths"].items():
            for method, op in item.items():
                method = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                security = op.get("security")
                found[(method, path)] = security
    return found


def test_route_authorizers_and_scopes_match_what_sam_translates(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    template = load_template(PROBE)
    values = {"Stage": "test", "JwtIssuer": ISSUER, "JwtAudience": "probe-api"}
    security = _translated_security(template, values)
    routes = routes_from_template(template, values)
    assert len(routes) == len(security)
    for route in routes:
        expected = security[(route.method, route.path)]
        if route.auth is None:
            assert expected in (None, [{"NONE": []}]), route.route_key
        else:
            assert expected == [{route.auth.authorizer: list(route.auth.scopes)}], route.route_key


def test_globals_auth_applies_to_the_implicit_api_and_parameters_resolve(
    embedded_probe: tuple[EmbeddedAws, DeployedStack],
) -> None:
    template: dict[str, Any] = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Parameters": {"Iss": {"Type": "String", "Default": "https://default/"}},
        "Globals": {
            "HttpApi": {
                "Auth": {
                    "DefaultAuthorizer": "G",
                    "Authorizers": {
                        "G": {
                            "IdentitySource": "$request.header.X-Token",
                            "AuthorizationScopes": ["g/read"],
                            "JwtConfiguration": {"issuer": {"Ref": "Iss"}, "audience": ["a1", "a2"]},
                        }
                    },
                }
            }
        },
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Handler": "m.h",
                    "Runtime": "python3.12",
                    "Events": {
                        "Get": {"Type": "HttpApi", "Properties": {"Path": "/x", "Method": "GET"}},
                        "Put": {
                            "Type": "HttpApi",
                            "Properties": {
                                "Path": "/x",
                                "Method": "PUT",
                                "Auth": {"AuthorizationScopes": ["g/write"]},
                            },
                        },
                    },
                },
            }
        },
    }
    defaults = {r.route_key: r.auth for r in routes_from_template(template)}
    get, put = defaults["GET /x"], defaults["PUT /x"]
    assert get is not None
    assert get.jwt is not None
    assert put is not None
    assert (get.jwt.issuer, get.jwt.audience, get.scopes) == ("https://default/", ("a1", "a2"), ("g/read",))
    assert get.jwt.identity_source == "$request.header.X-Token"
    assert put.scopes == ("g/write",)
    overridden = routes_from_template(template, {"Iss": "https://given/"})[0].auth
    assert overridden is not None
    assert overridden.jwt is not None
    assert overridden.jwt.issuer == "https://given/"
    security = _translated_security(template, {"Iss": "https://given/"})
    assert security[("GET", "/x")] == [{"G": ["g/read"]}]
    assert security[("PUT", "/x")] == [{"G": ["g/write"]}]

    unresolvable = copy.deepcopy(template)
    jwt_config = unresolvable["Globals"]["HttpApi"]["Auth"]["Authorizers"]["G"]["JwtConfiguration"]
    jwt_config["issuer"] = {"Fn::GetAtt": ["UserPool", "ProviderURL"]}
    with pytest.raises(SamError, match="authorizer G issuer"):
        routes_from_template(unresolvable)
