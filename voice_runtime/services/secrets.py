"""Where a brand's signing secret comes from: the environment or a secrets file.

Secrets never live in skill YAML (skills are shared, reviewed and committed).
For brand ``anchor_dairy`` the assistant looks, in order, at:

1. the environment variable ``VOICE_SECRET_ANCHOR_DAIRY``;
2. the file named by ``VOICE_SECRETS_FILE``, one ``brand_id = secret`` per line
   (blank lines and lines starting with ``#`` are ignored).

A missing secret is a `ServiceError` naming the variable to set. Messages never
contain a secret.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from .signing import ServiceError

SECRETS_FILE_ENV = "VOICE_SECRETS_FILE"
_BRAND_ID = re.compile(r"[A-Za-z0-9_]+")


def secret_env_var(brand_id: str) -> str:
    """The environment variable holding a brand's secret: ``VOICE_SECRET_<BRAND_ID_UPPER>``."""
    if not _BRAND_ID.fullmatch(brand_id):
        raise ServiceError(f"invalid brand id {brand_id!r}: use letters, digits and '_' only")
    return f"VOICE_SECRET_{brand_id.upper()}"


def read_secrets_file(path: Path) -> dict[str, str]:
    """Parse a ``brand_id = secret`` per line file (``#`` comments, blank lines allowed)."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise ServiceError(f"cannot read secrets file {path}: {reason}") from None
    secrets: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        brand, equals, secret = stripped.partition("=")
        brand, secret = brand.strip(), secret.strip()
        if not equals or not _BRAND_ID.fullmatch(brand) or not secret:
            raise ServiceError(
                f"{path}:{number}: expected 'brand_id = secret' (brand id of letters, digits, _)"
            )
        secrets[brand] = secret
    return secrets


def load_secret(brand_id: str, env: Mapping[str, str] | None = None) -> bytes:
    """The signing secret of `brand_id`, from `env` (default `os.environ`) or the secrets file."""
    environ = os.environ if env is None else env
    variable = secret_env_var(brand_id)
    value = environ.get(variable, "").strip()
    if value:
        return value.encode("utf-8")
    file_name = environ.get(SECRETS_FILE_ENV, "").strip()
    if file_name:
        from_file = read_secrets_file(Path(file_name)).get(brand_id)
        if from_file:
            return from_file.encode("utf-8")
        where = f"; {file_name} has no line for {brand_id!r}"
    else:
        where = f" (or add '{brand_id} = <secret>' to a file named by {SECRETS_FILE_ENV})"
    raise ServiceError(f"no secret for brand {brand_id!r}: set {variable}{where}")
