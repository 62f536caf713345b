"""Server-wide settings: one frozen object, from code (`Settings(...)`), the environment or `runapi-mock serve`.

Every value goes through `parse_setting`, whichever way it came: `Settings(progression="immediate")`,
`RUNAPI_MOCK_PROGRESSION=immediate` and `--progression immediate` give the same `Progression`, and a bad
value is refused where it is given, naming the field, the variable or the flag, instead of failing later.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit

from .lifecycle import Progression

ENV_PREFIX = "RUNAPI_MOCK_"
LOG_FORMATS = ("text", "json")  # of serve's request log on the console


class InvalidSetting(ValueError):
    """A settings value that cannot be parsed or is out of range; the message names where it came from."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one mock server.

    Args:
        progression: default progression for new tasks (`auto`, `immediate`, `manual`, `polls:N`, or a
            `Progression`).
        speed: divides the catalog's auto timings (10 = ten times faster than the real service).
        balance_cents: starting balance of every account.
        user_name, user_email: the user `GET /api/v1/me` shows for every key (RunAPI's own local smoke test
            expects these defaults); `PUT /_mock/accounts/{key}` sets them per key.
        api_keys: when non-empty, only these bearer keys are accepted.
        rate_limit: requests per minute per key (0 = off); max_concurrent: active tasks per key (0 = off).
        poll_retry_after: seconds sent as Retry-After on pending/processing status reads (None = no header);
            the official SDKs wait that long instead of their 2 s default.
        retention_seconds: tasks (and their files) older than this on the clock are forgotten.
        file_ttl_seconds: generated image URLs (and uploads' URLs) answer 410 after this.
        max_upload_bytes: the largest file the files API takes (base64 bodies may be 4/3 of it).
        render_cache_bytes: rendered videos and audio kept in memory for repeated downloads; past it the
            least recently used are dropped (and rendered again if asked for).
        max_upload_total_bytes: the bytes every namespace's uploads (and uploads on their way) hold together.
        max_namespaces: namespaces kept; past it one that holds nothing is dropped, else a new one is a 429.
        journal_body_bytes: a request body the journal keeps whole; a longer one is cut, its size recorded.
        max_api_key_length: the longest API key accepted (401 past it).
        callback_schedule: seconds between callback attempts; its length + 1 is the attempt cap.
        state_path: a SQLite file that keeps tasks, ledger, secret, clocks and owed callbacks across
            restarts (None: everything lives in memory).
        public_url: the http(s)://host[:port][/path] clients reach the mock at, behind a proxy: the base of
            every image URL, callbacks' included (None: each read's own origin; callbacks, the creating
            request's).
        allowed_hosts: Host names served besides loopback, IP literals and the public_url's host (a guard
            against DNS rebinding): `mock`, `.example.test` for a domain and its subdomains, `all` for any.
        allow_source_hosts: hosts a files `url` source may be fetched from (`host` or `host:port`); none by
            default, loopback included: the mock's own files are read without a fetch.
        log_format, quiet: `runapi-mock serve`'s request log on stdout (`text` or `json`), or none; an app
            made in code never logs to the console.

    Values may also be given as text (`port="8787"`, `api_keys="a,b"`, `frozen_clock="true"`), as the
    environment gives them; each is parsed into the field's type, or `InvalidSetting` is raised.
    """

    host: str = "127.0.0.1"
    port: int = 8787
    progression: Progression = field(default_factory=Progression)
    speed: float = 1.0
    balance_cents: int = 5000
    user_name: str = "Demo User"
    user_email: str = "demo@example.com"
    api_keys: tuple[str, ...] = ()
    rate_limit: int = 0
    max_concurrent: int = 0
    seed: int | None = None
    poll_retry_after: float | None = None
    retention_seconds: float = 7 * 86400
    file_ttl_seconds: float = 7 * 86400
    max_tasks_per_namespace: int = 100_000
    max_namespaces: int = 1000
    journal_size: int = 1000
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 30 * 1024 * 1024
    render_cache_bytes: int = 256 * 1024 * 1024
    max_upload_total_bytes: int = 512 * 1024 * 1024
    journal_body_bytes: int = 16 * 1024
    max_api_key_length: int = 256
    callback_secret: str | None = None
    allow_callback_hosts: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    allow_source_hosts: tuple[str, ...] = ()
    callback_schedule: tuple[float, ...] = (1, 2, 4, 8, 16, 32)
    callback_timeout: float = 10.0
    callback_concurrency: int = 16
    frozen_clock: bool = False
    state_path: str | None = None
    public_url: str | None = None
    log_format: str = "text"
    quiet: bool = False

    def __post_init__(self) -> None:
        for item in fields(self):
            try:
                parsed = parse_setting(item.name, getattr(self, item.name))
            except InvalidSetting as exc:
                raise InvalidSetting(f"Settings.{item.name}: {exc}") from None
            object.__setattr__(self, item.name, parsed)  # frozen: the one write, at construction

    def replace(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from the `RUNAPI_MOCK_*` variables of `SERVE_OPTIONS`; `overrides` win, defaults fill in.

        An empty variable counts as unset. A bad value raises `InvalidSetting` naming the variable.
        """
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for option in SERVE_OPTIONS:
            name, value = next(((n, env[n]) for n in option.env if env.get(n, "").strip()), ("", None))
            if value is not None:
                try:
                    changes[option.field] = parse_setting(option.field, value)
                except InvalidSetting as exc:
                    raise InvalidSetting(f"{name}: {exc}") from None
        return cls(**{**changes, **overrides})


