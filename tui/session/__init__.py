"""The session: what the app knows about the tracking server between two screens, polled and
judged without any UI toolkit (a test imports it in a fresh interpreter and checks that
Textual is not loaded). Screens subscribe to its updates; widgets take plain data."""
