"""Zammad REST client: zammad-py on a hardened session (timeouts, retries, typed errors)."""

from .client import ZammadClient, normalize_base_url
from .errors import ZammadError, ZammadNotFoundError
from .session import HardenedSession, endpoint_template

__all__ = [
    "HardenedSession",
    "ZammadClient",
    "ZammadError",
    "ZammadNotFoundError",
    "endpoint_template",
    "normalize_base_url",
]