@dataclass(frozen=True)
class Option:
    """One `runapi-mock serve` option: the Settings field it sets, its flag, its variables and its help."""

    field: str
    flag: str
    env: tuple[str, ...]
    help: str
    multiple: bool = False


# The serve options, in --help order. The first variable is the one documented; later ones are older names.
SERVE_OPTIONS = (
    Option("host", "--host", ("RUNAPI_MOCK_HOST",), "interface to listen on"),
    Option("port", "--port", ("RUNAPI_MOCK_PORT",), "port to listen on; 0 picks a free port"),
    Option("progression", "--progression", ("RUNAPI_MOCK_PROGRESSION",),
           "how tasks move: auto | immediate | manual | polls:N"),
    Option("speed", "--speed", ("RUNAPI_MOCK_SPEED",), "divide auto timings by this"),
    Option("balance_cents", "--balance", ("RUNAPI_MOCK_BALANCE", "RUNAPI_MOCK_BALANCE_CENTS"),
           "starting balance in cents"),
    Option("user_name", "--user-name", ("RUNAPI_MOCK_USER_NAME",), "the user name GET /api/v1/me shows"),
    Option("user_email", "--user-email", ("RUNAPI_MOCK_USER_EMAIL",), "the user email GET /api/v1/me shows"),
    Option("api_keys", "--api-key", ("RUNAPI_MOCK_API_KEYS",),
           "accept only these keys (repeatable; the variable takes a comma list)", multiple=True),
    Option("rate_limit", "--rate-limit", ("RUNAPI_MOCK_RATE_LIMIT",), "requests per minute per key (0 = off)"),
    Option("max_concurrent", "--max-concurrent", ("RUNAPI_MOCK_MAX_CONCURRENT",),
           "active tasks per key (0 = off)"),
    Option("seed", "--seed", ("RUNAPI_MOCK_SEED",), "make task ids reproducible"),
    Option("poll_retry_after", "--poll-retry-after", ("RUNAPI_MOCK_POLL_RETRY_AFTER",),
           "Retry-After seconds on pending/processing reads (SDKs poll at that pace)"),
    Option("max_namespaces", "--max-namespaces", ("RUNAPI_MOCK_MAX_NAMESPACES",),
           "namespaces kept; past it one holding nothing is dropped, else a new one is refused (429)"),
    Option("journal_size", "--journal-size", ("RUNAPI_MOCK_JOURNAL_SIZE",), "requests kept in the journal"),
    Option("retention_seconds", "--retention", ("RUNAPI_MOCK_RETENTION", "RUNAPI_MOCK_RETENTION_SECONDS"),
           "seconds tasks are kept"),
    Option("file_ttl_seconds", "--file-ttl", ("RUNAPI_MOCK_FILE_TTL", "RUNAPI_MOCK_FILE_TTL_SECONDS"),
           "seconds image URLs live (410 after)"),
    Option("max_upload_bytes", "--max-upload-bytes", ("RUNAPI_MOCK_MAX_UPLOAD_BYTES",),
           "the largest file the files API takes, in bytes"),
    Option("render_cache_bytes", "--render-cache-bytes", ("RUNAPI_MOCK_RENDER_CACHE_BYTES",),
           "memory kept for rendered videos and audio, in bytes (least recently used dropped past it)"),
    Option("max_upload_total_bytes", "--max-upload-total-bytes", ("RUNAPI_MOCK_MAX_UPLOAD_TOTAL_BYTES",),
           "the bytes all uploads hold together; past it an upload is refused (507)"),
    Option("journal_body_bytes", "--journal-body-bytes", ("RUNAPI_MOCK_JOURNAL_BODY_BYTES",),
           "request bodies the journal keeps whole, in bytes; longer ones are cut and their size recorded"),
    Option("max_api_key_length", "--max-api-key-length", ("RUNAPI_MOCK_MAX_API_KEY_LENGTH",),
           "the longest API key accepted, in characters (401 past it)"),
    Option("frozen_clock", "--frozen-clock", ("RUNAPI_MOCK_FROZEN_CLOCK",),
           "start with every namespace's clock frozen"),
    Option("callback_secret", "--callback-secret", ("RUNAPI_MOCK_CALLBACK_SECRET", "RUNAPI_CALLBACK_SECRET"),
           "base64 callback signing secret (default: stored with --state, else generated)"),
    Option("allow_callback_hosts", "--allow-callback-host", ("RUNAPI_MOCK_ALLOW_CALLBACK_HOSTS",),
           "deliver callbacks to this host too; loopback is always allowed (repeatable; the variable takes "
           "a comma list)", multiple=True),
    Option("allowed_hosts", "--allowed-host", ("RUNAPI_MOCK_ALLOWED_HOSTS",),
           "answer requests for this Host too (a docker-compose service name, a LAN name); loopback, IP "
           "addresses and the --public-url host always; .example.test allows a domain and its subdomains, all "
           "any host (repeatable; the variable takes a comma list)", multiple=True),
    Option("allow_source_hosts", "--allow-source-host", ("RUNAPI_MOCK_ALLOW_SOURCE_HOSTS",),
           "fetch files-API url sources from this host or host:port (default: none, loopback included; the "
           "mock's own files need no fetch) (repeatable; the variable takes a comma list)", multiple=True),
    Option("state_path", "--state", ("RUNAPI_MOCK_STATE", "RUNAPI_MOCK_STATE_PATH"),
           "keep tasks, credits, clocks, the secret and owed callbacks in this SQLite file across restarts "
           "(default: in memory)"),
    Option("public_url", "--public-url", ("RUNAPI_MOCK_PUBLIC_URL",),
           "base of image URLs, for a mock behind a proxy (default: the origin each request reached it at)"),
    Option("log_format", "--log-format", ("RUNAPI_MOCK_LOG_FORMAT",),
           "the request log on stdout: text (coloured on a terminal) | json (one object a line)"),
    Option("quiet", "--quiet", ("RUNAPI_MOCK_QUIET",), "print no request log (the banner still prints)"),
)


