import asyncio

import httpx
import pytest

from tracker.errors import ConfigError
from tracker.notify.email import EmailNotifier
from tracker.notify.log import LogNotifier
from tracker.notify.registry import NOTIFIERS, build_notifiers
from tracker.notify.webhook import WebhookNotifier
from tracker.settings import Settings

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def settings(**channels: dict) -> Settings:
    return Settings.model_validate({"channels": channels})


def with_client(build):
    async def run():
        async with httpx.AsyncClient() as client:
            return build(client)

    return asyncio.run(run())


def test_registry_maps_each_channel_type_to_its_class() -> None:
    assert {"webhook": WebhookNotifier, "email": EmailNotifier, "log": LogNotifier} == NOTIFIERS


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
    with pytest.raises(ConfigError) as caught:
        with_client(lambda client: build_notifiers(config, client=client))
    assert caught.value.path == "channels.ops.secret"
    assert "not base64!" not in str(caught.value)
