"""The engine's data: tasks, namespaces, and the snapshot a state store loads. No HTTP, no persistence here."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import quote

from runapi_contracts import load_catalog
from runapi_contracts.catalog import Model
from runapi_contracts.media_output import SourceFacts
from runapi_contracts.output import Output
from runapi_contracts.vocabulary import Outcome, Status

from .. import errors
from ..media import images, kinds
from ..settings import Settings
from . import lifecycle, scenarios
from .clock import VirtualClock
from .delivery import CallbackMode, Delivery
from .journal import Journal
from .ledger import MICROCENTS, Account, Ledger
from .lifecycle import Progression
from .listen import Listeners
from .ratelimit import RateLimiter

JsonValue: TypeAlias = "dict[str, JsonValue] | list[JsonValue] | str | int | float | bool | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"  # a request body as parsed: what a task keeps as its body


@dataclass(frozen=True, slots=True)
class SourceImage:
    """What a task keeps of the source image its output is derived from (sources.py reads it at create): a
    bounded copy of its pixels, so the task renders after the upload expires, and its real size."""

    data: bytes  # PNG or JPEG, long side at most sources.KEPT_LONG_SIDE
    width: int
    height: int
    label: str  # where it came from, for the caption ("upload cat.png", "task 1f2e3d4c image 1")


@dataclass(frozen=True, slots=True)
class SourceMedia:
    """What a task keeps of one source field's file on the mock (sources.py reads it at create): its kind and
    facts (size, length, sound), and either a bounded copy of its bytes (an upload, an image's pixels) or
    the task whose file it is (re-rendered when needed: renders are deterministic)."""

    field: str
    kind: str  # image | video | audio
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    has_audio: bool = False
    data: bytes | None = None
    task_id: str | None = None
    index: int = 0
    label: str = ""  # where it came from, for the caption
    text: str | None = None  # audio: the words it speaks or sings, when the mock made it
    tune: str | None = None  # audio: the seed of the tune it plays, when it is one of the mock's songs

    def facts(self) -> SourceFacts:
        return SourceFacts(self.kind, self.width, self.height, self.duration_seconds, self.has_audio, self.text)


@dataclass(slots=True)
class Task:
    id: str
    namespace: str
    key: str
    family: str
    action: str
    model: str
    body: dict[str, Any]
    created_at: float
    progression: Progression
    outcome: Outcome
    durations: tuple[float, float]
    price: int
    origin: str
    image_format: str = "png"
    aspect_ratio: str | None = None  # unused since the catalog shapes output; kept so old state files load
    resolution: str = "1k"
    failure: tuple[str, str] = errors.DEFAULT_FAILURE  # (message, code) a failed task reports
    client_request_id: str | None = None
    reads: int = 0
    manual_steps: int = 0
    step: int = 0
    status: Status = "pending"
    finished_at: float | None = None
    history: list[tuple[Status, float]] = field(default_factory=list)
    callback_mode: CallbackMode | None = None  # when the request (or its namespace) asked for one
    requested_model: str | None = None  # the name the client sent, echoed back (docs' older names)
    source: SourceImage | None = None  # the primary source on the mock's own files, when it could be read
    media: tuple[SourceMedia, ...] = ()  # every source on the mock's own files (non-image actions)

    @property
    def terminal(self) -> bool:
        return self.status in lifecycle.TERMINAL

    @property
    def has_callback(self) -> bool:
        """Whether the create asked for a callback: its status then moves without a read (see lifecycle)."""
        return isinstance(self.body.get("callback_url"), str)

    def catalog_model(self) -> Model | None:
        entry = load_catalog().action(self.family, self.action)
        return entry.models.get(self.model) if entry is not None else None

    @property
    def kind(self) -> str:
        """What the task's files are: image | video | audio | data (its model's output kind)."""
        model = self.catalog_model()
        return model.kind if model is not None else "image"

    def output(self) -> Output:
        """What the task makes, per its action's output spec (catalog data: no field is named here)."""
        model = self.catalog_model()
        if model is None:  # a task restored from a state file whose model the catalog no longer has
            return Output(1, 1024, 1024, self.image_format)
        facts = {m.field: m.facts() for m in reversed(self.media)}  # the first file of a list field wins
        return model.output(self.body, (self.source.width, self.source.height) if self.source else None, facts)

    def source_media(self, name: str) -> SourceMedia | None:
        """The kept source of field `name` (its first file), if the mock could read it."""
        return next((m for m in self.media if m.field == name), None)

    def image_size(self) -> tuple[int, int]:
        output = self.output()
        return output.width, output.height

    def image_count(self) -> int:
        return self.output().count

    def caption(self, index: int) -> tuple[str, ...]:
        """The lines image `index` shows: model, size, task, prompt, and the source it was derived from (an
        image, or the song a cover is drawn for)."""
        lines = images.caption(self.requested_model or self.model, self.image_size(), self.image_format, self.id,
                               self.body.get("prompt"), index, self.image_count())
        source = self.source.label if self.source is not None else next((m.label for m in self.media if m.label), "")
        return (*lines, f"from {source}") if source else lines

    def image_urls(self, origin: str | None = None) -> list[str]:
        """The file URLs (images, videos...) on `origin` (the reading request's, or the public URL); the
        creating request's origin when none is given (`origin` is kept only for that: URLs are built at
        each read)."""
        kind = self.kind
        ext = images.extension(self.image_format) if kind == "image" else \
            kinds.extension(kind, self.image_format)
        base = f"{origin or self.origin}/files/{self.namespace}/{self.id}"
        return [f"{base}/{index}.{ext}" for index in range(self.image_count())]

    def summary(self, status: str | None = None) -> dict[str, Any]:
        """`{id, task_id, status, model}`: what every answer about a task starts with (create, reads,
        callbacks); the model as the client named it."""
        return {"id": self.id, "task_id": self.id, "status": status or self.status,
                "model": self.requested_model or self.model}

    def file_facts(self, output: Output, urls: Sequence[str] = ()) -> list[dict[str, Any]]:
        """What each file's result item may say about it (output.py's item facts), without rendering it."""
        kind = output.kind
        mime = images.content_type(self.image_format) if kind == "image" else \
            kinds.content_type(kind, self.image_format)
        facts: dict[str, Any] = {"format": self.image_format, "mime_type": mime, "width": output.width,
                                 "height": output.height, "resolution": output.resolution,
                                 "duration": output.duration_seconds, "has_audio": output.has_audio}
        own = kinds.file_facts(kind, self, urls) if kind != "image" else []
        return [{**facts, "index": index, "file_id": f"{self.id}_{index}", **(own[index] if index < len(own) else {})}
                for index in range(output.count)]

    def source_urls(self) -> list[str]:
        """The request's source URLs (every source field that names files), for results that list them."""
        model = self.catalog_model()
        urls: list[str] = []
        for name in model.source_fields if model is not None else ():
            value = self.body.get(name)
            values = value if isinstance(value, list) else [value]
            urls += [v for v in values if isinstance(v, str) and v.startswith(("http://", "https://"))]
        return urls

    def to_body(self, status: str | None = None, *, origin: str | None = None) -> dict[str, Any]:
        """The task as the status routes show it (or will show it at `status`: early callbacks), its image
        URLs on `origin` (see `image_urls`)."""
        status = status or self.status
        body = self.summary(status)
        if status == "completed":
            # The files under the members the action's output spec lays out (`images` for most actions).
            output = self.output()
            urls = self.image_urls(origin)
            data: dict[str, Any] = {}
            if any(str(member.get("from", "")).startswith("data:") for member in output.layout):
                data = kinds.generate(output.layout, self, urls)  # transcripts, lyrics, MIDI, stems
            body.update(output.body(urls, self.file_facts(output, urls), self.body, self.source_urls(), data))
            # A completed task settled exactly its reserved price.
            body["usage"] = {"cost": self.price / MICROCENTS / 100, "generated_images": self.image_count()}
        elif status == "failed":
            body["error"], body["error_code"] = self.failure
        return body


