"""WSGI entry point for any WSGI server: ``gunicorn grants.wsgi:app`` (``grants serve`` does the same)."""
from grants.app import create_app

app = create_app()
