"""The table of every URL pattern and API route, and how to aim each at another tenant's data.

Every route of the project must appear here: `test_every_route_is_in_the_table` fails on a
route it does not know. A tenant route names the ids it takes; the isolation test calls it as
a member of organization A with organization B's ids and expects exactly what a nonexistent id
gets (404).
"""

import itertools
from dataclasses import dataclass, field

from django.conf import settings

MISSING_ID = 2_000_000_000
_counter = itertools.count()


@dataclass(frozen=True)
class Route:
    methods: tuple = ("GET",)
    # path kwargs other than org_slug: name -> key in the other tenant's objects
    ids: dict = field(default_factory=dict)
    # request body for POST/PUT/PATCH, given the other tenant's objects
    body: object = None
    # query string, given the other tenant's objects
    query: object = None
    api: bool = False
    # An upsert: another tenant's key must create a separate row in ours, never touch theirs.
    creates: bool = False
    # path kwargs whose "missing" value must still be well-formed
    missing: dict = field(default_factory=dict)


@dataclass(frozen=True)
class NotTenant:
    """A route outside any organization's data, with the reason it is safe."""

    reason: str


# Third-party route families, by path prefix, and why each is safe (the admin's prefix is ADMIN_URL).
NOT_TENANT_PREFIXES = {
    settings.ADMIN_URL: NotTenant("operators' Django admin: staff signed in through allauth (MFA included), "
                                  "reads every organization on purpose"),
    "accounts/": NotTenant("django-allauth: the signed-in person's own account, no organization data"),
    "api/schema/": NotTenant("the OpenAPI document, the same for everyone"),
    "api/docs/": NotTenant("the API documentation page and its script, the same for everyone"),
    "webhooks/anymail/": NotTenant("provider webhooks: protected by ANYMAIL_WEBHOOK_SECRET and the provider's "
                                   "signature; an event finds its message by the provider's id, never by our ids"),
}

