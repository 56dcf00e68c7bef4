"""Community events: missions counted from real actions, and their rewards (docs/community.md)."""
