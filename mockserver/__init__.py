"""runapi-mock: an offline mock of the RunAPI API (images, video, audio and music)."""

from .serving.app import create_app
from .settings import Settings
from .version import VERSION as __version__  # one version, which pyproject.toml reads

__all__ = ["Settings", "__version__", "create_app"]
