"""The double-entry ledger, settlement and payouts (PRODUCT.md C3, RELIABILITY.md R2–R4)."""
