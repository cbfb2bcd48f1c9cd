"""Telegram's HTML and MarkdownV2 parse modes and automatic entities, as the sandbox does them."""

from __future__ import annotations

import pytest

from sandbox.entities import (
    EntityParseError,
    find_auto_entities,
    format_text,
    parse_html,
    parse_markdown_legacy,
    parse_markdown_v2,
    utf16_len,
    utf16_slice,
)


def api(entities: list) -> list[dict]:
    return [e.to_api() for e in entities]


def test_utf16_counts_astral_characters_twice() -> None:
    assert utf16_len("a😀b") == 4
    assert utf16_slice("a😀b", 1, 2) == "😀"


def test_html_basic_tags_give_utf16_offsets() -> None:
    text, entities = parse_html("😀 <b>bold</b> <i>it</i> <a href='https://t.me/x'>link</a>")
    assert text == "😀 bold it link"
    assert api(entities) == [
        {"offset": 3, "length": 4, "type": "bold"},
        {"offset": 8, "length": 2, "type": "italic"},
        {"offset": 11, "length": 4, "type": "text_link", "url": "https://t.me/x"},
    ]


def test_html_character_references_are_decoded() -> None:
    text, entities = parse_html("a &lt;b&gt; &amp; &quot;q&quot; &#65;&#x42; &nbsp;")
    assert text == 'a <b> & "q" AB &nbsp;'
    assert entities == []


def test_html_pre_with_language_and_nesting() -> None:
    text, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert text == "x = 1"
    assert api(entities) == [{"offset": 0, "length": 5, "type": "pre", "language": "python"}]
    text, entities = parse_html("<b>a<i>b</i></b><tg-spoiler>s</tg-spoiler><u>u</u><s>s</s>")
    assert text == "abssu"[:2] + "sus"
    types = [e.type for e in entities]
    assert types == ["bold", "italic", "spoiler", "underline", "strikethrough"]


def test_html_text_mention_from_tg_user_link() -> None:
    _, entities = parse_html('<a href="tg://user?id=42">Ana</a>')
    assert api(entities) == [{"offset": 0, "length": 3, "type": "text_mention", "user": {"id": 42}}]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("a <b", "Unclosed start tag at byte offset 2"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("ñ <x>", 'Unsupported start tag "x" at byte offset 3'),
    ],
)
def test_html_errors_are_telegrams(source: str, message: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert str(caught.value) == message


def test_markdown_v2_entities() -> None:
    text, entities = parse_markdown_v2(
        "*bold* _it_ __under__ ~strike~ ||spoil|| `code` [link](https://example.com/a) 2\\.5"
    )
    assert text == "bold it under strike spoil code link 2.5"
    assert [e.type for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    assert entities[-1].extra == {"url": "https://example.com/a"}


def test_markdown_v2_pre_block_with_language() -> None:
    text, entities = parse_markdown_v2("```python\nprint(1)\n```")
    assert text == "print(1)\n"
    assert api(entities) == [{"offset": 0, "length": 9, "type": "pre", "language": "python"}]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("Pedido 2.5", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("a-b", "Character '-' is reserved and must be escaped with the preceding '\\'"),
        ("*bold", "Can't find end of Bold entity at byte offset 0"),
        ("x _it", "Can't find end of Italic entity at byte offset 2"),
        ("[a](http://x.com", "Can't find end of a URL at byte offset 4"),
        (">quote *b\nx", "Can't find end of Bold entity at byte offset 7"),
    ],
)
def test_markdown_v2_errors_are_telegrams(source: str, message: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_markdown_v2(source)
    assert str(caught.value) == message


def test_legacy_markdown() -> None:
    text, entities = parse_markdown_legacy("*b* _i_ `c` [l](http://x.com)")
    assert text == "b i c l"
    assert [e.type for e in entities] == ["bold", "italic", "code", "text_link"]
    with pytest.raises(EntityParseError, match="Can't find end of the entity starting at byte"):
        parse_markdown_legacy("*open")


def test_auto_entities_commands_mentions_hashtags_urls() -> None:
    text = "/pedido@pedidos_bot 2 pizzas #rapido @ana https://x.com/p?q=1. mail a@b.co $USD"
    found = [(e.type, utf16_slice(text, e.offset, e.length)) for e in find_auto_entities(text)]
    assert found == [
        ("bot_command", "/pedido@pedidos_bot"),
        ("hashtag", "#rapido"),
        ("mention", "@ana"),
        ("url", "https://x.com/p?q=1"),
        ("email", "a@b.co"),
        ("cashtag", "$USD"),
    ]


def test_auto_entities_skip_non_commands() -> None:
    assert find_auto_entities("a/b 1/2 http") == []
    assert [e.type for e in find_auto_entities("ver /estado P-1")] == ["bot_command"]


def test_format_text_trims_and_keeps_parsed_entities_first() -> None:
    text, entities = format_text("  <b>Hola</b> /ayuda \n", "HTML")
    assert text == "Hola /ayuda"
    assert api(entities) == [
        {"offset": 0, "length": 4, "type": "bold"},
        {"offset": 5, "length": 6, "type": "bot_command"},
    ]


def test_format_text_no_auto_entities_inside_code() -> None:
    _, entities = format_text("<code>/start</code> /help", "HTML")
    assert [(e.type, e.offset) for e in entities] == [("code", 0), ("bot_command", 7)]


def test_format_text_parse_mode_wins_over_explicit_entities() -> None:
    # telegram-bot-api's get_formatted_text reads `entities` only when no parse_mode is given.
    text, entities = format_text("<b>x</b>", "HTML", [{"type": "italic", "offset": 0, "length": 3}])
    assert text == "x"
    assert api(entities) == [{"offset": 0, "length": 1, "type": "bold"}]
    text, entities = format_text("<b>x</b>", None, [{"type": "italic", "offset": 0, "length": 3}])
    assert text == "<b>x</b>"
    assert api(entities) == [{"offset": 0, "length": 3, "type": "italic"}]
