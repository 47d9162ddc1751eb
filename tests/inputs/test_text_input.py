"""Input files from outside: ``publish``, ``facts load`` and ``news ingest`` on a 10 MB line, a
Latin-1 file, a binary file, an empty file and a mix of good and bad lines. Each ends with one
line per problem naming the file (and the line) and a non-zero exit, never a traceback; good
lines are still accepted where the format allows; memory stays bounded by the longest line."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from producers.cli import read_source
from producers.news_feed import read_news
from streams.cli.main import main
from streams.inputs.text_input import MAX_LINE_BYTES, read_lines

TEN_MB = 10 * 1024 * 1024
LONG = b"a" * TEN_MB  # one line, no line break
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 64
LATIN1_DOMAINS = "café.example\nmünchen.example\n".encode("latin-1")
LATIN1_FACTS = "domain,name\ncafe.example,Café\n".encode("latin-1")
LATIN1_FEED = ('<?xml version="1.0"?><rss version="2.0"><channel><title>Café</title><item>'
               '<title>Café opens</title><link>https://n.example/1</link>'
               '<pubDate>Tue, 10 Jun 2025 09:00:00 GMT</pubDate></item></channel></rss>'
               ).encode("latin-1")
LONG_LINE = f"{'x' * (MAX_LINE_BYTES + 10)}.example\n".encode()


# (arguments before the file, file name, content, expected stderr lines, exit status)
CASES = [
    (["publish"], "long.txt", LONG,
     ["rejected {f}: line 1: longer than 65536 bytes (the limit per line)",
      "not published: {f}: no valid domains"], 2),
    (["publish"], "latin1.txt", LATIN1_DOMAINS,
     ["rejected {f}: line 1: not UTF-8 (byte 0xe9 at byte 4 of the line)",
      "rejected {f}: line 2: not UTF-8 (byte 0xfc at byte 2 of the line)",
      "not published: {f}: no valid domains"], 2),
    (["publish"], "image.png", BINARY, ["not published: {f}:3: a NUL byte, so not a text file"], 2),
    (["publish"], "empty.txt", b"", ["not published: {f}: no valid domains"], 2),
    # Console markup in a line is printed as written, not interpreted (or choked on).
    (["publish"], "markup.txt", b"bad [/x]\n",
     ["rejected {f}: line 1: 'bad [/x]': contains whitespace",
      "not published: {f}: no valid domains"], 2),
    (["publish"], "missing.txt", None,
     ["not published: {f}: No such file or directory"], 2),
    (["facts", "load"], "long.csv", b"domain,name\n" + LONG,
     ["not loaded: {f}:2: longer than 65536 bytes (the limit per line)"], 2),
    (["facts", "load"], "latin1.csv", LATIN1_FACTS,
     ["not loaded: {f}:2: not UTF-8 (byte 0xe9 at byte 17 of the line)"], 2),
    (["facts", "load"], "image.csv", BINARY,
     ["not loaded: {f}:3: a NUL byte, so not a text file"], 2),
    (["facts", "load"], "empty.csv", b"", ["not loaded: {f}: no facts in the file"], 2),
    # Facts load all or nothing: the first bad row refuses the file.
    (["facts", "load"], "mixed.csv",
     b"domain,name\nacme.example,Acme\nb.example," + b"B" * 201 + b"\n",
     ["not loaded: {f}:3: name: String should have at most 200 characters"], 2),
    (["news", "ingest", "--dry-run"], "long.jsonl", LONG,
     ["rejected {f}: line 1: longer than 65536 bytes (the limit per line)",
      "would publish 0 news events, rejected 1, 0 duplicate URLs dropped"], 2),
    (["news", "ingest", "--dry-run"], "long.xml", b"<rss>" + LONG,
     ["not ingested: {f}: larger than 4194304 bytes (the limit for a feed, which is read "
      "whole)"], 2),
    (["news", "ingest", "--dry-run"], "latin1.xml", LATIN1_FEED,
     ["not ingested: {f}: not in the encoding it declares (UTF-8 unless the XML declaration "
      "names another)"], 2),
    (["news", "ingest", "--dry-run"], "latin1.jsonl", '{"headline": "Café"}\n'.encode("latin-1"),
     ["rejected {f}: line 1: not UTF-8 (byte 0xe9 at byte 18 of the line)",
      "would publish 0 news events, rejected 1, 0 duplicate URLs dropped"], 2),
    (["news", "ingest", "--dry-run"], "image.png", BINARY,
     ["not ingested: {f}:3: a NUL byte, so not a text file"], 2),
    (["news", "ingest", "--dry-run"], "empty.xml", b"", ["not ingested: {f}: empty"], 2),
]


@pytest.mark.parametrize(("command", "name", "content", "expected", "status"), CASES,
                         ids=[f"{c[0][0]}-{c[1]}" for c in CASES])
def test_command_on_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               command: list[str], name: str, content: bytes | None,
                               expected: list[str], status: int) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert main([*command, str(path)]) == status  # an exception here would fail the test
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [line.format(f=path) for line in expected]
    assert captured.out == ""


@pytest.mark.parametrize(("command", "content", "expected"), [
    (["publish"], LONG, "not published: {f}: no valid domains"),
    (["news", "ingest"], BINARY, "not ingested: {f}:3: a NUL byte, so not a text file"),
])
def test_the_process_exits_without_a_traceback(tmp_path: Path, command: list[str],
                                               content: bytes, expected: str) -> None:
    path = tmp_path / "input"
    path.write_bytes(content)
    env = {key: value for key, value in os.environ.items() if key != "FORCE_COLOR"}
    result = subprocess.run([sys.executable, "-m", "streams.cli", *command, str(path)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == expected.format(f=path)


def test_good_lines_of_a_mixed_domain_file_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "domains.csv"
    path.write_bytes(b"\xef\xbb\xbfdomain,name,aliases\r\n"  # Excel's byte-order mark and CRLF
                     b"stripe.com,Stripe,Stripe Inc.|Stripe Payments\r\n"
                     + "café.example,Café\r\n".encode("latin-1")
                     + b"x.example," + b"N" * 201 + b"\r\n"
                     + b"y.example,Y," + b"|".join([b"alias"] * 21) + b"\r\n"
                     + LONG_LINE
                     + b'z.example,"unclosed\r\n'
                     + "bücher.de,Bücher\r\n".encode()
                     + b"\r\n"
                     + b"apple.com,Apple\n"
                     + b"[/x],X\n")
    parsed = read_source(str(path))
    assert [(e.line, e.domain, e.name, e.aliases) for e in parsed.entries] == [
        (2, "stripe.com", "Stripe", ("Stripe Inc.", "Stripe Payments")),
        (8, "xn--bcher-kva.de", "Bücher", ()),
        (10, "apple.com", "Apple", ()),
    ]
    assert [str(r) for r in parsed.rejections] == [
        "line 3: not UTF-8 (byte 0xe9 at byte 4 of the line)",
        "line 4: 'x.example': name: String should have at most 200 characters",
        "line 5: 'y.example': aliases: Tuple should have at most 20 items after validation, "
        "not 21",
        "line 6: longer than 65536 bytes (the limit per line)",
        "line 7: not a CSV record (unexpected end of data)",
        "line 11: '[/x]': not a host name (Invalid IPv6 URL)",
    ]


def test_good_lines_of_a_mixed_news_file_are_accepted() -> None:
    text = (b'{"headline": "Acme launches a rocket", "url": "https://n.example/1", '
            b'"published_at": "2025-05-01T10:00:00Z", "summary": "' + b"s" * 6000 + b'"}\n'
            + '{"headline": "Café"}\n'.encode("latin-1")
            + b'{"headline": "' + b"h" * 501 + b'", "url": "https://n.example/2", '
            b'"published_at": "2025-05-01"}\n'
            + b'{"headline": "Long URL", "url": "https://n.example/' + b"u" * 2048
            + b'", "published_at": "2025-05-01"}\n'
            + b'{"headline": "Bad date", "url": "https://n.example/3", "published_at": "soon"}\n'
            + b"[/x] not json\n")
    feed = read_news(io.BytesIO(text), "news.jsonl")
    (item,) = feed.items
    assert (item.position, item.headline, len(item.summary or "")) == (
        1, "Acme launches a rocket", 5000)  # the summary cut to its limit
    assert [str(r) for r in feed.rejections] == [
        "line 2: not UTF-8 (byte 0xe9 at byte 18 of the line)",
        "line 3: headline of 501 characters (the limit is 500)",
        "line 4: url of 2066 characters (the limit is 2048)",
        "line 5: published_at 'soon' is not an ISO 8601 date",
        "line 6: not JSON (Expecting value at column 2)",
    ]


def test_memory_is_bounded_by_the_longest_line_not_the_file(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_bytes(b"example.com\n" + LONG + b"\nstripe.com\n")
    tracemalloc.start()
    try:
        parsed = read_source(str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [e.domain for e in parsed.entries] == ["example.com", "stripe.com"]
    assert [r.line for r in parsed.rejections] == [2]
    assert peak < 1024 * 1024  # the file is 10 MB


def test_line_reader_edges() -> None:
    lines = list(read_lines(io.BytesIO(b"\xef\xbb\xbfa\r\nb\n\nc"), "x"))
    assert [(line.number, line.text, line.error) for line in lines] == [
        (1, "a", None), (2, "b", None), (3, "", None), (4, "c", None)]
    # A line of exactly the limit is accepted, one byte more is not.
    exact = b"a" * MAX_LINE_BYTES
    (fits,) = read_lines(io.BytesIO(exact + b"\n"), "x")
    assert fits.error is None and len(fits.text) == MAX_LINE_BYTES
    (over,) = read_lines(io.BytesIO(exact + b"a"), "x")
    assert over.error == "longer than 65536 bytes (the limit per line)"
