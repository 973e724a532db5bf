import os

from terrarium import _posix


def test_missing_ids_are_the_sandboxs_one_user(monkeypatch):
    for name in ("getuid", "getegid"):
        monkeypatch.delattr(os, name)
    _posix.install()
    assert os.getuid() == os.getegid() == _posix.SANDBOX_ID
    assert os.geteuid() == os.geteuid(), "present ones are left alone"
