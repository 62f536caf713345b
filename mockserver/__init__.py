"""runapi-mock: an offline mock of the RunAPI image-generation API."""

from .app import create_app
from .settings import Settings

__version__ = "0.1.0"

__all__ = ["Settings", "__version__", "create_app"]
