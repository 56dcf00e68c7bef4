"""Dashboards and homes over the analytics rollups: the creator's and the seller's dashboards, the
LIVE dashboard, the Creator Studio home, the Seller Center's "today" and the operator console home
(docs/analytics.md, "Dashboards", "LIVE dashboard", "Homes")."""
