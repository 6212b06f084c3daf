"""The emails the admin service sends people, in their language: an invitation, a password
reset. Plain text, and the same as HTML; the link is the only thing to click."""

from __future__ import annotations

import html
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from rcp.vocabulary import UserLanguage

from rcp_admin import schemas as s

__all__ = ["EmailMessage", "invitation", "password_reset"]

TEXTS = {
    UserLanguage.FR: {
        "invitation_subject": "Invitation à gérer le standard de {tenant}",
        "staff_subject": "Invitation à la console opérateur",
        "invitation_by": "{actor} vous invite à gérer le standard téléphonique de {tenant}.",
        "invitation_carrier": "Vous êtes invité·e à gérer le standard téléphonique de {tenant}.",
        "staff": "Vous êtes invité·e à la console de l’opérateur ({role}).",
        "choose": "Pour choisir votre mot de passe, ouvrez ce lien (valable jusqu’au {until}) :",
        "reset_subject": "Réinitialisation de votre mot de passe",
        "reset": "Quelqu’un (vous, sans doute) a demandé à réinitialiser le mot de passe de "
        "{email}. Pour en choisir un nouveau, ouvrez ce lien (valable jusqu’au {until}) :",
        "ignore": "Si vous n’êtes pas à l’origine de cette demande, ignorez ce message : votre "
        "mot de passe reste le même.",
        "unexpected": "Si vous ne vous attendiez pas à cette invitation, ignorez ce message.",
        "date": "%d/%m/%Y à %H:%M UTC",
    },
    UserLanguage.EN: {
        "invitation_subject": "Invitation to manage {tenant}'s receptionist",
        "staff_subject": "Invitation to the carrier console",
        "invitation_by": "{actor} invites you to manage {tenant}'s telephone receptionist.",
        "invitation_carrier": "You are invited to manage {tenant}'s telephone receptionist.",
        "staff": "You are invited to the carrier's console ({role}).",
        "choose": "To choose your password, open this link (it works until {until}):",
        "reset_subject": "Resetting your password",
        "reset": "Someone (you, probably) asked to reset the password of {email}. To choose a "
        "new one, open this link (it works until {until}):",
        "ignore": "If you did not ask for this, ignore this message: your password stays as it is.",
        "unexpected": "If you did not expect this invitation, ignore this message.",
        "date": "%d %B %Y at %H:%M UTC",
    },
}


def _message(user: s.User, subject: str, paragraphs: list[str], url: str) -> EmailMessage:
    message = EmailMessage()
    message["To"] = user.email
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="receptionist")
    message["Content-Language"] = user.language.value
    before, after = paragraphs[:-1], paragraphs[-1:]
    message.set_content("\n\n".join([*before, url, *after]) + "\n")
    body = "".join(f"<p>{html.escape(p)}</p>" for p in before)
    body += f'<p><a href="{html.escape(url)}">{html.escape(url)}</a></p>'
    body += "".join(f"<p>{html.escape(p)}</p>" for p in after)
    message.add_alternative(
        f'<!doctype html><html lang="{user.language.value}"><body>{body}</body></html>\n',
        subtype="html",
    )
    return message


def invitation(
    user: s.User, url: str, until: datetime, actor: str, tenant: str | None
) -> EmailMessage:
    """An invitation to choose a password, from `actor` (empty: the carrier)."""
    t = TEXTS[user.language]
    when = until.strftime(t["date"])
    if tenant is None:
        subject = t["staff_subject"]
        opening = t["staff"].format(role=user.role.value)
    else:
        subject = t["invitation_subject"].format(tenant=tenant)
        opening = (t["invitation_by"] if actor else t["invitation_carrier"]).format(
            actor=actor, tenant=tenant
        )
    return _message(user, subject, [opening, t["choose"].format(until=when), t["unexpected"]], url)


def password_reset(user: s.User, url: str, until: datetime) -> EmailMessage:
    """A link to choose a new password."""
    t = TEXTS[user.language]
    text = t["reset"].format(email=user.email, until=until.strftime(t["date"]))
    return _message(user, t["reset_subject"], [text, t["ignore"]], url)
