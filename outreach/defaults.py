"""Default templates for every kind, in English and French, created with each organization.

Written as good recruiters write: thank the candidate, say why, give constructive feedback
where there is some, and leave the door open. French is written with "vous" throughout and a
plain space before ":", ";", "?" and "!".

Campaign templates carry what the campaign's options add: "we remembered you" (the job the
person got furthest in) and, when the campaign has referrals on, the referral link. Their
footer (preferences and unsubscribe) comes from the layout of every campaign email
(outreach.rendering.marketing_footer), not from the template.
"""

import hashlib

from .models import TemplateKind

FOOTER_EN = ('<p style="color:#6b7280;font-size:12px">{% if links.preferences %}<a href="{{ links.preferences }}">'
             'Your email preferences</a>{% endif %}</p>')
FOOTER_FR = ('<p style="color:#6b7280;font-size:12px">{% if links.preferences %}<a href="{{ links.preferences }}">'
             "Vos préférences d'e-mail</a>{% endif %}</p>")
STAY_EN = ('{% if links.stay_in_touch %}<p>We would love to keep in touch for future roles. If you agree, '
           '<a href="{{ links.stay_in_touch }}">join our talent community</a>: you choose what you hear about and '
           'how often, and you can leave at any time.</p>{% endif %}')
STAY_FR = ('{% if links.stay_in_touch %}<p>Nous aimerions rester en contact avec vous pour de futurs postes. Si vous '
           'le souhaitez, <a href="{{ links.stay_in_touch }}">rejoignez notre vivier de talents</a> : vous choisissez '
           'les sujets et la fréquence de nos messages, et vous pouvez vous désinscrire à tout moment.</p>{% endif %}')
# "We remembered you": the job the person got furthest in with the organization (every campaign email has it).
REMEMBERED_EN = ('{% if remembered.job_title %}<p>We remembered you from {{ remembered.stage_reached }} for the '
                 '{{ remembered.job_title }} role.</p>{% endif %}')
REMEMBERED_FR = ('{% if remembered.job_title %}<p>Nous nous souvenons de votre candidature au poste de '
                 '{{ remembered.job_title }}.</p>{% endif %}')
# The referral link, present when the campaign has referrals on.
REFERRAL_EN = ('{% if links.referral %}<p>Know someone who would enjoy working with us? '
               '<a href="{{ links.referral }}">Pass this link on to them</a>: they decide for themselves whether to '
               'hear from us.</p>{% endif %}')
REFERRAL_FR = ("{% if links.referral %}<p>Vous connaissez quelqu'un que nos postes pourraient intéresser ? "
               '<a href="{{ links.referral }}">Transmettez-lui ce lien</a> : cette personne choisira elle-même '
               "de recevoir nos nouvelles ou non.</p>{% endif %}")
HAS_FEEDBACK = "{% if feedback.strengths or feedback.improvements %}"
SIGNATURE = "{{ recruiter.name|default:company.name }}"

