"""LIVE ingest: the RTMP server, the FLV → HLS packager (a child process), clips of a recording."""
