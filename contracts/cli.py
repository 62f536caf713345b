"""Callback, conformance and catalog subcommands (sign, verify, check-webhook, catalog diff, ...) of `runapi-mock`.

They are click commands; `runapi_mock.cli` adds them next to `serve`, and `main(argv)` runs them alone.
Each command returns its exit code: 0 ok, 1 a check failed or an error (one `runapi-mock: error:` line on
stderr), 2 a usage error (click's), 3 `check-webhook` or `conformance` could not reach its URL at all.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

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
from .vocabulary import MICROCENTS_PER_CENT
from .webhook_check import HandlerUnreachable, check_webhook, send_callback

__all__ = ["COMMANDS", "UNREACHABLE", "main", "run"]

SECRET_ENV = "RUNAPI_CALLBACK_SECRET"
UNREACHABLE = 3

F = TypeVar("F", bound=Callable[..., Any])


def _error(message: object, code: int = 1) -> int:
    click.echo(f"runapi-mock: error: {message}", err=True)
    return code


def _secret_option(function: F) -> F:
    return click.option("--secret", envvar=SECRET_ENV, show_envvar=True, default=None,
                        help="base64 callback secret")(function)


def _signing_options(function: F) -> F:
    for option in reversed((
        click.option("--id", "callback_id", required=True, help=f"the {ID_HEADER} value"),
        click.option("--timestamp", required=True, help=f"the {TIMESTAMP_HEADER} value (Unix seconds)"),
        click.option("--body", default=None, help="raw body as a string (default: read stdin)"),
        click.option("--body-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="file holding the exact raw body bytes"),
    )):
        function = option(function)
    return _secret_option(function)


def _need_secret(secret: str | None) -> str:
    if not secret:
        raise InvalidSecret(f"no callback secret: pass --secret or set {SECRET_ENV}")
    return secret


def _body(body: str | None, body_file: Path | None) -> bytes:
    if body is not None and body_file is not None:
        raise click.UsageError("--body and --body-file are mutually exclusive")
    if body is not None:
        return body.encode()
    if body_file is not None:
        return body_file.read_bytes()
    return sys.stdin.buffer.read()


@click.command("sign", help="Print the X-Callback-Signature for a body.")
@_signing_options
def sign_command(secret: str | None, callback_id: str, timestamp: str, body: str | None,
                 body_file: Path | None) -> int:
    try:  # the secret first: without one, do not sit waiting for a body on stdin
        key = _need_secret(secret)
        click.echo(sign(key, callback_id, timestamp, _body(body, body_file)))
    except SignatureError as exc:
        return _error(exc)
    return 0


@click.command("verify", help="Check a callback signature: prints 'ok' or 'invalid: <reason>'.")
@_signing_options
@click.option("--signature", required=True, help=f"the {SIGNATURE_HEADER} value")
@click.option("--tolerance", type=int, default=300, show_default=True, help="seconds of clock skew allowed")
@click.option("--now", type=float, default=None, help="Unix time to verify at (default: the clock)")
def verify_command(secret: str | None, callback_id: str, timestamp: str, body: str | None,
                   body_file: Path | None, signature: str, tolerance: int, now: float | None) -> int:
    headers = {ID_HEADER: callback_id, TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature}
    try:
        key = _need_secret(secret)
        verify(key, headers, _body(body, body_file), now=now, tolerance=tolerance)
    except SignatureError as exc:
        click.echo(f"invalid: {exc}")
        return 1
    click.echo("ok")
    return 0



def _http_error() -> type[Exception]:
    """httpx.HTTPError, imported when a command needs it: `runapi-mock serve` loads this module for its other
    commands and starts faster without httpx (issue 24)."""
    import httpx

    return httpx.HTTPError

@click.command("send-callback", help="POST one signed callback to URL, print the status.")
@click.argument("url")
@_secret_option
@click.option("--status", type=click.Choice(["completed", "failed"]), default="completed", show_default=True)
@click.option("--task-id", default=None, help="task id in the payload (default: a fresh UUID)")
def send_callback_command(url: str, secret: str | None, status: str, task_id: str | None) -> int:
    try:
        response = send_callback(url, _need_secret(secret), status=status,  # type: ignore[arg-type]
                                 task_id=task_id)
    except (_http_error(), SignatureError) as exc:
        return _error(exc)
    click.echo(str(response.status_code))
    return 0 if response.is_success else 1


@click.command("check-webhook", help="Probe the webhook handler at URL with valid and forged callbacks. "
               f"Exit 0 when it passes, 1 when a case fails, {UNREACHABLE} when it cannot be reached.")
@click.argument("url")
@_secret_option
def check_webhook_command(url: str, secret: str | None) -> int:
    try:
        report = check_webhook(url, _need_secret(secret))
    except SignatureError as exc:
        return _error(exc)
    except HandlerUnreachable as exc:
        return _error(exc, UNREACHABLE)
    click.echo(report.table())
    return 0 if report.passed else 1


@click.command("generate-secret", help="Print a new random callback secret (base64).")
def generate_secret_command() -> int:
    click.echo(generate_secret())
    return 0


def _unreachable(base_url: str) -> str | None:
    """Why nothing answers at base_url (one line, as check-webhook says it), or None when something does."""
    import httpx  # lazily, as _http_error: serve starts faster without it

    try:
        with httpx.Client(timeout=10.0, trust_env=False) as client:
            client.get(base_url)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as exc:
        reason = " ".join(str(exc).split()) or "no reason given"
        return f"cannot reach {base_url}: {type(exc).__name__}: {reason}"
    return None


@click.command("conformance", help="Check a server against the contracts; prints a table, exit 0 when every "
               f"check passes, {UNREACHABLE} when the target cannot be reached.")
@click.option("--target", required=True, help="the server's base URL, or 'live' (needs $RUNAPI_API_KEY)")
@click.option("--api-key", default=None, help="bearer key (default: $RUNAPI_API_KEY, else conformance-key)")
@click.option("--examples", type=click.IntRange(min=1), default=None,
              help="Hypothesis examples per action (default 10; live 1)")
@_secret_option
@click.option("--wait", type=float, default=None, help="seconds to poll a task for its end (default 60)")
@click.option("--seed", type=int, default=None, help="make the generated requests reproducible")
@click.option("--base-url", default=None,
              help="live mode: API origin (default: $RUNAPI_BASE_URL or https://runapi.ai)")
@click.option("--budget-cents", type=float, default=25.0, show_default=True,
              help="live mode: stop before spending more")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runapi-drift"),
              show_default=True, help="live mode: where drift-report.json/.md go")
def conformance_command(target: str, api_key: str | None, examples: int | None, secret: str | None,
                        wait: float | None, seed: int | None, base_url: str | None, budget_cents: float,
                        report_dir: Path) -> int:
    from .conformance import Target, live_target, run_live_conformance, run_server_conformance

    live = target == "live"
    try:
        if live:
            checked = live_target(api_key, base_url, callback_secret=secret)
        else:
            key = api_key or os.environ.get("RUNAPI_API_KEY") or "conformance-key"
            unreachable = _unreachable(target)  # else every check fails alone: a table of ConnectError rows
            if unreachable:
                return _error(unreachable, UNREACHABLE)
            checked = Target(target, api_key=key, callback_secret=secret)
    except (ValueError, _http_error()) as exc:
        return _error(exc)
    with checked:
        if live:
            live_run = run_live_conformance(checked, budget_cents=budget_cents, examples=examples or 1,
                                        report_dir=report_dir, wait=wait or 300.0)
            report = live_run.report
            click.echo(report.table())
            spent = live_run.guard.spent_microcents / MICROCENTS_PER_CENT
            written = ", ".join(map(str, live_run.written or ()))
            click.echo(f"spent {spent:g} of {budget_cents:g} cents in {live_run.guard.creates} create(s); "
                       f"drift report: {written}")
        else:
            report = run_server_conformance(checked, examples=examples or 10, wait=wait or 60.0, seed=seed)
            click.echo(report.table())
    return 0 if report.passed else 1


@click.group("catalog", help="Import RunAPI's contract into the catalog, or diff a newer one against it.")
def catalog_group() -> None:
    pass


@catalog_group.command("import", help="Build catalog.json from a contract and the overlay.")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="where to write the catalog (default: print it); the packaged one is contracts/catalog.json")
def catalog_import_command(path: Path, out: Path | None) -> int:
    from .importer import ContractError, import_file, render_catalog

    try:
        text = render_catalog(import_file(path))
    except (OSError, ContractError) as exc:
        return _error(exc)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
    return 0


@catalog_group.command("diff", help="Print what a contract adds, removes or changes against the committed "
                                    "catalog (or against an older contract); exit 1 when it differs, 2 when it "
                                    "cannot be read.")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--against", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="an older contract to diff against instead of the committed catalog; the actions the "
                   "catalog does not serve are then compared too, marked (not served)")
def catalog_diff_command(path: Path, against: Path | None) -> int:
    from .drift import diff_contract
    from .importer import ContractError

    try:
        lines = diff_contract(path, against=against)
    except (OSError, ContractError) as exc:
        return _error(exc, 2)
    click.echo("\n".join(lines) if lines else "no changes")
    return 1 if lines else 0


@catalog_group.command("routes", help="Print the README's route table from the packaged catalog.")
def catalog_routes_command() -> int:
    from .catalog import load_catalog, route_table

    click.echo(route_table(load_catalog()), nl=False)
    return 0


COMMANDS: tuple[click.Command, ...] = (
    sign_command, verify_command, send_callback_command, check_webhook_command, generate_secret_command,
    conformance_command, catalog_group,
)


def run(command: click.Command, argv: Sequence[str] | None = None) -> int:
    """Run a click command and return its exit code, as argparse-style `main` functions do.

    A usage error prints click's usage and message to stderr and raises `SystemExit(2)`; an `OSError` or
    `ValueError` from the command becomes one `runapi-mock: error:` line and exit 1, never a traceback.
    """
    try:
        result = command.main(args=None if argv is None else list(argv), prog_name="runapi-mock",
                              standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.Abort:
        return _error("aborted")
    except (OSError, ValueError) as exc:
        return _error(exc)
    return result if isinstance(result, int) else 0


_group = click.Group("runapi-mock", commands=list(COMMANDS), help="RunAPI callback and conformance tools.")


def main(argv: Sequence[str] | None = None) -> int:
    """These subcommands alone (`runapi-mock` adds `serve`)."""
    return run(_group, argv)