DEFAULTS = {
    (TemplateKind.REJECTION_EARLY, "en"): (
        "Your application for {{ job.title }} at {{ company.name }}",
        "<p>Dear {{ candidate.first_name }},</p>"
        "<p>Thank you for applying for the {{ job.title }} role and for the time you gave us. We have read your "
        "application carefully and decided not to move forward with it{% if rejection_reason %}: "
        "{{ rejection_reason }}{% endif %}.</p>"
        "<p>This is not a judgement of your worth, only of the fit with this role at this moment.</p>"
        + STAY_EN +
        "<p>With our best wishes,<br>" + SIGNATURE + "</p>" + FOOTER_EN,
    ),
    (TemplateKind.REJECTION_EARLY, "fr"): (
        "Votre candidature au poste de {{ job.title }} chez {{ company.name }}",
        "<p>Bonjour {{ candidate.first_name }},</p>"
        "<p>Merci pour votre candidature au poste de {{ job.title }} et pour le temps que vous nous avez "
        "consacré. Nous l'avons étudiée avec attention et avons décidé de ne pas y donner suite"
        "{% if rejection_reason %} : {{ rejection_reason }}{% endif %}.</p>"
        "<p>Cette décision ne remet pas en cause vos qualités : elle tient seulement à l'adéquation avec ce poste, "
        "à ce moment.</p>"
        + STAY_FR +
        "<p>Bien cordialement,<br>" + SIGNATURE + "</p>" + FOOTER_FR,
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
        + HAS_FEEDBACK + "<p>We hope this feedback helps; we would be glad to hear from you again.</p>"
        "{% else %}<p>We would be glad to hear from you again.</p>{% endif %}"
        + STAY_EN +
        "<p>Warm regards,<br>" + SIGNATURE + "</p>" + FOOTER_EN,
    ),
    (TemplateKind.REJECTION_AFTER_INTERVIEW, "fr"): (
        "À la suite de vos entretiens pour le poste de {{ job.title }}",
        "<p>Bonjour {{ candidate.first_name }},</p>"
        "<p>Merci pour votre investissement tout au long de notre processus de recrutement pour le poste de "
        "{{ job.title }}, jusqu'à {{ stage_reached }}. Nous avons eu plaisir à vous rencontrer. Après mûre "
        "réflexion, nous avons décidé de ne pas vous faire d'offre{% if rejection_reason %} : {{ rejection_reason }}"
        "{% endif %}.</p>"
        "{% if feedback.strengths %}<p><strong>Ce qui a convaincu l'équipe :</strong><br>"
        "{{ feedback.strengths|linebreaksbr }}</p>{% endif %}"
        "{% if feedback.improvements %}<p><strong>Vos axes de progression :</strong><br>"
        "{{ feedback.improvements|linebreaksbr }}</p>{% endif %}"
        + HAS_FEEDBACK + "<p>Nous espérons que ces retours vous seront utiles, et serions heureux d'avoir de nouveau "
        "de vos nouvelles.</p>{% else %}<p>Nous serions heureux d'avoir de nouveau de vos nouvelles.</p>{% endif %}"
        + STAY_FR +
        "<p>Bien cordialement,<br>" + SIGNATURE + "</p>" + FOOTER_FR,
    ),
    (TemplateKind.OFFER_DECLINED, "en"): (
        "Thank you, {{ candidate.first_name }}",
        "<p>Dear {{ candidate.first_name }},</p><p>Thank you for letting us know your decision about the "
        "{{ job.title }} offer. We respect it, and we enjoyed getting to know you.</p>"
        "<p>Our door stays open: if your plans change, or when another role fits you, we would love to talk "
        "again.</p>" + STAY_EN + "<p>All the best,<br>" + SIGNATURE + "</p>" + FOOTER_EN,
    ),
    (TemplateKind.OFFER_DECLINED, "fr"): (
        "Merci, {{ candidate.first_name }}",
        "<p>Bonjour {{ candidate.first_name }},</p><p>Merci de nous avoir fait part de votre décision concernant "
        "notre offre pour le poste de {{ job.title }}. Nous la respectons et avons beaucoup apprécié de faire votre "
        "connaissance.</p>"
        "<p>Notre porte reste ouverte : si vos projets évoluent, ou lorsqu'un autre poste vous correspondra, nous "
        "serons ravis d'en reparler avec vous.</p>" + STAY_FR + "<p>Bien cordialement,<br>" + SIGNATURE + "</p>"
        + FOOTER_FR,
    ),
    (TemplateKind.CONSENT_CONFIRMATION, "en"): (
        "Please confirm: stay in touch with {{ company.name }}",
        "<p>Hello {{ candidate.first_name }},</p><p>Please confirm that you want to hear from {{ company.name }} "
        "about the topics you chose.</p>{% if links.confirm %}<p><a href=\"{{ links.confirm }}\">Confirm"
        "</a></p>{% endif %}<p>If you did not ask for this, ignore this email: nothing will happen.</p>",
    ),
    (TemplateKind.CONSENT_CONFIRMATION, "fr"): (
        "Confirmez votre inscription : restez en contact avec {{ company.name }}",
        "<p>Bonjour {{ candidate.first_name }},</p><p>Merci de confirmer que vous souhaitez recevoir des nouvelles "
        "de {{ company.name }} sur les sujets que vous avez choisis.</p>{% if links.confirm %}<p><a href=\"{{ "
        "links.confirm }}\">Confirmer</a></p>{% endif %}<p>Si vous n'êtes pas à l'origine de cette demande, "
        "ignorez simplement ce message : il n'y sera donné aucune suite.</p>",
    ),
    (TemplateKind.CONSENT_RENEWAL, "en"): (
        "Shall we stay in touch, {{ candidate.first_name }}?",
        "<p>Hello {{ candidate.first_name }},</p><p>You asked {{ company.name }} to keep you posted about new "
        "opportunities. That agreement ends soon. If you want to stay in touch, renew it in one click; otherwise we "
        "will delete your data.</p>{% if links.preferences %}<p><a href=\"{{ links.preferences }}\">Stay in touch"
        "</a></p>{% endif %}",
    ),
    (TemplateKind.CONSENT_RENEWAL, "fr"): (
        "Souhaitez-vous rester en contact, {{ candidate.first_name }} ?",
        "<p>Bonjour {{ candidate.first_name }},</p><p>Vous avez accepté que {{ company.name }} vous informe de "
        "nouvelles opportunités. Votre accord arrive bientôt à échéance. Pour rester en contact, renouvelez-le en un "
        "clic ; sinon, nous supprimerons vos données.</p>{% if links.preferences %}<p><a href=\"{{ links.preferences "
        "}}\">Rester en contact</a></p>{% endif %}",
    ),
    (TemplateKind.DATA_EXPORT_READY, "en"): (
        "Your data from {{ company.name }}",
        "<p>Hello {{ candidate.first_name }},</p><p>As you asked, here is everything {{ company.name }} holds about "
        "you.</p>{% if links.preferences %}<p><a href=\"{{ links.preferences }}\">Download your data</a></p>"
        "{% endif %}",
    ),
    (TemplateKind.DATA_EXPORT_READY, "fr"): (
        "Vos données chez {{ company.name }}",
        "<p>Bonjour {{ candidate.first_name }},</p><p>Comme vous nous l'avez demandé, voici l'ensemble des données "
        "que {{ company.name }} détient à votre sujet.</p>{% if links.preferences %}<p><a href=\"{{ "
        "links.preferences }}\">Télécharger vos données</a></p>{% endif %}",
    ),
    (TemplateKind.RE_ENGAGEMENT, "en"): (
        "{{ candidate.first_name }}, it has been a while",
        "<p>Hello {{ candidate.first_name }},</p><p>We remembered you{% if remembered.job_title %} from "
        "{{ remembered.stage_reached }} for {{ remembered.job_title }}{% else %} from your time with us{% endif %} "
        "and wanted to say hello. A lot has changed at {{ company.name }}; maybe things have changed for you "
        "too.</p>"
        "<p>If you are open to a conversation, just reply to this email.</p>" + REFERRAL_EN +
        "<p>" + SIGNATURE + "</p>",
    ),
    (TemplateKind.RE_ENGAGEMENT, "fr"): (
        "{{ candidate.first_name }}, cela fait un moment",
        "<p>Bonjour {{ candidate.first_name }},</p><p>Nous nous souvenons de vous{% if remembered.job_title %} et "
        "de votre candidature au poste de {{ remembered.job_title }}{% endif %}, et souhaitions prendre de vos "
        "nouvelles. Beaucoup de choses ont changé chez {{ company.name }} ; peut-être pour vous aussi.</p>"
        "<p>Si vous souhaitez en discuter, répondez simplement à ce message.</p>" + REFERRAL_FR +
        "<p>" + SIGNATURE + "</p>",
    ),
    (TemplateKind.JOB_OFFERS_DIGEST, "en"): (
        "Jobs at {{ company.name }} that match your profile",
        "<p>Hello {{ candidate.first_name }},</p>" + REMEMBERED_EN + "<p>These open roles match what you told us:</p>"
        "<ul>{% for job in matching_jobs %}<li><a href=\"{{ job.url }}\">{{ job.title }}</a>{% if job.location %} · "
        "{{ job.location }}{% endif %}</li>{% endfor %}</ul>" + REFERRAL_EN,
    ),
    (TemplateKind.JOB_OFFERS_DIGEST, "fr"): (
        "Des postes chez {{ company.name }} qui correspondent à votre profil",
        "<p>Bonjour {{ candidate.first_name }},</p>" + REMEMBERED_FR +
        "<p>Ces postes ouverts correspondent à votre profil :</p>"
        "<ul>{% for job in matching_jobs %}<li><a href=\"{{ job.url }}\">{{ job.title }}</a>{% if job.location %} · "
        "{{ job.location }}{% endif %}</li>{% endfor %}</ul>" + REFERRAL_FR,
    ),
    (TemplateKind.EVENT_INVITATION, "en"): (
        "You are invited: {{ event.name }}",
        "<p>Hello {{ candidate.first_name }},</p>" + REMEMBERED_EN + "<p>{{ company.name }} invites you to "
        "<strong>{{ event.name }}</strong> on {{ event.date }}, {{ event.place }}.</p>{% if event.rsvp_link %}<p>"
        "<a href=\"{{ event.rsvp_link }}\">Let us know if you can come</a></p>{% endif %}" + REFERRAL_EN,
    ),
    (TemplateKind.EVENT_INVITATION, "fr"): (
        "Invitation : {{ event.name }}",
        "<p>Bonjour {{ candidate.first_name }},</p>" + REMEMBERED_FR + "<p>{{ company.name }} vous invite à "
        "<strong>{{ event.name }}</strong> le {{ event.date }}, {{ event.place }}.</p>{% if event.rsvp_link %}<p>"
        "<a href=\"{{ event.rsvp_link }}\">Répondre à l'invitation</a></p>{% endif %}" + REFERRAL_FR,
    ),
    (TemplateKind.COMPANY_NEWS, "en"): (
        "News from {{ company.name }}",
        "<p>Hello {{ candidate.first_name }},</p>" + REMEMBERED_EN + "<p>Here is what is new at {{ company.name }}."
        "</p>" + REFERRAL_EN,
    ),
    (TemplateKind.COMPANY_NEWS, "fr"): (
        "Des nouvelles de {{ company.name }}",
        "<p>Bonjour {{ candidate.first_name }},</p>" + REMEMBERED_FR + "<p>Voici les dernières nouvelles de "
        "{{ company.name }}.</p>" + REFERRAL_FR,
    ),
    (TemplateKind.GENERIC, "en"): (
        "A message from {{ company.name }}",
        "<p>Hello {{ candidate.first_name }},</p><p></p><p>" + SIGNATURE + "</p>",
    ),
    (TemplateKind.GENERIC, "fr"): (
        "Un message de {{ company.name }}",
        "<p>Bonjour {{ candidate.first_name }},</p><p></p><p>" + SIGNATURE + "</p>",
    ),
}


