/*
 * What the chat panel's modules share: the options mount() was given (`config`), the
 * conversation as the page holds it (`state`), the panel's elements (`el`), limits,
 * and `t()`, a text in the panel's current language.
 *
 * The modules, by concern (each imports what it uses from the others; nothing runs
 * at import time, so the imports may go both ways):
 *   texts.js    the en/lv/zh words            storage.js  what the browser keeps
 *   entries.js  server payloads -> log entries token.js    the customer's token
 *   socket.js   Socket.IO: session, rejoin, sending, receiving
 *   render.js   the DOM of the panel           account.js  sign-in, sign-out, language
 *   chat.js     mount() and the API the launcher (widget.js) and /chat/ (demo.js) use
 */

import { translate } from "./texts.js";

// Set by mount(): where the bot is, how the customer's token is obtained, callbacks.
export const config = {
  base: "",
  mode: "demo", // demo | embedded
  tokenProvider: null,
  lang: null,
  onClose: null,
  onActivity: null,
};

export const MAX_LOG_ENTRIES = 300;
export const MAX_QUICK_REPLIES = 20;
export const MAX_MESSAGE_LENGTH = 2000;
export const TOKEN_REFRESH_MARGIN_MS = 60 * 1000;
export const TOKEN_RETRY_MS = 15 * 1000;
export const REQUEST_TIMEOUT_MS = 15 * 1000;
export const TYPING_TIMEOUT_MS = 20 * 1000;
// Rasa answers session_request with a uuid4 hex; anything odd is not stored.
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;
export const SESSION_SECRET_PATTERN = /^[A-Za-z0-9_-]{16,256}$/;
export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
export const HANDOFF_STATUSES = ["waiting", "active", "ended"];

// The panel's elements by camel-cased id (el.signIn is #sign-in), set by render.buildPanel.
export const el = {};

export const state = {
  lang: "en",
  langExplicit: false,
  customersStatus: "loading", // loading | ready | disabled | failed
  customers: [],
  customer: null, // {id, name, language} while signed in
  token: null,
  tokenExpiresAt: 0,
  refreshTimer: null,
  refreshing: null,
  signInSeq: 0,
  signingIn: false,
  socket: null,
  sessionId: null,
  sessionConfirmed: false,
  everConfirmed: false,
  connection: "offline",
  pending: [], // messages typed before the session is confirmed
  log: [],
  bubbles: new Map(), // message id -> the bubble showing the customer's message
  handoff: null, // last handoff status seen, to decide on the typing dots
  notice: null, // {key, params} so the notice is relabelled with the page
  typingTimer: null,
  focusWhenReady: false, // the panel was opened while the sign-in was under way
};

export function t(key, params) {
  return translate(state.lang, key, params);
}
