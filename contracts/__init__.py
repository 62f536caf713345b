"""Contracts for the RunAPI image API: catalog, JSON Schemas, validation, signing, OpenAPI and strategies."""

from .catalog import Action, Catalog, Model, load_catalog
from .registry import UnknownSchema, load_schema, schema_names
from .validate import Violation, errors_by_field, normalize_request, validate_request, validate_response

__all__ = [
    "Action",
    "Catalog",
    "Model",
    "UnknownSchema",
    "Violation",
    "errors_by_field",
    "load_catalog",
    "load_schema",
    "normalize_request",
    "schema_names",
    "validate_request",
    "validate_response",
]


def __getattr__(name: str) -> str:
    """`__version__`, read from the installed metadata when asked for: importing importlib.metadata (email
    parsing included) at every import of the package was a tenth of the server's start."""
    if name == "__version__":
        from importlib import metadata

        return metadata.version("runapi-mock")  # one version: mockserver/version.py, which pyproject.toml reads
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
