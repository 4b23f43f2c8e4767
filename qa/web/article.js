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
    const paragraphs = article.text.split(/\n+/).filter((line) => line.trim());
    document.getElementById("text").replaceChildren(...paragraphs.map((line) => el("p", {}, line)));
    showStatus("");
    const shown = document.getElementById("article");
    shown.hidden = false;
    shown.focus();
  } catch (error) {
    if (error.status === 404) showStatus("Artikel tidak ditemukan: mungkin sudah dihapus dari indeks.", true);
    else if (error.status === 401) showStatus("Server ini meminta kunci API: cari dari halaman utama dulu.", true);
    else showStatus(error.status ? `Artikel tidak dapat dimuat: ${error.message}` : error.message, true);
  }
}

showArticle();
