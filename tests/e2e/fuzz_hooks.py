"""Schemathesis hooks for fuzzing the mock: `st run` loads this file (`make fuzz`), test_fuzz.py too.

One hook, and why: a multipart form sends every plain field as text. Schemathesis makes a negative multipart
case by changing a text field's type (`purpose` an integer, a boolean, null), but what reaches the server is
that value's text, `-3420924` or `false`: a valid purpose, rightly accepted. Schemathesis declines such type
changes itself for form-urlencoded bodies (`change_type` in specs/openapi/negative/mutations.py), not for
multipart ones. So a negative multipart case whose body, as the wire carries it, is valid against the
operation's schema is dropped here: it is not negative data. Every other negative multipart case (a blank or
missing field, an unknown one, a repeated one) is sent and must be refused.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.transforms import to_wire_text
from schemathesis.generation import GenerationMode

from runapi_contracts import load_catalog
from runapi_contracts.plans import ACCOUNT_MEDIA

MULTIPART = "multipart/form-data"


def as_sent(body: dict[str, Any]) -> dict[str, Any]:
    """A multipart body as the server reads it: a file is bytes (validated as "", as schemathesis does: its
    format says nothing), a plain field its text (JSON spelling for booleans, null, objects); a list of one is
    that one field, any other list is no field or several of one name, and stays a list (invalid: the server
    takes each field once)."""
    sent: dict[str, Any] = {}
    for name, value in body.items():
        if isinstance(value, (bytes, bytearray)) or type(value).__name__ == "Binary":
            sent[name] = ""
        elif isinstance(value, list) and len(value) != 1:  # none (absent) or several fields: stays a list
            sent[name] = value
        elif isinstance(value, list):  # one field, the same on the wire as a plain value
            sent.update(as_sent({name: value[0]}))
        else:
            sent[name] = value if isinstance(value, str) else to_wire_text(value)
    return sent


def negative_on_the_wire(case: schemathesis.Case) -> bool:
    """False for a negative multipart case whose body, as sent, satisfies the operation's schema."""
    meta = case.meta
    if meta is None or case.media_type != MULTIPART or not isinstance(case.body, dict):
        return True
    negative = {location for location, info in meta.components.items() if info.mode == GenerationMode.NEGATIVE}
    if negative != {ParameterLocation.BODY}:  # negative elsewhere (a header, the path): that is checked
        return True
    content = case.operation.definition.raw.get("requestBody", {}).get("content", {})
    schema = content.get(MULTIPART, {}).get("schema")
    if schema is None:
        return True
    return not jsonschema.Draft202012Validator(schema).is_valid(as_sent(case.body))


# Fields naming a resource of the caller's account (a Suno persona or voice id): a drawn string names none, and
# the mock refuses an unknown one (422, as RunAPI does), so a positive case sending one is not valid data.
ACCOUNT_FIELDS = frozenset(name for model in load_catalog().models() for name, spec in model.fields.items()
                           if spec.get("media") in ACCOUNT_MEDIA)


def names_no_account_resource(case: schemathesis.Case) -> bool:
    if case.meta is not None and case.meta.generation.mode is not GenerationMode.POSITIVE:
        return True
    return not (isinstance(case.body, dict) and ACCOUNT_FIELDS & set(case.body))


def _sync_task_fields() -> dict[str, frozenset[str]]:
    """Path -> the fields naming an earlier task or song, for the synchronous actions and their SDK-only routes."""
    catalog = load_catalog()
    fields: dict[str, frozenset[str]] = {}
    for spec in catalog.actions.values():
        if "sync" in spec.output_spec:
            fields[spec.path] = frozenset(name for model in spec.models.values()
                                          for name, field in model.fields.items()
                                          if str(field.get("media", "")).startswith(("task:", "song:")))
    for route in catalog.sdk_routes:
        family, _, action = str(route.get("action", "")).partition("/")
        target = catalog.action(family, action.replace("-", "_"))
        if route.get("sync") and target is not None:
            renamed = {sent for sent, name in dict(route.get("fields", {})).items() if name in fields[target.path]}
            fields[str(route["path"])] = fields[target.path] | renamed
    return {path: names for path, names in fields.items() if names}


# A synchronous action answers at once, so it resolves a task reference (a Suno song's `task_id` + `audio_id`)
# while answering: a drawn id names no task of the caller's, and the mock refuses it (422 naming the field, as
# an asynchronous action's task fails instead), so a positive case sending one is not valid data either.
SYNC_TASK_FIELDS = _sync_task_fields()


def names_no_earlier_task(case: schemathesis.Case) -> bool:
    if case.meta is not None and case.meta.generation.mode is not GenerationMode.POSITIVE:
        return True
    fields = SYNC_TASK_FIELDS.get(case.operation.path)
    return not (fields and isinstance(case.body, dict) and fields & set(case.body))


@schemathesis.hook
def filter_case(context: Any, case: schemathesis.Case) -> bool:
    return negative_on_the_wire(case) and names_no_account_resource(case) and names_no_earlier_task(case)
