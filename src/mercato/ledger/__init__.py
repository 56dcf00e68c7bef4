"""The double-entry ledger, settlement and payouts (docs/ledger.md)."""
