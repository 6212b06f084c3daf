"""Menus in the call flow: a key opens another menu, `*` goes back, prompts follow the menu's
language, and each menu has its own keys, greeting and time-outs (pure, microseconds each)."""

from __future__ import annotations

from dataclasses import replace

from rcp.callflow.commands import Play, TraceKind
from rcp.callflow.config import DialByName, FlowOptions, Menu, OpenMenu, TenantConfig, Transfer
from rcp.callflow.events import CallContext, CallStarted, Digit
from rcp.callflow.flow import Call
from rcp.callflow.prompts import SpokenText, SystemPrompt, render
from rcp.schedule import Decision, ScheduleState
from rcp.vocabulary import Outcome, TargetKind
from stasis_flow_support import (
    BASE,
    FINISH,
    HANGUP,
    IN_BRIDGE,
    TIMEOUT,
    NewConfig,
    Run,
    configured,
    found,
    play_through,
    press,
)

SALES = Menu(
    id="sales",
    name="Sales",
    keys={
        "1": OpenMenu("quotes"),
        "2": Transfer(TargetKind.RING_GROUP, "202"),
        "3": DialByName(),
        "9": OpenMenu("first"),
    },
    language="en-GB",
    menu_timeout_s=7,
)
QUOTES = Menu(
    id="quotes",
    name="Devis",
    keys={"1": Transfer(TargetKind.EXTENSION, "102"), "2": OpenMenu("sales")},
)
MENUS = replace(
    configured(keys={"8": OpenMenu("sales")}),
    menus={"sales": SALES, "quotes": QUOTES},
)


def _last_play(run: Run) -> Play:
    plays = [c for c in run.commands if isinstance(c, Play)]
    return plays[-1]


def _menu_traces(run: Run) -> list[tuple[str, str]]:
    return [
        (str(t.data["reason"]), str(t.data["menu"])) for t in run.traces if t.kind is TraceKind.MENU
    ]


def test_a_key_opens_a_sub_menu_spoken_from_its_keys_in_its_own_language() -> None:
    run = play_through((press("8"),), MENUS)
    play = _last_play(run)
    assert all(isinstance(p, SystemPrompt) and p.language == "en-GB" for p in play.prompts)
    spoken = [
        piece.text for p in play.prompts for piece in render(p) if isinstance(piece, SpokenText)
    ]
    # Key 9 opens the first menu, which has no name here: it is not offered by name.
    assert spoken == [
        "For Devis, press 1.",
        "For Ventes, press 2.",
        "To reach someone by name, press 3.",
        "To go back to the previous menu, press star.",
    ]
    assert _menu_traces(run)[-1] == ("opened", "Sales")


def test_two_levels_deep_then_star_twice_comes_back_to_the_first_menu() -> None:
    run = play_through((press("8"), press("1"), press("*"), press("*")), MENUS)
    assert [menu for _, menu in _menu_traces(run)] == ["", "Sales", "Devis", "Sales", ""]
    assert [reason for reason, _ in _menu_traces(run)] == [
        "greeting",
        "opened",
        "opened",
        "back",
        "back",
    ]
    assert run.transcript[-1] == "play greeting"
    keys = [t.data for t in run.traces if t.kind is TraceKind.KEY]
    assert [k["action"] for k in keys] == ["open_menu", "open_menu", "back", "back"]


def test_star_on_the_first_menu_replays_it() -> None:
    run = play_through((press("8"), press("*"), press("*")), MENUS)
    keys = [t.data["action"] for t in run.traces if t.kind is TraceKind.KEY]
    assert keys == ["open_menu", "back", "replay"]


def test_a_sub_menu_key_acts_with_the_sub_menu_meaning() -> None:
    run = play_through((press("8"), press("1"), press("1")), MENUS)
    assert "dial PJSIP/phone-102 for 20s" + IN_BRIDGE in run.transcript


def test_a_key_of_the_first_menu_means_nothing_in_a_sub_menu_that_lacks_it() -> None:
    run = play_through((press("8"), press("0")), MENUS)
    assert not any(line.startswith("dial") for line in run.transcript)
    assert run.transcript[-1].startswith("play invalid + ")
    assert _menu_traces(run)[-1] == ("invalid", "Sales")


def test_prompts_of_a_sub_menu_speak_its_language_no_match_included() -> None:
    run = play_through((press("8"), press("3"), press("999"), found()), MENUS)
    play = _last_play(run)
    first = play.prompts[0]
    assert isinstance(first, SystemPrompt)
    assert (first.key, first.language) == ("no_match", "en-GB")
    assert render(first) == (SpokenText("No name matches your entry.", "en-GB"),)


def test_a_sub_menu_waits_its_own_time_for_a_choice() -> None:
    run = play_through((press("8"), FINISH), MENUS)
    assert run.transcript[-1] == "wait 7s for no_input"


