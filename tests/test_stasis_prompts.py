"""The system prompts' catalogue, prompt rendering, and the configuration model's look-ups."""

from __future__ import annotations

import re
import string
from pathlib import Path
from uuid import UUID

import pytest
from rcp.callflow.commands import TraceKind
from rcp.callflow.config import Extension
from rcp.callflow.prompts import (
    CATALOGUE,
    PLACEHOLDERS,
    STAND_IN,
    SpokenText,
    SystemPrompt,
    SystemPromptKey,
    TenantPrompt,
    Tone,
    catalogue_language,
    local_sound,
    render,
)
from rcp.vocabulary import ExtensionKind, Outcome
from stasis_flow_support import BASE, DIALPLAN, EXTENSIONS

RECORDED = TenantPrompt(UUID("00000000-0000-4000-8000-0000000000aa"))
MIGRATION = (
    Path(__file__).parents[1] / "libs/rcp/db/migrations/versions/0001_initial_schema.py"
).read_text()


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("language", sorted(CATALOGUE))
def test_every_language_has_every_sentence_with_the_same_placeholders(language: str) -> None:
    sentences = CATALOGUE[language]
    assert set(sentences) == set(SystemPromptKey)
    for key, text in sentences.items():
        assert _placeholders(text) == PLACEHOLDERS[key], (language, key)
        assert text == text.strip()
        assert text[-1] in ".?!", (language, key)


def test_french_is_written_with_its_accents() -> None:
    french = " ".join(CATALOGUE["fr-FR"].values())
    for word in ("premières", "numéro", "été enregistré", "étoile", "dièse", "écouter"):
        assert word in french
    for unaccented in ("premieres", "numero", "ete enregistre", "etoile", "diese", "ecouter"):
        assert unaccented not in french


def test_english_names_the_hash_key_as_each_country_does() -> None:
    assert "pound" in CATALOGUE["en-US"][SystemPromptKey.ENTER_PIN]
    assert "hash" in CATALOGUE["en-GB"][SystemPromptKey.ENTER_PIN]


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr-FR", ("fr-FR", "fr-FR")),
        ("fr-CA", ("fr-FR", "fr-CA")),
        ("en-AU", ("en-US", "en-AU")),
        ("de-DE", ("de-DE", "de-DE")),
        ("it-IT", ("en-US", "en-US")),
    ],
)
def test_a_locale_reads_its_language_or_falls_back_to_english(
    locale: str, expected: tuple[str, str]
) -> None:
    assert catalogue_language(locale) == expected


def test_a_system_prompt_renders_as_text_in_its_language() -> None:
    prompt = SystemPrompt(SystemPromptKey.FOR_NAME_PRESS, "fr-FR", name="Amélie Poulain", digit="2")
    assert render(prompt) == (SpokenText("Pour Amélie Poulain, tapez 2.", "fr-FR"),)


def test_a_recorded_name_is_played_between_the_words_around_it() -> None:
    prompt = SystemPrompt(SystemPromptKey.FOR_NAME_PRESS, "fr-FR", name=RECORDED, digit="2")
    assert render(prompt) == (
        SpokenText("Pour", "fr-FR"),
        RECORDED,
        SpokenText("tapez 2.", "fr-FR"),
    )


def test_a_recorded_name_at_the_end_leaves_no_lone_full_stop() -> None:
    prompt = SystemPrompt(SystemPromptKey.CONNECTING, "en-GB", name=RECORDED)
    assert render(prompt) == (SpokenText("Please hold while I connect you to", "en-GB"), RECORDED)


def test_words_after_a_recorded_name_keep_their_place_in_the_sentence() -> None:
    prompt = SystemPrompt(SystemPromptKey.LEAVE_MESSAGE_FOR, "de-DE", name=RECORDED)
    first, recorded, rest = render(prompt)
    assert first == SpokenText("Sie sind mit der Mailbox von", "de-DE")
    assert recorded == RECORDED
    assert isinstance(rest, SpokenText)
    assert rest.text.startswith("verbunden. Bitte hinterlassen Sie")  # the verb comes last


def test_tenant_prompts_and_tones_render_as_themselves() -> None:
    assert render(RECORDED) == (RECORDED,)
    assert render(Tone.RINGBACK) == (Tone.RINGBACK,)
    assert render(SpokenText("Bonjour", "fr-FR")) == (SpokenText("Bonjour", "fr-FR"),)


def test_outcomes_are_exactly_what_call_records_accept() -> None:
    check = re.search(r"outcome\s+text CHECK \(outcome IN \(([^)]*)\)", MIGRATION)
    assert check is not None
    allowed = set(re.findall(r"'([a-z_]+)'", check.group(1)))
    assert {o.value for o in Outcome} == allowed


def test_trace_kinds_are_valid_call_event_kinds() -> None:
    for kind in TraceKind:
        assert re.fullmatch(r"[a-z_]{1,32}", kind.value)


def test_an_extension_is_named_by_whichever_names_it_has() -> None:
    assert EXTENSIONS[1].name == "Jean-Pierre Lefèvre"
    assert Extension("110", ExtensionKind.PHYSICAL, last_name="Accueil").name == "Accueil"


def test_dialable_numbers_exclude_extensions_hidden_from_dialling() -> None:
    assert BASE.dialable("102") == EXTENSIONS[1]
    assert BASE.dialable("150") is None
    assert BASE.dialable("200") is BASE.ring_groups["200"]
    assert BASE.dialable("301") is BASE.conference_rooms["301"]
    assert BASE.dialable("999") is None


def test_a_digit_begins_a_number_only_if_something_dialable_starts_with_it() -> None:
    assert DIALPLAN.begins_a_number("1")
    assert DIALPLAN.begins_a_number("10")
    assert DIALPLAN.begins_a_number("9")
    assert not DIALPLAN.begins_a_number("102")  # complete, nothing longer
    assert not DIALPLAN.begins_a_number("15")  # only the hidden 150
    assert not DIALPLAN.begins_a_number("8")


def test_the_configuration_cannot_be_changed_in_place() -> None:
    with pytest.raises(TypeError):
        BASE.keys["8"] = BASE.keys["1"]  # type: ignore[index]


def test_the_stand_in_is_a_sound_asterisk_keeps_in_every_catalogue_language() -> None:
    sounds = Path(__file__).parent.parent / "deploy" / "asterisk" / "sounds"
    for language in CATALOGUE:
        uri = local_sound(STAND_IN, language)
        name, _, spoken = uri.removeprefix("sound:rcp/").rpartition("-")
        text = sounds / f"{name}.{spoken}.txt"
        assert text.read_text().strip(), f"nothing to render for {language}: {text}"
    assert local_sound(STAND_IN, "fr-CA") == "sound:rcp/degraded-fr"
    assert local_sound(STAND_IN, "ja-JP") == "sound:rcp/degraded-en"
