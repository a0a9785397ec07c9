// The dedup report's page: reads the JSON blocks the writer embedded (dedup/io/report/html.py) and builds the
// views on demand. Document text is data: it reaches the page only as text nodes (textContent,
// createTextNode), never as markup, so a document holding a script element or an onerror attribute shows as
// text and runs nothing. (This file is inlined into the page: it must never hold a closing script tag.)
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("dedup-data").textContent);
  const PAGE = 50; // rows rendered at a time in any list: a long list grows by "show more", never all at once
  const app = document.getElementById("app");
  const chunks = new Map();
  const idLower = DATA.ids.map((id) => id.toLowerCase());
  const flagged = new Set(DATA.flagged);
  const clusterOf = new Map(); // document -> position of its cluster in DATA.clusters
  DATA.clusters.forEach((c, n) => c[2].forEach((d) => clusterOf.set(d, n)));

  // ---- building the page: elements with text children only
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null) continue;
      if (key === "class") node.className = value;
      else if (key === "onclick") node.addEventListener("click", value);
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const svgNS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const node = document.createElementNS(svgNS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    return node;
  }
  const fmt = (x, digits = 2) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));
  const count = (n) => Number(n).toLocaleString("en");

  // ---- the texts, parsed a block at a time
  function row(d) {
    const k = Math.floor(d / DATA.chunk);
    if (!chunks.has(k)) {
      const block = document.getElementById("dedup-texts-" + k);
      if (!block || !parsed(k)) return null; // not parsed yet: the page is still loading
      chunks.set(k, JSON.parse(block.textContent));
    }
    return chunks.get(k)[d % DATA.chunk];
  }
  const loaded = () => document.readyState !== "loading";

  // Offsets from Python count code points; JavaScript strings count UTF-16 units.
  function unitIndex(text) {
    if (!/[\uD800-\uDFFF]/.test(text)) return (i) => i;
    const map = [];
    let u = 0;
    for (const ch of text) {
      map.push(u);
      u += ch.length;
    }
    map.push(u);
    return (i) => map[Math.min(i, map.length - 1)];
  }

  // A text with marked spans: [start, end, class, attributes] in UTF-16 units, overlaps clipped.
  function marked(text, spans) {
    const box = el("div", { class: "text" });
    spans.sort((x, y) => x[0] - y[0] || y[1] - x[1]);
    let at = 0;
    for (const [s0, end, cls, attrs] of spans) {
      const start = Math.max(s0, at);
      if (end <= start) continue;
      if (start > at) box.appendChild(document.createTextNode(text.slice(at, start)));
      box.appendChild(el("mark", Object.assign({ class: cls }, attrs), text.slice(start, end)));
      at = end;
    }
    if (at < text.length) box.appendChild(document.createTextNode(text.slice(at)));
    return box;
  }

  // ---- shared passages, by the rule of dedup.engine.explain.shared_passages: maximal runs of at least k
  // words (runs of letters, marks and digits) both texts have, compared case-folded, in b's order.
  function words(text) {
    const out = [];
    for (const m of text.matchAll(/[\p{L}\p{M}\p{N}]+/gu)) out.push([m[0].toLowerCase(), m.index, m.index + m[0].length]);
    return out;
  }
  function sharedPassages(a, b, k) {
    const wa = words(a);
    const wb = words(b);
    const starts = new Map();
    for (let i = 0; i + k <= wa.length; i++) {
      const key = wa.slice(i, i + k).map((w) => w[0]).join(" ");
      if (!starts.has(key)) starts.set(key, []);
      starts.get(key).push(i);
    }
    const out = [];
    let j = 0;
    while (j + k <= wb.length) {
      const found = starts.get(wb.slice(j, j + k).map((w) => w[0]).join(" "));
      if (!found) {
        j++;
        continue;
      }
      let bestI = found[0];
      let bestN = 0;
      for (const i of found) {
        let n = k;
        while (i + n < wa.length && j + n < wb.length && wa[i + n][0] === wb[j + n][0]) n++;
        if (n > bestN) {
          bestI = i;
          bestN = n;
        }
      }
      out.push({ a: [wa[bestI][1], wa[bestI + bestN - 1][2]], b: [wb[j][1], wb[j + bestN - 1][2]], words: bestN });
      j += bestN;
    }
    return out;
  }

  // ---- charts: bars drawn as SVG, labels as text nodes
  function barChart(title, bars) {
    const width = 360;
    const height = 150;
    const max = Math.max(1, ...bars.map((b) => b[1]));
    const slot = width / Math.max(1, bars.length);
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height + 34}`, class: "chart", role: "img" });
    const label = svg("title");
    label.textContent = title;
    chart.appendChild(label);
    bars.forEach(([name, value], i) => {
      const h = Math.round((value / max) * height);
      chart.appendChild(svg("rect", { x: i * slot + 3, y: height - h + 14, width: slot - 6, height: h, class: "bar" }));
      const v = svg("text", { x: i * slot + slot / 2, y: height - h + 10, "text-anchor": "middle", class: "value" });
      v.textContent = count(value);
      chart.appendChild(v);
      const t = svg("text", { x: i * slot + slot / 2, y: height + 30, "text-anchor": "middle" });
      t.textContent = name;
      chart.appendChild(t);
    });
    return el("figure", { class: "figure" }, chart, el("figcaption", {}, title));
  }

  // ---- a list that renders PAGE rows at a time
  function pagedList(items, renderItem, empty) {
    const list = el("div", { class: "list" });
    let shown = 0;
    const more = el("button", { class: "more", type: "button" });
    function next() {
      const end = Math.min(items.length, shown + PAGE);
      for (; shown < end; shown++) list.insertBefore(renderItem(items[shown]), more);
      more.textContent = `show ${Math.min(PAGE, items.length - shown)} more (${count(items.length - shown)} left)`;
      more.hidden = shown >= items.length;
    }
    more.addEventListener("click", next);
    list.appendChild(more);
    if (!items.length) list.insertBefore(el("p", { class: "empty" }, empty), more);
    next();
    return list;
  }

  // ---- the main view
  function summaryView() {
    const s = DATA.summary || {};
    const rows = [["documents", count(s.documents ?? DATA.ids.length)]];
    if (DATA.kind === "scan") {
      rows.push(["skipped", count(DATA.skipped.length)]);
      if (s.words !== undefined) rows.push(["words", count(s.words)]);
      for (const [rel, n] of Object.entries(s.pairs || {})) rows.push([`${rel} pairs`, count(n)]);
      for (const [rel, n] of Object.entries(s.clusters || {})) rows.push([`${rel} clusters`, count(n)]);
      if (s.clustered_documents !== undefined) rows.push(["documents in clusters", count(s.clustered_documents)]);
      const candidates = Object.entries(s.candidates || {}).filter(([k]) => k.endsWith("_path"));
      if (candidates.length) rows.push(["candidate pairs by path", candidates.map(([k, n]) => `${k.replace("_path", "")} ${count(n)}`).join(", ")]);
      if (s.total_seconds !== undefined) rows.push(["seconds", fmt(s.total_seconds)]);
      const stages = Object.entries(s.seconds || {});
      if (stages.length) rows.push(["seconds by stage", stages.map(([k, t]) => `${k} ${fmt(t)}`).join(", ")]);
    }
    rows.push(["flagged as content-farm output", count(DATA.flagged.length)]);
    const table = el("table", { class: "summary" }, rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))));
    const charts = el("div", { class: "charts" });
    if (DATA.charts.sizes) charts.appendChild(barChart("clusters by size (documents)", DATA.charts.sizes));
    const bins = DATA.charts.scores.map((n, i) => [`${(i / 10).toFixed(1)}`, n]);
    if (DATA.charts.scores.some((n) => n)) charts.appendChild(barChart("documents by content-farm score", bins));
    return el("section", { id: "summary" }, el("h2", {}, "Summary"), el("div", { class: "cols" }, table, charts));
  }

  function measureText(m) {
    return m ? `${fmt(m[0] / DATA.scale)} / ${fmt(m[1] / DATA.scale)} / ${fmt(m[2] / DATA.scale)}` : "(via other members)";
  }

  function clusterItem(n) {
    const [id, relation, members, source, against, aligned] = DATA.clusters[n];
    const rep = members[0];
    const body = el("div", { class: "members" });
    const head = el(
      "button",
      { class: "cluster-head", type: "button", "aria-expanded": "false" },
      el("span", { class: "rel " + relation }, relation),
      el("span", { class: "size" }, `${members.length} documents`),
      el("span", { class: "rep" }, DATA.ids[rep]),
      el("span", { class: "cid" }, id),
    );
    const item = el("div", { class: "cluster", "data-cluster": id }, head, body);
    head.addEventListener("click", () => {
      const open = head.getAttribute("aria-expanded") === "true";
      head.setAttribute("aria-expanded", String(!open));
      if (!open && !body.firstChild) body.appendChild(membersTable(members, source, against, rep, alignedOf(aligned)));
      body.hidden = open;
    });
    body.hidden = true;
    return item;
  }

  // A cluster's aligned members: their place in its member list -> [coverage, order, spans].
  function alignedOf(aligned) {
    return new Map((aligned || []).map(([i, ...rest]) => [i, rest]));
  }

  function membersTable(members, source, against, rep, aligned) {
    const header = el("tr", {}, ["", "document", "words", "J / C / cos vs representative", "sentences aligned", "farm", ""].map((h) => el("th", {}, h)));
    const table = el("table", { class: "member-table" }, header);
    const list = pagedList(
      members.map((d, i) => [d, i]),
      ([d, i]) => {
        const role = [d === rep ? "representative" : "", d === source ? "source" : ""].filter(Boolean).join(", ");
        const score = DATA.score[d];
        return el(
          "tr",
          { class: flagged.has(d) ? "flagged" : null },
          el("td", { class: "role" }, role),
          el("td", {}, el("a", { href: `#doc=${d}` }, DATA.ids[d])),
          el("td", { class: "num" }, count(DATA.words[d])),
          el("td", { class: "num" }, d === rep ? "" : measureText(against[i])),
          el("td", { class: "num" }, aligned.has(i) ? `${fmt(aligned.get(i)[0] * 100, 0)}% of the smaller` : ""),
          el("td", { class: "num" }, score === null ? "" : fmt(score, 3)),
          el("td", {}, d === rep ? "" : el("a", { href: `#pair=${rep},${d}`, class: "compare" }, "compare side by side")),
        );
      },
      "",
    );
    // The rows go into the table; the list keeps its "show more" button below it.
    const wrap = el("div", {}, table, list);
    const move = () => {
      for (const r of [...list.querySelectorAll(":scope > tr")]) table.appendChild(r);
    };
    move();
    list.querySelector("button.more").addEventListener("click", move);
    return wrap;
  }

  function documentItem(d) {
    const score = DATA.score[d];
    return el(
      "div",
      { class: "doc-item" },
      el("a", { href: `#doc=${d}` }, DATA.ids[d]),
      score === null ? "" : el("span", { class: "score" + (flagged.has(d) ? " flagged" : "") }, ` farm ${fmt(score, 3)}`),
      clusterOf.has(d) ? el("span", { class: "in-cluster" }, ` in ${DATA.clusters[clusterOf.get(d)][1]} cluster ${DATA.clusters[clusterOf.get(d)][0]}`) : "",
    );
  }

  let state = { query: "", relation: "all", textHits: null };

  function filtered() {
    const q = state.query.toLowerCase();
    const docs = [];
    if (q) {
      for (let d = 0; d < DATA.ids.length; d++) if (idLower[d].includes(q)) docs.push(d);
      if (state.textHits) for (const d of state.textHits) if (!idLower[d].includes(q)) docs.push(d);
    }
    const wanted = new Set(docs.map((d) => clusterOf.get(d)).filter((n) => n !== undefined));
    const clusters = [];
    DATA.clusters.forEach((c, n) => {
      if (state.relation !== "all" && c[1] !== state.relation) return;
      if (q && !wanted.has(n)) return;
      clusters.push(n);
    });
    return { clusters, docs };
  }

  function resultsView() {
    const { clusters, docs } = filtered();
    const box = el("div", { id: "results" });
    if (DATA.kind === "scan") {
      box.appendChild(el("h2", {}, `Clusters, largest first (${count(clusters.length)})`));
      box.appendChild(pagedList(clusters, clusterItem, "No cluster matches."));
    }
    if (state.query) {
      box.appendChild(el("h2", {}, `Documents matching (${count(docs.length)})`));
      box.appendChild(pagedList(docs, documentItem, "No document matches."));
    } else {
      const flagged = DATA.flagged.slice().sort((x, y) => DATA.score[y] - DATA.score[x]);
      const all = DATA.kind === "score" ? DATA.ids.map((_, d) => d) : flagged;
      box.appendChild(el("h2", {}, DATA.kind === "score" ? "Articles" : `Flagged as content-farm output (${count(flagged.length)})`));
      box.appendChild(pagedList(all, documentItem, "No document was flagged."));
    }
    if (DATA.kind === "scan" && DATA.skipped.length) {
      box.appendChild(el("h2", {}, `Skipped inputs (${count(DATA.skipped.length)})`));
      box.appendChild(pagedList(DATA.skipped, ([path, reason]) => el("div", { class: "skip" }, el("code", {}, path), ` ${reason}`), ""));
    }
    return box;
  }

  function searchTexts(status, refresh) {
    // Through every block of texts, a block per step, so the page stays responsive.
    const q = state.query.toLowerCase();
    if (!q) return;
    const hits = [];
    let d = 0;
    function step() {
      if (d < DATA.ids.length && !parsed(Math.floor(d / DATA.chunk))) {
        status.textContent = "waiting for the texts to load…";
        setTimeout(step, 50);
        return;
      }
      const end = Math.min(DATA.ids.length, d + DATA.chunk);
      for (; d < end; d++) {
        const r = row(d);
        if (r && r[0] && r[0].toLowerCase().includes(q)) hits.push(d);
      }
      status.textContent = `searched ${count(d)} of ${count(DATA.ids.length)} texts: ${count(hits.length)} found`;
      if (d < DATA.ids.length) setTimeout(step, 0);
      else {
        state.textHits = hits;
        refresh();
      }
    }
    step();
  }

  function mainView(search) {
    const results = el("div");
    const status = el("span", { class: "status" });
    const refresh = () => results.replaceChildren(resultsView());
    const input = el("input", { type: "search", placeholder: "filter by id (then: search texts)", "aria-label": "filter" });
    input.value = state.query;
    let timer = 0;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        state = Object.assign(state, { query: input.value.trim(), textHits: null });
        status.textContent = "";
        refresh();
      }, 200);
    });
    const relation = el("select", { "aria-label": "relation" }, ["all", "duplicate", "rewrite"].map((r) => el("option", { value: r }, r)));
    relation.value = state.relation;
    relation.addEventListener("change", () => {
      state.relation = relation.value;
      refresh();
    });
    const textButton = el("button", { type: "button" }, "search texts too");
    textButton.addEventListener("click", () => searchTexts(status, refresh));
    const controls = el("div", { class: "controls" }, input, DATA.kind === "scan" ? relation : "", textButton, status);
    if (search) {
      // #search=words: the ids and the texts searched for the words, as the box and its button would.
      state = Object.assign(state, { query: search, textHits: null });
      input.value = search;
      searchTexts(status, refresh);
    }
    refresh();
    return el("div", {}, summaryView(), controls, results);
  }

  // ---- one cluster, opened (#cluster=id: a link to share)
  function clusterView(id) {
    const n = DATA.clusters.findIndex((c) => c[0] === id);
    const head = el("div", { class: "view-head" }, el("a", { href: "#", class: "back" }, "← all clusters"));
    if (n < 0) return el("div", {}, head, el("p", {}, "No such cluster in the report."));
    const item = clusterItem(n);
    item.querySelector("button.cluster-head").click();
    return el("div", {}, head, item);
  }

  // ---- a pair side by side
  function pairMeasures(x, y) {
    const n = clusterOf.get(x);
    if (n === undefined || clusterOf.get(y) !== n) return null;
    const [, relation, members, , against, aligned] = DATA.clusters[n];
    const rep = members[0];
    const other = x === rep ? y : y === rep ? x : null;
    if (other === null) return { relation, m: null, al: null };
    const i = members.indexOf(other);
    return { relation, m: against[i], al: alignedOf(aligned).get(i) || null, repFirst: x === rep };
  }

  // A pair's aligned sentences as marks on each side: [start, end, class, attributes] in UTF-16 units.
  function alignedMarks(al, repFirst, textA, textB) {
    const [ua, ub] = [unitIndex(textA), unitIndex(textB)];
    const mine = (s) => (repFirst ? [s[0], s[1], s[2], s[3]] : [s[2], s[3], s[0], s[1]]);
    const title = (i, s) => `aligned sentence ${i + 1}: similarity ${fmt(s[4], 2)}`;
    return [
      al[2].map((s, i) => { const [a0, a1] = mine(s); return [ua(a0), ua(a1), "aligned", { "data-p": i, title: title(i, s) }]; }),
      al[2].map((s, i) => { const [, , b0, b1] = mine(s); return [ub(b0), ub(b1), "aligned", { "data-p": i, title: title(i, s) }]; }),
    ];
  }

  function thresholdsTable(m) {
    const c = DATA.confirm || {};
    const value = (k) => m[k] / DATA.scale;
    const rows = [
      ["Jaccard", value(0), "duplicate_jaccard"],
      ["containment", value(1), "excerpt_containment"],
      ["containment", value(1), "duplicate_containment"],
      ["cosine", value(2), "duplicate_cosine"],
      ["cosine", value(2), "rewrite_cosine"],
    ].filter((r) => c[r[2]] !== undefined);
    return el(
      "table",
      { class: "thresholds" },
      el("tr", {}, ["measure", "value", "threshold", "setting", ""].map((h) => el("th", {}, h))),
      rows.map(([name, v, setting]) =>
        el("tr", { class: v >= c[setting] ? "met" : "unmet" }, el("td", {}, name), el("td", { class: "num" }, fmt(v, 3)),
          el("td", { class: "num" }, fmt(c[setting], 2)), el("td", {}, el("code", {}, setting)), el("td", {}, v >= c[setting] ? "met" : "not met")),
      ),
    );
  }

  function pairView(x, y) {
    const ra = row(x);
    const rb = row(y);
    const head = el("div", { class: "view-head" }, el("a", { href: "#", class: "back" }, "← all clusters"),
      el("h2", {}, "Pair: ", el("a", { href: `#doc=${x}` }, DATA.ids[x]), " and ", el("a", { href: `#doc=${y}` }, DATA.ids[y])));
    if (!ra || !rb || ra[0] === null || rb[0] === null) return el("div", {}, head, el("p", {}, loaded() ? "The text of a document of this pair is not in the report." : "Loading the texts…"));
    const known = pairMeasures(x, y);
    const facts = el("div", { class: "pair-facts" });
    if (known && known.m) facts.append(el("p", {}, `Relation: ${known.relation}. J / C / cos: ${measureText(known.m)}.`), thresholdsTable(known.m));
    else if (known) facts.append(el("p", {}, `Both are in one ${known.relation} cluster, related through other members: dedup explain measures this pair.`));
    const passages = sharedPassages(ra[0], rb[0], DATA.k || 5);
    const shared = passages.reduce((s, p) => s + p.words, 0);
    const al = known && known.al;
    const marking = al ? "" : " (highlighted; click one to find it on the other side)";
    facts.appendChild(el("p", { class: "passage-count" }, `${passages.length} shared passage${passages.length === 1 ? "" : "s"} of at least ${DATA.k || 5} words, ${count(shared)} words in all${marking}.`));
    let spansA = passages.map((p, i) => [p.a[0], p.a[1], "passage", { "data-p": i, title: `passage ${i + 1}: ${p.words} words` }]);
    let spansB = passages.map((p, i) => [p.b[0], p.b[1], "passage", { "data-p": i, title: `passage ${i + 1}: ${p.words} words` }]);
    if (al) {
      // A rewrite shares few passages: what corresponds is its sentences, aligned in order.
      facts.appendChild(el("p", { class: "alignment" }, `${al[2].length} aligned sentence pair${al[2].length === 1 ? "" : "s"} cover ${fmt(al[0] * 100, 0)}% of the smaller text; ${fmt(al[1] * 100, 0)}% of its matched sentences keep their order (underlined; click one to find its counterpart).`));
      [spansA, spansB] = alignedMarks(al, known.repFirst, ra[0], rb[0]);
    }
    const left = el("div", { class: "side", "data-side": "a" }, el("h3", {}, DATA.ids[x]), marked(ra[0], spansA));
    const right = el("div", { class: "side", "data-side": "b" }, el("h3", {}, DATA.ids[y]), marked(rb[0], spansB));
    const sides = el("div", { class: "side-by-side" }, left, right);
    sides.addEventListener("click", (event) => {
      const mark = event.target.closest("mark.passage, mark.aligned");
      if (!mark) return;
      const other = (mark.closest(".side") === left ? right : left).querySelector(`mark[data-p="${mark.getAttribute("data-p")}"]`);
      for (const m of sides.querySelectorAll("mark.current")) m.classList.remove("current");
      mark.classList.add("current");
      if (other) {
        other.classList.add("current");
        other.scrollIntoView({ block: "center" });
      }
    });
    return el("div", { class: "pair" }, head, facts, sides);
  }

  // ---- a document with its evidence
  function documentView(d) {
    const r = row(d);
    const n = clusterOf.get(d);
    const head = el("div", { class: "view-head" }, el("a", { href: "#", class: "back" }, DATA.kind === "score" ? "← all articles" : "← all clusters"), el("h2", {}, DATA.ids[d]));
    if (!r || r[0] === null) return el("div", {}, head, el("p", {}, loaded() ? "The text of this document is not in the report." : "Loading the texts…"));
    const [text, top, details] = r;
    const facts = el("p", { class: "doc-facts" }, `${count(DATA.words[d])} words`);
    if (DATA.score[d] !== null) facts.append(`; content-farm score ${fmt(DATA.score[d], 3)}${flagged.has(d) ? " (flagged)" : ""}`);
    if (n !== undefined) {
      const c = DATA.clusters[n];
      facts.append("; in ", c[1], " cluster ", el("a", { href: `#cluster=${c[0]}` }, c[0]), " of ", String(c[2].length), " (");
      if (c[2][0] !== d) facts.append(el("a", { href: `#pair=${c[2][0]},${d}` }, "compare with its representative"));
      else facts.append("its representative");
      facts.append(")");
    }
    const side = el("div", { class: "reasons" });
    const spans = [];
    if (details) {
      const unit = unitIndex(text);
      side.appendChild(el("h3", {}, `Every signal, strongest first (scored alone: ${fmt(details.score, 3)} against ${fmt(details.threshold, 2)})`));
      if (details.note) side.appendChild(el("p", { class: "note" }, details.note));
      const table = el("table", { class: "reason-table" }, el("tr", {}, ["", "signal", "value", "threshold", "log-odds", "what was measured"].map((h) => el("th", {}, h))));
      details.reasons.forEach(([code, value, threshold, contribution, message, evidence, quotes], i) => {
        const color = contribution > 0 && evidence.length ? `c${i % 6}` : "";
        for (const [s, e] of evidence) spans.push([unit(s), unit(e), `evidence ${color || "weak"}`, { "data-reason": code, title: `${code}: ${message}` }]);
        const tr = el("tr", { class: contribution > 0 ? "raises" : "lowers", "data-reason": code },
          el("td", {}, color ? el("span", { class: `swatch ${color}` }) : ""), el("td", {}, el("code", {}, code)),
          el("td", { class: "num" }, fmt(value, 3)), el("td", { class: "num" }, fmt(threshold, 3)), el("td", { class: "num" }, (contribution >= 0 ? "+" : "") + fmt(contribution)),
          el("td", {}, message, evidence.length ? ` (${evidence.length} spans)` : "", quotes.length ? el("div", { class: "quotes" }, quotes.map((q) => el("q", {}, q))) : ""));
        tr.addEventListener("click", () => {
          const box = side.parentNode.querySelector(".text");
          for (const m of box.querySelectorAll("mark.current")) m.classList.remove("current");
          const marks = box.querySelectorAll(`mark[data-reason="${code}"]`);
          marks.forEach((m) => m.classList.add("current"));
          if (marks.length) marks[0].scrollIntoView({ block: "center" });
        });
        table.appendChild(tr);
      });
      side.appendChild(table);
    } else {
      side.appendChild(el("h3", {}, "Strongest reasons in the scan"));
      side.appendChild(el("ul", {}, top.map(([code, contribution, message]) => el("li", {}, el("code", {}, code), ` +${fmt(contribution)}: ${message}`))));
      side.appendChild(el("p", { class: "note" }, "Evidence is highlighted for the documents of highest score; dedup score on this document shows every signal with its evidence."));
    }
    return el("div", { class: "document" }, head, facts, el("div", { class: "doc-cols" }, el("div", { class: "doc-text" }, marked(text, spans)), side));
  }

  // ---- routing: #pair=a,b, #doc=n and #cluster=id open those views, #search=words the main view searched;
  // anything else the main view
  // A block of texts is whole once the parser has started the next one, or finished the page.
  const parsed = (k) => loaded() || document.getElementById("dedup-texts-" + (k + 1)) !== null;
  let waiting = 0;
  function route() {
    const hash = decodeURIComponent(location.hash.slice(1));
    let view = "main";
    let node;
    const pair = /^pair=(\d+),(\d+)$/.exec(hash);
    const doc = /^doc=(\d+)$/.exec(hash);
    const valid = (d) => d >= 0 && d < DATA.ids.length;
    const single = DATA.kind === "score" && DATA.ids.length === 1 && !hash;
    const needed = pair ? [+pair[1], +pair[2]] : doc ? [+doc[1]] : single ? [0] : [];
    clearTimeout(waiting);
    if (!needed.every((d) => !valid(d) || parsed(Math.floor(d / DATA.chunk)))) {
      // The texts come after this script in the page: look again shortly, until the blocks needed are read.
      waiting = setTimeout(route, 25);
      if (app.querySelector(".loading")) return;
    }
    if (pair && valid(+pair[1]) && valid(+pair[2])) {
      node = pairView(+pair[1], +pair[2]);
      view = "pair";
    } else if (doc && valid(+doc[1])) {
      node = documentView(+doc[1]);
      view = "document";
    } else if (/^cluster=/.test(hash)) {
      node = clusterView(hash.slice(8));
      view = "cluster";
    } else if (single) {
      node = documentView(0);
      view = "document";
    } else {
      node = mainView(/^search=/.test(hash) ? hash.slice(7).trim() : "");
    }
    const title = el("header", {}, el("h1", {}, el("a", { href: "#" }, DATA.title)), el("span", { class: "version" }, DATA.summary && DATA.summary.version ? `dedup ${DATA.summary.version}` : ""));
    app.replaceChildren(title, node);
    document.body.setAttribute("data-view", view);
    window.scrollTo(0, 0);
    if (!document.body.hasAttribute("data-first-render")) {
      // The first frame with content: what bench/report_bench.py times.
      requestAnimationFrame(() => document.body.setAttribute("data-first-render", performance.now().toFixed(1)));
    }
  }
  window.addEventListener("hashchange", route);
  // When every block of texts is parsed (what a text search and an early pair or document view wait for).
  document.addEventListener("DOMContentLoaded", () => document.body.setAttribute("data-parsed", performance.now().toFixed(1)));
  route();
})();
