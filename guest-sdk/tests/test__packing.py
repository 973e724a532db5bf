"""The packed byte strings, checked against the examples the host's tests share
(../../python-wasi/wit/packing-examples.json)."""

import json
import pathlib

import pytest

from terrarium._packing import HEAD_FIELDS, header_pairs, pack_head, pack_headers, unpack_head

EXAMPLES = json.loads(
    (pathlib.Path(__file__).parents[2] / "python-wasi" / "wit" / "packing-examples.json").read_text()
)


def as_bytes(text):
    return text.encode("latin-1")


@pytest.mark.parametrize("example", EXAMPLES["request_heads"], ids=lambda e: e["fields"]["request_id"])
def test_request_heads_unpack_to_their_fields_and_headers(example):
    fields, lines = unpack_head(as_bytes(example["packed"]))
    assert dict(zip(HEAD_FIELDS, fields)) == example["fields"]
    assert header_pairs(lines) == [tuple(pair) for pair in example["headers"]]


@pytest.mark.parametrize("example", EXAMPLES["request_heads"], ids=lambda e: e["fields"]["request_id"])
def test_request_heads_pack_as_the_host_packs_them(example):
    fields = [example["fields"][name] for name in HEAD_FIELDS]
    assert pack_head(fields, [tuple(pair) for pair in example["headers"]]) == as_bytes(example["packed"])


@pytest.mark.parametrize("fields", [["r"] * 8, ["r"] * 8 + ["/\nx"], ["r"] * 8 + ["/\0"]])
def test_heads_with_a_wrong_field_count_or_a_separator_are_not_packed(fields):
    with pytest.raises(ValueError):
        pack_head(fields, [])


@pytest.mark.parametrize("example", EXAMPLES["response_headers"], ids=lambda e: e["packed"][:12] or "empty")
def test_response_headers_pack_as_documented(example):
    packed = pack_headers([tuple(pair) for pair in example["headers"]])
    assert isinstance(packed, str) and packed.encode("latin-1") == as_bytes(example["packed"])


@pytest.mark.parametrize("head", [
    b"",
    b"r\nGET\nhttp\nh\n/\n\n1.2.3.4:5\n\n/\n",  # nine fields
    b"r\nGET\nhttp\nh\n/\n\n1.2.3.4:5\n\n/\n1.1",  # the last field lacks its LF
    b"r\nGET\nhttp\nh\n/\n\n1.2.3.4:5\n\n/\n1.1\nhost\0h",  # a header lacks its LF
])
def test_truncated_heads_are_refused(head):
    with pytest.raises(ValueError, match="ten fields"):
        unpack_head(head)


@pytest.mark.parametrize("pair", [
    ("X-A", "1\nSet-Cookie\0admin=1"),
    ("X-A\nSet-Cookie", "admin=1"),
    ("X-A", "nul\0inside"),
    ("X\0A", "1"),
])
def test_headers_that_would_smuggle_another_are_refused(pair):
    with pytest.raises(ValueError, match="line feed or NUL"):
        pack_headers([("Ok", "1"), pair])


def test_headers_outside_latin1_are_refused():
    with pytest.raises(UnicodeEncodeError):
        pack_headers([("X-Emoji", "\u2603")])
