"""The synchronous actions' routes: a create that answers with the action's result, at once or by a 202.

Each synchronous action of the catalog (output spec ``sync``) is served at its contract route and at the
routes its SDK calls instead (the catalog's ``sdk_routes``: Fish Audio's voices, OpenAI's multipart
transcriptions, Suno's personas...). A create is admitted, validated and priced like any task's (ledger,
idempotency, journal, namespaces, scenarios); then `plain` actions answer final, and `hybrid` ones final
when their task has ended (progression `immediate`) or 202 + Location (hybrid.py). Reads of the account's
voices answer from its resources, with no task.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from runapi_contracts import Catalog, Violation, load_catalog
from runapi_contracts.validate import check_request

from ..engine.lifecycle import Progression
from ..engine.model import Task
from ..media import audio, speech
from . import hybrid, speech_files, sync_reads
from .admission import Admission, admit, image_origin, settings_of, validation_failed
from .endpoints import store_task, task_response
from .sync_answers import Facts, answer_name, stable_id
from .transcripts import DEFAULT_SECONDS, Heard

__all__ = ["facts", "sync_routes"]

_IMMEDIATE = Progression(mode="immediate")
_HEARD_LIMIT = 1000  # the newest completed tasks an uploaded file is compared with (its speech files)
_CREATES = {"fish_voice": "fish_voice", "persona": "persona"}  # answer -> the account resource it makes


def facts(request: Request, admitted: Admission) -> Facts:
    """What an answer may look up: the key's own tasks, and file URLs on the reading request's origin."""
    engine, ns, key = admitted.engine, admitted.namespace, admitted.key
    base = image_origin(request)

    def find(task_id: str) -> Task | None:
        task = engine.find(ns, task_id)
        return task if task is not None and task.key == key else None

    return Facts(find, lambda task: speech_files.speech_file(task, base))


def _renamed(body: object, fields: Mapping[str, str]) -> object:
    """The SDK's field names in the contract's (Suno's source_task_id is the contract's task_id)."""
    if not isinstance(body, dict) or not fields:
        return body
    return {fields.get(name, name): value for name, value in body.items()}


def _check_voice(request: Request, admitted: Admission, family: str, action: str, body: Mapping[str, Any]) -> None:
    """A voice_id must name a voice of the account (Fish Audio refuses an unknown reference)."""
    entry = _spec(family, action)
    kind = entry.get("voice_kind")
    voice = body.get(str(entry.get("voice", "")))
    if isinstance(kind, str) and isinstance(voice, str) and voice and \
            admitted.engine.find_resource(admitted.namespace, admitted.key, kind, voice) is None:
        raise validation_failed(request, [Violation("voice_id", "exists",
                                                    f"voice_id {voice!r} is not a voice of this account",
                                                    "/voice_id")])


def _spec(family: str, action: str) -> Mapping[str, Any]:
    entry = load_catalog().action(family, action)
    return entry.output_spec if entry is not None else {}


async def _run(request: Request, admitted: Admission, family: str, action: str, body: object, sync: str,
               heard: Heard | None = None) -> Response:
    """Validate, create the task, keep what it makes, answer (final or 202)."""
    spec = _spec(family, action)
    reads = sync_reads.READS.get(str(spec.get("answer")))
    normalized, violations = check_request(family, action, body)
    if violations:
        raise validation_failed(request, violations)
    if reads is not None:  # a read of the account's resources: no task, no price
        return reads(admitted, normalized)
    _check_voice(request, admitted, family, action, normalized)
    if heard is not None:
        normalized["file"] = heard.record()
    plain = sync == "plain"
    task, replayed = await store_task(admitted, family, action, normalized,
                                      progression=_IMMEDIATE if plain else None)
    engine = admitted.engine
    made = _CREATES.get(str(spec.get("answer")))
    if made is not None and not replayed and task.outcome == "completed":
        engine.add_resource(admitted.namespace, admitted.key, made, _resource(task, made))
    if plain or task.progression.mode == "immediate":
        task = await run_in_threadpool(engine.read, admitted.namespace, admitted.key, task.id)
    if task.terminal or plain:
        return hybrid.final(task, facts(request, admitted))
    return hybrid.accepted(task, settings_of(request).poll_retry_after)


def _resource(task: Task, kind: str) -> dict[str, Any]:
    prefix = "voice" if kind == "fish_voice" else kind
    return {"id": stable_id(prefix, task.namespace, task.key, task.id), "name": task.body.get("name"),
            "description": task.body.get("description"), "task_id": task.id}


async def create(request: Request, family: str, action: str, sync: str,
                 fields: Mapping[str, str] | None = None) -> Response:
    """POST of a synchronous action with a JSON body (its contract route, or an SDK's)."""
    admitted = await admit(request, body="json", task_controls=True, flaky_by_body=True)
    body = _renamed(admitted.body, fields or {})
    heard = None
    if isinstance(body, dict) and isinstance(body.get("file"), str):  # the contract's `file`: a URL
        heard = _heard_url(admitted, body["file"])
    return await _run(request, admitted, family, action, body, sync, heard)


def _heard_url(admitted: Admission, url: str) -> Heard:
    """A file named by URL: the mock's own speech file says its task's words; anything else is not read."""
    path = url.split("?", 1)[0].split("/")
    said = None
    if len(path) >= 4 and path[-2] == speech_files.SPEECH_DIR:
        task = admitted.engine.find(admitted.namespace, path[-3])
        if task is not None and task.status == "completed" and speech_files.is_speech(task):
            said = speech_files.spoken(task)[0]
    seconds = speech.speech_duration(said) if said else DEFAULT_SECONDS
    return Heard(url.rsplit("/", 1)[-1], 0, hashlib.sha256(url.encode()).hexdigest(), seconds, said)


def _form_body(form: Any, fields: Mapping[str, Mapping[str, Any]], defaults: Mapping[str, Any]
               ) -> tuple[dict[str, Any], UploadFile | str | None]:
    """A multipart form as the action's JSON fields: `name[]` parts are arrays, numbers and booleans typed by
    the field's spec (a value that does not parse stays text, and validation says so); the file apart."""
    body: dict[str, Any] = dict(defaults)
    upload: UploadFile | str | None = None
    for name, value in form.multi_items():
        if isinstance(value, UploadFile) or name == "file":  # a file part without a filename arrives as text
            if name == "file":
                upload = value
            continue
        if name.endswith("[]"):
            body.setdefault(name[:-2], []).append(value)
            continue
        kind = fields.get(name, {}).get("type")
        body[name] = _typed(value, kind)
    return body, upload


def _typed(value: str, kind: object) -> Any:
    try:
        if kind == "number":
            return float(value)
        if kind == "integer":
            return int(value)
    except ValueError:
        return value
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


async def transcribe(request: Request, family: str, action: str, sync: str,
                     defaults: Mapping[str, Any] | None = None) -> Response:
    """POST /v1/audio/transcriptions: OpenAI's multipart form (the file, and every other field a text part)."""
    admitted = await admit(request, body="form", task_controls=True, flaky_by_body=True)
    entry = load_catalog().action(family, action)
    assert entry is not None
    sent = admitted.form.get("model")
    model = entry.models.get(sent if isinstance(sent, str) else str((defaults or {}).get("model")))
    body, upload = _form_body(admitted.form, model.fields if model else {}, defaults or {})
    if upload is None:  # (the middleware closes the parts' temporary files)
        raise validation_failed(request, [Violation("file", "required", "file is required (a multipart file part)",
                                                    "/file")])
    data = await upload.read() if isinstance(upload, UploadFile) else upload.encode("utf-8", "surrogatepass")
    name = (upload.filename if isinstance(upload, UploadFile) else None) or "audio"
    body["file"] = name
    heard = await run_in_threadpool(_hear, admitted, name, data)
    return await _run(request, admitted, family, action, body, sync, heard)


def _hear(admitted: Admission, name: str, data: bytes) -> Heard:
    """What an uploaded file is: the words of the mock's own speech, else only its length (or a guess)."""
    tasks, _ = admitted.engine.list_tasks(admitted.namespace, status="completed", limit=_HEARD_LIMIT)
    said = speech_files.said_by(data, tasks)
    if said is not None:
        seconds = speech.speech_duration(said)
    else:
        try:
            seconds = round(audio.probe_audio(data).duration_seconds, 3) or DEFAULT_SECONDS
        except Exception:  # not audio the mock can read: a guess, as long as a sentence
            seconds = DEFAULT_SECONDS
    return Heard(name, len(data), hashlib.sha256(data).hexdigest(), seconds, said)


async def read(request: Request, family: str, action: str, source: str) -> Response:
    """GET of a synchronous read (Fish Audio's voices): its fields from the query or the path."""
    admitted = await admit(request)
    values = dict(request.query_params) if source == "query" else dict(request.path_params)
    entry_fields = _fields(family, action)
    body = {name: _typed(value, entry_fields.get(name, {}).get("type")) for name, value in values.items()}
    return await _run(request, admitted, family, action, body, "plain")


def _fields(family: str, action: str) -> Mapping[str, Mapping[str, Any]]:
    entry = load_catalog().action(family, action)
    model = next(iter(entry.models.values())) if entry is not None else None
    return model.fields if model is not None else {}


async def task_result(request: Request) -> Response:
    """GET /api/v1/tasks/{task_id}: the task result of the hybrid path (hybrid.py); a task that is not a
    synchronous action's stores its status body as the response."""
    task_id = request.path_params["task_id"]
    admitted = await admit(request, task_id=task_id)
    task = await run_in_threadpool(admitted.engine.read, admitted.namespace, admitted.key, task_id)
    if answer_name(task):
        return task_response(request, task, hybrid.task_result(task, facts(request, admitted)))
    body = task.summary()
    if task.status == "completed":
        body["response"] = {"status": 200, "content_type": "application/json", "headers": {},
                            "body": task.to_body(origin=image_origin(request))}
    elif task.status == "failed":  # as every status route says it: the message and its code
        body["error"], body["error_code"] = task.failure
    return task_response(request, task, body)


def sync_routes(catalog: Catalog) -> list[Route]:
    """The SDK routes of the catalog's synchronous actions (its ``sdk_routes``), and the routes only they have
    (Suno's persona read, the speech files)."""
    routes = []
    for entry in catalog.sdk_routes:
        family, _, action = str(entry["action"]).partition("/")
        target = catalog.action(family.replace("-", "_"), action.replace("-", "_"))
        if target is None:
            continue
        family, action, sync = target.family, target.name, str(entry.get("sync", "plain"))
        body = entry.get("body", "json")
        if body == "multipart":
            handler = partial(transcribe, family=family, action=action, sync=sync,
                              defaults=dict(entry.get("defaults", {})))
        elif body in ("query", "path"):
            handler = partial(read, family=family, action=action, source=str(body))
        else:
            handler = partial(create, family=family, action=action, sync=sync, fields=dict(entry.get("fields", {})))
        routes.append(Route(str(entry["path"]), handler, methods=[str(entry.get("method", "POST"))],
                            name=f"sdk:{entry['method']} {entry['path']}"))
    return [*routes, *sync_reads.routes]
