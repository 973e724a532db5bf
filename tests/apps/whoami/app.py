"""A WSGI app that says how it was reached: the scheme and the host."""


def app(environ, start_response):
    body = f"{environ['wsgi.url_scheme']} {environ.get('HTTP_HOST', '-')}".encode()
    start_response("200 OK", [("content-type", "text/plain")])
    return [body]
