"""Contracts for the RunAPI image API: catalog, JSON Schemas, validation, signing, OpenAPI and strategies."""

from importlib import metadata

from .catalog import Action, Catalog, Model, load_catalog
from .registry import UnknownSchema, load_schema, schema_names
from .validate import Violation, errors_by_field, normalize_request, validate_request, validate_response

__version__ = metadata.version("runapi-mock")  # one version: pyproject.toml's

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
