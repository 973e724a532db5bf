"""__NAME__: a Terrarium app, as a plain WSGI callable (PEP 3333)."""

BODY = b"Hello from __NAME__!\n"


def app(environ, start_response):
    start_response(
        "200 OK",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(BODY)))],
    )
    return [BODY]
