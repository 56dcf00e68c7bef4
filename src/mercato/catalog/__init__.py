"""Shops, products, variants, images, categories, brands and the Shop Tab (PRODUCT.md C2)."""
