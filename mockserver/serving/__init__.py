"""Serving: the app's wiring (`create_app`), the server and CLI, the in-process client, the dashboard."""
