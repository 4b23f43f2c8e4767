// The article page: /article?id=...&back=<the search's query string>
"use strict";

async function showArticle() {
  const params = new URLSearchParams(location.search);
  const id = params.get("id");
  const back = params.get("back");
  if (back) document.getElementById("back").href = `/?${back}`;
  if (!id) {
    showStatus(t("noArticle"), true);
    return;
  }
  try {
    const article = await api(`/articles/${encodeURIComponent(id)}`);
    document.title = `${article.title || t("article")} · Tanya Berita`;
    document.getElementById("title").textContent = article.title || t("untitled");
    document.getElementById("meta").textContent = [article.source || t("noSource"), tanggal(article.date),
      article.author && t("by", article.author)].filter(Boolean).join(" · ");
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
    if (error.status === 404) showStatus(t("articleMissing"), true);
    else if (error.status === 401) showStatus(t("articleNeedsKey"), true);
    else showStatus(error.status ? t("articleFailed", error.message) : error.message, true);
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

translatePage();
showArticle();
