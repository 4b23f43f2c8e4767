// The search page: the form's state lives in the address (/?q=...&sources=...&sort=...), so a
// search can be bookmarked, shared and reached again with the back button. Results are cards,
// one per article, paged with "more results".
"use strict";

const PAGE_SIZE = 10; // articles per page of results
const SNIPPET_CHARS = 240; // of a passage shown around its answer or question words, until expanded
const form = document.getElementById("search");
let corpus = null; // GET /corpus: what the index holds
let found = null; // the answer shown, its results grown by each "more results"
let address = null; // the search's own parameters (from the page's address)

function field(name) {
  return form.elements.namedItem(name);
}

function sourceBoxes() {
  return Array.from(form.elements).filter((node) => node.name === "sources");
}

function formParams() {
  const params = new URLSearchParams();
  const question = document.getElementById("q").value.trim();
  if (question) params.set("q", question);
  for (const name of ["date_from", "date_to"]) {
    if (field(name).value) params.set(name, field(name).value);
  }
  for (const box of sourceBoxes()) if (box.checked) params.append("sources", box.value);
  if (field("sort").value !== "relevance") params.set("sort", field("sort").value);
  return params;
}

function fillForm(params) {
  document.getElementById("q").value = params.get("q") || "";
  field("date_from").value = params.get("date_from") || "";
  field("date_to").value = params.get("date_to") || "";
  field("sort").value = params.get("sort") === "newest" ? "newest" : "relevance";
  const chosen = new Set(params.getAll("sources").map((s) => s.toLowerCase()));
  for (const box of sourceBoxes()) box.checked = chosen.has(box.value.toLowerCase());
  if (chosen.size || params.get("date_from") || params.get("date_to")) document.getElementById("filters").open = true;
}

// What the API is asked for the page's search, from result `offset` on.
function apiParams(params, offset) {
  const asked = new URLSearchParams({ question: params.get("q"), top_k: PAGE_SIZE, offset });
  for (const name of ["date_from", "date_to", "sort"]) if (params.get(name)) asked.set(name, params.get(name));
  for (const source of params.getAll("sources")) asked.append("sources", source);
  return asked;
}

// The corpus: the heading names it, the line below says what it holds, the filters offer its
// publishers and dates. Loaded again after an API key is given.
async function loadCorpus() {
  const status = document.getElementById("sources-status");
  try {
    corpus = await api("/corpus");
    const list = document.getElementById("sources");
    corpus.sources.forEach((item, number) => {
      const id = `source-${number}`;
      list.append(el("div", { class: "source" },
        el("input", { type: "checkbox", name: "sources", value: item.source, id, form: "search" }),
        el("label", { for: id }, `${item.source} (${item.articles})`)));
    });
    status.remove();
    if (corpus.name) {
      document.getElementById("corpus-name").textContent = corpus.name;
      document.title = corpus.name;
    }
    describeCorpus();
  } catch (error) {
    status.textContent = error.status === 401 ? t("sourcesNeedKey") : t("sourcesFailed");
  }
}

function describeCorpus() {
  if (!corpus) return;
  document.getElementById("corpus-about").textContent = corpus.description ||
    t("corpus", corpus.articles, corpus.sources.length, corpus.first_date && tanggal(corpus.first_date),
      tanggal(corpus.last_date));
  document.getElementById("date-range").textContent =
    corpus.first_date ? t("coverage", tanggal(corpus.first_date), tanggal(corpus.last_date)) : "";
}

// A link to the article's full text on this server: `at` marks the passage found in it, and
// `back` brings the reader to this search.
function articleLink(id, title, span) {
  const target = new URLSearchParams({ id });
  if (span && span.length === 2) target.set("at", span.join("-"));
  target.set("back", address.toString());
  return el("a", { href: `/article?${target}` }, title || t("untitled"));
}

function percent(confidence) {
  return `${Math.round(confidence * 100)}%`;
}

function renderAnswer(answer) {
  const box = document.getElementById("answer");
  const short = answer.answer;
  box.replaceChildren();
  if (short.confident) {
    box.append(
      el("p", { class: "answer-words" }, `${t("answer")}: `, el("strong", { class: "answer" }, short.text),
        el("span", { class: "confidence" }, ` (${t("confidence")} ${percent(short.confidence)})`)),
      el("p", { class: "cited" }, short.cited));
  } else if (short.text) {
    box.append(
      el("p", {}, `${t("notThePeriod")} ${short.period ? t("latestFound", short.period) : t("undatedFound")}`,
        el("strong", {}, short.text)),
      el("p", { class: "cited" }, short.cited));
  } else if (answer.results.length) {
    box.append(el("p", {}, t("noAnswer")));
  }
}

