"""Models arrive with this app's capability; the app is registered so its place in the layout is fixed."""
