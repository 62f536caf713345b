"""The admin API's paths under `/_mock`: one vocabulary for the server's admin route table and `MockAdmin`.

Apart from admin.py so that the server reads them without importing an HTTP client (`runapi-mock serve` starts
without httpx).
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["AdminPath", "admin_path"]


class AdminPath:
    """The admin API's paths under `/_mock`: the server's admin route table serves exactly these (its OpenAPI
    document is generated from that table), and `MockAdmin` calls them. `{name}` marks a path parameter."""

    INDEX = "/"
    RESET = "/reset"
    NAMESPACES = "/namespaces"
    TASKS = "/tasks"
    TASK = "/tasks/{task_id}"
    TASK_STATUS = "/tasks/{task_id}/status"
    TASK_STEP = "/tasks/{task_id}/step"
    JOURNAL = "/journal"
    RULES = "/rules"
    RULE = "/rules/{rule_id}"
    CLOCK = "/clock"
    CLOCK_ADVANCE = "/clock/advance"
    CLOCK_FREEZE = "/clock/freeze"
    CLOCK_UNFREEZE = "/clock/unfreeze"
    BALANCE = "/balance"
    ACCOUNT = "/accounts/{key}"
    CONFIG = "/config"
    CALLBACKS = "/callbacks"
    CALLBACK = "/callbacks/{delivery_id}"
    CALLBACK_REDELIVER = "/callbacks/{delivery_id}/redeliver"
    CALLBACK_SECRET = "/callback-secret"
    CALLBACK_SECRET_ROTATE = "/callback-secret/rotate"
    OPENAPI = "/openapi.json"
    UPLOADS = "/uploads"
    UPLOAD = "/uploads/{upload_id}"
    LISTENERS = "/listeners"
    LISTEN_KEY_DISABLE = "/listeners/keys/{key_id}/disable"
    LISTEN_KEY_ENABLE = "/listeners/keys/{key_id}/enable"
    LISTEN_SESSION_REVOKE = "/listeners/sessions/{token}/revoke"


def admin_path(template: str, **values: str) -> str:
    """`template` (an AdminPath) with its parameters filled in, each percent-encoded as one path segment."""
    return template.format(**{name: quote(value, safe="") for name, value in values.items()})
