// The dashboard's views. Each returns {node, refresh}: node is built once (forms keep what was typed),
// refresh() fetches from the admin API and redraws the data part; the app calls it on every change event.

import { ago, api, badge, cost, dollars, fill, h, imageSrc, pre, query, root, scrolls, shortId, state, time } from "./lib.js";

const PAGE = 50;
const TASK_STATUSES = ["pending", "processing", "completed", "failed"];
const DELIVERY_STATES = ["pending", "sending", "delivered", "exhausted", "blocked"];

function pager(onMove) {
  let offset = 0;
  const summary = h("span", { class: "summary" });
  const newer = h("button", { type: "button", class: "newer", onclick: () => { offset = Math.max(0, offset - PAGE); onMove(); } }, "← Newer");
  const older = h("button", { type: "button", class: "older", onclick: () => { offset += PAGE; onMove(); } }, "Older →");
  return {
    node: h("span", { class: "pager" }, newer, summary, older),
    get offset() { return offset; },
    reset() { offset = 0; },
    show(shown, more, noun, total) {
      const of = total === undefined ? "" : ` of ${total}`;
      summary.textContent = shown ? `${offset + 1}–${offset + shown}${of} ${noun}` : `no ${noun}`;
      newer.disabled = offset === 0;
      older.disabled = !more;
    },
  };
}

function select(name, values, label, onchange) {
  return h("select", { name, "aria-label": label, onchange },
    h("option", { value: "" }, label), values.map((v) => h("option", { value: v }, v)));
}

// A video's poster: its first frame as PNG, drawn by the mock without encoding the clip.
const posterSrc = (url) => `${imageSrc(url)}?poster=1`;

function thumbnail(task) {
  const images = (task.response && task.response.images) || [];
  const videos = (task.response && task.response.videos) || [];
  if (videos.length) {
    return h("img", { class: "thumb poster", loading: "lazy", src: posterSrc(videos[0].url), alt: `video of task ${task.id}` });
  }
  const cover = coversIn(task.response)[0];  // a song's cover art (Suno, Producer)
  if (cover) return h("img", { class: "thumb cover", loading: "lazy", src: imageSrc(cover), alt: `cover of task ${task.id}` });
  if (!images.length) return h("span", { class: "thumb empty" }, task.status === "failed" ? "✕" : "…");
  return h("img", { class: "thumb", loading: "lazy", src: imageSrc(images[0].url), alt: `image of task ${task.id}` });
}

// Audio files a result lists anywhere (audios[].url or .audio_url, wav_url, track, stems...), each once, in
// order; raw PCM/G.711 (no header) cannot play in a browser and is only linked. Words: transcripts and lyrics.
const AUDIO = /\.(mp3|wav|ogg|opus|flac|aac|m4a)$/;
const RAW_AUDIO = /\.(pcm|ulaw|alaw)$/;

// Songs' cover images (audios[].image_url), in order.
const coversIn = (response) => ((response && response.audios) || []).map((a) => a && a.image_url).filter(Boolean);

function urlsIn(value, test, found = []) {
  if (typeof value === "string") {
    const path = value.split("?")[0];
    if (value.includes("/files/") && test.test(path) && !found.includes(path)) found.push(path);
  } else if (value && typeof value === "object") {
    for (const item of Object.values(value)) urlsIn(item, test, found);
  }
  return found;
}

function wordsIn(response) {
  const out = [];
  if (!response) return out;
  if (typeof response.text === "string") out.push(["Transcript", response.text]);
  const sheets = [].concat(response.audios || [], response.track || [], response.lyrics || []);
  for (const item of sheets) {
    const text = item && (typeof item.lyrics === "string" ? item.lyrics : item.text);
    if (typeof text === "string" && text) out.push([item.title ? `Lyrics: ${item.title}` : "Lyrics", text]);
  }
  if (typeof response.validation_phrase === "string") out.push(["Validation phrase", response.validation_phrase]);
  return out;
}

function taskLink(id) {
  return h("a", { href: `#/tasks/${id}`, class: "mono", title: id }, shortId(id));
}

// -- tasks ---------------------------------------------------------------------------------------------

