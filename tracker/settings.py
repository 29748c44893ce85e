"""Configuration (SPEC section 6): a YAML file plus ``TRACKER_<KEY>`` environment variables.

Precedence, highest first: ``TRACKER_<KEY>``, ``TRACKER_<KEY>_FILE`` (the file's content, for
secrets), the YAML file, the embedded defaults. ``${VAR}`` in the file is replaced from the
environment (``${VAR:-default}`` gives a default; ``${VAR:?message}`` makes it required).
A variable missing inside one channel's entry (``channels.NAME``, e.g. its webhook secret)
makes only that channel unusable: the other commands work, the channel's name stays known,
and whatever needs the channel (``tracker serve``, ``tracker test-channel NAME``) refuses with
the error (:meth:`Settings.require_channels`, :meth:`Settings.channel`).
Structured keys (``channels``, ``smtp``, ``retry``, ``reminders``...) are given in the
environment as JSON or YAML, e.g. ``TRACKER_REMINDERS='[30 days, 1 day]'``.

There is no module-level instance: call :func:`get_settings` at an entry point and pass the
result down.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from tracker.domain.durations import ConfigDurationField, Duration, DurationField, parse_duration
from tracker.domain.planner import ReminderPolicy
from tracker.domain.routing import DigestSpec, Escalation, Match, Route, parse_schedule
from tracker.errors import ConfigError, ValidationFailed

DEFAULT_CONFIG_PATH = Path("config/tracker.yaml")
ENV_PREFIX = "TRACKER_"

#: The levels ``log_level`` accepts (any case), quietest last.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

#: The shortest ``ack_secret`` accepted (an HMAC key guessable by brute force is no key).
ACK_SECRET_MIN_CHARS = 16
_DIGEST_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


URL_CREDENTIALS_AND_AUTHORIZATION = (
    "an Authorization header and credentials in the url (user:password@) would both set "
    "Authorization; give credentials one way only: remove them from the url, or remove the "
    "Authorization header"
)


class WebhookChannel(_Strict):
    type: Literal["webhook"]
    url: SecretStr = Field(
        description="Receiver URL; credentials in it (user:password@) are sent as HTTP Basic "
        "authentication and never logged."
    )
    secret: SecretStr = Field(description="Standard Webhooks secret, 'whsec_' + base64.")
    # During rotation both secrets sign, so receivers can switch at their own pace.
    previous_secret: SecretStr | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=15.0, gt=0, le=300)

    @field_validator("secret", "previous_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("a webhook secret must not be empty")
        return value

    @field_validator("headers")
    @classmethod
    def _check_one_authorization(
        cls, value: dict[str, str], info: ValidationInfo
    ) -> dict[str, str]:
        # httpx would let the url's credentials replace a configured Authorization header
        # without a word; refusing both makes the precedence question impossible.
        url = info.data.get("url")
        if url is not None and any(k.lower() == "authorization" for k in value):
            try:
                netloc = urlsplit(url.get_secret_value()).netloc
            except ValueError:
                netloc = ""
            if "@" in netloc:
                raise ValueError(URL_CREDENTIALS_AND_AUTHORIZATION)
        return value


class EmailChannel(_Strict):
    type: Literal["email"]
    to: list[str] = Field(min_length=1)
    cc: list[str] = Field(default_factory=list)


class LogChannel(_Strict):
    type: Literal["log"]


class AppriseChannel(_Strict):
    """Delivery through Apprise (optional extra ``treaty-tracker[apprise]``): Slack, Teams,
    Mattermost, Matrix, ntfy, Gotify, Telegram, Discord... The URL carries the service's
    tokens: it is a secret, redacted from every error and log line."""

    type: Literal["apprise"]
    url: SecretStr = Field(description="An Apprise URL, e.g. 'ntfy://host/topic'.")
    timeout_seconds: float = Field(default=15.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()
        if "://" not in text:
            raise ValueError("an Apprise URL looks like 'SCHEMA://...' (e.g. 'ntfy://host/topic')")
        return value


ChannelConfig = Annotated[
    WebhookChannel | EmailChannel | LogChannel | AppriseChannel, Field(discriminator="type")
]


def _known_kinds(value: list[str]) -> list[str]:
    from tracker.domain.deadline import DeadlineKind

    known = {k.value for k in DeadlineKind}
    bad = [k for k in value if k not in known]
    if bad:
        raise ValueError(f"unknown deadline kind(s) {bad}; known: {sorted(known)}")
    return value


class MatchConfig(_Strict):
    """What a route, an escalation or a digest selects: within a key any value matches,
    across keys all must; a key left out selects everything."""

    tags: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)
    parties: list[str] = Field(default_factory=list)
    agreements: list[str] = Field(default_factory=list)

    _check_kinds = field_validator("kinds")(_known_kinds)

    def to_match(self) -> Match:
        return Match(
            tags=frozenset(self.tags),
            kinds=frozenset(self.kinds),
            parties=frozenset(self.parties),
            agreements=frozenset(self.agreements),
        )


class RouteConfig(_Strict):
    """One entry of ``routes`` (tried in order; the first match decides unless ``continue``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    match: MatchConfig = Field(default_factory=MatchConfig)
    channels: list[str] = Field(min_length=1)
    continue_: bool = Field(default=False, alias="continue")


class EscalationConfig(_Strict):
    """One entry of ``escalations``: ``act_by`` deadlines still unacknowledged ``when_left``
    before the day remind ``channels`` too."""

    kinds: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    when_left: DurationField
    channels: list[str] = Field(min_length=1)

    _check_kinds = field_validator("kinds")(_known_kinds)


class DigestConfig(_Strict):
    """One entry of ``digests``: on ``schedule`` (``"MON 08:00"``, ``"daily 08:00"``, in the
    configured zone), one message on ``channel`` listing matching deadlines in ``within``."""

    channel: str
    schedule: str
    within: DurationField
    tags: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)

    _check_kinds = field_validator("kinds")(_known_kinds)

    @field_validator("schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value


class SmtpSettings(_Strict):
    host: str = "localhost"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "tracker@localhost"
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)


