"""Shoppable videos and the community around them (PRODUCT.md C4)."""
