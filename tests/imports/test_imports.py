"""Importing candidates from another ATS: every bad input gets a clear report and nothing half-imported."""

import csv
import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from consent.models import ConsentRecord
from crm.models import Activity, Application, Candidate, Suppression
from imports import parsing, services
from imports.models import CandidateImport, ImportProblem
from outreach.models import Message
from talentpools.models import CandidateTag, Tag

from ..factories import CandidateFactory


def upload(tenant, content, name="export.csv"):
    data = content if isinstance(content, bytes) else content.encode()
    return tenant.recruiter_client.post(f"/o/{tenant.slug}/imports/", {"file": SimpleUploadedFile(name, data)})


def import_file(tenant, content, *, mapping=None, evidence="", write=True):
    data = content if isinstance(content, bytes) else content.encode()
    with tenant.scope():
        candidate_import = services.import_upload(data=data, filename="export.csv", actor=tenant.recruiter)
        services.import_set_mapping(candidate_import=candidate_import,
                                    mapping={**candidate_import.mapping, **(mapping or {})}, evidence_note=evidence,
                                    actor=tenant.recruiter)
        services.start(candidate_import=candidate_import, write=False, actor=tenant.recruiter)
        if write:
            services.start(candidate_import=candidate_import, write=True, actor=tenant.recruiter)
        candidate_import.refresh_from_db()
        problems = [(p.line, p.column, p.reason) for p in ImportProblem.objects.filter(
            candidate_import=candidate_import)]
    return candidate_import, problems


GOOD = ("First name,Last name,Email,Title,Tags,Job,Stage,Rejection reason\n"
        "Ada,Lovelace,ada@example.org,Analyst,\"Math, Pioneers\",Analyst,Interview,\n"
        "Grace,Hopper,grace@example.org,Admiral,Navy,Admiral,rejected,Too senior\n")


def test_dry_run_then_import_then_rerun_changes_nothing(tenant_a):
    candidate_import, problems = import_file(tenant_a, GOOD, write=False)
    assert problems == [] and candidate_import.preview["created"] == 2 and candidate_import.status == "checked"
    with tenant_a.scope():
        assert not Candidate.objects.exists()  # a dry run writes nothing
    candidate_import, _ = import_file(tenant_a, GOOD)
    assert candidate_import.result["created"] == 2 and candidate_import.result["applications"] == 2
    with tenant_a.scope():
        ada = Candidate.objects.get(email="ada@example.org")
        assert ada.source == "imported" and ada.headline == "Analyst"
        assert set(Tag.objects.filter(pk__in=ada.tag_ids).values_list("name", flat=True)) == {"Math", "Pioneers"}
        assert CandidateTag.objects.filter(candidate=ada).count() == 2
        assert Activity.objects.filter(candidate=ada, summary__startswith="Imported from export.csv").exists()
        grace = Candidate.objects.get(email="grace@example.org")
        application = Application.objects.get(candidate=grace)
        assert application.stage == "rejected" and application.rejection_reason.label == "Too senior"
        assert not Message.objects.exists()  # no email, ever, from an import
        counts = (Candidate.objects.count(), Application.objects.count(), Activity.objects.count(),
                  CandidateTag.objects.count())
    again, _ = import_file(tenant_a, GOOD)
    assert again.result["created"] == 0 and again.result["unchanged"] == 2 and again.result["applications"] == 0
    with tenant_a.scope():
        assert (Candidate.objects.count(), Application.objects.count(), Activity.objects.count(),
                CandidateTag.objects.count()) == counts


def test_existing_candidates_are_updated_by_email_or_ats_id_never_duplicated(tenant_a):
    with tenant_a.scope():
        CandidateFactory(organization=tenant_a.organization, first_name="Ada", email="Ada@Example.org",
                         headline="", skills=["python"])
        CandidateFactory(organization=tenant_a.organization, first_name="Old", email="old@example.org",
                         external_id="ats-9", headline="")
    content = ("Name,E-mail,Candidate ID,Current title,Skills\n"
               "Ada Lovelace,ADA@EXAMPLE.ORG,,Analyst,rust\n"
               "New Name,new-address@example.org,ats-9,Engineer,\n")
    candidate_import, problems = import_file(tenant_a, content)
    assert problems == [] and candidate_import.result["updated"] == 2 and candidate_import.result["created"] == 0
    with tenant_a.scope():
        ada = Candidate.objects.get(email__iexact="ada@example.org")
        assert ada.headline == "Analyst" and ada.skills == ["python", "rust"] and ada.last_name == "Lovelace"
        assert Candidate.objects.get(external_id="ats-9").headline == "Engineer"
        assert Candidate.objects.count() == 2


