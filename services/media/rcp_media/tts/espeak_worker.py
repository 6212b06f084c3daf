"""A resident espeak-ng: libespeak-ng loaded once, in a process of its own that forks one child
per text; started and spoken to by `rcp_media.tts.espeak`.

What this saves against running the `espeak-ng` command per text is the command's start:
loading the program and its libraries and initialising espeak-ng (its phoneme tables).

Why a child per text: espeak-ng keeps state from one text to the next (the same text spoken
twice by one process differs slightly), and 1.51 has memory-safety bugs. A child forked from the
initialised process starts from the same state as the command, so it speaks the same samples
for the same text and voice; a text that crashes espeak-ng takes the child, which the worker
reports, never the worker or the service. A text that makes espeak-ng loop is stopped by the
service, which kills the worker's process group when a render outlives its time limit.

Only the standard library is imported, so that it starts fast under `python -I -S`. Its one
argument is the service's process id (which may be 1, in a container).

Protocol, on stdin and stdout, every integer little-endian:
- once started, the worker writes a frame `R` whose payload is its sample rate (4 bytes);
- a request is `<voice length: 4 bytes><text length: 4 bytes><voice><text>`, UTF-8;
- the answer is frames `A` (16-bit mono PCM at that rate, as it is made), then `E` (spoken)
  or `F` (not spoken: the payload says why). A frame is `<kind: 1 byte><length: 4 bytes>
  <payload>`, written at once and at most `PIPE_BUF` long, so that a child killed while
  writing leaves no partial frame behind.
EOF on stdin ends the worker.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import struct
import sys

LIBRARY = "libespeak-ng.so.1"
# speak_lib.h and espeak_ng.h
ENS_OK = 0
EE_OK = 0
ENOUTPUT_MODE_SYNCHRONOUS = 1
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
ESPEAK_PHONEMES = 0x100
ESPEAK_ENDPAUSE = 0x1000
# What `espeak-ng -b 1` speaks with: the same flags give the same samples.
SYNTH_FLAGS = ESPEAK_CHARS_UTF8 | ESPEAK_PHONEMES | ESPEAK_ENDPAUSE
# prctl(2) options
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
PROCESS_NAME = b"rcp-espeak"
# How a child says that it wrote its last frame (`E` or `F`): any other end is a failure.
ANSWERED = 3

REQUEST = struct.Struct("<II")
FRAME = struct.Struct("<cI")
AUDIO, SPOKEN, FAILED, READY = b"A", b"E", b"F", b"R"
LARGEST_PAYLOAD = select.PIPE_BUF - FRAME.size

SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class VoiceSelection(ctypes.Structure):
    """speak_lib.h's espeak_VOICE."""

    _fields_ = (
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


def _write(kind: bytes, payload: bytes = b"") -> None:
    for start in range(0, max(len(payload), 1), LARGEST_PAYLOAD):
        part = payload[start : start + LARGEST_PAYLOAD]
        os.write(1, FRAME.pack(kind, len(part)) + part)  # a pipe takes PIPE_BUF whole


def split_frames(buffer: bytearray) -> list[tuple[bytes, bytes]]:
    """Take the whole frames at the start of `buffer` out of it, as (kind, payload)."""
    frames, start = [], 0
    while len(buffer) - start >= FRAME.size:
        kind, length = FRAME.unpack_from(buffer, start)
        end = start + FRAME.size + length
        if len(buffer) < end:
            break
        frames.append((kind, bytes(buffer[start + FRAME.size : end])))
        start = end
    del buffer[:start]
    return frames


def _read(size: int) -> bytes | None:
    """Exactly `size` bytes of stdin, or None at its end."""
    parts, left = [], size
    while left:
        part = os.read(0, left)
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _die_with_parent(libc: ctypes.CDLL) -> None:
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _library() -> ctypes.CDLL:
    espeak = ctypes.CDLL(LIBRARY)
    espeak.espeak_ng_InitializePath.argtypes = (ctypes.c_char_p,)
    espeak.espeak_ng_InitializePath.restype = None
    espeak.espeak_ng_Initialize.argtypes = (ctypes.POINTER(ctypes.c_void_p),)
    espeak.espeak_ng_InitializeOutput.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_char_p)
    espeak.espeak_ng_PrintStatusCodeMessage.argtypes = (
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_void_p,
    )
    espeak.espeak_ng_PrintStatusCodeMessage.restype = None
    espeak.espeak_SetSynthCallback.argtypes = (SynthCallback,)
    espeak.espeak_SetSynthCallback.restype = None
    espeak.espeak_ListVoices.argtypes = (ctypes.c_void_p,)
    espeak.espeak_ListVoices.restype = ctypes.c_void_p
    espeak.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
    espeak.espeak_SetVoiceByProperties.argtypes = (ctypes.POINTER(VoiceSelection),)
    espeak.espeak_Synth.argtypes = (
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    )
    return espeak


