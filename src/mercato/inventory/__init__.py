"""Stock in three tiers: on hand, reservations with a TTL, allocations (docs/architecture.md,
"Concurrency and money rules")."""
