"""The one version of runapi-mock: pyproject.toml reads it from here (`[tool.setuptools.dynamic]`).

A constant, not `importlib.metadata.version(...)`: /healthz answers with it, and importing importlib.metadata
(email parsing included) was a tenth of the server's start.
"""

VERSION = "0.1.0"
