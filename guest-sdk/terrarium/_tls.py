"""`_ssl` for the sandbox: TLS done by the host, under CPython's own `ssl`.

The sandbox's CPython is built without OpenSSL, so it has no `_ssl` and
`import ssl` fails. `install` puts this module in its place: the stdlib's
`ssl.py` (SSLContext, SSLSocket, SSLObject, create_default_context, ...)
then works unchanged on top of it. What `_ssl` does in C is done here in
Python over the contract's `tls` import: the host (rustls) runs the
handshake, checks certificates and encrypts; this side moves the bytes
between the host and the socket (or the memory BIOs asyncio and anyio
use), with the socket's own timeouts and blocking mode.

Client side only: a server-side context can be made but not used (the
sandbox cannot listen). TLS 1.2 and 1.3; the cipher suites are rustls's
(`set_ciphers` is accepted and does not narrow them); no session
resumption or post-handshake authentication; `get_channel_binding`
answers None. Every context trusts the mount's `outbound_ca` besides what
it loads.
"""

import os
import sys

import _socket

from . import _phase
from ._packing import for_host

OPENSSL_VERSION = "OpenSSL 3.0 compatible (TLS by rustls in the Terrarium host)"
OPENSSL_VERSION_INFO = (3, 0, 0, 0, 0)
OPENSSL_VERSION_NUMBER = 0x30000000
_OPENSSL_API_VERSION = (3, 0, 0, 0, 0)
_DEFAULT_CIPHERS = "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM"

HAS_SNI = HAS_ECDH = HAS_ALPN = HAS_TLSv1_2 = HAS_TLSv1_3 = True
HAS_NPN = HAS_SSLv2 = HAS_SSLv3 = HAS_TLSv1 = HAS_TLSv1_1 = HAS_PSK = HAS_PHA = False

PROTOCOL_SSLv23 = PROTOCOL_TLS = 2
PROTOCOL_TLS_CLIENT = 16
PROTOCOL_TLS_SERVER = 17

PROTO_MINIMUM_SUPPORTED = -2
PROTO_MAXIMUM_SUPPORTED = -1
PROTO_SSLv3 = 0x300
PROTO_TLSv1 = 0x301
PROTO_TLSv1_1 = 0x302
PROTO_TLSv1_2 = 0x303
PROTO_TLSv1_3 = 0x304

CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED = 0, 1, 2

OP_ALL = 0x80000850
OP_NO_SSLv2 = 0
OP_NO_SSLv3 = 0x02000000
OP_NO_TLSv1 = 0x04000000
OP_NO_TLSv1_1 = 0x10000000
OP_NO_TLSv1_2 = 0x08000000
OP_NO_TLSv1_3 = 0x20000000
OP_CIPHER_SERVER_PREFERENCE = 0x00400000
OP_SINGLE_DH_USE = 0
OP_SINGLE_ECDH_USE = 0
OP_NO_COMPRESSION = 0x00020000
OP_NO_TICKET = 0x00004000
OP_NO_RENEGOTIATION = 0x40000000
OP_ENABLE_MIDDLEBOX_COMPAT = 0x00100000
OP_IGNORE_UNEXPECTED_EOF = 0x00000080
OP_LEGACY_SERVER_CONNECT = 0x00000004
OP_ENABLE_KTLS = 0x00000008

VERIFY_DEFAULT = 0
VERIFY_CRL_CHECK_LEAF = 0x4
VERIFY_CRL_CHECK_CHAIN = 0xC
VERIFY_X509_STRICT = 0x20
VERIFY_ALLOW_PROXY_CERTS = 0x40
VERIFY_X509_TRUSTED_FIRST = 0x8000
VERIFY_X509_PARTIAL_CHAIN = 0x80000

HOSTFLAG_NEVER_CHECK_SUBJECT = 0x20
ENCODING_PEM, ENCODING_DER = 1, 2

SSL_ERROR_SSL = 1
SSL_ERROR_WANT_READ = 2
SSL_ERROR_WANT_WRITE = 3
SSL_ERROR_WANT_X509_LOOKUP = 4
SSL_ERROR_SYSCALL = 5
SSL_ERROR_ZERO_RETURN = 6
SSL_ERROR_WANT_CONNECT = 7
SSL_ERROR_EOF = 8
SSL_ERROR_INVALID_ERROR_CODE = 10

