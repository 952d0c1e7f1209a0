"""The web desk: app.py (routes, WSGI server), page.py (HTML), exports.py (csv, json, atom), templates/."""

from watcher.web.app import make_app, make_web_server, serve
from watcher.web.page import http_link, render_page

__all__ = ["http_link", "make_app", "make_web_server", "render_page", "serve"]
