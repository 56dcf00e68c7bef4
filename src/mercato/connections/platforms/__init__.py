"""One module per platform: its API bodies mapped to the importer's records (pure functions) and a
client that pages through the catalog, reads one product and pushes orders."""
