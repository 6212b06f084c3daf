"""What a caller hears, as values: tenant prompts, spoken text, system prompts and tones.

The call flow plays abstract prompts. A system prompt is a key of the catalogue below, in the
tenant's language, with an optional name (spoken text, or an extension's recorded name) and
digit; `render` turns any prompt into the pieces a media service can make playable: tenant
prompt ids, text to speak in a language, and tones Asterisk generates itself.
"""

from __future__ import annotations

import string
from enum import StrEnum
from uuid import UUID

from rcp.values import Value


class SystemPromptKey(StrEnum):
    """The sentences Receptionist itself says, whatever the tenant configured."""

    WELCOME = "welcome"
    MENU_DIAL_BY_NAME = "menu_dial_by_name"
    MENU_ANNOUNCEMENT = "menu_announcement"
    MENU_DIAL_EXTENSION = "menu_dial_extension"
    MENU_BACK = "menu_back"
    INVALID = "invalid"
    GOODBYE = "goodbye"
    ENTER_NAME = "enter_name"
    NO_MATCH = "no_match"
    FOR_NAME_PRESS = "for_name_press"
    MORE_MATCHES = "more_matches"
    BACK_TO_MENU = "back_to_menu"
    CONNECTING = "connecting"
    UNAVAILABLE = "unavailable"
    NOT_REACHABLE = "not_reachable"
    SERVICE_UNAVAILABLE = "service_unavailable"
    ENTER_PIN = "enter_pin"
    WRONG_PIN = "wrong_pin"
    ROOM_LOCKED = "room_locked"
    LEAVE_MESSAGE_FOR = "leave_message_for"
    MESSAGE_SAVED = "message_saved"
    NO_MESSAGE = "no_message"


class TenantPrompt(Value):
    """A prompt of the tenant's (greeting, announcement, recorded name), by id."""

    prompt_id: UUID


class SpokenText(Value):
    """Text to speak with text-to-speech, in a language (a locale such as fr-FR)."""

    text: str
    language: str


class SystemPrompt(Value):
    """A sentence of the catalogue; `name` is spoken text or a recorded name."""

    key: SystemPromptKey
    language: str
    name: str | TenantPrompt | None = None
    digit: str | None = None


class Tone(StrEnum):
    """Tones Asterisk plays itself (indications), until stopped."""

    RINGBACK = "ring"


Prompt = TenantPrompt | SpokenText | SystemPrompt | Tone
"""Anything the call flow may ask to play."""

Playable = TenantPrompt | SpokenText | Tone
"""What a prompt is made of once rendered."""

# The placeholders each key's sentence has, in every language.
PLACEHOLDERS: dict[SystemPromptKey, frozenset[str]] = {
    key: frozenset() for key in SystemPromptKey
} | {
    SystemPromptKey.WELCOME: frozenset({"name"}),
    SystemPromptKey.MENU_DIAL_BY_NAME: frozenset({"digit"}),
    SystemPromptKey.MENU_ANNOUNCEMENT: frozenset({"digit"}),
    SystemPromptKey.FOR_NAME_PRESS: frozenset({"name", "digit"}),
    SystemPromptKey.CONNECTING: frozenset({"name"}),
    SystemPromptKey.LEAVE_MESSAGE_FOR: frozenset({"name"}),
}

_K = SystemPromptKey