# --- parsing: one function per field type, each taking the typed value or its text ---

_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidSetting(f"must be a string, got {value!r}")
    return value


def _integer(value: object) -> int:
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidSetting(f"must be a whole number, got {value!r}")


def _number(value: object) -> float:
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = value  # kept as given: an int default stays an int in /_mock/settings
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
    if number is None or not math.isfinite(number):
        raise InvalidSetting(f"must be a number, got {value!r}")
    return number


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidSetting(f"must be true or false (1/0, yes/no, on/off), got {value!r}")


def _progression(value: object) -> Progression:
    if isinstance(value, Progression):
        return value
    if isinstance(value, str):
        try:
            return Progression.parse(value)
        except ValueError as exc:
            raise InvalidSetting(str(exc)) from None
    raise InvalidSetting(f"must be a Progression or one of auto, immediate, manual, polls:N, got {value!r}")


def _items(parse: Callable[[object], Any]) -> Callable[[object], tuple[Any, ...]]:
    """A list field: a comma-separated string (as a variable holds it), or any list or tuple."""

    def parse_items(value: object) -> tuple[Any, ...]:
        if isinstance(value, str):
            return tuple(parse(part.strip()) for part in value.split(",") if part.strip())
        if isinstance(value, (list, tuple)):
            return tuple(parse(part) for part in value)
        raise InvalidSetting(f"must be a list or a comma-separated string, got {value!r}")

    return parse_items


