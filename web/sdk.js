// The page's only way to the SDK: window.IMSDK (web/imsdk.js), with OpenIM's answer shape
// ({errCode, errMsg, data}) unwrapped. Answers resolve to their `data`; failures reject
// with {errCode, errMsg}; event handlers get the event's `data`.

/** Whatever was thrown, as {errCode, errMsg}. */
export function asError(error) {
  if (error && typeof error === "object" && "errCode" in error) {
    return { errCode: error.errCode, errMsg: String(error.errMsg || error.message || "failed") };
  }
  return { errCode: -1, errMsg: String(error?.message ?? error ?? "failed") };
}

/** An answer's or event's payload: OpenIM passes {errCode, errMsg, data}; accept the bare value too. */
export function payload(arg) {
  if (arg && typeof arg === "object" && "data" in arg && "errCode" in arg) return arg.data;
  return arg;
}

/**
 * The facade found by `locate()` (window.IMSDK in the page, a fake in tests).
 * @param {() => any} locate
 */
export function connectSdk(locate) {
  return {
    /** Wait until imsdk.js has defined the facade (it is a separate module script). */
    async loaded() {
      for (let i = 0; !locate(); i++) {
        if (i > 200) throw { errCode: -1, errMsg: "imsdk.js did not load" };
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },

    /** IMSDK.ready's payload: {loginStatus, userID, restoreError} once booted and restored. */
    async ready() {
      return payload(await locate().ready);
    },

    has(method) {
      return typeof locate()?.[method] === "function";
    },

    /** Call an IMSDK method: resolves to its `data`, rejects with {errCode, errMsg}. */
    async call(method, ...args) {
      try {
        return payload(await locate()[method](...args));
      } catch (error) {
        throw asError(error);
      }
    },

    /** Listen to an IMSDK event; the handler gets the event's data. */
    on(event, handler) {
      locate().on(event, (arg) => handler(payload(arg)));
    },
  };
}
