"""The lines `realmtui batch` reads: bytes from stdin cut into numbered lines, each decoded on
its own, in bounded memory and linear time.

A line ends at LF, CRLF or a lone CR (old Mac files). A line longer than MAX_LINE bytes is not
kept: it is reported once and skipped to its end, so `batch < /dev/zero` runs in constant
memory. A line that is not UTF-8 is reported with the offending byte; the lines around it are
answered as usual. A UTF-8 byte-order mark at the start of the input is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

MAX_LINE = 64 * 1024  # bytes, without the line end
_CHUNK = 64 * 1024
_BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"[\r\n]")


@dataclass(frozen=True)
class InputLine:
    number: int  # 1-based
    text: str | None  # None when `error` says why the line cannot be read
    error: str | None = None


def _decoded(number: int, raw: bytes) -> InputLine:
    try:
        return InputLine(number, raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        return InputLine(
            number, None,
            f"line {number} is not UTF-8: byte 0x{raw[e.start]:02x} at column {e.start + 1}",
        )


def _too_long(number: int) -> InputLine:
    return InputLine(
        number, None,
        f"line {number} is longer than {MAX_LINE} bytes (the limit of a batch line): skipped",
    )


def read_lines(stream: BinaryIO) -> Iterator[InputLine]:
    """Yield each line as soon as its end has been read (a person may be typing)."""
    read = getattr(stream, "read1", stream.read)
    number = 0
    pending = bytearray()  # the current line so far, never more than MAX_LINE bytes
    overflow = False  # the current line passed MAX_LINE: drop bytes until its end
    after_cr = False  # the previous chunk ended in CR: a LF first in this one is its pair
    first = True
    while chunk := read(_CHUNK):
        if first:
            first = False
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM):]
        start = 0
        if after_cr and chunk.startswith(b"\n"):
            start = 1
        after_cr = False
        end = len(chunk)
        while start < end:
            m = _LINE_END.search(chunk, start)
            stop = m.start() if m else -1
            piece = chunk[start:end if stop < 0 else stop]
            if not overflow:
                if len(pending) + len(piece) > MAX_LINE:
                    overflow = True
                    pending.clear()
                else:
                    pending += piece
            if stop < 0:
                break  # the line goes on in the next chunk
            number += 1
            yield _too_long(number) if overflow else _decoded(number, bytes(pending))
            pending.clear()
            overflow = False
            start = stop + 1
            if chunk[stop] == 0x0D:  # CR: swallow the LF of a CRLF
                if start < end and chunk[start] == 0x0A:
                    start += 1
                elif start == end:
                    after_cr = True
    if pending or overflow:  # a last line without its line end
        number += 1
        yield _too_long(number) if overflow else _decoded(number, bytes(pending))
