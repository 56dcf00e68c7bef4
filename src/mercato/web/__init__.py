"""The server-rendered web app: layout, shared templates, static assets."""