class RetrySettings(_Strict):
    initial_delay: ConfigDurationField = Field(
        default_factory=lambda: parse_duration("30 seconds", allow_time=True)
    )
    max_delay: ConfigDurationField = Field(
        default_factory=lambda: parse_duration("6 hours", allow_time=True)
    )
    max_attempts: int = Field(default=10, ge=1, le=100)


#: A claim's lease must outlast the longest delivery twice over (connecting can take as long
#: as answering) plus this margin, for recording the outcome and replicas' clocks being apart.
LEASE_MARGIN_S = 1.0


def minimum_lease_s(channels: Mapping[str, Any], smtp: SmtpSettings) -> tuple[float, str]:
    """The shortest lease that covers one delivery on every configured channel, and the
    setting that decides it (``channels.NAME.timeout_seconds`` or ``smtp.timeout_seconds``)."""
    timeouts = [
        (config.timeout_seconds, f"channels.{name}.timeout_seconds")
        for name, config in channels.items()
        if isinstance(config, WebhookChannel | AppriseChannel)
    ]
    if any(isinstance(config, EmailChannel) for config in channels.values()):
        timeouts.append((smtp.timeout_seconds, "smtp.timeout_seconds"))
    longest, setting = max(timeouts, default=(0.0, ""), key=lambda pair: pair[0])
    return 2 * longest + LEASE_MARGIN_S, setting


def _seconds(value: float) -> str:
    return f"{value:g} second{'' if value == 1 else 's'}"


def _default_offsets() -> list[Duration]:
    return [parse_duration(t) for t in ("90 days", "30 days", "7 days", "1 day", "0 days")]


