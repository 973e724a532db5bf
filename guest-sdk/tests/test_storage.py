import builtins
import errno
import io

import pytest

from terrarium import _storage


@pytest.fixture
def quota_aware_open(monkeypatch):
    monkeypatch.setattr(builtins, "open", builtins.open)
    monkeypatch.setattr(io, "open", io.open)
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
    folders = ["/data"]
    take = lambda: folders.pop() if folders else None
    explained = _storage.explained(OSError(errno.EIO, "I/O error"), take, "/data/f")
    assert (explained.errno, explained.filename) == (errno.ENOSPC, "/data/f")
    assert "the quota of /data is full" in explained.strerror
    other = OSError(errno.EIO, "I/O error")
    assert _storage.explained(other, take, "/data/f") is other, "no refusal noted: EIO stays"
    busy = OSError(errno.EBUSY, "busy")
    assert _storage.explained(busy, take, 3) is busy
