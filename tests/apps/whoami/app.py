"""A WSGI app that says how it was reached: the scheme, the host and the
protocol's version."""


def app(environ, start_response):
    body = f"{environ['wsgi.url_scheme']} {environ.get('HTTP_HOST', '-')} {environ['SERVER_PROTOCOL']}"
    start_response("200 OK", [("content-type", "text/plain")])
    return [body.encode()]
