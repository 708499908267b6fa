// The conversation list's order (web/ui/order.js): view state derived from the model's
// records, newest activity first, kept sorted as records change.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ConversationOrder, byLatest, sortedIndex } from "../../web/ui/order.js";

const record = (id, time, version = 1) => ({ conversationID: id, latestMsgSendTime: time, version });
const ids = (order) => order.sorted.map((r) => r.conversationID);

describe("byLatest and sortedIndex", () => {
  it("orders by newest activity, the ID breaking ties", () => {
    const sorted = [record("b", 5), record("a", 9), record("c", 5), record("d", 0)].sort(byLatest);
    assert.deepEqual(sorted.map((r) => r.conversationID), ["a", "b", "c", "d"]);
    assert.equal(sortedIndex(sorted, record("bb", 5)), 2);
    assert.equal(sortedIndex(sorted, sorted[3]), 3, "a record in the array is found at its index");
  });
});

describe("ConversationOrder", () => {
  it("moves a changed record to its new place and drops removed ones", () => {
    const order = new ConversationOrder();
    order.reset([record("a", 1), record("b", 2), record("c", 3)]);
    assert.deepEqual(ids(order), ["c", "b", "a"]);
    order.apply([record("a", 4, 2)]);
    assert.deepEqual(ids(order), ["a", "c", "b"]);
    order.apply([], ["c"]);
    assert.deepEqual(ids(order), ["a", "b"]);
    order.apply([record("d", 0)], ["b"]);
    assert.deepEqual(ids(order), ["a", "d"]);
  });

  it("merges a large batch (a snapshot's slice) into the same order as sorting everything", () => {
    const order = new ConversationOrder();
    const first = Array.from({ length: 500 }, (_, i) => record(`c${i}`, (i * 7919) % 1000));
    order.apply(first);
    const second = Array.from({ length: 300 }, (_, i) => record(`c${i * 2}`, 2000 + ((i * 31) % 50), 2));
    order.apply(second, ["c1", "c3"]);
    const expected = new Map(first.map((r) => [r.conversationID, r]));
    for (const r of second) expected.set(r.conversationID, r);
    expected.delete("c1");
    expected.delete("c3");
    assert.deepEqual(order.sorted, [...expected.values()].sort(byLatest));
  });

  it("holds each conversation once, even when a batch names one twice", () => {
    const order = new ConversationOrder();
    order.apply([record("a", 1), record("a", 5, 2)]);
    assert.deepEqual(order.sorted, [record("a", 5, 2)]);
  });
});
