"""The desk's exception tree. Connectors sort every library error into it.

    DeskError                 base; ``str(e)`` is a plain sentence for a person
    ├── Retriable             try again later (429, 5xx, timeouts, broken bodies)
    │   └── RateLimited       carries ``retry_after`` seconds when the network said so
    ├── NeedsReauth           the credential is dead (X 401, Graph 190): a person must reconnect
    ├── PostingBlocked        the network blocks posting for a while (Graph 368): stop replies, tell a human
    ├── AlreadyPosted         the network says this exact reply already exists (X 403 duplicate, Graph 506)
    └── Fatal                 this request will never work as sent (other 4xx, pagination loops)

Callers never see a library's exception type.
"""

from __future__ import annotations


class DeskError(Exception):
    """Base of every error the desk raises on purpose; the message is for people."""


class Retriable(DeskError):
    pass


class RateLimited(Retriable):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NeedsReauth(DeskError):
    pass


class PostingBlocked(DeskError):
    pass


class AlreadyPosted(DeskError):
    pass


class Fatal(DeskError):
    pass


def redact(text: str, secrets: list[str]) -> str:
    """Remove every secret from a message before it reaches a log, a page or the database."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def clip(text: object, limit: int = 200) -> str:
    """An API's error text for a message to the user: whitespace collapsed, at most ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
