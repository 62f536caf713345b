"""Contracts subcommands of the runapi-mock CLI: callbacks (sign, verify, send-callback, check-webhook),
conformance, and catalog (import, diff)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import httpx

from .signing import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidSecret,
    SignatureError,
    generate_secret,
    sign,
    verify,
)
from .webhook_check import check_webhook, send_callback

__all__ = ["register"]

SECRET_ENV = "RUNAPI_CALLBACK_SECRET"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the callback subcommands; each sets `func(args) -> int` (the exit code)."""
    p = subparsers.add_parser("sign", help="print the X-Callback-Signature for a body")
    _add_signing_args(p)
    p.set_defaults(func=_sign)

    p = subparsers.add_parser("verify", help="check a callback signature: prints 'ok' or 'invalid: <reason>'")
    _add_signing_args(p)
    p.add_argument("--signature", required=True)
    p.add_argument("--tolerance", type=int, default=300, help="seconds of clock skew allowed (default 300)")
    p.add_argument("--now", type=float, default=None, help="Unix time to verify at (default: the clock)")
    p.set_defaults(func=_verify)

    p = subparsers.add_parser("send-callback", help="POST one signed callback, print the status")
    p.add_argument("url")
    _add_secret(p)
    p.add_argument("--status", choices=("completed", "failed"), default="completed")
    p.add_argument("--task-id", default=None, help="task id in the payload (default: a fresh UUID)")
    p.set_defaults(func=_send_callback)

    p = subparsers.add_parser("check-webhook", help="probe a webhook handler with valid and forged callbacks")
    p.add_argument("url")
    _add_secret(p)
    p.set_defaults(func=_check_webhook)

    p = subparsers.add_parser("generate-secret", help="print a new random callback secret (base64)")
    p.set_defaults(func=lambda args: _print(generate_secret()))

    _conformance_parser(subparsers)
    _catalog_parser(subparsers)


def _catalog_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    p = subparsers.add_parser("catalog", help="import RunAPI's contract into the catalog, or diff a newer one")
    commands = p.add_subparsers(dest="catalog_command", required=True)
    imp = commands.add_parser("import", help="build catalog.json from a contract and the overlay")
    imp.add_argument("path", type=Path, help="RunAPI's contract.json")
    imp.add_argument("--out", type=Path, default=None,
                     help="where to write the catalog (default: print it); the packaged one is "
                          "contracts/catalog.json")
    imp.set_defaults(func=_catalog_import)
    diff = commands.add_parser("diff", help="print what a contract adds, removes or changes against the "
                               "committed catalog; exit 1 when it differs")
    diff.add_argument("path", type=Path, help="RunAPI's contract.json")
    diff.set_defaults(func=_catalog_diff)
    routes = commands.add_parser("routes", help="print the README's route table from the packaged catalog")
    routes.set_defaults(func=_catalog_routes)


def _conformance_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    p = subparsers.add_parser("conformance", help="check a server against the contracts; prints a table, "
                              "exit 0 when every check passes")
    p.add_argument("--target", required=True, help="the server's base URL, or 'live' (needs $RUNAPI_API_KEY)")
    p.add_argument("--api-key", default=None,
                   help="bearer key (default: $RUNAPI_API_KEY, else conformance-key)")
    p.add_argument("--examples", type=int, default=None,
                   help="Hypothesis examples per action (default 10; live 1)")
    _add_secret(p)
    p.add_argument("--wait", type=float, default=None, help="seconds to poll a task for its end (default 60)")
    p.add_argument("--seed", type=int, default=None, help="make the generated requests reproducible")
    live = p.add_argument_group("live mode (--target live)")
    live.add_argument("--base-url", default=None,
                      help="API origin (default: $RUNAPI_BASE_URL or https://runapi.ai)")
    live.add_argument("--budget-cents", type=float, default=25.0,
                      help="stop before spending more (default 25)")
    live.add_argument("--report-dir", type=Path, default=Path("runapi-drift"),
                      help="where drift-report.json/.md go (default ./runapi-drift)")
    p.set_defaults(func=_conformance)


