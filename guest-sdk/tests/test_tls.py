"""The Python half of `_ssl` that needs no host: memory BIOs, ASN.1 names,
and the host's failures as `ssl`'s exceptions."""

import types

import pytest

from terrarium import _tls


def test_a_memory_bio_reads_what_was_written_then_ends():
    bio = _tls.MemoryBIO()
    assert bio.write(b"hello ") == 6 and bio.write(memoryview(b"world")) == 5
    assert bio.pending == 11
    assert bio.read(5) == b"hello"
    bio.write_eof()
    assert not bio.eof, "at EOF only once read to the end"
    assert bio.read() == b" world"
    assert bio.eof and bio.read() == b""
    with pytest.raises(_tls.SSLError):
        bio.write(b"late")


def test_host_failures_become_ssls_exceptions():
    def case(name, value):
        return type(name, (), {})() if value is None else type(name, (), {"value": value})()

    refusal = types.SimpleNamespace(code=20, message="unable to get local issuer certificate")
    error = _tls._from_host(case("TlsError_Certificate", refusal))
    assert isinstance(error, _tls.SSLCertVerificationError) and isinstance(error, ValueError)
    assert str(error) == "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate"
    assert (error.verify_code, error.reason, error.library) == (20, "CERTIFICATE_VERIFY_FAILED", "SSL")
    failure = types.SimpleNamespace(reason="TLSV1_ALERT_UNKNOWN_CA", message="tlsv1 alert unknown ca")
    error = _tls._from_host(case("TlsError_Protocol", failure))
    assert type(error) is _tls.SSLError and str(error) == "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca"
    error = _tls._from_host(case("TlsError_Eof", None))
    assert isinstance(error, _tls.SSLEOFError) and error.args[0] == _tls.SSL_ERROR_EOF


def test_the_purposes_ssl_py_names_resolve():
    assert _tls.txt2obj("1.3.6.1.5.5.7.3.1") == (129, "serverAuth", "TLS Web Server Authentication", "1.3.6.1.5.5.7.3.1")
    assert _tls.txt2obj("clientAuth", name=True)[0] == 130
    assert _tls.nid2obj(129)[1] == "serverAuth"
    with pytest.raises(ValueError):
        _tls.txt2obj("1.2.3")
