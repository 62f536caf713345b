// The dashboard's plumbing: the admin API client, DOM building, formatting. No framework, no build step.

// The page lives at <root>/_mock/ui/, where <root> is "" or a /ns/<name> prefix that fixes the namespace.
const path = location.pathname;
export const root = path.slice(0, Math.max(0, path.indexOf("/_mock/ui")));
export const fixedNamespace = root.startsWith("/ns/") ? decodeURIComponent(root.slice(4)) : null;

export const state = {
  namespace: fixedNamespace || new URLSearchParams(location.search).get("namespace") || "default",
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  toString() {
    return `${this.status} ${this.code}: ${this.message}`;
  }
}

// Every read and action goes through the admin API, so the page gets the API's validation and errors.
export async function api(method, apiPath, body) {
  const headers = { "X-Mock-Namespace": state.namespace, Accept: "application/json" };
  const init = { method, headers };
  // The mock takes admin writes as JSON only (a page elsewhere cannot send that type unasked), bodiless ones too.
  if (method !== "GET") headers["Content-Type"] = "application/json";
  if (body !== undefined) init.body = JSON.stringify(body);
  let response;
  try {
    response = await fetch(`${root}/_mock${apiPath}`, init);
  } catch (error) {
    throw new ApiError(0, "unreachable", `the mock did not answer (${error.message})`);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "error", error.message || response.statusText);
  }
  return data;
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// h("a", {href: "#/x", class: "y"}, "text", child): an element; strings become text nodes (never HTML).
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...nodes(children));
  return element;
}

// Children as nodes: nested arrays flattened, strings as text, empty values dropped.
export function nodes(children) {
  return children.flat(Infinity).filter((c) => c !== undefined && c !== null && c !== false && c !== "")
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));
}

// Replace an element's children (with the same rules as h()); <details data-key> left open stay open.
export function fill(element, ...children) {
  const open = new Set([...element.querySelectorAll("details[data-key]")].filter((d) => d.open).map((d) => d.dataset.key));
  element.replaceChildren(...nodes(children));
  for (const details of element.querySelectorAll("details[data-key]")) {
    if (open.has(details.dataset.key)) details.open = true;
  }
}

export function badge(text, kind = text) {
  return h("span", { class: `badge ${kind || ""}` }, text || "–");
}

export function pre(value) {
  return h("pre", { class: "json" }, value === undefined ? "–" : JSON.stringify(value, null, 2));
}

// Clock times: seconds since the epoch on the namespace's virtual clock, shown in UTC.
export function time(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19);
}

export function ago(seconds, now) {
  if (seconds === null || seconds === undefined || now === undefined) return "";
  const delta = Math.round(now - seconds);
  if (Math.abs(delta) < 1) return "now";
  const size = Math.abs(delta);
  const text = size < 120 ? `${size} s` : size < 7200 ? `${Math.round(size / 60)} min` : `${Math.round(size / 3600)} h`;
  return delta > 0 ? `${text} ago` : `in ${text}`;
}

export function dollars(cents) {
  if (typeof cents !== "number") return "–";
  return `$${(cents / 100).toFixed(4).replace(/0{1,2}$/, "")}`;
}

// What a task cost: a failed one was refunded, so its price is not shown as a charge.
export function cost(task) {
  const price = dollars(task.price_cents);
  return task.status === "failed" && price !== "–" ? h("span", { class: "refunded", title: "refunded: the task failed" }, `${price} refunded`) : price;
}

// A wide table scrolls inside its own box: a narrow window keeps its header and toolbar in place.
export function scrolls(table) {
  return h("div", { class: "scroll" }, table);
}

export function shortId(id) {
  return id ? id.slice(0, 8) : "–";
}

// Image URLs carry the origin the task was created through; load them from this page's origin instead.
export function imageSrc(url) {
  const at = url.indexOf("/files/");
  return at >= 0 ? root + url.slice(at) : url;
}

export function dashboardUrl(hash) {
  const search = fixedNamespace ? "" : query({ namespace: state.namespace });
  return `${root}/_mock/ui/${search}${hash || location.hash}`;
}
