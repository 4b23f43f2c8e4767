// What the search page and the article page share: the page's words in two languages, calling
// the API, dates, building elements.
"use strict";

const KEY_STORE = "qa-api-key"; // only for servers that protect reads; kept for this tab only
const LANGUAGE_STORE = "qa-language";

// The page's own words; articles, answers and citations are shown as the index holds them.
const WORDS = {
  id: {
    months: ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
      "November", "Desember"],
    skip: "Langsung ke hasil", skipArticle: "Langsung ke artikel", question: "Pertanyaan", search: "Cari",
    placeholder: "tulis pertanyaan, mis. berapa nilai ekspor 2024?", filters: "Saring", from: "Terbit dari",
    to: "sampai", sources: "Sumber", allSources: "(tanpa pilihan: semua)", loadingSources: "Memuat daftar sumber…",
    clear: "Hapus saringan", apiKey: "Kunci API", keyAsked: "Server ini meminta kunci API untuk mencari",
    saveAndSearch: "Simpan dan cari", results: "Hasil", sort: "Urutkan", relevance: "Paling relevan",
    newest: "Terbaru", more: "Hasil berikutnya", exportCsv: "Unduh CSV", exportJson: "Unduh JSON",
    copyCitation: "Salin kutipan", copied: "Kutipan disalin.", notCopied: "Kutipan tidak dapat disalin.",
    showFull: "Tampilkan bagian lengkap", showLess: "Ringkas",
    morePassages: (count) => `${count} bagian lain dari artikel ini juga cocok`, alsoIn: "Juga dimuat di:",
    openAt: (source) => `Buka di situs ${source}`, source: "sumber", noSource: "sumber tanpa nama",
    undated: "tanpa tanggal", about: (period) => `membahas ${period}`, by: (name) => `oleh ${name}`, untitled: "(artikel tanpa judul)",
    tagline: "Tanya dalam bahasa Indonesia atau Inggris.", answer: "Jawaban", confidence: "keyakinan",
    notThePeriod: "Tidak ada jawaban untuk periode yang ditanyakan.",
    latestFound: (period) => `Data terbaru yang ditemukan (${period}): `,
    undatedFound: "Ditemukan di berita tanpa tanggal: ",
    noAnswer: "Berita yang terindeks tampaknya tidak menjawab pertanyaan ini dengan pasti. Berikut bagian yang paling dekat.",
    searching: "Mencari…", writeFirst: "Tulis pertanyaan dulu.", datesOrder: "Tanggal “dari” harus sebelum tanggal “sampai”.",
    shown: (from, to, total, question) => `Hasil ${from}–${to} dari ${total} artikel untuk “${question}”.`,
    none: "Tidak ada berita yang cocok dengan pertanyaan dan saringan ini. Coba kata lain, atau hapus saringan.",
    coverage: (first, last) => `Berita terindeks terbit ${first} sampai ${last}.`,
    corpus: (articles, sources, first, last) => `${articles} artikel dari ${sources} sumber` +
      (first ? `, terbit ${first} sampai ${last}` : "") + ".",
    sourcesNeedKey: "Daftar sumber memerlukan kunci API.", sourcesFailed: "Daftar sumber tidak dapat dimuat.",
    needKey: "Server ini meminta kunci API: isi kunci di bawah, lalu cari lagi.",
    unusable: (m) => `Pertanyaan atau saringan tidak dapat dipakai: ${m}`, notReady: (m) => `Indeks belum siap: ${m}`,
    failed: (status, m) => `Terjadi kesalahan (${status}): ${m}`,
    unreachable: "Server tidak dapat dihubungi. Periksa koneksi, lalu coba lagi.",
    back: "← Kembali ke hasil", loadingArticle: "Memuat artikel…", openOriginal: "Buka di situs sumber",
    noArticle: "Tidak ada artikel yang dipilih: buka artikel dari hasil pencarian.",
    articleMissing: "Artikel tidak ditemukan: mungkin sudah dihapus dari indeks.",
    articleNeedsKey: "Server ini meminta kunci API: cari dari halaman utama dulu.",
    articleFailed: (m) => `Artikel tidak dapat dimuat: ${m}`, article: "Artikel",
    noScript: "Halaman ini memerlukan JavaScript. Tanpa JavaScript, gunakan API: /ask?question=…",
  },
  en: {
    months: ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
      "November", "December"],
    skip: "Skip to results", skipArticle: "Skip to the article", question: "Question", search: "Search",
    placeholder: "ask a question, e.g. what were 2024 exports worth?", filters: "Filters", from: "Published from",
    to: "to", sources: "Sources", allSources: "(none chosen: all)", loadingSources: "Loading the sources…",
    clear: "Clear filters", apiKey: "API key", keyAsked: "This server asks for an API key to search",
    saveAndSearch: "Save and search", results: "Results", sort: "Sort", relevance: "Most relevant",
    newest: "Newest", more: "More results", exportCsv: "Download CSV", exportJson: "Download JSON",
    copyCitation: "Copy citation", copied: "Citation copied.", notCopied: "The citation could not be copied.",
    showFull: "Show the whole passage", showLess: "Show less",
    morePassages: (count) => `${count} more passage${count > 1 ? "s" : ""} of this article match`, alsoIn: "Also published in:",
    openAt: (source) => `Open on ${source}`, source: "the source", noSource: "unnamed source",
    undated: "undated", about: (period) => `about ${period}`, by: (name) => `by ${name}`, untitled: "(untitled article)",
    tagline: "Ask in Indonesian or English.", answer: "Answer", confidence: "confidence",
    notThePeriod: "No answer for the period asked.",
    latestFound: (period) => `Latest found (${period}): `,
    undatedFound: "Found in an undated article: ",
    noAnswer: "The indexed news does not seem to answer this question for sure. Here are the closest passages.",
    searching: "Searching…", writeFirst: "Type a question first.", datesOrder: "The “from” date must come before the “to” date.",
    shown: (from, to, total, question) => `Results ${from}–${to} of ${total} articles for “${question}”.`,
    none: "No news matches this question and these filters. Try other words, or clear the filters.",
    coverage: (first, last) => `The indexed news was published from ${first} to ${last}.`,
    corpus: (articles, sources, first, last) => `${articles} articles from ${sources} sources` +
      (first ? `, published ${first} to ${last}` : "") + ".",
    sourcesNeedKey: "The list of sources needs the API key.", sourcesFailed: "The list of sources could not be loaded.",
    needKey: "This server asks for an API key: enter it below, then search again.",
    unusable: (m) => `The question or the filters cannot be used: ${m}`, notReady: (m) => `The index is not ready: ${m}`,
    failed: (status, m) => `Something went wrong (${status}): ${m}`,
    unreachable: "The server cannot be reached. Check the connection, then try again.",
    back: "← Back to the results", loadingArticle: "Loading the article…", openOriginal: "Open on the source's site",
    noArticle: "No article chosen: open one from the search results.",
    articleMissing: "Article not found: it may have been removed from the index.",
    articleNeedsKey: "This server asks for an API key: search from the main page first.",
    articleFailed: (m) => `The article could not be loaded: ${m}`, article: "Article",
    noScript: "This page needs JavaScript. Without it, use the API: /ask?question=…",
  },
};