function emptyTasks() {
  const base = `${location.origin}${root}`;
  const namespaceHeader = root ? "" : ` -H 'X-Mock-Namespace: ${state.namespace}'`;
  return h("div", { class: "empty-state" },
    h("p", {}, `No tasks in namespace ${state.namespace} yet. Create one from a terminal; it appears here:`),
    h("pre", {}, `curl -s -X POST ${base}/api/v1/flux_kontext/text_to_image \\\n` +
      `  -H 'Authorization: Bearer test-key' -H 'Content-Type: application/json'${namespaceHeader} \\\n` +
      `  -d '{"model": "flux-kontext-pro", "prompt": "a red bicycle"}'`));
}

export function tasksView(ctx) {
  const filters = { status: "", key: "" };
  const page = pager(() => refresh());
  const status = select("status", TASK_STATUSES, "any status", () => { filters.status = status.value; page.reset(); refresh(); });
  const key = h("input", { name: "key", placeholder: "API key", size: 12, "aria-label": "API key" });
  const keyForm = h("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); filters.key = key.value.trim(); page.reset(); refresh(); } },
    key, h("button", { type: "submit" }, "Filter"));
  const body = h("tbody");
  const rows = new Map();
  const empty = h("div");
  const node = h("section", { class: "view tasks" },
    h("div", { class: "toolbar" }, h("h2", {}, "Tasks"), status, keyForm, page.node),
    scrolls(h("table", { class: "list" },
      h("thead", {}, h("tr", {}, ["Image", "Task", "Model", "Family / action", "Status", "Created", "Updated", "Cost", "Key"].map((t) => h("th", {}, t)))),
      body)),
    empty);

  function row(task) {
    const updated = task.history.length ? task.history[task.history.length - 1].at : task.created_at;
    return h("tr", { dataset: { taskId: task.id, status: task.status }, class: "clickable", onclick: (e) => { if (!e.target.closest("a")) location.hash = `#/tasks/${task.id}`; } },
      h("td", {}, thumbnail(task)),
      h("td", {}, taskLink(task.id)),
      h("td", {}, task.model),
      h("td", {}, `${task.family} / ${task.action}`),
      h("td", { class: "status" }, badge(task.status)),
      h("td", { class: "time" }, time(task.created_at)),
      h("td", { class: "time" }, time(updated)),
      h("td", { class: "num" }, cost(task)),
      h("td", { class: "mono" }, task.key));
  }

  async function refresh() {
    const data = await api("GET", `/tasks${query({ limit: PAGE, offset: page.offset, ...filters })}`);
    page.show(data.tasks.length, data.more, "tasks", filters.status || filters.key ? undefined : data.total);
    const seen = new Map();
    fill(body, ...data.tasks.map((task) => {
      const key = JSON.stringify(task);
      const known = rows.get(task.id);
      const element = known && known.key === key ? known.element : row(task);
      seen.set(task.id, { key, element });
      return element;
    }));
    rows.clear();
    for (const [id, entry] of seen) rows.set(id, entry);
    fill(empty, data.total === 0 ? emptyTasks() : "");
  }
  return { node, refresh };
}

// -- one task ------------------------------------------------------------------------------------------

