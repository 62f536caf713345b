// The dashboard: routes (#/tasks, #/tasks/<id>, #/callbacks, ...), the header (namespace, clock), errors,
// and live updates: the server sends a `change` event when the namespace changes; the page fetches again.

import { api, dashboardUrl, fixedNamespace, h, query, root, state, time } from "./lib.js";
import { listenersView } from "./listeners.js";
import { balancesView, callbacksView, configView, journalView, rulesView, taskView, tasksView } from "./views.js";

const VIEWS = { tasks: tasksView, callbacks: callbacksView, journal: journalView, rules: rulesView, balances: balancesView, config: configView, listeners: listenersView };
const $ = (id) => document.getElementById(id);

// -- errors from the API are shown, never swallowed ----------------------------------------------------------

function showError(error) {
  $("error-text").textContent = String(error);
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error-text").textContent = "";
}

$("error-close").addEventListener("click", clearError);

// -- the clock: fetched with every refresh, ticking in between when it runs ------------------------------

const clock = { now: null, frozen: true, fetchedAt: 0 };

function clockNow() {
  if (clock.now === null) return undefined;
  return clock.frozen ? clock.now : clock.now + (Date.now() - clock.fetchedAt) / 1000;
}

function drawClock() {
  $("clock-now").textContent = `${time(clockNow())} UTC`;
  $("clock-state").textContent = clock.frozen ? "frozen" : "running";
  $("clock-state").className = `badge ${clock.frozen ? "frozen" : "running"}`;
  $("clock-toggle").textContent = clock.frozen ? "Unfreeze" : "Freeze";
}

async function loadClock() {
  const data = await api("GET", "/clock");
  Object.assign(clock, { now: data.now, frozen: data.frozen, fetchedAt: Date.now() });
  drawClock();
}

setInterval(() => { if (!clock.frozen) drawClock(); }, 500);

// -- actions: through the admin API; success refreshes, failure shows the API's error ---------------------

async function act(call) {
  try {
    await call();
    clearError();
  } catch (error) {
    showError(error);
    return;
  }
  await refresh();
}

const ctx = { act, now: clockNow };

$("clock-toggle").addEventListener("click", () => act(() => api("POST", `/clock/${clock.frozen ? "unfreeze" : "freeze"}`)));
$("advance-form").addEventListener("submit", (event) => {
  event.preventDefault();
  // Sent as typed when it is not a number, so the API's own validation answers.
  const typed = $("advance-seconds").value.trim();
  const seconds = typed !== "" && Number.isFinite(Number(typed)) ? Number(typed) : typed;
  act(() => api("POST", "/clock/advance", { seconds }));
});

// -- namespaces --------------------------------------------------------------------------------------------

async function loadNamespaces() {
  const picker = $("namespace");
  if (fixedNamespace) {
    picker.replaceChildren(h("option", { value: fixedNamespace }, `${fixedNamespace} (from the URL prefix)`));
    picker.disabled = true;
    $("namespace-form").hidden = true;
    return;
  }
  const data = await api("GET", "/namespaces");
  const names = data.namespaces.map((n) => n.name);
  if (!names.includes(state.namespace)) names.push(state.namespace);
  const counts = Object.fromEntries(data.namespaces.map((n) => [n.name, n.tasks]));
  const wanted = names.sort().map((name) => `${name}:${counts[name] ?? 0}`).join(",");
  if (picker.dataset.shown !== wanted) {
    picker.replaceChildren(...names.map((name) => h("option", { value: name, selected: name === state.namespace },
      `${name} (${counts[name] ?? 0} task${counts[name] === 1 ? "" : "s"})`)));
    picker.dataset.shown = wanted;
  }
  picker.value = state.namespace;
}

function switchNamespace(name) {
  if (!name || name === state.namespace) return;
  state.namespace = name;
  history.replaceState(null, "", dashboardUrl("#/tasks"));
  connect();
  route();
}

$("namespace").addEventListener("change", (event) => switchNamespace(event.target.value));
$("namespace-form").addEventListener("submit", (event) => {
  event.preventDefault();
  switchNamespace($("namespace-name").value.trim());
  $("namespace-name").value = "";
});

// -- routing and refreshing ----------------------------------------------------------------------------------

let current = null;
let running = null;
let again = false;

function route() {
  const [, name = "tasks", id] = (location.hash || "#/tasks").split("/");
  const view = id && name === "tasks" ? taskView(ctx, decodeURIComponent(id)) : (VIEWS[name] || tasksView)(ctx);
  for (const link of document.querySelectorAll("nav.tabs a")) {
    link.classList.toggle("active", link.dataset.view === name);
  }
  current = view;
  $("view").replaceChildren(view.node);
  refresh();
}

// One refresh at a time; a change arriving meanwhile runs one more afterwards, so none is lost.
async function refresh() {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    do {
      again = false;
      const view = current;
      try {
        await Promise.all([loadClock(), loadNamespaces(), view.refresh()]);
        document.body.dataset.refreshed = String(Date.now());
      } catch (error) {
        showError(error);
      }
    } while (again);
  })();
  try {
    await running;
  } finally {
    running = null;
  }
}

window.addEventListener("hashchange", route);

// -- live updates: server-sent events, reconnected by the browser ---------------------------------------

let source = null;

function connect() {
  if (source) source.close();
  const live = $("live");
  source = new EventSource(`${root}/_mock/ui/events${fixedNamespace ? "" : query({ namespace: state.namespace })}`);
  source.addEventListener("open", () => { live.textContent = "live"; live.className = "live on"; });
  source.addEventListener("error", () => { live.textContent = "reconnecting"; live.className = "live off"; });
  source.addEventListener("change", () => refresh());
}

connect();
route();