_FRENCH = {
    _K.WELCOME: "Bienvenue chez {name}.",
    _K.MENU_DIAL_BY_NAME: "Pour joindre un correspondant par son nom, tapez {digit}.",
    _K.MENU_ANNOUNCEMENT: "Pour écouter nos informations, tapez {digit}.",
    _K.MENU_DIAL_EXTENSION: "Si vous connaissez le numéro de poste de votre correspondant, "
    "composez-le à tout moment.",
    _K.MENU_BACK: "Pour revenir au menu précédent, tapez étoile.",
    _K.INVALID: "Ce choix n'est pas valide.",
    _K.GOODBYE: "Merci de votre appel. Au revoir.",
    _K.ENTER_NAME: "Composez sur votre clavier les trois premières lettres du nom de votre "
    "correspondant.",
    _K.NO_MATCH: "Aucun nom ne correspond à votre saisie.",
    _K.FOR_NAME_PRESS: "Pour {name}, tapez {digit}.",
    _K.MORE_MATCHES: "Pour entendre d'autres noms, tapez 9.",
    _K.BACK_TO_MENU: "Pour revenir au menu principal, tapez étoile.",
    _K.CONNECTING: "Je vous mets en relation avec {name}.",
    _K.UNAVAILABLE: "Votre correspondant n'est pas disponible pour le moment.",
    _K.NOT_REACHABLE: "Ce numéro ne peut pas être joint.",
    _K.SERVICE_UNAVAILABLE: "Ce service est momentanément indisponible.",
    _K.ENTER_PIN: "Veuillez saisir le code d'accès de la conférence, suivi de la touche dièse.",
    _K.WRONG_PIN: "Ce code n'est pas le bon.",
    _K.ROOM_LOCKED: "Cette salle de conférence est verrouillée pour le moment. Veuillez "
    "réessayer plus tard.",
    _K.LEAVE_MESSAGE_FOR: "Vous êtes bien sur la messagerie de {name}. Laissez votre message "
    "après le bip, puis raccrochez ou tapez dièse.",
    _K.MESSAGE_SAVED: "Votre message a bien été enregistré.",
    _K.NO_MESSAGE: "Aucun message n'a été enregistré.",
}


def _english(pound: str) -> dict[SystemPromptKey, str]:
    # American English calls # "pound", British English "hash".
    return {
        _K.WELCOME: "Welcome to {name}.",
        _K.MENU_DIAL_BY_NAME: "To reach someone by name, press {digit}.",
        _K.MENU_ANNOUNCEMENT: "For information, press {digit}.",
        _K.MENU_DIAL_EXTENSION: "If you know the extension number, you may dial it at any time.",
        _K.MENU_BACK: "To go back to the previous menu, press star.",
        _K.INVALID: "That is not a valid choice.",
        _K.GOODBYE: "Thank you for calling. Goodbye.",
        _K.ENTER_NAME: "Please enter the first three letters of the person's name on your keypad.",
        _K.NO_MATCH: "No name matches your entry.",
        _K.FOR_NAME_PRESS: "For {name}, press {digit}.",
        _K.MORE_MATCHES: "For more names, press 9.",
        _K.BACK_TO_MENU: "To return to the main menu, press star.",
        _K.CONNECTING: "Please hold while I connect you to {name}.",
        _K.UNAVAILABLE: "The person you are calling is not available right now.",
        _K.NOT_REACHABLE: "This number cannot be reached.",
        _K.SERVICE_UNAVAILABLE: "This service is temporarily unavailable.",
        _K.ENTER_PIN: f"Please enter the conference PIN, followed by the {pound} key.",
        _K.WRONG_PIN: "That PIN is not correct.",
        _K.ROOM_LOCKED: "This conference room is locked for now. Please try again later.",
        _K.LEAVE_MESSAGE_FOR: "You have reached the voicemail of {name}. Please leave a message "
        f"after the tone, then hang up or press {pound}.",
        _K.MESSAGE_SAVED: "Your message has been saved.",
        _K.NO_MESSAGE: "No message was recorded.",
    }


