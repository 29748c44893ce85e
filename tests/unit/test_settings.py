"""Reading the configuration: defaults, the YAML file, ``TRACKER_<KEY>`` variables, their
``_FILE`` form, command-line overrides, and ``${VAR}`` substitution in the file."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tracker.domain.durations import parse_duration
from tracker.domain.planner import ReminderPolicy
from tracker.errors import ConfigError, ValidationFailed
from tracker.settings import Settings, get_settings, minimum_lease_s, substitute_env


@pytest.fixture(autouse=True)
def in_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # get_settings falls back to config/tracker.yaml under the working directory.
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [str(error) for error in exc.value.errors]


# --- precedence ------------------------------------------------------------------------------


def test_without_a_file_or_variables_the_embedded_defaults_apply() -> None:
    settings = get_settings(env={})

    assert settings == Settings()
    assert (settings.port, settings.timezone, settings.send_time) == (8000, "UTC", time(9, 0))
    assert [str(d) for d in settings.reminders] == [
        "90 days",
        "30 days",
        "7 days",
        "1 day",
        "0 days",
    ]


def test_config_tracker_yaml_in_the_working_directory_is_read_by_default(tmp_path: Path) -> None:
    write(tmp_path / "config" / "tracker.yaml", "port: 8001\n")

    assert get_settings(env={}).port == 8001


def test_the_file_wins_over_defaults_and_leaves_other_keys_at_their_default(
    tmp_path: Path,
) -> None:
    write(tmp_path / "t.yaml", "port: 8001\ntimezone: Europe/Berlin\n")

    settings = get_settings("t.yaml", env={})

    assert settings.model_dump() == {
        **Settings().model_dump(),
        "port": 8001,
        "timezone": "Europe/Berlin",
    }


def test_an_environment_variable_wins_over_the_file(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "port: 8001\nhost: 0.0.0.0\n")

    settings = get_settings("t.yaml", env={"TRACKER_PORT": "8002"})

    assert (settings.port, settings.host) == (8002, "0.0.0.0")


def test_a_file_variable_gives_the_file_content_stripped(tmp_path: Path) -> None:
    write(tmp_path / "token", "s3cret-token\n")

    settings = get_settings(env={"TRACKER_API_TOKEN_FILE": str(tmp_path / "token")})

    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "s3cret-token"


def test_a_file_variable_wins_over_the_file(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "api_token: from-the-file\n")
    write(tmp_path / "token", "from-the-secret\n")

    settings = get_settings("t.yaml", env={"TRACKER_API_TOKEN_FILE": str(tmp_path / "token")})

    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "from-the-secret"


def test_the_plain_variable_wins_over_its_file_form(tmp_path: Path) -> None:
    write(tmp_path / "token", "from-the-secret\n")

    settings = get_settings(
        env={"TRACKER_API_TOKEN": "direct", "TRACKER_API_TOKEN_FILE": str(tmp_path / "token")}
    )

    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "direct"


def test_an_unreadable_file_variable_is_an_error_naming_the_variable_and_the_file(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-such-token"

    with pytest.raises(ValidationFailed) as exc:
        get_settings(env={"TRACKER_API_TOKEN_FILE": str(missing)})

    assert problems(exc) == [
        f"{missing}: cannot read TRACKER_API_TOKEN_FILE: No such file or directory"
    ]


def test_overrides_win_over_the_environment_and_none_means_not_given(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "port: 8001\nhost: 10.0.0.1\n")

    settings = get_settings(
        "t.yaml",
        env={"TRACKER_PORT": "8002", "TRACKER_HOST": "10.0.0.2"},
        overrides={"port": 8003, "host": None},
    )

    assert (settings.port, settings.host) == (8003, "10.0.0.2")


def test_tracker_config_names_the_file_and_an_explicit_path_wins_over_it(
    tmp_path: Path,
) -> None:
    write(tmp_path / "a.yaml", "port: 8001\n")
    write(tmp_path / "b.yaml", "port: 8002\n")

    assert get_settings(env={"TRACKER_CONFIG": "a.yaml"}).port == 8001
    assert get_settings("b.yaml", env={"TRACKER_CONFIG": "a.yaml"}).port == 8002


def test_structured_keys_come_from_the_environment_as_yaml_and_scalars_stay_text() -> None:
    settings = get_settings(
        env={
            "TRACKER_REMINDERS": "[30 days, 1 day]",
            "TRACKER_SMTP": '{"host": "mail.example.org", "port": 587}',
            "TRACKER_API_TOKEN": "0123",
        }
    )

    assert settings.reminders == [parse_duration("30 days"), parse_duration("1 day")]
    assert (settings.smtp.host, settings.smtp.port) == ("mail.example.org", 587)
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "0123"


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "# nothing set yet\n")

    assert get_settings("t.yaml", env={}) == Settings()


# --- ${VAR} in the file --------------------------------------------------------------------


def test_a_variable_in_the_file_is_replaced_from_the_environment(tmp_path: Path) -> None:
    write(
        tmp_path / "t.yaml",
        "host: ${HOST}\n"
        "channels:\n"
        "  ops: {type: webhook, url: 'https://${HOOK_HOST}/in', secret: '${HOOK_SECRET}'}\n",
    )

    settings = get_settings(
        "t.yaml",
        env={"HOST": "10.1.2.3", "HOOK_HOST": "hooks.example.org", "HOOK_SECRET": "whsec_c2Vj"},
    )

    ops = settings.channels["ops"]
    assert ops.type == "webhook"
    assert settings.host == "10.1.2.3"
    assert ops.url.get_secret_value() == "https://hooks.example.org/in"
    assert ops.secret.get_secret_value() == "whsec_c2Vj"


def test_a_variable_in_a_comment_is_left_alone(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "# port: ${UNSET_PORT}\nport: 8001\n")

    assert get_settings("t.yaml", env={}).port == 8001


def test_an_unset_variable_without_a_default_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "api_token: ${TOKEN}\n")

    with pytest.raises(ValidationFailed) as exc:
        get_settings("t.yaml", env={})

    assert problems(exc) == ["t.yaml: ${TOKEN} is not set in the environment"]


def test_a_required_variable_that_is_unset_is_an_error_with_its_message(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "api_token: ${TOKEN:?set TOKEN to the API token}\n")

    with pytest.raises(ValidationFailed) as exc:
        get_settings("t.yaml", env={})

    assert problems(exc) == ["t.yaml: ${TOKEN} is required: set TOKEN to the API token"]


ONE_CHANNEL_SECRET = (
    "default_channels: [log]\n"
    "channels:\n"
    "  ops: {type: webhook, url: 'https://hooks.example.org/in', secret: '${OPS_SECRET}'}\n"
    "  desk: {type: email, to: [desk@example.org]}\n"
)
OPS_UNUSABLE = (
    "t.yaml: channels.ops: channel 'ops' cannot be used: ${OPS_SECRET} is not set in the "
    "environment"
)


def test_a_channel_whose_variable_is_unset_is_unusable_but_the_rest_loads(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", ONE_CHANNEL_SECRET)

    settings = get_settings("t.yaml", env={})

    assert sorted(settings.all_channels()) == ["desk", "log"]
    assert settings.channel_names() == ["desk", "log", "ops"]
    assert "ops" in settings.reminder_policy().known_channels
    with pytest.raises(ConfigError) as caught:
        settings.channel("ops")
    assert str(caught.value) == OPS_UNUSABLE
    assert settings.channel("desk").type == "email"


def test_the_service_needs_every_channel(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", ONE_CHANNEL_SECRET)
    settings = get_settings("t.yaml", env={})

    with pytest.raises(ValidationFailed) as exc:
        settings.require_channels()

    assert problems(exc) == [OPS_UNUSABLE]
    get_settings("t.yaml", env={"OPS_SECRET": "whsec_c2Vj"}).require_channels()  # set: fine


def test_an_unset_variable_outside_channels_still_fails_the_whole_file(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", ONE_CHANNEL_SECRET + "database_url: ${DB_URL}\n")

    with pytest.raises(ValidationFailed) as exc:
        get_settings("t.yaml", env={})

    assert problems(exc) == ["t.yaml: ${DB_URL} is not set in the environment"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"NAME": "value"}, "value"),
        ({}, "fallback"),
        ({"NAME": ""}, "fallback"),  # ":-" also covers a variable set to nothing
    ],
)
def test_a_default_applies_when_the_variable_is_unset_or_empty(
    env: dict[str, str], expected: str
) -> None:
    assert substitute_env("${NAME:-fallback}", env, file="t.yaml") == expected


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("${NAME:?}", {}, "${NAME} is required: set it in the environment"),
        ("${NAME:?say why}", {"NAME": ""}, "${NAME} is required: say why"),
    ],
)
def test_a_required_variable_must_be_set_and_not_empty(
    text: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        substitute_env(text, env, file="t.yaml")

    assert (exc.value.message, exc.value.file) == (message, "t.yaml")


def test_a_plain_variable_may_be_set_to_nothing() -> None:
    assert substitute_env("a${EMPTY}b", {"EMPTY": ""}, file="t.yaml") == "ab"


def test_several_variables_in_one_value_are_all_replaced() -> None:
    env = {"USER": "tracker", "PASSWORD": "pw"}

    text = substitute_env("postgresql://${USER}:${PASSWORD}@${HOST:-db}/t", env, file="t.yaml")

    assert text == "postgresql://tracker:pw@db/t"


def test_substituted_text_is_a_value_and_not_yaml(tmp_path: Path) -> None:
    # The file is parsed first: a value holding ": " or "#" cannot break the document.
    write(tmp_path / "t.yaml", "api_token: ${TOKEN}\nport: 8001\n")

    settings = get_settings("t.yaml", env={"TOKEN": "a: b # c"})

    assert settings.api_token is not None
    assert (settings.api_token.get_secret_value(), settings.port) == ("a: b # c", 8001)


# --- errors ----------------------------------------------------------------------------------


def test_an_explicit_file_that_does_not_exist_is_an_error() -> None:
    with pytest.raises(ValidationFailed) as exc:
        get_settings("missing.yaml", env={})

    assert problems(exc) == ["missing.yaml: configuration file not found"]


def test_a_file_that_cannot_be_read_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").mkdir()

    with pytest.raises(ValidationFailed) as exc:
        get_settings("t.yaml", env={})

    assert problems(exc) == ["t.yaml: cannot read: Is a directory"]


def test_invalid_yaml_is_an_error_with_line_and_column(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "port: 8001\nreminders: [30 days\n")

    with pytest.raises(ValidationFailed) as exc:
        get_settings("t.yaml", env={})

    assert problems(exc) == [
        "t.yaml:3:1: not valid YAML: expected ',' or ']', but got '<stream end>'"
    ]


def test_a_file_that_is_not_a_mapping_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "- port\n- 8001\n")

    with pytest.raises(ValidationFailed) as exc:
        get_settings("t.yaml", env={})

    assert problems(exc) == ["t.yaml: expected a mapping of keys"]


def test_every_invalid_key_is_reported_with_its_path(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "timezone: Mars/Base\nreminder_kinds: [expiry, renewal]\n")

    with pytest.raises(ValidationFailed) as exc:
        get_settings("t.yaml", env={})

    assert problems(exc) == [
        "t.yaml: timezone: 'Mars/Base' is not an IANA time zone (e.g. 'Europe/Berlin')",
        "t.yaml: reminder_kinds: unknown deadline kind(s) ['renewal']; known: "
        "['earliest_notice', 'expiry', 'membership_ended', 'milestone', 'notice_deadline', "
        "'notice_window_opens', 'recurring', 'survival_ends', 'termination', "
        "'withdrawal_effective']",
    ]


def test_a_default_channel_that_is_not_configured_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "default_channels: [log, ops]\n")

    with pytest.raises(ValidationFailed) as exc:
        get_settings("t.yaml", env={})

    assert problems(exc) == [
        "t.yaml: default_channels: channel 'ops' is not configured (known: ['log'])"
    ]


def test_an_email_channel_needs_an_smtp_host(tmp_path: Path) -> None:
    write(
        tmp_path / "t.yaml",
        "channels: {desk: {type: email, to: [desk@example.org]}}\nsmtp: {host: ''}\n",
    )

    with pytest.raises(ValidationFailed) as exc:
        get_settings("t.yaml", env={})

    assert problems(exc) == ["t.yaml: smtp.host: email channels need smtp.host"]


def test_a_duplicate_key_is_an_error_naming_line_and_column(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "port: 8001\nsmtp:\n  host: a\n  host: b\n")

    with pytest.raises(ValidationFailed) as exc:
        get_settings("t.yaml", env={})

    assert problems(exc) == [
        "t.yaml:4:3: smtp.host: duplicate key (first given on line 3); keep only one"
    ]


# --- what the settings say -------------------------------------------------------------------


def test_a_lease_shorter_than_two_webhook_timeouts_is_refused_naming_the_timeout() -> None:
    channels = {"ops": {"type": "webhook", "url": "https://h.example/in", "secret": "whsec_c2Vj"}}

    with pytest.raises(ValidationFailed) as exc:
        get_settings(env={}, overrides={"channels": channels, "lease": "20 seconds"})

    assert [e.message for e in exc.value.errors] == [
        "20 seconds cannot cover one delivery: it must be at least 31 seconds (twice "
        "channels.ops.timeout_seconds = 15 s, plus 1 second); raise lease or lower that timeout"
    ]


def test_the_minimum_lease_without_channels_is_the_margin_alone() -> None:
    settings = Settings()

    assert minimum_lease_s(settings.channels, settings.smtp) == (1.0, "")


def test_the_minimum_lease_with_email_counts_the_smtp_timeout() -> None:
    settings = Settings.model_validate(
        {"channels": {"desk": {"type": "email", "to": ["desk@example.org"]}}}
    )

    assert minimum_lease_s(settings.channels, settings.smtp) == (61.0, "smtp.timeout_seconds")


def test_a_variable_inside_a_list_is_replaced(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "reminders: ['${FIRST:-30 days}', 1 day]\n")

    settings = get_settings("t.yaml", env={})

    assert settings.reminders == [parse_duration("30 days"), parse_duration("1 day")]


def test_a_duplicate_key_inside_a_list_names_the_item(tmp_path: Path) -> None:
    write(tmp_path / "t.yaml", "default_channels: [log]\nextra:\n  - {a: 1, a: 2}\n")

    with pytest.raises(ValidationFailed) as exc:
        get_settings("t.yaml", env={})

    assert problems(exc) == [
        "t.yaml:3:12: extra[0].a: duplicate key (first given on line 3); keep only one"
    ]


def test_a_structured_variable_that_is_not_yaml_is_passed_on_as_text() -> None:
    # The model then says what it expected instead of a YAML parser error.
    with pytest.raises(ValidationFailed) as exc:
        get_settings(env={"TRACKER_REMINDERS": "[30 days"})

    assert [(e.path, e.message) for e in exc.value.errors] == [
        ("reminders", "Input should be a valid list")
    ]


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        (
            {"type": "webhook", "url": "https://h.example/in", "secret": "  "},
            "a webhook secret must not be empty",
        ),
        (
            {
                "type": "webhook",
                "url": "https://user:pw@h.example/in",
                "secret": "whsec_c2Vj",
                "headers": {"authorization": "Bearer x"},
            },
            "an Authorization header and credentials in the url (user:password@) would both "
            "set Authorization; give credentials one way only: remove them from the url, or "
            "remove the Authorization header",
        ),
    ],
)
def test_a_webhook_channel_is_refused_for(channel: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        get_settings(env={}, overrides={"channels": {"ops": channel}})

    assert [e.message for e in exc.value.errors] == [message]


def test_an_authorization_header_alone_is_accepted() -> None:
    channel = {
        "type": "webhook",
        "url": "https://h.example/in",
        "secret": "whsec_c2Vj",
        "headers": {"Authorization": "Bearer x"},
    }

    settings = get_settings(env={}, overrides={"channels": {"ops": channel}})

    assert list(settings.channels) == ["ops"]


def test_a_lease_shorter_than_the_margin_is_refused_without_channels() -> None:
    with pytest.raises(ValidationFailed) as exc:
        get_settings(env={}, overrides={"lease": "0 seconds"})

    assert [e.message for e in exc.value.errors] == [
        "0 seconds is too short: a lease must be at least 1 second"
    ]


def test_the_log_level_is_read_in_any_case() -> None:
    assert get_settings(env={"TRACKER_LOG_LEVEL": " debug "}).log_level == "DEBUG"


def test_today_is_the_date_in_the_configured_zone() -> None:
    now = datetime(2024, 12, 31, 23, 30, tzinfo=UTC)

    assert Settings(timezone="Asia/Tokyo").today(now) == date(2025, 1, 1)
    assert Settings().today(now) == date(2024, 12, 31)


def test_the_reminder_policy_carries_what_the_planner_reads() -> None:
    settings = Settings.model_validate(
        {
            "reminders": ["30 days", "1 day"],
            "reminder_kinds": ["notice_deadline", "expiry"],
            "send_time": "08:30",
            "timezone": "Europe/Berlin",
            "default_channels": ["ops"],
            "channels": {"ops": {"type": "log"}},
            "planning_horizon": "90 days",
        }
    )

    assert settings.reminder_policy() == ReminderPolicy(
        offsets=(parse_duration("30 days"), parse_duration("1 day")),
        channels=("ops",),
        known_channels=frozenset({"log", "ops"}),
        kinds=frozenset({"notice_deadline", "expiry"}),
        send_time=time(8, 30),
        zone=ZoneInfo("Europe/Berlin"),
        horizon=parse_duration("90 days"),
    )


def test_reminder_kinds_all_lets_every_kind_through() -> None:
    policy = Settings().reminder_policy()

    assert policy.kinds is None
    assert policy.kind_allowed("survival_ends")
