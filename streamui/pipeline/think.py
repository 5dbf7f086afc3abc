"""Split `<think>...</think>` spans out of answer text, whatever the chunking.

Some models (DeepSeek-R1, Qwen3, distillations served without a reasoning parser)
put their reasoning inside the content, between `<think>` and `</think>`. The
splitter routes the inside to reasoning and the rest to the answer, so reasoning
never mixes into the answer and the tags are never shown.

Rules, in the order they matter:
- A tag may be split across chunks ("<thi" + "nk>"): a trailing piece of text that
  could still become a tag is held back until the next chunk decides (at most
  len("</think>") - 1 characters; the hold is not time-bounded, the next chunk
  always decides, and `flush` releases it).
- The opening tag counts only at a line start (nothing but spaces or tabs before it
  on its line). Models open reasoning at the start of the content; a `<think>`
  mid-line is far more likely an answer talking *about* the tag ("the `<think>` tag").
- Inside reasoning, the closing tag counts anywhere. An unterminated span at the end
  of the stream stays reasoning.
- A stray closing tag in answer text is dropped. With `start_in_think=True` (chat
  templates that pre-fill `<think>` in the prompt, so the content starts inside the
  reasoning and only `</think>` appears) the content starts as reasoning.
- Line breaks right after `</think>` are dropped: they separate reasoning from the
  answer, they are not part of the answer.
"""

from __future__ import annotations

from typing import Literal

Channel = Literal["answer", "reasoning"]
Segment = tuple[Channel, str]

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


class ThinkSplitter:
    def __init__(
        self, open_tag: str = OPEN_TAG, close_tag: str = CLOSE_TAG, *, start_in_think: bool = False
    ) -> None:
        if not open_tag or not close_tag:
            raise ValueError("think tags must not be empty")
        self.open_tag = open_tag
        self.close_tag = close_tag
        self.in_think = start_in_think
        self._pending = ""
        self._line_blank = True  # the answer's current line holds nothing but spaces/tabs
        self._after_close = False  # drop line breaks until the answer proper starts

    def feed(self, text: str) -> list[Segment]:
        """Split `text`; returns the decided segments in order (never empty strings)."""
        out: list[Segment] = []
        buf = self._pending + text
        self._pending = ""
        while buf:
            if self.in_think:
                buf = self._consume_think(buf, out)
            else:
                buf = self._consume_answer(buf, out)
        return _merge(out)

    def flush(self) -> list[Segment]:
        """The stream ended: release what was held back as a possible tag."""
        buf, self._pending = self._pending, ""
        out: list[Segment] = []
        if buf:
            self._emit("reasoning" if self.in_think else "answer", buf, out)
        return out

    def _consume_think(self, buf: str, out: list[Segment]) -> str:
        if self.close_tag[0] not in buf:  # no tag, nor the start of one: all of it is reasoning
            self._emit("reasoning", buf, out)
            return ""
        end = buf.find(self.close_tag)
        if end >= 0:
            self._emit("reasoning", buf[:end], out)
            self.in_think = False
            self._after_close = True
            return buf[end + len(self.close_tag) :]
        keep = _partial_suffix(buf, (self.close_tag,))
        self._emit("reasoning", buf[: len(buf) - keep], out)
        self._pending = buf[len(buf) - keep :]
        return ""

    def _consume_answer(self, buf: str, out: list[Segment]) -> str:
        if self.open_tag[0] not in buf and self.close_tag[0] not in buf:  # (almost every delta)
            self._emit("answer", buf, out)
            return ""
        opening = self._find_open(buf)
        closing = buf.find(self.close_tag)
        if closing >= 0 and (opening < 0 or closing < opening):
            self._emit("answer", buf[:closing], out)
            return buf[closing + len(self.close_tag) :]
        if opening >= 0:
            self._emit("answer", buf[:opening], out)
            self.in_think = True
            return buf[opening + len(self.open_tag) :]
        keep = _partial_suffix(buf, (self.close_tag,))
        if self._could_open_at(buf, len(buf) - _partial_suffix(buf, (self.open_tag,))):
            keep = max(keep, _partial_suffix(buf, (self.open_tag,)))
        self._emit("answer", buf[: len(buf) - keep], out)
        self._pending = buf[len(buf) - keep :]
        return ""

    def _find_open(self, buf: str) -> int:
        start = 0
        while (i := buf.find(self.open_tag, start)) >= 0:
            if self._could_open_at(buf, i):
                return i
            start = i + 1
        return -1

    def _could_open_at(self, buf: str, i: int) -> bool:
        """Is position `i` of `buf` at a line start (only blanks before it on its line)?"""
        line_start = buf.rfind("\n", 0, i)
        before = buf[line_start + 1 : i]
        if before.strip(" \t"):
            return False
        return line_start >= 0 or self._line_blank

    def _emit(self, channel: Channel, text: str, out: list[Segment]) -> None:
        if channel == "answer":
            if self._after_close:
                text = text.lstrip("\r\n")
                if not text:
                    return
                self._after_close = False
            if not text:
                return
            last_nl = text.rfind("\n")
            tail = text[last_nl + 1 :]
            self._line_blank = (last_nl >= 0 or self._line_blank) and not tail.strip(" \t")
        if text:
            out.append((channel, text))


def _partial_suffix(buf: str, tags: tuple[str, ...]) -> int:
    """Length of the longest suffix of `buf` that is a proper prefix of one of `tags`."""
    best = 0
    for tag in tags:
        for n in range(min(len(tag) - 1, len(buf)), best, -1):
            if buf.endswith(tag[:n]):
                best = n
                break
    return best


def _merge(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for channel, text in segments:
        if merged and merged[-1][0] == channel:
            merged[-1] = (channel, merged[-1][1] + text)
        else:
            merged.append((channel, text))
    return merged


__all__ = ["CLOSE_TAG", "OPEN_TAG", "Channel", "Segment", "ThinkSplitter"]
