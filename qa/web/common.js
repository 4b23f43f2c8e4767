// What the search page and the article page share: calling the API, dates, building elements.
"use strict";

const MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
  "September", "Oktober", "November", "Desember"];
const KEY_STORE = "qa-api-key"; // only for servers that protect reads; kept for this tab only

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const BUSY_RETRIES = 3; // a busy server (503 with Retry-After) is asked again this many times

// GET an API path as JSON; a failure becomes an ApiError with a message a person can read.
// A busy server's 503 is retried after the wait it asks for, so a passing rush shows as a
// slower answer, not an error.
async function api(path) {
  const headers = { Accept: "application/json" };
  const key = sessionStorage.getItem(KEY_STORE);
  if (key) headers["X-API-Key"] = key;
  let response;
  for (let attempt = 0; ; attempt++) {
    try {
      response = await fetch(path, { headers });
    } catch (networkError) {
      throw new ApiError(0, "Server tidak dapat dihubungi. Periksa koneksi, lalu coba lagi.");
    }
    const wait = Number(response.headers.get("Retry-After"));
    if (response.status !== 503 || !(wait > 0) || attempt === BUSY_RETRIES) break;
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
  let body = null;
  try {
    body = await response.json();
  } catch (notJson) {
    body = null;
  }
  if (!response.ok) {
    const detail = body && typeof body.detail === "string" ? body.detail : response.statusText;
    throw new ApiError(response.status, detail || `HTTP ${response.status}`);
  }
  return body;
}

// "2024-11-15" -> "15 November 2024"
function tanggal(iso) {
  if (!iso) return "tanpa tanggal";
  const [year, month, day] = iso.split("-").map(Number);
  return `${day} ${MONTHS[month - 1]} ${year}`;
}

// el("a", {href: "/"}, "text", child, ...): an element with attributes and children.
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

// The text with the [start, end) spans wrapped in <mark>. The spans count Unicode code points
// (as Python does), so the text is split into code points, not UTF-16 units.
function marked(text, spans) {
  const points = Array.from(text);
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const [start, end] of spans || []) {
    fragment.append(points.slice(last, start).join(""));
    fragment.append(el("mark", {}, points.slice(start, end).join("")));
    last = end;
  }
  fragment.append(points.slice(last).join(""));
  return fragment;
}

// An article's own address, if it is a web address: a "javascript:" URL in an article's
// metadata must not become a link that runs code.
function webAddress(url) {
  return /^https?:\/\//i.test(url || "") ? url : null;
}

function showStatus(message, isError) {
  const status = document.getElementById("status");
  status.textContent = message;
  status.classList.toggle("error", Boolean(isError));
}
