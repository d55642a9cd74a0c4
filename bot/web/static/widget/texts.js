/*
 * The chat panel's words in English, Latvian and Simplified Chinese, and the helpers
 * that pick one. docs/glossary.md is the vocabulary: tests/test_wording.py reads
 * `TEXTS` from this file and holds every text to it.
 */

export const SUPPORTED_LANGUAGES = ["en", "lv", "zh"];

export const TEXTS = {
  en: {
    title: "Billing support",
    subtitle: "Help with payments, cards and past-due balances",
    language: "Language",
    accountHeading: "Account",
    customer: "Demo customer",
    loadingCustomers: "Loading…",
    noCustomers: "No demo customers",
    signIn: "Sign in",
    signOut: "Sign out",
    signingIn: "Signing in…",
    signedInAs: "Signed in as {name} ({id})",
    notSignedIn: "Not signed in",
    demoDisabled: "Demo sign-in is turned off on this server, so the chat cannot be used here.",
    customersFailed: "The list of demo customers could not be loaded. Please reload the page.",
    signInFailed: "Sign-in did not work. Please try again.",
    sessionExpired: "Your sign-in has expired. Please sign in again.",
    chatUnavailable: "The connection could not be started. Please reload the page.",
    privacy: "Never type your card number in the chat: we will send you a secure form.",
    conversation: "Chat",
    signInPrompt: "Sign in to chat with billing support.",
    emptyConversation: "Ask about a declined payment, an expired card or a past-due balance.",
    messageLabel: "Your message",
    placeholder: "Type your message…",
    placeholderSignedOut: "Sign in to start chatting",
    send: "Send",
    hint: "Enter to send, Shift+Enter for a new line",
    offline: "Not connected",
    connecting: "Connecting…",
    connected: "Connected",
    reconnecting: "Reconnecting…",
    supportAgent: "support agent",
    openCardForm: "Open the secure card form",
    cardFormValid: "The link can be used once and is valid for {minutes} min.",
    cardFormExpired: "This card form link has expired. Ask in the chat for a new one.",
    handoffWaiting: "Waiting for a support agent (place in queue: {position})",
    handoffWaitingNoPosition: "Waiting for a support agent",
    handoffActive: "{agent} from support joined the chat",
    handoffActiveNoName: "A support agent joined the chat",
    handoffEnded: "You are chatting with the assistant again",
    close: "Close the chat",
    signInOnSite: "Sign in to your account to chat with billing support.",
    tokenFailed: "We could not confirm your sign-in. Please reload the page.",
  },
  lv: {
    title: "Norēķinu atbalsts",
    subtitle: "Palīdzība ar maksājumiem, kartēm un nokavētiem maksājumiem",
    language: "Valoda",
    accountHeading: "Konts",
    customer: "Demonstrācijas klients",
    loadingCustomers: "Notiek ielāde…",
    noCustomers: "Nav demonstrācijas klientu",
    signIn: "Pierakstīties",
    signOut: "Izrakstīties",
    signingIn: "Notiek pierakstīšanās…",
    signedInAs: "Konts: {name} ({id})",
    notSignedIn: "Nav veikta pierakstīšanās",
    demoDisabled: "Šajā serverī demonstrācijas pierakstīšanās ir izslēgta, tāpēc sarunu šeit nevar sākt.",
    customersFailed: "Neizdevās ielādēt demonstrācijas klientu sarakstu. Lūdzu, pārlādējiet lapu.",
    signInFailed: "Pierakstīties neizdevās. Lūdzu, mēģiniet vēlreiz.",
    sessionExpired: "Jūsu sesija ir beigusies. Lūdzu, pierakstieties vēlreiz.",
    chatUnavailable: "Neizdevās izveidot savienojumu. Lūdzu, pārlādējiet lapu.",
    privacy: "Nekad nerakstiet kartes numuru sarunā – mēs jums nosūtīsim drošu veidlapu.",
    conversation: "Saruna",
    signInPrompt: "Pierakstieties, lai sāktu sarunu ar norēķinu atbalstu.",
    emptyConversation: "Jautājiet par noraidītu maksājumu, karti, kurai beidzies derīguma termiņš, vai nokavētu maksājumu.",
    messageLabel: "Jūsu ziņa",
    placeholder: "Rakstiet savu ziņu…",
    placeholderSignedOut: "Pierakstieties, lai sāktu sarunu",
    send: "Sūtīt",
    hint: "Enter – nosūtīt, Shift+Enter – jauna rinda",
    offline: "Nav savienojuma",
    connecting: "Notiek savienošana…",
    connected: "Savienots",
    reconnecting: "Notiek savienojuma atjaunošana…",
    supportAgent: "atbalsta speciālists",
    openCardForm: "Atvērt drošo kartes veidlapu",
    cardFormValid: "Saiti var izmantot vienu reizi, un tā ir derīga {minutes} min.",
    cardFormExpired: "Saite uz kartes veidlapu vairs nav derīga. Palūdziet sarunā jaunu saiti.",
    handoffWaiting: "Gaidām atbalsta speciālistu (vieta rindā: {position})",
    handoffWaitingNoPosition: "Gaidām atbalsta speciālistu",
    handoffActive: "{agent} no atbalsta dienesta pievienojās sarunai",
    handoffActiveNoName: "Sarunai pievienojās atbalsta speciālists",
    handoffEnded: "Jūs atkal sarakstāties ar norēķinu palīgu",
    close: "Aizvērt sarunu",
    signInOnSite: "Pierakstieties savā kontā, lai sāktu sarunu ar norēķinu atbalstu.",
    tokenFailed: "Neizdevās apstiprināt jūsu pierakstīšanos. Lūdzu, pārlādējiet lapu.",
  },
  zh: {
    title: "账单客服",
    subtitle: "付款、银行卡及逾期款项相关帮助",
    language: "语言",
    accountHeading: "账户",
    customer: "演示客户",
    loadingCustomers: "正在加载……",
    noCustomers: "暂无演示客户",
    signIn: "登录",
    signOut: "退出登录",
    signingIn: "正在登录……",
    signedInAs: "已登录：{name}（{id}）",
    notSignedIn: "未登录",
    demoDisabled: "此服务器已关闭演示登录，无法在此开始对话。",
    customersFailed: "无法加载演示客户列表，请刷新页面。",
    signInFailed: "登录失败，请重试。",
    sessionExpired: "登录已过期，请重新登录。",
    chatUnavailable: "无法建立连接，请刷新页面。",
    privacy: "请勿在对话中输入卡号，我们会向您发送安全表单。",
    conversation: "对话",
    signInPrompt: "登录后即可与账单客服对话。",
    emptyConversation: "您可以咨询扣款被拒、银行卡过期或逾期款项等问题。",
    messageLabel: "您的消息",
    placeholder: "请输入消息……",
    placeholderSignedOut: "登录后即可开始对话",
    send: "发送",
    hint: "按 Enter 发送，Shift+Enter 换行",
    offline: "未连接",
    connecting: "正在连接……",
    connected: "已连接",
    reconnecting: "正在重新连接……",
    supportAgent: "客服",
    openCardForm: "打开银行卡安全表单",
    cardFormValid: "此链接仅可使用一次，{minutes} 分钟内有效。",
    cardFormExpired: "此银行卡表单链接已过期，请在对话中重新获取。",
    handoffWaiting: "正在等待客服接入（排队位置：{position}）",
    handoffWaitingNoPosition: "正在等待客服接入",
    handoffActive: "客服 {agent} 已加入对话",
    handoffActiveNoName: "客服已加入对话",
    handoffEnded: "现在由账单助手为您服务",
    close: "关闭对话",
    signInOnSite: "请先登录您的账户，再与账单客服对话。",
    tokenFailed: "无法确认您的登录状态，请刷新页面。",
  },
};

// TEXTS[lang][key] with {name} placeholders filled; English when a text is missing.
export function translate(lang, key, params) {
  const table = TEXTS[lang] || TEXTS.en;
  let text = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : TEXTS.en[key] || key;
  if (params) {
    text = text.replace(/\{(\w+)\}/g, function (match, name) {
      return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : match;
    });
  }
  return text;
}

// "lv-LV" -> "lv", "zh-Hans-CN" -> "zh"; null for a language the chat does not speak.
export function normalizeLanguage(value) {
  if (typeof value !== "string") return null;
  const lower = value.toLowerCase();
  if (SUPPORTED_LANGUAGES.indexOf(lower) !== -1) return lower;
  if (lower.indexOf("lv") === 0) return "lv";
  if (lower.indexOf("zh") === 0) return "zh";
  if (lower.indexOf("en") === 0) return "en";
  return null;
}
