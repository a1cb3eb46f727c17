"""Exact token bytes of a Hugging Face tokenizer (byte-level BPE and SentencePiece ``▁``/``<0xNN>`` vocabularies)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

_BYTE_TOKEN = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


@lru_cache(maxsize=1)
def _byte_level_decoder() -> dict[str, int]:
    """GPT-2's printable-character alphabet for the 256 bytes, inverted."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(char): byte for byte, char in zip(printable, chars, strict=True)}


def token_bytes(tokenizer: Any, vocab_size: int | None = None) -> list[bytes]:
    """The bytes each token id stands for (special tokens: their text; ids without a token: empty)."""
    cache = getattr(tokenizer, "_f1_token_bytes", None)
    size = vocab_size or len(tokenizer)
    if cache is not None and len(cache) == size:
        return cache
    decoder = json.loads(tokenizer.backend_tokenizer.to_str()).get("decoder") or {}
    kinds = {decoder.get("type")} | {d.get("type") for d in decoder.get("decoders", [])}
    byte_level = "ByteLevel" in kinds
    special = set(tokenizer.all_special_ids) | {
        index for index, token in tokenizer.added_tokens_decoder.items() if token.special
    }
    pieces = tokenizer.convert_ids_to_tokens(list(range(min(size, len(tokenizer)))))
    table = _byte_level_decoder()
    out: list[bytes] = []
    for index, piece in enumerate(pieces):
        if piece is None:
            out.append(b"")
        elif index in special:
            out.append(piece.encode())
        elif byte_level:
            out.append(bytes(table[char] for char in piece) if all(c in table for c in piece) else piece.encode())
        elif match := _BYTE_TOKEN.match(piece):
            out.append(bytes([int(match.group(1), 16)]))
        else:
            out.append(piece.replace("\u2581", " ").encode())
    out += [b""] * (size - len(out))
    try:
        tokenizer._f1_token_bytes = out
    except AttributeError:  # pragma: no cover - tokenizers without a __dict__
        pass
    return out


def eos_ids(tokenizer: Any, extra: int | Sequence[int] | None = None) -> list[int]:
    """Token ids that end a generation: the tokenizer's EOS plus `extra` (a model's generation config EOS ids)."""
    ids: list[int] = []
    for value in (tokenizer.eos_token_id, extra):
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, int) and item not in ids:
                ids.append(item)
    return ids