_ALERTS = {
    "CLOSE_NOTIFY": 0, "UNEXPECTED_MESSAGE": 10, "BAD_RECORD_MAC": 20, "RECORD_OVERFLOW": 22,
    "DECOMPRESSION_FAILURE": 30, "HANDSHAKE_FAILURE": 40, "BAD_CERTIFICATE": 42,
    "UNSUPPORTED_CERTIFICATE": 43, "CERTIFICATE_REVOKED": 44, "CERTIFICATE_EXPIRED": 45,
    "CERTIFICATE_UNKNOWN": 46, "ILLEGAL_PARAMETER": 47, "UNKNOWN_CA": 48, "ACCESS_DENIED": 49,
    "DECODE_ERROR": 50, "DECRYPT_ERROR": 51, "PROTOCOL_VERSION": 70, "INSUFFICIENT_SECURITY": 71,
    "INTERNAL_ERROR": 80, "USER_CANCELLED": 90, "NO_RENEGOTIATION": 100,
    "UNSUPPORTED_EXTENSION": 110, "CERTIFICATE_UNOBTAINABLE": 111, "UNRECOGNIZED_NAME": 112,
    "BAD_CERTIFICATE_STATUS_RESPONSE": 113, "BAD_CERTIFICATE_HASH_VALUE": 114,
    "UNKNOWN_PSK_IDENTITY": 115,
}
for _name, _value in _ALERTS.items():
    globals()["ALERT_DESCRIPTION_" + _name] = _value
del _name, _value

# The OIDs ssl.py names (Purpose), as OpenSSL describes them.
_OBJECTS = [
    (129, "serverAuth", "TLS Web Server Authentication", "1.3.6.1.5.5.7.3.1"),
    (130, "clientAuth", "TLS Web Client Authentication", "1.3.6.1.5.5.7.3.2"),
]

_tls = None  # the contract's `tls` import, once installed
_host_error = None  # the exception its calls raise on an error answer


def install(tls, host_error):
    """Makes `import ssl` work: this module becomes `_ssl`.

    `tls` is the contract's import; `host_error` the exception its calls
    raise when the host answers with an error (componentize-py's `Err`).
    """
    global _tls, _host_error
    _tls, _host_error = tls, host_error
    sys.modules.setdefault("_ssl", sys.modules[__name__])


class SSLError(OSError):
    """An error in the SSL implementation."""

    library = None
    reason = None

    def __str__(self):
        if len(self.args) >= 2 and isinstance(self.args[1], str):
            return self.args[1]
        return super().__str__()


class SSLZeroReturnError(SSLError):
    """SSL/TLS session closed cleanly."""


class SSLWantReadError(SSLError):
    """Non-blocking SSL socket needs to read more data before the requested operation can be completed."""


class SSLWantWriteError(SSLError):
    """Non-blocking SSL socket needs to write more data before the requested operation can be completed."""


class SSLSyscallError(SSLError):
    """System error when attempting SSL operation."""


class SSLEOFError(SSLError):
    """SSL/TLS connection terminated abruptly."""


class SSLCertVerificationError(SSLError, ValueError):
    """A certificate could not be verified."""

    verify_code = None
    verify_message = None


def _error(kind, number, reason, message):
    error = kind(number, f"[SSL: {reason}] {message}")
    error.library, error.reason = "SSL", reason
    return error


def _from_host(failure):
    """The `ssl` exception for a `tls-error` the host answered."""
    name = type(failure).__name__
    if name.endswith("Certificate"):
        refusal = failure.value
        error = _error(
            SSLCertVerificationError, SSL_ERROR_SSL, "CERTIFICATE_VERIFY_FAILED",
            f"certificate verify failed: {refusal.message}",
        )
        error.verify_code, error.verify_message = refusal.code, refusal.message
        return error
    if name.endswith("Protocol"):
        return _error(SSLError, SSL_ERROR_SSL, failure.value.reason, failure.value.message)
    return _error(SSLEOFError, SSL_ERROR_EOF, "UNEXPECTED_EOF_WHILE_READING", "EOF occurred in violation of protocol")


class _Eof:
    """The `tls-error` of a peer that closed the socket mid-TLS."""


def _call(method, *args):
    try:
        return method(*args)
    except _host_error as error:
        raise _from_host(error.value) from None


def _want_read():
    return _error(SSLWantReadError, SSL_ERROR_WANT_READ, "WANT_READ", "The operation did not complete (read)")


def _want_write():
    return _error(SSLWantWriteError, SSL_ERROR_WANT_WRITE, "WANT_WRITE", "The operation did not complete (write)")


