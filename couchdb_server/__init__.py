"""The embedded CouchDB-3-like dev/test server (server.js, see README.md).

A package only so the launcher and its npm lock file ship in the wheel."""
