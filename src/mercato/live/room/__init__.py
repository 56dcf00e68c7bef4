"""The LIVE room: the real-time hub (WebSocket members, fan-out in process or through Redis),
chat rules, likes, viewers and presence, moderation, the pinned product and the bag, reports.
See docs/live.md, "Room"."""