def test_bom_semicolons_quoted_newlines_and_windows_1252(tenant_a):
    content = ("\ufeffPrénom;Nom;Courriel;Notes\n"
               "Zoë;Müller;zoe@example.org;\"Line one\nline two; with a semicolon, and a comma\"\n")
    candidate_import, problems = import_file(tenant_a, content.encode("utf-8"))
    assert candidate_import.encoding == "utf-8-sig" and candidate_import.delimiter == ";" and problems == []
    latin = "First name\tLast name\tEmail\nJosé\tGarçon\tjose@example.org\n".encode("cp1252")
    candidate_import, problems = import_file(tenant_a, latin)
    assert candidate_import.encoding == "cp1252" and candidate_import.delimiter == "\t" and problems == []
    with tenant_a.scope():
        assert Candidate.objects.get(email="zoe@example.org").notes == (
            "Line one\nline two; with a semicolon, and a comma")
        assert Candidate.objects.get(email="jose@example.org").last_name == "Garçon"


def test_every_bad_row_is_reported_with_line_column_and_reason_and_good_rows_go_in(tenant_a):
    content = ("First name,Last name,Email,Title,Job,Stage\n"
               "Good,One,good@example.org,Engineer,,\n"
               "Bad,Email,not-an-email,,,\n"
               ",Nofirst,nofirst@example.org,,,\n"
               "Case,Dup,GOOD@example.org,,,\n"
               "Unk,Stage,unknown@example.org,,Analyst,Limbo\n"
               f"Long,Title,long@example.org,{'x' * 10_000},,\n"
               "=HYPERLINK(\"x\"),+Plus,formula@example.org,-minus,,\n"
               "Ok,Two,ok2@example.org,@at,,\n")
    candidate_import, problems = import_file(tenant_a, content)
    assert problems == [
        (3, "Email", "Not a valid email address."),
        (4, "First name", "A first name is required."),
        (5, "Email", "Same person as line 2 (emails are compared without case): imported once."),
        (6, "Stage", "Unknown stage; use applied, screening, interview, final, offer, hired, rejected, withdrawn or "
                     "offer declined."),
        (7, "Title", "Too long: 10,000 characters, at most 200."),
    ]
    assert candidate_import.result["created"] == 3 and candidate_import.result["rejected"] == 5
    with tenant_a.scope():
        formula = Candidate.objects.get(email="formula@example.org")
        assert formula.first_name == '=HYPERLINK("x")' and formula.headline == "-minus"  # stored as text
    # The row errors download as a CSV that no spreadsheet executes.
    response = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/imports/{candidate_import.pk}/row-errors.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["line", "column", "value", "reason"] and len(rows) == 6
    assert rows[1][:2] == ["3", "Email"] and rows[1][2] == "not-an-email"
    # Exports of what was imported stay safe too.
    export = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/candidates/export.csv?q=formula")
    assert "'=HYPERLINK" in b"".join(export.streaming_content).decode()


def test_duplicate_emails_with_another_application_become_one_candidate_with_two(tenant_a):
    content = ("Name,Email,Job,Stage\n"
               "Ada Lovelace,ada@example.org,Analyst,screening\n"
               "Ada Lovelace,ADA@example.org,Engineer,final\n")
    candidate_import, problems = import_file(tenant_a, content)
    assert problems == [] and candidate_import.result["created"] == 1
    with tenant_a.scope():
        assert sorted(Application.objects.values_list("job__title", "stage")) == [
            ("Analyst", "screening"), ("Engineer", "final")]


def test_suppressed_emails_are_refused_and_counted(tenant_a):
    with tenant_a.scope():
        Suppression.objects.create(email_hash=Suppression.hash_email("gone@example.org"), reason="erased")
    candidate_import, problems = import_file(tenant_a, "Name,Email\nGone Person,Gone@Example.org\nKept One,k@x.org\n")
    assert candidate_import.result["suppressed"] == 1 and candidate_import.result["created"] == 1
    assert problems[0][0] == 2 and "asked to be erased" in problems[0][2]
    with tenant_a.scope():
        assert not Candidate.objects.filter(email__iexact="gone@example.org").exists()


def test_consent_needs_evidence_and_is_recorded_as_an_import_with_evidence(tenant_a):
    content = "Name,Email,GDPR consent\nAda Lovelace,ada@example.org,yes\nBo Li,bo@example.org,no\n"
    with tenant_a.scope():
        candidate_import = services.import_upload(data=content.encode(), filename="c.csv", actor=tenant_a.recruiter)
        assert candidate_import.mapping["GDPR consent"] == "consent"
        with pytest.raises(services.ServiceError) as refused:
            services.import_set_mapping(candidate_import=candidate_import, mapping=candidate_import.mapping,
                                        evidence_note="", actor=tenant_a.recruiter)
        assert refused.value.field == "evidence_note"
    candidate_import, problems = import_file(tenant_a, content, evidence="Career fair sign-up sheets, March 2026")
    assert problems == [] and candidate_import.result["consents"] == 1
    with tenant_a.scope():
        record = ConsentRecord.objects.get()
        assert record.candidate.email == "ada@example.org" and record.source == "import"
        assert "Career fair sign-up sheets" in record.evidence.note
    # Without a consent column nothing about consent is ever inferred.
    import_file(tenant_a, "Name,Email\nCy Young,cy@example.org\n")
    with tenant_a.scope():
        assert ConsentRecord.objects.count() == 1