def _optional(parse: Callable[[object], Any]) -> Callable[[object], Any]:
    return lambda value: None if value is None or value == "" else parse(value)


# Keyed by the annotation as written in Settings (a string under `from __future__ import annotations`).
_BY_TYPE: dict[str, Callable[[object], Any]] = {
    "str": _text, "int": _integer, "float": _number, "bool": _boolean, "Progression": _progression,
    "tuple[str, ...]": _items(_text), "tuple[float, ...]": _items(_number),
}
_PARSERS: dict[str, Callable[[object], Any]] = {
    item.name: (_optional(_BY_TYPE[str(item.type).removesuffix(" | None")]) if str(item.type).endswith(" | None")
                else _BY_TYPE[str(item.type)])
    for item in fields(Settings)
}
# Lower bounds (inclusive); port also has an upper one. Speed divides, so it must be above zero.
_AT_LEAST: dict[str, float] = {
    "port": 0, "balance_cents": 0, "rate_limit": 0, "max_concurrent": 0, "poll_retry_after": 0,
    "retention_seconds": 0, "file_ttl_seconds": 0, "max_tasks_per_namespace": 1, "max_namespaces": 1,
    "journal_size": 0, "max_body_bytes": 1, "max_upload_bytes": 1, "max_upload_total_bytes": 1,
    "journal_body_bytes": 0, "max_api_key_length": 1, "render_cache_bytes": 0, "callback_timeout": 0,
    "callback_concurrency": 1,
}

# Upper bounds (inclusive): a file's expiry (the clock plus its TTL) must stay a writable date (clock.LATEST).
_AT_MOST: dict[str, float] = {"file_ttl_seconds": 1000 * 365 * 86400}


def parse_setting(name: str, value: object) -> Any:
    """Parse one Settings field from its typed value or its text; `InvalidSetting` names what is wrong."""
    parsed = _PARSERS[name](value)
    low = _AT_LEAST.get(name)
    if low is not None and parsed is not None and parsed < low:
        raise InvalidSetting(f"must be at least {low:g}, got {value!r}")
    high = _AT_MOST.get(name)
    if high is not None and parsed is not None and parsed > high:
        raise InvalidSetting(f"must be at most {high:g}, got {value!r}")
    if name == "port" and parsed > 65535:
        raise InvalidSetting(f"must be at most 65535, got {value!r}")
    if name == "speed" and parsed <= 0:
        raise InvalidSetting(f"must be above 0, got {value!r}")
    if name == "log_format" and parsed not in LOG_FORMATS:
        raise InvalidSetting(f"must be one of {', '.join(LOG_FORMATS)}, got {value!r}")
    if name == "callback_schedule" and any(delay < 0 for delay in parsed):
        raise InvalidSetting(f"delays must be at least 0, got {value!r}")
    if name == "public_url" and parsed is not None:
        parsed = _base_url(parsed)
    if name in _HOST_ENTRIES:
        pattern, example = _HOST_ENTRIES[name]
        bad = [entry for entry in parsed if not pattern.fullmatch(entry)]
        if bad:
            raise InvalidSetting(f"must be host names such as {example} (no scheme or path), got {bad[0]!r}")
    return parsed


_HOST = r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\]"
_HOST_ENTRIES = {  # the host allow-lists hosts.py and files_api.py read
    "allowed_hosts": (re.compile(rf"all|\*|\.?({_HOST})"), "runapi-mock, .example.test or all"),
    "allow_source_hosts": (re.compile(rf"({_HOST})(:[0-9]{{1,5}})?"), "images.internal or 127.0.0.1:9000"),
}


def _base_url(value: str) -> str:
    """An absolute http(s) URL with no query or fragment, without its trailing slash."""
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise InvalidSetting(f"must be an absolute http(s) URL such as https://mock.example:8443, got {value!r}")
    return value.strip().rstrip("/")
