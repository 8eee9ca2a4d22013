"""Default templates for every kind, in English and French, created with each organization.

Written as good recruiters write: thank the candidate, say why, give constructive feedback
where there is some, and leave the door open.
"""

from .models import TemplateKind

FOOTER_EN = ('<p style="color:#6b7280;font-size:12px">{% if links.preferences %}<a href="{{ links.preferences }}">'
             'Your email preferences</a>{% endif %}</p>')
FOOTER_FR = ('<p style="color:#6b7280;font-size:12px">{% if links.preferences %}<a href="{{ links.preferences }}">'
             'Vos préférences</a>{% endif %}</p>')
STAY_EN = ('{% if links.stay_in_touch %}<p>We would love to keep in touch for future roles. If you agree, '
           '<a href="{{ links.stay_in_touch }}">join our talent community</a>: you choose what you hear about and '
           'how often, and you can leave at any time.</p>{% endif %}')
STAY_FR = ('{% if links.stay_in_touch %}<p>Nous aimerions garder le contact pour de futurs postes. Si vous le '
           'souhaitez, <a href="{{ links.stay_in_touch }}">rejoignez notre vivier de talents</a> : vous choisissez '
           'les sujets et la fréquence, et vous pouvez partir à tout moment.</p>{% endif %}')

DEFAULTS = {
    (TemplateKind.REJECTION_EARLY, "en"): (
        "Your application for {{ job.title }} at {{ company.name }}",
        "<p>Dear {{ candidate.first_name }},</p>"
        "<p>Thank you for applying for the {{ job.title }} role and for the time you gave us. We have read your "
        "application carefully and decided not to move forward with it{% if rejection_reason %}: "
        "{{ rejection_reason }}{% endif %}.</p>"
        "<p>This is not a judgement of your worth, only of the fit with this role at this moment.</p>"
        + STAY_EN +
        "<p>With our best wishes,<br>{{ recruiter.name|default:company.name }}</p>" + FOOTER_EN,
    ),
    (TemplateKind.REJECTION_EARLY, "fr"): (
        "Votre candidature au poste de {{ job.title }} chez {{ company.name }}",
        "<p>Bonjour {{ candidate.first_name }},</p>"
        "<p>Merci pour votre candidature au poste de {{ job.title }} et pour le temps que vous nous avez "
        "consacré. Nous l'avons lue avec attention et avons décidé de ne pas la retenir{% if rejection_reason %} : "
        "{{ rejection_reason }}{% endif %}.</p>"
        "<p>Ce choix ne porte pas sur votre valeur, seulement sur l'adéquation avec ce poste aujourd'hui.</p>"
        + STAY_FR +
        "<p>Bien cordialement,<br>{{ recruiter.name|default:company.name }}</p>" + FOOTER_FR,
    ),
    (TemplateKind.REJECTION_AFTER_INTERVIEW, "en"): (
        "Following your interviews for {{ job.title }}",
        "<p>Dear {{ candidate.first_name }},</p>"
        "<p>Thank you for everything you put into the process for the {{ job.title }} role, up to "
        "{{ stage_reached }}. It was a pleasure to meet you. After much thought we decided not to make you an offer"
        "{% if rejection_reason %}: {{ rejection_reason }}{% endif %}.</p>"
        "{% if feedback.strengths %}<p><strong>What impressed the team:</strong><br>{{ feedback.strengths|linebreaksbr }}"
        "</p>{% endif %}"
        "{% if feedback.improvements %}<p><strong>Where you could grow:</strong><br>"
        "{{ feedback.improvements|linebreaksbr }}</p>{% endif %}"
        "<p>We hope this feedback helps; we would be glad to hear from you again.</p>"
        + STAY_EN +
        "<p>Warm regards,<br>{{ recruiter.name|default:company.name }}</p>" + FOOTER_EN,
    ),
    (TemplateKind.REJECTION_AFTER_INTERVIEW, "fr"): (
        "Suite à vos entretiens pour le poste de {{ job.title }}",
        "<p>Bonjour {{ candidate.first_name }},</p>"
        "<p>Merci pour votre investissement dans notre processus pour le poste de {{ job.title }}, jusqu'à "
        "{{ stage_reached }}. Ce fut un plaisir de vous rencontrer. Après réflexion, nous avons décidé de ne pas "
        "vous faire d'offre{% if rejection_reason %} : {{ rejection_reason }}{% endif %}.</p>"
        "{% if feedback.strengths %}<p><strong>Ce qui a convaincu l'équipe :</strong><br>"
        "{{ feedback.strengths|linebreaksbr }}</p>{% endif %}"
        "{% if feedback.improvements %}<p><strong>Vos axes de progression :</strong><br>"
        "{{ feedback.improvements|linebreaksbr }}</p>{% endif %}"
        "<p>Nous espérons que ce retour vous sera utile et serions heureux d'avoir de vos nouvelles.</p>"
        + STAY_FR +
        "<p>Bien cordialement,<br>{{ recruiter.name|default:company.name }}</p>" + FOOTER_FR,
    ),
    (TemplateKind.OFFER_DECLINED, "en"): (
        "Thank you, {{ candidate.first_name }}",
        "<p>Dear {{ candidate.first_name }},</p><p>Thank you for letting us know your decision about the "
        "{{ job.title }} offer. We respect it, and we enjoyed getting to know you.</p>"
        "<p>Our door stays open: if your plans change, or when another role fits you, we would love to talk "
        "again.</p>" + STAY_EN + "<p>All the best,<br>{{ recruiter.name|default:company.name }}</p>" + FOOTER_EN,
    ),
    (TemplateKind.OFFER_DECLINED, "fr"): (
        "Merci, {{ candidate.first_name }}",
        "<p>Bonjour {{ candidate.first_name }},</p><p>Merci de nous avoir fait part de votre décision concernant "
        "l'offre pour le poste de {{ job.title }}. Nous la respectons, et avons apprécié de vous connaître.</p>"
        "<p>Notre porte reste ouverte : si vos projets évoluent, ou lorsqu'un autre poste vous correspondra, nous "
        "serons ravis d'en parler.</p>" + STAY_FR + "<p>Très cordialement,<br>{{ recruiter.name|default:company.name }}"
        "</p>" + FOOTER_FR,
    ),
    (TemplateKind.CONSENT_CONFIRMATION, "en"): (
        "Please confirm: stay in touch with {{ company.name }}",
        "<p>Hello {{ candidate.first_name }},</p><p>Please confirm that you want to hear from {{ company.name }} "
        "about the topics you chose.</p>{% if links.confirm %}<p><a href=\"{{ links.confirm }}\">Confirm"
        "</a></p>{% endif %}<p>If you did not ask for this, ignore this email: nothing will happen.</p>",
    ),
    (TemplateKind.CONSENT_CONFIRMATION, "fr"): (
        "Merci de confirmer : restez en contact avec {{ company.name }}",
        "<p>Bonjour {{ candidate.first_name }},</p><p>Merci de confirmer que vous souhaitez recevoir des nouvelles "
        "de {{ company.name }} sur les sujets choisis.</p>{% if links.confirm %}<p><a href=\"{{ "
        "links.confirm }}\">Confirmer</a></p>{% endif %}<p>Si vous n'êtes pas à l'origine de cette demande, "
        "ignorez ce message : rien ne se passera.</p>",
    ),
    (TemplateKind.CONSENT_RENEWAL, "en"): (
        "Shall we stay in touch, {{ candidate.first_name }}?",
        "<p>Hello {{ candidate.first_name }},</p><p>You asked {{ company.name }} to keep you posted about new "
        "opportunities. That agreement ends soon. If you want to stay in touch, renew it in one click; otherwise we "
        "will delete your data.</p>{% if links.preferences %}<p><a href=\"{{ links.preferences }}\">Stay in touch"
        "</a></p>{% endif %}",
    ),
    (TemplateKind.CONSENT_RENEWAL, "fr"): (
        "On reste en contact, {{ candidate.first_name }} ?",
        "<p>Bonjour {{ candidate.first_name }},</p><p>Vous avez accepté que {{ company.name }} vous informe de "
        "nouvelles opportunités. Cet accord arrive à échéance. Pour rester en contact, renouvelez-le en un clic ; "
        "sinon nous supprimerons vos données.</p>{% if links.preferences %}<p><a href=\"{{ links.preferences }}\">"
        "Rester en contact</a></p>{% endif %}",
    ),
    (TemplateKind.DATA_EXPORT_READY, "en"): (
        "Your data from {{ company.name }}",
        "<p>Hello {{ candidate.first_name }},</p><p>As you asked, here is everything {{ company.name }} holds about "
        "you.</p>{% if links.preferences %}<p><a href=\"{{ links.preferences }}\">Download your data</a></p>"
        "{% endif %}",
    ),
    (TemplateKind.DATA_EXPORT_READY, "fr"): (
        "Vos données chez {{ company.name }}",
        "<p>Bonjour {{ candidate.first_name }},</p><p>Comme vous l'avez demandé, voici toutes les données que "
        "{{ company.name }} détient sur vous.</p>{% if links.preferences %}<p><a href=\"{{ links.preferences }}\">"
        "Télécharger vos données</a></p>{% endif %}",
    ),
    (TemplateKind.RE_ENGAGEMENT, "en"): (
        "{{ candidate.first_name }}, it has been a while",
        "<p>Hello {{ candidate.first_name }},</p><p>We remembered you{% if remembered.job_title %} from "
        "{{ remembered.stage_reached }} for {{ remembered.job_title }}{% else %} from your time with us{% endif %} "
        "and wanted to say hello. A lot has changed at {{ company.name }}; maybe things have changed for you "
        "too.</p>"
        "<p>If you are open to a conversation, just reply to this email.</p>"
        "<p>{{ recruiter.name|default:company.name }}</p>" + FOOTER_EN,
    ),
    (TemplateKind.RE_ENGAGEMENT, "fr"): (
        "{{ candidate.first_name }}, cela fait un moment",
        "<p>Bonjour {{ candidate.first_name }},</p><p>Nous nous souvenons de vous{% if remembered.job_title %} "
        "({{ remembered.stage_reached }}, {{ remembered.job_title }}){% endif %} et voulions "
        "prendre de vos nouvelles. Beaucoup de choses ont changé chez {{ company.name }} ; peut-être pour vous "
        "aussi.</p><p>Si vous êtes ouvert à un échange, répondez simplement à ce message.</p>"
        "<p>{{ recruiter.name|default:company.name }}</p>" + FOOTER_FR,
    ),
    (TemplateKind.JOB_OFFERS_DIGEST, "en"): (
        "Jobs at {{ company.name }} that match your profile",
        "<p>Hello {{ candidate.first_name }},</p><p>These open roles match what you told us:</p><ul>"
        "{% for job in matching_jobs %}<li><a href=\"{{ job.url }}\">{{ job.title }}</a> {{ job.location }}</li>"
        "{% endfor %}</ul>" + FOOTER_EN,
    ),
    (TemplateKind.JOB_OFFERS_DIGEST, "fr"): (
        "Des postes chez {{ company.name }} qui correspondent à votre profil",
        "<p>Bonjour {{ candidate.first_name }},</p><p>Ces postes ouverts correspondent à votre profil :</p><ul>"
        "{% for job in matching_jobs %}<li><a href=\"{{ job.url }}\">{{ job.title }}</a> {{ job.location }}</li>"
        "{% endfor %}</ul>" + FOOTER_FR,
    ),
    (TemplateKind.EVENT_INVITATION, "en"): (
        "You are invited: {{ event.name }}",
        "<p>Hello {{ candidate.first_name }},</p><p>{{ company.name }} invites you to <strong>{{ event.name }}"
        "</strong> on {{ event.date }}, {{ event.place }}.</p>{% if event.rsvp_link %}<p><a href=\"{{ "
        "event.rsvp_link }}\">Let us know if you can come</a></p>{% endif %}" + FOOTER_EN,
    ),
    (TemplateKind.EVENT_INVITATION, "fr"): (
        "Vous êtes invité : {{ event.name }}",
        "<p>Bonjour {{ candidate.first_name }},</p><p>{{ company.name }} vous invite à <strong>{{ event.name }}"
        "</strong> le {{ event.date }}, {{ event.place }}.</p>{% if event.rsvp_link %}<p><a href=\"{{ "
        "event.rsvp_link }}\">Dites-nous si vous venez</a></p>{% endif %}" + FOOTER_FR,
    ),
    (TemplateKind.COMPANY_NEWS, "en"): (
        "News from {{ company.name }}",
        "<p>Hello {{ candidate.first_name }},</p><p>Here is what is new at {{ company.name }}.</p>" + FOOTER_EN,
    ),
    (TemplateKind.COMPANY_NEWS, "fr"): (
        "Les nouvelles de {{ company.name }}",
        "<p>Bonjour {{ candidate.first_name }},</p><p>Voici les nouvelles de {{ company.name }}.</p>" + FOOTER_FR,
    ),
    (TemplateKind.GENERIC, "en"): (
        "A message from {{ company.name }}",
        "<p>Hello {{ candidate.first_name }},</p><p></p><p>{{ recruiter.name|default:company.name }}</p>",
    ),
    (TemplateKind.GENERIC, "fr"): (
        "Un message de {{ company.name }}",
        "<p>Bonjour {{ candidate.first_name }},</p><p></p><p>{{ recruiter.name|default:company.name }}</p>",
    ),
}


def create_default_templates(organization):
    from .models import EmailTemplate

    for (kind, language), (subject, html) in DEFAULTS.items():
        EmailTemplate.all_tenants.get_or_create(
            organization=organization, kind=kind, language=language, name=f"Default ({language})",
            defaults={"subject": subject, "html_body": html},
        )