let language = WORDS[localStorage.getItem(LANGUAGE_STORE)] ? localStorage.getItem(LANGUAGE_STORE) : "id";

// The page's word for `key` in the chosen language (a function of `args` where it takes some).
function t(key, ...args) {
  const word = WORDS[language][key];
  return typeof word === "function" ? word(...args) : word;
}

// Writes the chosen language's words into every element marked data-i18n (its text) or
// data-i18n-placeholder, and marks the switch's button for it as pressed.
function translatePage() {
  document.documentElement.lang = language;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const button of document.querySelectorAll("[data-language]")) {
    button.setAttribute("aria-pressed", String(button.dataset.language === language));
  }
}

// The language switch: `redraw()` writes what the page built from data again in the new words.
function setUpLanguageSwitch(redraw) {
  for (const button of document.querySelectorAll("[data-language]")) {
    button.addEventListener("click", () => {
      language = button.dataset.language;
      localStorage.setItem(LANGUAGE_STORE, language);
      translatePage();
      redraw();
    });
  }
  translatePage();
}

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
      throw new ApiError(0, t("unreachable"));
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
  if (!iso) return t("undated");
  const [year, month, day] = iso.split("-").map(Number);
  return `${day} ${t("months")[month - 1]} ${year}`;
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

// The text with the [start, end) spans wrapped in <mark>. The `answer` span's words, where a
// highlight holds them (the API highlights an answer only when it is confident), get a mark of
// their own colour (class "answer"). The spans count Unicode code points (as Python does), so
// the text is split into code points, not UTF-16 units.
function marked(text, spans, answer) {
  const points = Array.from(text);
  const fragment = document.createDocumentFragment();
  const mark = (start, end, kind) => {
    if (end > start) fragment.append(el("mark", { class: kind }, points.slice(start, end).join("")));
  };
  let last = 0;
  for (const [start, end] of spans || []) {
    fragment.append(points.slice(last, start).join(""));
    if (answer && start <= answer[0] && end >= answer[1]) {
      mark(start, answer[0]);
      mark(answer[0], answer[1], "answer");
      mark(answer[1], end);
    } else {
      mark(start, end);
    }
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
