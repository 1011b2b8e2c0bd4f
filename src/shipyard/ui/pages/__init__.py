"""One module per page of the web UI, each exposing ``router`` (see :data:`shipyard.ui.app.PAGES`)."""
