"""The call flow, one row per path a caller can take: pure, synchronous, microseconds each.

Each row plays a caller's script against the demo-like tenant of `stasis_flow_support` and
checks the transcript (the commands as readable lines, in order, others allowed between),
what must not happen, how the transcript ends, and the outcome once the call is over.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, replace

import pytest
from rcp.callflow.commands import Play, PublishTrace, TraceKind
from rcp.callflow.config import FlowOptions, PlayAnnouncement, Transfer
from rcp.callflow.events import CallStarted, Hangup, NameMatch, PlaybackFinished
from rcp.callflow.flow import Call, step
from rcp.contracts import CallEvent
from rcp.vocabulary import Outcome, TargetKind
from stasis_flow_support import (
    AMELIE,
    BASE,
    DIALPLAN,
    FINISH,
    HANGUP,
    HECTOR,
    HOURS,
    IN_BRIDGE,
    JEAN_PIERRE,
    LOOKUP_FAILS,
    RECORDING_FAILS,
    RESUMED,
    SEAN,
    SHUTDOWN,
    STALE_PLAYBACK,
    STALE_TIMER,
    TIMEOUT,
    NewConfig,
    Run,
    Script,
    answered,
    bridged,
    busy,
    configured,
    found,
    leg_hangs_up,
    no_answer,
    play_through,
    press,
    recorded,
    start,
    unreachable,
)

GREETING = "play greeting"
INVALID_MENU = "play invalid + greeting"
WAIT_CHOICE = "wait 5s for no_input"
WAIT_DIGIT = "wait 3s for inter_digit"
RINGBACK = "play ringback"
RING = "ring the caller's line"
RECORD = "record (beep, max 120s, silence 5s, stop on #)"
VOICEMAIL_101 = "play leave_message_for(<recorded name of 101>)"
NO_ANSWER_5 = (FINISH, TIMEOUT)
ENTER_NAME = "play enter_name"
OFFER_2 = (
    "play for_name_press(<recorded name of 101>,1) + for_name_press(Jean-Pierre Lefèvre,2)"
    " + back_to_menu"
)
EIGHT = tuple(NameMatch(f"1{n:02d}", f"Nom {n}") for n in range(8))
NO_GREETING = configured(keys={"0": Transfer(TargetKind.EXTENSION, "101")}, greeting_prompt_id=None)


@dataclass(frozen=True)
class Path:
    """One way through the call flow."""

    name: str
    script: Script
    heard: tuple[str, ...] = ()
    outcome: Outcome | None = None  # None: the call is still going on
    config: object = BASE
    absent: tuple[str, ...] = ()
    ends_with: tuple[str, ...] = ()
    options: FlowOptions | None = None


PATHS = [
    # --- greeting and menu -----------------------------------------------------------------
    Path("call is answered and the greeting played", (), ("answer", GREETING)),
    Path("after the greeting the caller's choice is awaited", (FINISH,), (GREETING, WAIT_CHOICE)),
    Path(
        "a digit stops the greeting at once and acts",
        (press("2"),),
        (GREETING, "stop playback", "play hours"),
    ),
    Path(
        "a key with an action acts at once",
        (FINISH, press("2")),
        (WAIT_CHOICE, "cancel timer", "play hours"),
        absent=(WAIT_DIGIT,),
    ),
    Path("an unassigned key gets invalid and the menu again", (press("8"),), (INVALID_MENU,)),
    Path("star replays the menu", (FINISH, press("*")), (GREETING, WAIT_CHOICE, GREETING)),
    Path(
        "no input replays the menu three times then says goodbye and hangs up",
        (*NO_ANSWER_5 * 4, FINISH),
        (GREETING, GREETING, GREETING, GREETING, "play goodbye", "hang up"),
        Outcome.NO_INPUT,
    ),
    Path(
        "invalid input counts toward the same limit",
        (press("8888"), FINISH),
        (GREETING, INVALID_MENU, INVALID_MENU, INVALID_MENU, "play invalid + goodbye", "hang up"),
        Outcome.INVALID_INPUT,
    ),
    Path(
        "no input and invalid input add up",
        (*NO_ANSWER_5, press("8"), *NO_ANSWER_5, press("8")),
        (GREETING, INVALID_MENU, GREETING, "play invalid + goodbye"),
        absent=("hang up",),
    ),
    Path(
        "a chosen action starts the count of failures again",
        (press("888"), press("2"), FINISH, press("8")),
        (INVALID_MENU, "play hours", GREETING, INVALID_MENU),
        absent=("play invalid + goodbye",),
    ),
    Path(
        "spent retries transfer to the configured exhausted target",
        NO_ANSWER_5 * 4,
        (GREETING, "dial PJSIP/phone-102 for 20s" + IN_BRIDGE, RING),
        config=configured(exhausted_extension="102"),
        absent=("play goodbye",),
    ),
    Path(
        "an exhausted target that does not answer and has no voicemail ends with goodbye",
        (*NO_ANSWER_5 * 4, no_answer(0), FINISH),
        ("dial PJSIP/phone-103 for 20s", "play unavailable + goodbye", "hang up"),
        Outcome.NO_INPUT,
        config=configured(exhausted_extension="103"),
    ),
    Path(
        "a timer that fires after being replaced is ignored",
        (FINISH, press("*"), STALE_TIMER),
        ends_with=("cancel timer", GREETING),
    ),
    Path(
        "a playback end reported after being replaced is ignored",
        (press("*"), STALE_PLAYBACK),
        ends_with=("stop playback", GREETING),
        absent=(WAIT_CHOICE,),
    ),
    Path(
        "without a greeting the menu is spoken from the keys",
        (),
        (
            "play welcome(Démo SARL) + menu_dial_by_name(1) + menu_announcement(2)"
            " + for_name_press(Salle Renoir,4) + for_name_press(Françoise Le Gall,6)"
            " + for_name_press(Amélie Poulain,0) + menu_dial_extension",
        ),
        config=configured(
            NO_GREETING,
            keys=dict.fromkeys("35798"),
            dial_extension_enabled=True,
        ),
    ),
    Path(
        "a key reassigned during the call acts with the new configuration",
        (FINISH, NewConfig(configured(keys={"8": PlayAnnouncement(HOURS)})), press("8")),
        ("play hours",),
        absent=(INVALID_MENU,),
    ),
    # --- dial-extension ----------------------------------------------------------------------
    Path(
        "digits then # dial an extension",
        (FINISH, press("102#")),
        (WAIT_DIGIT, "dial PJSIP/phone-102 for 20s" + IN_BRIDGE, RING),
        config=DIALPLAN,
    ),
    Path(
        "three seconds without a digit end an extension number",
        (press("102"), TIMEOUT),
        ("dial PJSIP/phone-102 for 20s",),
        config=DIALPLAN,
    ),
    Path(
        "a key digit that begins no number acts at once",
        (press("5"),),
        (VOICEMAIL_101,),
        config=DIALPLAN,
        absent=(WAIT_DIGIT,),
    ),
    Path(
        "a key digit that begins a number waits the inter-digit time then acts as the key",
        (press("1"), TIMEOUT),
        (WAIT_DIGIT, ENTER_NAME),
        config=DIALPLAN,
    ),
    Path(
        "a key digit followed by more digits dials the extension",
        (press("101#"),),
        ("dial PJSIP/phone-101 for 20s",),
        config=DIALPLAN,
        absent=(ENTER_NAME,),
    ),
    Path(
        "a key digit followed by # acts as the key",
        (press("1#"),),
        (ENTER_NAME,),
        config=DIALPLAN,
    ),
    Path(
        "a digit that is no key but begins a number collects an extension",
        (press("901#"),),
        (WAIT_DIGIT, "dial PJSIP/phone-901 for 20s"),
        config=DIALPLAN,
    ),
    Path(
        "an unknown extension gets invalid and the menu again",
        (press("199#"),),
        (INVALID_MENU,),
        config=DIALPLAN,
        absent=("dial",),
    ),
    Path(
        "an extension hidden from dialling gets invalid and the menu again",
        (press("150#"),),
        (INVALID_MENU,),
        config=DIALPLAN,
        absent=("dial PJSIP/phone-150 for 20s",),
    ),
    Path(
        "a digit that is no key and begins no number is invalid at once",
        (press("8"),),
        (INVALID_MENU,),
        config=DIALPLAN,
        absent=(WAIT_DIGIT,),
    ),
    Path(
        "without dial-extension a digit that only begins a number is invalid",
        (press("9"),),
        (INVALID_MENU,),
        config=configured(DIALPLAN, dial_extension_enabled=False),
        absent=(WAIT_DIGIT,),
    ),
    Path(
        "dialling a ring group's number rings the group",
        (press("200#"),),
        ("dial PJSIP/phone-101 for 20s", "dial PJSIP/phone-102 for 20s"),
        config=DIALPLAN,
    ),
    Path(
        "dialling a conference room's number joins the room",
        (press("300#"),),
        ("join conference 300",),
        config=DIALPLAN,
    ),
    Path(
        "star while dialling replays the menu",
        (press("10*"),),
        ends_with=("cancel timer", GREETING),
        config=DIALPLAN,
    ),
    Path(
        "the tenth digit ends an extension number at once",
        (press("1234567890"),),
        ends_with=("cancel timer", INVALID_MENU),
        config=DIALPLAN,
    ),
    # --- dial by name ------------------------------------------------------------------------
    Path(
        "dial by name asks for letters and looks up three digits",
        (press("1"), FINISH, press("526")),
        (ENTER_NAME, WAIT_CHOICE, WAIT_DIGIT, WAIT_DIGIT, "look up 526 page 0"),
    ),
    Path("# looks up fewer digits", (press("152#"),), ("look up 52 page 0",)),
    Path(
        "the inter-digit time looks up the digits typed",
        (press("152"), TIMEOUT),
        ("look up 52 page 0",),
    ),
    Path(
        "one match says the name and transfers",
        (press("1526"), found(JEAN_PIERRE), FINISH),
        (
            "play connecting(Jean-Pierre Lefèvre)",
            "dial PJSIP/phone-102 for 20s" + IN_BRIDGE,
            RING,
        ),
    ),
    Path(
        "one match with a recorded name says the recording",
        (press("1263"), found(AMELIE)),
        ("play connecting(<recorded name of 101>)",),
    ),
    Path(
        "no match says so and asks again",
        (press("1999"), found()),
        ("play no_match + enter_name",),
    ),
    Path(
        "a third time without a match returns to the menu",
        (press("1999"), found(), press("999"), found(), press("999"), found()),
        ("play no_match + enter_name", "play no_match + enter_name", "play no_match + greeting"),
    ),
    Path(
        "several matches are offered by number and a digit chooses one",
        (press("1526"), found(AMELIE, JEAN_PIERRE), press("2"), FINISH),
        (OFFER_2, "play connecting(Jean-Pierre Lefèvre)", "dial PJSIP/phone-102 for 20s"),
    ),
    Path(
        "a full page of matches offers 9 for the next page",
        (press("1526"), found(*EIGHT, total=10, next_page=1), press("9")),
        ("+ for_name_press(Nom 7,8) + more_matches + back_to_menu", "look up 526 page 1"),
    ),
    Path(
        "a later page offers its own matches",
        (press("1526"), found(*EIGHT, total=10, next_page=1), press("9"), found(SEAN, total=10)),
        ("play for_name_press(Seán O'Brien,1) + back_to_menu",),
    ),
    Path(
        "star among the matches returns to the menu",
        (press("1526"), found(AMELIE, JEAN_PIERRE), press("*")),
        (OFFER_2, GREETING),
    ),
    Path(
        "an invalid choice is refused and the matches offered again",
        (press("1526"), found(AMELIE, JEAN_PIERRE), press("7")),
        (OFFER_2, "play invalid + for_name_press(<recorded name of 101>,1)"),
    ),
    Path(
        "no choice after three offers returns to the menu",
        (press("1526"), found(AMELIE, JEAN_PIERRE), *NO_ANSWER_5 * 3),
        (OFFER_2, OFFER_2, OFFER_2, GREETING),
    ),
    Path(
        "the directory failing says so and returns to the menu",
        (press("1526"), LOOKUP_FAILS),
        ("play service_unavailable + greeting",),
    ),
    Path(
        "no letters typed asks again, then returns to the menu",
        (press("1"), *NO_ANSWER_5 * 3),
        (ENTER_NAME, ENTER_NAME, ENTER_NAME, GREETING),
    ),
    Path("star while spelling returns to the menu", (press("15*"),), (ENTER_NAME, GREETING)),
    Path(
        "a match hidden from name dialling is unavailable",
        (press("1437"), found(HECTOR)),
        ("play unavailable + greeting",),
        absent=("dial PJSIP/phone-150 for 20s",),
    ),
    Path(
        "a directory answer after star is ignored",
        (press("1526"), press("*"), found(JEAN_PIERRE)),
        ends_with=(GREETING,),
    ),
    # --- announcements -----------------------------------------------------------------------
    Path(
        "an announcement plays, then the menu again",
        (press("2"), FINISH),
        ("play hours", GREETING),
    ),
    Path(
        "a digit during an announcement acts on the menu",
        (press("2"), press("8")),
        ("play hours", "stop playback", INVALID_MENU),
    ),
    Path(
        "hanging up after an announcement ends as announcement",
        (press("2"), FINISH, HANGUP),
        ("play hours", GREETING),
        Outcome.ANNOUNCEMENT,
    ),
    Path(
        "hanging up after an announcement, then a transfer, is a caller hangup",
        (press("2"), FINISH, press("0"), HANGUP),
        ("play hours", GREETING, RING),
        Outcome.CALLER_HANGUP,
    ),
    Path(
        "hanging up after an announcement, then a dialled extension, is a caller hangup",
        (press("2"), TIMEOUT, FINISH, press("102#"), HANGUP),
        ("play hours", "dial PJSIP/phone-102 for 20s" + IN_BRIDGE, RING),
        Outcome.CALLER_HANGUP,
        config=DIALPLAN,
    ),
    Path(
        "an announcement heard last ends as announcement, whatever came before",
        (press("15*"), press("2"), FINISH, HANGUP),
        (ENTER_NAME, GREETING, "play hours", GREETING),
        Outcome.ANNOUNCEMENT,
    ),
    # --- transfers ---------------------------------------------------------------------------
    Path(
        "a transfer rings the extension for the ring time in the caller's bridge, and rings "
        "the caller's line",
        (press("0"),),
        ("stop playback", "dial PJSIP/phone-101 for 20s" + IN_BRIDGE, RING),
        absent=(RINGBACK,),
    ),
    Path(
        "an answered transfer is connected by the answer itself: nothing is stopped or bridged",
        (press("0"), answered(0)),
        ("dial PJSIP/phone-101 for 20s" + IN_BRIDGE, RING),
        ends_with=("wait 25s for ring_timeout", "cancel timer"),
        absent=("bridge with", "stop ringing"),
    ),
    Path(
        "the callee hanging up ends the call and destroys the bridge",
        (press("0"), answered(0), leg_hangs_up(0)),
        ("dial PJSIP/phone-101 for 20s" + IN_BRIDGE, "destroy bridge", "hang up"),
        Outcome.TRANSFERRED,
    ),
    Path(
        "the caller hanging up while bridged hangs up the callee and destroys the bridge",
        (press("0"), answered(0), HANGUP),
        ("hang up PJSIP/phone-101", "destroy bridge"),
        Outcome.TRANSFERRED,
    ),
    Path(
        "no answer stops the ringing, destroys the bridge, then goes to the extension's voicemail",
        (press("0"), no_answer(0)),
        (RING, "stop ringing", "destroy bridge", VOICEMAIL_101),
    ),
    Path("busy goes to the extension's voicemail", (press("0"), busy(0)), (VOICEMAIL_101,)),
    Path(
        "an unreachable extension goes to its voicemail",
        (press("0"), unreachable(0)),
        (VOICEMAIL_101,),
    ),
    Path(
        "no answer without voicemail says unavailable and plays the menu",
        (press("9"), no_answer(0)),
        ("dial PJSIP/phone-103 for 20s", "play unavailable + greeting"),
    ),
    Path(
        "a virtual extension is dialled through the trunk",
        (press("6"),),
        ("dial PJSIP/+33199000104@carrier for 20s",),
    ),
    Path(
        "the configured trunk dial string template is used",
        (press("6"),),
        ("dial SIP/trunk/+33199000104 for 20s",),
        options=FlowOptions(trunk_dial_template="SIP/trunk/{number}"),
    ),
    Path(
        "the tenant's ring time is used",
        (press("0"),),
        ("dial PJSIP/phone-101 for 45s",),
        config=configured(transfer_ring_s=45),
    ),
    Path(
        "a simultaneous ring group rings every member at once",
        (press("3"),),
        (RINGBACK, "dial PJSIP/phone-101 for 20s", "dial PJSIP/phone-102 for 20s"),
    ),
    Path(
        "the first member to answer wins and the others stop ringing once it is bridged",
        (press("3"), answered(1), bridged(1)),
        ("stop playback", "bridge with PJSIP/phone-102", "hang up PJSIP/phone-101"),
    ),
    Path(
        "the others ring on while the first member to answer is being bridged",
        (press("3"), answered(1)),
        ends_with=("stop playback", "cancel timer", "bridge with PJSIP/phone-102"),
        absent=("hang up PJSIP/phone-101",),
    ),
    Path(
        "a first answerer who hangs up before the bridge leaves the caller ringing the others",
        (press("3"), answered(1), leg_hangs_up(1)),
        ("bridge with PJSIP/phone-102", "destroy bridge", RINGBACK, "wait 25s for ring_timeout"),
        absent=("hang up PJSIP/phone-101",),
    ),
    Path(
        "after a first answerer gone before the bridge, another member's answer is bridged",
        (press("3"), answered(1), leg_hangs_up(1), answered(0), bridged(0), HANGUP),
        ("destroy bridge", RINGBACK, "bridge with PJSIP/phone-101", "hang up"),
        Outcome.TRANSFERRED,
        absent=("hang up PJSIP/phone-102",),
    ),
    Path(
        "a first answerer gone before the bridge is no transfer: the caller hanging up then",
        (press("3"), answered(1), leg_hangs_up(1), HANGUP),
        ("destroy bridge", RINGBACK, "hang up PJSIP/phone-101"),
        Outcome.CALLER_HANGUP,
    ),
    Path(
        "the last member gone before the bridge: the group's no-answer action follows",
        (press("3"), busy(0), answered(1), leg_hangs_up(1)),
        ("bridge with PJSIP/phone-102", "destroy bridge", "play unavailable + greeting"),
    ),
    Path(
        "a second answer while the first is being bridged is hung up",
        (press("3"), answered(1), answered(0), bridged(1)),
        ("bridge with PJSIP/phone-102", "hang up PJSIP/phone-101"),
        absent=("bridge with PJSIP/phone-101",),
    ),
    Path(
        "one member failing leaves the others ringing",
        (press("3"), busy(0)),
        ends_with=("dial PJSIP/phone-102 for 20s", "wait 25s for ring_timeout"),
    ),
    Path(
        "dial results that never come end the ringing after a grace time",
        (press("7"), TIMEOUT, TIMEOUT),
        (
            "dial PJSIP/phone-101 for 15s",
            "wait 20s for ring_timeout",
            "hang up PJSIP/phone-101",
            "dial PJSIP/phone-102 for 15s",
            "wait 20s for ring_timeout",
            "hang up PJSIP/phone-102",
            "dial PJSIP/phone-103 for 15s",
        ),
    ),
    Path(
        "a ring group nobody answers follows its no-answer action: the menu",
        (press("3"), no_answer(0), busy(1)),
        ("play unavailable + greeting",),
    ),
    Path(
        "a sequential ring group rings each member in turn",
        (press("7"), no_answer(0), answered(1)),
        (
            "dial PJSIP/phone-101 for 15s" + IN_BRIDGE,
            RING,
            "dial PJSIP/phone-102 for 15s" + IN_BRIDGE,
            RING,
        ),
        ends_with=("wait 20s for ring_timeout", "cancel timer"),
        absent=("dial PJSIP/phone-103 for 15s", "destroy bridge", "bridge with"),
    ),
    Path(
        "a sequential ring group nobody answers goes to its voicemail target",
        (press("7"), no_answer(0), busy(1), no_answer(2)),
        (
            "dial PJSIP/phone-103 for 15s",
            "play leave_message_for(Jean-Pierre Lefèvre)",
        ),
    ),
    Path(
        "a ring group whose no-answer action is hang up says goodbye",
        (press("202#"), no_answer(0), FINISH),
        ("play unavailable + goodbye", "hang up"),
        Outcome.FAILED,
        config=DIALPLAN,
    ),
    Path(
        "a ring group whose no-answer action is an extension transfers there",
        (press("203#"), no_answer(0)),
        ("dial PJSIP/phone-103 for 20s", "dial PJSIP/phone-102 for 20s"),
        config=DIALPLAN,
    ),
    Path(
        "a ring group without members goes straight to its fallback",
        (press("204#"),),
        ("play unavailable + greeting",),
        config=DIALPLAN,
        absent=(RINGBACK, RING),
    ),
    Path(
        "digits while ringing are ignored",
        (press("0"), press("5")),
        ends_with=(RING, "wait 25s for ring_timeout"),
    ),
    Path(
        "a ringing leg that hangs up counts as failed",
        (press("0"), leg_hangs_up(0)),
        (VOICEMAIL_101,),
    ),
    # --- conference rooms --------------------------------------------------------------------
    Path(
        "a room without a PIN is joined at once and left on hangup",
        (press("300#"), HANGUP),
        ("join conference 300", "leave conference"),
        Outcome.CONFERENCE,
        config=DIALPLAN,
    ),
    Path(
        "a room with a PIN asks for it and the right PIN joins",
        (press("4"), FINISH, press("4321#")),
        ("play enter_pin", WAIT_CHOICE, "join conference 301"),
    ),
    Path(
        "a wrong PIN is refused and asked again",
        (press("4"), press("1111#"), press("4321#")),
        ("play wrong_pin + enter_pin", "join conference 301"),
    ),
    Path(
        "three wrong PINs say goodbye",
        (press("4"), press("1111#1111#1111#"), FINISH),
        ("play wrong_pin + enter_pin", "play wrong_pin + goodbye", "hang up"),
        Outcome.INVALID_INPUT,
        absent=("join conference 301",),
    ),
    Path(
        "a PIN ends after the inter-digit time",
        (press("4"), press("4321"), TIMEOUT),
        ("join conference 301",),
    ),
    # --- voicemail ---------------------------------------------------------------------------
    Path(
        "voicemail greets with the recorded name, then records after a beep",
        (press("5"), FINISH),
        (VOICEMAIL_101, RECORD),
    ),
    Path(
        "a finished message is saved and the caller thanked",
        (press("5"), FINISH, recorded(12.5), FINISH),
        ("save voicemail for 101", "play message_saved + goodbye", "hang up"),
        Outcome.VOICEMAIL,
    ),
    Path(
        "a recording too short (# at once) is discarded and the caller is back in the menu",
        (press("5"), FINISH, recorded(0.4)),
        ("discard recording", "play no_message + greeting"),
        absent=("save voicemail for 101", "hang up"),
    ),
    Path(
        "after a message too short the caller can choose again and leave one",
        (press("5"), FINISH, recorded(0.4), press("5"), FINISH, recorded(8.0), FINISH),
        ("discard recording", "save voicemail for 101", "play message_saved + goodbye"),
        Outcome.VOICEMAIL,
    ),
    Path(
        "a failed recording says so and hangs up",
        (press("5"), FINISH, RECORDING_FAILS, FINISH),
        ("play service_unavailable + goodbye", "hang up"),
        Outcome.FAILED,
    ),
    Path(
        "hanging up while recording keeps the message",
        (press("5"), FINISH, HANGUP),
        ("stop recording", "save voicemail for 101"),
        Outcome.VOICEMAIL,
    ),
    Path(
        "a digit during the voicemail greeting starts the recording at once",
        (press("5#"),),
        (VOICEMAIL_101, "stop playback", RECORD),
    ),
    Path(
        "an extension's own voicemail greeting replaces the standard one, then the beep",
        (press("5"), FINISH, recorded(6.0), FINISH),
        ("play <voicemail greeting of 901>", RECORD, "save voicemail for 901"),
        Outcome.VOICEMAIL,
        config=configured(keys={"5": Transfer(TargetKind.VOICEMAIL, "901")}),
        absent=("play leave_message_for(Zoé Durand)",),
    ),
    Path(
        "a digit during an extension's own voicemail greeting starts the recording at once",
        (press("5#"),),
        ("play <voicemail greeting of 901>", "stop playback", RECORD),
        config=configured(keys={"5": Transfer(TargetKind.VOICEMAIL, "901")}),
    ),
    Path(
        "voicemail of an extension without voicemail says unavailable",
        (press("5"),),
        ("play unavailable + greeting",),
        config=configured(keys={"5": Transfer(TargetKind.VOICEMAIL, "103")}),
        absent=(RECORD,),
    ),
    Path(
        "a key pointing at something deleted says unavailable",
        (press("0"),),
        ("play unavailable + greeting",),
        config=configured(keys={"0": Transfer(TargetKind.EXTENSION, "999")}),
    ),
    # --- the service stopping after its drain grace ------------------------------------------
    Path(
        "a call in the menu at the end of the drain grace is hung up and ends as failed",
        (FINISH, SHUTDOWN),
        (GREETING, "cancel timer", "hang up"),
        Outcome.FAILED,
    ),
    Path(
        "a ringing call at the end of the drain grace hangs up its legs and the caller",
        (press("0"), SHUTDOWN),
        (RING, "hang up PJSIP/phone-101", "destroy bridge", "hang up"),
        Outcome.FAILED,
    ),
    Path(
        "a bridged call at the end of the drain grace is hung up and stays transferred",
        (press("0"), answered(0), SHUTDOWN),
        ("hang up PJSIP/phone-101", "destroy bridge", "hang up"),
        Outcome.TRANSFERRED,
    ),
    # --- hanging up, in every phase ----------------------------------------------------------
    Path(
        "hanging up during the greeting stops it",
        (HANGUP,),
        (GREETING, "stop playback"),
        Outcome.CALLER_HANGUP,
    ),
    Path(
        "hanging up while the menu waits cancels the timer",
        (FINISH, HANGUP),
        (WAIT_CHOICE, "cancel timer"),
        Outcome.CALLER_HANGUP,
    ),
    Path(
        "hanging up while dialling an extension cancels the inter-digit timer",
        (press("10"), HANGUP),
        (WAIT_DIGIT, "cancel timer"),
        Outcome.CALLER_HANGUP,
        config=DIALPLAN,
    ),
    Path(
        "hanging up while a ring group rings hangs up every leg and stops ringback",
        (press("3"), HANGUP),
        ("stop playback", "hang up PJSIP/phone-101", "hang up PJSIP/phone-102"),
        Outcome.CALLER_HANGUP,
    ),
    Path(
        "hanging up during a look-up leaves nothing pending",
        (press("1526"), HANGUP, found(JEAN_PIERRE)),
        ("look up 526 page 0",),
        Outcome.CALLER_HANGUP,
        absent=("play connecting(Jean-Pierre Lefèvre)",),
    ),
    Path(
        "hanging up while a PIN is asked stops the prompt",
        (press("4"), HANGUP),
        ("play enter_pin", "stop playback"),
        Outcome.CALLER_HANGUP,
    ),
    Path(
        "events after the end change nothing",
        (press("0"), HANGUP, answered(0), press("1")),
        ends_with=("cancel timer", "hang up PJSIP/phone-101", "destroy bridge"),
        outcome=Outcome.CALLER_HANGUP,
    ),
    Path(
        "hanging up during the goodbye keeps the outcome decided",
        (press("8888"), HANGUP),
        ("play invalid + goodbye", "stop playback"),
        Outcome.INVALID_INPUT,
    ),
    # --- picked up again after the ARI connection broke ------------------------------------
    Path(
        "resumed during the greeting the menu starts over",
        (RESUMED, FINISH),
        (GREETING, "stop playback", GREETING, WAIT_CHOICE),
    ),
    Path(
        "resumed while a name is typed the menu starts over",
        (press("15"), RESUMED, FINISH, press("2")),
        (ENTER_NAME, "cancel timer", GREETING, WAIT_CHOICE, "play hours"),
    ),
    Path(
        "resumed during a look-up the late answer is ignored",
        (press("1526"), RESUMED, found(JEAN_PIERRE)),
        ("look up 526 page 0", GREETING),
        absent=("play connecting(Jean-Pierre Lefèvre)",),
    ),
    Path(
        "resumed while ringing the legs ring on",
        (press("0"), RESUMED, answered(0)),
        (RING,),
        ends_with=("cancel timer",),
        absent=("hang up PJSIP/phone-101", "destroy bridge"),
    ),
    Path(
        "resumed while bridged nothing changes",
        (press("0"), answered(0), RESUMED, HANGUP),
        ("dial PJSIP/phone-101 for 20s" + IN_BRIDGE, "destroy bridge"),
        Outcome.TRANSFERRED,
    ),
    Path(
        "resumed during the goodbye the call ends",
        (press("8888"), RESUMED),
        ("play invalid + goodbye", "stop playback", "hang up"),
        Outcome.INVALID_INPUT,
    ),
]


def _contains_in_order(lines: list[str], expected: tuple[str, ...]) -> bool:
    position = 0
    for line in lines:
        if position < len(expected) and expected[position] in line:
            position += 1
    return position == len(expected)


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_call_flow_path(path: Path) -> None:
    run = play_through(path.script, path.config, path.options)  # type: ignore[arg-type]
    shown = "\n  ".join(run.transcript)
    assert _contains_in_order(run.transcript, path.heard), f"transcript:\n  {shown}"
    for line in path.absent:
        assert not any(line in heard for heard in run.transcript), f"{line!r} happened:\n  {shown}"
    if path.ends_with:
        assert tuple(run.transcript[-len(path.ends_with) :]) == path.ends_with, shown
    if path.outcome is None:
        assert not run.call.ended, shown
    else:
        assert run.call.ended, shown
        assert run.call.outcome is path.outcome
        assert run.call.held.nothing
        ended = [t for t in run.traces if t.kind is TraceKind.ENDED]
        assert [t.data["outcome"] for t in ended] == [path.outcome]


def test_a_transferred_call_publishes_its_decisions_in_order() -> None:
    run = play_through((FINISH, press("0"), answered(0), HANGUP))
    assert [t.kind for t in run.traces] == [
        TraceKind.STARTED,
        TraceKind.ANSWERED,
        TraceKind.MENU,
        TraceKind.KEY,
        TraceKind.TRANSFER,
        TraceKind.TRANSFER_RESULT,
        TraceKind.BRIDGED,
        TraceKind.ENDED,
    ]
    started, *_, result, _, ended = run.traces
    assert started.data == {
        "called_number": "+33199000001",
        "caller_number": "+33612345678",
        "language": "fr-FR",
    }
    assert result.data == {"number": "101", "result": "answered"}
    assert ended.data == {"outcome": "transferred", "by": "caller"}


def test_every_trace_fits_the_call_event_contract() -> None:
    run = play_through((press("1526"), found(AMELIE, JEAN_PIERRE), press("2"), FINISH, HANGUP))
    for trace in run.traces:
        assert isinstance(trace, PublishTrace)
        CallEvent(tenant_id=BASE.tenant_id, call_id="c", kind=trace.kind, data=dict(trace.data))


def test_a_resumed_call_makes_ids_from_its_new_prefix() -> None:
    run = start(BASE)
    context = run.call.context
    assert context is not None
    resumed = Run(Call())
    resumed.feed(CallStarted(replace(context, id_prefix="call-1-r7")))
    played = [c for c in resumed.commands if isinstance(c, Play)]
    assert played[0].playback_id == "call-1-r7-playback-1"
    assert next(c for c in run.commands if isinstance(c, Play)).playback_id == "call-1-playback-1"


def test_a_hangup_before_the_call_started_ends_it_without_commands() -> None:
    call, commands = step(Call(), Hangup())
    assert call.ended
    assert commands == ()


def test_the_first_step_answers_then_plays() -> None:
    run = play_through(())
    assert run.transcript == ["answer", GREETING]


def test_the_call_flow_imports_no_io_library() -> None:
    code = (
        "import sys, rcp.callflow.flow, rcp.callflow.prompts;"
        "print(sorted(m for m in ('asyncio', 'aiohttp', 'aioari', 'nats', 'asyncpg')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_a_call_taken_over_while_its_message_was_recorded_is_thanked_and_ends_as_voicemail() -> (
    None
):
    context = start(BASE).call.context
    assert context is not None
    resumed = Run(Call())
    resumed.feed(CallStarted(replace(context, id_prefix="call-1-r7", message_saved=True)))
    assert resumed.transcript == ["answer", "play message_saved + goodbye"]
    resumed.feed(PlaybackFinished(resumed.call.held.playback or ""))
    assert resumed.transcript[-1] == "hang up"
    assert resumed.call.outcome is Outcome.VOICEMAIL
