// Tidemark's service worker (served at /sw.js, scope /): Web Push notifications while no
// tab of the page is visible, and what a click on one does. It holds no state and caches
// nothing: the page and the SDK keep everything.
//
// A push's payload (JSON, decrypted by the browser) is
//   {type: "message", conversationID, seq, title, body, total}  a new message for me
//   {type: "read", conversationID, total}                       that conversation was read
// "message" shows one notification per conversation (tag = conversationID: a newer message
// replaces the older one), unless a tab of the page is visible (it shows the message
// itself); "read" closes that conversation's notification (read on some device). The body
// is the message text only if this subscription chose previews ("New message" otherwise):
// the server decides it, the worker shows what came.

/* global clients */

self.addEventListener("install", () => {
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(clients.claim());
});

/** The page's windows (tabs) of this origin, visible ones included. */
function pageWindows() {
  return clients.matchAll({ type: "window", includeUncontrolled: true });
}

async function closeTagged(tag) {
  const shown = await self.registration.getNotifications(tag ? { tag } : undefined);
  for (const notification of shown) notification.close();
}

async function onPush(data) {
  const id = String(data?.conversationID ?? "");
  if (data?.type === "read") {
    if (id) await closeTagged(id);
    if (Number(data.total) === 0) await closeTagged("");
    return;
  }
  if (data?.type !== "message" || !id) return;
  const windows = await pageWindows();
  if (windows.some((client) => client.visibilityState === "visible")) return; // the page shows it
  await self.registration.showNotification(String(data.title || "Tidemark"), {
    body: String(data.body || "New message"),
    tag: id,
    renotify: true,
    icon: "/favicon.svg",
    data: { conversationID: id },
  });
}

self.addEventListener("push", (event) => {
  let data;
  try {
    data = event.data ? event.data.json() : null;
  } catch {
    data = null; // not ours
  }
  event.waitUntil(onPush(data));
});

async function onClick(notification) {
  const id = String(notification.data?.conversationID ?? "");
  notification.close();
  const windows = await pageWindows();
  const open = windows.find((client) => client.visibilityState === "visible") ?? windows[0];
  if (open) {
    await open.focus();
    open.postMessage({ type: "open-conversation", conversationID: id });
    return;
  }
  await clients.openWindow(`/${id ? `#conversation=${encodeURIComponent(id)}` : ""}`);
}

self.addEventListener("notificationclick", (event) => {
  event.waitUntil(onClick(event.notification));
});
