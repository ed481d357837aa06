"""Kazoo 4.3 design documents, one sub-folder per class of database (see README.md).

A package only so the folder ships in the wheel; read it with importlib.resources."""