def _speak(espeak: ctypes.CDLL, libc: ctypes.CDLL, voice: bytes, text: bytes) -> None:
    """In the child: speak, say how it went, exit."""
    _die_with_parent(libc)
    # As `espeak-ng -v`: a voice's name or file, else a language.
    if espeak.espeak_SetVoiceByName(voice) != EE_OK:
        selection = VoiceSelection(languages=voice)
        if espeak.espeak_SetVoiceByProperties(ctypes.byref(selection)) != EE_OK:
            _write(FAILED, b"espeak-ng has no voice " + voice)
            os._exit(ANSWERED)
    if espeak.espeak_Synth(text, len(text) + 1, 0, POS_CHARACTER, 0, SYNTH_FLAGS, None, None):
        _write(FAILED, b"espeak-ng could not speak the text")
    else:
        _write(SPOKEN)
    os._exit(ANSWERED)


def _ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"espeak-ng stopped while speaking ({signal.Signals(os.WTERMSIG(status)).name})"
    return f"espeak-ng stopped while speaking (exit status {os.waitstatus_to_exitcode(status)})"


def main(service: int) -> int:
    """Start espeak-ng, then speak each request in a child until stdin ends; `service` is the
    process id of the service that started it."""
    libc = ctypes.CDLL(None)
    _die_with_parent(libc)
    libc.prctl(PR_SET_NAME, PROCESS_NAME, 0, 0, 0)
    if os.getppid() != service:  # the service was gone before the above took effect
        return 0
    espeak = _library()
    # As the command starts it (espeak_Initialize would go on without its data).
    espeak.espeak_ng_InitializePath(None)
    context = ctypes.c_void_p()
    status = espeak.espeak_ng_Initialize(ctypes.byref(context))
    if status != ENS_OK:
        espeak.espeak_ng_PrintStatusCodeMessage(
            status, ctypes.c_void_p.in_dll(libc, "stderr"), context
        )
        _write(FAILED, b"espeak-ng could not start")
        return 1
    if espeak.espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, None) != ENS_OK:
        _write(FAILED, b"espeak-ng could not start its output")
        return 1

    def spoken(wav: ctypes._Pointer[ctypes.c_short], samples: int, _events: int | None) -> int:
        if samples > 0:
            _write(AUDIO, ctypes.string_at(wav, samples * 2))
        return 0

    callback = SynthCallback(spoken)  # referenced for as long as espeak-ng may call it
    espeak.espeak_SetSynthCallback(callback)
    # Read every voice file once, here: a child asked for a voice by name (a variant, a
    # language two voices rank first for) finds it in this list instead of reading them.
    espeak.espeak_ListVoices(None)
    _write(READY, struct.pack("<I", espeak.espeak_ng_GetSampleRate()))
    while (head := _read(REQUEST.size)) is not None:
        voice_length, text_length = REQUEST.unpack(head)
        body = _read(voice_length + text_length)
        if body is None:
            break
        child = os.fork()
        if child == 0:
            _speak(espeak, libc, body[:voice_length], body[voice_length:])
        _, status = os.waitpid(child, 0)
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == ANSWERED):
            _write(FAILED, _ended(status).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