class Settings(_Strict):
    """All configuration keys of SPEC section 6, with their embedded defaults."""

    database_url: str = "sqlite:///tracker.db"
    agreements_dir: Path | None = Path("seeds")
    timezone: str = "UTC"
    reminders: list[DurationField] = Field(default_factory=_default_offsets)
    reminder_kinds: Literal["all"] | list[str] = "all"
    send_time: time = time(9, 0)
    default_channels: list[str] = Field(default_factory=lambda: ["log"])
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    tick_seconds: float = Field(default=30, gt=0, le=3600)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    planning_horizon: DurationField = Field(default_factory=lambda: parse_duration("400 days"))
    lease: ConfigDurationField = Field(
        default_factory=lambda: parse_duration("5 minutes", allow_time=True)
    )
    max_concurrent_deliveries: int = Field(default=16, ge=1, le=256)
    api_token: SecretStr | None = None
    read_requires_token: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    #: Requests that read the database at the same time in one process (the others wait their
    #: turn). More do not answer faster on a few cores: at 32 connections on 2 cores, 8 gave
    #: 444 answers a second where 40 (the library's default) gave 338 (docs/performance.md).
    request_threads: int = Field(default=8, ge=1, le=256)
    log_level: str = "INFO"
    #: ``keyvalue``: ``time level=... logger=... event key=value``; ``json``: one JSON object
    #: per line with the event's fields as keys (for a log pipeline).
    log_format: Literal["keyvalue", "json"] = "keyvalue"
    #: Base of the links in reminders (acknowledgement pages).
    public_url: str = "http://127.0.0.1:8000"
    #: Signs acknowledgement links; without it reminders carry no link and ``/ack`` answers 404.
    #: Every replica needs the same value.
    ack_secret: SecretStr | None = None
    routes: list[RouteConfig] = Field(default_factory=list)
    digests: dict[str, DigestConfig] = Field(default_factory=dict)
    escalations: list[EscalationConfig] = Field(default_factory=list)

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value.strip())
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"{value!r} is not an http(s) URL (e.g. 'https://tracker.example.org')"
            )
        return value.strip().rstrip("/")

    @field_validator("ack_secret")
    @classmethod
    def _check_ack_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < ACK_SECRET_MIN_CHARS:
            raise ValueError(f"an ack_secret needs at least {ACK_SECRET_MIN_CHARS} characters")
        return value

    @field_validator("digests")
    @classmethod
    def _check_digest_names(cls, value: dict[str, DigestConfig]) -> dict[str, DigestConfig]:
        bad = [name for name in value if not _DIGEST_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"digest names {bad} must be lowercase letters, digits and '-'")
        return value

    #: Channels whose entry refers to an environment variable that is not set: name ->
    #: (type, the error). Set by :func:`get_settings`; never a configuration key.
    _unresolved: dict[str, tuple[str, ConfigError]] = PrivateAttr(default_factory=dict)

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level (one of: {', '.join(LOG_LEVELS)})")
        return level

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. 'Europe/Berlin')") from None
        return value

    @field_validator("lease")
    @classmethod
    def _check_lease(cls, value: Duration, info: ValidationInfo) -> Duration:
        # A lease that ends while its delivery is still going lets another worker send the same
        # reminder again: refuse it here rather than let it repeat deliveries silently.
        channels, smtp = info.data.get("channels"), info.data.get("smtp")
        if channels is None or smtp is None:
            return value  # reported on their own keys
        minimum, setting = minimum_lease_s(channels, smtp)
        if value.total_seconds() >= minimum:
            return value
        if not setting:
            raise ValueError(f"{value} is too short: a lease must be at least {_seconds(minimum)}")
        raise ValueError(
            f"{value} cannot cover one delivery: it must be at least {_seconds(minimum)} "
            f"(twice {setting} = {(minimum - LEASE_MARGIN_S) / 2:g} s, plus "
            f"{_seconds(LEASE_MARGIN_S)}); raise lease or lower that timeout"
        )

    @field_validator("reminder_kinds")
    @classmethod
    def _check_kinds(cls, value: Any) -> Any:
        return _known_kinds(value) if isinstance(value, list) else value

    def today(self, now: datetime) -> date:
        """The day ``now`` falls on in the configured zone: the default ``as_of`` everywhere
        (CLI, API, stored deadlines), so that they all agree on what "today" is."""
        return now.astimezone(ZoneInfo(self.timezone)).date()

    def all_channels(self) -> dict[str, ChannelConfig]:
        """Configured channels plus the built-in ``log`` channel (those that can be built;
        see :meth:`unresolved_channels`)."""
        return {"log": LogChannel(type="log"), **self.channels}

    def channel_names(self) -> list[str]:
        """Every channel name the configuration defines, usable or not, sorted."""
        return sorted({*self.all_channels(), *self._unresolved})

    def unresolved_channels(self) -> dict[str, tuple[str, ConfigError]]:
        """Channels that cannot be used because a ``${VAR}`` in their entry is not set:
        name -> (type, the error)."""
        return dict(self._unresolved)

    def with_unresolved(self, unresolved: dict[str, tuple[str, ConfigError]]) -> Settings:
        """These settings, remembering ``unresolved`` channels (see :func:`get_settings`)."""
        self._unresolved = dict(unresolved)
        return self

    def channel(self, name: str) -> ChannelConfig:
        """The configuration of channel ``name``; ConfigError when it is not defined, or
        names an environment variable that is not set."""
        found = self.all_channels().get(name)
        if found is not None:
            return found
        if name in self._unresolved:
            raise self._unresolved[name][1]
        raise ConfigError(
            f"channel {name!r} is not configured (known: {', '.join(self.channel_names())})",
            path="channels",
        )

    def require_channels(self) -> None:
        """ValidationFailed naming every channel that cannot be used (a running service
        needs them all)."""
        if self._unresolved:
            raise ValidationFailed([error for _, error in self._unresolved.values()])

    def reminder_policy(self) -> ReminderPolicy:
        """What the reminder planner reads, as the value it takes (it never sees settings)."""
        return ReminderPolicy(
            offsets=tuple(self.reminders),
            channels=tuple(self.default_channels),
            known_channels=frozenset(self.channel_names()),
            kinds=None if self.reminder_kinds == "all" else frozenset(self.reminder_kinds),
            send_time=self.send_time,
            zone=ZoneInfo(self.timezone),
            horizon=self.planning_horizon,
            routes=tuple(
                Route(r.match.to_match(), tuple(r.channels), r.continue_) for r in self.routes
            ),
            escalations=tuple(
                Escalation(
                    Match(tags=frozenset(e.tags), kinds=frozenset(e.kinds)),
                    e.when_left,
                    tuple(e.channels),
                )
                for e in self.escalations
            ),
        )

    def digest_specs(self) -> list[DigestSpec]:
        """The configured digests, as the digest job reads them."""
        return [
            DigestSpec(
                name,
                d.channel,
                parse_schedule(d.schedule),
                d.within,
                Match(tags=frozenset(d.tags), kinds=frozenset(d.kinds)),
            )
            for name, d in sorted(self.digests.items())
        ]


