/*
 * The customer's token: from the demo sign-in on /chat/, or from the embedding page's
 * own backend through the tokenProvider it handed the widget; renewed a minute before
 * it expires. The page reads the token's claims (`sub`, `exp`) without checking the
 * signature, which only the server can: they keep customers' conversations apart and
 * tell when to renew. The server checks the token with every message.
 */

import { signIn, signOut } from "./account.js";
import { cleanString } from "./entries.js";
import { showNotice } from "./render.js";
import { flushPending } from "./socket.js";
import { REQUEST_TIMEOUT_MS, TOKEN_REFRESH_MARGIN_MS, TOKEN_RETRY_MS, config, state } from "./state.js";
import { keepDemoToken } from "./storage.js";
import { normalizeLanguage } from "./texts.js";

export const API = {
  customers: "/chat/api/demo-customers",
  token: "/chat/api/demo-token",
};

// A JSON request to the bot (config.base: its origin, "" on its own pages), with a
// timeout; never throws: status 0 is a network failure or a timeout.
export async function requestJson(method, url, body) {
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  const timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
  const options = {
    method: method,
    credentials: "omit", // the chat uses no cookies
    headers: { Accept: "application/json" },
    signal: controller ? controller.signal : undefined,
  };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  try {
    const response = await fetch(config.base + url, options);
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    return { ok: response.ok, status: response.status, data: data };
  } catch (err) {
    return { ok: false, status: 0, data: null }; // network error or timeout
  } finally {
    if (timer) clearTimeout(timer);
  }
}

// The customer's token: from the demo sign-in, or from the embedding page's backend.
// Resolves to {tokenData, status}: 200 with a token, 401 when nobody is signed in,
// 404 when the demo sign-in is off, 0 for a failure worth trying again.
export async function obtainToken(customerId) {
  if (config.mode === "demo") {
    const result = await requestJson("POST", API.token, { customer_id: customerId });
    return { tokenData: tokenFromResponse(result), status: result.status };
  }
  if (typeof config.tokenProvider !== "function") return { tokenData: null, status: 401 };
  let provided;
  try {
    provided = await config.tokenProvider();
  } catch (err) {
    return { tokenData: null, status: 0 };
  }
  const tokenData = tokenFromProvider(provided);
  return { tokenData: tokenData, status: tokenData ? 200 : 401 };
}

// A token from the page: a JWT string, or {token, expiresIn}.
function tokenFromProvider(provided) {
  const token = typeof provided === "string" ? provided : provided && typeof provided.token === "string" ? provided.token : null;
  if (!token || token.length > 8192) return null;
  const claims = jwtClaims(token);
  if (!claims || typeof claims.sub !== "string" || !claims.sub) return null;
  let lifetime = Number(provided && provided.expiresIn);
  if (!(lifetime > 0) && Number.isFinite(claims.exp)) {
    // exp - iat does not depend on this computer's clock; a token the site kept
    // for a while has less left, which exp - now tells when the clock is right.
    const total = Number.isFinite(claims.iat) ? claims.exp - claims.iat : Infinity;
    const left = claims.exp - Date.now() / 1000;
    lifetime = left > 0 ? Math.min(total, left) : total;
  }
  return {
    token: token,
    expiresAt: Date.now() + (lifetime > 0 && Number.isFinite(lifetime) ? lifetime : 300) * 1000,
    customer: { id: cleanString(claims.sub, 100), name: "", language: null },
  };
}

// A JWT's claims, read without checking the signature (only the server can): the
// page uses `sub` to keep customers' conversations apart and `exp` to renew in time.
function jwtClaims(token) {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const binary = atob(parts[1].replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(binary, function (c) { return c.charCodeAt(0); });
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === "object" ? claims : null;
  } catch (err) {
    return null;
  }
}

export function scheduleSignInRetry() {
  if (state.refreshTimer) clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(function () { signIn(null, { automatic: true }); }, TOKEN_RETRY_MS);
}

function tokenFromResponse(result) {
  const data = result && result.data;
  if (!result || !result.ok || !data || typeof data.token !== "string" || !data.token) return null;
  const seconds = Number(data.expires_in);
  const customer = data.customer && typeof data.customer === "object" ? data.customer : {};
  return {
    token: data.token,
    expiresAt: Date.now() + (Number.isFinite(seconds) && seconds > 0 ? seconds : 300) * 1000,
    customer: {
      id: cleanString(customer.id, 100),
      name: cleanString(customer.name, 120),
      language: normalizeLanguage(customer.language),
    },
  };
}

export function applyToken(tokenData) {
  state.token = tokenData.token;
  state.tokenExpiresAt = tokenData.expiresAt;
  // The demo page keeps its token for an offline reload; on another site the
  // page's own backend is asked again, and the token stays out of its storage.
  if (config.mode === "demo") {
    keepDemoToken(tokenData, state.customer ? state.customer.id : "");
  }
  // A minute before expiry; a very short-lived token is renewed at half its life instead.
  const lifetime = tokenData.expiresAt - Date.now();
  scheduleTokenRefresh(Math.max(lifetime - TOKEN_REFRESH_MARGIN_MS, lifetime / 2));
}

export function scheduleTokenRefresh(delayMs) {
  if (state.refreshTimer) clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refreshToken, Math.max(1000, delayMs));
}

export function tokenIsFresh() {
  return Boolean(state.token) && Date.now() < state.tokenExpiresAt - 5000;
}

// One refresh at a time; callers that need the token wait on the same promise.
export function refreshToken() {
  if (state.refreshing) return state.refreshing;
  if (!state.customer) return Promise.resolve(false);
  const customerId = state.customer.id;
  const seq = state.signInSeq;
  state.refreshing = obtainToken(customerId).then(function (result) {
    state.refreshing = null;
    if (seq !== state.signInSeq || !state.customer || state.customer.id !== customerId) return false;
    const tokenData = result.tokenData;
    if (tokenData && tokenData.customer.id && tokenData.customer.id !== customerId) {
      signIn(null, { automatic: true }); // another customer signed in on the site
      return false;
    }
    if (tokenData) {
      applyToken(tokenData);
      flushPending();
      return true;
    }
    if (result.status === 0 || result.status >= 500) {
      scheduleTokenRefresh(TOKEN_RETRY_MS); // transient: try again soon
      return false;
    }
    signOut();
    if (config.mode === "demo") showNotice("sessionExpired");
    return false;
  });
  return state.refreshing;
}
