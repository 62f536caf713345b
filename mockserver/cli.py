"""`runapi-mock`: serve the mock, and the signing/webhook tools of `runapi_contracts.cli`."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from .lifecycle import InvalidProgression, Progression
from .settings import Settings


def _progression(value: str) -> Progression:
    try:
        return Progression.parse(value)
    except InvalidProgression as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _serve_parser(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="serve the mock API")
    defaults = Settings()
    serve.add_argument("--host", default=defaults.host)
    serve.add_argument("--port", type=int, default=defaults.port, help="0 picks a free port")
    serve.add_argument("--progression", type=_progression, default=defaults.progression,
                       help="auto | immediate | manual | polls:N (default auto)")
    serve.add_argument("--speed", type=float, default=defaults.speed, help="divide auto timings by this")
    serve.add_argument("--balance", type=int, default=defaults.balance_cents, help="starting balance in cents")
    serve.add_argument("--api-key", action="append", default=[], help="accept only these keys (repeatable)")
    serve.add_argument("--rate-limit", type=int, default=0, help="requests per minute per key (0 = off)")
    serve.add_argument("--max-concurrent", type=int, default=0, help="active tasks per key (0 = off)")
    serve.add_argument("--seed", type=int, default=None, help="make task ids reproducible")
    serve.add_argument("--poll-retry-after", type=float, default=None,
                       help="Retry-After seconds on pending/processing reads (SDKs poll at that pace)")
    serve.add_argument("--journal-size", type=int, default=defaults.journal_size)
    serve.add_argument("--retention", type=float, default=defaults.retention_seconds,
                       help="seconds tasks are kept")
    serve.add_argument("--file-ttl", type=float, default=defaults.file_ttl_seconds,
                       help="seconds image URLs live (410 after)")
    serve.add_argument("--frozen-clock", action="store_true", help="start with every namespace's clock frozen")
    serve.add_argument("--callback-secret", default=None,
                       help="base64 callback signing secret (default: $RUNAPI_CALLBACK_SECRET or generated)")
    serve.add_argument("--allow-callback-host", action="append", default=[],
                       help="deliver callbacks to this host too (loopback is always allowed)")
    serve.add_argument("--state", default=None, metavar="PATH",
                       help="keep tasks, credits, clocks, the secret and owed callbacks in this SQLite file "
                            "across restarts (default: in memory)")
    serve.set_defaults(func=serve_command)


def settings_from_args(args: argparse.Namespace) -> Settings:
    env = Settings.from_env()
    return Settings(
        host=args.host, port=args.port, progression=args.progression, speed=args.speed,
        balance_cents=args.balance, api_keys=tuple(args.api_key), rate_limit=args.rate_limit,
        max_concurrent=args.max_concurrent, seed=args.seed, poll_retry_after=args.poll_retry_after,
        journal_size=args.journal_size, retention_seconds=args.retention, file_ttl_seconds=args.file_ttl,
        frozen_clock=args.frozen_clock, callback_secret=args.callback_secret or env.callback_secret,
        allow_callback_hosts=tuple(args.allow_callback_host), state_path=args.state or env.state_path,
    )


def serve_command(args: argparse.Namespace) -> int:
    from .app import create_app
    from .server import serve_forever

    settings = settings_from_args(args)
    _log_to_stderr()
    app = create_app(settings)  # the dispatcher settles the secret: given, else stored (--state), else new
    dispatcher = app.state.dispatcher
    origin = {"given": "", "restored": f" (from {settings.state_path})", "generated": " (generated)"}

    def ready(base_url: str) -> None:
        print(f"runapi-mock serving on {base_url}  (progression {settings.progression})", flush=True)
        print(f"callback secret{origin[dispatcher.secret_source]}: {dispatcher.secret}", flush=True)
        if settings.state_path:
            print(f"state: {settings.state_path} (tasks, credits and owed callbacks survive restarts)", flush=True)
        print(f"admin API: {base_url}/_mock/   OpenAPI: {base_url}/openapi.json", flush=True)
        print("try:", flush=True)
        print(f"  curl -s -X POST {base_url}/api/v1/flux_kontext/text_to_image \\\n"
              "    -H 'Authorization: Bearer test-key' -H 'Content-Type: application/json' \\\n"
              "    -d '{\"model\": \"flux-kontext-pro\", \"prompt\": \"a red bicycle\"}'", flush=True)

    try:
        serve_forever(settings, ready, app=app)
    except KeyboardInterrupt:
        pass
    return 0


def _log_to_stderr() -> None:
    """The server's own notes (tasks restored, callbacks still owed at shutdown) go to stderr, one line each."""
    logger = logging.getLogger("runapi_mock")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("runapi-mock: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runapi-mock", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    _serve_parser(subparsers)
    try:
        from runapi_contracts import cli as contracts_cli
    except ImportError:  # pragma: no cover - contracts is part of this distribution
        contracts_cli = None
    if contracts_cli is not None and hasattr(contracts_cli, "register"):
        contracts_cli.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (OSError, ValueError) as exc:
        print(f"runapi-mock: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
