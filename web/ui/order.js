// The conversation list's order: view state derived from the model's records, kept
// sorted as they change (10,000 conversations: a change moves one row, a snapshot's slice
// of 500 is merged in one pass, nothing is sorted again from scratch). No DOM.
//
// Hidden conversations (hideConversation, OpenIM's "delete chat for me") are not in the
// list: a record with isHidden leaves it, and comes back when a new message un-hides it.

/** When a conversation last had activity: its latest message, or its draft (OpenIM's rule). */
export function activityTime(record) {
  return Math.max(Number(record.latestMsgSendTime) || 0, Number(record.draftTextTime) || 0);
}

/**
 * The SDK's list order (spec 11): pinned first, then newest activity (max of the latest
 * message's and the draft's time), the ID breaking ties. The only ordering rule of the page.
 */
export function byLatest(a, b) {
  const pinned = Number(Boolean(b.isPinned)) - Number(Boolean(a.isPinned));
  if (pinned !== 0) return pinned;
  const time = activityTime(b) - activityTime(a);
  if (time !== 0) return time;
  return a.conversationID < b.conversationID ? -1 : a.conversationID > b.conversationID ? 1 : 0;
}

/** Whether `record` is drawn in the list (a hidden one is not). */
export function listed(record) {
  return !record.isHidden;
}

/**
 * Where `record` goes in `sorted` (byLatest): the index of the first element not before
 * it. byLatest is a total order (IDs are unique), so a record in the array is found at
 * its own index.
 */
export function sortedIndex(sorted, record) {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (byLatest(sorted[middle], record) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Two arrays sorted byLatest, merged into one. */
function mergeSorted(a, b) {
  const merged = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) merged[k++] = byLatest(a[i], b[j]) <= 0 ? a[i++] : b[j++];
  while (i < a.length) merged[k++] = a[i++];
  while (j < b.length) merged[k++] = b[j++];
  return merged;
}

/** Beyond this many changed records at once, merge a sorted batch instead of placing each. */
const BATCH = 64;

export class ConversationOrder {
  /** @type {object[]} the records, sorted byLatest */
  #sorted = [];
  /** @type {Map<string, object>} conversationID -> the record in #sorted */
  #byId = new Map();

  /** The records in list order (apply may change this array in place or replace it). */
  get sorted() {
    return this.#sorted;
  }

  /** Start over from `records` (any iterable of conversation records). */
  reset(records) {
    this.#sorted = [...records].filter(listed).sort(byLatest);
    this.#byId = new Map(this.#sorted.map((record) => [record.conversationID, record]));
  }

  /**
   * Records that replaced (or joined) others, and IDs that went (a model Change's
   * `conversations`).
   * @param {object[]} changed
   * @param {string[]} removed
   */
  apply(changed, removed = []) {
    const gone = new Set();
    for (const id of removed) {
      const known = this.#byId.get(id);
      if (known) gone.add(known);
      this.#byId.delete(id);
    }
    if (changed.length > BATCH) {
      const batch = new Map(changed.map((record) => [record.conversationID, record]));
      for (const [id, record] of batch) {
        const known = this.#byId.get(id);
        if (known) gone.add(known);
        if (listed(record)) this.#byId.set(id, record);
        else {
          this.#byId.delete(id);
          batch.delete(id);
        }
      }
      const kept = gone.size ? this.#sorted.filter((record) => !gone.has(record)) : this.#sorted;
      this.#sorted = mergeSorted(kept, [...batch.values()].sort(byLatest));
      return;
    }
    if (gone.size) this.#sorted = this.#sorted.filter((record) => !gone.has(record));
    const sorted = this.#sorted;
    for (const record of changed) {
      const known = this.#byId.get(record.conversationID);
      if (known) {
        let at = sortedIndex(sorted, known);
        if (sorted[at] !== known) at = sorted.indexOf(known); // never expected; stay correct
        if (at >= 0) sorted.splice(at, 1);
      }
      if (!listed(record)) {
        this.#byId.delete(record.conversationID);
        continue;
      }
      sorted.splice(sortedIndex(sorted, record), 0, record);
      this.#byId.set(record.conversationID, record);
    }
  }
}
