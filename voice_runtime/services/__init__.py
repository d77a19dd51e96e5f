"""Brand services: webhooks the assistant calls for skill intents.

- `signing`: HMAC-SHA256 request signatures (`sign`, and `verify` for brands);
- `secrets`: a brand's secret from the environment or a secrets file;
- `policy`: which service URLs may be called;
- `breaker`: a circuit breaker per service;
- `reply`: `ServiceReply` and `parse_reply`, the reply's validation and cleaning;
- `client`: the request and failure types and `ServiceClient` (async);
- `caller`: `ServiceCaller`, the router's gateway to them.
"""

from __future__ import annotations

from .breaker import BreakerState, CircuitBreaker
from .client import ServiceClient, ServiceFailure, ServiceOutcome, ServiceRequest, pseudonym
from .policy import ALLOW_PRIVATE_ENV, PolicyError, ServicePolicy
from .reply import InvalidReplyError, ServiceReply, parse_reply
from .secrets import SECRETS_FILE_ENV, load_secret, secret_env_var
from .signing import ServiceError, SignatureError, sign, verify

__all__ = [
    "ALLOW_PRIVATE_ENV",
    "SECRETS_FILE_ENV",
    "BreakerState",
    "CircuitBreaker",
    "InvalidReplyError",
    "PolicyError",
    "ServiceClient",
    "ServiceError",
    "ServiceFailure",
    "ServiceOutcome",
    "ServicePolicy",
    "ServiceReply",
    "ServiceRequest",
    "SignatureError",
    "load_secret",
    "parse_reply",
    "pseudonym",
    "secret_env_var",
    "sign",
    "verify",
]
