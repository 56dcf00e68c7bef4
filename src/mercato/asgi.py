"""ASGI entry point for uvicorn and other servers: ``mercato.asgi:app``."""

from mercato.app import create_app

app = create_app()
