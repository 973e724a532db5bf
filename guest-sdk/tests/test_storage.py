import builtins
import errno
import io
import os

import pytest

from terrarium import _storage


@pytest.fixture
def quota_aware_open(monkeypatch):
    monkeypatch.setattr(builtins, "open", builtins.open)
    monkeypatch.setattr(io, "open", io.open)
    for name in _storage._OS_CALLS:
        if hasattr(os, name):
            monkeypatch.setattr(os, name, getattr(os, name))
    refusals = []
    _storage.install(lambda: refusals.pop() if refusals else None)
    return refusals


def test_files_opened_for_writing_are_ios_own_types(quota_aware_open, tmp_path):
    path = tmp_path / "f.txt"
    with open(path, "w", encoding="utf-8") as text:
        assert isinstance(text, io.TextIOWrapper) and text.mode == "w"
        assert isinstance(text.buffer, io.BufferedWriter)
        assert isinstance(text.buffer.raw, io.FileIO)
        text.write("héllo\n")
    with open(path, "ab") as binary:
        assert isinstance(binary, io.BufferedWriter)
        binary.write(b"more")
    with open(path, "r+b", buffering=0) as raw:
        assert isinstance(raw, io.FileIO)
        assert raw.read() == "héllo\nmore".encode()
    with open(path, "rb") as reading:
        assert type(reading.raw) is io.FileIO, "reading uses the built-in open"
    assert io.open is builtins.open


def test_bad_arguments_fail_as_the_built_in_open_fails(quota_aware_open, tmp_path):
    path = tmp_path / "f"
    for mode, error in [("wr", ValueError), ("wb", None), ("ww", ValueError), ("wbt", ValueError), (3, TypeError)]:
        if error is None:
            open(path, mode).close()
            continue
        with pytest.raises(error):
            open(path, mode)
    with pytest.raises(ValueError, match="binary mode doesn't take an encoding"):
        open(path, "wb", encoding="utf-8")
    with pytest.raises(ValueError, match="unbuffered text"):
        open(path, "w", buffering=0)


def test_an_eio_the_host_blames_on_a_quota_becomes_enospc():
    reasons = ["the quota of /data is full"]
    take = lambda: reasons.pop() if reasons else None
    explained = _storage.explained(OSError(errno.EIO, "I/O error"), take, "/data/f")
    assert (explained.errno, explained.filename) == (errno.ENOSPC, "/data/f")
    assert explained.strerror == f"{os.strerror(errno.ENOSPC)} (the quota of /data is full)"
    other = OSError(errno.EIO, "I/O error")
    assert _storage.explained(other, take, "/data/f") is other, "no refusal noted: EIO stays"
    busy = OSError(errno.EBUSY, "busy")
    assert _storage.explained(busy, take, 3) is busy


def test_a_refused_link_is_a_permission_error_naming_both_paths():
    reason = "links in /data must point inside it, by a relative path whose `..` come first: '../x' does not"
    explained = _storage.explained(OSError(errno.EPERM, "Operation not permitted"), lambda: reason, "../x", "/data/l")
    assert isinstance(explained, PermissionError)
    assert (explained.filename, explained.filename2) == ("../x", "/data/l")
    assert reason in str(explained)


def test_os_calls_that_take_space_say_why_they_were_refused(quota_aware_open, tmp_path):
    os.mkdir(tmp_path / "made")
    assert (tmp_path / "made").is_dir(), "an allowed call does what it did"

    def refused(path, mode=0o777):
        raise OSError(errno.ENOSPC, "No space left on device")

    quota_aware_open.append("the quota of /tmp is full")
    with pytest.raises(OSError) as raised:
        _storage._explaining(refused, 1, lambda: quota_aware_open.pop())(tmp_path / "d")
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == str(tmp_path / "d")
    assert "(the quota of /tmp is full)" in str(raised.value)
    assert os.mkdir.__wrapped__ is not None, "os.mkdir is the explaining one"
