"""runapi-mock: an offline mock of the RunAPI image-generation API."""

from importlib import metadata

from .serving.app import create_app
from .settings import Settings

__version__ = metadata.version("runapi-mock")  # one version: pyproject.toml's

__all__ = ["Settings", "__version__", "create_app"]
