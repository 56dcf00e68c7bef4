"""Stock in three tiers: on hand, reservations with a TTL, allocations (ENGINEERING.md rule 2)."""
