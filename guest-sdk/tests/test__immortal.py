import gc
import struct
import sys

import pytest

from terrarium import _immortal



class Holder:
    pass


def test_the_list_holds_live_objects_and_what_they_refer_to():
    held = Holder()
    held.name = "a string only this object refers to " + str(id(held))
    module_level[0] = held
    listed = _immortal.list_objects()
    addresses = _immortal.unpack(listed)
    assert len(addresses) == len(set(addresses))
    assert id(held) in addresses
    assert id(held.name) in addresses, "untracked referents are listed too"
    assert id(sys.modules) in addresses


def test_what_is_listed_stays_alive_until_the_snapshot():
    _immortal.list_objects()
    transient = Holder()
    module_level[0] = transient
    addresses = set(_immortal.unpack(_immortal.list_objects()))
    module_level[0] = None
    gc.collect()
    # Still alive: the module keeps every listed object.
    assert any(obj is transient for obj in _immortal._kept[0])
    assert id(transient) in addresses


def test_the_marker_is_not_in_the_source_and_the_list_is_closed():
    marker = _immortal.marker()
    assert marker == b"TERRARIUM-IMMORT"
    with open(_immortal.__file__, "rb") as source:
        assert marker not in source.read()
    listed = _immortal.list_objects()
    assert listed.startswith(marker) and listed.endswith(marker)
    with pytest.raises(ValueError, match="does not close"):
        _immortal.unpack(listed[:-1])


module_level = [None]
