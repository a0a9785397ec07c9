"""UTF-8 as the compiled passes read it: one code point at a time, straight from the bytes.

Every kernel that walks text (the tokenizer, the farm scorer's word rule and layout, its signals) decodes
with `decode_utf8`, so they agree on what a character is, including on invalid input.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dedup.jit import kernel

__all__ = ["decode_utf8"]


@kernel
def decode_utf8(buf: npt.NDArray[np.uint8], i: int, end: int) -> tuple[int, int]:
    """The code point at `buf[i]` and its length in bytes, reading no byte at or past `end` (invalid and
    truncated sequences read as U+FFFD, one byte each)."""
    b0 = buf[i]
    if b0 < 0x80:
        return int(b0), 1
    if b0 >= 0xF0 and i + 3 < end:
        return ((b0 & 0x07) << 18) | ((buf[i + 1] & 0x3F) << 12) | ((buf[i + 2] & 0x3F) << 6) | (buf[i + 3] & 0x3F), 4
    if b0 >= 0xE0 and i + 2 < end:
        return ((b0 & 0x0F) << 12) | ((buf[i + 1] & 0x3F) << 6) | (buf[i + 2] & 0x3F), 3
    if b0 >= 0xC0 and i + 1 < end:
        return ((b0 & 0x1F) << 6) | (buf[i + 1] & 0x3F), 2
    return 0xFFFD, 1