@dataclass(slots=True)
class Upload:
    """A file a client uploaded through the files API: served at its URL until it expires, and a source
    image tasks can read. Its URL is `{origin}/uploads/{namespace}/{id}/{file_name}` (see `url`)."""

    id: str
    namespace: str
    key: str
    file_name: str
    mime_type: str
    data: bytes
    created_at: float
    expires_at: float
    purpose: str = "user_data"

    @property
    def size(self) -> int:
        return len(self.data)

    def expired(self, now: float) -> bool:
        """Past its expiry on the namespace's clock (`now`): as a generated file, strictly after its last moment."""
        return now > self.expires_at

    def url(self, origin: str) -> str:
        return f"{origin}/uploads/{self.namespace}/{self.id}/{quote(self.file_name, safe='')}"


@dataclass(slots=True)
class DirectUpload:
    """A prepared direct upload (POST /api/v1/files/prepare): its bytes come by PUT to its token's URL (no
    auth), then POST /api/v1/files/confirm turns it into an Upload."""

    signed_id: str
    token: str
    key: str
    file_name: str
    byte_size: int
    checksum: str  # base64 of the MD5 the PUT's bytes must have
    content_type: str
    created_at: float
    data: bytes | None = None  # the PUT's bytes, once they came
    upload_id: str | None = None  # the Upload it became, once confirmed


