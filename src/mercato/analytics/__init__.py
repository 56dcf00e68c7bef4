"""Analytics: server-side event capture, incremental rollups and the dashboards (docs/analytics.md)."""