def RAND_status():
    """Whether the random generator has been seeded with enough data (it always has)."""
    return True


def RAND_add(string, entropy):
    """Mixes string into the generator's state (the host's generator needs none)."""


def RAND_bytes(n):
    """n cryptographically strong random bytes."""
    return os.urandom(n)


def txt2obj(txt, name=False):
    """Looks up an ASN.1 object by OID (or, with name, by its names)."""
    for entry in _OBJECTS:
        if txt == entry[3] or (name and txt in (entry[1], entry[2])):
            return entry
    raise ValueError(f"unknown object '{txt}'")


def nid2obj(nid):
    """Looks up an ASN.1 object by its OpenSSL NID."""
    for entry in _OBJECTS:
        if entry[0] == nid:
            return entry
    raise ValueError(f"unknown NID {nid}")


def get_default_verify_paths():
    """Where OpenSSL would look for roots (the sandbox has none there: the host supplies them)."""
    return ("SSL_CERT_FILE", "/etc/ssl/cert.pem", "SSL_CERT_DIR", "/etc/ssl/certs")


class MemoryBIO:
    """A buffer of bytes that TLS reads from or writes to."""

    def __init__(self):
        self._data = bytearray()
        self._eof = False

    @property
    def pending(self):
        """The number of bytes pending in the memory BIO."""
        return len(self._data)

    @property
    def eof(self):
        """Whether the memory BIO is at EOF."""
        return self._eof and not self._data

    def read(self, size=-1):
        """Reads up to size bytes (all by default)."""
        if size < 0 or size > len(self._data):
            size = len(self._data)
        chunk = bytes(self._data[:size])
        del self._data[:size]
        return chunk

    def write(self, data):
        """Writes bytes; returns how many."""
        if self._eof:
            raise _error(SSLError, SSL_ERROR_SSL, "BIO_WRITE_AFTER_EOF", "cannot write() after write_eof()")
        with memoryview(data) as view:
            self._data += view.cast("B")
            return view.nbytes

    def write_eof(self):
        """Marks the end: once the buffer is read, it is at EOF."""
        self._eof = True


class SSLSession:
    """A TLS session (the sandbox's TLS does not resume them)."""

    def __init__(self, *args, **kwargs):
        raise TypeError("cannot create '_ssl.SSLSession' instances")


class Certificate:
    """A certificate of a verified or unverified chain."""

    def __init__(self, der):
        self._der = bytes(der)

    def public_bytes(self, format=ENCODING_PEM):
        """The certificate as DER, or as PEM text."""
        if format == ENCODING_DER:
            return self._der
        import base64

        body = base64.encodebytes(self._der).decode("ascii").replace("\n", "")
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"

    def get_info(self):
        """What the certificate says, as getpeercert() shows it."""
        return _certificate_dict(self._der)


def _certificate_dict(der):
    info = _call(_tls.describe_certificate, for_host(der))
    described = {
        "subject": tuple(tuple(tuple(pair) for pair in rdn) for rdn in info.subject),
        "issuer": tuple(tuple(tuple(pair) for pair in rdn) for rdn in info.issuer),
        "version": info.version,
        "serialNumber": info.serial_number,
        "notBefore": info.not_before,
        "notAfter": info.not_after,
    }
    if info.subject_alt_names:
        described["subjectAltName"] = tuple(tuple(pair) for pair in info.subject_alt_names)
    return described


def _load(config, step):
    """Applies one loading step to a host config, raising as `_ssl` does."""
    kind = step[0]
    try:
        if kind == "roots":
            config.add_roots(for_host(step[1]))
        elif kind == "system":
            config.add_system_roots()
        else:
            config.set_client_certificate(for_host(step[1]), for_host(step[2]))
    except _host_error as error:
        reason = "NO_CERTIFICATE_OR_CRL_FOUND" if kind == "roots" else "PEM_LIB"
        raise _error(SSLError, SSL_ERROR_SSL, reason, error.value) from None


def _read_file(path):
    with open(os.fspath(path), "rb") as file:
        return file.read()


