"""The standard library's `logging` to stdout or stderr reaches the host's
log a record at a time, at its own level, its traceback tidied."""

import io
import logging
import sys

import pytest

from terrarium import _logging, _tracebacks, log


class Levels:
    DEBUG, INFO, WARNING, ERROR = "debug", "info", "warning", "error"


@pytest.fixture
def host_log(monkeypatch):
    """The records the host receives, with the shim installed."""
    monkeypatch.setattr(logging.StreamHandler, "emit", logging.StreamHandler.emit)
    _logging.install()
    written = []
    log._attach(lambda level, message: written.append((level, message)), Levels)
    yield written
    log._attach(None, None)


def logger_to(stream, name):
    logger = logging.getLogger(name)
    logger.handlers[:] = []
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    return logger


def test_a_record_with_a_traceback_is_one_record_at_its_level(host_log):
    logger = logger_to(sys.stderr, "shop")
    try:
        {}["missing"]
    except KeyError:
        logger.exception("could not load the cart")
    logger.info("two\nlines")
    logger.debug("quiet")
    assert [level for level, _ in host_log] == ["error", "info", "debug"]
    level, message = host_log[0]
    first, rest = message.split("\n", 1)
    assert first == "ERROR shop: could not load the cart"
    assert rest.startswith("Traceback (most recent call last):\n"), rest
    assert rest.endswith("KeyError: 'missing'"), rest
    assert "terrarium" not in rest.replace("test__logging.py", ""), "paths tidied, SDK frames gone"
    assert host_log[1] == ("info", "INFO shop: two\nlines")


def test_the_last_resort_handler_and_stdout_go_to_the_host_too(host_log):
    # (pytest gives the root logger handlers: call the last resort itself.)
    logging.lastResort.handle(logging.makeLogRecord({"msg": "no handler anywhere", "levelno": 30}))
    logger_to(sys.stdout, "out").info("to stdout")
    assert ("warning", "no handler anywhere") in host_log
    assert ("info", "INFO out: to stdout") in host_log


def test_other_streams_and_the_build_are_left_alone(host_log, capsys):
    buffer = io.StringIO()
    logger_to(buffer, "file").error("to a file")
    assert buffer.getvalue() == "ERROR file: to a file\n"
    log._attach(None, None)
    logger_to(sys.stderr, "build").warning("while building")
    assert capsys.readouterr().err == "WARNING build: while building\n"
    assert host_log == []


def test_levels_map_to_the_hosts():
    cases = {5: "debug", 10: "debug", 20: "info", 25: "info", 30: "warning", 40: "error", 50: "error"}
    assert {number: _logging.level_name(number) for number in cases} == cases


def test_one_line_names_the_exception_and_its_first_line():
    assert _tracebacks.one_line(RuntimeError("no\nmore")) == "RuntimeError: no"
    assert _tracebacks.one_line(ValueError()) == "ValueError"