_GERMAN = {
    _K.WELCOME: "Willkommen bei {name}.",
    _K.MENU_DIAL_BY_NAME: "Um jemanden über seinen Namen zu erreichen, drücken Sie die {digit}.",
    _K.MENU_ANNOUNCEMENT: "Für unsere Informationen drücken Sie die {digit}.",
    _K.MENU_DIAL_EXTENSION: "Wenn Sie die Durchwahl kennen, können Sie sie jederzeit wählen.",
    _K.MENU_BACK: "Zurück zum vorigen Menü mit der Sterntaste.",
    _K.INVALID: "Diese Auswahl ist ungültig.",
    _K.GOODBYE: "Vielen Dank für Ihren Anruf. Auf Wiederhören.",
    _K.ENTER_NAME: "Bitte geben Sie über die Tastatur die ersten drei Buchstaben des Namens ein.",
    _K.NO_MATCH: "Zu Ihrer Eingabe wurde kein Name gefunden.",
    _K.FOR_NAME_PRESS: "Für {name} drücken Sie die {digit}.",
    _K.MORE_MATCHES: "Für weitere Namen drücken Sie die 9.",
    _K.BACK_TO_MENU: "Zurück zum Hauptmenü mit der Sterntaste.",
    _K.CONNECTING: "Ich verbinde Sie mit {name}.",
    _K.UNAVAILABLE: "Ihr Gesprächspartner ist zurzeit nicht erreichbar.",
    _K.NOT_REACHABLE: "Diese Nummer kann nicht erreicht werden.",
    _K.SERVICE_UNAVAILABLE: "Dieser Dienst ist vorübergehend nicht verfügbar.",
    _K.ENTER_PIN: "Bitte geben Sie die PIN der Konferenz ein, gefolgt von der Rautetaste.",
    _K.WRONG_PIN: "Diese PIN ist nicht korrekt.",
    _K.ROOM_LOCKED: "Dieser Konferenzraum ist vorübergehend gesperrt. Bitte versuchen Sie es "
    "später noch einmal.",
    _K.LEAVE_MESSAGE_FOR: "Sie sind mit der Mailbox von {name} verbunden. Bitte hinterlassen Sie "
    "nach dem Signalton eine Nachricht und legen Sie dann auf oder drücken Sie die Rautetaste.",
    _K.MESSAGE_SAVED: "Ihre Nachricht wurde gespeichert.",
    _K.NO_MESSAGE: "Es wurde keine Nachricht aufgezeichnet.",
}

_SPANISH = {
    _K.WELCOME: "Bienvenido a {name}.",
    _K.MENU_DIAL_BY_NAME: "Para llamar a una persona por su nombre, pulse {digit}.",
    _K.MENU_ANNOUNCEMENT: "Para escuchar nuestra información, pulse {digit}.",
    _K.MENU_DIAL_EXTENSION: "Si conoce el número de extensión, puede marcarlo en cualquier "
    "momento.",
    _K.MENU_BACK: "Para volver al menú anterior, pulse asterisco.",
    _K.INVALID: "Esta opción no es válida.",
    _K.GOODBYE: "Gracias por su llamada. Adiós.",
    _K.ENTER_NAME: "Marque en el teclado las tres primeras letras del nombre de la persona.",
    _K.NO_MATCH: "Ningún nombre coincide con lo que ha marcado.",
    _K.FOR_NAME_PRESS: "Para {name}, pulse {digit}.",
    _K.MORE_MATCHES: "Para escuchar más nombres, pulse 9.",
    _K.BACK_TO_MENU: "Para volver al menú principal, pulse asterisco.",
    _K.CONNECTING: "Le paso con {name}.",
    _K.UNAVAILABLE: "La persona a la que llama no está disponible en este momento.",
    _K.NOT_REACHABLE: "No se puede llamar a este número.",
    _K.SERVICE_UNAVAILABLE: "Este servicio no está disponible en este momento.",
    _K.ENTER_PIN: "Marque el código de la conferencia, seguido de la tecla almohadilla.",
    _K.WRONG_PIN: "El código no es correcto.",
    _K.ROOM_LOCKED: "Esta sala de conferencias está bloqueada por el momento. Inténtelo de "
    "nuevo más tarde.",
    _K.LEAVE_MESSAGE_FOR: "Ha llamado al buzón de voz de {name}. Deje su mensaje después de la "
    "señal y cuelgue o pulse la tecla almohadilla.",
    _K.MESSAGE_SAVED: "Su mensaje se ha guardado.",
    _K.NO_MESSAGE: "No se ha grabado ningún mensaje.",
}