@dataclass(slots=True)
class MultipartUpload:
    """An OpenAI-style upload (POST /v1/uploads): parts are added, then it completes into a file."""

    id: str
    key: str
    filename: str
    size: int  # the bytes declared at create; complete checks the parts add up to it
    mime_type: str
    purpose: str
    created_at: float
    expires_at: float
    parts: dict[str, tuple[float, bytes]] = field(default_factory=dict)  # by part id: (created_at, data)
    status: str = "pending"  # pending | completed | cancelled
    file_id: str | None = None  # the Upload it completed into


@dataclass(slots=True)
class UploadSessions:
    """A namespace's uploads still on their way in: direct uploads (and their PUT tokens), /v1/uploads."""

    direct: dict[str, DirectUpload] = field(default_factory=dict)  # by signed_id
    tokens: dict[str, str] = field(default_factory=dict)  # PUT token -> signed_id
    multipart: dict[str, MultipartUpload] = field(default_factory=dict)  # by id


class Namespace:
    """All state one test (or one user) sees: tasks, clock, ledger, rules, journal, limits."""

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self.clock = VirtualClock(frozen=settings.frozen_clock)
        self.tasks: dict[str, Task] = {}
        # Creation order for pruning: a dict emptied from the front makes next(iter(...)) walk the holes.
        self.order: deque[str] = deque()
        self.ledger = Ledger(settings.balance_cents)
        self.rules = scenarios.RuleBook()
        self.journal = Journal(settings.journal_size)
        self.limiter = RateLimiter(settings.rate_limit)
        self.progression: Progression | None = None
        self.idempotency: dict[tuple[str, str], tuple[str, str]] = {}
        self.flaky: OrderedDict[str, int] = OrderedDict()
        self.due: list[tuple[float, str]] = []  # (clock time, task id) of auto tasks' next status change
        self.callback_mode: CallbackMode | None = None  # the default for this namespace's tasks
        self.uploads: dict[str, Upload] = {}  # by id: the files API's uploads, until they expire
        self.upload_sessions = UploadSessions()  # prepared and multipart uploads not yet files
        self.listeners = Listeners()  # `runapi listen`: listen secrets, sessions and their queues

    def holds_data(self) -> bool:
        """Whether dropping the namespace would lose something: tasks, uploads (done or on their way), rules,
        settings, a clock moved or frozen, an account changed, an open listener or a disabled key. Only a
        namespace that holds none is evicted to make room for a new one (what read-only requests open: their
        journal alone goes with it)."""
        sessions = self.upload_sessions
        return bool(self.tasks or self.uploads or sessions.direct or sessions.multipart or self.idempotency
                    or len(self.rules.to_list()) or self.progression or self.callback_mode
                    or self.clock.state()[0] or self.clock.frozen != self.settings.frozen_clock
                    or self.ledger.holds_data() or self.listeners.holds_data())

    def add(self, task: Task) -> None:
        self.tasks[task.id] = task
        self.order.append(task.id)

    def active_count(self, key: str) -> tuple[int, float | None]:
        """Active tasks of `key`, and clock seconds until the first of them is due to end (if known)."""
        now = self.clock.now()
        active = [t for t in self.tasks.values() if t.key == key and not t.terminal]
        ends = [t.created_at + sum(t.durations) - now for t in active
                if t.progression.mode == "auto" and t.outcome != "stuck"]
        return len(active), (min(ends) if ends else None)


@dataclass
class NamespaceState:
    """What --state keeps of a namespace besides its tasks and accounts."""

    name: str
    clock_offset: float = 0.0
    clock_frozen_at: float | None = None
    progression: Progression | None = None
    callback_mode: CallbackMode | None = None
    starting_microcents: int | None = None  # the balance of keys not seen yet (None: the server's)


@dataclass
class Snapshot:
    """Everything a state store loads, as plain data, in the order it was written; the app hands it out."""

    namespaces: list[NamespaceState] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    accounts: list[tuple[str, str, Account]] = field(default_factory=list)  # (namespace, key, account)
    idempotency: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    # (namespace, key, idempotency key, fingerprint, task id)
    deliveries: list[Delivery] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)  # the files API's, oldest first