// The part of `text` around its answer (or its first highlighted word), SNIPPET_CHARS long,
// cut at spaces, with the highlights inside it: [the text, its spans, the answer span].
function snippetOf(text, highlights, answer) {
  const points = Array.from(text);
  if (points.length <= SNIPPET_CHARS) return [text, highlights, answer];
  const focus = answer || (highlights[0] || [0, 0]);
  let start = Math.max(0, Math.min(focus[0] - SNIPPET_CHARS / 3, points.length - SNIPPET_CHARS));
  let end = Math.min(points.length, start + SNIPPET_CHARS);
  while (start > 0 && points[start - 1] !== " ") start--;
  while (end < points.length && points[end] !== " ") end++;
  const inside = ([from, to]) => from >= start && to <= end;
  const shift = ([from, to]) => [from - start + (start > 0 ? 1 : 0), to - start + (start > 0 ? 1 : 0)];
  const shown = (start > 0 ? "…" : "") + points.slice(start, end).join("") + (end < points.length ? "…" : "");
  return [shown, highlights.filter(inside).map(shift), answer && inside(answer) ? shift(answer) : null];
}

// A passage as a snippet that expands to the whole passage (and folds back).
function passageView(passage) {
  const text = el("p", { class: "text" });
  const answer = passage.answer;
  const full = () => text.replaceChildren(marked(passage.text, passage.highlights, answer));
  const short = () => text.replaceChildren(marked(...snippetOf(passage.text, passage.highlights, answer)));
  short();
  const view = el("div", { class: "passage" }, text);
  if (Array.from(passage.text).length > SNIPPET_CHARS) {
    const toggle = el("button", { type: "button", class: "link", "aria-expanded": "false" }, t("showFull"));
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      (open ? full : short)();
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? t("showLess") : t("showFull");
    });
    view.append(toggle);
  }
  return view;
}

// How a result is cited: 'kumparan (15 November 2024), "Title", URL' (the URL when it is a web address).
function citationOf(result) {
  return [result.citation, result.title ? `“${result.title}”` : null, webAddress(result.url)]
    .filter(Boolean).join(", ");
}

async function copyCitation(result) {
  const text = citationOf(result);
  try {
    await navigator.clipboard.writeText(text);
  } catch (refused) { // an older browser, or clipboard access refused: the selection way
    const area = el("textarea", { class: "offscreen", readonly: "" }, text);
    document.body.append(area);
    area.select();
    const copied = document.execCommand("copy");
    area.remove();
    if (!copied) return showStatus(t("notCopied"), true);
  }
  showStatus(t("copied"));
}

function renderCard(result) {
  const meta = [result.source || t("noSource"), tanggal(result.date)];
  if (result.author) meta.push(t("by", result.author));
  if (result.period) meta.push(t("about", result.period.label));
  const copy = el("button", { type: "button", class: "secondary copy" }, t("copyCitation"));
  copy.addEventListener("click", () => copyCitation(result));
  const actions = el("p", { class: "actions" }, copy);
  if (webAddress(result.url)) {
    actions.append(el("a", { href: webAddress(result.url), rel: "noopener noreferrer" },
      t("openAt", result.source || t("source"))));
  }
  const card = el("li", { class: "card" },
    el("h3", {}, articleLink(result.doc_id, result.title, result.article_span)),
    el("p", { class: "meta" }, meta.join(" · ")),
    passageView(result));
  if (result.more.length) { // the article's other matching passages, folded: one card stays short
    const others = el("div", { class: "more-passages", hidden: "" }, ...result.more.map(passageView));
    const toggle = el("button", { type: "button", class: "link", "aria-expanded": "false" },
      t("morePassages", result.more.length));
    toggle.addEventListener("click", () => {
      others.hidden = !others.hidden;
      toggle.setAttribute("aria-expanded", String(!others.hidden));
    });
    actions.prepend(toggle);
    card.append(others);
  }
  card.append(actions);
  if (result.also_in.length) {
    const others = el("ul", { class: "also" });
    for (const other of result.also_in) {
      others.append(el("li", {}, `${other.source || t("noSource")} (${tanggal(other.date)}): `,
        articleLink(other.doc_id, other.title)));
    }
    card.append(el("p", { class: "meta" }, t("alsoIn")), others);
  }
  return card;
}

// Everything built from the answer, in the chosen language (again after a switch).
function renderFound() {
  if (!found) return;
  renderAnswer(found);
  document.getElementById("passages").replaceChildren(...found.results.map(renderCard));
  document.getElementById("more").hidden = found.results.length >= found.total;
  if (found.results.length) {
    showStatus(t("shown", 1, found.results.length, found.total, found.question));
  } else {
    showStatus(t("none"));
  }
}

