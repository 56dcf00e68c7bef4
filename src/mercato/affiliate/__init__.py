"""The affiliate program: plans, the creator marketplace, samples, attribution and commissions (docs/affiliate.md)."""