ROUTES = {
    # --- outside any organization ---
    "home": NotTenant("lists only the signed-in user's own memberships"),
    "healthz": NotTenant("liveness probe"),
    "organization_new": NotTenant("creates a new organization for the signed-in user"),
    "invitation_accept": NotTenant("a secret token names the invitation; unknown tokens get 404"),
    "consent:join": NotTenant("the organization's public opt-in form: public by design, answers the same for "
                              "known and unknown addresses"),
    "consent:brand_css": NotTenant("the organization's public colour"),
    "consent:stay_in_touch": NotTenant("a signed token names organization and candidate (tested in tests/consent)"),
    "consent:confirm": NotTenant("a signed token names the organization and the request (tested in tests/consent)"),
    "consent:preferences": NotTenant("a signed token names organization and candidate (tested in tests/consent)"),
    "consent:data_copy": NotTenant("a signed, expiring token names organization and candidate"),
    "consent:unsubscribe": NotTenant("a signed token names organization, candidate and topic "
                                     "(tested in tests/consent)"),
    "outreach_public_rsvp": NotTenant("a signed token names organization, candidate and campaign "
                                      "(tested in tests/outreach)"),
    "outreach_public_job": NotTenant("an organization's open job, public by design; other jobs answer 404 "
                                     "(tested in tests/outreach)"),
    # --- organization pages ---
    "dashboard": Route(),
    "mfa_required": Route(),
    "organization_settings": Route(methods=("GET", "POST"), body=lambda b: {"name": "Hijacked"}),
    "members": Route(methods=("GET", "POST"), body=lambda b: {"email": "x@example.test", "role": "admin"}),
    "member_role": Route(methods=("POST",), ids={"member_id": "membership"}, body=lambda b: {"role": "admin"}),
    "member_remove": Route(methods=("POST",), ids={"member_id": "membership"}),
    "invitation_revoke": Route(methods=("POST",), ids={"invitation_id": "invitation"}),
    "api_keys": Route(methods=("GET", "POST"), body=lambda b: {"name": "k", "scope": "read"}),
    "api_key_revoke": Route(methods=("POST",), ids={"key_id": "api_key"}),
    "organization_delete": Route(methods=("GET", "POST"), body=lambda b: {"confirmation": b["slug"]}),
    "audit_log": Route(),
    "rejection_reasons": Route(methods=("GET", "POST"), body=lambda b: {"label": "x"}),
    "rejection_reason_edit": Route(methods=("GET", "POST"), ids={"reason_id": "rejection_reason"},
                                   body=lambda b: {"candidate_text": "x", "text_fr": "y"}),
    "rejection_reason_toggle": Route(methods=("POST",), ids={"reason_id": "rejection_reason"}),
    "candidate_list": Route(query=lambda b: {"email": b["candidate_email"], "external_id": b["candidate_external_id"],
                                             "tags_any": b["tag"]}),
    "candidate_new": Route(methods=("GET", "POST"),
                           body=lambda b: {"first_name": "Dup", "email": b["candidate_email"], "source": "sourced"}),
    "candidates_export": Route(query=lambda b: {"email": b["candidate_email"]}),
    "candidate_detail": Route(ids={"candidate_id": "candidate"}),
    "candidate_edit": Route(methods=("GET", "POST"), ids={"candidate_id": "candidate"},
                            body=lambda b: {"first_name": "Hijacked", "email": "h@x.test", "source": "sourced"}),
    "candidate_timeline": Route(ids={"candidate_id": "candidate"}),
    "candidate_do_not_contact": Route(methods=("POST",), ids={"candidate_id": "candidate"},
                                      body=lambda b: {"do_not_contact": "on", "reason": "x"}),
    "candidate_note": Route(methods=("POST",), ids={"candidate_id": "candidate"},
                            body=lambda b: {"kind": "note", "text": "x"}),
    "job_list": Route(),
    "job_new": Route(methods=("GET", "POST"), body=lambda b: {"title": "x", "status": "open"}),
    "job_detail": Route(ids={"job_id": "job"}),
    "job_edit": Route(methods=("GET", "POST"), ids={"job_id": "job"}, body=lambda b: {"title": "Hijacked",
                                                                                       "status": "closed"}),
    "job_add_candidate": Route(methods=("POST",), ids={"job_id": "job"}, body=lambda b: {"email": b["candidate_email"]}),
    "my_applications": Route(),
    "waiting": Route(),
    "application_detail": Route(ids={"application_id": "application"}),
    "application_move": Route(methods=("POST",), ids={"application_id": "application"},
                              body=lambda b: {"stage": "offer", "version": 1}),
    "application_reject": Route(methods=("POST",), ids={"application_id": "application"},
                                body=lambda b: {"reason": b["rejection_reason"], "version": 1}),
    "application_decline_offer": Route(methods=("POST",), ids={"application_id": "application"},
                                       body=lambda b: {"reason": "salary", "version": 1}),
    "application_withdraw": Route(methods=("POST",), ids={"application_id": "application"},
                                  body=lambda b: {"version": 1}),
    "application_notice": Route(methods=("POST",), ids={"application_id": "application"},
                                body=lambda b: {"version": 1, "notice_plan": "none", "skip_reason": "told by phone"}),
    "application_undo": Route(methods=("POST",), ids={"application_id": "application"}, body=lambda b: {"version": 1}),
    "application_feedback": Route(methods=("POST",), ids={"application_id": "application"},
                                  body=lambda b: {"strengths": "x", "shareable": "true"}),
    "feedback_edit": Route(methods=("GET", "POST"), ids={"application_id": "application", "feedback_id": "feedback"},
                           body=lambda b: {"strengths": "Hijacked"}),
    "application_call": Route(methods=("POST",), ids={"application_id": "application"},
                              body=lambda b: {"outcome": "x"}),
    "candidate_add_to_job": Route(methods=("POST",), ids={"candidate_id": "candidate"},
                                  body=lambda b: {"job": b["job"]}),
    "candidate_silver_medalist": Route(methods=("POST",), ids={"candidate_id": "candidate"},
                                       body=lambda b: {"silver_medalist": "on"}),
    "consent:record": Route(methods=("POST",), ids={"candidate_id": "candidate"},
                            body=lambda b: {"purposes": ["job_offers"], "frequency": "monthly", "note": "phone"}),
    "consent:export": Route(ids={"candidate_id": "candidate"}),
    "consent:dashboard": Route(),
    "consent:texts": Route(methods=("GET", "POST"), body=lambda b: {"language": "en", "text": "x"}),
    "consent:erase": Route(methods=("GET", "POST"), ids={"candidate_id": "candidate"},
                           body=lambda b: {"reason": "x", "confirmation": b["candidate_email"]}),
    "talentpools:tag_list": Route(methods=("GET", "POST"), body=lambda b: {"name": f"T{next(_counter)}"}),
    "talentpools:tag_edit": Route(methods=("GET", "POST"), ids={"tag_id": "tag"},
                                  body=lambda b: {"action": "delete"}),
    "talentpools:candidate_tag": Route(methods=("POST",), ids={"candidate_id": "candidate"},
                                       body=lambda b: {"tag": b["tag"]}),
    "talentpools:candidate_pool": Route(methods=("POST",), ids={"candidate_id": "candidate"},
                                        body=lambda b: {"pool": b["static_pool"]}),
    "talentpools:bulk_action": Route(methods=("POST",), body=lambda b: {"action": "tag", "tag": b["tag"],
                                                                       "candidate": [b["candidate"]]}),
    "talentpools:rule_list": Route(methods=("GET", "POST"), body=lambda b: {"condition": "keyword",
                                                                           "keyword": "x", "tag": b["tag"]}),
    "talentpools:rule_action": Route(methods=("POST",), ids={"rule_id": "rule"}, body=lambda b: {"action": "delete"}),
    "talentpools:pool_list": Route(),
    "talentpools:pool_new": Route(methods=("GET", "POST"), body=lambda b: {"kind": "smart", "name": "Ours",
                                                                          "tags_any": [b["tag"]]}),
    "talentpools:pool_preview": Route(query=lambda b: {"tags_any": b["tag"]}),
    "talentpools:pool_detail": Route(ids={"pool_id": "pool"}),
    "talentpools:pool_edit": Route(methods=("GET", "POST"), ids={"pool_id": "pool"},
                                   body=lambda b: {"action": "delete"}),
    "talentpools:pool_growth": Route(ids={"pool_id": "pool"}),
    "talentpools:pool_export": Route(ids={"pool_id": "pool"}),
    "talentpools:pool_remove_member": Route(methods=("POST",), ids={"pool_id": "static_pool"},
                                            body=lambda b: {"candidate": b["candidate"]}),
    "talentpools:job_matches": Route(methods=("GET", "POST"), ids={"job_id": "job"}, body=lambda b: {"tags": []}),
    "outreach:campaign_list": Route(),
    "outreach:campaign_new": Route(methods=("GET", "POST"), body=lambda b: {
        "name": "Ours", "topic": "job_offers", "pool_ids": [b["pool"]], "template": b["digest_template"],
        "schedule": "now", "max_jobs": 5}),
    "outreach:campaign_detail": Route(ids={"campaign_id": "campaign"}),
    "outreach:campaign_edit": Route(methods=("GET", "POST"), ids={"campaign_id": "campaign"},
                                    body=lambda b: {"name": "Hijacked"}),
    "outreach:campaign_action": Route(methods=("POST",), ids={"campaign_id": "campaign"},
                                      body=lambda b: {"action": "launch"}),
    "outreach:campaign_progress": Route(ids={"campaign_id": "campaign"}),
    "outreach:campaign_preview": Route(ids={"campaign_id": "campaign", "operation_id": "operation"}),
    "imports:list": Route(),
    "imports:detail": Route(ids={"import_id": "candidate_import"}),
    "imports:mapping": Route(methods=("GET", "POST"), ids={"import_id": "candidate_import"},
                             body=lambda b: {"col_0": "first_name", "col_1": "email"}),
    "imports:run": Route(methods=("POST",), ids={"import_id": "candidate_import"}, body=lambda b: {"action": "check"}),
    "imports:problems": Route(ids={"import_id": "candidate_import"}),
    "operation_list": Route(),
    "operation_detail": Route(ids={"operation_id": "operation"}),
    "outreach:outbox": Route(),
    "outreach:review_queue": Route(),
    "outreach:stop_request_reviewed": Route(methods=("POST",), ids={"reply_id": "reply"}),
    "outreach:message_detail": Route(ids={"message_id": "message"}),
    "outreach:message_resolve": Route(methods=("POST",), ids={"message_id": "message"},
                                      body=lambda b: {"action": "resend"}),
    "outreach:review_approve": Route(methods=("POST",), ids={"message_id": "message"},
                                     body=lambda b: {"strengths": "Hijacked"}),
    "outreach:template_list": Route(),
    "outreach:template_new": Route(methods=("GET", "POST"), body=lambda b: {
        "name": "x", "kind": "generic", "language": "en", "subject": "s", "html_body": "<p>x</p>"}),
    "outreach:template_edit": Route(methods=("GET", "POST"), ids={"template_id": "template"}, body=lambda b: {
        "name": "Hijacked", "kind": "generic", "language": "en", "subject": "s", "html_body": "<p>x</p>"}),
    "outreach:template_send_test": Route(methods=("POST",), ids={"template_id": "template"}),
    "outreach:template_preview": Route(methods=("POST",), body=lambda b: {"subject": "s", "html_body": "x",
                                                                           "preview_candidate": b["candidate"]}),
    "outreach:template_preview_frame": Route(ids={"key": "preview_key"}),
    # --- API ---
    "api:me": Route(api=True),
    "api:message_list": Route(api=True, query=lambda b: {"candidate": b["candidate"]}),
    "api:template_list": Route(api=True),
    "api:tag_list": Route(api=True, methods=("GET", "POST"), body=lambda b: {"name": f"Ours {next(_counter)}"}),
    "api:candidate_tags": Route(api=True, methods=("POST",), ids={"candidate_id": "candidate"},
                                body=lambda b: {"tag": b["tag"]}),
    "api:candidate_erase": Route(api=True, methods=("POST",), ids={"candidate_id": "candidate"},
                                 body=lambda b: {"reason": "x"}),
    "api:candidate_export": Route(api=True, ids={"candidate_id": "candidate"}),
    "api:candidate_consents": Route(api=True, methods=("GET", "POST"), ids={"candidate_id": "candidate"},
                                    body=lambda b: {"purposes": ["job_offers"], "evidence": "phone"}),
    "api:candidate_list": Route(api=True, methods=("GET", "POST"),
                                query=lambda b: {"email": b["candidate_email"], "external_id": b["candidate_external_id"]},
                                body=lambda b: {"first_name": "Dup", "email": b["candidate_email"]}),
    "api:candidate_detail": Route(api=True, methods=("GET", "PATCH", "PUT", "DELETE"), ids={"candidate_id": "candidate"},
                                  body=lambda b: {"first_name": "Hijacked", "email": "h@x.test"}),
    "api:candidate_by_external_id": Route(api=True, methods=("GET", "PUT"), ids={"key": "candidate_external_id"},
                                          body=lambda b: {"first_name": "Hijacked",
                                                          "email": f"hijack-{next(_counter)}@x.test"},
                                          creates=True),
    "api:candidate_by_email": Route(api=True, methods=("GET", "PUT"), ids={"key": "candidate_email"},
                                    body=lambda b: {"first_name": "Hijacked"}, creates=True,
                                    missing={"key": "nobody@missing.test"}),
    "api:job_list": Route(api=True, methods=("GET", "POST"), query=lambda b: {"external_id": b["job_external_id"]},
                          body=lambda b: {"title": "Dup", "hiring_managers": [b["hiring_manager_email"]]}),
    "api:job_detail": Route(api=True, methods=("GET", "PATCH"), ids={"job_id": "job"},
                            body=lambda b: {"title": "Hijacked"}),
    "api:job_by_external_id": Route(api=True, methods=("PUT",), ids={"key": "job_external_id"},
                                    body=lambda b: {"title": f"Ours {next(_counter)}"}, creates=True),
    "api:application_list": Route(api=True, methods=("GET", "POST"),
                                  query=lambda b: {"job": b["job"], "candidate": b["candidate"]},
                                  body=lambda b: {"candidate": b["candidate"], "job": b["job"]}),
    "api:application_detail": Route(api=True, ids={"application_id": "application"}),
    "api:application_by_external_id": Route(api=True, methods=("PUT",), ids={"key": "application_external_id"},
                                            body=lambda b: {"candidate": b["candidate"], "job": b["job"]},
                                            creates=True),
    "api:application_advance": Route(api=True, methods=("POST",), ids={"application_id": "application"},
                                     body=lambda b: {"stage": "interview"}),
    "api:application_reject": Route(api=True, methods=("POST",), ids={"application_id": "application"},
                                    body=lambda b: {"reason": b["rejection_reason"]}),
    "api:application_decline_offer": Route(api=True, methods=("POST",), ids={"application_id": "application"},
                                           body=lambda b: {"reason": "salary"}),
    "api:application_undo_rejection": Route(api=True, methods=("POST",), ids={"application_id": "application"}),
    "api:application_feedback": Route(api=True, methods=("GET", "POST"), ids={"application_id": "application"},
                                      body=lambda b: {"strengths": "x", "shareable": True}),
    "api:rejection_reason_list": Route(api=True),
    "api:tag_candidates_bulk": Route(api=True, methods=("POST", "DELETE"), ids={"tag_id": "tag"},
                                     body=lambda b: {"candidates": [b["candidate"]]}),
    "api:operation_detail": Route(api=True, ids={"operation_id": "operation"}),
    "api:pool_list": Route(api=True, methods=("GET", "POST"), body=lambda b: {
        "name": f"Ours {next(_counter)}", "kind": "smart", "definition": {"tags_any": [b["tag"]]}}),
    "api:pool_detail": Route(api=True, methods=("GET", "PATCH", "DELETE"), ids={"pool_id": "pool"},
                             body=lambda b: {"name": "Hijacked"}),
    "api:pool_candidates": Route(api=True, ids={"pool_id": "pool"}),
    "api:pool_members": Route(api=True, methods=("POST",), ids={"pool_id": "static_pool"},
                              body=lambda b: {"candidates": [b["candidate"]]}),
    "api:pool_member": Route(api=True, methods=("DELETE",), ids={"pool_id": "static_pool", "candidate_id": "candidate"}),
    "api:job_matches": Route(api=True, ids={"job_id": "job"}),
    "api:campaign_list": Route(api=True, methods=("GET", "POST"), body=lambda b: {
        "name": "Ours", "topic": "job_offers", "pool_ids": [b["pool"]], "template": b["digest_template"]}),
    "api:campaign_detail": Route(api=True, methods=("GET", "PATCH"), ids={"campaign_id": "campaign"},
                                 body=lambda b: {"name": "Hijacked"}),
    "api:campaign_launch": Route(api=True, methods=("POST",), ids={"campaign_id": "campaign"}),
    "api:campaign_pause": Route(api=True, methods=("POST",), ids={"campaign_id": "campaign"}),
    "api:campaign_resume": Route(api=True, methods=("POST",), ids={"campaign_id": "campaign"}),
    "api:campaign_cancel": Route(api=True, methods=("POST",), ids={"campaign_id": "campaign"}),
    "api:campaign_stats": Route(api=True, ids={"campaign_id": "campaign"}),
    "api:campaign_audience_preview": Route(api=True, methods=("GET", "POST"), ids={"campaign_id": "campaign"}),
}
