"""Settings, read once from the environment or `.env`, validated with every problem named."""

import json
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.clients.action_shapes import ACTIONS
from bot.core.engine.backoff import ACTION
from bot.core.rules.routes import Routes, read_routes
from bot.core.rules.schedule import BusinessHours, Rotation, WeeklyTime, plan_rotation, zone
from storage.database import is_url, without_password

PLACEHOLDERS = {"C0123456789"}  # .env.example's example values (besides "...", "xoxb-...")


class SettingsError(Exception):
    """Start-up cannot go on: the message names every bad or missing setting."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(self.described("Cannot start"))

    def described(self, heading: str) -> str:
        return f"{heading}: fix these settings:\n" + "\n".join(f"  - {p}" for p in self.problems)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_channel_id: str
    slack_api_url: str = "https://slack.com/api/"
    slack_timeout: float = Field(default=30.0, gt=0)  # seconds, for every call to Slack

    membrane_connection_id: str
    membrane_token: SecretStr | None = None
    membrane_workspace_key: str | None = None
    membrane_workspace_secret: SecretStr | None = None
    membrane_tenant_key: str | None = None
    membrane_api_url: str = "https://api.getmembrane.com"
    membrane_timeout: float = Field(default=15.0, gt=0)
    membrane_retry_attempts: int = Field(default=4, ge=1, le=10)
    membrane_retry_base_delay: float = Field(default=ACTION.first, ge=0)
    membrane_probe_interval: float = Field(default=30.0, gt=0)
    membrane_transport: Literal["http", "cli"] = "http"
    membrane_cli: str = "membrane"  # the command, for MEMBRANE_TRANSPORT=cli
    membrane_cli_processes: int = Field(default=4, ge=1, le=64)
    # `send-agent-message=<action id>,get-client=<action id>`: run these by id, not by key
    membrane_action_ids: str | None = None

    slack_posts_per_second: float = Field(default=1.0, gt=0)  # per channel, as Slack allows
    slack_post_burst: int = Field(default=4, ge=1)

    chatra_webhook_secret: SecretStr
    chatra_dashboard_url: str = "https://app.chatra.io"
    chatra_echo_grace: float = Field(default=30.0, ge=0)
    chatra_default_agent_id: str | None = None
    chatra_received_from: str = Field(default="chatra-bridge", min_length=1, max_length=64)
    # the key of the Membrane action that sets an agent online (made with `membrane action
    # create`, see `chatra-bridge check`); off when empty
    chatra_online_action: str | None = None
    chatra_online_every_seconds: float = Field(default=60.0, ge=10, le=120)
    agent_map_file: str | None = None  # JSON {"<Slack user id>": "<Chatra agent id>", ...}
    chat_idle_gap_hours: float = Field(default=24.0, ge=0)
    nudge_after_minutes: float = Field(default=3.0, gt=0)
    escalate_after_minutes: float = Field(default=10.0, gt=0)
    escalation_check_seconds: float = Field(default=15.0, gt=0)
    inbox_rescan_seconds: float = Field(default=30.0, gt=0)  # replayed events are seen this soon
    business_timezone: str = "UTC"  # for business hours and the on-call rotation's handover
    business_hours: str | None = None  # e.g. "mon-fri 09:00-18:00": new chats outside are marked
    away_message: str | None = None  # what Chatra tells visitors outside hours, for the card
    stats_digest: str = "mon 09:00"  # the weekly digest's time (BUSINESS_TIMEZONE), or "off"
    oncall_rotation_file: str | None = None  # JSON {"people": [...], "handover": ..., ...}
    internal_note_prefixes: str = "//,note:"  # comma-separated; a reply starting so stays in Slack
    ask_before_mentions: bool = True  # a reply mentioning teammates waits for its author's word
    # a visitor's rating at or below this, on 1 to 5 (a word like "bad" is 2), is told to the
    # chat's owner and shown in its thread; 0: never
    rating_alert_at: int = Field(default=2, ge=0, le=5)
    allowed_users: str | None = None  # comma-separated Slack user ids: they alone act on visitors
    allowed_usergroup: str | None = None  # or the members of this user group (S...)
    channel_routes: str | None = (
        None  # JSON: which chats go to which channel (bot.core.rules.routes)
    )

    public_url: str | None = None  # where Slack and Chatra reach the bridge, e.g. for file links
    # where files shared with visitors were kept before they went into the database (moved in at
    # start); default: `files` beside the SQLite file
    files_dir: str | None = None
    files_retention_days: float = Field(default=30.0, gt=0)  # then a shared file is deleted
    files_max_mb: float = Field(default=500.0, gt=0)  # all shared files together, at most
    database_path: str = "./chatra-bridge.db"
    # postgresql://user:password@host:5432/db: PostgreSQL instead of the SQLite file, shared by
    # every bridge of the team (docs/deploy.md: "Running more than one")
    database_url: SecretStr | None = None
    database_pool_size: int = Field(default=4, ge=1, le=100)
    lane_lease_seconds: float = Field(default=20.0, ge=2)  # a dead bridge's chats wait this long
    leader_check_seconds: float = Field(default=5.0, gt=0)  # a dead leader is replaced this soon
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=1, le=65535)
    # behind a proxy every connection comes from its address: raise this, or 0 for no cap
    max_connections_per_address: int = Field(default=256, ge=0)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("*", mode="before")
    @classmethod
    def _not_a_placeholder(cls, value: Any, info: ValidationInfo) -> Any:
        """The values of .env.example left as they are would start a bridge that reaches no one."""
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and ("..." in raw or raw in PLACEHOLDERS):
            raise ValueError("still the placeholder from .env.example: put your own value")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not is_url(value.get_secret_value()):
            raise ValueError("must be a PostgreSQL URL: postgresql://user:password@host/database")
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_channel_id")
    @classmethod
    def _channel_shape(cls, value: str) -> str:
        if not re.fullmatch(r"[CG][A-Z0-9]{6,}", value):
            raise ValueError("must be a channel id like C0123456789 (not a #name)")
        return value

    @field_validator("slack_api_url", "membrane_api_url", "chatra_dashboard_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("chatra_webhook_secret")
    @classmethod
    def _webhook_secret_strength(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if len(secret) < 16 or not re.fullmatch(r"[A-Za-z0-9_\-]+", secret):
            raise ValueError("must be at least 16 URL-safe characters (letters, digits, - or _)")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem_at_once(cls, data: Any, handler: ModelWrapValidatorHandler) -> "Settings":
        """Report cross-setting problems together with per-setting ones, not one round later."""
        problems = _mode_problems(data if isinstance(data, dict) else {})
        try:
            settings = handler(data)
        except ValidationError as error:
            raise SettingsError(describe_problems(error, problems)) from None
        if problems:
            raise SettingsError(describe_problems(None, problems))
        return settings

    @field_validator("membrane_action_ids")
    @classmethod
    def _action_ids_readable(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_action_ids(value)
        return value

    def action_ids(self) -> dict[str, str]:
        """Chatra actions to run by their Membrane id rather than their key."""
        return _parse_action_ids(self.membrane_action_ids) if self.membrane_action_ids else {}

    @field_validator("business_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("business_hours")
    @classmethod
    def _hours_readable(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            BusinessHours.parse(value, info.data.get("business_timezone") or "UTC")
        return value

    @field_validator("stats_digest")
    @classmethod
    def _digest_readable(cls, value: str, info: ValidationInfo) -> str:
        if value.strip().lower() != "off":
            WeeklyTime.parse(value, info.data.get("business_timezone") or "UTC")
        return value

    def digest_time(self) -> WeeklyTime | None:
        if self.stats_digest.strip().lower() == "off":
            return None
        return WeeklyTime.parse(self.stats_digest, self.business_timezone)

    def opening_hours(self) -> BusinessHours | None:
        if self.business_hours is None:
            return None
        return BusinessHours.parse(self.business_hours, self.business_timezone)

    @field_validator("oncall_rotation_file")
    @classmethod
    def _rotation_readable(cls, value: str | None) -> str | None:
        if value is not None:
            _read_rotation(value, "UTC", 0.0)
        return value

    def planned_rotation(self, now: float) -> Rotation | None:
        """The rotation in ONCALL_ROTATION_FILE, starting at `now` if it is new."""
        if self.oncall_rotation_file is None:
            return None
        return _read_rotation(self.oncall_rotation_file, self.business_timezone, now)

    @field_validator("agent_map_file")
    @classmethod
    def _agent_map_readable(cls, value: str | None) -> str | None:
        if value is not None:
            _read_agent_map(value)
        return value

    @field_validator("channel_routes")
    @classmethod
    def _routes_readable(cls, value: str | None, info: ValidationInfo) -> str | None:
        if (
            value is not None
            and read_routes(value).use_hours
            and not info.data.get("business_hours")
        ):
            raise ValueError("a route uses after_hours: set BUSINESS_HOURS too")
        return value

    def routes(self) -> Routes:
        return read_routes(self.channel_routes) if self.channel_routes else Routes()

    def database(self) -> str:
        """The PostgreSQL URL (secret: its password), or the SQLite file's path."""
        return self.database_url.get_secret_value() if self.database_url else self.database_path

    def database_named(self) -> str:
        """The database as messages name it: never with its password."""
        if self.database_url is None:
            return f"{self.database_path} (DATABASE_PATH)"
        return f"{without_password(self.database())} (DATABASE_URL)"

    def earlier_files_dir(self) -> Path | None:
        """Where an earlier chatra-bridge kept shared files, to move them into the database."""
        if self.files_dir:
            return Path(self.files_dir)
        return Path(self.database_path).parent / "files" if self.database_url is None else None

    def agent_links(self) -> dict[str, str]:
        """Slack user id -> Chatra agent id, from AGENT_MAP_FILE."""
        return _read_agent_map(self.agent_map_file) if self.agent_map_file else {}

    def secrets(self) -> list[str]:
        """Every secret value, so logging can be made to never show one."""
        values = [
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.membrane_token,
            self.membrane_workspace_secret,
            self.chatra_webhook_secret,
        ]
        found = [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]
        password = (
            urlsplit(self.database_url.get_secret_value()).password if self.database_url else None
        )
        return found + ([password] if password else [])


