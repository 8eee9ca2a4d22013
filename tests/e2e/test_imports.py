import csv
import io

from playwright.sync_api import expect

from ..factories import PASSWORD
from .conftest import login

EXPORT = (
    "Candidate ID;Prénom;Nom;Courriel;Poste actuel;Labels;Job;Stage\n"
    "gh-1;Ada;Lovelace;ada@example.org;Analyst;Math|Pioneers;Analyst;Onsite\n"
    "gh-2;Grace;Hopper;not-an-email;Admiral;Navy;Admiral;hired\n"
    "gh-3;Katherine;Johnson;katherine@example.org;\"Mathematician; NASA\";Math;Orbits;Limbo\n"
    "gh-4;Dorothy;Vaughan;dorothy@example.org;=SUM(A1);Fortran;Computing;Phone Screen\n"
)


def test_upload_map_by_hand_dry_run_import_download_errors_and_find_the_tags(new_page, tenant_a, tmp_path):
    path = tmp_path / "greenhouse.csv"
    path.write_bytes(("\ufeff" + EXPORT).encode("utf-8"))
    page = new_page()
    login(page, tenant_a.recruiter.email, PASSWORD)
    page.click("nav.mainnav >> text=Candidates")
    page.click("text=Import CSV")
    page.set_input_files("#import-file", str(path))
    page.click("text=Upload and map the columns")

    # The presets found most columns; "Labels" and "Poste actuel" are mapped by hand.
    expect(page.locator("h1")).to_contain_text("Map the columns of greenhouse.csv")
    expect(page.locator("select[data-header='Courriel']")).to_have_value("email")
    page.select_option("select[data-header='Labels']", "tags")
    page.select_option("select[data-header='Poste actuel']", "headline")
    page.click("text=Check the file (dry run)")

    # The dry run: what would happen, and each refused row with its line, column and reason.
    expect(page.get_by_test_id("import-status")).to_have_text("Ready to import")
    expect(page.get_by_test_id("count-created")).to_have_text("2")
    expect(page.get_by_test_id("count-rejected")).to_have_text("2")
    problems = page.locator("#problems")
    expect(problems).to_contain_text("Not a valid email address.")
    expect(problems).to_contain_text("Unknown stage")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Import 2 candidates")
    expect(page.get_by_test_id("import-status")).to_have_text("Imported")
    expect(page.get_by_test_id("import-summary")).to_contain_text("2 created")

    with page.expect_download() as download:
        page.get_by_test_id("download-errors").click()
    rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert rows[0] == ["line", "column", "value", "reason"]
    assert [(row[0], row[1]) for row in rows[1:]] == [("3", "Courriel"), ("4", "Stage")]

    # The imported candidates are in the base with their tags, and the formula stayed text.
    page.goto(f"/o/{tenant_a.slug}/candidates/?q=lovelace")
    page.click("text=Ada Lovelace")
    expect(page.locator("#tags-panel")).to_contain_text("Math")
    expect(page.locator("#tags-panel")).to_contain_text("Pioneers")
    expect(page.locator("main")).to_contain_text("Imported from greenhouse.csv")
    page.goto(f"/o/{tenant_a.slug}/candidates/?q=vaughan")
    expect(page.locator("#results")).to_contain_text("=SUM(A1)")
