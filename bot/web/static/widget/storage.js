/*
 * What the chat keeps in the browser, and nothing else:
 *
 * - localStorage, per customer: the rendered conversation (only what the server said
 *   it stored: a message holding card data is kept masked, an unconfirmed one not at
 *   all), the Socket.IO session id and the secret that rejoining it needs;
 *   the visitor's language choice; on /chat/ the demo customer last signed in.
 * - sessionStorage, on /chat/ only: the demo token, for a reload while offline. On
 *   another site the token never enters storage: its backend is asked again.
 *
 * Storage can be unavailable (private mode, quotas): the chat still works without it.
 */

import { sanitizeStoredEntry } from "./entries.js";
import { MAX_LOG_ENTRIES, TOKEN_REFRESH_MARGIN_MS, state } from "./state.js";

export const STORAGE_KEYS = {
  language: "bb.lang",
  customer: "bb.customer",
  token: "bb.token",
  tokenExpiresAt: "bb.token.expires_at",
  tokenCustomer: "bb.token.customer",
  sessionPrefix: "bb.session.",
  sessionSecretPrefix: "bb.session_secret.",
  logPrefix: "bb.log.",
};

export function storageGet(storage, key) {
  try {
    return storage.getItem(key);
  } catch (err) {
    return null;
  }
}

export function storageSet(storage, key, value) {
  try {
    storage.setItem(key, value);
  } catch (err) {
    /* not persisted; nothing else to do */
  }
}

export function storageRemove(storage, key) {
  try {
    storage.removeItem(key);
  } catch (err) {
    /* ignore */
  }
}

// ---------- the Socket.IO session (id and rejoin secret) ----------

export function storedSession(customerId) {
  return {
    id: storageGet(localStorage, STORAGE_KEYS.sessionPrefix + customerId),
    secret: storageGet(localStorage, STORAGE_KEYS.sessionSecretPrefix + customerId),
  };
}

export function keepSession(customerId, id, secret) {
  storageSet(localStorage, STORAGE_KEYS.sessionPrefix + customerId, id);
  if (secret) storageSet(localStorage, STORAGE_KEYS.sessionSecretPrefix + customerId, secret);
}

// ---------- the conversation log ----------

function logKey(customerId) {
  return STORAGE_KEYS.logPrefix + customerId;
}

export function loadLog(customerId) {
  const raw = storageGet(localStorage, logKey(customerId));
  if (!raw) return [];
  try {
    const parsed = JSON.parse(raw);
    // Stored entries are re-checked: localStorage is not a trusted source either.
    return Array.isArray(parsed) ? parsed.map(sanitizeStoredEntry).filter(Boolean) : [];
  } catch (err) {
    return [];
  }
}

// A message the server has not confirmed yet may hold a card number: never stored.
export function saveLog() {
  if (!state.customer) return;
  if (state.log.length > MAX_LOG_ENTRIES) state.log = state.log.slice(-MAX_LOG_ENTRIES);
  const kept = state.log.filter(function (e) { return !e.pending; });
  storageSet(localStorage, logKey(state.customer.id), JSON.stringify(kept, function (key, value) {
    return key === "pending" ? undefined : value;
  }));
}

// What the page kept for a customer: the conversation and its session.
export function forgetConversation(customerId) {
  storageRemove(localStorage, logKey(customerId));
  storageRemove(localStorage, STORAGE_KEYS.sessionPrefix + customerId);
  storageRemove(localStorage, STORAGE_KEYS.sessionSecretPrefix + customerId);
}

// ---------- the demo page's token and customer ----------

export function keepDemoToken(tokenData, customerId) {
  storageSet(sessionStorage, STORAGE_KEYS.token, tokenData.token);
  storageSet(sessionStorage, STORAGE_KEYS.tokenExpiresAt, String(tokenData.expiresAt));
  storageSet(sessionStorage, STORAGE_KEYS.tokenCustomer, customerId || "");
}

// A still-valid demo token for this customer (an offline reload), else null.
export function storedTokenFor(customerId) {
  const token = storageGet(sessionStorage, STORAGE_KEYS.token);
  const expiresAt = Number(storageGet(sessionStorage, STORAGE_KEYS.tokenExpiresAt));
  const owner = storageGet(sessionStorage, STORAGE_KEYS.tokenCustomer);
  if (!token || owner !== customerId || !(expiresAt > Date.now() + TOKEN_REFRESH_MARGIN_MS)) return null;
  return { token: token, expiresAt: expiresAt, customer: { id: customerId, name: "", language: null } };
}

// Signing out: no token and no remembered customer stay behind.
export function forgetSignIn() {
  storageRemove(sessionStorage, STORAGE_KEYS.token);
  storageRemove(sessionStorage, STORAGE_KEYS.tokenExpiresAt);
  storageRemove(sessionStorage, STORAGE_KEYS.tokenCustomer);
  storageRemove(localStorage, STORAGE_KEYS.customer);
}