@pytest.mark.parametrize("content, message", [
    (b"", "The file is empty."),
    (b"First name,Last name,Email\n", "only its header line"),
    (os.urandom(10 * 2**20), "not a text file"),
    (b"\n\n\n", "The file is empty."),
    (b"Name,Name,Email\nA,B,c@d.org\n", "Two columns have the same name"),
])
def test_unusable_files_get_a_clear_message_on_the_page(tenant_a, content, message):
    response = upload(tenant_a, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    with tenant_a.scope():
        assert not CandidateImport.objects.exists()


def test_a_mapping_that_cannot_work_is_refused_on_the_page(tenant_a):
    response = upload(tenant_a, "Col A,Col B\nx,y\n")
    assert response.status_code == 302
    mapping_url = response["Location"]
    page = tenant_a.recruiter_client.get(mapping_url).content.decode()
    assert "Col A" in page and "— leave out —" in page
    response = tenant_a.recruiter_client.post(mapping_url, {"col_0": "first_name", "col_1": ""})
    assert response.status_code == 400 and "Map a column to Email" in response.content.decode()
    response = tenant_a.recruiter_client.post(mapping_url, {"col_0": "first_name", "col_1": "email"})
    assert response.status_code == 302  # checked: the dry run's page
    detail = tenant_a.recruiter_client.get(response["Location"]).content.decode()
    assert "Not a valid email address." in detail and "Download the row errors" in detail


def test_the_mapping_is_remembered_for_the_next_file(tenant_a):
    import_file(tenant_a, "Col A,Col B\nAda,ada@example.org\n", mapping={"Col A": "first_name", "Col B": "email"})
    with tenant_a.scope():
        second = services.import_upload(data=b"Col A,Col B\nBo,bo@example.org\n", filename="2.csv",
                                        actor=tenant_a.recruiter)
    assert second.mapping == {"Col A": "first_name", "Col B": "email"}


def test_large_files_run_in_the_background_with_progress(tenant_a, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(services, "INLINE_ROWS", 10)
    monkeypatch.setattr(services, "BATCH", 7)
    content = "Name,Email\n" + "".join(f"Person {i},p{i}@example.org\n" for i in range(40))
    response = upload(tenant_a, content)
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant_a.recruiter_client.post(response["Location"], {"col_0": "full_name", "col_1": "email"})
    assert "/operations/" in response["Location"]
    operation_page = tenant_a.recruiter_client.get(response["Location"]).content.decode()
    assert "40 to create" in operation_page
    with tenant_a.scope():
        candidate_import = CandidateImport.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/imports/{candidate_import.pk}/run/",
                                                  {"action": "import"})
    page = tenant_a.recruiter_client.get(response["Location"]).content.decode()
    assert "40 created" in page and 'value="100"' in page
    with tenant_a.scope():
        assert Candidate.objects.count() == 40


def test_importing_before_the_dry_run_is_refused(tenant_a):
    with tenant_a.scope():
        candidate_import = services.import_upload(data=GOOD.encode(), filename="g.csv", actor=tenant_a.recruiter)
        with pytest.raises(services.ServiceError) as refused:
            services.start(candidate_import=candidate_import, write=True, actor=tenant_a.recruiter)
    assert "dry run" in refused.value.message


def test_the_command_line_import(tenant_a, tmp_path, capsys):
    path = tmp_path / "ats.csv"
    path.write_text(GOOD)
    call_command("import_candidates", str(path), "--org", tenant_a.slug, "--dry-run")
    assert "2 to create" in capsys.readouterr().out
    call_command("import_candidates", str(path), "--org", tenant_a.slug)
    assert "2 created" in capsys.readouterr().out
    with tenant_a.scope():
        assert Candidate.objects.count() == 2


def test_parsing_detects_the_shape():
    shape = parsing.inspect(b"a;b;c\n1;2;3\n")
    assert shape.delimiter == ";" and shape.headers == ["a", "b", "c"]
    assert parsing.suggest_mapping(["E-mail Address", "First Name", "Surname", "Current Stage"]) == {
        "E-mail Address": "email", "First Name": "first_name", "Surname": "last_name", "Current Stage": "stage"}
