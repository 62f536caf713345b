"""Write the fixtures the video actions need (run once after importing them; kept for the next kind).

A valid request per model (its required fields with the first allowed values, URLs on example.com named
for their media kind), an invalid one per action (a required field left out), and task bodies per new
family in each status. Every valid body is checked against the catalog before it is written.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

from runapi_contracts import load_catalog
from runapi_contracts.validate import validate_request

ROOT = Path(__file__).resolve().parent.parent / "fixtures"
_EXT = {"image": "png", "video": "mp4", "audio": "mp3"}


def _value(name: str, spec: dict[str, Any]) -> Any:
    if "enum" in spec:
        return spec["enum"][0]
    kind = spec.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    media = str(spec.get("media", "image")).split(":")[-1]
    if kind == "array":
        count = max(1, spec.get("min_items", 1))
        return [_value(name.removesuffix("s"), {**spec.get("items", {"type": "string"}), "media": media})
                for _ in range(count)]
    if kind == "string" and (spec.get("format") == "http-url" or name.endswith("_url")):
        return f"https://example.com/{name}.{_EXT.get(media, 'png')}"
    if kind == "string":
        return "a lighthouse keeper waves as a storm rolls in" if "prompt" in name else f"example-{name}"
    if kind in ("integer", "number"):
        return spec.get("default", spec.get("minimum", 1))
    if kind == "boolean":
        return False
    if kind == "object":
        return {}
    return "example"


def main(families: list[str]) -> None:
    catalog = load_catalog()
    for (family, action), target in sorted(catalog.actions.items()):
        if family not in families or next(iter(target.models.values())).kind != "video":
            continue
        for model in target.models.values():
            body = {"model": model.name}
            body.update({name: _value(name, model.fields[name]) for name in model.required if name != "model"})
            problems = validate_request(family, action, body)
            for problem in problems:  # a conditional rule: give the field it asks for
                if problem.field in model.fields and problem.field not in body:
                    body[problem.field] = _value(problem.field, dict(model.fields[problem.field]))
            problems = validate_request(family, action, body)
            if problems:
                print(f"skip {family}/{action}/{model.name}: {problems}", file=sys.stderr)
                continue
            slug = model.name.replace(".", "-")
            _write(ROOT / "requests" / f"{family}.{action}.{slug}-minimal.json", {
                "family": family, "action": action, "body": body, "valid": True, "expect_violations": [],
                "source": "generated from the contract's required fields (tools/video_fixtures.py)"})
        model = next(iter(target.models.values()))
        missing = next((name for name in model.required if name != "model"), None)
        if missing is not None:
            body = {"model": model.name}
            body.update({n: _value(n, model.fields[n]) for n in model.required if n not in ("model", missing)})
            if [(v.field, v.rule) for v in validate_request(family, action, body)] == [(missing, "required")]:
                _write(ROOT / "requests" / f"{family}.{action}.invalid-missing-{missing.replace('_', '-')}.json", {
                    "family": family, "action": action, "body": body, "valid": False,
                    "expect_violations": [{"field": missing, "rule": "required"}], "note": f"{missing} is required"})
    for family in families:
        target = next(a for (f, _), a in sorted(catalog.actions.items()) if f == family)
        model = next(iter(target.models))
        task_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"runapi-mock/{family}"))
        for status in ("pending", "processing", "completed", "failed"):
            body: dict[str, Any] = {"id": task_id, "task_id": task_id, "model": model, "status": status}
            if status == "completed":
                body["videos"] = [{"url": f"https://file.runapi.ai/generated/{task_id}/0.mp4"}]
                body["usage"] = {"cost": 0.25, "generated_images": 1}
            if status == "failed":
                body["error"] = "Content policy violation"
            path = ROOT / "responses" / f"task.{family}.{status}.json"
            if not path.exists():
                _write(path, {"schema": "task", "body": body})


def _write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
