import errno
import pickle

from terrarium import _oserrors


def test_errors_name_their_errno_and_are_the_builtin_kinds():
    refused = _oserrors.error(errno.EACCES, "outbound: example.com:80 is not in this app's `outbound` list")
    assert isinstance(refused, PermissionError) and refused.errno == errno.EACCES
    assert type(refused).__name__ == "PermissionError" and type(refused).__module__ == "builtins"
    assert str(refused) == "[Errno EACCES] outbound: example.com:80 is not in this app's `outbound` list"

    full = _oserrors.error(errno.ENOSPC, "No space left on device (the quota of /data is full)", "/data/f")
    assert type(full).__bases__ == (OSError,)
    assert str(full) == "[Errno ENOSPC] No space left on device (the quota of /data is full): '/data/f'"

    link = _oserrors.error(errno.EPERM, "links stay inside", "../x", "/data/l")
    assert (link.filename, link.filename2) == ("../x", "/data/l")
    assert str(link).endswith(": '../x' -> '/data/l'")
    assert isinstance(_oserrors.error(errno.ETIMEDOUT, "too slow"), TimeoutError)


def test_they_pickle_as_the_builtin_kind():
    copied = pickle.loads(pickle.dumps(_oserrors.error(errno.ENOSPC, "full", "/data/f")))
    assert type(copied) is OSError
    assert (copied.errno, copied.strerror, copied.filename) == (errno.ENOSPC, "full", "/data/f")
