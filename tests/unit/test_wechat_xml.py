"""XML codec: WeChat samples, hostile documents that must fail unexpanded, and round trips."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.wechat import xmlcodec

TEXT_SAMPLE = b"""<xml><ToUserName><![CDATA[toUser]]></ToUserName>
<FromUserName><![CDATA[fromUser]]></FromUserName>
<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[this is a test]]></Content><MsgId>1234567890123456</MsgId></xml>"""

MASS_SAMPLE = b"""<xml><ToUserName><![CDATA[gh_4d00ed8d6399]]></ToUserName>
<FromUserName><![CDATA[oV5CrjpxgaGXNHIQigzNlgLTnwic]]></FromUserName>
<CreateTime>1481013459</CreateTime><MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>1000001625</MsgID>
<Status><![CDATA[send success]]></Status><TotalCount>2</TotalCount>
<CopyrightCheckResult><Count>0</Count><ResultList></ResultList><CheckState>1</CheckState></CopyrightCheckResult>
<ArticleUrlResult><Count>1</Count><ResultList><item><ArticleIdx>1</ArticleIdx>
<ArticleUrl><![CDATA[http://mp.weixin.qq.com/s/YIpdZXAJnouoMDBfHxQG1A]]></ArticleUrl></item></ResultList></ArticleUrlResult></xml>"""


def test_parse_text_sample() -> None:
    assert xmlcodec.parse(TEXT_SAMPLE) == {
        "ToUserName": "toUser",
        "FromUserName": "fromUser",
        "CreateTime": "1348831860",
        "MsgType": "text",
        "Content": "this is a test",
        "MsgId": "1234567890123456",
    }


def test_parse_serializes_nested_elements() -> None:
    fields = xmlcodec.parse(MASS_SAMPLE)
    assert fields["MsgID"] == "1000001625"
    assert fields["Status"] == "send success"
    assert fields["CopyrightCheckResult"] == (
        "<CopyrightCheckResult><Count>0</Count><ResultList/><CheckState>1</CheckState>"
        "</CopyrightCheckResult>"
    )
    nested = fields["ArticleUrlResult"]
    assert nested.startswith("<ArticleUrlResult><Count>1</Count><ResultList><item>")
    assert "<ArticleUrl>http://mp.weixin.qq.com/s/YIpdZXAJnouoMDBfHxQG1A</ArticleUrl>" in nested


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<xml>\n  <A>\n   x \n  </A>\n</xml>", {"A": "x"}),
        (b"<xml><A><![CDATA[  \xe4\xbd\xa0\xe5\xa5\xbd\t]]></A></xml>", {"A": "\u4f60\u597d"}),
        ("<xml><A>\u3000x\u00a0</A></xml>".encode(), {"A": "\u3000x\u00a0"}),  # not XML space
        (b"<xml><A/><B></B></xml>", {"A": "", "B": ""}),
        (b"<xml><A>a<!-- c -->b</A><!-- c --><?pi x?></xml>", {"A": "ab"}),
        (b"<xml><A>&lt;&amp;&gt;&#x4F60;</A></xml>", {"A": "<&>\u4f60"}),
        (b'<?xml version="1.0" encoding="utf-8"?><xml><A>x</A></xml>', {"A": "x"}),
        (b"\xef\xbb\xbf<xml><A>x</A></xml>", {"A": "x"}),  # UTF-8 BOM
        (b"<xml/>", {}),
    ],
)
def test_parse_accepts(body: bytes, expected: dict[str, str]) -> None:
    assert xmlcodec.parse(body) == expected


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><Content>&lol9;</Content></xml>"""

HOSTILE = {
    "billion laughs": LAUGHS,
    "external entity": b'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<xml><Content>&xxe;</Content></xml>",
    "external entity over http": b'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/x">]>'
    b"<xml><Content>&xxe;</Content></xml>",
    "parameter entity": b'<!DOCTYPE xml [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
    b"<xml><Content>x</Content></xml>",
    "parameter entity defining an entity": b"<!DOCTYPE xml [<!ENTITY % d \"<!ENTITY e 'x'>\"> %d;]>"
    b"<xml><Content>&e;</Content></xml>",
    "internal entity": b'<!DOCTYPE xml [<!ENTITY e "x">]><xml><Content>&e;</Content></xml>',
    "doctype without entities": b"<!DOCTYPE xml><xml><Content>x</Content></xml>",
    "doctype with empty subset": b"<!DOCTYPE xml []><xml><Content>x</Content></xml>",
    "external dtd": b'<!DOCTYPE xml SYSTEM "file:///etc/passwd"><xml><Content>x</Content></xml>',
    "public dtd": b'<!DOCTYPE xml PUBLIC "-//X//X" "http://127.0.0.1:9/x.dtd"><xml/>',
    "undefined entity": b"<xml><Content>&xxe;</Content></xml>",
    "wrong root": b"<root><Content>x</Content></root>",
    "namespaced root": b'<xml xmlns="urn:x"><Content>x</Content></xml>',
    "two roots": b"<xml/><xml/>",
    "truncated": TEXT_SAMPLE[:-10],
    "unclosed cdata": b"<xml><A><![CDATA[x</A></xml>",
    "empty": b"",
    "whitespace only": b" \n ",
    "plain text": b"success",
    "json": b'{"ToUserName": "x"}',
    "non-UTF-8 bytes": b"<xml><Content>\xff\xfe\xc3</Content></xml>",
    "GBK declared and encoded": '<?xml version="1.0" encoding="GBK"?><xml><A>你好</A></xml>'.encode(
        "gbk"
    ),
    "UTF-16": "<xml><A>x</A></xml>".encode("utf-16"),
    "NUL character reference": b"<xml><A>&#0;</A></xml>",
    "control character": b"<xml><A>\x01</A></xml>",
    "deep nesting": b"<xml>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</xml>",
    "moderate nesting": b"<xml>" + b"<a>" * 20 + b"</a>" * 20 + b"</xml>",
    "duplicate field": b"<xml><MsgId>1</MsgId><MsgId>2</MsgId></xml>",
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_parse_rejects_hostile_or_malformed_bodies(body: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(xmlcodec.XmlError) as info:
        xmlcodec.parse(body)
    assert time.perf_counter() - started < 1.0  # nothing was expanded or fetched
    message = str(info.value)
    assert "root:" not in message and "lol" not in message and "\u4f60" not in message


def test_xinclude_is_inert() -> None:
    body = (
        b'<xml xmlns:xi="http://www.w3.org/2001/XInclude">'
        b'<xi:include href="file:///etc/passwd" parse="text"/></xml>'
    )
    assert xmlcodec.parse(body) == {"{http://www.w3.org/2001/XInclude}include": ""}


def test_parse_error_does_not_quote_the_body() -> None:
    with pytest.raises(xmlcodec.XmlError) as info:
        xmlcodec.parse(b"<xml><Content>secret&nosuchentity;</Content></xml>")
    assert "secret" not in str(info.value) and "nosuchentity" not in str(info.value)


def test_xml_error_is_a_value_error() -> None:
    assert issubclass(xmlcodec.XmlError, ValueError)


def test_build_text_reply() -> None:
    built = xmlcodec.build(
        {
            "ToUserName": "toUser",
            "FromUserName": "fromUser",
            "CreateTime": 12345678,
            "MsgType": "text",
            "Content": "你好",
        }
    )
    assert built == (
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName>"
        "<FromUserName><![CDATA[fromUser]]></FromUserName>"
        "<CreateTime>12345678</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[你好]]></Content></xml>"
    )


@pytest.mark.parametrize(
    ("text", "cdata"),
    [
        ("a]]>b", "<![CDATA[a]]]]><![CDATA[>b]]>"),
        ("]]>", "<![CDATA[]]]]><![CDATA[>]]>"),
        ("]]]>>", "<![CDATA[]]]]]><![CDATA[>>]]>"),
        ("a\rb", "<![CDATA[a]]>&#13;<![CDATA[b]]>"),
        ("", "<![CDATA[]]>"),
    ],
)
def test_build_splits_cdata_where_needed(text: str, cdata: str) -> None:
    built = xmlcodec.build({"A": text})
    assert built == f"<xml><A>{cdata}</A></xml>"
    assert xmlcodec.parse(built.encode()) == {"A": text}


def test_build_nests_mappings_and_lists_of_items() -> None:
    built = xmlcodec.build(
        {
            "MsgType": "news",
            "ArticleCount": 2,
            "Articles": [{"Title": "a"}, {"Title": "b"}],
            "Image": {"MediaId": "m"},
        }
    )
    assert built == (
        "<xml><MsgType><![CDATA[news]]></MsgType><ArticleCount>2</ArticleCount>"
        "<Articles><item><Title><![CDATA[a]]></Title></item>"
        "<item><Title><![CDATA[b]]></Title></item></Articles>"
        "<Image><MediaId><![CDATA[m]]></MediaId></Image></xml>"
    )
    assert xmlcodec.parse(built.encode())["Image"] == "<Image><MediaId>m</MediaId></Image>"


@pytest.mark.parametrize(
    "fields",
    [
        {"A": "\x00"},
        {"A": "\x1b"},
        {"A": "\ufffe"},
        {"A": "\ud800"},
        {"": "x"},
        {"1A": "x"},
        {"a b": "x"},
        {"a:b": "x"},
        {"<A>": "x"},
        {"A": True},
        {"A": {"B": "\x00"}},
    ],
)
def test_build_rejects_what_xml_cannot_carry(fields: dict[str, xmlcodec.Field]) -> None:
    with pytest.raises(xmlcodec.XmlError):
        xmlcodec.build(fields)


SETTINGS = settings(max_examples=250, deadline=None)
XML_CHAR = st.sampled_from("\t\n\r") | st.characters(
    min_codepoint=0x20, exclude_categories=["Cs"], exclude_characters="\ufffe\uffff"
)
XML_TEXT = st.lists(
    XML_CHAR | st.sampled_from(["]]>", "]]", "<![CDATA[", "&amp;", " ", "\r\n"]), max_size=30
).map("".join)
NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,11}", fullmatch=True)


def _parse_or_xml_error(body: bytes) -> None:
    try:
        xmlcodec.parse(body)
    except xmlcodec.XmlError:
        pass


@SETTINGS
@given(st.binary(max_size=512))
def test_parse_of_arbitrary_bytes_raises_only_xml_error(body: bytes) -> None:
    _parse_or_xml_error(body)


@SETTINGS
@given(st.text(max_size=512))
def test_parse_of_arbitrary_text_raises_only_xml_error(text: str) -> None:
    _parse_or_xml_error(text.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(
    st.lists(
        st.sampled_from(
            [
                "<xml>",
                "</xml>",
                "<A>",
                "</A>",
                "<B/>",
                "<![CDATA[",
                "]]>",
                "&amp;",
                "&x;",
                "<!DOCTYPE xml>",
                "<!--",
                "-->",
                "x",
                " ",
            ]
        )
    )
)
def test_parse_of_xml_like_text_raises_only_xml_error(tokens: list[str]) -> None:
    _parse_or_xml_error("".join(tokens).encode())


@SETTINGS
@given(st.dictionaries(NAME, XML_TEXT | st.integers(-(2**63), 2**64), max_size=8))
def test_build_then_parse_round_trips(fields: dict[str, str | int]) -> None:
    parsed = xmlcodec.parse(xmlcodec.build(fields).encode("utf-8"))
    expected = {
        key: value.strip(" \t\r\n") if isinstance(value, str) else str(value)
        for key, value in fields.items()
    }
    assert parsed == expected
