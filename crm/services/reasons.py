"""Rejection reasons in each language: the default reasons' wording, and an admin's changes to it."""

from django.conf import settings
from django.db import transaction

from ..audit import audit
from ..models import RejectionReason
from .errors import ServiceError

__all__ = ["DEFAULT_REJECTION_REASON_TEXTS", "rejection_reason_set_texts"]

# How a rejection email words each default reason, per language; each completes “we decided not to go
# further with your application: …”.
DEFAULT_REJECTION_REASON_TEXTS = {
    "Skills gap": {
        "en": "we were looking for a closer match with some of the skills the role needs",
        "fr": "nous recherchions un profil plus proche de certaines des compétences que le poste exige",
        "de": "wir haben ein Profil gesucht, das einigen der für die Stelle nötigen Kompetenzen näherkommt",
        "es": "buscábamos un perfil más cercano a algunas de las competencias que requiere el puesto",
        "nl": "we zochten iemand die beter aansluit bij een aantal vaardigheden die de functie vraagt",
    },
    "Experience level": {
        "en": "we needed a different level of experience for this role",
        "fr": "nous avions besoin d'un autre niveau d'expérience pour ce poste",
        "de": "wir brauchten für diese Stelle ein anderes Erfahrungsniveau",
        "es": "necesitábamos otro nivel de experiencia para este puesto",
        "nl": "we hadden voor deze functie een ander ervaringsniveau nodig",
    },
    "Another candidate chosen": {
        "en": "we chose another candidate whose profile was a closer fit",
        "fr": "nous avons retenu une autre candidature, plus proche du profil recherché",
        "de": "wir haben uns für eine andere Person entschieden, deren Profil noch besser passte",
        "es": "hemos elegido a otra persona cuyo perfil se ajustaba más al puesto",
        "nl": "we hebben gekozen voor een andere kandidaat van wie het profiel beter aansloot",
    },
    "Position closed": {
        "en": "the position has been closed",
        "fr": "le poste n'est plus ouvert",
        "de": "die Stelle wird nicht mehr besetzt",
        "es": "el puesto se ha cerrado",
        "nl": "de vacature is gesloten",
    },
    "Filled internally": {
        "en": "the position was filled internally",
        "fr": "le poste a été pourvu en interne",
        "de": "die Stelle wurde intern besetzt",
        "es": "el puesto se ha cubierto internamente",
        "nl": "de functie is intern ingevuld",
    },
    "Salary expectations": {
        "en": "we could not meet your salary expectations for this role",
        "fr": "nous ne pouvions pas répondre à vos attentes salariales pour ce poste",
        "de": "wir konnten Ihre Gehaltsvorstellungen für diese Stelle nicht erfüllen",
        "es": "no podíamos satisfacer sus expectativas salariales para este puesto",
        "nl": "we konden niet voldoen aan uw salarisverwachtingen voor deze functie",
    },
    "No response": {
        "en": "we did not hear back from you",
        "fr": "nous n'avons pas eu de réponse de votre part",
        "de": "wir haben keine Rückmeldung von Ihnen erhalten",
        "es": "no hemos recibido respuesta de su parte",
        "nl": "we hebben geen reactie van u ontvangen",
    },
    "Location or remote": {
        "en": "the location or remote arrangement did not match",
        "fr": "le lieu de travail ou les modalités de télétravail ne correspondaient pas",
        "de": "der Arbeitsort oder die Regelung zum Homeoffice passte nicht",
        "es": "la ubicación o las condiciones de teletrabajo no encajaban",
        "nl": "de locatie of de thuiswerkregeling paste niet",
    },
}

TEXT_MAX_LENGTH = 300


def _clean_text(value, field):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ServiceError("Write the reason as text.", field=field)
    text = " ".join(value.split())
    if len(text) > TEXT_MAX_LENGTH:
        raise ServiceError(f"Keep it to {TEXT_MAX_LENGTH} characters.", field=field)
    return text


@transaction.atomic
def rejection_reason_set_texts(*, reason, candidate_text, candidate_texts, actor):
    """Change how emails word `reason`: its main wording (the organization's language) and one per language
    ({language: text}; an empty text removes that language, whose emails then leave the reason out)."""
    known = {code for code, _ in settings.LANGUAGES}
    if not isinstance(candidate_texts, dict):
        raise ServiceError("Give one wording per language.", field="candidate_texts")
    unknown = sorted(str(code) for code in candidate_texts if code not in known)
    if unknown:
        raise ServiceError(f"Unknown language: {', '.join(unknown)[:100]}.", field="candidate_texts")
    main = _clean_text(candidate_text, "candidate_text")
    texts = {}
    for code, value in candidate_texts.items():
        text = _clean_text(value, f"text_{code}")
        if text:
            texts[code] = text
    reason = RejectionReason.objects.select_for_update().get(pk=reason.pk)
    reason.candidate_text = main
    reason.candidate_texts = texts
    reason.save(update_fields=["candidate_text", "candidate_texts"])
    audit("rejection_reason.worded", actor=actor, obj=reason, details={"languages": sorted(texts)})
    return reason
