"""The admin OpenAPI document lists every admin route the app serves, each with the methods it serves."""

from __future__ import annotations

import re

from starlette.routing import Mount, Route

from runapi_mock import create_app
from runapi_mock.api.admin_routes import mock_openapi


def served_admin_operations() -> set[tuple[str, str]]:
    """(METHOD, /_mock/path) for every route under the app's /_mock mount, path parameters as OpenAPI writes
    them (`{rule_id:int}` -> `{rule_id}`)."""
    app = create_app()
    found: set[tuple[str, str]] = set()
    for mount in app.router.routes:
        if isinstance(mount, Mount) and mount.path == "/_mock":
            for route in mount.routes:
                assert isinstance(route, Route)
                path = re.sub(r"\{(\w+):\w+\}", r"{\1}", "/_mock" + route.path)
                found |= {(method, path) for method in route.methods or () if method != "HEAD"}
    assert len(found) > 20, "the /_mock mount was not found"
    return found


def documented_operations(document: dict[str, object]) -> set[tuple[str, str]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return {(method.upper(), path) for path, item in paths.items() for method in item}


def test_every_served_admin_route_is_in_the_document() -> None:
    missing = served_admin_operations() - documented_operations(mock_openapi())
    assert sorted(missing) == []


def test_the_document_lists_no_admin_route_the_app_does_not_serve() -> None:
    documented = {op for op in documented_operations(mock_openapi()) if op[1].startswith("/_mock")}
    assert sorted(documented - served_admin_operations()) == []


def test_the_table_serves_exactly_the_paths_the_admin_client_calls() -> None:
    from runapi_contracts.admin_paths import AdminPath
    from runapi_mock.api.admin_routes import TABLE

    vocabulary = {value for name, value in vars(AdminPath).items() if name.isupper()}
    assert sorted(route.path for route in TABLE) == sorted(vocabulary)
