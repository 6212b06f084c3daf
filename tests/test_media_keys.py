"""Pure parts of the media service: text normalisation, cache keys, URL signatures, voices."""

from __future__ import annotations

import uuid

import pytest
from rcp_media.audio import audible_span
from rcp_media.keys import AudioFormat, Kind, UrlSigner, content_key, normalise_text, tts_key
from rcp_media.tts.espeak import Voices

TENANT_A = uuid.UUID("7a0c3d8e-1111-4c55-9a77-0c9d7f0e1a01")
TENANT_B = uuid.UUID("7a0c3d8e-2222-4c55-9a77-0c9d7f0e1a02")


@pytest.mark.parametrize(
    ("raw", "spoken"),
    [
        ("  Bonjour,\n\tmonde  ", "Bonjour, monde"),
        ("Le\u0300fe\u0300vre", "Lèfèvre"),  # decomposed accents are composed (NFC)
        ("a\u200bb\u00adc", "abc"),  # invisible format characters go
        ("ligne\u2028suivante\x07", "ligne suivante"),
        (" \u200b ", ""),
    ],
)
def test_text_is_normalised_before_it_is_spoken_or_keyed(raw: str, spoken: str) -> None:
    assert normalise_text(raw) == spoken


def test_tts_key_changes_with_every_ingredient_and_nothing_else() -> None:
    base = ("espeak-ng", "1.51", "fr-fr", "fr-FR", "Bonjour")
    key = tts_key(*base)
    assert key == tts_key(*base)
    assert len(key) == 64
    for index, other in enumerate(("other", "1.52", "fr-fr+f3", "fr-BE", "Bonsoir")):
        changed = list(base)
        changed[index] = other
        assert tts_key(*changed) != key


def test_upload_keys_are_per_tenant_and_per_kind() -> None:
    digest = "ab" * 32
    upload_a = content_key(Kind.UPLOAD, TENANT_A, digest)
    assert upload_a != content_key(Kind.UPLOAD, TENANT_B, digest)
    assert upload_a != content_key(Kind.RECORDING, TENANT_A, digest)


def test_signed_path_ends_with_the_extension_asterisk_reads_and_binds_tenant_and_key() -> None:
    signer = UrlSigner(b"a-secret-of-16-bytes-or-more")
    key = "cd" * 32
    path = signer.path(TENANT_A, key, AudioFormat.WIDEBAND)
    assert path.startswith(f"/media/v1/{TENANT_A}/{key}-")
    assert path.endswith(".wav16")
    signature = path.rsplit("-", 1)[1].split(".")[0]
    assert signer.verify(TENANT_A, key, signature)
    assert not signer.verify(TENANT_B, key, signature)
    assert not signer.verify(TENANT_A, "ef" * 32, signature)
    assert not UrlSigner(b"another-secret-16-bytes").verify(TENANT_A, key, signature)


def test_content_types_are_the_ones_asterisk_maps_to_its_formats() -> None:
    assert AudioFormat.NARROWBAND.content_type == "audio/wav"
    assert AudioFormat.WIDEBAND.content_type == "audio/x-wav;codec=pcm;bit=16;rate=16000"


VOICES = """Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  de              --/M      German             gmw/de
 2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)
 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)
 5  es              --/M      Spanish_(Spain)    roa/es
 5  es-419          --/M      Spanish_(Latin_America) roa/es-419           (es-mx 6)(es 6)
 5  fr-be           --/M      French_(Belgium)   roa/fr-BE            (fr 8)
 5  fr-fr           --/M      French_(France)    roa/fr               (fr 5)
 5  nl              --/M      Dutch              gmw/nl
"""
VARIANTS = """Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  variant         --/F      f3                 !v/f3
 5  variant         --/M      Alex               !v/Alex
"""


@pytest.mark.parametrize(
    ("locale", "voice"),
    [
        ("fr-FR", "fr-fr"),
        ("fr-BE", "fr-be"),
        ("fr-CA", "fr-fr"),  # no Canadian voice: the best French one
        ("en-US", "en-us"),
        ("en-GB", "en-gb"),
        ("en-AU", "en-gb"),
        ("de-DE", "de"),
        ("es-ES", "es"),
        ("nl-NL", "nl"),
        ("ja-JP", None),
    ],
)
def test_locale_is_spoken_by_its_own_voice_or_its_language_best(
    locale: str, voice: str | None
) -> None:
    assert Voices.parse(VOICES, VARIANTS).for_locale(locale) == voice


def test_voice_with_variant_is_known_only_if_both_parts_exist() -> None:
    voices = Voices.parse(VOICES, VARIANTS)
    assert voices.knows("fr-fr")
    assert voices.knows("fr-fr+f3")
    assert voices.knows("en-us+Alex")
    assert not voices.knows("fr-fr+nobody")
    assert not voices.knows("xx")


def test_a_language_is_given_to_espeak_as_the_file_of_its_first_voice_unless_tied() -> None:
    voices = Voices.parse(
        VOICES
        + " 7  fr-fr           --/M      french-mbrola-1    mb/mb-fr1            (fr 7)\n"
        + " 5  yue             --/M      Chinese_Cantonese  sit/yue\n"
        + " 5  yue             --/M      Chinese_Cantonese_Jyutping sit/yue-Latn-jyutping\n",
        VARIANTS,
    )
    assert voices.argument("fr-fr") == "roa/fr"  # ranked before the MBROLA voice
    assert voices.argument("fr-be") == "roa/fr-BE"
    assert voices.argument("en-us") == "gmw/en-US"
    assert voices.argument("yue") == "yue"  # two voices rank first: espeak-ng chooses
    assert voices.argument("fr-fr+f3") == "fr-fr+f3"  # a variant: espeak-ng chooses
    assert voices.argument("xx") == "xx"


def test_audible_span_drops_leading_and_trailing_silence_but_keeps_pauses() -> None:
    log = (
        "[info]     title           : silence_start: 1\n"  # metadata is not silence
        "[silencedetect @ 0x1] [info] silence_start: 0\n"
        "[silencedetect @ 0x1] [info] silence_end: 3.0 | silence_duration: 3.0\n"
        "[silencedetect @ 0x1] [info] silence_start: 4.1\n"
        "[silencedetect @ 0x1] [info] silence_end: 4.5 | silence_duration: 0.4\n"
        "[silencedetect @ 0x1] [info] silence_start: 8.9\n"
        "[silencedetect @ 0x1] [info] silence_end: 13.2 | silence_duration: 4.3\n"
    )
    assert audible_span(log, 13.2) == pytest.approx((2.9, 9.0))
    assert audible_span("", 5.0) == (0.0, 5.0)
    # Silence from start to end, whether or not its end is logged.
    start = "[silencedetect @ 0x1] [info] silence_start: 0\n"
    assert audible_span(start, 5.0) is None
    assert audible_span(start + "[silencedetect @ 0x1] silence_end: 5.0\n", 5.0) is None
