"""Conference PINs in the stasis service: hashed PINs checked off the call flow, and rooms
locked after too many wrong PINs across calls (pure: the flow and the room locks)."""

from __future__ import annotations

import json
import uuid

from rcp.callflow.commands import CheckPin, TraceKind
from rcp.callflow.events import Digit, Hangup, PinChecked, PinResult, Resumed
from rcp.callflow.flow import Menu, PinChecking
from rcp.pins import HASHED, LEGACY_MIN_DIGITS, MIN_DIGITS, PIN, hash_pin, verify_pin
from rcp_stasis.room_locks import LockPolicy, RoomLocks
from stasis_flow_support import FINISH, ROOM_PIN, play_through, press, start

TENANT = uuid.uuid4()


def test_a_pin_is_stored_salted_and_only_its_own_digits_verify() -> None:
    first, second = hash_pin("4321"), hash_pin("4321")
    assert first != second  # a salt of its own
    assert HASHED.match(first)
    assert "4321" not in first
    assert verify_pin("4321", first)
    assert verify_pin("4321", second)
    for wrong in ("4322", "04321", "432", "", "43211", "4321#"):
        assert not verify_pin(wrong, first), wrong
    assert not verify_pin("4321", "4321")  # a plain PIN is no hash
    assert not verify_pin("4321", first.replace("scrypt$14", "scrypt$40"))  # a forged cost


def test_new_pins_have_four_digits_at_least_three_digit_ones_are_only_kept() -> None:
    assert (LEGACY_MIN_DIGITS, MIN_DIGITS) == (3, 4)
    assert not PIN.match("123")
    assert PIN.match("1234")
    assert PIN.match("123456789012")
    assert not PIN.match("1234567890123")


def test_the_flow_asks_for_the_pin_to_be_checked_and_never_traces_its_digits() -> None:
    run = play_through((press("4"), FINISH, press(f"{ROOM_PIN}#")))
    checks = [c for c in run.commands if isinstance(c, CheckPin)]
    assert [(c.room_number, c.digits) for c in checks] == [("301", ROOM_PIN)]
    assert ROOM_PIN not in repr(checks[0])  # nor in a log line that shows the command
    assert "join conference 301" in run.transcript
    traces = json.dumps([dict(t.data) for t in run.traces])
    assert ROOM_PIN not in traces
    pins = [dict(t.data) for t in run.traces if t.kind is TraceKind.PIN]
    assert pins == [{"number": "301", "correct": True, "result": "correct"}]


def test_a_locked_room_refuses_even_the_right_pin_says_so_and_plays_the_menu() -> None:
    run = play_through((press("4"), FINISH, press(f"{ROOM_PIN}#")), locked_rooms=frozenset({"301"}))
    assert "join conference 301" not in run.transcript
    assert run.transcript[-2:] == ["check the PIN of 301", "play room_locked + greeting"]
    assert isinstance(run.call.phase, Menu)
    pins = [dict(t.data) for t in run.traces if t.kind is TraceKind.PIN]
    assert pins == [{"number": "301", "correct": False, "result": "locked"}]
    menus = [dict(t.data) for t in run.traces if t.kind is TraceKind.MENU]
    assert menus[-1]["reason"] == "room_locked"


def test_keys_pressed_while_the_pin_is_checked_are_ignored_and_a_late_answer_is_stale() -> None:
    run = start(locked_rooms=None)  # the test answers the check itself
    for key in f"4{ROOM_PIN}#":
        run.feed(Digit(key))
    checking = run.call
    assert isinstance(checking.phase, PinChecking)
    (check,) = [c for c in run.commands if isinstance(c, CheckPin)]
    assert run.feed(Digit("5")) == ()
    run.feed(Resumed())  # the events were cut meanwhile: the caller is back in the menu
    resumed = run.call
    assert isinstance(resumed.phase, Menu)
    assert resumed.held.pin_check is None
    assert run.feed(PinChecked(check.request_id, PinResult.CORRECT)) == ()


def test_hanging_up_while_the_pin_is_checked_leaves_nothing_held() -> None:
    run = start(locked_rooms=None)
    for key in f"4{ROOM_PIN}#":
        run.feed(Digit(key))
    run.feed(Hangup())
    assert run.call.ended
    assert run.call.held.nothing


def test_a_room_locks_after_too_many_wrong_pins_in_the_window_then_opens_again() -> None:
    now = [0.0]
    locks = RoomLocks(LockPolicy(max_failures=3, window_s=60, lock_s=300), clock=lambda: now[0])
    assert not locks.failed(TENANT, "300")
    now[0] = 50
    assert not locks.failed(TENANT, "300")
    now[0] = 70  # the first failure left the window
    assert not locks.failed(TENANT, "300")
    assert not locks.locked(TENANT, "300")
    now[0] = 80
    assert locks.failed(TENANT, "300")  # three within a minute
    assert locks.locked(TENANT, "300")
    assert not locks.locked(TENANT, "301")  # another room
    assert not locks.locked(uuid.uuid4(), "300")  # another tenant's room 300
    now[0] = 80 + 299
    assert locks.locked(TENANT, "300")
    now[0] = 80 + 300
    assert not locks.locked(TENANT, "300")
    assert not locks.failed(TENANT, "300")  # counted afresh after the lock
