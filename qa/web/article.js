// The article page: /article?id=...&back=<the search's query string>
"use strict";

async function showArticle() {
  const params = new URLSearchParams(location.search);
  const id = params.get("id");
  const back = params.get("back");
  if (back) document.getElementById("back").href = `/?${back}`;
  if (!id) {
    showStatus("Tidak ada artikel yang dipilih: buka artikel dari hasil pencarian.", true);
    return;
  }
  try {
    const article = await api(`/articles/${encodeURIComponent(id)}`);
    document.title = `${article.title || "Artikel"} · Tanya Berita`;
    document.getElementById("title").textContent = article.title || "(artikel tanpa judul)";
    document.getElementById("meta").textContent = `${article.source || "sumber tanpa nama"} · ${tanggal(article.date)}`;
    if (webAddress(article.url)) {
      document.getElementById("url").href = webAddress(article.url);
      document.getElementById("original").hidden = false;
    }
    const passage = (params.get("at") || "").split("-").map(Number);
    const found = passage.length === 2 && passage.every(Number.isInteger) ? [passage] : [];
    document.getElementById("text").replaceChildren(...paragraphs(article.text, found));
    showStatus("");
    const shown = document.getElementById("article");
    shown.hidden = false;
    shown.focus();
    const mark = shown.querySelector("mark");
    if (mark) mark.scrollIntoView({ block: "center" });
  } catch (error) {
    if (error.status === 404) showStatus("Artikel tidak ditemukan: mungkin sudah dihapus dari indeks.", true);
    else if (error.status === 401) showStatus("Server ini meminta kunci API: cari dari halaman utama dulu.", true);
    else showStatus(error.status ? `Artikel tidak dapat dimuat: ${error.message}` : error.message, true);
  }
}

// The text as paragraphs (one per line), with the `spans` (code point offsets into the whole
// text) marked in each paragraph they cross.
function paragraphs(text, spans) {
  const points = Array.from(text);
  const shown = [];
  let start = 0;
  for (const line of text.split("\n")) {
    const end = start + Array.from(line).length;
    if (line.trim()) {
      const inLine = spans.filter(([from, to]) => from < end && to > start)
        .map(([from, to]) => [Math.max(from, start) - start, Math.min(to, end) - start]);
      shown.push(el("p", {}, marked(points.slice(start, end).join(""), inLine)));
    }
    start = end + 1;
  }
  return shown;
}

showArticle();
