"""Large and hostile uploads: read in bounded time, kept and read back in chunks, refused past the limit."""

import csv
import time

from django.core.files.uploadedfile import SimpleUploadedFile

from imports import parsing, services
from imports.models import CandidateImport, ImportFileChunk

from .test_imports import import_file, upload


def test_a_file_crafted_against_csv_sniffer_is_read_in_bounded_time():
    # Quotes after delimiters that never close: csv.Sniffer's quote guess is quadratic on this (15 s for 64 KB).
    crafted = ("Name,Email,Notes\nAda,ada@example.org,\"" + ",'a" * 21_000 + "\"\n").encode()
    started = time.perf_counter()
    shape = parsing.inspect(crafted)
    assert time.perf_counter() - started < 2
    assert shape.delimiter == "," and shape.headers == ["Name", "Email", "Notes"]


def test_the_delimiter_is_the_one_header_and_lines_agree_on():
    assert parsing.inspect(b"Name;Email;Notes, misc\nAda;ada@example.org;x\nBo;bo@example.org;y\n").delimiter == ";"
    assert parsing.inspect(b"Name|Email\n\"A|da\"|ada@example.org\n").delimiter == "|"
    assert parsing.inspect(b"Name\tEmail\r\n\"Line\r\none, two\"\tada@example.org\r\n").delimiter == "\t"
    assert parsing.inspect(b"Email\nada@example.org\n").delimiter == ","


def test_a_large_upload_is_kept_in_chunks_and_read_back_the_same(tenant_a):
    # Over a MiB, with a two-byte character across the first chunk's end.
    header = "First name,Last name,Email,Notes\n"
    rows = [f"Zoë{i},Müller,p{i}@example.org,\"a note, with a comma\"\n" for i in range(40_000)]
    content = (header + "".join(rows)).encode()
    assert len(content) > 2 * parsing.CHUNK
    response = upload(tenant_a, content, name="big.csv")
    assert response.status_code == 302 and "/mapping/" in response["Location"]
    with tenant_a.scope():
        candidate_import = CandidateImport.objects.get()
        assert candidate_import.size == len(content) and candidate_import.encoding == "utf-8"
        chunks = list(ImportFileChunk.objects.filter(candidate_import=candidate_import).order_by("position")
                      .values_list("data", flat=True))
        assert len(chunks) == 3 and b"".join(bytes(c) for c in chunks) == content
        read_back = list(parsing.rows(services.stored_file(candidate_import), services._shape(candidate_import)))
    assert read_back == list(parsing.rows(content, parsing.inspect(content)))
    assert len(read_back) == 40_000 and read_back[-1][1]["First name"] == "Zoë39999"
    page = tenant_a.recruiter_client.get(response["Location"]).content.decode()
    assert "Zoë0" in page and "p0@example.org" in page


def test_windows_1252_found_past_the_first_64_kb_decodes_the_whole_file_as_windows_1252(tenant_a):
    content = ("Name,Email\n" + "".join(f"Person {i},p{i}@example.org\n" for i in range(4_000))).encode()
    content += "José Garçon,jose@example.org\n".encode("cp1252")
    assert len(content) > parsing.PREFIX
    candidate_import, problems = import_file(tenant_a, content, write=False)
    assert candidate_import.encoding == "cp1252" and problems == []
    with tenant_a.scope():
        names = [values["Name"] for _, values in parsing.rows(services.stored_file(candidate_import),
                                                               services._shape(candidate_import))]
    assert names[-1] == "José Garçon"


def test_a_file_over_the_limit_is_refused_with_its_reason_and_nothing_kept(tenant_a, monkeypatch):
    monkeypatch.setattr(parsing, "MAX_FILE_BYTES", 2**20)
    content = b"Name,Email\n" + b"Person,p@example.org\n" * 60_000
    response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/imports/",
                                              {"file": SimpleUploadedFile("big.csv", content)})
    assert response.status_code == 400 and "larger than 1 MB" in response.content.decode()
    with tenant_a.scope():
        assert not CandidateImport.objects.exists() and not ImportFileChunk.objects.exists()


def test_the_command_line_reads_the_file_from_disk(tenant_a, tmp_path):
    path = tmp_path / "ats.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Name", "Email"])
        writer.writerows([f"Person {i}", f"p{i}@example.org"] for i in range(30))
    with path.open("rb") as file, tenant_a.scope():
        candidate_import = services.import_upload(data=file, filename=path.name, actor=None)
        assert candidate_import.size == path.stat().st_size
        assert services.sample_rows(candidate_import, count=1) == [{"Name": "Person 0", "Email": "p0@example.org"}]
