"""The key of the pseudonyms (decision 0051): an HMAC key in Secrets Manager (`PrivacyKeySecret`, generated at
deploy), read through Powertools' parameters (cached five minutes), never at import."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters

from oms.config import Settings


def pseudonym_key(settings: Settings) -> bytes:
    secret: str = parameters.get_secret(settings.require("privacy_key_secret_name"), max_age=300)
    return secret.encode()
