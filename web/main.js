// Tidemark's page: one model (model.js), fed by the SDK through the controller
// (controller.js), rendered by the views (ui/). This module only wires them together.
//
// window.IMSDK (web/imsdk.js, loaded as its own module script) is the only way to the SDK.
// User text is only ever inserted as text (ui/dom.js has no HTML path).

import { Controller } from "./controller.js";
import { Model } from "./model.js";
import { connectSdk } from "./sdk.js";
import { ObjectURLs } from "./ui/blobs.js";
import { ChatView } from "./ui/chat.js";
import { ListView } from "./ui/list.js";
import { LoginView } from "./ui/login.js";
import { MembersView } from "./ui/members.js";
import {
  FaviconBadge, NotificationsBar, Notifier, PushSubscriber, browserNotifications, faviconDrawer,
  notificationPermission, previewsOn, swRegistration,
} from "./ui/notifications.js";
import { PeoplePicker } from "./ui/people.js";
import { ProfileDialog, renderProfileButton } from "./ui/profile.js";
import { ReadersView } from "./ui/readers.js";
import { SearchView } from "./ui/search.js";
import { StatusView } from "./ui/status.js";

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

// The service worker (web/sw.js at /sw.js) shows Web Push notifications while no tab is
// visible; registering it asks nothing of the user.
const registering = "serviceWorker" in navigator
  ? navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((error) => {
    console.warn("Tidemark: service worker not registered", error);
    return null;
  })
  : Promise.resolve(null);

const sdk = connectSdk(() => window.IMSDK);
const model = new Model();
const push = new PushSubscriber({
  call: (method, ...args) => sdk.call(method, ...args),
  storage: window.localStorage,
  permission: notificationPermission,
  pushManager: async () => (await registering)?.pushManager ?? (await swRegistration())?.pushManager ?? null,
});
const controller = new Controller(model, sdk, {
  storage: window.localStorage,
  visible: () => document.visibilityState === "visible",
  onLogout: () => push.unsubscribe(),
});
const urls = new ObjectURLs((url) => controller.fileURL(url));

new LoginView(model, controller);
new StatusView(model, controller);
new ListView(model, controller, { urls });
new ChatView(model, controller, { urls });
new MembersView(model, controller, { urls });
new ReadersView(model, controller);
new SearchView(model, controller);
new PeoplePicker(model, controller, {
  button: /** @type {HTMLButtonElement} */ ($("new-chat-button")), host: $("new-chat-host"), urls,
});
const profileButton = /** @type {HTMLButtonElement} */ ($("profile-button"));
new ProfileDialog(model, controller, { urls, push, opener: profileButton });

const openFromNotification = (conversationID) => {
  if (!conversationID) return;
  if (model.conversations.has(conversationID)) controller.open(conversationID);
  else controller.refresh().then(() => controller.open(conversationID));
};
new Notifier(model, {
  ...browserNotifications(openFromNotification),
  previews: () => previewsOn(window.localStorage),
});
const favicon = /** @type {HTMLLinkElement} */ (document.querySelector("link[rel=icon]"));
const baseIcon = favicon.href;
new FaviconBadge(model, {
  base: baseIcon,
  setIcon: (href) => { favicon.href = href; },
  draw: faviconDrawer(baseIcon),
  revoke: (url) => URL.revokeObjectURL(url),
});
new NotificationsBar(model, {
  permission: notificationPermission,
  request: () => Notification.requestPermission(),
}, push);

model.subscribe((change) => {
  if (change.me || change.people) renderProfileButton(profileButton, model, urls);
  if (change.me && !model.me) urls.clear();
  // Logged in with notifications allowed: this device's push subscription is (re)made.
  if (change.screen && model.screen === "main" && model.me && !model.fromCache) {
    push.ensure().catch((error) => console.warn("Tidemark: push subscribe failed", error));
  }
  // Opened from a notification (the worker opens /#conversation=<id>): once entered.
  if (change.screen && model.screen === "main" && location.hash.startsWith("#conversation=")) {
    const id = decodeURIComponent(location.hash.slice("#conversation=".length));
    history.replaceState(null, "", location.pathname + location.search);
    openFromNotification(id);
  }
});
// A notification clicked while a tab is open: the worker focuses the tab and says which.
navigator.serviceWorker?.addEventListener("message", (event) => {
  if (event.data?.type === "open-conversation") openFromNotification(String(event.data.conversationID ?? ""));
});
document.addEventListener("visibilitychange", () => controller.autoMarkRead("visible"));

controller.boot();
