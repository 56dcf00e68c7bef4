"""Shops, products, variants, images, categories, brands and the Shop Tab (docs/catalog-import.md for imports)."""
