// Web chat for the Telegram sandbox: plain JS over the control API (/sandbox/api) and its
// server-sent events. No build step. URL parameters preselect things for demos and tests:
//   /?user=1001&name=Ana&lang=es&chat=1001
"use strict";

const API = "/sandbox/api";
const $ = (id) => document.getElementById(id);

const state = {
  info: null,
  user: null, // {id, first_name, username?, language_code?}
  chats: [],
  chatId: null,
  messages: new Map(), // message_id -> transcript message
  seen: new Set(),
  typingTimer: null,
};

// ---------------------------------------------------------------------------------- helpers

async function api(path, options = {}) {
  const response = await fetch(API + path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = body.error || `${response.status} ${response.statusText}`;
    toast(message);
    throw new Error(message);
  }
  return body;
}

function postJson(path, body) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

function esc(text) {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/);
  return ((parts[0] || "?")[0] + (parts[1] ? parts[1][0] : "")).toUpperCase();
}

function clock(unix) {
  const d = new Date(unix * 1000);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function humanSize(bytes) {
  if (bytes == null) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

let toastTimer = null;
function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 2600);
}

function alertBox(text) {
  $("alert-text").textContent = text;
  $("alert").hidden = false;
  $("alert-ok").focus();
}

// ------------------------------------------------------------------------ entity rendering

