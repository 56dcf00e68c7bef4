"""LIVE shopping (PRODUCT.md C7): LIVEs and their stream keys, RTMP ingest and HLS playback,
the real-time room, and selling in the room. See docs/live.md."""
