import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from tests.unit.notify.samples import gsomia_notification
from tracker.errors import ConfigError, DeliveryError
from tracker.notify.apprise import AppriseNotifier
from tracker.notify.email import EmailNotifier
from tracker.notify.log import LogNotifier
from tracker.notify.registry import (
    NOTIFIERS,
    MisconfiguredChannel,
    build_notifier,
    build_notifiers,
)
from tracker.notify.webhook import WebhookNotifier
from tracker.settings import Settings

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = datetime(2020, 8, 7, tzinfo=UTC)


def settings(**channels: dict) -> Settings:
    return Settings.model_validate({"channels": channels})


def with_client(build):
    async def run():
        async with httpx.AsyncClient() as client:
            return build(client)

    return asyncio.run(run())


def test_registry_maps_each_channel_type_to_its_class() -> None:
    assert {
        "webhook": WebhookNotifier,
        "email": EmailNotifier,
        "log": LogNotifier,
        "apprise": AppriseNotifier,
    } == NOTIFIERS


def test_one_notifier_is_built_per_configured_channel_plus_the_builtin_log() -> None:
    config = settings(
        ops={"type": "webhook", "url": "https://hooks.example.org/t", "secret": SECRET},
        desk={"type": "email", "to": ["desk@example.org"]},
    )
    notifiers = with_client(lambda client: build_notifiers(config, client=client))
    assert sorted(notifiers) == ["desk", "log", "ops"]
    assert isinstance(notifiers["ops"], WebhookNotifier)
    assert isinstance(notifiers["desk"], EmailNotifier)
    assert isinstance(notifiers["log"], LogNotifier)
    assert {name: n.name for name, n in notifiers.items()} == {
        "desk": "desk",
        "log": "log",
        "ops": "ops",
    }


def test_a_webhook_secret_that_is_not_base64_is_a_config_error_naming_the_channel() -> None:
    config = settings(ops={"type": "webhook", "url": "https://h/t", "secret": "whsec_not base64!"})
    ops = config.all_channels()["ops"]
    with pytest.raises(ConfigError) as caught:
        with_client(lambda client: build_notifier("ops", ops, settings=config, client=client))
    assert caught.value.path == "channels.ops.secret"
    assert "not base64!" not in str(caught.value)


def test_a_channel_that_cannot_be_built_stands_in_failing_alone_and_the_others_are_built() -> None:
    config = settings(
        ops={"type": "webhook", "url": "https://h/t", "secret": "whsec_not base64!"},
        desk={"type": "email", "to": ["desk@example.org"]},
    )
    notifiers = with_client(lambda client: build_notifiers(config, client=client))
    assert {name: type(n) for name, n in notifiers.items()} == {
        "desk": EmailNotifier,
        "log": LogNotifier,
        "ops": MisconfiguredChannel,
    }
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(notifiers["ops"].send(gsomia_notification(), now=NOW))
    assert str(caught.value) == (
        "channel 'ops' is misconfigured: <input>: channels.ops.secret: "
        "webhook secret is not 'whsec_' followed by base64"
    )
    assert (caught.value.permanent, caught.value.disable_channel) == (False, False)


def test_each_channel_class_builds_itself_only_from_its_own_configuration() -> None:
    config = settings(desk={"type": "email", "to": ["desk@example.org"]})
    desk = config.all_channels()["desk"]
    with pytest.raises(ConfigError) as caught:
        with_client(
            lambda client: WebhookNotifier.from_settings(
                "desk", desk, settings=config, client=client
            )
        )
    assert (str(caught.value), caught.value.path) == (
        "<input>: channels.desk.type: this 'email' channel's configuration is not a WebhookChannel",
        "channels.desk.type",
    )
