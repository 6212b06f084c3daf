"""Pure functions naming content: normalised text, cache keys, signed URL paths."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass
from enum import StrEnum

# Bumped whenever the processing chain changes what a given input produces, so that
# files rendered the old way are not taken for the new.
PIPELINE_VERSION = 1

_SPACES = re.compile(r"\s+")
_KEY = re.compile(r"^[0-9a-f]{64}$")
SIGNATURE_HEX = 32  # 128 bits


class AudioFormat(StrEnum):
    """The two files kept for every entry, by the extension Asterisk recognises."""

    NARROWBAND = "wav"  # 8 kHz 16-bit mono
    WIDEBAND = "wav16"  # 16 kHz 16-bit mono

    @property
    def content_type(self) -> str:
        """The Content-Type Asterisk maps to this format (format_wav's registered types)."""
        if self is AudioFormat.NARROWBAND:
            return "audio/wav"
        return "audio/x-wav;codec=pcm;bit=16;rate=16000"

    @property
    def sample_rate(self) -> int:
        """Samples per second."""
        return 8000 if self is AudioFormat.NARROWBAND else 16000


class Kind(StrEnum):
    """Where an entry's audio comes from (the `source` of a prompt)."""

    TTS = "tts"
    UPLOAD = "upload"
    RECORDING = "recording"


def normalise_text(text: str) -> str:
    """The text as spoken: NFC, no control or invisible format characters, single spaces."""
    composed = unicodedata.normalize("NFC", text)
    visible = "".join(
        " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char
        for char in composed
        if unicodedata.category(char) != "Cf"
    )
    return _SPACES.sub(" ", visible).strip()


def _digest(fields: dict[str, object]) -> str:
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def tts_key(engine: str, engine_version: str, voice: str, language: str, text: str) -> str:
    """The cache key of `text` (already normalised) spoken by one engine's voice."""
    return _digest(
        {
            "kind": Kind.TTS.value,
            "pipeline": PIPELINE_VERSION,
            "engine": engine,
            "engine_version": engine_version,
            "voice": voice,
            "language": language,
            "text": text,
        }
    )


def content_key(kind: Kind, tenant_id: uuid.UUID, content_sha256: str) -> str:
    """The cache key of an upload or a recording: its bytes, within its tenant.

    The tenant is part of the key so that one tenant's content is never shared with, nor
    detectable by, another (TTS renders, made from text anyone could type, are shared).
    """
    return _digest(
        {
            "kind": kind.value,
            "pipeline": PIPELINE_VERSION,
            "tenant": str(tenant_id),
            "content": content_sha256,
        }
    )


def is_key(value: str) -> bool:
    """Whether `value` has the shape of a cache key."""
    return bool(_KEY.match(value))


@dataclass(frozen=True)
class UrlSigner:
    """Signs and checks media paths, so that a URL names one tenant's access to one entry,
    for good (prompts: Asterisk's cache keeps them) or until a time (recordings)."""

    secret: bytes

    def signature(self, tenant_id: uuid.UUID, key: str, expires: int | None = None) -> str:
        """The signature of (tenant, key), and of the expiry (Unix seconds) when there is one."""
        message = f"{tenant_id}/{key}" if expires is None else f"{tenant_id}/{key}/{expires}"
        return hmac.new(self.secret, message.encode(), hashlib.sha256).hexdigest()[:SIGNATURE_HEX]

    def path(
        self,
        tenant_id: uuid.UUID,
        key: str,
        audio_format: AudioFormat,
        expires: int | None = None,
    ) -> str:
        """The URL path of one file of an entry (it ends with Asterisk's extension): immutable,
        or valid until `expires` (Unix seconds), which it carries."""
        stem = key if expires is None else f"{key}-{expires}"
        signature = self.signature(tenant_id, key, expires)
        return f"/media/v1/{tenant_id}/{stem}-{signature}.{audio_format}"

    def verify(
        self, tenant_id: uuid.UUID, key: str, signature: str, expires: int | None = None
    ) -> bool:
        """Whether `signature` was made by this signer for (tenant, key[, expires])."""
        return hmac.compare_digest(self.signature(tenant_id, key, expires), signature)
