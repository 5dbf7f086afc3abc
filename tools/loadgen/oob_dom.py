"""A tiny DOM (stdlib html.parser) that applies fragments with htmx 4's out-of-band rules.

Tests and the soak use it to check what a page would show, not only which strings were sent.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

VOID = {"br", "hr", "img", "input", "meta", "link"}


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[Element | str] = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> Any:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.walk()

    def html(self) -> str:
        attrs = "".join(f' {k}="{v}"' if v is not None else f" {k}" for k, v in sorted(self.attrs.items()))
        inner = "".join(c if isinstance(c, str) else c.html() for c in self.children)
        return f"<{self.tag}{attrs}>{inner}</{self.tag}>"


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.top = Element("#fragment", {})
        self.stack = [self.top]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(html: str) -> list[Element | str]:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    assert len(builder.stack) == 1, "unclosed element"
    return builder.top.children


class Page:
    """The chat page: one mount element; fragments are applied the way htmx 4 swaps them OOB."""

    def __init__(self, *root_ids: str, html: str = "") -> None:
        self.body = Element("body", {})
        self.body.children.extend(Element("div", {"id": root_id}) for root_id in root_ids)
        if html:
            self.body.children.extend(parse_html(html))

    def find(self, id_: str) -> tuple[Element, Element] | None:
        for parent in self.body.walk():
            for child in parent.children:
                if isinstance(child, Element) and child.attrs.get("id") == id_:
                    return parent, child
        return None

    def apply(self, fragment: str, *, single: bool = True) -> None:
        """Apply one fragment (`single`) or a frame of several top-level OOB elements."""
        nodes = parse_html(fragment)
        if single:
            assert len(nodes) == 1 and isinstance(nodes[0], Element), f"one element per fragment: {fragment}"
        for node in nodes:
            assert isinstance(node, Element), f"text outside an element: {node!r}"
            self._swap(node, fragment)

    def apply_frame(self, frame: str) -> None:
        self.apply(frame, single=False)

    def _swap(self, top: Element, fragment: str) -> None:
        swap = top.attrs.pop("hx-swap-oob") or ""
        swap, _, selector = swap.partition(":")
        if selector and swap not in ("freeze",):
            parent, target = None, self._select(selector, fragment)
        else:
            found = self.find(top.attrs["id"] or "")
            assert found is not None, f"fragment aimed at a missing id: {fragment}"
            parent, target = found
        if swap == "freeze":  # streamui.wire's `z` (tools.loadgen.wire_reader): the tail's first N elements move
            tail = self.find((top.attrs["id"] or "").removesuffix("-blocks") + "-tail")
            assert tail is not None, f"a freeze of a missing tail: {fragment}"
            moved, count, nodes = 0, int(selector), tail[1].children
            while nodes and not (isinstance(nodes[0], Element) and moved == count):
                moved += isinstance(nodes[0], Element)
                target.children.append(nodes.pop(0))
            return
        if swap == "figures":  # streamui.wire's `f`: the changed figures' values
            values = {c.attrs.get("data-figure"): c.text() for c in top.children if isinstance(c, Element)}
            for el in target.walk():
                if el.tag == "dd" and el.attrs.get("data-figure") in values:
                    el.children = [values[el.attrs["data-figure"]]]
            return
        if swap == "beforeend":
            target.children.extend(top.children)
        elif swap == "innerHTML":
            target.children = list(top.children)
        elif swap == "outerHTML" and parent is not None:
            parent.children[parent.children.index(target)] = top
        else:
            raise AssertionError(f"unexpected swap {swap}")
        ids = [e.attrs["id"] for e in self.body.walk() if "id" in e.attrs]
        assert len(ids) == len(set(ids)), "duplicate ids on the page"

    def _select(self, selector: str, fragment: str) -> Element:
        """The one selector form the server sends: `#id > tag:last-child > ...` (the last element child,
        of that tag, or of any tag for `*`)."""
        first, *steps = selector.split(" > ")
        found = self.find(first.removeprefix("#"))
        assert first.startswith("#") and found is not None, f"fragment aimed at a missing id: {fragment}"
        target = found[1]
        for step in steps:
            tag, _, pseudo = step.partition(":")
            elements = [c for c in target.children if isinstance(c, Element)]
            assert pseudo == "last-child" and elements and tag in (elements[-1].tag, "*"), (
                f"{selector} matches nothing: {fragment}")
            target = elements[-1]
        return target

    def apply_all(self, fragments: list[str]) -> Page:
        for fragment in fragments:
            self.apply(fragment)
        return self

    def text_of(self, id_: str) -> str | None:
        found = self.find(id_)
        return found[1].text() if found else None
