"""Rule 5: versions, epochs and incremental sync."""

from __future__ import annotations

from tests.server.conftest import make_app, register


def apply(copy: dict, delta: dict) -> dict:
    """What a client does with a sync answer: newer records replace older ones."""
    if delta["full"]:
        copy = {"conversations": {}}
    conversations = dict(copy["conversations"])
    for record in delta["conversations"]:
        old = conversations.get(record["conversationID"])
        if old is None or old["version"] < record["version"]:
            conversations[record["conversationID"]] = record
    return {"conversations": conversations, "version": delta["version"], "epoch": delta["epoch"]}


def test_first_sync_is_a_full_snapshot(make_user):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    snapshot = bob.sync()
    assert snapshot["full"] is True
    assert snapshot["version"] == 1
    assert len(snapshot["conversations"]) == 1


def test_incremental_sync_lists_only_what_changed(make_user):
    alice = make_user()
    others = [make_user() for _ in range(12)]
    for other in others:
        other.send(to=alice.user_id)
    base = alice.sync()
    others[3].send(to=alice.user_id)
    others[7].send(to=alice.user_id)
    delta = alice.sync(base["epoch"], base["version"])
    assert delta["full"] is False
    assert sorted(c["userID"] for c in delta["conversations"]) == sorted(
        [others[3].user_id, others[7].user_id]
    )
    assert delta["totalUnreadCount"] == 14
    assert alice.sync(delta["epoch"], delta["version"])["conversations"] == []


def test_incremental_sync_applied_to_an_old_copy_equals_a_snapshot(make_user):
    alice, bob, carol = make_user(), make_user(), make_user()
    bob.send(to=alice.user_id)
    old = apply({"conversations": {}}, alice.sync())
    group = carol.group(alice.user_id, bob.user_id)
    carol.send(group=group["groupID"])
    alice.read(f"si_{min(alice.user_id, bob.user_id)}_{max(alice.user_id, bob.user_id)}")
    bob.send(group=group["groupID"])
    caught_up = apply(old, alice.sync(old["epoch"], old["version"]))
    fresh = apply({"conversations": {}}, alice.sync())
    assert caught_up == fresh


def test_every_visible_change_bumps_the_version(make_user):
    alice, bob = make_user(), make_user()
    versions = [alice.sync()["version"]]
    alice.send(to=bob.user_id)
    versions.append(alice.sync()["version"])
    bob.send(to=alice.user_id)  # arrives for alice
    versions.append(alice.sync()["version"])
    alice.read(f"si_{min(alice.user_id, bob.user_id)}_{max(alice.user_id, bob.user_id)}")
    versions.append(alice.sync()["version"])
    alice.send(to=bob.user_id)
    versions.append(alice.sync()["version"])
    bob.read(f"si_{min(alice.user_id, bob.user_id)}_{max(alice.user_id, bob.user_id)}")  # receipt
    versions.append(alice.sync()["version"])
    bob.group(alice.user_id)
    versions.append(alice.sync()["version"])
    assert versions == sorted(set(versions)), versions


def test_unknown_version_or_other_epoch_gets_a_full_snapshot(make_user):
    alice, bob = make_user(), make_user()
    alice.send(to=bob.user_id)
    current = bob.sync()
    assert bob.sync(current["epoch"], current["version"] + 5)["full"] is True
    assert bob.sync("another-epoch", current["version"])["full"] is True
    assert bob.sync(current["epoch"])["full"] is True
    assert bob.sync(current["epoch"], 0)["full"] is False


def test_each_database_has_its_own_epoch(tmp_path):
    first = make_app(f"sqlite:///{tmp_path}/a.db")
    second = make_app(f"sqlite:///{tmp_path}/b.db")
    reopened = make_app(f"sqlite:///{tmp_path}/a.db")
    epochs = [register(app.test_client(), "alice").sync()["epoch"] for app in (first, second)]
    assert epochs[0] != epochs[1]
    assert reopened.extensions["tidemark"].db.epoch == epochs[0]
    for app in (first, second, reopened):
        app.extensions["tidemark"].db.dispose()