def _add_secret(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--secret", default=None, help=f"base64 callback secret (default: ${SECRET_ENV})")


def _add_signing_args(parser: argparse.ArgumentParser) -> None:
    _add_secret(parser)
    parser.add_argument("--id", required=True, dest="callback_id", help=f"the {ID_HEADER} value")
    parser.add_argument("--timestamp", required=True, help=f"the {TIMESTAMP_HEADER} value (Unix seconds)")
    body = parser.add_mutually_exclusive_group()
    body.add_argument("--body", default=None, help="raw body as a string (default: read stdin)")
    body.add_argument("--body-file", type=Path, default=None, help="file holding the exact raw body bytes")


def _secret(args: argparse.Namespace) -> str:
    secret = args.secret or os.environ.get(SECRET_ENV)
    if not secret:
        raise InvalidSecret(f"no callback secret: pass --secret or set {SECRET_ENV}")
    return secret


def _body(args: argparse.Namespace) -> bytes:
    if args.body is not None:
        return str(args.body).encode()
    if args.body_file is not None:
        return Path(args.body_file).read_bytes()
    return sys.stdin.buffer.read()


def _print(text: str, code: int = 0) -> int:
    print(text)
    return code


def _sign(args: argparse.Namespace) -> int:
    try:
        return _print(sign(_secret(args), args.callback_id, args.timestamp, _body(args)))
    except SignatureError as exc:
        print(f"runapi-mock: error: {exc}", file=sys.stderr)
        return 1


def _verify(args: argparse.Namespace) -> int:
    headers = {ID_HEADER: args.callback_id, TIMESTAMP_HEADER: args.timestamp}
    headers[SIGNATURE_HEADER] = args.signature
    try:
        verify(_secret(args), headers, _body(args), now=args.now, tolerance=args.tolerance)
    except SignatureError as exc:
        return _print(f"invalid: {exc}", 1)
    return _print("ok")


def _send_callback(args: argparse.Namespace) -> int:
    try:
        response = send_callback(args.url, _secret(args), status=args.status, task_id=args.task_id)
    except (httpx.HTTPError, SignatureError) as exc:
        print(f"runapi-mock: error: {exc}", file=sys.stderr)
        return 1
    return _print(str(response.status_code), 0 if response.is_success else 1)


def _check_webhook(args: argparse.Namespace) -> int:
    try:
        report = check_webhook(args.url, _secret(args))
    except SignatureError as exc:
        print(f"runapi-mock: error: {exc}", file=sys.stderr)
        return 1
    return _print(report.table(), 0 if report.passed else 1)


def _conformance(args: argparse.Namespace) -> int:
    from .conformance import Target, live_target, run_live_conformance, run_server_conformance

    if args.examples is not None and args.examples < 1:
        print("runapi-mock: error: --examples must be at least 1", file=sys.stderr)
        return 2
    secret = args.secret or os.environ.get(SECRET_ENV)
    try:
        if args.target == "live":
            target = live_target(args.api_key, args.base_url, callback_secret=secret)
        else:
            key = args.api_key or os.environ.get("RUNAPI_API_KEY") or "conformance-key"
            target = Target(args.target, api_key=key, callback_secret=secret)
    except (ValueError, httpx.HTTPError) as exc:
        print(f"runapi-mock: error: {exc}", file=sys.stderr)
        return 1
    with target:
        if args.target == "live":
            run = run_live_conformance(target, budget_cents=args.budget_cents, examples=args.examples or 1,
                                       report_dir=args.report_dir, wait=args.wait or 300.0)
            report = run.report
            print(report.table())
            print(f"spent {run.guard.spent_microcents / 1e6:g} of {args.budget_cents:g} cents in "
                  f"{run.guard.creates} create(s); drift report: {', '.join(map(str, run.written or ()))}")
        else:
            report = run_server_conformance(target, examples=args.examples or 10, wait=args.wait or 60.0,
                                            seed=args.seed)
            print(report.table())
    return 0 if report.passed else 1


def _catalog_import(args: argparse.Namespace) -> int:
    from .importer import ContractError, import_file, render_catalog

    try:
        text = render_catalog(import_file(args.path))
    except (OSError, ContractError) as exc:
        print(f"runapi-mock: error: {exc}", file=sys.stderr)
        return 1
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0


def _catalog_diff(args: argparse.Namespace) -> int:
    from .drift import diff_contract
    from .importer import ContractError

    try:
        lines = diff_contract(args.path)
    except (OSError, ContractError) as exc:
        print(f"runapi-mock: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines) if lines else "no changes")
    return 1 if lines else 0


def _catalog_routes(args: argparse.Namespace) -> int:
    from .catalog import load_catalog, route_table

    sys.stdout.write(route_table(load_catalog()))
    return 0
