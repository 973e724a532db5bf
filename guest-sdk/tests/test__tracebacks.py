"""Tracebacks for the log: the app's frames named as its author knows them,
the SDK's own frames left out."""

import importlib
import sys

import pytest

from terrarium import _tracebacks


@pytest.fixture
def app_in_folder(tmp_path, monkeypatch):
    """An app module in its own folder (as the sandbox's `/2`), whose
    handler fails three frames below the SDK's dispatch, through json."""
    (tmp_path / "views").mkdir()
    (tmp_path / "views" / "__init__.py").write_text("")
    (tmp_path / "views" / "orders.py").write_text(
        "import json\n"
        "\n"
        "def total(text):\n"
        "    return json.loads(text)['total']\n"
    )
    (tmp_path / "tb_app.py").write_text(
        "from terrarium import App\n"
        "from views.orders import total\n"
        "\n"
        "app = App()\n"
        "\n"
        "@app.get('/boom')\n"
        "def boom(req, res):\n"
        "    return total('{not json')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("tb_app", "views", "views.orders"):
        sys.modules.pop(name, None)
    _tracebacks.configure(str(tmp_path), requirements=())
    yield importlib.import_module("tb_app").app
    _tracebacks.configure()


def failure_of(app):
    """The exception the app's handler raises for GET /boom."""
    with pytest.raises(ValueError) as caught:
        app.handle(app_request("/boom"))
    return caught.value


def app_request(path):
    from terrarium import Request

    return Request(method="GET", path=path)


def test_the_app_frames_are_relative_and_the_sdk_frames_are_gone(app_in_folder, monkeypatch):
    monkeypatch.delenv("TERRARIUM_LOG_SDK_FRAMES", raising=False)
    text = _tracebacks.format_exception(failure_of(app_in_folder))
    assert 'File "tb_app.py", line 8, in boom' in text, text
    assert "    return total('{not json')" in text, "the source line is still shown"
    assert 'File "views/orders.py", line 4, in total' in text, text
    assert 'File "<stdlib>/json/__init__.py"' in text, text
    assert "/terrarium/" not in text, text
    assert text.splitlines()[-1].startswith("json.decoder.JSONDecodeError: Expecting property name"), text


def test_sdk_frames_are_kept_on_request(app_in_folder, monkeypatch):
    monkeypatch.setenv("TERRARIUM_LOG_SDK_FRAMES", "1")
    text = _tracebacks.format_exception(failure_of(app_in_folder))
    assert "/terrarium/app.py" in text and 'File "tb_app.py", line 8' in text, text


def test_an_error_inside_the_sdk_keeps_its_frames():
    from terrarium import Request

    try:
        Request(method="GET", path="/", no_such_field=1)
    except TypeError as error:
        text = _tracebacks.format_exception(error)
    assert "TypeError" in text and "Traceback" in text, text


def test_chained_exceptions_are_tidied_too(app_in_folder, monkeypatch):
    monkeypatch.delenv("TERRARIUM_LOG_SDK_FRAMES", raising=False)
    try:
        try:
            app_in_folder.handle(app_request("/boom"))
        except ValueError as error:
            raise RuntimeError("while totting up") from error
    except RuntimeError as outer:
        text = _tracebacks.format_exception(outer)
    assert text.count('File "views/orders.py"') == 1 and "/terrarium/" not in text, text
    assert "The above exception was the direct cause" in text, text


def test_a_failed_import_shows_the_app_not_the_import_machinery(app_in_folder, tmp_path, monkeypatch):
    monkeypatch.delenv("TERRARIUM_LOG_SDK_FRAMES", raising=False)
    (tmp_path / "broken_on_import.py").write_text("import json\n\njson.loads('{')\n")
    sys.modules.pop("broken_on_import", None)
    with pytest.raises(ValueError) as caught:
        importlib.import_module("broken_on_import")
    text = _tracebacks.format_exception(caught.value)
    assert "<frozen" not in text and "importlib/__init__.py" not in text, text
    assert text.splitlines()[3:5] == [
        '  File "broken_on_import.py", line 3, in <module>',
        "    json.loads('{')",
    ], text
