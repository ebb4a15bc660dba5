// A small, safe Markdown renderer: the text is HTML-escaped FIRST, then a few constructs are turned into
// tags: fenced code blocks, inline code, headings, lists, quotes, rules, bold, italic and http(s) links.
"use strict";

function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function renderInline(escaped) {
  // Split on inline code first so nothing inside `code` is formatted.
  return escaped.split(/(`[^`\n]+`)/).map((part, i) => {
    if (i % 2 === 1) return `<code>${part.slice(1, -1)}</code>`;
    return part
      .replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>')
      .replace(/\*\*([^*\n]+)\*\*/g, "<strong>$1</strong>")
      .replace(/__([^_\n]+)__/g, "<strong>$1</strong>")
      .replace(/(^|[^*\w])\*([^*\n]+)\*(?!\w)/g, "$1<em>$2</em>")
      .replace(/(^|[^_\w])_([^_\n]+)_(?!\w)/g, "$1<em>$2</em>");
  }).join("");
}

function renderBlocks(text) {
  const out = [];
  let list = null; // "ul" | "ol" while inside a list
  let paragraph = [];
  const flushParagraph = () => {
    if (paragraph.length) out.push(`<p>${paragraph.map(renderInline).join("<br>")}</p>`);
    paragraph = [];
  };
  const closeList = () => { if (list) out.push(`</${list}>`); list = null; };
  for (const line of escapeHtml(text).split("\n")) {
    let m;
    if (!line.trim()) { flushParagraph(); closeList(); continue; }
    if ((m = line.match(/^(#{1,6})\s+(.*)$/))) {
      flushParagraph(); closeList();
      const level = Math.min(m[1].length + 2, 6); // keep headings smaller than the page title
      out.push(`<h${level}>${renderInline(m[2])}</h${level}>`);
    } else if (/^\s*([-*_])\s*\1\s*\1[\s\-*_]*$/.test(line)) {
      flushParagraph(); closeList(); out.push("<hr>");
    } else if ((m = line.match(/^\s*[-*+]\s+(.*)$/)) || (m = line.match(/^\s*\d+[.)]\s+(.*)$/))) {
      flushParagraph();
      const kind = /^\s*\d/.test(line) ? "ol" : "ul";
      if (list !== kind) { closeList(); out.push(`<${kind}>`); list = kind; }
      out.push(`<li>${renderInline(m[1])}</li>`);
    } else if ((m = line.match(/^&gt;\s?(.*)$/))) {
      flushParagraph(); closeList(); out.push(`<blockquote>${renderInline(m[1])}</blockquote>`);
    } else {
      closeList(); paragraph.push(line);
    }
  }
  flushParagraph(); closeList();
  return out.join("");
}

function renderMarkdown(text) {
  // Odd parts are fenced code; an unterminated fence (while streaming) is shown as code already.
  return text.split(/^```/m).map((part, i) => {
    if (i % 2 === 0) return renderBlocks(part);
    const newline = part.indexOf("\n");
    const lang = newline >= 0 ? part.slice(0, newline).trim() : "";
    const code = newline >= 0 ? part.slice(newline + 1) : "";
    const label = lang ? `<span class="lang">${escapeHtml(lang)}</span>` : "";
    return `<pre>${label}<code>${escapeHtml(code.replace(/\n$/, ""))}</code></pre>`;
  }).join("");
}

if (typeof module !== "undefined") module.exports = { escapeHtml, renderMarkdown };
