"""Model text can never inject markup or script through the markdown renderer.

Every payload in xss_payloads.txt is rendered through MarkdownStream in several
markdown contexts, fed whole and in small pieces; every HTML update along the way
(not only the final one) is parsed and checked against a whitelist.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from streamui.pipeline.commit import Revision, Struck
from streamui.pipeline.markdown import FrozenBlock, MarkdownStream, safe_url

_ESCAPE = re.compile(r"\\(n|t|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")


def _decode(line: str) -> str:
    def sub(m: re.Match[str]) -> str:
        code = m.group(1)
        return {"n": "\n", "t": "\t"}.get(code) or chr(int(code[1:], 16))

    return _ESCAPE.sub(sub, line)


PAYLOADS = [
    _decode(line)
    for line in (Path(__file__).parent / "xss_payloads.txt").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("# ")
]

CONTEXTS = {
    "prose": "Here: {} and more text.",
    "alone": "{}",
    "inline-code": "Run `{}` now.",
    "fence": "```\n{}\n```",
    "link-text": "[{}](https://example.com)",
    "link-url": "[click]({})",
    "list": "- first\n- {}\n- last",
    "table": "| a | b |\n|---|---|\n| {} | x |",
    "quote": "> {}",
    "heading": "## {}",
    "emphasis": "**{}**",
}

ALLOWED_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code",
    "em", "strong", "del", "s", "a", "hr", "br", "table", "thead", "tbody", "tr", "th", "td",
    "span", "button",
}  # fmt: skip
ALLOWED_ATTRS = {"href", "rel", "class", "title", "start", "style", "type", "aria-expanded", "hidden"}
ALLOWED_STYLES = {"text-align:left", "text-align:right", "text-align:center"}
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or name not in ALLOWED_ATTRS:
                self.problems.append(f"attribute {name}={value!r} on <{tag}>")
            if name == "style" and value not in ALLOWED_STYLES:
                self.problems.append(f"style {value!r}")
            if name in ("href", "src"):
                url = _CONTROL.sub("", html.unescape(value)).lower()
                if url.startswith(("javascript:", "vbscript:", "data:", "file:")) or not safe_url(value):
                    self.problems.append(f"{name}={value!r}")

    handle_startendtag = handle_starttag


def problems_in(fragment: str) -> list[str]:
    checker = _Checker()
    checker.feed(fragment)
    checker.close()
    if re.search(r"<\s*script", fragment, re.IGNORECASE):
        checker.problems.append("raw <script")
    return checker.problems


def render_updates(text: str, step: int) -> list[str]:
    """Every HTML fragment the stream emits for `text` fed `step` characters at a time."""
    md = MarkdownStream()
    fragments: list[str] = []
    for i in range(0, len(text), step):
        fragments.extend(u.html for u in md.append(text[i : i + step]))
    fragments.extend(u.html for u in md.finish())
    return fragments


def test_the_corpus_is_big_enough() -> None:
    assert len(PAYLOADS) >= 40


@pytest.mark.parametrize("context", CONTEXTS)
def test_payloads_fed_whole(context: str) -> None:
    failures = {}
    for payload in PAYLOADS:
        text = CONTEXTS[context].format(payload)
        found = [p for fragment in render_updates(text, len(text)) for p in problems_in(fragment)]
        if found:
            failures[payload] = found
    assert not failures


@pytest.mark.parametrize("context", ["prose", "fence", "link-url", "table", "list"])
def test_payloads_streamed(context: str) -> None:
    failures = {}
    for payload in PAYLOADS:
        text = CONTEXTS[context].format(payload)
        step = 1 if context == "prose" else 3
        found = [p for fragment in render_updates(text, step) for p in problems_in(fragment)]
        if found:
            failures[payload] = found
    assert not failures


def test_payloads_in_correction_marks() -> None:
    for payload in PAYLOADS:
        md = MarkdownStream()
        updates = md.append("Before. ")
        updates += md.append_mark(Struck(payload, 8))
        updates += md.append_mark(Revision(payload, "Actually,", 8))
        updates += md.append(" after.")
        updates += md.finish()
        for update in updates:
            assert not problems_in(update.html), payload


def test_a_forged_mark_character_renders_nothing() -> None:
    md = MarkdownStream()
    md.append_mark(Struck("<b>real</b> struck", 0))
    updates = md.append("\U000f0000 forged")
    updates += md.finish()
    final = "".join(u.html for u in updates if isinstance(u, FrozenBlock))
    assert final.count("streamui-struck") == 1
    assert "&lt;b&gt;real&lt;/b&gt;" in final


def test_the_checker_catches_what_it_should() -> None:
    assert problems_in('<p><a href="javascript:alert(1)">x</a></p>')
    assert problems_in('<p><a href="&#106;avascript:alert(1)">x</a></p>')
    assert problems_in('<p><a href=" java\tscript:alert(1)">x</a></p>')
    assert problems_in('<img src="x" onerror="alert(1)">')
    assert problems_in("<svg></svg>")
    assert problems_in('<p style="background:url(x)">x</p>')
    assert not problems_in('<p><a href="https://example.com" rel="nofollow noopener noreferrer">x</a></p>')


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/a?b#c", True),
        ("http://example.com", True),
        ("mailto:a@example.com", True),
        ("/relative/path", True),
        ("relative:path/x", False),
        ("#anchor", True),
        ("//example.com/x", True),
        ("javascript:alert(1)", False),
        ("JAVASCRIPT:alert(1)", False),
        ("java%0Ascript:alert(1)", False),
        ("%6Aavascript:alert(1)", False),
        ("vbscript:x", False),
        ("data:image/png;base64,AAAA", False),
        ("&#106;avascript:alert(1)", False),
        (" \x01javascript:alert(1)", False),
        ("ftp://example.com", False),
    ],
)
def test_safe_url(url: str, ok: bool) -> None:
    assert safe_url(url) is ok


def test_images_only_when_allowed() -> None:
    text = "![alt](https://example.com/a.png)"
    md = MarkdownStream()
    html_out = "".join(u.html for u in md.append(text) + md.finish() if isinstance(u, FrozenBlock))
    assert "<img" not in html_out
    md = MarkdownStream(allow_images=True)
    html_out = "".join(u.html for u in md.append(text) + md.finish() if isinstance(u, FrozenBlock))
    assert '<img src="https://example.com/a.png" alt="alt"' in html_out
    md = MarkdownStream(allow_images=True)
    bad = "![alt](javascript:alert(1))"
    for update in md.append(bad) + md.finish():
        assert not problems_in(update.html) and "<img" not in update.html
