"""`hashlib.pbkdf2_hmac` and `hashlib.scrypt` for a CPython built without
OpenSSL, as the sandbox's is: the host derives the key (the contract's
`kdf` import) at native speed. Same signatures, checks and errors as
CPython's; `install` adds them only where hashlib lacks them.
"""

import hashlib
import operator

from . import _phase
from ._packing import for_host

_HASHES = ("sha1", "sha224", "sha256", "sha384", "sha512")
_INT_MAX = 2**31 - 1
_WHILE_BUILDING = (
    "password hashing is done by the server, which is not there while the app is built: "
    "hash passwords when a request asks"
)


def install(kdf, host_error):
    """Puts the two functions into `hashlib` unless it has its own.

    `kdf` is the contract's import; `host_error` the exception its calls
    raise when the host refuses (componentize-py's `Err`).
    """

    def derive(call, *args):
        if _phase.building:
            raise ValueError(_WHILE_BUILDING)
        try:
            return bytes(call(*args))
        except host_error as error:
            raise ValueError(error.value) from None

    def pbkdf2_hmac(hash_name, password, salt, iterations, dklen=None):
        """Password-based key derivation function 2 (PKCS #5 v2.0) with HMAC as pseudorandom function."""
        if not isinstance(hash_name, str):
            raise TypeError(f"pbkdf2_hmac() argument 'hash_name' must be str, not {type(hash_name).__name__}")
        name = hash_name.lower()
        password, salt = _bytes(password), _bytes(salt)
        iterations = operator.index(iterations)
        if iterations < 1:
            raise ValueError("iteration value must be greater than 0.")
        if iterations > 0xFFFFFFFF:
            raise OverflowError("iteration value is too great.")
        if name not in _HASHES:
            raise ValueError(f"unsupported hash type {hash_name}")
        dklen = hashlib.new(name).digest_size if dklen is None else operator.index(dklen)
        if dklen < 1:
            raise ValueError("key length must be greater than 0.")
        if dklen > 0xFFFFFFFF:
            raise OverflowError("key length is too great.")
        return derive(kdf.pbkdf2_hmac, name, for_host(password), for_host(salt), iterations, dklen)

    def scrypt(password, *, salt, n, r, p, maxmem=0, dklen=64):
        """scrypt password-based key derivation function."""
        password, salt = _bytes(password), _bytes(salt)
        n, r, p = operator.index(n), operator.index(r), operator.index(p)
        maxmem, dklen = operator.index(maxmem), operator.index(dklen)
        if n < 2 or n & (n - 1):
            raise ValueError("n must be a power of 2.")
        if not 0 <= maxmem <= _INT_MAX:
            raise ValueError(f"maxmem must be positive and smaller than {_INT_MAX}")
        if not 1 <= dklen <= _INT_MAX:
            raise ValueError(f"dklen must be greater than 0 and smaller than {_INT_MAX}")
        if not (0 < r < 2**32 and 0 < p < 2**32 and n < 2**64):
            raise ValueError("Invalid parameter combination for n, r, p, maxmem.")
        return derive(kdf.scrypt, for_host(password), for_host(salt), n, r, p, maxmem, dklen)

    for name, function in (("pbkdf2_hmac", pbkdf2_hmac), ("scrypt", scrypt)):
        if not hasattr(hashlib, name):
            function.__module__ = "hashlib"
            setattr(hashlib, name, function)


def _bytes(value):
    """A bytes-like argument as bytes (str is refused, as by CPython)."""
    if isinstance(value, str):
        raise TypeError("a bytes-like object is required, not 'str'")
    return bytes(memoryview(value))
