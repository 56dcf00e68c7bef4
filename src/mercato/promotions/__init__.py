"""Coupons and vouchers (PRODUCT.md C8); flash deals and price rules arrive later."""
