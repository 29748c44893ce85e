import pytest

from tracker.redact import Redactor, authorization_secrets, redact, redact_url


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


SECRET = "p@ss/w rd:1é"


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        "p%40ss%2Fw%20rd%3A1%C3%A9",  # quote(secret, safe="")
        "p%40ss%2fw%20rd%3a1%c3%a9",  # the same, lower-case hex
        "p%40ss%2Fw+rd%3A1%C3%A9",  # quote_plus
        "cEBzcy93IHJkOjHDqQ==",  # base64
        "cEBzcy93IHJkOjHDqQ",  # base64 without padding
        "p@ss\\/w rd:1\\u00e9",  # JSON-escaped, "/" escaped too
    ],
)
def test_a_secret_is_masked_in_every_form_a_receiver_may_echo(form: str) -> None:
    assert Redactor([SECRET])(f"got [{form}] back") == "got [***] back"


@pytest.mark.parametrize(
    ("form", "what"),
    [
        ("dXNlcjp1cmxwYXNzMTIz", "HTTP Basic: base64 of user:password"),
        ("AHVzZXIAdXJscGFzczEyMw==", "SMTP AUTH PLAIN: base64 of \\0user\\0password"),
        ("user:urlpass123", "user:password"),
        ("dXJscGFzczEyMw==", "base64 of the password"),
    ],
)
def test_credentials_are_masked_as_basic_and_plain_auth_send_them(form: str, what: str) -> None:
    redactor = Redactor(credentials=[("user", "urlpass123")])
    assert redactor(f"echo {form} end") == "echo *** end", what


def test_an_authorization_header_yields_its_value_its_token_and_a_basic_password() -> None:
    assert authorization_secrets("Basic dXNlcjp1cmxwYXNzMTIz") == [
        "Basic dXNlcjp1cmxwYXNzMTIz",
        "dXNlcjp1cmxwYXNzMTIz",
        "user:urlpass123",
        "urlpass123",
    ]
    assert authorization_secrets("Bearer abc.def") == ["Bearer abc.def", "abc.def"]
    assert authorization_secrets("token-without-scheme") == ["token-without-scheme"]
