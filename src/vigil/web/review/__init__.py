"""The review app (``vigil review CASE``): FastAPI routes, Jinja2 templates, own static files.

Separate from the matching service (``vigil.web`` proper): another app, another
port, loopback by default. ``app.create_app`` assembles it over a
``vigil.review.service.ReviewSession``.
"""
