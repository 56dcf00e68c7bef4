"""Coupons and vouchers (docs/promotions.md); flash deals and price rules arrive later."""