def substitute_env(text: str, env: Mapping[str, str], *, file: str) -> str:
    """Replace ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}`` from ``env``."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in env and (env[name] != "" or op is None):
            return env[name]
        if op == ":-":
            return arg or ""
        if op == ":?":
            raise ConfigError(
                f"${{{name}}} is required: {arg or 'set it in the environment'}", file=file
            )
        raise ConfigError(f"${{{name}}} is not set in the environment", file=file)

    return _VAR.sub(replace, text)


def _substitute_tree(value: Any, env: Mapping[str, str], *, file: str) -> Any:
    # Substituting after parsing keeps comments inert and a value with quotes or colons
    # from breaking the YAML around it.
    if isinstance(value, str):
        return substitute_env(value, env, file=file)
    if isinstance(value, list):
        return [_substitute_tree(v, env, file=file) for v in value]
    if isinstance(value, dict):
        return {k: _substitute_tree(v, env, file=file) for k, v in value.items()}
    return value


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for key in Settings.model_fields:
        name = ENV_PREFIX + key.upper()
        if name in env:
            overrides[key] = _parse_env_value(env[name])
        elif name + "_FILE" in env:
            try:
                overrides[key] = Path(env[name + "_FILE"]).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"cannot read {name}_FILE: {exc.strerror}", file=env[name + "_FILE"]
                ) from None
    return overrides


def _parse_env_value(raw: str) -> Any:
    # Structured values (lists, mappings) come as YAML/JSON; scalars stay strings so that a
    # token like "0123" is not turned into a number.
    stripped = raw.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return yaml.safe_load(stripped)
        except yaml.YAMLError:
            return raw
    return raw


def get_settings(
    config_path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read the configuration: ``config_path``, else ``TRACKER_CONFIG``, else
    ``config/tracker.yaml`` if it exists, else embedded defaults; then environment variables;
    then ``overrides`` (command-line options). Raises :class:`ValidationFailed` naming the file
    and key of every problem.
    """
    env = os.environ if env is None else env
    explicit = config_path or env.get("TRACKER_CONFIG")
    path = Path(explicit) if explicit else DEFAULT_CONFIG_PATH
    data: dict[str, Any] = {}
    unresolved: dict[str, tuple[str, ConfigError]] = {}
    if path.exists():
        data.update(_read_config_file(path, env, unresolved=unresolved))
    elif explicit:
        raise ValidationFailed([ConfigError("configuration file not found", file=str(path))])
    try:
        data.update(_env_overrides(env))
    except ConfigError as exc:
        raise ValidationFailed([exc]) from None
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if "channels" in data and isinstance(data["channels"], dict):
        # A TRACKER_CHANNELS given in the environment replaces the file's channels.
        unresolved = {k: v for k, v in unresolved.items() if k not in data["channels"]}
    settings = _validated(data, file=str(path)).with_unresolved(unresolved)
    _check_channel_names(settings, str(path))
    return settings


