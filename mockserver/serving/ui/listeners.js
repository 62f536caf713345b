// The Listeners view: `runapi listen` sessions on this namespace, their keys and their queues (GET
// /_mock/listeners), with the admin actions that reach the statuses the CLI reacts to: disable a key (its
// polls get 410), revoke a session (403).

import { ago, api, badge, fill, h, scrolls, shortId, time } from "./lib.js";

function keysTable(ctx, keys) {
  return scrolls(h("table", { class: "list keys" },
    h("thead", {}, h("tr", {}, ["Key", "Id", "Enabled", "Open sessions", "Listen signing secret", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, keys.map((k) => h("tr", { dataset: { keyId: k.id } },
      h("td", { class: "mono" }, k.masked_token), h("td", { class: "mono" }, k.id),
      h("td", {}, badge(k.enabled ? "enabled" : "disabled", k.enabled ? "delivered" : "failed")),
      h("td", { class: "num" }, k.open_sessions), h("td", { class: "mono" }, k.listen_secret),
      h("td", {}, h("button", { type: "button", class: k.enabled ? "disable" : "enable",
        onclick: () => ctx.act(() => api("POST", `/listeners/keys/${k.id}/${k.enabled ? "disable" : "enable"}`)) },
        k.enabled ? "Disable (410)" : "Enable")))))));
}

function sessionCard(ctx, s) {
  const open = s.state === "open";
  return h("article", { class: "listener", dataset: { token: s.session_token, state: s.state } },
    h("header", {}, badge(s.state, open ? "running" : "failed"), " ",
      h("span", { class: "mono", title: s.session_token }, shortId(s.session_token)), " key ",
      h("span", { class: "mono" }, s.callback_api_key_id),
      open ? h("button", { type: "button", class: "revoke", onclick: () => ctx.act(() => api("POST", `/listeners/sessions/${s.session_token}/revoke`)) }, "Revoke (403)") : ""),
    h("p", { class: "muted" }, `created ${time(s.created_at)} · last poll ${s.last_poll === null ? "never" : `${time(s.last_poll)} (${ago(s.last_poll, ctx.now())})`}`,
      open ? ` · expires ${time(s.expires_at)} (${ago(s.expires_at, ctx.now())})` : ` · ended ${time(s.ended_at)}`),
    h("p", {}, `${s.queued} queued · ${s.delivered} delivered · ${s.acked} acked · ${s.dropped} dropped · ${s.polls} polls`),
    s.events.length ? scrolls(h("table", { class: "list events" },
      h("thead", {}, h("tr", {}, ["Event", "Task", "Status", "Queued at", "X-Callback-Id"].map((t) => h("th", {}, t)))),
      h("tbody", {}, s.events.map((e) => h("tr", { dataset: { eventId: e.id } }, h("td", { class: "num" }, e.id),
        h("td", {}, h("a", { href: `#/tasks/${e.task_id}`, class: "mono", title: e.task_id }, shortId(e.task_id))),
        h("td", {}, badge(e.status)), h("td", { class: "time" }, time(e.created_at)), h("td", { class: "mono" }, e.callback_id))))))
      : h("p", { class: "muted" }, "Nothing queued."));
}

export function listenersView(ctx) {
  const keys = h("div");
  const sessions = h("div", { class: "listeners" });
  const bounds = h("p", { class: "muted" });
  const node = h("section", { class: "view listeners-view" }, h("h2", {}, "Listeners (runapi listen)"), bounds,
    h("h3", {}, "Callback API keys"), keys, h("h3", {}, "Sessions"), sessions);
  async function refresh() {
    const data = await api("GET", "/listeners");
    const b = data.bounds;
    bounds.textContent = `A session expires ${b.session_ttl_seconds} s (clock) after its last poll; it holds ${b.queue_size} unacknowledged events (then the oldest is dropped); ${b.sessions_per_key} sessions per key; ${b.events_per_poll} events per poll.`;
    fill(keys, data.keys.length ? keysTable(ctx, data.keys) : h("p", { class: "muted" }, "No key yet: GET /api/v1/cli/keys lists every key the namespace has seen."));
    fill(sessions, ...(data.sessions.length ? data.sessions.map((s) => sessionCard(ctx, s))
      : [h("p", { class: "muted" }, "No listener: point `runapi listen` at this server (RUNAPI_BASE_URL).")]));
  }
  return { node, refresh };
}
