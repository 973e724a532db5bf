"""The hashlib shim, against this (OpenSSL-backed) CPython's own functions:
a stand-in host that derives with them, so results and errors can be compared."""

import hashlib
import types

import pytest
from conftest import from_host_text

from terrarium import _hashlib


class HostError(Exception):
    def __init__(self, value):
        self.value = value


@pytest.fixture
def shimmed(monkeypatch):
    """A hashlib without the two functions, then with the shim installed."""
    real = types.SimpleNamespace(pbkdf2_hmac=hashlib.pbkdf2_hmac, scrypt=hashlib.scrypt)
    calls = []

    def host_pbkdf2(name, password, salt, iterations, length):
        calls.append(("pbkdf2", name))
        password, salt = from_host_text(password), from_host_text(salt)
        return list(real.pbkdf2_hmac(name, password, salt, iterations, length))

    def host_scrypt(password, salt, n, r, p, maxmem, length):
        calls.append(("scrypt", n))
        password, salt = from_host_text(password), from_host_text(salt)
        try:
            return list(real.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=length))
        except ValueError as error:
            raise HostError(str(error)) from None

    monkeypatch.delattr(hashlib, "pbkdf2_hmac")
    monkeypatch.delattr(hashlib, "scrypt")
    _hashlib.install(types.SimpleNamespace(pbkdf2_hmac=host_pbkdf2, scrypt=host_scrypt), HostError)
    yield real, calls


def test_the_shim_gives_cpythons_results_through_the_host(shimmed):
    real, calls = shimmed
    for args in [("sha256", b"password", b"salt", 1000), ("SHA1", bytearray(b"p"), memoryview(b"s"), 3, 50)]:
        assert hashlib.pbkdf2_hmac(*args) == real.pbkdf2_hmac(*args)
    assert hashlib.scrypt(b"password", salt=b"NaCl", n=1024, r=8, p=16) == real.scrypt(
        b"password", salt=b"NaCl", n=1024, r=8, p=16
    )
    assert calls == [("pbkdf2", "sha256"), ("pbkdf2", "sha1"), ("scrypt", 1024)]
    assert hashlib.pbkdf2_hmac.__module__ == "hashlib"


def test_the_shim_refuses_what_cpython_refuses(shimmed):
    real, calls = shimmed
    cases = [
        (lambda h: h.pbkdf2_hmac("sha256", "text", b"s", 1), TypeError),
        (lambda h: h.pbkdf2_hmac("sha256", b"p", b"s", 0), ValueError),
        (lambda h: h.pbkdf2_hmac("sha256", b"p", b"s", 1, 0), ValueError),
        (lambda h: h.pbkdf2_hmac("sha256", b"p", b"s", 2**32), OverflowError),
        (lambda h: h.pbkdf2_hmac("sha256", b"p", b"s", 1.5), TypeError),
        # OpenSSL's message for this one differs between releases: compare types only.
        (lambda h: h.pbkdf2_hmac("md4x", b"p", b"s", 1), ValueError, False),
        (lambda h: h.scrypt(b"p", salt=b"s", n=3, r=8, p=1), ValueError),
        (lambda h: h.scrypt(b"p", salt=b"s", n=16, r=8, p=1, dklen=0), ValueError),
        (lambda h: h.scrypt(b"p", salt=b"s", n=16, r=8, p=1, maxmem=-1), ValueError),
        (lambda h: h.scrypt(b"p", salt=b"s", n=2**15, r=8, p=1), ValueError),  # over the default maxmem
    ]
    for call, error, *same_message in cases:
        with pytest.raises(error) as ours:
            call(hashlib)
        with pytest.raises(error) as theirs:
            call(real)
        if error is not TypeError and same_message != [False]:
            assert str(ours.value) == str(theirs.value), (ours.value, theirs.value)


def test_a_hashlib_with_its_own_functions_is_left_alone(monkeypatch):
    own = object()
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", own)
    _hashlib.install(types.SimpleNamespace(), HostError)
    assert hashlib.pbkdf2_hmac is own


def test_while_the_app_is_built_the_host_is_not_asked(shimmed, monkeypatch):
    from terrarium import _phase

    _, calls = shimmed
    monkeypatch.setattr(_phase, "building", True)
    with pytest.raises(ValueError, match="not there while the app is built"):
        hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 1000)
    assert calls == []
