import pytest

from tracker.redact import redact, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@h/p?token=x", "https://***@h/p?token=***"),
        ("https://hooks.example.org/treaties", "https://hooks.example.org/treaties"),
        ("http://h:8080/p?a=1&b=2", "http://h:8080/p?a=***&b=***"),
        ("https://token@h/", "https://***@h/"),
        ("https://h/p#access_token=abc", "https://h/p#***"),
        ("/relative/path?sig=abc", "/relative/path?sig=***"),
    ],
)
def test_redact_url_drops_credentials_and_masks_query_values(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_replaces_every_occurrence_of_each_secret() -> None:
    text = "token abc123 failed; retry with abc123 and hunter22"
    assert redact(text, ["abc123", "hunter22"]) == "token *** failed; retry with *** and ***"


def test_redact_masks_a_longer_secret_whole_even_when_it_contains_a_shorter_one() -> None:
    assert redact("key=abcdef", ["abc", "abcdef"]) == "key=***"


def test_redact_masks_whsec_values_it_was_not_told_about() -> None:
    assert redact("echo: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw.", []) == "echo: ***."


def test_redact_masks_credentials_in_any_url_inside_text() -> None:
    text = "POST https://alice:pa55@hooks.example.org/x failed"
    assert redact(text, []) == "POST https://***@hooks.example.org/x failed"


def test_redact_ignores_empty_and_missing_secrets() -> None:
    assert redact("nothing secret here", ["", None]) == "nothing secret here"


def test_redact_url_can_mask_a_path_that_is_itself_a_token() -> None:
    url = "https://hooks.example.org/services/T0/B0/XXXX?x=1"
    assert redact_url(url, keep_path=False) == "https://hooks.example.org/***?x=***"
    assert redact_url("https://h/", keep_path=False) == "https://h/"
