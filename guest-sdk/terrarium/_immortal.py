"""The list of a shared layer's objects, for the host to make immortal.

Every instance of a layer starts from a copy-on-write image of its memory.
CPython writes an object's reference count each time code takes or drops a
reference to it, so an instance that merely uses a snapshot object (a
module's dict, a function, a type) copies the page it sits on. An immortal
object (PEP 683) has a count CPython never writes. There is no way to make
one from Python in the sandbox (no ctypes), so the layer lists its objects
at the end of its build, and the host sets their counts in the memory image
(python-wasi's `immortal.rs`).

The list is one bytes object: the marker, the number of addresses (u32,
little-endian), the addresses (each a u32 `id()`, little-endian), and the
marker again.
The source holds the marker only masked, but copies of it made while
listing stay in freed memory: the host takes the one place where a marker,
a count and a closing marker that far after it all agree.
"""

import array
import gc
import struct

# The marker xor 0x5A, so this module's code does not hold the marker itself.
_MASKED_MARKER = b"\x0e\x1f\x08\x08\x1b\x08\x13\x0f\x17\x77\x13\x17\x17\x15\x08\x0e"

# An address: a u32 in the sandbox (wasm32), where the host reads the list;
# 8 bytes natively, where the tests run.
_ADDRESS = "I" if struct.calcsize("P") == 4 else "Q"

# What `list_objects` made, kept alive for good: the objects it listed
# (the host patches the count of each, so none may be freed before the
# snapshot), and its own working objects. Freed, these would leave holes in
# the snapshot's heap that every instance's first allocations fill, copying
# the pages around them.
_kept = None


def marker():
    """The 16 bytes that open and close the list."""
    return bytes(byte ^ 0x5A for byte in _MASKED_MARKER)


def list_objects():
    """Lists every object the collector tracks and every object they refer
    to (strings, numbers, untracked tuples); returns the packed list (a
    bytearray), which stays in this module for the snapshot. Call it right
    after a collection: garbage it finds is listed, and kept, too."""
    global _kept
    objects = gc.get_objects()
    seen = {id(obj) for obj in objects}
    walked = 0
    while walked < len(objects):
        for referent in gc.get_referents(objects[walked]):
            key = id(referent)
            if key not in seen:
                seen.add(key)
                objects.append(referent)
        walked += 1
    addresses = array.array(_ADDRESS, seen)
    opening = marker()
    size = struct.calcsize(_ADDRESS) * len(addresses)
    listed = bytearray(len(opening) + 4 + size + len(opening))
    listed[:len(opening)] = opening
    struct.pack_into("<I", listed, len(opening), len(addresses))
    listed[len(opening) + 4:len(opening) + 4 + size] = addresses
    listed[-len(opening):] = opening
    _kept = (objects, seen, addresses, listed)
    return listed


def unpack(listed):
    """The addresses of a packed list, checked the way the host checks it."""
    opening = marker()
    if not listed.startswith(opening):
        raise ValueError("not a list of objects: the marker is missing")
    (count,) = struct.unpack_from("<I", listed, len(opening))
    end = len(opening) + 4 + struct.calcsize(_ADDRESS) * count
    if listed[end:] != opening:
        raise ValueError(f"the list says {count} addresses, and does not close after them")
    addresses = array.array(_ADDRESS)
    addresses.frombytes(listed[len(opening) + 4:end])
    return addresses.tolist()
