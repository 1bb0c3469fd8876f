"""A bare Flask "hello", served beside the portal so figures are ratios on the same machine."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
