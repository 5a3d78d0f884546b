"""JSON answers decoded a piece at a time, so that a long runs/search page (hundreds of KB)
does not hold the event loop for milliseconds."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

# runs/search answers are decoded one run at a time, letting the event loop run (keys,
# repaints) every YIELD_CHARS characters: one json.loads of a 500-run page (~750 KB,
# pretty-printed) holds the loop for several milliseconds, more on a busy machine.
YIELD_CHARS = 100_000

_DECODE = json.JSONDecoder().raw_decode
_SPACE = re.compile(r"[ \t\n\r]*")


def _skip(text: str, i: int) -> int:
    """The index of the first character at or after `i` that is not JSON whitespace."""
    match = _SPACE.match(text, i)
    return match.end() if match else i


async def loads_yielding(content: bytes, array: str, *, with_text: bool = False) -> Any:
    """json.loads(content), for a JSON object whose `array` member is a long array: its
    elements are decoded one at a time, with a pause for the event loop every YIELD_CHARS
    characters. Anything else than an object of that shape is one json.loads.
    `with_text`: each element of `array` comes as (its JSON text, its value) instead, the
    text None when the answer was not decoded piece by piece."""
    try:
        text = content.decode("utf-8")
        return await _decode_object(text, array, with_text)
    except ValueError:
        payload = json.loads(content)  # the same answer, or the same error, as ever
        if with_text and isinstance(payload, dict) and isinstance(payload.get(array), list):
            payload[array] = [(None, item) for item in payload[array]]
        return payload


async def _decode_object(text: str, array: str, with_text: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    i = _skip(text, 0)
    if text[i:i + 1] != "{":
        raise ValueError("not an object")
    i = _skip(text, i + 1)
    if text[i:i + 1] == "}":
        i += 1
    else:
        while True:
            key, i = _DECODE(text, i)
            if not isinstance(key, str):
                raise ValueError("object key is not a string")
            i = _skip(text, i)
            if text[i:i + 1] != ":":
                raise ValueError("expected ':'")
            i = _skip(text, i + 1)
            value: Any
            if key == array and text[i:i + 1] == "[":
                value, i = await _decode_array(text, i, with_text)
            else:
                value, i = _DECODE(text, i)
            out[key] = value
            i = _skip(text, i)
            if text[i:i + 1] == "}":
                i += 1
                break
            if text[i:i + 1] != ",":
                raise ValueError("expected ',' or '}'")
            i = _skip(text, i + 1)
    if _skip(text, i) != len(text):
        raise ValueError("extra data")
    return out


async def _decode_array(text: str, i: int, with_text: bool) -> tuple[list[Any], int]:
    """The array starting at text[i] ('['): (its elements, the index after its ']')."""
    items: list[Any] = []
    mark = i
    i = _skip(text, i + 1)
    if text[i:i + 1] == "]":
        return items, i + 1
    while True:
        start = i
        item, i = _DECODE(text, i)
        items.append((text[start:i], item) if with_text else item)
        if i - mark >= YIELD_CHARS:
            await asyncio.sleep(0)
            mark = i
        i = _skip(text, i)
        if text[i:i + 1] == "]":
            return items, i + 1
        if text[i:i + 1] != ",":
            raise ValueError("expected ',' or ']'")
        i = _skip(text, i + 1)


__all__ = ["YIELD_CHARS", "loads_yielding"]
