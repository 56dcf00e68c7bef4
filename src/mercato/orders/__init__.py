"""Cart, addresses, checkout, orders, returns, refunds and reviews (PRODUCT.md C3)."""
