"""Cart, addresses, checkout, orders, returns, refunds and reviews (docs/orders.md)."""
