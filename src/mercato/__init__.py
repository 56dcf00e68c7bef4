"""Mercato: an open-source, self-hostable community-commerce platform."""

__version__ = "0.1.0"
