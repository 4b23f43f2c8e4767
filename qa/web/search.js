// The search page: the form's state lives in the address (/?q=...&source=...), so a search can
// be bookmarked, shared and reached again with the back button.
"use strict";

const RESULTS = 10;
const form = document.getElementById("search");

function formParams() {
  const params = new URLSearchParams();
  const question = document.getElementById("q").value.trim();
  if (question) params.set("q", question);
  for (const name of ["date_from", "date_to"]) {
    const value = form.elements[name].value;
    if (value) params.set(name, value);
  }
  for (const box of form.querySelectorAll("input[name=source]:checked")) params.append("source", box.value);
  return params;
}

function fillForm(params) {
  document.getElementById("q").value = params.get("q") || "";
  form.elements.date_from.value = params.get("date_from") || "";
  form.elements.date_to.value = params.get("date_to") || "";
  const chosen = new Set(params.getAll("source").map((s) => s.toLowerCase()));
  for (const box of form.querySelectorAll("input[name=source]")) box.checked = chosen.has(box.value.toLowerCase());
}

// The publishers to filter by, and the dates the index covers; again after an API key is given.
let sourcesShown = false;

async function loadSources() {
  const status = document.getElementById("sources-status");
  try {
    const facets = await api("/facets");
    const list = document.getElementById("sources");
    facets.sources.forEach((item, number) => {
      const id = `source-${number}`;
      list.append(el("div", { class: "source" },
        el("input", { type: "checkbox", name: "source", value: item.source, id }),
        el("label", { for: id }, `${item.source} (${item.articles})`)));
    });
    status.remove();
    sourcesShown = true;
    if (facets.first_date) {
      document.getElementById("date-range").textContent =
        `Berita terindeks terbit ${tanggal(facets.first_date)} sampai ${tanggal(facets.last_date)}.`;
    }
  } catch (error) {
    status.textContent = error.status === 401 ? "Daftar sumber memerlukan kunci API." : "Daftar sumber tidak dapat dimuat.";
  }
}

// A link to the article's full text on this server: `at` marks the passage found in it, and
// `back` brings the reader to this search.
function articleLink(id, title, searchParams, span) {
  const target = new URLSearchParams({ id });
  if (span && span.length === 2) target.set("at", span.join("-"));
  target.set("back", searchParams.toString());
  return el("a", { href: `/article?${target}` }, title || "(artikel tanpa judul)");
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
      el("p", { class: "answer-words" }, "Jawaban: ", el("strong", {}, short.text),
        el("span", { class: "confidence" }, ` (keyakinan ${percent(short.confidence)})`)),
      el("p", { class: "cited" }, short.cited));
  } else if (short.text) {
    box.append(
      el("p", {}, "Tidak ada jawaban untuk periode yang ditanyakan. " + (short.period
        ? `Data terbaru yang ditemukan (${short.period}): ` : "Ditemukan di berita tanpa tanggal: "),
        el("strong", {}, short.text)),
      el("p", { class: "cited" }, short.cited));
  } else if (answer.results.length) {
    box.append(el("p", {}, "Berita yang terindeks tampaknya tidak menjawab pertanyaan ini dengan pasti. " +
      "Berikut bagian yang paling dekat."));
  }
}

function renderPassage(result, searchParams) {
  const meta = [result.source || "sumber tanpa nama", tanggal(result.date)];
  if (result.period) meta.push(`membahas ${result.period.label}`);
  const item = el("li", { class: "passage" },
    el("h3", {}, articleLink(result.doc_id, result.title, searchParams, result.article_span)),
    el("p", { class: "meta" }, meta.join(" · ")),
    el("p", { class: "text" }, marked(result.text, result.highlights)));
  if (webAddress(result.url)) {
    item.append(el("p", { class: "links" },
      el("a", { href: webAddress(result.url), rel: "noopener noreferrer" }, `Buka di situs ${result.source || "sumber"}`)));
  }
  if (result.also_in.length) {
    const others = el("ul", { class: "also" });
    for (const other of result.also_in) {
      others.append(el("li", {}, `${other.source || "sumber tanpa nama"} (${tanggal(other.date)}): `,
        articleLink(other.doc_id, other.title, searchParams)));
    }
    item.append(el("p", { class: "meta" }, "Juga dimuat di:"), others);
  }
  return item;
}

async function search(moveFocus) {
  const params = new URLSearchParams(location.search);
  const section = document.getElementById("results");
  if (!params.get("q")) {
    section.hidden = true;
    showStatus("");
    return;
  }
  params.set("k", RESULTS);
  showStatus("Mencari…");
  form.setAttribute("aria-busy", "true");
  try {
    const answer = await api(`/ask?${params}`);
    params.delete("k");
    document.title = `${answer.question} · Tanya Berita`;
    renderAnswer(answer);
    document.getElementById("passages").replaceChildren(...answer.results.map((r) => renderPassage(r, params)));
    section.hidden = false;
    if (answer.results.length) {
      showStatus(`${answer.results.length} bagian berita untuk “${answer.question}”.`);
    } else {
      showStatus("Tidak ada bagian berita yang cocok dengan pertanyaan dan saringan ini. " +
        "Coba kata lain, atau hapus saringan.");
    }
    if (moveFocus) section.focus();
  } catch (error) {
    section.hidden = true;
    if (error.status === 401) {
      document.getElementById("key-box").hidden = false;
      document.getElementById("key-box").open = true;
      document.getElementById("key").focus();
    }
    showStatus(messageFor(error), true);
  } finally {
    form.removeAttribute("aria-busy");
  }
}

function messageFor(error) {
  if (error.status === 401) return "Server ini meminta kunci API: isi kunci di bawah, lalu cari lagi.";
  if (error.status === 422) return `Pertanyaan atau saringan tidak dapat dipakai: ${error.message}`;
  if (error.status === 503) return `Indeks belum siap: ${error.message}`;
  if (error.status === 0) return error.message;
  return `Terjadi kesalahan (${error.status}): ${error.message}`;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const key = document.getElementById("key").value;
  if (key) {
    sessionStorage.setItem(KEY_STORE, key);
    if (!sourcesShown) loadSources();
  }
  const from = form.elements.date_from.value;
  const to = form.elements.date_to.value;
  if (from && to && from > to) {
    showStatus("Tanggal “dari” harus sebelum tanggal “sampai”.", true);
    form.elements.date_from.focus();
    return;
  }
  const params = formParams();
  if (!params.get("q")) {
    showStatus("Tulis pertanyaan dulu.", true);
    document.getElementById("q").focus();
    return;
  }
  history.pushState(null, "", `/?${params}`);
  search(true);
});

document.getElementById("clear").addEventListener("click", () => {
  form.elements.date_from.value = "";
  form.elements.date_to.value = "";
  for (const box of form.querySelectorAll("input[name=source]")) box.checked = false;
});

window.addEventListener("popstate", () => {
  fillForm(new URLSearchParams(location.search));
  search(false);
});

loadSources().then(() => {
  fillForm(new URLSearchParams(location.search));
  search(false);
});