def default_name(language):
    return f"Default ({language})"


def create_default_templates(organization):
    from .models import EmailTemplate

    for (kind, language), (subject, html) in DEFAULTS.items():
        EmailTemplate.all_tenants.get_or_create(
            organization=organization, kind=kind, language=language, name=default_name(language),
            defaults={"subject": subject, "html_body": html},
        )


def fingerprint(subject, html_body):
    return hashlib.sha256(f"{subject}\x00{html_body}".encode()).hexdigest()


def update_untouched_defaults(organization, *, dry_run=False):
    """Bring the organization's default templates that nobody edited (still word for word an earlier default,
    with no text part of their own) up to the current defaults; edited ones are left alone. Returns the
    (kind, language) pairs updated, or that would be with `dry_run`. Needs the organization in scope."""
    from .models import EmailTemplate
    from .services import template_save

    updated = []
    for (kind, language), (subject, html) in DEFAULTS.items():
        template = EmailTemplate.objects.filter(kind=kind, language=language, name=default_name(language)).first()
        if template is None or template.text_body.strip() or (template.subject, template.html_body) == (subject, html):
            continue
        if fingerprint(template.subject, template.html_body) not in PREVIOUS_DEFAULTS.get((kind, language), ()):
            continue
        if not dry_run:
            template_save(actor=None, template=template, subject=subject, html_body=html)
        updated.append((kind, language))
    return updated


