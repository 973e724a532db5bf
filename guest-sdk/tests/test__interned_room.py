import sys
import tracemalloc

from terrarium import _interned_room


def _largest_single_interning(count, prefix):
    """The most memory one `sys.intern` of `count` new strings allocated."""
    held = []
    largest = 0
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for index in range(count):
            held.append(sys.intern(f"{prefix}{index}"))
            now, _ = tracemalloc.get_traced_memory()
            largest = max(largest, now - before)
            before = now
    finally:
        tracemalloc.stop()
    return largest


def test_after_it_an_apps_names_are_interned_without_growing_the_table():
    assert _interned_room.make_room() > 0
    # An app's own names: a few hundred.
    assert _largest_single_interning(500, "_an_apps_name_") < _interned_room._GROWTH_SEEN_AT


def test_without_it_enough_new_names_grow_the_table():
    # The check above can fail: enough names do make the table grow.
    assert _largest_single_interning(200_000, "_many_names_") > _interned_room._GROWTH_SEEN_AT

