"""Default system_config documents the service installs with `setup`.

A package only so the folder ships in the wheel; read it with importlib.resources."""
