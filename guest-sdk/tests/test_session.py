import pytest

from terrarium.session import DESTROY, REGENERATE, SAVE, UNCHANGED, Session


def test_unchanged_until_something_changes_even_deep_inside():
    session = Session.from_json('{"cart": {"items": [1]}}')
    assert session.change() == (UNCHANGED, None) and not session.modified
    session["cart"]["items"].append(2)
    assert session.change() == (SAVE, '{"cart":{"items":[1,2]}}')


def test_regenerate_clear_and_destroy():
    session = Session.from_json('{"user": "ada"}')
    session.regenerate()
    assert session.change() == (REGENERATE, '{"user":"ada"}')
    session.clear()
    assert session.change() == (REGENERATE, "{}")
    session.destroy()
    assert session.change() == (DESTROY, None) and len(session) == 0


def test_bad_json_from_the_host_gives_an_empty_session():
    assert Session.from_json("[1, 2]") == {} and Session.from_json("") == {}


def test_values_must_be_json_serializable():
    session = Session()
    session["when"] = object()
    with pytest.raises(TypeError):
        session.change()