export function taskView(ctx, taskId) {
  const content = h("div");
  const errorText = h("input", { name: "error", placeholder: "error message (for failed)", size: 28, "aria-label": "Error message" });
  const actions = h("div", { class: "actions" },
    h("button", { type: "button", id: "task-step", onclick: () => ctx.act(() => api("POST", `/tasks/${taskId}/step`)) }, "Step"),
    ["processing", "completed", "failed"].map((status) => h("button", {
      type: "button", class: `force ${status}`, dataset: { force: status },
      onclick: () => ctx.act(() => api("POST", `/tasks/${taskId}/status`,
        status === "failed" && errorText.value.trim() ? { status, error: errorText.value.trim() } : { status })),
    }, `Force ${status}`)),
    errorText);
  const node = h("section", { class: "view task" }, h("p", {}, h("a", { href: "#/tasks" }, "← all tasks")), content);
  // The same <img> across refreshes: the browser neither reloads nor re-decodes it (nor journals a read).
  const shown = new Map();
  const fullImage = (src, alt) => {
    if (!shown.has(src)) shown.set(src, h("img", { class: "full", src, alt }));
    return shown.get(src);
  };
  const coverImage = (src, alt) => {
    if (!shown.has(src)) shown.set(src, h("img", { class: "cover", src, alt }));
    return shown.get(src);
  };
  // The same <video> across refreshes too: a refresh must not restart a clip that is playing.
  const player = (url, label) => {
    const src = imageSrc(url);
    if (!shown.has(src)) {
      shown.set(src, h("video", { class: "full", src, poster: posterSrc(url), controls: "", preload: "metadata",
        "aria-label": label }));
    }
    return shown.get(src);
  };
  // Likewise one <audio> per file: a refresh does not stop what is playing.
  const audioPlayer = (src, label) => {
    if (!shown.has(src)) shown.set(src, h("audio", { controls: "", preload: "none", src, "aria-label": label }));
    return shown.get(src);
  };

  async function refresh() {
    const [task, callbacks, journal] = await Promise.all([
      api("GET", `/tasks/${taskId}`),
      api("GET", `/callbacks${query({ task_id: taskId, limit: 100 })}`),
      api("GET", `/journal${query({ task_id: taskId, limit: 100 })}`),
    ]);
    const images = (task.response && task.response.images) || [];
    const videos = (task.response && task.response.videos) || [];
    const sounds = urlsIn(task.response, AUDIO);
    const raw = urlsIn(task.response, RAW_AUDIO);
    const words = wordsIn(task.response);
    const covers = coversIn(task.response);
    const facts = [
      ["Model", task.model], ["Family / action", `${task.family} / ${task.action}`], ["Key", task.key],
      ["Progression", task.progression], ["Heading for", task.outcome], ["Status reads", task.reads],
      ["Created", time(task.created_at)], ["Finished", time(task.finished_at)], ["Cost", cost(task)],
    ];
    for (const button of actions.querySelectorAll("button[data-force]")) button.hidden = button.dataset.force === task.status;
    fill(content,
      h("h2", {}, "Task ", h("span", { class: "mono" }, task.id), " ", badge(task.status)),
      h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      task.status === "completed" || task.status === "failed" ? h("p", { class: "muted" }, "Terminal: a task keeps its final status.") : actions,
      h("h3", {}, "Status timeline"),
      h("ol", { class: "timeline" }, task.history.map((step, i) => h("li", { dataset: { status: step.status } },
        badge(step.status), " ", h("span", { class: "time" }, time(step.at)),
        i ? h("span", { class: "muted" }, ` (+${(step.at - task.history[i - 1].at).toFixed(1)} s)`) : ""))),
      images.length ? [h("h3", {}, "Images"), h("div", { class: "images" }, images.map((image, i) =>
        h("a", { href: imageSrc(image.url), target: "_blank", rel: "noopener" },
          fullImage(imageSrc(image.url), `image ${i + 1} of task ${task.id}`))))] : "",
      videos.length ? [h("h3", {}, "Videos"), h("div", { class: "videos" }, videos.map((video, i) =>
        h("figure", {}, player(video.url, `video ${i + 1} of task ${task.id}`),
          h("figcaption", {}, h("a", { href: imageSrc(video.url), target: "_blank", rel: "noopener" }, "download")))))] : "",
      sounds.length || raw.length ? [h("h3", {}, "Audio"), covers.length ? h("div", { class: "covers" }, covers.map((url, i) =>
        h("a", { href: imageSrc(url), target: "_blank", rel: "noopener" },
          coverImage(imageSrc(url), `cover ${i + 1} of task ${task.id}`)))) : "",
        h("div", { class: "audios" },
        sounds.map((url, i) => audioPlayer(imageSrc(url), `audio ${i + 1} of task ${task.id}`)),
        raw.map((url) => h("a", { href: imageSrc(url), download: "" }, `${url.split("/").pop()} (raw samples)`)))] : "",
      words.map(([title, text]) => [h("h3", {}, title), h("pre", { class: "words" }, text)]),
      h("div", { class: "bodies" },
        h("div", {}, h("h3", {}, "Request body"), pre(task.request)),
        h("div", {}, h("h3", {}, "Response body (as a status read shows it)"), pre(task.response))),
      h("h3", {}, `Callback deliveries (${callbacks.deliveries.length})`),
      callbacks.deliveries.length ? callbacks.deliveries.map((d) => deliveryCard(ctx, d))
        : h("p", { class: "muted" }, task.request.callback_url ? "None yet: a delivery starts when the task ends." : "No callback_url in the request."),
      h("h3", {}, `Requests for this task (${journal.entries.length})`),
      journalTable(journal.entries));
  }
  return { node, refresh };
}

