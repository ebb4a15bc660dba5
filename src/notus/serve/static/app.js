// The notus chat page: multi-turn chat over POST /v1/chat/completions with streamed tokens (SSE),
// a stop button (aborts the request; the server then stops generating), settings and the conversation
// kept in localStorage. Markdown rendering is in markdown.js (escapes HTML first).
"use strict";

const STORAGE_KEY = "notus-chat";
const $ = (id) => document.getElementById(id);
const state = loadState();
let modelId = null;
let controller = null; // AbortController of the request in flight

function loadState() {
  const fallback = { messages: [], system: "", temperature: 0.7, maxTokens: 512, apiKey: "" };
  try {
    return { ...fallback, ...JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}") };
  } catch (err) {
    return fallback;
  }
}

function saveState() {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(state));
}

function messageElement(message) {
  const el = document.createElement("div");
  el.className = `message ${message.role}` + (message.error ? " error" : "");
  const body = document.createElement("div");
  body.className = "content";
  el.appendChild(body);
  fillMessage(el, message);
  return el;
}

function fillMessage(el, message) {
  const body = el.querySelector(".content");
  if (message.role === "assistant") body.innerHTML = renderMarkdown(message.content || "");
  else body.textContent = message.content;
  if (message.note) {
    const note = document.createElement("div");
    note.className = "note";
    note.textContent = message.note;
    body.appendChild(note);
  }
  el.classList.toggle("error", Boolean(message.error));
}

function renderAll() {
  const box = $("messages");
  box.replaceChildren(...state.messages.map(messageElement));
  if (!state.messages.length) {
    const empty = document.createElement("p");
    empty.className = "muted empty";
    empty.textContent = "Start a conversation below.";
    box.appendChild(empty);
  }
  box.scrollTop = box.scrollHeight;
}

function setBusy(busy) {
  $("send").hidden = busy;
  $("stop").hidden = !busy;
  $("prompt").disabled = busy;
}

function requestMessages() {
  const history = state.messages.filter((m) => !m.error).map(({ role, content }) => ({ role, content }));
  return state.system.trim() ? [{ role: "system", content: state.system }, ...history] : history;
}

async function send(text) {
  state.messages.push({ role: "user", content: text });
  const messages = requestMessages();
  const reply = { role: "assistant", content: "" };
  state.messages.push(reply);
  saveState();
  renderAll();
  const el = $("messages").lastElementChild;
  el.classList.add("streaming");
  controller = new AbortController();
  setBusy(true);
  const headers = { "Content-Type": "application/json" };
  if (state.apiKey) headers.Authorization = `Bearer ${state.apiKey}`;
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers,
      signal: controller.signal,
      body: JSON.stringify({
        model: modelId, messages, stream: true,
        temperature: Number(state.temperature), max_tokens: Number(state.maxTokens),
      }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(`${response.status}: ${(body.error && body.error.message) || response.statusText}`);
    }
    await readStream(response, (delta) => {
      reply.content += delta;
      fillMessage(el, reply);
      $("messages").scrollTop = $("messages").scrollHeight;
    });
  } catch (err) {
    if (err.name === "AbortError") reply.note = "(stopped)";
    else { reply.error = true; reply.content = reply.content || String(err.message || err); }
  } finally {
    controller = null;
    el.classList.remove("streaming");
    fillMessage(el, reply);
    saveState();
    setBusy(false);
    $("prompt").focus();
  }
}

async function readStream(response, onDelta) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data: ")) continue; // comments (keep-alive) and other fields
        const data = line.slice(6);
        if (data === "[DONE]") return;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
        if (delta && delta.content) onDelta(delta.content);
      }
    }
  }
}

async function loadModel() {
  try {
    const health = await (await fetch("/health")).json();
    modelId = health.model;
    $("model-name").textContent = modelId;
  } catch (err) {
    $("model-name").textContent = "(server unreachable)";
  }
}

function bindSettings() {
  const fields = [["system-prompt", "system"], ["temperature", "temperature"], ["max-tokens", "maxTokens"], ["api-key", "apiKey"]];
  for (const [id, key] of fields) {
    $(id).value = state[key];
    $(id).addEventListener("input", () => {
      state[key] = $(id).value;
      $("temperature-value").textContent = state.temperature;
      saveState();
    });
  }
  $("temperature-value").textContent = state.temperature;
  $("settings-toggle").addEventListener("click", () => {
    const open = $("settings").hidden;
    $("settings").hidden = !open;
    $("settings-toggle").setAttribute("aria-expanded", String(open));
  });
}

document.addEventListener("DOMContentLoaded", () => {
  bindSettings();
  renderAll();
  loadModel();
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("prompt").value.trim();
    if (!text || controller) return;
    $("prompt").value = "";
    send(text);
  });
  $("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("stop").addEventListener("click", () => controller && controller.abort());
  $("new-chat").addEventListener("click", () => {
    if (controller) controller.abort();
    state.messages = [];
    saveState();
    renderAll();
  });
});
