"""Logging that never prints a secret.

tweepy logs the bearer token at DEBUG and urllib3 logs URLs whose query holds the
Graph access token. A filter on the root handlers and on those loggers replaces
every known secret and any ``access_token=...`` / ``Bearer ...`` value.
"""

from __future__ import annotations

import logging
import re

from desk.errors import redact

_TOKEN_PATTERNS = [
    re.compile(r"(access_token=)[^&\s'\"]+"),
    re.compile(r"(Bearer\s+)[A-Za-z0-9%._\-~+/=]+"),
    re.compile(r"(oauth_signature=\")[^\"]+"),
]
_NOISY = ("tweepy", "urllib3", "requests", "facebook")


class RedactingFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def scrub(self, text: str) -> str:
        text = redact(text, sorted(self.secrets, key=len, reverse=True))
        for pattern in _TOKEN_PATTERNS:
            text = pattern.sub(r"\1[redacted]", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = RedactingFilter()
_SCRUBBED_PREFIXES = ("tweepy", "urllib3", "requests", "facebook", "desk")
_installed_factory = False


def _install_record_factory() -> None:
    """Scrub records of the network libraries and the desk whatever handler prints them."""
    global _installed_factory
    if _installed_factory:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)  # type: ignore[arg-type]
        if record.name.startswith(_SCRUBBED_PREFIXES):
            try:
                _FILTER.filter(record)
            except Exception:  # noqa: BLE001 - a bad format string must not break logging
                record.msg, record.args = "[log message withheld: could not be scrubbed]", None
        return record

    logging.setLogRecordFactory(factory)
    _installed_factory = True


def install_redaction(secrets: list[str]) -> RedactingFilter:
    """Add ``secrets`` to the redaction set and make sure every relevant logger is filtered."""
    _FILTER.secrets.update(s for s in secrets if s and len(s) >= 4)
    _install_record_factory()
    for name in _NOISY:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        # tweepy's DEBUG lines carry full request headers: never emit them.
        if logger.level == logging.NOTSET or logger.level < logging.INFO:
            logger.setLevel(logging.INFO)
    root = logging.getLogger()
    for handler in root.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    return _FILTER


def scrub(text: str) -> str:
    return _FILTER.scrub(text)
