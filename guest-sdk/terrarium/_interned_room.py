"""Room in the interpreter's table of interned strings, made before a
snapshot.

Loading a module's bytecode interns its names (`marshal` does) into one
interpreter-wide dict. On a shared interpreter every instance loads its
app's bytecode after the snapshot: if the snapshot's table happens to be
nearly full, the few new names of the app make it grow, and every instance
pays for the same growth again (rehashing tens of thousands of names into a
fresh table, a millisecond and a half, plus the copy-on-write pages of the
new table). Growing it once, before the snapshot, leaves room for any app's
names.

The table is not reachable from Python, so its growth is seen through
`tracemalloc`: interning strings one at a time, the one whose interning
allocated far more than a string is the one that grew the table. The
strings are then let go (their slots become free for the app's names; a
dict never shrinks until it grows again).
"""

import sys

# Far more than one string (or one chunk of the list holding them), far
# less than the smallest table that matters (a table for thousands of names
# takes hundreds of KiB).
_GROWTH_SEEN_AT = 64 << 10
# More than any table the interpreter starts with can hold.
_MOST_STRINGS = 1 << 20
# The strings are held in chunks, so no list grows by more than a few KiB.
_CHUNK = 512


def make_room():
    """Interns throw-away strings until the table of interned strings has
    grown once, then lets them go. Returns how many it took, or None when
    the growth was not seen (nothing is left interned either way)."""
    try:
        import tracemalloc
    except ImportError:
        return None
    held = []
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for index in range(_MOST_STRINGS):
            if index % _CHUNK == 0:
                held.append([])
            held[-1].append(sys.intern(f"_terrarium_room_{index}"))
            now, _ = tracemalloc.get_traced_memory()
            if now - before > _GROWTH_SEEN_AT:
                return index + 1
            before = now
        return None
    finally:
        tracemalloc.stop()
        held.clear()
