"""Rejection reasons get a wording per language (`candidate_texts`), so an email names its reason in the
language it is written in.

The default reasons an organization has not reworded (their English wording unchanged) get their wording
in every language the product speaks; other reasons keep their one wording for the organization's language.
"""

from django.db import migrations, models

# The default reasons' wording as of this migration (frozen: later changes to the defaults do not apply here).
DEFAULT_TEXTS = {
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


def add_default_texts(apps, schema_editor):
    RejectionReason = apps.get_model("crm", "RejectionReason")
    for label, texts in DEFAULT_TEXTS.items():
        RejectionReason._base_manager.filter(label=label, candidate_text=texts["en"], candidate_texts={}).update(
            candidate_texts=texts)


class Migration(migrations.Migration):

    dependencies = [
        ("crm", "0017_hired_decided_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="rejectionreason",
            name="candidate_texts",
            field=models.JSONField(blank=True, default=dict, verbose_name="in the candidate's words, per language"),
        ),
        migrations.RunPython(add_default_texts, migrations.RunPython.noop),
    ]