def _read_config_file(
    path: Path,
    env: Mapping[str, str],
    *,
    unresolved: dict[str, tuple[str, ConfigError]] | None = None,
) -> dict[str, Any]:
    """The file's keys, with ``${VAR}`` replaced from ``env``; an empty file has none. A
    channel whose entry names a variable that is not set is left out and recorded in
    ``unresolved`` (name -> (type, error)) instead of failing the whole file."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed([ConfigError(f"cannot read: {exc.strerror}", file=file)]) from None
    try:
        duplicates = duplicate_keys(text, file=file)
        if duplicates:
            raise ValidationFailed(duplicates)
        raw = yaml.safe_load(text)
        if unresolved is not None and isinstance(raw, dict):
            raw = _defer_channels(raw, env, file=file, unresolved=unresolved)
        loaded = _substitute_tree(raw, env, file=file)
    except ConfigError as exc:
        raise ValidationFailed([exc]) from None
    except yaml.YAMLError as exc:
        raise ValidationFailed([_yaml_error(exc, file)]) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ValidationFailed([ConfigError("expected a mapping of keys", file=file)])
    return loaded


def _defer_channels(
    raw: dict[str, Any],
    env: Mapping[str, str],
    *,
    file: str,
    unresolved: dict[str, tuple[str, ConfigError]],
) -> dict[str, Any]:
    """``raw`` with each channel's variables substituted on its own; a channel whose
    variables are not all set is moved out into ``unresolved``."""
    channels = raw.get("channels")
    if not isinstance(channels, dict):
        return raw
    kept: dict[str, Any] = {}
    for name, entry in channels.items():
        try:
            kept[name] = _substitute_tree(entry, env, file=file)
        except ConfigError as exc:
            kind = entry.get("type") if isinstance(entry, dict) else None
            error = ConfigError(
                f"channel {name!r} cannot be used: {exc.message}",
                file=file,
                path=f"channels.{name}",
            )
            unresolved[str(name)] = (str(kind or "unknown"), error)
    return {**raw, "channels": kept}


def _yaml_error(exc: yaml.YAMLError, file: str) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    return ConfigError(
        f"not valid YAML: {getattr(exc, 'problem', exc)}",
        file=file,
        line=mark.line + 1 if mark else None,
        column=mark.column + 1 if mark else None,
    )


def _validated(data: dict[str, Any], *, file: str) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            [
                ConfigError(
                    _plain_message(err),
                    file=file,
                    path=".".join(str(p) for p in err["loc"]) or None,
                )
                for err in exc.errors()
            ]
        ) from None


def duplicate_keys(text: str, *, file: str) -> list[ConfigError]:
    """A ``file:line:col`` error for every key given twice in one mapping (PyYAML would
    silently keep the last one). Keys merged in with ``<<: *anchor`` are overrides, not
    duplicates; a mapping reached twice through an alias is checked once."""
    errors: list[ConfigError] = []
    seen: set[int] = set()

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path[:-1], f"{path[-1]}[{index}]") if path else (f"[{index}]",))
        elif isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key == "<<" and key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                mark = key_node.start_mark
                if key in first_line:
                    errors.append(
                        ConfigError(
                            f"duplicate key (first given on line {first_line[key]}); keep only one",
                            file=file,
                            line=mark.line + 1,
                            column=mark.column + 1,
                            path=".".join((*path, key)),
                        )
                    )
                    continue
                first_line[key] = mark.line + 1
                walk(value_node, (*path, key))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return errors


def _plain_message(err: Any) -> str:
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def _named_channels(settings: Settings) -> list[tuple[str, str]]:
    """(setting path, channel name) of every channel the configuration refers to by name."""
    named = [("default_channels", name) for name in settings.default_channels]
    for index, entry in enumerate(settings.routes):
        named += [(f"routes[{index}].channels", name) for name in entry.channels]
    for index, escalation in enumerate(settings.escalations):
        named += [(f"escalations[{index}].channels", name) for name in escalation.channels]
    named += [(f"digests.{key}.channel", d.channel) for key, d in settings.digests.items()]
    return named


def _check_channel_names(settings: Settings, file: str) -> None:
    known = settings.channel_names()
    problems = [
        ConfigError(
            f"channel {name!r} is not configured (known: {known})",
            file=file,
            path=path,
        )
        for path, name in _named_channels(settings)
        if name not in known
    ]
    needs_smtp = any(c.type == "email" for c in settings.channels.values())
    if needs_smtp and not settings.smtp.host:
        problems.append(ConfigError("email channels need smtp.host", file=file, path="smtp.host"))
    if problems:
        raise ValidationFailed(problems)
