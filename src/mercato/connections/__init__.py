"""Catalog connections: a shop's Shopify, Square, Ecwid or Wix store kept in sync (docs/catalog-import.md)."""