// -- callbacks -------------------------------------------------------------------------------------------

function deliveryCard(ctx, d) {
  const attempts = d.attempts.map((a) => h("tr", { dataset: { attempt: a.number } },
    h("td", {}, a.number), h("td", { class: "time" }, time(a.at)),
    h("td", {}, a.status_code === null ? (a.error ? "–" : "sending…") : badge(String(a.status_code), a.status_code < 300 ? "delivered" : "failed")),
    h("td", { class: "num" }, a.latency_ms === null ? "–" : `${a.latency_ms} ms`),
    h("td", { class: "error-cell" }, a.error || ""),
    h("td", {}, a.headers ? h("details", { dataset: { key: `${d.id}/${a.number}` } }, h("summary", {}, "headers"), pre(a.headers)) : "–")));
  return h("article", { class: "delivery", dataset: { deliveryId: d.id, state: d.state } },
    h("header", {}, badge(d.state, d.state === "pending" && d.attempts.some((a) => a.error) ? "retrying" : d.state), " ", h("span", { class: "mono", title: d.id }, shortId(d.id)),
      " for task ", taskLink(d.task_id), " → ", h("span", { class: "mono url" }, d.url),
      h("button", { type: "button", class: "redeliver", onclick: () => ctx.act(() => api("POST", `/callbacks/${d.id}/redeliver`)) }, "Redeliver")),
    d.reason ? h("p", { class: "reason" }, d.reason) : "",
    h("p", { class: "muted" }, `created ${time(d.created_at)}`,
      d.next_attempt_at !== null ? ` · next attempt ${time(d.next_attempt_at)} (${ago(d.next_attempt_at, ctx.now())})` : ""),
    d.attempts.length ? scrolls(h("table", { class: "attempts" },
      h("thead", {}, h("tr", {}, ["#", "At", "Status", "Latency", "Error", "Signed headers"].map((t) => h("th", {}, t)))),
      h("tbody", {}, attempts))) : h("p", { class: "muted" }, "No attempt yet."),
    h("details", { dataset: { key: `${d.id}/payload` } }, h("summary", {}, "payload"), pre(d.payload)));
}

export function callbacksView(ctx) {
  const page = pager(() => refresh());
  let stateFilter = "";
  const stateSelect = select("state", DELIVERY_STATES, "any state", () => { stateFilter = stateSelect.value; page.reset(); refresh(); });
  const list = h("div", { class: "deliveries" });
  const node = h("section", { class: "view callbacks" },
    h("div", { class: "toolbar" }, h("h2", {}, "Callback deliveries"), stateSelect, page.node), list);
  async function refresh() {
    const data = await api("GET", `/callbacks${query({ limit: PAGE, offset: page.offset, state: stateFilter })}`);
    page.show(data.deliveries.length, data.more, "deliveries", data.matched);
    fill(list, ...(data.deliveries.length ? data.deliveries.map((d) => deliveryCard(ctx, d))
      : [h("p", { class: "muted" }, "No deliveries: tasks created with a callback_url get one when they end.")]));
  }
  return { node, refresh };
}

// -- journal ---------------------------------------------------------------------------------------------