_DUTCH = {
    _K.WELCOME: "Welkom bij {name}.",
    _K.MENU_DIAL_BY_NAME: "Om iemand op naam te bereiken, toets {digit}.",
    _K.MENU_ANNOUNCEMENT: "Voor onze informatie, toets {digit}.",
    _K.MENU_DIAL_EXTENSION: "Als u het toestelnummer kent, kunt u het op elk moment intoetsen.",
    _K.MENU_BACK: "Om terug te gaan naar het vorige menu, toets sterretje.",
    _K.INVALID: "Deze keuze is ongeldig.",
    _K.GOODBYE: "Bedankt voor uw oproep. Tot ziens.",
    _K.ENTER_NAME: "Toets de eerste drie letters van de naam in.",
    _K.NO_MATCH: "Er is geen naam gevonden die hierbij past.",
    _K.FOR_NAME_PRESS: "Voor {name}, toets {digit}.",
    _K.MORE_MATCHES: "Voor meer namen, toets 9.",
    _K.BACK_TO_MENU: "Om terug te gaan naar het hoofdmenu, toets sterretje.",
    _K.CONNECTING: "Ik verbind u door met {name}.",
    _K.UNAVAILABLE: "Uw gesprekspartner is op dit moment niet bereikbaar.",
    _K.NOT_REACHABLE: "Dit nummer is niet bereikbaar.",
    _K.SERVICE_UNAVAILABLE: "Deze dienst is tijdelijk niet beschikbaar.",
    _K.ENTER_PIN: "Toets de pincode van de vergadering in, gevolgd door het hekje.",
    _K.WRONG_PIN: "Deze pincode is niet juist.",
    _K.ROOM_LOCKED: "Deze vergaderruimte is op dit moment vergrendeld. Probeer het later opnieuw.",
    _K.LEAVE_MESSAGE_FOR: "U bent verbonden met de voicemail van {name}. Spreek na de pieptoon "
    "uw bericht in en hang op of toets het hekje.",
    _K.MESSAGE_SAVED: "Uw bericht is opgeslagen.",
    _K.NO_MESSAGE: "Er is geen bericht opgenomen.",
}

CATALOGUE: dict[str, dict[SystemPromptKey, str]] = {
    "fr-FR": _FRENCH,
    "en-US": _english("pound"),
    "en-GB": _english("hash"),
    "de-DE": _GERMAN,
    "es-ES": _SPANISH,
    "nl-NL": _DUTCH,
}

FALLBACK_LANGUAGE = "en-US"


def catalogue_language(language: str) -> tuple[str, str]:
    """(the catalogue to read, the language to speak it in) for a tenant's locale.

    A locale of a language we have (fr-CA, en-AU) reads that language's sentences and keeps its
    own locale for the voice; any other falls back to American English, spoken as such.
    """
    if language in CATALOGUE:
        return language, language
    prefix = language.split("-", maxsplit=1)[0]
    for known in CATALOGUE:
        if known.split("-")[0] == prefix:
            return known, language
    return FALLBACK_LANGUAGE, FALLBACK_LANGUAGE


STAND_IN = "degraded"
"""Said in place of a prompt that cannot be had (media service down, prompt not cached)."""


def local_sound(name: str, language: str) -> str:
    """The `sound:` URI of a prompt Asterisk keeps itself, in the tenant's language.

    These are rendered when Asterisk's image (or the local stack's Asterisk root) is built,
    from deploy/asterisk/sounds/<name>.<language>.txt: they play with the media service down.
    """
    catalogue, _ = catalogue_language(language)
    return f"sound:rcp/{name}-{catalogue.split('-', maxsplit=1)[0]}"


def sentence(key: SystemPromptKey, language: str) -> str:
    """The catalogue's sentence for `key` in (the nearest catalogue to) `language`."""
    catalogue, _ = catalogue_language(language)
    return CATALOGUE[catalogue][key]


def render(prompt: Prompt) -> tuple[Playable, ...]:
    """The playable pieces of a prompt, in order.

    A system prompt whose name is a recorded prompt is cut around it: "Pour", the recording,
    "tapez 2." play one after the other.
    """
    if not isinstance(prompt, SystemPrompt):
        return (prompt,)
    catalogue, voice = catalogue_language(prompt.language)
    template = CATALOGUE[catalogue][prompt.key]
    digit = prompt.digit or ""
    if not isinstance(prompt.name, TenantPrompt):
        return (SpokenText(template.format(name=prompt.name or "", digit=digit), voice),)
    before, _, after = template.partition("{name}")
    pieces: list[Playable] = []
    after_name = after.format(digit=digit).lstrip(" ,.;:")
    for text in (before.format(digit=digit).strip(), None, after_name.strip()):
        if text is None:
            pieces.append(prompt.name)
        elif text.strip(string.punctuation + " "):  # a lone comma is not worth a sentence
            pieces.append(SpokenText(text, voice))
    return tuple(pieces)
