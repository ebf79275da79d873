// The search box of index.html: plain JavaScript, no library, no build step (render/search.py).
// Shown only when this runs; loads search-index.js the first time the box is used (focus, typing,
// or ?q= in the address); every text goes into the page as text, never as markup. MARKS and
// SPECIAL, the folding tables, come just before this code in search.js, from Python's Unicode data.
(() => {
  "use strict";
  const STATUS = ["New submission", "Accepted", "Certified"];
  const FIRST = 20, MORE = 50;  // results shown at once, and at each "more"
  const ASCII = /^[\0-\x7f]*$/;
  const WORDS = /[\p{L}\p{N}\p{M}\p{Pc}]+/gu;
  const SPECIAL_RE = new RegExp("[" + Object.keys(SPECIAL).join("") + "]", "gu");

  // filters.fold in Python: NFKD, combining marks (canonical class not 0) dropped, case folded.
  // Folding is character by character, so a run of ordinary characters is folded at once and the
  // characters where lowercasing is not case folding (SPECIAL, from Python) are put in between.
  const plain = (t) => t.normalize("NFKD").replace(MARKS, "").toLowerCase().replace(/\u03c2/g, "\u03c3");
  function fold(s) {
    if (ASCII.test(s)) return s.toLowerCase();
    let out = "", last = 0;
    for (const m of s.matchAll(SPECIAL_RE)) {
      out += plain(s.slice(last, m.index)) + SPECIAL[m[0]];
      last = m.index + m[0].length;
    }
    return out + plain(s.slice(last));
  }
  const words = (s) => fold(s).match(WORDS) || [];

  const script = document.currentScript;
  const box = document.getElementById("search");
  const input = document.getElementById("q");
  const results = document.getElementById("results");
  let papers = null, labels = {}, loading = false, remembering = 0;

  function take(data) {
    // One line per paper, after a [day, week] line for each digest day (render/search.py).
    const all = [];
    let date = "", week = "";
    for (const row of data.items) {
      if (row.length === 2) {
        [date, week] = row;
        continue;
      }
      const [id, rung, title, authors, certs = []] = row;
      const names = authors ? authors.split(",") : [];
      const text = " " + words([id, title, ...names, ...certs].join(" ")).join(" ");
      all.push({ id, rung, title, names, certs, date, week, text });
    }
    labels = data.weeks;
    papers = all;
    show();
  }

  function load() {
    if (papers || loading) return;
    loading = true;
    status("Loading the index of every paper…");
    const tag = document.createElement("script");
    tag.src = new URL("search-index.js", script.src).href;
    tag.onerror = () => status("The search index could not be loaded.");
    document.head.append(tag);
  }

  function find(query) {
    const wanted = words(query).map((w) => " " + w);
    if (!wanted.length) return null;
    return papers.filter((p) => wanted.every((w) => p.text.includes(w)));
  }

  function status(text) {
    const p = document.createElement("p");
    p.textContent = text;
    results.replaceChildren(p);
  }

  function element(tag, text, attrs) {
    const el = document.createElement(tag);
    if (text !== undefined) el.textContent = text;
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    return el;
  }

  function hit(p) {
    const article = element("article");
    const h3 = element("h3");
    h3.append(element("a", p.title, { href: "https://openreview.net/forum?id=" + encodeURIComponent(p.id) }));
    const meta = element("p");
    for (const badge of [STATUS[p.rung], ...p.certs]) meta.append(element("span", badge, { class: "badge" }));
    meta.append(element("time", p.date, { datetime: p.date }), " · ");
    meta.append(element("a", "OpenReview", { href: "https://openreview.net/forum?id=" + encodeURIComponent(p.id) }), " · ");
    const week = new URL("weeks/" + p.week + ".html", script.src).href;
    meta.append(element("a", "the week of " + labels[p.week], { href: week }));
    article.append(h3, meta);
    if (p.names.length) article.append(element("p", p.names.join(", "), { class: "meta" }));
    const li = element("li");
    li.append(article);
    return li;
  }

  function show() {
    const query = input.value;
    clearTimeout(remembering);
    remembering = setTimeout(remember, 300, query);  // once typing pauses: the results come first
    if (!papers) return query.trim() ? load() : undefined;
    const found = find(query);
    if (found === null) return results.replaceChildren();
    const n = found.length;
    status(n === 0 ? "No paper found." : n === 1 ? "1 paper found." : n + " papers found.");
    const list = element("ol", undefined, { class: "papers" });
    results.append(list);
    more(list, found);
  }

  function more(list, found) {
    const shown = list.children.length;
    list.append(...found.slice(shown, shown + (shown ? MORE : FIRST)).map(hit));
    const left = found.length - list.children.length;
    if (left > 0) {
      const button = element("button", "Show " + Math.min(left, MORE) + " more", { type: "button" });
      button.addEventListener("click", () => {
        button.remove();
        more(list, found);
      });
      results.append(button);
    }
  }

  function remember(query) {
    // The query in the address, so that a search can be linked: index.html?q=pineau
    const url = new URL(location.href);
    if (query.trim()) url.searchParams.set("q", query);
    else url.searchParams.delete("q");
    if (url.href !== location.href) {
      try {
        history.replaceState(history.state, "", url.href);
      } catch {
        // Some browsers refuse it for pages opened from a folder (file://): the search still works.
      }
    }
  }

  window.digest2feed = { fold, words, index: take };
  if (!box || !input || !results) return;
  box.hidden = false;
  box.querySelector("form").addEventListener("submit", (e) => {
    e.preventDefault();
    show();
  });
  input.addEventListener("focus", load, { once: true });
  input.addEventListener("input", show);
  const asked = new URLSearchParams(location.search).get("q");
  if (asked) {
    input.value = asked;
    load();
  }
})();