function journalTable(entries) {
  if (!entries.length) return h("p", { class: "muted" }, "No requests.");
  return h("div", { class: "journal" }, entries.map((e) => {
    return h("details", { class: "entry", dataset: { seq: e.seq, key: `journal/${e.seq}` } },
      h("summary", {}, h("span", { class: "seq" }, `#${e.seq}`), h("span", { class: "time" }, time(e.at)),
        h("span", { class: "method" }, e.method), h("span", { class: "mono path" }, e.path),
        badge(String(e.status), e.status < 300 ? "completed" : e.status < 500 ? "warn" : "failed"),
        e.task_id ? taskLink(e.task_id) : "", e.scenario ? badge(e.scenario, "scenario") : "",
        h("span", { class: "num muted" }, `${e.duration_ms} ms`)),
      h("dl", { class: "facts" }, [["Key", e.key], ["Model", e.model], ["Error code", e.error_code],
        ["Retry-After", e.retry_after], ["Idempotency-Key", e.idempotency_key], ["X-Client-Request-Id", e.client_request_id]]
        .filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      h("h4", {}, "Request body"),
      e.request_body_size !== null && e.request_body_size !== undefined
        ? h("p", { class: "muted" }, `cut: the first ${e.request_body.length} characters of ${e.request_body_size} bytes`)
        : "",
      e.request_body_size !== null && e.request_body_size !== undefined ? h("pre", {}, e.request_body) : pre(e.request_body),
      e.violations.length ? [h("h4", {}, "Contract violations"), pre(e.violations)] : "",
      e.task_id ? h("p", {}, h("a", { href: `#/tasks/${e.task_id}` }, "the task, with its response body →")) : "");
  }));
}

export function journalView(ctx) {
  const names = ["method", "path", "status", "key", "task_id", "scenario", "model"];
  const inputs = Object.fromEntries(names.map((n) => [n, h("input", { name: n, placeholder: n === "path" ? "path prefix" : n, size: n === "path" ? 18 : 9, "aria-label": n })]));
  let filters = {};
  const page = pager(() => refresh());
  const form = h("form", { class: "inline filters", onsubmit: (e) => {
    e.preventDefault();
    filters = Object.fromEntries(names.map((n) => [n, inputs[n].value.trim()]));
    page.reset();
    refresh();
  } }, Object.values(inputs), h("button", { type: "submit" }, "Filter"));
  const list = h("div");
  const size = h("p", { class: "muted" });
  const node = h("section", { class: "view journal-view" }, h("div", { class: "toolbar" }, h("h2", {}, "Journal"), page.node), form, size, list);
  async function refresh() {
    const data = await api("GET", `/journal${query({ limit: PAGE, offset: page.offset, ...filters })}`);
    page.show(data.entries.length, data.more, "requests");
    size.textContent = `The journal keeps the newest ${data.capacity} API requests (${data.size} now). Newest first.`;
    fill(list, journalTable(data.entries));
  }
  return { node, refresh };
}

// -- rules, balances, config -------------------------------------------------------------------------------

export function rulesView(ctx) {
  const scenario = h("select", { name: "scenario", "aria-label": "Scenario", required: true });
  const fields = Object.fromEntries(["count", "method", "path", "model", "key"].map((n) =>
    [n, h("input", { name: n, placeholder: n === "count" ? "count (blank: all)" : n === "path" ? "path glob, e.g. /api/v1/*" : n, size: n === "path" ? 27 : n === "count" ? 20 : 10, "aria-label": n })]));
  const form = h("form", { class: "inline", onsubmit: (e) => {
    e.preventDefault();
    const rule = { scenario: scenario.value };
    for (const [n, input] of Object.entries(fields)) {
      const value = input.value.trim();
      if (value) rule[n] = n === "count" && /^-?\d+$/.test(value) ? Number(value) : value;
    }
    ctx.act(() => api("POST", "/rules", rule));
  } }, scenario, Object.values(fields), h("button", { type: "submit" }, "Add rule"));
  const table = h("div");
  const node = h("section", { class: "view rules" },
    h("div", { class: "toolbar" }, h("h2", {}, "Scenario rules"),
      h("button", { type: "button", onclick: () => ctx.act(() => api("DELETE", "/rules")) }, "Delete all")),
    h("p", { class: "muted" }, "The next matching requests get the rule's scenario, oldest rule first."), form, table);
  let loaded = false;
  async function refresh() {
    if (!loaded) {  // the scenario names, from the admin API's own OpenAPI document
      const doc = await api("GET", "/openapi.json");
      const names = doc.paths["/_mock/rules"].post.requestBody.content["application/json"].schema.properties.scenario.enum;
      fill(scenario, ...names.map((n) => h("option", { value: n }, n)));
      loaded = true;
    }
    const data = await api("GET", "/rules");
    fill(table, data.rules.length ? scrolls(h("table", { class: "list" },
      h("thead", {}, h("tr", {}, ["#", "Scenario", "Used / count", "Method", "Path", "Model", "Key", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, data.rules.map((r) => h("tr", { dataset: { ruleId: r.id } },
        h("td", {}, r.id), h("td", {}, badge(r.scenario, "scenario")), h("td", {}, `${r.used} / ${r.count ?? "∞"}`),
        [r.method, r.path, r.model, r.key].map((v) => h("td", { class: "mono" }, v ?? "any")),
        h("td", {}, h("button", { type: "button", onclick: () => ctx.act(() => api("DELETE", `/rules/${r.id}`)) }, "Delete")))))))
      : h("p", { class: "muted" }, "No rules."));
  }
  return { node, refresh };
}

export function balancesView(ctx) {
  const key = h("input", { name: "key", placeholder: "API key", size: 14, "aria-label": "API key", required: true });
  const cents = h("input", { name: "balance_cents", placeholder: "balance in cents", size: 18, "aria-label": "Balance in cents" });
  const form = h("form", { class: "inline", onsubmit: (e) => {
    e.preventDefault();
    const value = cents.value.trim();
    ctx.act(() => api("PUT", "/balance", { key: key.value.trim(), balance_cents: /^-?\d+$/.test(value) ? Number(value) : value }));
  } }, key, cents, h("button", { type: "submit" }, "Set balance"));
  const table = h("div");
  const node = h("section", { class: "view balances" }, h("h2", {}, "Balances per API key"), form, table);
  const cell = (microcents) => h("td", { class: "num" }, dollars(microcents / 1e6));
  async function refresh() {
    const data = await api("GET", "/balance");
    const accounts = Object.entries(data.accounts);
    fill(table, accounts.length ? scrolls(h("table", { class: "list" },
      h("thead", {}, h("tr", {}, ["Key", "Available", "Credit", "Reserved (active tasks)", "Spent"].map((t) => h("th", {}, t)))),
      h("tbody", {}, accounts.map(([name, a]) => h("tr", { dataset: { key: name } }, h("td", { class: "mono" }, name),
        cell(a.available_microcents), cell(a.credit_microcents), cell(a.reserved_microcents), cell(a.spent_microcents))))))
      : h("p", { class: "muted" }, "No account yet: a key gets one at its first request."));
  }
  return { node, refresh };
}

export function configView(ctx) {
  const progression = h("input", { name: "progression", placeholder: "auto | immediate | manual | polls:N", size: 36, "aria-label": "Progression" });
  const callbackMode = h("input", { name: "callback_mode", placeholder: "duplicate, early, delay:SECONDS", size: 36, "aria-label": "Callback mode" });
  const text = (input) => (input.value.trim() ? input.value.trim() : null);
  let filled = false;  // the inputs show the namespace's config once, unless the user typed before it loaded
  const form = h("form", { class: "stacked", oninput: () => { filled = true; }, onsubmit: (e) => {
    e.preventDefault();
    ctx.act(() => api("PUT", "/config", { progression: text(progression), callback_mode: text(callbackMode) }));
  } },
  h("label", {}, "Progression of new tasks ", progression),
  h("label", {}, "Callback mode of new tasks ", callbackMode),
  h("p", { class: "muted" }, "Blank fields go back to the server's defaults."),
  h("button", { type: "submit" }, "Save"));
  const shown = h("div");
  const node = h("section", { class: "view config" }, h("h2", {}, `Config`), form, shown);
  async function refresh() {
    const config = await api("GET", "/config");
    if (!filled) {
      progression.value = config.progression === config.server_progression ? "" : config.progression;
      const mode = config.callback_mode;
      callbackMode.value = mode ? [mode.duplicate && "duplicate", mode.early && "early", mode.delay && `delay:${mode.delay}`].filter(Boolean).join(",") : "";
      filled = true;
    }
    fill(shown, h("dl", { class: "facts" }, Object.entries(config).map(([k, v]) =>
      [h("dt", {}, k), h("dd", { class: "mono", dataset: { config: k } }, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))])));
  }
  return { node, refresh };
}
