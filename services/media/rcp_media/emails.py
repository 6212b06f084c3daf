"""What a voicemail email says: pure composition, in the tenant's language (French or English).

`voicemail_email(notice, audio, sender)` builds the message: a subject and a short text saying
who called whom, when (in the tenant's time zone) and for how long, with the recording
attached as the WAV file the web manager plays. Its Message-ID is made from the message's
id, so that a mail system that sees it twice (a crash between the relay's answer and the row
being marked sent) can tell it is the same message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rcp.mail import address_of

FRENCH_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
FRENCH_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
ENGLISH_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class VoicemailNotice:
    """What an email says of one voicemail message."""

    message_id: UUID
    to: str
    tenant_name: str
    locale: str
    timezone: str
    extension_number: str
    extension_name: str
    caller_number: str | None
    caller_name: str | None
    duration_ms: int
    left_at: datetime

    @property
    def french(self) -> bool:
        """Whether the tenant speaks French (any other language gets English)."""
        return self.locale.lower().startswith("fr")

    def local_time(self) -> datetime:
        """When the message was left, in the tenant's time zone."""
        try:
            return self.left_at.astimezone(ZoneInfo(self.timezone))
        except (ZoneInfoNotFoundError, ValueError):
            return self.left_at


def _duration(milliseconds: int) -> str:
    """1 min 05 s, 34 s (the same in French and English)."""
    minutes, seconds = divmod(round(milliseconds / 1000), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def _when(moment: datetime, french: bool) -> str:
    day = moment.weekday()
    month = moment.month - 1
    if french:
        return (
            f"le {FRENCH_DAYS[day]} {moment.day} {FRENCH_MONTHS[month]} {moment.year} "
            f"à {moment:%H:%M}"
        )
    date = f"{ENGLISH_DAYS[day]} {moment.day} {ENGLISH_MONTHS[month]} {moment.year}"
    return f"on {date} at {moment:%H:%M}"


def _caller(notice: VoicemailNotice) -> str:
    number = notice.caller_number
    name = notice.caller_name
    if number and name:
        return f"{name} ({number})"
    if number or name:
        return number or name or ""
    return "Un numéro masqué" if notice.french else "A withheld number"


def subject(notice: VoicemailNotice) -> str:
    """The email's subject."""
    who = notice.extension_name or notice.extension_number
    caller = notice.caller_number or notice.caller_name
    if notice.french:
        source = f"de {caller}" if caller else "d'un numéro masqué"
        return f"Nouveau message vocal {source} pour {who} ({notice.extension_number})"
    source = f"from {caller}" if caller else "from a withheld number"
    return f"New voicemail {source} for {who} ({notice.extension_number})"


def body(notice: VoicemailNotice) -> str:
    """The email's text."""
    moment = notice.local_time()
    length = _duration(notice.duration_ms)
    who = notice.extension_name or notice.extension_number
    if notice.french:
        return (
            f"Bonjour {who},\n\n"
            f"{_caller(notice)} vous a laissé un message de {length} "
            f"{_when(moment, True)}, sur le poste {notice.extension_number} "
            f"({notice.tenant_name}).\n\n"
            "Le message est joint à ce courriel (fichier WAV). Vous pouvez aussi l'écouter "
            "dans le gestionnaire web, rubrique Messagerie.\n\n"
            f"-- \nLe standard de {notice.tenant_name}\n"
        )
    return (
        f"Hello {who},\n\n"
        f"{_caller(notice)} left you a message of {length} {_when(moment, False)}, on "
        f"extension {notice.extension_number} ({notice.tenant_name}).\n\n"
        "The message is attached to this email (a WAV file). You can also listen to it in "
        "the web manager, under Voicemail.\n\n"
        f"-- \nThe receptionist of {notice.tenant_name}\n"
    )


def attachment_name(notice: VoicemailNotice) -> str:
    """The attached file's name: message-101-20261204-1635.wav."""
    return f"message-{notice.extension_number}-{notice.local_time():%Y%m%d-%H%M}.wav"


def voicemail_email(notice: VoicemailNotice, audio: bytes, sender: str) -> EmailMessage:
    """The email of one voicemail message, from `sender`'s address in the tenant's name."""
    address = address_of(sender)
    message = EmailMessage()
    message["From"] = formataddr((notice.tenant_name, address))
    message["To"] = notice.to
    message["Subject"] = subject(notice)
    message["Date"] = format_datetime(notice.left_at)
    message["Message-ID"] = f"<voicemail.{notice.message_id}@{address.rpartition('@')[2]}>"
    # RFC 3834: an automatic message, which out-of-office replies leave alone.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body(notice))
    message.add_attachment(audio, maintype="audio", subtype="wav", filename=attachment_name(notice))
    # After the attachment: making the message multipart moves Content-* headers inward.
    message["Content-Language"] = "fr" if notice.french else "en"
    return message
