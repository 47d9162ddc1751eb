"""Text input from outside (domain files, facts files, news files and feeds), read one line at a
time so memory is bounded by the longest line accepted, never by the size of the input.

A line longer than ``MAX_LINE_BYTES`` or not valid UTF-8 comes back as a ``Line`` with an
``error`` and its number, so the caller rejects that line and keeps the others. A NUL byte means
the input is not text at all (text files never hold one; binary files nearly always do in their
first few kilobytes, which are looked at first, as git does): reading stops with ``InputError``,
as it does when the file cannot be opened or read."""

from __future__ import annotations

import codecs
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from streams.errors import DomainRunnerError

# Far above the longest valid line of any input format (a news item with a 5,000-character
# summary in 4-byte characters is about 25 KB), so only a line that cannot be valid is refused.
MAX_LINE_BYTES = 64 * 1024
_SKIP_CHUNK = 64 * 1024
_BINARY_PROBE = 8000  # bytes looked at for a NUL before the first line


class InputError(DomainRunnerError, ValueError):
    """Input that cannot be read at all; the message names it, and the line where there is one."""


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # 1-based
    text: str  # without its line break; "" when ``error`` is set
    error: str | None = None  # why the line could not be read


@contextmanager
def open_input(name: str) -> Iterator[BinaryIO]:
    """The file called ``name`` (``-``: standard input) for reading bytes."""
    if name == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = open(name, "rb")
    except OSError as exc:
        raise InputError(f"{name}: {exc.strerror or exc}") from None
    with handle:
        yield handle


def read_lines(handle: BinaryIO, name: str, *,
               max_bytes: int = MAX_LINE_BYTES) -> Iterator[Line]:
    """Every line of ``handle`` as UTF-8 text (a leading byte-order mark dropped), split on
    ``\\n`` with an optional ``\\r`` before it; ``name`` is for messages."""
    _refuse_binary(_probe(handle, name), name, 1)
    number = 0
    while True:
        raw = _read(handle, name, max_bytes + 1)
        if not raw:
            return
        number += 1
        too_long = len(raw) > max_bytes and not raw.endswith(b"\n")
        _refuse_binary(raw, name, number)
        if too_long:
            _skip_rest_of_line(handle, name, number)
            yield Line(number, "", f"longer than {max_bytes} bytes (the limit per line)")
            continue
        raw = raw.removesuffix(b"\n").removesuffix(b"\r")
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            yield Line(number, raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            yield Line(number, "", f"not UTF-8 (byte 0x{raw[exc.start]:02x} at byte "
                                   f"{exc.start + 1} of the line)")


def _read(handle: BinaryIO, name: str, size: int) -> bytes:
    try:
        return handle.readline(size)
    except OSError as exc:
        raise InputError(f"{name}: {exc.strerror or exc}") from None


def _probe(handle: BinaryIO, name: str) -> bytes:
    """The first bytes of ``handle``, left unread; nothing when it can neither seek nor peek."""
    try:
        if handle.seekable():
            start = handle.tell()
            probe = handle.read(_BINARY_PROBE)
            handle.seek(start)
            return probe
        peek = getattr(handle, "peek", None)  # standard input
        return peek(_BINARY_PROBE)[:_BINARY_PROBE] if peek else b""
    except OSError as exc:
        raise InputError(f"{name}: {exc.strerror or exc}") from None


def _refuse_binary(raw: bytes, name: str, first_line: int) -> None:
    """``raw`` starts at line ``first_line``; the message names the line of its first NUL."""
    if (at := raw.find(b"\0")) >= 0:
        line = first_line + raw.count(b"\n", 0, at)
        raise InputError(f"{name}:{line}: a NUL byte, so not a text file")


def _skip_rest_of_line(handle: BinaryIO, name: str, number: int) -> None:
    """Read past the rest of an over-long line a chunk at a time, keeping none of it."""
    while chunk := _read(handle, name, _SKIP_CHUNK):
        _refuse_binary(chunk, name, number)
        if chunk.endswith(b"\n"):
            return

