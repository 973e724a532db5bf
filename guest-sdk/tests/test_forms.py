import pytest

from terrarium.forms import FormError, parse_form


def multipart(boundary, parts):
    out = b""
    for headers, content in parts:
        out += b"--" + boundary + b"\r\n" + headers + b"\r\n\r\n" + content + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


def test_multipart_fields_and_files():
    body = multipart(b"XyZ", [
        (b'Content-Disposition: form-data; name="title"', "caf\u00e9".encode()),
        (b'Content-Disposition: form-data; name="file"; filename="a \\"b\\".txt"\r\nContent-Type: text/plain',
         b"line1\r\nline2"),
        (b'Content-Disposition: form-data; name="file"; filename="second.bin"', b"\x00\x01"),
    ])
    form = parse_form('multipart/form-data; boundary="XyZ"', body)
    assert form["title"] == "café"
    upload = form.files["file"]
    assert (upload.filename, upload.content_type, upload.data) == ('a "b".txt', "text/plain", b"line1\r\nline2")
    assert [f.filename for f in form.getfiles("file")] == ['a "b".txt', "second.bin"]
    assert form.getfiles("file")[1].content_type == "application/octet-stream"


def test_malformed_multipart_is_an_error_not_a_crash():
    with pytest.raises(FormError):
        parse_form("multipart/form-data", b"whatever")
    with pytest.raises(FormError):
        parse_form("multipart/form-data; boundary=abc", b"no boundary here")


def test_other_types_give_an_empty_form():
    assert parse_form("application/json", b"{}").items() == []
