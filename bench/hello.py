"""A bare Flask "hello", served beside the portal so figures are ratios on the same machine."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"


def null_app(environ, start_response):
    """A WSGI app that does nothing: the HTTP server's own ceiling on this machine."""
    body = b'{"decision":"granted"}\n'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
