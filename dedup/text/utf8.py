"""UTF-8 as the compiled passes read it: one code point at a time, straight from the bytes.

Every kernel that walks text (the tokenizer, the farm scorer's word rule and layout, its signals) decodes
with `decode_utf8`, so they agree on what a character is, including on invalid input.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dedup.jit import kernel

__all__ = ["byte_view", "decode_utf8"]

# What an empty text reads as: one NUL byte, read-only like every other text's bytes.
_EMPTY = np.frombuffer(b"\0", dtype=np.uint8)


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


def byte_view(data: bytes) -> npt.NDArray[np.uint8]:
    """`data` as the read-only byte array the kernels walk (one NUL byte for no data, so a kernel may index
    it): every caller hands kernels the same kind of array, and numba compiles each of them once."""
    return np.frombuffer(data, dtype=np.uint8) if data else _EMPTY
