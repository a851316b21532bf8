"""Settings from the environment (prefix ``XIETONG_``); nothing here connects to anything."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("xietong-data")
# Below this length a configured secret is refused outside demo mode.
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Everything an app process, a worker or the CLI needs to know about its deployment."""

    model_config = SettingsConfigDict(env_prefix="XIETONG_", extra="ignore")

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    secret_key: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    demo: bool = False
    timezone: str = "Asia/Shanghai"
    session_idle_minutes: int = Field(default=30, ge=1, description="a session ends after this long without a request")
    password_min_length: int = Field(default=10, ge=8, le=128)
    password_min_classes: int = Field(default=3, ge=2, le=4, description="of upper, lower, digits, symbols")
    urge_interval_minutes: int = Field(default=60, ge=0, description="one person urges one case at most this often")
    max_upload_mb: int = 50
    blob_store: Literal["local", "database"] = Field(
        default="local", description="where uploaded files go: the data directory, or the database (shared by hosts)"
    )
    sqlite_busy_timeout_ms: int = 10_000
    pool_size: int = 5
    database_connect_timeout_seconds: int = Field(
        default=5, ge=1, description="PostgreSQL: give up a connection attempt after this (then 503)"
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    run_worker_in_process: bool = Field(default=False, description="serve --demo runs one worker thread")
    trust_forwarded_proto: bool = Field(
        default=False, description="behind a TLS proxy: believe its X-Forwarded-Proto (HSTS, Secure cookies)"
    )
    hsts_max_age: int = Field(default=31_536_000, ge=0, description="Strict-Transport-Security max-age over TLS")
    audit_retention_days: int = Field(default=183, ge=183, description="audit records are kept at least 6 months")
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60, description="one webhook POST at most")
    webhook_lease_seconds: int = Field(default=300, ge=1, description="a claimed delivery is re-sent after this")
    outbound_timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="one call to an outside system")
    province_url: str | None = Field(default=None, description="the provincial platform's exchange base URL")
    province_app_id: str | None = None
    province_secret: str | None = Field(default=None, description="the exchange's app secret (HMAC-SHA256)")
    oa_url: str | None = Field(default=None, description="the OA system's exchange base URL")
    oa_app_id: str | None = Field(default=None, description="the id both sides of the OA exchange sign with")
    oa_secret: str | None = Field(default=None, description="the OA exchange's shared secret (HMAC-SHA256)")
    oa_max_attachments_mb: int = Field(default=20, ge=1, description="an incoming OA document's attachments at most")
    delivery_history_days: int = Field(default=30, ge=1, description="settled webhook deliveries and outbound "
                                       "messages are kept this long")
    outbound_lease_seconds: int = Field(default=300, ge=30, description="a claimed outbound message is re-sent after")
    eseal_url: str | None = Field(default=None, description="provincial e-seal service; unset: seals sign locally")
    eseal_app_id: str | None = None
    eseal_app_secret: str | None = Field(default=None, repr=False)
    archive_url: str | None = Field(default=None, description="e-archive system that takes archive packages")
    archive_app_id: str | None = None
    archive_app_secret: str | None = Field(default=None, repr=False)
    archive_fonds_code: str = Field(default="X001", description="全宗号 of the packages' archival codes")
    # 浙政钉 / DingTalk messaging (integrations/messaging): where the open API is and the app's credentials.
    messaging_url: str | None = Field(default=None, description="the messaging open API's base URL")
    messaging_app_key: str | None = None
    messaging_app_secret: str | None = Field(default=None, repr=False)
    messaging_agent_id: str | None = Field(default=None, description="the work-notice app's agent id")
    messaging_todo_operator: str = Field(default="xietong", description="unionId the to-dos are created as")
    messaging_robot_token: str | None = Field(default=None, repr=False, description="group robot access_token")
    messaging_robot_secret: str | None = Field(default=None, repr=False, description="group robot signing secret")
    # Single sign-on (security/sso.py, integrations/oidc, docs/sso.md): OpenID Connect and the messaging app's 免登.
    oidc_issuer: str | None = Field(default=None, description="the OpenID provider's issuer URL (discovery)")
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = Field(default=None, repr=False)
    oidc_scopes: str = Field(default="openid profile", description="scopes asked for, space-separated")
    oidc_employee_code_claim: str = Field(default="employee_code", description="the claim carrying the 工号")
    oidc_redirect_uri: str | None = Field(default=None, description="the callback URL registered at the provider; "
                                          "required with OIDC outside demo mode (demo: /sso/callback as reached)")
    oidc_trusted_amr: str = Field(default="", description="amr values (comma-separated) counted as the second "
                                  "factor; empty: a person with TOTP is still asked for a code")
    password_login: bool = Field(default=True, description="false: only SSO, except the break-glass list")
    password_break_glass: str = Field(default="", description="user names (comma-separated) of system "
                                      "administrators who may still log in with a password")
    messaging_corp_id: str | None = Field(default=None, description="corpId the in-app JS API asks a code for")
    messaging_jsapi_path: str | None = Field(default=None, description="same-origin path of the messaging app's "
                                             "JS API file (dingtalk.open.js / gdt-jsapi) the 免登 page loads")

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> Settings:
        if not self.demo and self.secret_key is not None and len(self.secret_key) < MIN_SECRET_LENGTH:
            raise ValueError(f"XIETONG_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file in the data directory."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'xietong.db').resolve()}"

    @property
    def oidc_configured(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_client_secret)

    @property
    def break_glass(self) -> frozenset[str]:
        return frozenset(name.strip() for name in self.password_break_glass.split(",") if name.strip())

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def normalise_database_url(url: str) -> str:
    """Point plain ``postgresql://`` URLs at psycopg 3, the driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
