"""The one settings object of the desk (environment prefix ``DESK_``).

Read settings only through :func:`get_settings` so tests can override them by
environment and ``get_settings.cache_clear()``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = PROJECT_ROOT / "var" / "desk.sqlite3"
DEFAULT_CACHE_DIR = PROJECT_ROOT / "var" / "cache"

# The settings that hold credentials: refused when they look like placeholders, redacted from logs.
SECRET_FIELDS = (
    "x_bearer_token",
    "x_consumer_key",
    "x_consumer_secret",
    "x_access_token",
    "x_access_token_secret",
    "fb_page_token",
)
_PLACEHOLDERS = {"changeme", "change-me", "xxx", "your-token-here", "todo"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESK_", env_file=".env", extra="ignore")

    # Store
    database_url: str = Field(default=f"sqlite:///{DEFAULT_SQLITE}")

    # X (Twitter)
    x_api_base: str = "https://api.twitter.com"
    x_bearer_token: SecretStr | None = None
    x_consumer_key: SecretStr | None = None
    x_consumer_secret: SecretStr | None = None
    x_access_token: SecretStr | None = None
    x_access_token_secret: SecretStr | None = None
    x_user_id: str | None = None
    x_search_query: str | None = None

    # Facebook (Graph API)
    graph_api_base: str = "https://graph.facebook.com"
    graph_api_version: str = "v19.0"
    fb_page_id: str | None = None
    fb_page_token: SecretStr | None = None

    # Network behaviour
    http_timeout_seconds: float = 10.0
    retry_attempts: int = 5
    retry_max_wait_seconds: float = 30.0
    page_size: int = 100
    poll_interval_seconds: float = 15.0

    # Triage
    triage_model: str | None = None
    # None: the model directory decides (the shipped model runs int8); True/False force it.
    triage_quantize: bool | None = None
    # None: the model directory decides (the shipped model runs in ONNX Runtime); or onnxruntime/torch.
    triage_runtime: Literal["onnxruntime", "torch"] | None = None
    # Where the encoder built for ONNX Runtime is cached (default: var/cache in the project).
    triage_cache_dir: str | None = None
    # Training data for `python -m desk train` (default: ../shared/data beside the project).
    triage_data: str | None = None
    # Repeat contacts count from the earliest open incident, else over this many hours.
    triage_repeat_window_hours: float = Field(default=24.0, gt=0)

    # Demo / sandbox
    demo: bool = False
    sandbox_host: str = "127.0.0.1"
    sandbox_x_port: int = 8701
    sandbox_graph_port: int = 8702

    @field_validator("graph_api_version")
    @classmethod
    def _version_has_v(cls, value: str) -> str:
        value = value.strip()
        return value if value.startswith("v") else f"v{value}"

    @field_validator(*SECRET_FIELDS)
    @classmethod
    def _no_placeholder_secrets(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        if not raw:
            return None
        if raw.lower() in _PLACEHOLDERS:
            raise ValueError("looks like a placeholder, not a real credential")
        return value

    @property
    def triage_cache_path(self) -> Path:
        return Path(self.triage_cache_dir).expanduser() if self.triage_cache_dir else DEFAULT_CACHE_DIR

    @property
    def x_read_enabled(self) -> bool:
        return self.x_bearer_token is not None

    @property
    def x_write_enabled(self) -> bool:
        return all(
            s is not None
            for s in (
                self.x_consumer_key,
                self.x_consumer_secret,
                self.x_access_token,
                self.x_access_token_secret,
            )
        )

    @property
    def facebook_enabled(self) -> bool:
        return self.fb_page_id is not None and self.fb_page_token is not None

    def secrets(self) -> list[str]:
        """Every secret value currently set, for redaction."""
        out = []
        for name in SECRET_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out.append(value.get_secret_value())
        return out


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