class _SSLContext:
    """The C half of ssl.SSLContext: its settings, and its host config."""

    def __new__(cls, protocol):
        if protocol not in (PROTOCOL_TLS, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER):
            raise ValueError("invalid or unsupported protocol version %i" % protocol)
        self = super().__new__(cls)
        client = protocol == PROTOCOL_TLS_CLIENT
        self._protocol = protocol
        self._verify_mode = CERT_REQUIRED if client else CERT_NONE
        self._check_hostname = client
        self._options = OP_ALL | OP_NO_SSLv2 | OP_NO_SSLv3 | OP_NO_COMPRESSION | OP_CIPHER_SERVER_PREFERENCE
        self._verify_flags = VERIFY_X509_TRUSTED_FIRST
        self._minimum_version = PROTO_MINIMUM_SUPPORTED
        self._maximum_version = PROTO_MAXIMUM_SUPPORTED
        # rustls never falls back to the subject's common name.
        self._host_flags = HOSTFLAG_NEVER_CHECK_SUBJECT
        self._alpn = []
        # The host's config is made when first needed, never while the app
        # is built (a handle made then would be dead in every instance);
        # until then, what was loaded waits here.
        self._config = None
        self._waiting = []
        self.post_handshake_auth = None
        self.keylog_filename = None
        self.sni_callback = None
        self.num_tickets = 2
        self.security_level = 2
        self._message_callback = None
        return self

    @property
    def _msg_callback(self):
        """Kept for ssl.py's property; the host's TLS does not report its messages."""
        return self._message_callback

    @_msg_callback.setter
    def _msg_callback(self, callback):
        self._message_callback = callback

    @property
    def protocol(self):
        return self._protocol

    @property
    def check_hostname(self):
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value):
        value = bool(value)
        if value and self._verify_mode == CERT_NONE:
            self._verify_mode = CERT_REQUIRED
        self._check_hostname = value

    @property
    def verify_mode(self):
        return self._verify_mode

    @verify_mode.setter
    def verify_mode(self, value):
        value = int(value)
        if value not in (CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED):
            raise ValueError("invalid value for verify_mode")
        if value == CERT_NONE and self._check_hostname:
            raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.")
        self._verify_mode = value

    @property
    def options(self):
        return self._options

    @options.setter
    def options(self, value):
        self._options = int(value)

    @property
    def verify_flags(self):
        return self._verify_flags

    @verify_flags.setter
    def verify_flags(self, value):
        self._verify_flags = int(value)

    @property
    def minimum_version(self):
        return self._minimum_version

    @minimum_version.setter
    def minimum_version(self, value):
        self._minimum_version = int(value)

    @property
    def maximum_version(self):
        return self._maximum_version

    @maximum_version.setter
    def maximum_version(self, value):
        self._maximum_version = int(value)

    def load_verify_locations(self, cafile=None, capath=None, cadata=None):
        """Trusts the certificates of cafile (PEM), of the files in capath, or of cadata (PEM text or DER bytes)."""
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        blobs = []
        if cafile is not None:
            blobs.append(_read_file(cafile))
        if capath is not None:
            folder = os.fspath(capath)
            for name in sorted(os.listdir(folder)):
                path = os.path.join(folder, name)
                if os.path.isfile(path):
                    blobs.append(_read_file(path))
        if cadata is not None:
            if isinstance(cadata, str):
                blobs.append(cadata.encode("ascii"))
            else:
                with memoryview(cadata) as view:
                    blobs.append(view.tobytes())
        for blob in blobs:
            self._apply(("roots", blob))

    def set_default_verify_paths(self):
        """Trusts the host's system roots."""
        self._apply(("system",))

    def _apply(self, step):
        """Applies a loading step to the host's config (now, unless the app
        is being built and there is none yet)."""
        if self._config is None and _phase.building:
            self._waiting.append(step)
        else:
            _load(self._host_config(), step)

    def _host_config(self):
        if self._config is None:
            config = _tls.ClientConfig()
            for step in self._waiting:
                _load(config, step)
            self._config, self._waiting = config, []
        return self._config

    def load_cert_chain(self, certfile, keyfile=None, password=None):
        """Offers this certificate chain and key (PEM files) to servers that ask for one."""
        if password is not None:
            raise _error(SSLError, SSL_ERROR_SSL, "UNSUPPORTED", "encrypted private keys are not supported in the sandbox")
        chain = _read_file(certfile)
        key = _read_file(keyfile) if keyfile is not None else chain
        self._apply(("client", chain, key))

    def load_dh_params(self, path):
        """Diffie-Hellman parameters are for servers; the sandbox's TLS is a client's."""
        _read_file(path)

    def set_ciphers(self, cipherlist):
        """Accepted; the host's TLS always uses rustls's safe suites."""
        if not isinstance(cipherlist, str):
            raise TypeError("cipherlist must be a str")

    def get_ciphers(self):
        """The cipher suites the host's TLS offers."""
        suites = [
            ("TLS_AES_256_GCM_SHA384", "TLSv1.3", 256), ("TLS_AES_128_GCM_SHA256", "TLSv1.3", 128),
            ("TLS_CHACHA20_POLY1305_SHA256", "TLSv1.3", 256),
            ("ECDHE-ECDSA-AES256-GCM-SHA384", "TLSv1.2", 256), ("ECDHE-RSA-AES256-GCM-SHA384", "TLSv1.2", 256),
            ("ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2", 128), ("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2", 128),
            ("ECDHE-ECDSA-CHACHA20-POLY1305", "TLSv1.2", 256), ("ECDHE-RSA-CHACHA20-POLY1305", "TLSv1.2", 256),
        ]
        return [
            {"name": name, "protocol": protocol, "strength_bits": bits, "alg_bits": bits, "aead": True}
            for name, protocol, bits in suites
        ]

    def _set_alpn_protocols(self, protos):
        protocols, data = [], bytes(protos)
        while data:
            length = data[0]
            protocols.append(data[1 : 1 + length].decode("ascii"))
            data = data[1 + length :]
        self._alpn = protocols

    def _set_npn_protocols(self, protos):
        """NPN is obsolete; nothing is offered."""

    def set_ecdh_curve(self, name):
        """Accepted; the host's TLS chooses among its safe groups."""

    def cert_store_stats(self):
        count = self._host_config().root_count()
        return {"x509": count, "crl": 0, "x509_ca": count}

    def get_ca_certs(self, binary_form=False):
        roots = [bytes(der) for der in self._host_config().added_roots()]
        return roots if binary_form else [_certificate_dict(der) for der in roots]

    def session_stats(self):
        names = ("number", "connect", "connect_good", "connect_renegotiate", "accept", "accept_good",
                 "accept_renegotiate", "hits", "misses", "timeouts", "cache_full")
        return dict.fromkeys(names, 0)

    def _options_for(self, server_hostname):
        versions = (
            PROTO_TLSv1_2 if self._minimum_version < PROTO_TLSv1_2 else self._minimum_version,
            PROTO_TLSv1_3 if self._maximum_version in (PROTO_MAXIMUM_SUPPORTED,) else self._maximum_version,
        )
        if self._options & OP_NO_TLSv1_2:
            versions = (max(versions[0], PROTO_TLSv1_3), versions[1])
        if self._options & OP_NO_TLSv1_3:
            versions = (versions[0], min(versions[1], PROTO_TLSv1_2))
        return _tls.SessionOptions(
            server_name=server_hostname,
            verify_chain=self._verify_mode != CERT_NONE,
            check_name=self._check_hostname,
            alpn=list(self._alpn),
            min_version=max(versions[0], 0),
            max_version=max(versions[1], 0),
        )

    def _open(self, server_side, server_hostname):
        if server_side or self._protocol == PROTOCOL_TLS_SERVER:
            raise NotImplementedError("the sandbox's TLS is a client's: apps in the sandbox cannot listen")
        if self._check_hostname and not server_hostname:
            raise ValueError("check_hostname requires server_hostname")
        try:
            return _tls.ClientSession.open(self._host_config(), self._options_for(server_hostname))
        except _host_error as error:
            raise _error(SSLError, SSL_ERROR_SSL, "NO_PROTOCOLS_AVAILABLE", error.value) from None

    def _wrap_socket(self, sock, server_side, server_hostname=None, owner=None, session=None):
        return _SSLObject(self, self._open(server_side, server_hostname), _SocketCarrier(sock), server_hostname, owner)

    def _wrap_bio(self, incoming, outgoing, server_side, server_hostname=None, owner=None, session=None):
        return _SSLObject(
            self, self._open(server_side, server_hostname), _BioCarrier(incoming, outgoing), server_hostname, owner
        )