function wrapEntity(entity, inner, raw) {
  switch (entity.type) {
    case "bold": return `<b>${inner}</b>`;
    case "italic": return `<i>${inner}</i>`;
    case "underline": return `<u>${inner}</u>`;
    case "strikethrough": return `<s>${inner}</s>`;
    case "spoiler": return `<span class="spoiler">${inner}</span>`;
    case "code": return `<code>${inner}</code>`;
    case "pre": return `<pre>${inner}</pre>`;
    case "blockquote": case "expandable_blockquote": return `<blockquote>${inner}</blockquote>`;
    case "text_link": return `<a href="${esc(entity.url)}" target="_blank" rel="noopener">${inner}</a>`;
    case "url": {
      const href = /^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`;
      return `<a href="${esc(href)}" target="_blank" rel="noopener">${inner}</a>`;
    }
    case "email": return `<a href="mailto:${esc(raw)}">${inner}</a>`;
    case "bot_command": return `<a href="#" class="command" data-command="${esc(raw)}">${inner}</a>`;
    case "mention": case "hashtag": case "cashtag": case "text_mention":
      return `<a href="#">${inner}</a>`;
    default: return inner;
  }
}

// Entity offsets are UTF-16 code units, exactly JavaScript's string indexes.
function renderText(text, entities) {
  const list = (entities || [])
    .filter((e) => e.length > 0)
    .slice()
    .sort((a, b) => a.offset - b.offset || b.length - a.length);
  function build(start, end, items) {
    let out = "";
    let pos = start;
    let i = 0;
    while (i < items.length) {
      const entity = items[i];
      if (entity.offset < pos) { i += 1; continue; }
      const entityEnd = Math.min(entity.offset + entity.length, end);
      const inner = [];
      let j = i + 1;
      while (j < items.length && items[j].offset < entityEnd) {
        if (items[j].offset + items[j].length <= entityEnd) inner.push(items[j]);
        j += 1;
      }
      out += esc(text.slice(pos, entity.offset));
      out += wrapEntity(entity, build(entity.offset, entityEnd, inner), text.slice(entity.offset, entityEnd));
      pos = entityEnd;
      i = j;
    }
    return out + esc(text.slice(pos, end));
  }
  return build(0, text.length, list);
}

// ------------------------------------------------------------------------------- chat list

function chatName(chat) {
  if (chat.type === "private") {
    const user = chat.user || {};
    return [user.first_name, user.last_name].filter(Boolean).join(" ") || `User ${chat.id}`;
  }
  return chat.title || `Group ${chat.id}`;
}

// The chats the current user is in, as Telegram lists them: their own private chat with the bot
// and the groups, each once. Other users' private chats (a test's other customers, an earlier
// "you are") stay out: they read as the same chat twice when the users share a name.
function visibleChats() {
  const me = state.user ? Number(state.user.id) : null;
  const seen = new Set();
  return state.chats.filter((chat) => {
    if (seen.has(chat.id)) return false;
    seen.add(chat.id);
    return chat.type !== "private" || chat.id === me;
  });
}

function renderChats() {
  const list = $("chat-list");
  list.innerHTML = "";
  for (const chat of visibleChats()) {
    const li = document.createElement("li");
    li.dataset.chatId = chat.id;
    if (chat.id === state.chatId) li.classList.add("active");
    const cls = chat.type === "private" ? "" : " group";
    li.innerHTML = `
      <div class="avatar${cls}">${esc(initials(chatName(chat)))}</div>
      <div class="chat-meta">
        <div class="chat-name">${esc(chatName(chat))}</div>
        <div class="chat-preview">${esc(chat.last_message || (chat.type === "private" ? "private chat" : chat.type))}</div>
      </div>`;
    li.addEventListener("click", () => openChat(chat.id));
    list.appendChild(li);
  }
}

let chatsLoads = 0;
async function loadChats() {
  // Only the latest answer counts: an older list arriving late must not replace a newer one.
  const load = ++chatsLoads;
  const chats = await api("/chats");
  if (load !== chatsLoads) return;
  state.chats = chats;
  renderChats();
}

let chatsTimer = null;
function refreshChatsSoon() {
  clearTimeout(chatsTimer);
  chatsTimer = setTimeout(loadChats, 150);
}

// ------------------------------------------------------------------------------- messages

function currentChat() {
  return state.chats.find((c) => c.id === state.chatId) || null;
}

function senderSpec() {
  const chat = currentChat();
  if (chat && chat.type === "private") return chat.user || { id: chat.id, first_name: "User" };
  return state.user;
}

function isOutgoing(message) {
  const me = senderSpec();
  return !message.from_bot && me && message.from && message.from.id === me.id;
}

// Consecutive messages of one album render as one bubble, like Telegram does.
function groups() {
  const sorted = [...state.messages.values()].sort((a, b) => a.message_id - b.message_id);
  const out = [];
  for (const message of sorted) {
    const last = out[out.length - 1];
    if (last && message.media_group_id && last.groupId === message.media_group_id) {
      last.items.push(message);
    } else {
      out.push({
        key: message.media_group_id ? `g${message.media_group_id}` : `m${message.message_id}`,
        groupId: message.media_group_id,
        items: [message],
      });
    }
  }
  return out;
}

function mediaHtml(items) {
  const photos = [];
  let docs = "";
  for (const message of items) {
    for (const media of message.media || []) {
      if (media.type === "photo") {
        photos.push(`<img src="${esc(media.download_url)}" alt="photo ${media.width}×${media.height}"
          title="${media.width}×${media.height}, ${humanSize(media.file_size)}" data-width="${media.width}"
          data-height="${media.height}" loading="lazy">`);
      } else {
        const dims = media.width ? ` · ${media.width}×${media.height}` : "";
        docs += `<a class="doc" href="${esc(media.download_url)}" target="_blank" rel="noopener">
          <div class="doc-icon">⬇</div>
          <div><div class="doc-name">${esc(media.file_name || "file")}</div>
          <div class="doc-size">${humanSize(media.file_size)} · ${esc(media.mime_type || "")}${dims}</div></div></a>`;
      }
    }
  }
  const n = photos.length;
  const cls = n === 0 ? "" : n === 1 ? "n1" : n === 2 ? "n2" : n <= 4 ? `n${n}` : "many";
  const grid = n ? `<div class="media-grid ${cls}">${photos.join("")}</div>` : "";
  return grid + docs;
}

function keyboardHtml(message) {
  const rows = (message.reply_markup && message.reply_markup.inline_keyboard) || [];
  if (!rows.length || message.deleted) return "";
  const html = rows.map((row) => `<div class="kb-row">${row.map((button) => {
    if (button.url) {
      return `<a class="kb-url" href="${esc(button.url)}" target="_blank" rel="noopener">${esc(button.text)} ↗</a>`;
    }
    if (button.pay) {
      return `<button type="button" class="pay" data-pay="${message.message_id}">${esc(button.text)}</button>`;
    }
    const data = button.callback_data == null ? "" : button.callback_data;
    return `<button type="button" data-message-id="${message.message_id}" data-callback="${esc(data)}">${esc(button.text)}</button>`;
  }).join("")}</div>`).join("");
  return `<div class="keyboard">${html}</div>`;
}

function groupElement(group) {
  const first = group.items[0];
  const captioned = group.items.find((m) => m.caption) || first;
  const last = group.items[group.items.length - 1];
  const row = document.createElement("div");
  row.className = "row" + (isOutgoing(first) ? " out" : "");
  row.dataset.key = group.key;
  row.dataset.messageId = first.message_id;
  const service = serviceText(first); // payments.js: successful_payment, refunded_payment
  if (service) {
    row.className = "row service";
    row.innerHTML = `<div class="service-pill">${esc(service)}</div>`;
    return row;
  }
  const chat = currentChat();
  const showSender = chat && chat.type !== "private" && !isOutgoing(first);
  const senderName = first.from_bot
    ? (state.info && state.info.bot.first_name) || "bot"
    : [first.from.first_name, first.from.last_name].filter(Boolean).join(" ");
  const text = first.text != null
    ? renderText(first.text, first.entities)
    : captioned.caption ? renderText(captioned.caption, captioned.entities) : "";
  const edited = group.items.some((m) => m.edit_date) ? '<span class="edited">edited</span>' : "";
  const deleted = group.items.every((m) => m.deleted);
  const bubble = `
    <div class="bubble${deleted ? " deleted" : ""}" data-from-bot="${first.from_bot}">
      ${showSender ? `<div class="sender">${esc(senderName)}</div>` : ""}
      ${mediaHtml(group.items)}
      ${invoiceHtml(first)}
      ${text ? `<span class="text">${text}</span>` : ""}
      <span class="meta">${deleted ? "deleted · " : ""}${edited}${clock(last.edit_date || last.date)}</span>
    </div>`;
  const hasPhoto = group.items.some((m) => (m.media || []).some((x) => x.type === "photo"));
  row.innerHTML = `<div class="stack${hasPhoto ? " with-media" : ""}">${bubble}${keyboardHtml(last)}</div>`;
  // Photos load after layout: keep the view pinned to the newest message meanwhile.
  row.querySelectorAll("img").forEach((img) => img.addEventListener("load", () => {
    const box = $("messages");
    if (box.scrollHeight - box.scrollTop - box.clientHeight < 600) box.scrollTop = box.scrollHeight;
  }));
  return row;
}

function signature(group) {
  return JSON.stringify(group.items.map((m) => [m.text, m.caption, m.reply_markup, m.deleted, m.edit_date, m.media]));
}

function renderMessages(flashKey) {
  const box = $("messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  const existing = new Map([...box.querySelectorAll(".row")].map((el) => [el.dataset.key, el]));
  $("empty").hidden = state.messages.size > 0;
  let previous = $("empty");
  for (const group of groups()) {
    const sig = signature(group);
    let el = existing.get(group.key);
    existing.delete(group.key);
    if (!el || el.dataset.sig !== sig) {
      const fresh = groupElement(group);
      fresh.dataset.sig = sig;
      if (el) {
        el.replaceWith(fresh);
        if (group.key === flashKey) fresh.querySelector(".bubble").classList.add("flash");
      }
      el = fresh;
    }
    if (previous.nextSibling !== el) previous.after(el);
    previous = el;
  }
  for (const stale of existing.values()) stale.remove();
  if (nearBottom) box.scrollTop = box.scrollHeight;
}

async function openChat(chatId) {
  state.chatId = chatId;
  localStorage.setItem("sandbox.chat", String(chatId));
  state.messages.clear();
  $("messages").querySelectorAll(".row").forEach((el) => el.remove());
  if (!state.chats.some((c) => c.id === chatId)) await loadChats();
  renderChats();
  const chat = currentChat();
  const data = await api(`/chats/${chatId}/messages`);
  for (const message of data.messages) state.messages.set(message.message_id, message);
  $("conv-title").textContent = chat ? chatName(chat) : `Chat ${chatId}`;
  const avatar = $("conv-avatar");
  avatar.textContent = initials(chat ? chatName(chat) : "?");
  avatar.className = "avatar" + (chat && chat.type !== "private" ? " group" : "");
  setStatus();
  $("text-input").disabled = false;
  $("send-button").disabled = false;
  renderMessages();
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
  $("text-input").focus();
}

function setStatus(action) {
  const el = $("conv-status");
  const chat = currentChat();
  const bot = state.info ? `@${state.info.bot.username}` : "bot";
  if (action) {
    el.textContent = `${bot} is ${action.replace(/_/g, " ")}…`;
    el.classList.add("typing");
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(() => setStatus(), 5000);
    return;
  }
  el.classList.remove("typing");
  if (!chat) { el.textContent = "\u00a0"; return; }
  const who = chat.type === "private" ? "private chat with" : `${chat.type} with`;
  const as = chat.type === "private" ? "" : ` · you are ${state.user ? state.user.first_name : "?"}`;
  el.textContent = `${who} ${bot}${as}`;
}

// ---------------------------------------------------------------------------------- acting

async function sendText(text) {
  if (!state.chatId || !text.trim()) return;
  await postJson(`/chats/${state.chatId}/messages`, { from: senderSpec(), text });
}

async function sendFiles(files, caption, asDocument) {
  const images = files.filter((f) => f.type.startsWith("image/"));
  const form = () => {
    const data = new FormData();
    data.append("from", JSON.stringify(senderSpec()));
    if (caption) data.append("caption", caption);
    return data;
  };
  if (!asDocument && images.length === files.length && files.length >= 2) {
    const data = form();
    for (const file of files.slice(0, 10)) data.append("photo", file, file.name);
    await api(`/chats/${state.chatId}/album`, { method: "POST", body: data });
    return;
  }
  for (const [index, file] of files.entries()) {
    const data = index === 0 ? form() : (() => { const d = new FormData(); d.append("from", JSON.stringify(senderSpec())); return d; })();
    const photo = !asDocument && file.type.startsWith("image/");
    data.append(photo ? "photo" : "document", file, file.name);
    await api(`/chats/${state.chatId}/${photo ? "photo" : "document"}`, { method: "POST", body: data });
  }
}

async function press(messageId, callbackData) {
  await postJson(`/chats/${state.chatId}/press`, {
    from: senderSpec(),
    message_id: messageId,
    callback_data: callbackData,
  });
}

// ------------------------------------------------------------------------------ live events

function onEvent(event) {
  if (event.type === "reset") { location.reload(); return; }
  // Another bot's chat may have the same id: the page shows the primary bot's chats only.
  if (event.bot_id !== undefined && state.info && event.bot_id !== state.info.bot.id) return;
  if (event.type === "chat") { refreshChatsSoon(); return; }
  if (["message", "edit", "delete"].includes(event.type)) {
    refreshChatsSoon();
    if (event.chat_id !== state.chatId) return;
    const message = event.message;
    state.messages.set(message.message_id, message);
    if (message.from_bot && event.type === "message") setStatus();
    const key = message.media_group_id ? `g${message.media_group_id}` : `m${message.message_id}`;
    renderMessages(event.type === "edit" ? key : undefined);
    return;
  }
  if (event.chat_id !== state.chatId) return;
  if (event.type === "payment") { showPaymentOutcome(event); return; }
  if (event.type === "chat_action") setStatus(event.action);
  if (event.type === "callback_answer" && event.text) {
    if (event.show_alert) alertBox(event.text); else toast(event.text);
  }
}

function listen() {
  const source = new EventSource(`${API}/events`);
  // Every event is named (`event: message` included), so one listener per name sees each once;
  // an `onmessage` handler besides would see every message event a second time.
  for (const type of ["message", "edit", "delete", "chat", "chat_action", "callback_answer", "reset", "callback_query", "payment"]) {
    source.addEventListener(type, (e) => onEvent(JSON.parse(e.data)));
  }
  source.onopen = () => { if (state.info) $("bot-name").textContent = `@${state.info.bot.username}`; };
  source.onerror = () => { $("bot-name").textContent = "reconnecting…"; };
}

// ----------------------------------------------------------------------------------- wiring

function fillUserForm() {
  $("user-id").value = state.user.id;
  $("user-first").value = state.user.first_name;
  $("user-username").value = state.user.username || "";
  $("user-lang").value = state.user.language_code || "";
}

async function saveUser(spec) {
  const clean = { id: Number(spec.id), first_name: spec.first_name };
  if (spec.username) clean.username = spec.username;
  if (spec.language_code) clean.language_code = spec.language_code;
  state.user = await postJson("/users", clean);
  localStorage.setItem("sandbox.user", JSON.stringify(state.user));
  fillUserForm();
  return state.user;
}

async function openPrivateChat() {
  const user = state.user;
  await postJson("/chats", { id: user.id, type: "private", user });
  await loadChats();
  await openChat(user.id);
}

function wire() {
  $("user-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    await saveUser({
      id: $("user-id").value,
      first_name: $("user-first").value,
      username: $("user-username").value,
      language_code: $("user-lang").value,
    });
    await openPrivateChat();
  });
  $("group-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const id = Number($("group-id").value);
    await postJson("/chats", { id, title: $("group-title").value, user: state.user });
    await loadChats();
    await openChat(id);
  });
  $("composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("text-input");
    const text = input.value;
    input.value = "";
    try { await sendText(text); } catch (err) { input.value = text; }
  });
  $("file-input").addEventListener("change", async (e) => {
    const files = [...e.target.files];
    e.target.value = "";
    if (!files.length || !state.chatId) return;
    const caption = $("text-input").value.trim();
    $("text-input").value = "";
    await sendFiles(files, caption, $("as-document").checked);
  });
  $("messages").addEventListener("click", async (e) => {
    const pay = e.target.closest(".keyboard button[data-pay]");
    if (pay) { await openPayForm(Number(pay.dataset.pay)); return; }
    const button = e.target.closest(".keyboard button");
    if (button) { await press(Number(button.dataset.messageId), button.dataset.callback); return; }
    const command = e.target.closest("a.command");
    if (command) { e.preventDefault(); await sendText(command.dataset.command); return; }
    const spoiler = e.target.closest(".spoiler");
    if (spoiler) spoiler.classList.add("shown");
  });
  $("alert-ok").addEventListener("click", () => ($("alert").hidden = true));
  wirePayForm();
}

async function main() {
  wire();
  state.info = await api("/info");
  $("bot-name").textContent = `@${state.info.bot.username}`;
  const params = new URLSearchParams(location.search);
  const stored = JSON.parse(localStorage.getItem("sandbox.user") || "null");
  const user = params.get("user")
    ? { id: params.get("user"), first_name: params.get("name") || "Ana", language_code: params.get("lang") || "es" }
    : stored || { id: 1001, first_name: "Ana", language_code: "es" };
  await saveUser(user);
  listen();
  await loadChats();
  const wanted = params.get("chat") || localStorage.getItem("sandbox.chat");
  const chatId = wanted ? Number(wanted) : null;
  if (chatId && visibleChats().some((c) => c.id === chatId)) await openChat(chatId);
  else await openPrivateChat();
}

main().catch((err) => toast(String(err)));
