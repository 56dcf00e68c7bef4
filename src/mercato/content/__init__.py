"""Shoppable videos and the community around them (docs/videos.md)."""
