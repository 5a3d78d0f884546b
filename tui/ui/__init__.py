"""Textual glue between the app, its session and its screens: the relay (session
results -> messages), the Now controller, the ctrl+p providers, the terminal's raw
writes and graphics."""
