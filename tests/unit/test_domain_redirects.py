"""OAuth redirect targets: refused before parsing, matched on host and port, built."""

from __future__ import annotations

import pytest

from gateway.domain import redirects

HOSTS = ["shop.example.com", "app.example.com:8443", "api.example.com:443"]


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        ("https://shop.example.com/x?a=1", True),
        ("HTTPS://Shop.Example.com/x", True),
        ("http://shop.example.com/", True),
        ("https://shop.example.com:443/", True),
        ("https://shop.example.com:8443/", False),
        ("http://shop.example.com:443/", False),
        ("https://app.example.com:8443/", True),
        ("https://app.example.com/", False),
        ("http://app.example.com:8443/", True),
        ("https://api.example.com/", True),
        ("http://api.example.com/", False),
        ("https://shop.example.com.evil.org/", False),
        ("https://evil.org/?shop.example.com", False),
        ("https://evil.org\\@shop.example.com/", False),
        ("https://user@shop.example.com/", False),
        ("https://shop.example.com@evil.org/", False),
        ("//shop.example.com/", False),
        ("javascript://shop.example.com/%0aalert(1)", False),
        ("https://shop.example.com:0x1bb/", False),
        ("", False),
    ],
)
def test_allowed(target: str, allowed: bool) -> None:
    assert redirects.allowed(target, HOSTS) is allowed


@pytest.mark.parametrize(
    "target",
    [
        "https://a.example\\b/",
        "\x00https://a.example/",
        "https://a.example/\r\nSet-Cookie: x=1",
        "https://a.example/\t",
        "https://a.example/\x9b",
        " https://a.example/",
        "data:text/html,<script>",
        "https:a.example",
        "https://:443/",
        "https://a.example:65536/",
    ],
)
def test_refused_before_it_is_interpreted(target: str) -> None:
    with pytest.raises(redirects.BadTarget):
        redirects.parse(target)


def test_landing_keeps_the_target_query_first() -> None:
    built = redirects.landing("https://a.example/p?x=1#frag", {"openid": "o", "issued_at": 5})
    assert built == "https://a.example/p?x=1&openid=o&issued_at=5#frag"
    assert redirects.landing("https://a.example", {"k": "a b"}) == "https://a.example?k=a+b"
    assert redirects.host("https://A.example:8443/") == "a.example"