class _SocketCarrier:
    """Moves a session's bytes over a socket, with its timeout and blocking mode."""

    def __init__(self, sock):
        self._sock = sock
        self._unsent = b""

    def receive(self):
        """Bytes from the peer (b"" when it closed); SSLWantReadError when a non-blocking socket has none."""
        try:
            return _socket.socket.recv(self._sock, 65536)
        except BlockingIOError:
            raise _want_read() from None

    def send(self, data):
        """Sends everything, or keeps the rest for later and raises SSLWantWriteError (non-blocking)."""
        self._unsent += data
        while self._unsent:
            try:
                sent = _socket.socket.send(self._sock, self._unsent)
            except BlockingIOError:
                raise _want_write() from None
            self._unsent = self._unsent[sent:]


class _BioCarrier:
    """Moves a session's bytes through memory BIOs (asyncio's and anyio's)."""

    def __init__(self, incoming, outgoing):
        self._incoming = incoming
        self._outgoing = outgoing

    def receive(self):
        data = self._incoming.read()
        if data or self._incoming.eof:
            return data
        raise _want_read()

    def send(self, data):
        self._outgoing.write(data)


class _SSLObject:
    """The C half of SSLSocket and SSLObject: one connection's TLS."""

    def __init__(self, context, session, carrier, server_hostname, owner):
        self._context = context
        self._session = session
        self._carrier = carrier
        self.server_hostname = server_hostname
        self.owner = owner
        self.server_side = False
        self.session = None
        self.session_reused = False

    @property
    def context(self):
        return self._context

    @context.setter
    def context(self, context):
        self._context = context

    def _flush(self):
        data = self._session.transmit()
        if data:
            self._carrier.send(data)

    def _pull(self):
        """Hands the host what the peer sent; False when the peer closed
        the socket. Raises SSLWantReadError when nothing has come yet."""
        data = self._carrier.receive()
        try:
            _call(self._session.receive, for_host(data))
        finally:
            # An alert the host made about what it received goes out too.
            self._flush()
        return bool(data)

    def do_handshake(self):
        self._flush()
        while self._session.handshaking():
            if not self._pull():
                raise _from_host(_Eof())
        self._flush()

    def read(self, len=1024, buffer=None):
        if len < 0:
            raise ValueError("size should not be negative")
        if buffer is not None and len == 0:
            with memoryview(buffer) as view:
                len = view.nbytes
        if len == 0:
            return b"" if buffer is None else 0
        peer_gone = False
        while True:
            outcome = _call(self._session.read, max(len, 1))
            kind = type(outcome).__name__
            if kind.endswith("Data"):
                data = bytes(outcome.value)
                if buffer is None:
                    return data
                with memoryview(buffer) as view:
                    view.cast("B")[: _len(data)] = data
                return _len(data)
            if kind.endswith("Closed"):
                raise _error(SSLZeroReturnError, SSL_ERROR_ZERO_RETURN, "ZERO_RETURN",
                             "TLS/SSL connection has been closed (EOF)")
            if peer_gone:
                raise _from_host(_Eof())
            peer_gone = not self._pull()

    def write(self, data):
        with memoryview(data) as view:
            if not view.nbytes:
                return 0
            written = _call(self._session.write, for_host(view if view.c_contiguous else view.tobytes()))
        self._flush()
        return written

    def pending(self):
        return self._session.pending()

    def shutdown(self):
        """Sends close_notify; returns the socket (or None) once the peer's has come or the peer is gone."""
        self._session.close()
        self._flush()
        while not self._session.peer_closed():
            try:
                if not self._pull():
                    break
            except (SSLWantReadError, SSLWantWriteError):
                raise
            except OSError:
                break  # the peer is gone (reset, or a TLS error): nothing more to wait for
        return self.owner if isinstance(self._carrier, _SocketCarrier) else None

    def _info(self):
        return self._session.info()

    def getpeercert(self, binary_form=False):
        info = self._info()
        if info is None:
            raise ValueError("handshake not done yet")
        if not info.peer_certificates:
            return None
        leaf = bytes(info.peer_certificates[0])
        if binary_form:
            return leaf
        if self._context.verify_mode == CERT_NONE:
            return {}
        return _certificate_dict(leaf)

    def get_verified_chain(self):
        return self.get_unverified_chain()

    def get_unverified_chain(self):
        info = self._info()
        if info is None:
            return None
        return [Certificate(der) for der in info.peer_certificates]

    def selected_alpn_protocol(self):
        info = self._info()
        return info.alpn if info else None

    def cipher(self):
        info = self._info()
        return (info.cipher, info.version, info.cipher_bits) if info else None

    def shared_ciphers(self):
        return None

    def compression(self):
        return None

    def version(self):
        info = self._info()
        return info.version if info else None

    def get_channel_binding(self, cb_type="tls-unique"):
        if cb_type != "tls-unique":
            raise ValueError(f"Unsupported channel binding type '{cb_type}'")
        return None

    def verify_client_post_handshake(self):
        raise _error(SSLError, SSL_ERROR_SSL, "UNSUPPORTED", "post-handshake authentication is not supported")


_len = len
