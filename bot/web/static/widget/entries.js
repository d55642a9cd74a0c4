/*
 * What the server sends, turned into the entries of the conversation log: plain data
 * ({role: "user" | "bot" | "agent" | "card" | "status", ...}) that render.js shows
 * with textContent only and storage.js keeps. Anything unknown or malformed is
 * dropped, and entries read back from localStorage go through the same checks.
 */

import { HANDOFF_STATUSES, MAX_MESSAGE_LENGTH, MAX_QUICK_REPLIES, MESSAGE_ID_PATTERN } from "./state.js";

export function cleanString(value, maxLength) {
  if (typeof value !== "string") return "";
  return value.length > maxLength ? value.slice(0, maxLength) : value;
}

// Only http(s) links are ever rendered; javascript:, data: and friends are dropped.
export function safeHttpUrl(value) {
  if (typeof value !== "string" || value.length > 2048) return null;
  try {
    const url = new URL(value, window.location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (err) {
    return null;
  }
}

// Turns one bot_uttered payload into a log entry, or null for anything unknown.
export function entryFromBotPayload(payload) {
  if (!payload || typeof payload !== "object") return null;
  const custom = payload.custom;
  if (custom && typeof custom === "object") {
    if (custom.card_form && typeof custom.card_form === "object") return cardFormEntry(custom.card_form);
    if (custom.handoff && typeof custom.handoff === "object") return handoffEntry(custom.handoff);
  }
  if (typeof payload.text !== "string" || !payload.text.trim()) return null;
  const text = cleanString(payload.text, 5000);
  const metadata = payload.metadata && typeof payload.metadata === "object" ? payload.metadata : null;
  if (metadata && typeof metadata.agent === "string" && metadata.agent.trim()) {
    return { role: "agent", text: text, agent: cleanString(metadata.agent.trim(), 80) };
  }
  const buttons = Array.isArray(payload.quick_replies)
    ? payload.quick_replies
        .filter(function (b) { return b && typeof b.title === "string" && b.title && typeof b.payload === "string" && b.payload; })
        .slice(0, MAX_QUICK_REPLIES)
        .map(function (b) { return { title: cleanString(b.title, 200), payload: cleanString(b.payload, MAX_MESSAGE_LENGTH) }; })
    : [];
  const entry = { role: "bot", text: text };
  if (buttons.length > 0) {
    entry.buttons = buttons;
    entry.chosen = null;
  }
  return entry;
}

export function cardFormEntry(cardForm) {
  const url = safeHttpUrl(cardForm.url);
  if (!url) return null;
  const seconds = Number(cardForm.expires_in_seconds);
  const valid = Number.isFinite(seconds) && seconds > 0;
  return {
    role: "card",
    url: url,
    minutes: valid ? Math.max(1, Math.round(seconds / 60)) : null,
    expiresAt: valid ? Date.now() + seconds * 1000 : null,
  };
}

export function handoffEntry(handoff) {
  if (HANDOFF_STATUSES.indexOf(handoff.status) === -1) return null;
  const position = Number(handoff.position);
  return {
    role: "status",
    status: handoff.status,
    agent: typeof handoff.agent === "string" ? cleanString(handoff.agent.trim(), 80) : "",
    position: Number.isInteger(position) && position > 0 ? position : null,
  };
}

export function lastHandoffStatus(log) {
  for (let i = log.length - 1; i >= 0; i -= 1) {
    if (log[i].role === "status") return log[i].status;
  }
  return null;
}

// An entry read back from localStorage: checked like a payload from the server.
export function sanitizeStoredEntry(entry) {
  if (!entry || typeof entry !== "object") return null;
  switch (entry.role) {
    case "user": {
      if (typeof entry.text !== "string") return null;
      const user = { role: "user", text: cleanString(entry.text, MAX_MESSAGE_LENGTH) };
      if (typeof entry.id === "string" && MESSAGE_ID_PATTERN.test(entry.id)) user.id = entry.id;
      if (entry.redacted === true) user.redacted = true;
      return user;
    }
    case "bot": {
      const bot = entryFromBotPayload({ text: entry.text, quick_replies: entry.buttons });
      if (bot && bot.buttons) bot.chosen = Number.isInteger(entry.chosen) ? entry.chosen : null;
      return bot;
    }
    case "agent":
      return entryFromBotPayload({ text: entry.text, metadata: { agent: entry.agent } });
    case "card": {
      const url = safeHttpUrl(entry.url);
      if (!url) return null;
      return {
        role: "card",
        url: url,
        minutes: Number.isInteger(entry.minutes) ? entry.minutes : null,
        expiresAt: Number.isFinite(entry.expiresAt) ? entry.expiresAt : null,
      };
    }
    case "status":
      return handoffEntry(entry);
    default:
      return null;
  }
}
