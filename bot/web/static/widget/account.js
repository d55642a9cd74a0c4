/*
 * Who is chatting and in which language: the demo sign-in on /chat/ (a customer picked
 * from the demo list), or the embedding site's signed-in customer (its tokenProvider);
 * switching customers, signing out (the page forgets that customer's conversation),
 * and the language (the visitor's choice, the page's data-lang, the browser's).
 */

import { cleanString, lastHandoffStatus } from "./entries.js";
import {
  clearNotice,
  hideTyping,
  relabelPage,
  renderAccount,
  renderComposer,
  renderCustomerOptions,
  renderLog,
  showNotice,
} from "./render.js";
import { connectSocket, disconnectSocket } from "./socket.js";
import { config, el, state } from "./state.js";
import {
  STORAGE_KEYS,
  forgetConversation,
  forgetSignIn,
  loadLog,
  storageGet,
  storageRemove,
  storageSet,
  storedTokenFor,
} from "./storage.js";
import { SUPPORTED_LANGUAGES, normalizeLanguage } from "./texts.js";
import { API, applyToken, obtainToken, requestJson, scheduleSignInRetry } from "./token.js";

// ---------- language ----------

export function pickInitialLanguage() {
  const fromQuery = config.mode === "demo" ? normalizeLanguage(new URLSearchParams(window.location.search).get("lang")) : null;
  if (fromQuery && SUPPORTED_LANGUAGES.indexOf(fromQuery) !== -1) {
    return { lang: fromQuery, explicit: true };
  }
  // The customer's own choice in the menu, then the embedding page's data-lang.
  const stored = storageGet(localStorage, STORAGE_KEYS.language);
  if (stored && SUPPORTED_LANGUAGES.indexOf(stored) !== -1) {
    return { lang: stored, explicit: true };
  }
  const fromPage = normalizeLanguage(config.lang);
  if (fromPage) return { lang: fromPage, explicit: true };
  const browserLanguages = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  for (let i = 0; i < browserLanguages.length; i += 1) {
    const lang = normalizeLanguage(browserLanguages[i]);
    if (lang) return { lang: lang, explicit: false };
  }
  return { lang: "en", explicit: false };
}

export function setLanguage(lang, options) {
  if (SUPPORTED_LANGUAGES.indexOf(lang) === -1) return;
  state.lang = lang;
  if (options && options.persist) {
    state.langExplicit = true;
    storageSet(localStorage, STORAGE_KEYS.language, lang);
    keepLangParamInSync(lang);
  }
  if (config.mode === "demo") document.documentElement.lang = lang;
  el.panel.setAttribute("lang", lang === "zh" ? "zh-Hans" : lang);
  el.language.value = lang;
  relabelPage();
}

// A ?lang= in the address would otherwise override the choice on the next reload.
function keepLangParamInSync(lang) {
  if (config.mode !== "demo") return;
  const url = new URL(window.location.href);
  if (url.searchParams.has("lang") && url.searchParams.get("lang") !== lang) {
    url.searchParams.set("lang", lang);
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
}

// ---------- demo customers and sign-in ----------

export async function loadDemoCustomers() {
  const result = await requestJson("GET", API.customers);
  if (result.status === 404) {
    state.customersStatus = "disabled";
    showNotice("demoDisabled");
  } else if (!result.ok || !result.data || !Array.isArray(result.data.customers)) {
    state.customersStatus = "failed";
    if (!state.customer) showNotice("customersFailed");
  } else {
    state.customersStatus = "ready";
    state.customers = result.data.customers
      .filter(function (c) { return c && typeof c.id === "string" && c.id; })
      .map(function (c) {
        return {
          id: cleanString(c.id, 100),
          name: cleanString(c.name, 120) || c.id,
          language: normalizeLanguage(c.language),
        };
      });
  }
  renderCustomerOptions();
  renderAccount();
}

function findKnownCustomer(id) {
  for (let i = 0; i < state.customers.length; i += 1) {
    if (state.customers[i].id === id) return state.customers[i];
  }
  return null;
}

export async function signIn(customerId, options) {
  const automatic = Boolean(options && options.automatic);
  const seq = ++state.signInSeq;
  state.signingIn = true;
  renderAccount();
  const result = await obtainToken(customerId);
  if (seq !== state.signInSeq) return; // a newer sign-in or a sign-out won
  state.signingIn = false;

  let tokenData = result.tokenData;
  if (!tokenData && automatic && result.status === 0 && config.mode === "demo") {
    tokenData = storedTokenFor(customerId); // offline reload: reuse a still-valid token
  }
  if (!tokenData && config.mode === "embedded") {
    // Nobody is signed in on the site (any more), or its backend did not answer.
    if (state.customer) signOut();
    if (result.status === 0) {
      showNotice("tokenFailed");
      scheduleSignInRetry();
    }
    renderLog();
    renderComposer();
    return;
  }
  if (!tokenData) {
    // An unknown or retired customer is forgotten; a network failure is not their fault.
    if (automatic && result.status >= 400 && result.status < 500) {
      storageRemove(localStorage, STORAGE_KEYS.customer);
    }
    // "Demo sign-in is off" says more than "sign-in failed": keep it if it is shown.
    if (!state.notice || state.notice.key !== "demoDisabled") {
      showNotice(state.customersStatus === "disabled" ? "demoDisabled" : "signInFailed");
    }
    renderAccount();
    return;
  }

  const known = findKnownCustomer(customerId);
  const customer = {
    id: tokenData.customer.id || customerId,
    name: tokenData.customer.name || (known && known.name) || customerId,
    language: tokenData.customer.language || (known && known.language) || null,
  };
  const switching = !state.customer || state.customer.id !== customer.id;
  if (switching && state.customer) endConversationView();

  state.customer = customer;
  applyToken(tokenData);
  if (config.mode === "demo") storageSet(localStorage, STORAGE_KEYS.customer, customer.id);
  clearNotice();

  // The customer's own language, unless the visitor has picked one.
  if (!state.langExplicit && customer.language && customer.language !== state.lang) {
    setLanguage(customer.language, { persist: false });
  }
  if (switching) {
    state.log = loadLog(customer.id);
    state.handoff = lastHandoffStatus(state.log);
    renderLog();
    connectSocket(customer.id);
  }
  if (el.customer) el.customer.value = customer.id;
  renderAccount();
  renderComposer();
  if (switching && !automatic) el.message.focus();
}

export function signOut() {
  state.signInSeq += 1; // cancels sign-ins and refreshes in flight
  state.signingIn = false;
  if (state.customer) forgetConversation(state.customer.id);
  endConversationView();
  state.customer = null;
  state.token = null;
  state.tokenExpiresAt = 0;
  forgetSignIn();
  el.message.value = ""; // a draft is not left behind for the next person at this screen
  if (state.notice && state.notice.key !== "demoDisabled") clearNotice();
  renderAccount();
  renderComposer();
  renderLog();
}

// Leaves the current customer's conversation on screen and on the wire
// (signing in as someone else keeps it stored; signing out does not).
export function endConversationView() {
  if (state.refreshTimer) clearTimeout(state.refreshTimer);
  state.refreshTimer = null;
  disconnectSocket();
  state.pending = [];
  state.log = [];
  state.handoff = null;
  hideTyping();
}
