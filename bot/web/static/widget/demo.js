/*
 * The demo page (/chat/): the chat panel with the demo sign-in, filling the page.
 * <script type="module" src="/chat/static/demo.js"> (modules run once the page is parsed).
 */

import { mount } from "./chat.js";

mount({ container: document.getElementById("chat"), mode: "demo" });