# Fingerprints of earlier versions of the defaults: a stored template that still matches one was never
# edited, so `manage.py update_default_templates` may bring it up to date.
PREVIOUS_DEFAULTS = {
    ("rejection_early", "en"): {"eefdee3d7ccc52e415156514fb6495f666da9f620362190af4b382acb36888a7"},
    ("rejection_early", "fr"): {"f6614e0465bc61ae608208968c7406cafea2ac60ecf5f29b5b502d509d5a6c0a"},
    ("rejection_after_interview", "en"): {"22981b6bd01a842511d070dab22f0ac70f9c2a3d4e46a7dbe63ba109f59c1fbb"},
    ("rejection_after_interview", "fr"): {"5d4794258e97fab0cd8370e64e860e75554915758eac49ba740915687ede7508"},
    ("offer_declined", "en"): {"2785b0d75e422ef764cf0cbe68b193e3922db2872b9088891a40e32ef4b0d2a2"},
    ("offer_declined", "fr"): {"e4283d683d1ddc551e8417042797fb0c1dd32ada5946e88a9359105bed8ea2d5"},
    ("consent_confirmation", "en"): {"daee23e6fd0e45ee9fb5471a536df771b7b724fc8eb594741ccdb5ca6b7da114"},
    ("consent_confirmation", "fr"): {"fa53ade7024ab05abc5e84e5d7e43730e7afbcecea3b8806b95a9dd737870c03"},
    ("consent_renewal", "en"): {"c1823a285cdf36380e2b0066737fe79fe414301c70ac5c38afedcda2f2b5e691"},
    ("consent_renewal", "fr"): {"17ea1919e05f0c8688b9a816d0d5313970318e0b389929df4f0550fb346560ac"},
    ("data_export_ready", "en"): {"a22a7b23daf88fc582ed424cb69c2ff382208b8e12c740b5ca4896d03d846178"},
    ("data_export_ready", "fr"): {"91e9fb7dffc92340c0ef74670dfee305396c20f3f24d9753755a8932b3a4351d"},
    ("re_engagement", "en"): {"7abf536987ce56734b0ebcbe2b3b9de136213f6d49b679f7f1b50bcf3c25e99f"},
    ("re_engagement", "fr"): {"099a1a576a19934cf3cd945ca78a374c7b7c54151b793d2325df31ea59187fb7"},
    ("job_offers_digest", "en"): {"18bb75b89a7501c350a1b8b5316b66a3c6ffbad168163c73347cf0a086cfd572"},
    ("job_offers_digest", "fr"): {"e541c09db9b9b635c0eb1a6ac115728a464c3a79a1d6a91a3d54e6fa9fb32017"},
    ("event_invitation", "en"): {"3c40534149abc03c448daf1a64a15f87d3ba7152afda80bae0c2b3f108764933"},
    ("event_invitation", "fr"): {"31b49d01fbf28df821ccf783fc7dc9867d01a9941e51bda928f9820adb80599a"},
    ("company_news", "en"): {"55c26b88e79cdde250dd23daba01fa23bf48341e6261a5bb0c29f9e5d46156a0"},
    ("company_news", "fr"): {"65eef409ecfaf0d42d31077a246b931342ed0ba2493a5a8f72a8aa341da9c643"},
    ("generic", "en"): {"710049843bfd5343b9f4ee462674a723517385fb6d099a83f17ede24849d2f5d"},
    ("generic", "fr"): {"6204e29e5b46a87de75d15bc1173e34ba1635aa911862e5f08fbde9ce0e180c9"},
}
