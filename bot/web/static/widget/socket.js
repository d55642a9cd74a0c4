/*
 * The chat's Socket.IO connection to Rasa (the pinned socket.io-client, as an ES module).
 *
 * A customer's conversation is one Socket.IO session: its id is kept with the secret
 * the server handed out for it (session_confirm), and on every (re)connect the page
 * asks to rejoin it with both; without them the server starts a new session.
 * Messages typed before the session is confirmed wait in state.pending, and go out
 * with a fresh token. A customer's own message is kept only once the server says
 * how it stored it (`message_stored`): masked, when it held card data.
 */

import { io } from "./socket.io.esm.min.js";
import { cleanString, entryFromBotPayload } from "./entries.js";
import { appendEntry, hideTyping, renderComposer, renderConnection, showTyping } from "./render.js";
import {
  MAX_MESSAGE_LENGTH,
  SESSION_ID_PATTERN,
  SESSION_SECRET_PATTERN,
  config,
  state,
} from "./state.js";
import { keepSession, saveLog, storedSession } from "./storage.js";
import { refreshToken, tokenIsFresh } from "./token.js";

export function connectSocket(customerId) {
  disconnectSocket();
  // tryAllTransports: fall back to long-polling when a proxy blocks WebSockets.
  const socketOptions = { path: "/socket.io", transports: ["websocket", "polling"], tryAllTransports: true };
  const socket = config.base ? io(config.base, socketOptions) : io(socketOptions);
  state.socket = socket;
  state.sessionId = storedSession(customerId).id;
  state.sessionConfirmed = false;
  state.everConfirmed = false;
  setConnection("connecting");

  const isCurrent = function () { return state.socket === socket; };

  socket.on("connect", function () {
    if (!isCurrent()) return;
    state.sessionConfirmed = false;
    const stored = storedSession(customerId);
    const known = stored.id && SESSION_ID_PATTERN.test(stored.id) && stored.secret && SESSION_SECRET_PATTERN.test(stored.secret);
    socket.emit("session_request", known ? { session_id: stored.id, session_secret: stored.secret } : { session_id: null });
  });

  socket.on("session_confirm", function (data) {
    if (!isCurrent()) return;
    const id = typeof data === "string" ? data : data && typeof data.session_id === "string" ? data.session_id : null;
    if (!id || !SESSION_ID_PATTERN.test(id)) return;
    const secret = data && typeof data.session_secret === "string" && SESSION_SECRET_PATTERN.test(data.session_secret) ? data.session_secret : null;
    state.sessionId = id;
    state.sessionConfirmed = true;
    state.everConfirmed = true;
    keepSession(customerId, id, secret);
    setConnection("connected");
    flushPending();
  });

  socket.on("message_stored", function (data) {
    if (!isCurrent()) return;
    handleMessageStored(data);
  });

  socket.on("bot_uttered", function (payload) {
    if (!isCurrent()) return;
    handleBotUttered(payload);
  });

  socket.on("disconnect", function (reason) {
    if (!isCurrent()) return;
    state.sessionConfirmed = false;
    hideTyping();
    setConnection("reconnecting");
    // The client does not reconnect by itself after a server-side disconnect.
    if (reason === "io server disconnect") socket.connect();
  });

  socket.on("connect_error", function () {
    if (!isCurrent()) return;
    setConnection(state.everConfirmed ? "reconnecting" : "connecting");
  });
}

export function disconnectSocket() {
  const socket = state.socket;
  state.socket = null;
  state.sessionId = null;
  state.sessionConfirmed = false;
  if (socket) {
    socket.off();
    socket.disconnect();
  }
  setConnection("offline");
}

export function setConnection(name) {
  state.connection = name;
  renderConnection();
  renderComposer();
}

// ---------- sending ----------

// The browser's IANA time zone ("Europe/Riga"): the bot shows times in it.
function browserTimeZone() {
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    return typeof zone === "string" && zone.length <= 64 ? zone : undefined;
  } catch (error) {
    return undefined;
  }
}

function newMessageId() {
  const bytes = new Uint8Array(12);
  window.crypto.getRandomValues(bytes);
  return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
}

export function sendUserMessage(message, shownText) {
  if (!state.customer) return false;
  const text = message.trim();
  if (!text) return false;
  const id = newMessageId();
  // Shown at once, kept only when the server says how it stored it.
  appendEntry({ role: "user", text: (shownText || text).slice(0, MAX_MESSAGE_LENGTH), id: id, pending: true });
  state.pending.push({ message: text.slice(0, MAX_MESSAGE_LENGTH), language: state.lang, id: id });
  flushPending();
  if (state.handoff !== "waiting" && state.handoff !== "active") showTyping();
  return true;
}

// Sends queued messages once the session is confirmed and the token is valid.
export function flushPending() {
  const socket = state.socket;
  if (!socket || !socket.connected || !state.sessionConfirmed || !state.sessionId || state.pending.length === 0) return;
  if (!tokenIsFresh()) {
    refreshToken();
    return;
  }
  while (state.pending.length > 0) {
    const item = state.pending.shift();
    socket.emit("user_uttered", {
      message: item.message,
      message_id: item.id,
      session_id: state.sessionId,
      metadata: { customer_token: state.token, language: item.language, timezone: browserTimeZone() },
    });
  }
}

// ---------- receiving ----------

// The server stored one of the customer's messages: masked when it held card data.
function handleMessageStored(data) {
  if (!data || typeof data !== "object" || typeof data.message_id !== "string") return;
  const entry = state.log.find(function (e) { return e.role === "user" && e.id === data.message_id; });
  if (!entry) return;
  if (data.redacted === true && typeof data.text === "string") {
    entry.text = cleanString(data.text, MAX_MESSAGE_LENGTH);
    entry.redacted = true;
    const bubbleNode = state.bubbles.get(entry.id);
    if (bubbleNode) {
      bubbleNode.textContent = entry.text;
      bubbleNode.classList.add("redacted");
    }
  }
  entry.pending = false;
  saveLog();
}

function handleBotUttered(payload) {
  hideTyping();
  const entry = entryFromBotPayload(payload);
  if (!entry) return;
  if (entry.role === "status") state.handoff = entry.status;
  appendEntry(entry);
  if (typeof config.onActivity === "function") config.onActivity(entry);
}