def test_opening_a_menu_already_on_the_path_goes_back_to_it() -> None:
    run = play_through((press("8"), press("1"), press("2")), MENUS)
    assert run.call.menus == ("sales",)
    run = play_through((press("8"), press("9")), MENUS)
    assert run.call.menus == ()
    assert run.transcript[-1] == "play greeting"


def test_menus_opening_each_other_keep_the_path_bounded() -> None:
    run = play_through((press("8"), *(press("12") * 50)), MENUS)
    assert len(run.call.menus) <= len(MENUS.menus)


def test_a_key_opening_a_menu_that_is_gone_says_unavailable_and_plays_the_menu_again() -> None:
    config = configured(keys={"8": OpenMenu("gone")})
    run = play_through((press("8"),), config)
    assert run.transcript[-1] == "play unavailable + greeting"


def test_a_sub_menu_removed_during_the_call_falls_back_to_the_first_menu() -> None:
    run = play_through((press("8"), NewConfig(replace(MENUS, menus={})), press("*")), MENUS)
    assert _menu_traces(run)[-1] == ("replay", "")


def test_failures_in_a_sub_menu_end_the_call_like_in_the_first() -> None:
    run = play_through((press("8"), *(FINISH, TIMEOUT) * 4, FINISH), MENUS)
    assert run.call.outcome is Outcome.NO_INPUT
    goodbye = _last_play(run).prompts[-1]
    assert isinstance(goodbye, SystemPrompt)
    assert goodbye.language == "en-GB"


def test_a_sub_menu_with_a_greeting_plays_it_instead_of_its_keys() -> None:
    greeting = BASE.receptionist.greeting_prompt_id
    assert greeting is not None
    config = replace(MENUS, menus={"sales": replace(SALES, greeting_prompt_id=greeting)})
    run = play_through((press("8"), HANGUP), config)
    assert "play greeting" in run.transcript[-3:]
    assert run.call.outcome is Outcome.CALLER_HANGUP


def _scheduled(decision: Decision, config: TenantConfig = MENUS) -> Run:
    run = Run(Call())
    context = CallContext("call-1", "+33199000001", "+33612345678", config, FlowOptions())
    run.feed(CallStarted(replace(context, schedule=decision)))
    return run


def test_the_schedule_decision_names_the_first_menu_and_the_trace_says_why() -> None:
    run = _scheduled(Decision(ScheduleState.HOLIDAY, "holiday: Noël", "sales"))
    schedule = next(t for t in run.traces if t.kind is TraceKind.SCHEDULE)
    assert schedule.data == {
        "state": "holiday",
        "reason": "holiday: Noël",
        "menu": "Sales",
        "version": None,
    }
    assert _menu_traces(run) == [("greeting", "Sales")]
    play = _last_play(run)
    assert isinstance(play.prompts[0], SystemPrompt)
    assert play.prompts[0].language == "en-GB"
    # No "back" offered: this is the call's first menu, and * replays it.
    assert all(p.key != "menu_back" for p in play.prompts if isinstance(p, SystemPrompt))
    run.feed(Digit("*"))
    assert _menu_traces(run)[-1] == ("replay", "Sales")


def test_from_the_closed_menu_a_key_may_open_another_and_star_comes_back_to_it() -> None:
    run = _scheduled(Decision(ScheduleState.CLOSED, "closed: sun 10:00 outside hours", "sales"))
    for event in (Digit("1"), Digit("*")):
        run.feed(event)
    assert [menu for _, menu in _menu_traces(run)] == ["Sales", "Devis", "Sales"]


def test_an_open_decision_naming_no_menu_starts_in_the_first_menu() -> None:
    run = _scheduled(Decision(ScheduleState.OPEN, "open: mon 09:00-12:30"))
    assert run.transcript[-1] == "play greeting"
    assert _menu_traces(run) == [("greeting", "")]


def test_a_decision_naming_a_menu_that_is_gone_starts_in_the_first_menu() -> None:
    run = _scheduled(Decision(ScheduleState.CLOSED, "closed", "gone"))
    assert run.transcript[-1] == "play greeting"


def test_a_call_keeps_the_version_it_started_with_but_follows_extension_changes() -> None:
    started = replace(MENUS, version=4)
    published = replace(
        configured(keys={"8": None, "2": Transfer(TargetKind.EXTENSION, "102")}),
        menus={},
        version=5,
        extensions={
            **MENUS.extensions,
            "102": replace(MENUS.extensions["102"], endpoint="PJSIP/phone-102b"),
        },
    )
    run = play_through((press("8"), NewConfig(published), press("2")), started)
    # Still version 4's menus and keys (Sales, its key 2: ring group 202, whose member 102
    # now rings its new device).
    assert run.call.context is not None
    assert run.call.context.config.version == 4
    assert "dial PJSIP/phone-102b for 20s" + IN_BRIDGE in run.transcript


def test_a_new_configuration_of_the_same_version_replaces_it_whole() -> None:
    same = replace(configured(keys={"8": None}), version=None)
    run = play_through((NewConfig(same), press("8")), MENUS)
    assert run.transcript[-1].startswith("play invalid")
