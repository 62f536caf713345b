"""`runapi-mock`: serve the mock, and the signing/webhook/conformance tools of `runapi_contracts.cli`.

Every `serve` option also comes from a `RUNAPI_MOCK_*` variable: a flag beats the variable, the variable
beats the `Settings` default, and `Settings` parses every value, whichever way it came.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import click
from click.core import ParameterSource

from runapi_contracts.cli import COMMANDS, run

from .settings import SERVE_OPTIONS, InvalidSetting, Option, Settings, parse_setting


def _parsed_by_settings(field: str, multiple: bool) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback that parses with `Settings`' own parser, so a flag and a variable mean the same."""

    def parse(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if multiple:  # repeated flags, or a variable's list (click splits it on spaces; we also split on commas)
            value = ",".join(value)
        try:
            return parse_setting(field, value)
        except InvalidSetting as exc:
            raise click.BadParameter(str(exc), ctx, param, param_hint=_given_by(param, ctx)) from None

    return parse


def _given_by(param: click.Parameter, ctx: click.Context) -> str | None:
    """Name the one place a bad value came from: the variable that was set, or the flag."""
    if not isinstance(param, click.Option) or param.name is None:
        return None
    if ctx.get_parameter_source(param.name) is ParameterSource.ENVIRONMENT:
        names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
        given = next((name for name in names if os.environ.get(name)), None)
        if given:
            return f"environment variable {given}"
    return f"'{param.opts[0]}'"


_METAVARS = {"progression": "MODE", "state_path": "PATH", "callback_secret": "SECRET", "host": "HOST",
             "api_keys": "KEY", "allow_callback_hosts": "HOST", "allowed_hosts": "HOST",
             "allow_source_hosts": "HOST", "public_url": "URL", "log_format": "FORMAT",
             "user_name": "NAME", "user_email": "EMAIL", "seed": "NUMBER", "poll_retry_after": "NUMBER"}


def _click_option(option: Option, default: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    common: dict[str, Any] = {"envvar": list(option.env), "show_envvar": True, "help": option.help,
                              "callback": _parsed_by_settings(option.field, option.multiple)}
    if option.multiple:
        return click.option(option.flag, option.field, multiple=True, metavar=_METAVARS[option.field], **common)
    if isinstance(default, bool):  # a flag; click reads its variable as a boolean (1/0, true/false, ...)
        return click.option(option.flag, option.field, is_flag=True, default=default, **common)
    # Text in, text to the callback: the option's type is click's STRING, whatever the field's type.
    metavar = _METAVARS.get(option.field, "NUMBER" if isinstance(default, (int, float)) else "TEXT")
    default_text = None if default is None else str(default)
    return click.option(option.flag, option.field, default=default_text, show_default=default is not None,
                        metavar=metavar, **common)


def _serve_options(function: Callable[..., Any]) -> Callable[..., Any]:
    defaults = Settings()
    for option in reversed(SERVE_OPTIONS):
        function = _click_option(option, getattr(defaults, option.field))(function)
    return function


@click.command("serve", help="Serve the mock API (Ctrl-C or SIGTERM stops it). Each option can also be set "
               "by the environment variable shown; the flag wins.")
@_serve_options
def serve(**values: Any) -> int:
    return serve_command(Settings(**values))


def settings_from_args(argv: Sequence[str]) -> Settings:
    """The Settings `runapi-mock serve ARGV` would use, with the environment's variables applied."""
    with serve.make_context("serve", list(argv)) as ctx:
        return Settings(**ctx.params)


def serve_command(settings: Settings) -> int:
    from . import access_log, server
    from .app import create_app

    _log_to_stderr()
    app = create_app(settings)  # the dispatcher settles the secret: given, else stored (--state), else new
    dispatcher = app.state.dispatcher
    origin = {"given": "", "restored": f" (from {settings.state_path})", "generated": " (generated)"}
    stack = server.fastest_stack()
    slower = stack.http == "h11" or (stack.loop == "asyncio" and sys.platform != "win32")
    hint = "  (slower: install uvicorn[standard] for uvloop and httptools)" if slower else ""
    console = None if settings.quiet else access_log.attach(app, sys.stdout, settings.log_format)

    def ready(base_url: str) -> None:
        print(f"runapi-mock serving on {base_url}  (progression {settings.progression})", flush=True)
        print(f"callback secret{origin[dispatcher.secret_source]}: {dispatcher.secret}", flush=True)
        print(f"server: uvicorn on {stack.loop} (event loop) + {stack.http} (HTTP parser){hint}", flush=True)
        if settings.state_path:
            print(f"state: {settings.state_path} (tasks, credits and owed callbacks survive restarts)", flush=True)
        hosts = host_names(settings)
        if hosts:
            print(hosts, flush=True)
        print(f"dashboard: {base_url}/_mock/ui/", flush=True)
        print(f"admin API: {base_url}/_mock/   OpenAPI: {base_url}/openapi.json", flush=True)
        key = settings.api_keys[0] if settings.api_keys else "test-key"  # with --api-key, only those answer
        print("try:", flush=True)
        print(f"  curl -s -X POST {base_url}/api/v1/flux_kontext/text_to_image \\\n"
              f"    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n"
              "    -d '{\"model\": \"flux-kontext-pro\", \"prompt\": \"a red bicycle\"}'", flush=True)
        if console is not None:
            console.start()  # the request log begins after the banner

    try:
        server.serve_forever(settings, ready, app=app, stack=stack)
    except KeyboardInterrupt:
        pass
    finally:
        if console is not None:
            console.stop()
    return 0


def host_names(settings: Settings) -> str | None:
    """Bound beyond loopback (--host 0.0.0.0): which Host names the mock answers on (hosts.py), else None."""
    from .hosts import host_name, is_loopback

    if is_loopback(host_name(settings.host)):
        return None
    named = list(settings.allowed_hosts)
    if settings.public_url:
        named.insert(0, urlsplit(settings.public_url).hostname or settings.public_url)
    also = f" and {', '.join(named)}" if named else ""
    return (f"hosts: answering on localhost, IP addresses{also}; other host names (a docker-compose service name) "
            "need --allowed-host NAME")


def _log_to_stderr() -> None:
    """The server's own notes (tasks restored, callbacks still owed at shutdown) go to stderr, one line each."""
    logger = logging.getLogger("runapi_mock")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("runapi-mock: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


cli = click.Group("runapi-mock", commands=[serve, *COMMANDS],
                  help="An offline mock of the RunAPI image API, and tools to test against it.")


def main(argv: Sequence[str] | None = None) -> int:
    return run(cli, argv)


if __name__ == "__main__":
    sys.exit(main())
