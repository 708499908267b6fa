// Tidemark's page: one model (model.js), fed by the SDK through the controller
// (controller.js), rendered by the views (ui/). This module only wires them together.
//
// window.IMSDK (web/imsdk.js, loaded as its own module script) is the only way to the SDK.
// User text is only ever inserted as text (ui/dom.js has no HTML path).

import { Controller } from "./controller.js";
import { Model } from "./model.js";
import { connectSdk } from "./sdk.js";
import { ChatView } from "./ui/chat.js";
import { ListView } from "./ui/list.js";
import { LoginView } from "./ui/login.js";
import { MembersView } from "./ui/members.js";
import { ReadersView } from "./ui/readers.js";
import { StatusView } from "./ui/status.js";

const model = new Model();
const controller = new Controller(model, connectSdk(() => window.IMSDK), {
  storage: window.localStorage,
  visible: () => document.visibilityState === "visible",
});
new LoginView(model, controller);
new StatusView(model, controller);
new ListView(model, controller);
new ChatView(model, controller);
new MembersView(model, controller);
new ReadersView(model, controller);
document.addEventListener("visibilitychange", () => controller.autoMarkRead("visible"));

controller.boot();