def _parse_action_ids(text: str) -> dict[str, str]:
    ids = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        action, _, action_id = pair.partition("=")
        if action.strip() not in ACTIONS or not action_id.strip():
            raise ValueError(
                f"{pair!r}: write it as send-agent-message=<action id>,get-client=<action id>,"
                f" with actions among {', '.join(ACTIONS)}"
            )
        ids[action.strip()] = action_id.strip()
    return ids


def _read_agent_map(path: str) -> dict[str, str]:
    try:
        links = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read a JSON object from {path}: {type(error).__name__}") from None
    if not isinstance(links, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in links.items()
    ):
        raise ValueError('must hold a JSON object like {"U0123ABCD": "<Chatra agent id>"}')
    return links


def _read_rotation(path: str, timezone: str, now: float) -> Rotation:
    try:
        plan = json.loads(Path(path).read_text(encoding="utf-8"))
        people, handover = plan["people"], plan["handover"]
        return plan_rotation(list(people), str(handover), plan.get("timezone", timezone), now)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"cannot read a rotation from {path} ({error}); write it like"
            ' {"people": ["U0123ABCD", "U0456EFGH"], "handover": "monday 09:00",'
            ' "timezone": "Europe/Berlin"}'
        ) from None


def load_settings(**overrides: Any) -> Settings:
    """Read settings; raise SettingsError naming every problem (never a secret's value)."""
    return Settings(**overrides)


def _mode_problems(raw: dict[str, Any]) -> list[str]:
    def given(name: str) -> bool:
        return bool(raw.get(name))

    problems = []
    if not given("slack_app_token") and not given("slack_signing_secret"):
        problems.append(
            "SLACK_SIGNING_SECRET: required unless SLACK_APP_TOKEN (Socket Mode) is set"
        )
    minting = ("membrane_workspace_key", "membrane_workspace_secret", "membrane_tenant_key")
    uses_cli = str(raw.get("membrane_transport", "")).lower() == "cli"  # the CLI keeps its login
    if not uses_cli and not given("membrane_token") and not all(given(n) for n in minting):
        problems.append(
            "MEMBRANE_TOKEN: required, or all of MEMBRANE_WORKSPACE_KEY,"
            " MEMBRANE_WORKSPACE_SECRET and MEMBRANE_TENANT_KEY"
        )
    return problems


def describe_problems(error: ValidationError | None, extra: list[str]) -> list[str]:
    lines = []
    for problem in error.errors(include_input=False, include_url=False) if error else []:
        name = "_".join(str(part) for part in problem["loc"]).upper()
        reason = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "missing":
            reason = "missing (set it in the environment or in .env)"
        lines.append(f"{name}: {reason}")
    return lines + extra
