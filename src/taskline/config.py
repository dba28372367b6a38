"""Settings: one object, read from flags, then `TASKLINE_*` environment, then a YAML file.

Field names map one to one to the environment (`port` ← `TASKLINE_PORT`) and to the YAML
keys. No other module reads `os.environ`.
"""

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from taskline.core.backoff import Backoff
from taskline.core.config import EngineConfig

Role = Literal["admin", "producer", "worker"]
_config_file: ContextVar[Path | None] = ContextVar("taskline_config_file", default=None)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TASKLINE_", extra="forbid", validate_default=True)

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    sqlite_path: Path = Path("./taskline.db")
    redis_url: SecretStr | None = None
    redis_wait_replicas: int = Field(0, ge=0)
    postgres_url: SecretStr | None = None
    api_keys: SecretStr | None = None
    open_metrics: bool = True
    cors_origins: str = ""
    max_queue_size: int = Field(1_000_000, ge=1)
    max_payload_bytes: int = Field(1_048_576, ge=1)
    max_body_bytes: int = Field(16_777_216, ge=1)
    rate_limit_rps: float = Field(1000, ge=0)
    rate_limit_burst: int = Field(2000, ge=1)
    backoff_base: float = Field(1.0, gt=0)
    backoff_cap: float = Field(3600.0, gt=0)
    priority_aging: float = Field(0.0, ge=0)
    retention: float = Field(604800, gt=0)
    dlq_retention: float = Field(2592000, gt=0)
    webhook_secret: SecretStr | None = None
    webhook_max_attempts: int = Field(5, ge=1)
    webhook_allow_private: bool = False
    lease_seconds: float = Field(30.0, gt=0)
    shutdown_timeout: float = Field(30.0, ge=0)
    workers: int = Field(0, ge=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    server: str = "http://127.0.0.1:8080"
    api_key: SecretStr | None = None
    # The built-in `email` handler. No host means the handler refuses to run, not that
    # it falls back to localhost: a worker should not mail through a relay nobody chose.
    smtp_host: str | None = None
    smtp_port: int | None = Field(None, ge=1, le=65535)  # None: 587 with STARTTLS, else 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None  # None: smtp_user, when that is an address
    smtp_starttls: bool = True

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: flags (init), then the environment, then the YAML file.
        return init_settings, env_settings, YamlConfigSettingsSource(settings_cls, yaml_file=_config_file.get())

    def engine_config(self) -> EngineConfig:
        return EngineConfig(
            lease_s=self.lease_seconds,
            backoff=Backoff(self.backoff_base, self.backoff_cap),
            priority_aging_s=self.priority_aging,
            max_queue_size=self.max_queue_size,
            retention_s=self.retention,
            dlq_retention_s=self.dlq_retention,
            redis_wait_replicas=self.redis_wait_replicas,
            archive=self.postgres_dsn() is not None,
        )

    def postgres_dsn(self) -> str | None:
        """TASKLINE_POSTGRES_URL, or None when unset or empty (history off).

        Raises:
            ValueError: it is not a postgresql:// URL (a method, not a validator, so that the
                error does not quote the URL and its password, as pydantic's would).
        """
        dsn = self.postgres_url.get_secret_value().strip() if self.postgres_url else ""
        if dsn and urlsplit(dsn).scheme not in ("postgres", "postgresql"):
            raise ValueError("TASKLINE_POSTGRES_URL must be a postgresql:// URL")
        return dsn or None

    def check_wait_replicas(self) -> None:
        """TASKLINE_REDIS_WAIT_REPLICAS applies to a process on Redis only: set without
        TASKLINE_REDIS_URL (SQLite, or a worker over HTTP) it would be silently ignored, and an
        operator who asked for replicated acknowledgements would believe they have them.

        A method, not a validator: the blocking `Client` takes its Redis URL as an argument
        beside Settings that carry the replicas.

        Raises:
            ValueError: it is set (> 0) and TASKLINE_REDIS_URL is not.
        """
        if self.redis_wait_replicas > 0 and not (self.redis_url and self.redis_url.get_secret_value().strip()):
            raise ValueError(
                f"TASKLINE_REDIS_WAIT_REPLICAS={self.redis_wait_replicas} needs TASKLINE_REDIS_URL: it makes "
                "Redis writes wait for replicas, and without a Redis URL nothing would wait; unset it or set "
                "the URL"
            )

    def key_roles(self) -> dict[str, Role]:
        """`"k1:admin,k2:producer"` as a mapping; empty means the server runs open.

        An empty value is the same as none (`TASKLINE_API_KEYS=` in a compose or env file
        means "not set"), and blank items (a trailing comma) are skipped.
        """
        roles: dict[str, Role] = {}
        if self.api_keys is None:
            return roles
        for item in filter(str.strip, self.api_keys.get_secret_value().split(",")):
            key, _, role = item.strip().rpartition(":")
            if not key or role not in ("admin", "producer", "worker"):
                raise ValueError(f"TASKLINE_API_KEYS: {item.strip()!r} is not KEY:admin|producer|worker")
            roles[key] = role  # type: ignore[assignment]
        return roles

    def smtp_port_or_default(self) -> int:
        """The SMTP port: `smtp_port` if set, else 587 (submission) with STARTTLS, else 25."""
        if self.smtp_port is not None:
            return self.smtp_port
        return 587 if self.smtp_starttls else 25

    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    def masked(self) -> dict[str, Any]:
        """Every setting with secrets hidden: keys and passwords as `***`, URLs without their password."""
        shown: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                secret = value.get_secret_value()
                shown[name] = mask_url(secret) if name.endswith("_url") else "***"
            else:
                shown[name] = str(value) if isinstance(value, Path) else value
        return shown


_PASSWORD_PARAMS = frozenset({"password", "pass", "passwd", "sslpassword"})
"""Query parameters that carry a password: redis-py and libpq both take `?password=`."""


def mask_url(url: str) -> str:
    """`url` with its password hidden, in the user part and in the query; taken apart by
    hand, not through `urlsplit(...).port`, which raises on a malformed port: a setting that
    is wrong must still be shown, and without its password."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.partition(":")[0] + ":***"
    query = "&".join(
        f"{name}=***" if name.lower() in _PASSWORD_PARAMS else pair
        for pair in parts.query.split("&")
        for name in [pair.partition("=")[0]]
    )
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}", query=query))


def load_settings(config_file: str | Path | None = None, **flags: Any) -> Settings:
    """Settings from flags (non-None values), the environment and the YAML file.

    The file is `config_file`, else `TASKLINE_CONFIG`, else `./taskline.yaml` if present.
    """
    path = config_file or os.environ.get("TASKLINE_CONFIG")
    if path is None and Path("taskline.yaml").is_file():
        path = "taskline.yaml"
    token = _config_file.set(Path(path) if path else None)
    try:
        return Settings(**{name: value for name, value in flags.items() if value is not None})
    finally:
        _config_file.reset(token)
