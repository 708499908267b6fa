// Uploads and downloads of files for the SDK in the worker (wasm_sdk/tidemark_sdk/
// _jsbridge.py's upload() and download(), used by FetchTransport in _fetch.py).
//
// JS because the bytes should never pass through Python: a File (or a Uint8Array) goes
// out as it is, and a download comes back as a Blob that the page turns into an object
// URL (imsdk.js, getFileURL).
//
//   upload(url, token, body, contentType, onProgress, timeoutMs) -> {status, text}
//       PUT with the raw body. With XMLHttpRequest (browsers, dedicated workers included)
//       onProgress(percent) follows the upload's progress events; without it (Node.js,
//       where the SDK's tests run) fetch sends it and no progress is reported (the SDK
//       reports 100 once the answer is in). Rejects on a network failure or a timeout.
//   download(url, token, timeoutMs) -> {status, ok, blob, text}
//       GET with the token; blob when ok, else the error body's text.

const ACCEPT = "application/json";

export function upload(url, token, body, contentType, onProgress, timeoutMs) {
  if (typeof XMLHttpRequest === "function") {
    return uploadWithXhr(url, token, body, contentType, onProgress, timeoutMs);
  }
  return uploadWithFetch(url, token, body, contentType, timeoutMs);
}

function uploadWithXhr(url, token, body, contentType, onProgress, timeoutMs) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Content-Type", contentType);
    xhr.setRequestHeader("Accept", ACCEPT);
    xhr.timeout = timeoutMs;
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) {
        onProgress(Math.min(100, Math.floor((event.loaded * 100) / event.total)));
      }
    };
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
    xhr.onerror = () => reject(new Error("the upload failed (network error)"));
    xhr.ontimeout = () => reject(new Error(`the upload got no answer in ${timeoutMs} ms`));
    xhr.onabort = () => reject(new Error("the upload was aborted"));
    xhr.send(body);
  });
}

async function uploadWithFetch(url, token, body, contentType, timeoutMs) {
  const response = await fetch(url, {
    method: "PUT",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": contentType, Accept: ACCEPT },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: response.status, text: await response.text() };
}

export async function download(url, token, timeoutMs) {
  const response = await fetch(url, {
    headers: { Authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) return { status: response.status, ok: false, blob: null, text: await response.text() };
  return { status: response.status, ok: true, blob: await response.blob(), text: "" };
}