function showError(error) {
  if (error.status === 401) {
    document.getElementById("key-box").hidden = false;
    document.getElementById("key-box").open = true;
    document.getElementById("key").focus();
  }
  showStatus(messageFor(error), true);
}

async function search(moveFocus) {
  address = new URLSearchParams(location.search);
  const section = document.getElementById("results");
  if (!address.get("q")) {
    section.hidden = true;
    found = null;
    showStatus("");
    return;
  }
  showStatus(t("searching"));
  form.setAttribute("aria-busy", "true");
  try {
    found = await api(`/ask?${apiParams(address, 0)}`);
    document.title = `${found.question} · ${corpus && corpus.name ? corpus.name : "Tanya Berita"}`;
    renderFound();
    section.hidden = false;
    if (moveFocus) section.focus();
  } catch (error) {
    section.hidden = true;
    found = null;
    showError(error);
  } finally {
    form.removeAttribute("aria-busy");
  }
}

// The next page of results, added below those shown; the focus goes to the first new one.
async function more() {
  const button = document.getElementById("more");
  button.disabled = true;
  try {
    const next = await api(`/ask?${apiParams(address, found.results.length)}`);
    const first = found.results.length;
    found.results.push(...next.results);
    found.total = next.total;
    renderFound();
    const added = document.querySelectorAll("#passages > li")[first];
    if (added) added.querySelector("h3 a").focus();
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

// The results shown, as a file to download (CSV for spreadsheets, JSON as the API gives them).
function download(name, type, content) {
  const link = el("a", { href: URL.createObjectURL(new Blob([content], { type })), download: name });
  document.body.append(link);
  link.click();
  link.remove();
}

function csvCell(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function exportName(extension) {
  const slug = found.question.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-|-$/g, "").slice(0, 60);
  return `tanya-berita-${slug || "hasil"}.${extension}`;
}

function exportCsv() {
  const header = ["rank", "title", "source", "date", "url", "citation", "answer", "text", "article_id", "passage_id"];
  const rows = found.results.map((r) => [r.rank, r.title, r.source, r.date, r.url, r.citation,
    r.answer ? Array.from(r.text).slice(r.answer[0], r.answer[1]).join("") : "", r.text, r.doc_id, r.passage_id]);
  // A byte order mark, so that spreadsheet programs read the file as UTF-8.
  download(exportName("csv"), "text/csv;charset=utf-8",
    "\ufeff" + [header, ...rows].map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n");
}

function messageFor(error) {
  if (error.status === 401) return t("needKey");
  if (error.status === 422) return t("unusable", error.message);
  if (error.status === 503) return t("notReady", error.message);
  if (error.status === 0) return error.message;
  return t("failed", error.status, error.message);
}

function go() {
  history.pushState(null, "", `/?${formParams()}`);
  search(true);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const key = document.getElementById("key").value;
  if (key) {
    sessionStorage.setItem(KEY_STORE, key);
    if (!corpus) loadCorpus();
  }
  const from = field("date_from").value;
  const to = field("date_to").value;
  if (from && to && from > to) {
    showStatus(t("datesOrder"), true);
    field("date_from").focus();
    return;
  }
  if (!document.getElementById("q").value.trim()) {
    showStatus(t("writeFirst"), true);
    document.getElementById("q").focus();
    return;
  }
  go();
});

document.getElementById("sort").addEventListener("change", () => {
  if (document.getElementById("q").value.trim()) go();
});
document.getElementById("more").addEventListener("click", more);
document.getElementById("export-csv").addEventListener("click", exportCsv);
document.getElementById("export-json").addEventListener("click",
  () => download(exportName("json"), "application/json", JSON.stringify(found, null, 2)));

document.getElementById("clear").addEventListener("click", () => {
  field("date_from").value = "";
  field("date_to").value = "";
  for (const box of sourceBoxes()) box.checked = false;
});

window.addEventListener("popstate", () => {
  fillForm(new URLSearchParams(location.search));
  search(false);
});

// The filters sit above the results, open, on a wide screen; on a phone they follow the results,
// folded, so that the answer comes first. The element itself moves (not only how it is drawn), so
// that the keyboard and a screen reader meet things in the order they are seen.
const wideScreen = window.matchMedia("(min-width: 48rem)");
function placeFilters() {
  const filters = document.getElementById("filters");
  if (wideScreen.matches) document.getElementById("search").after(filters);
  else document.getElementById("results").after(filters);
}
placeFilters();
wideScreen.addEventListener("change", placeFilters);
if (wideScreen.matches) document.getElementById("filters").open = true;
setUpLanguageSwitch(() => {
  describeCorpus();
  renderFound();
});
loadCorpus().then(() => {
  fillForm(new URLSearchParams(location.search));
  search(false);
});
