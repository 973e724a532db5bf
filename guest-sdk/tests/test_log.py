from terrarium import log


def test_without_a_host_messages_go_to_stderr(capsys):
    log.info("hello")
    log.error("bad")
    assert capsys.readouterr().err == "[info] hello\n[error] bad\n"


def test_with_a_host_messages_go_through_the_import():
    written = []

    class Levels:
        DEBUG, INFO, WARNING, ERROR = "d", "i", "w", "e"

    log._attach(lambda level, message: written.append((level, message)), Levels)
    try:
        log.warning("careful")
        log.debug(42)
    finally:
        log._attach(None, None)
    assert written == [("w", "careful"), ("d", "42")]
