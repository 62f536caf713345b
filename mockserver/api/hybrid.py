"""runapi-core's hybrid path for the synchronous actions: a final answer, or a 202 and a task result to poll.

A hybrid action answers final when its task has ended by the time the create returns (progression
`immediate`: the answer is read at once), else 202 with a non-empty JSON body, `Location: /api/v1/tasks/{id}`
(relative and without any /ns/<name> prefix: httpx appends it to the client's base URL, which carries the
prefix) and a small Retry-After. `GET /api/v1/tasks/{id}` then gives the task result
`{id, status, response: {status, content_type, headers, body}}`, the stored response the SDK decodes as if it
had come directly; while the task runs, `{id, status}` and Retry-After again. A failed task stores the error the
SDK raises (a content-policy refusal or a source that cannot be used 422, any other failure 500) and answers
it directly on the final path.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .. import errors
from ..engine.model import Task
from ..engine.sources import error_code
from .responses import JSON, task_headers
from .sync_answers import Facts, answer

__all__ = ["RETRY_AFTER", "accepted", "final", "stored_response", "task_result"]

RETRY_AFTER = 1.0  # seconds before the first poll of a 202, when the server sets no --poll-retry-after
# A content-policy refusal, and a source the request names that cannot be used (an unknown song): the
# request's fault, so the SDK's ValidationError, naming the field; any other failure is the server's.
_FAILURE_STATUS = {"content_policy_violation": 422,
                   **{error_code(kind): 422 for kind in ("image", "video", "audio", "task")}}


def _failure(task: Task) -> tuple[int, dict[str, Any]]:
    message, code = task.failure
    return _FAILURE_STATUS.get(code, 500), {"error": {"code": code, "message": message}}


def stored_response(task: Task, facts: Facts) -> dict[str, Any]:
    """The response a terminal task stands for: its answer, or the error a failed one raises."""
    headers = {k: v for k, v in task_headers(task.id).items()}
    if task.status == "failed":
        status, body = _failure(task)
        return {"status": status, "content_type": "application/json", "headers": headers, "body": body}
    content_type, content = answer(task, facts)
    return {"status": 200, "content_type": content_type, "headers": headers, "body": content}


def final(task: Task, facts: Facts) -> Response:
    """The direct answer of an ended task (what the stored response would be)."""
    if not task.terminal:
        raise errors.ServiceUnavailable("the action did not finish; try again", code="service_unavailable",
                                        retry_after=RETRY_AFTER, task_id=task.id)
    stored = stored_response(task, facts)
    if isinstance(stored["body"], str):
        return Response(stored["body"], status_code=stored["status"], media_type=stored["content_type"],
                        headers=stored["headers"])
    return JSON(stored["body"], status_code=stored["status"], headers=stored["headers"])


def accepted(task: Task, retry_after: float | None) -> Response:
    """202: the task runs; its result is at the Location (relative: see the module docstring)."""
    headers = task_headers(task.id, retry_after if retry_after is not None else RETRY_AFTER)
    headers["Location"] = f"/api/v1/tasks/{task.id}"
    return JSON({**task.summary(), "task_result_url": headers["Location"]}, status_code=202, headers=headers)


def task_result(task: Task, facts: Facts) -> dict[str, Any]:
    """The task result body: `{id, status}`, with the stored response once the task has ended."""
    body: dict[str, Any] = {"id": task.id, "status": task.status}
    if task.terminal:
        body["response"] = stored_response(task, facts)
        if task.status == "failed":
            body["error"] = task.failure[0]
    return body
