import re

from playwright.sync_api import expect

from ..factories import PASSWORD
from .conftest import login


def test_sign_up_invite_a_recruiter_and_refuse_a_hiring_manager(new_page, mailoutbox, tenant_a):
    # A team lead signs up with a new organization and confirms their email.
    page = new_page()
    page.goto("/accounts/signup/")
    page.fill("#id_first_name", "Nadia")
    page.fill("#id_last_name", "Okafor")
    page.fill("#id_organization_name", "Northwind Talent")
    page.fill("#id_organization_slug", "northwind")
    page.fill("#id_email", "nadia@northwind.test")
    page.fill("#id_password1", "a-long-and-unusual-passphrase")
    page.fill("#id_password2", "a-long-and-unusual-passphrase")
    page.click("form button[type=submit]")
    expect(page.locator("main")).to_contain_text("verification")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[-1].body).group(0)
    page.goto(link)
    page.click("main form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Northwind Talent")
    expect(page).to_have_url(re.compile(r"/o/northwind/$"))

    # She invites a recruiter from Settings → Members.
    page.click("nav.mainnav >> text=Settings")
    page.click("nav.tabs >> text=Members")
    page.fill("#id_email", "rita@northwind.test")
    page.select_option("#id_role", "recruiter")
    page.click("text=Send invitation")
    expect(page.locator("main")).to_contain_text("We emailed an invitation to rita@northwind.test")
    invitation_link = re.search(r"https?://\S+/invite/\S+/", mailoutbox[-1].body).group(0)

    # The recruiter accepts in another browser, creates an account and lands on the dashboard.
    other = new_page()
    other.goto(invitation_link)
    other.fill("#id_first_name", "Rita")
    other.fill("#id_last_name", "Recruiter")
    other.fill("#id_password1", "rita-has-a-long-passphrase")
    other.fill("#id_password2", "rita-has-a-long-passphrase")
    other.click("text=Create account and join")
    expect(other.locator("main")).to_contain_text("You are recruiter here")

    # She signs out and back in with her new password.
    other.click("summary[aria-label='Your account']")
    other.click("text=Sign out")
    login(other, "rita@northwind.test", "rita-has-a-long-passphrase")
    expect(other.locator("h1")).to_have_text("Northwind Talent")

    # The invitation link works once.
    third = new_page()
    third.goto(invitation_link)
    expect(third.locator("main")).to_contain_text("used already")

    # A hiring manager is refused the admin pages and sees no Settings link.
    manager = new_page()
    login(manager, tenant_a.hiring_manager.email, PASSWORD)
    expect(manager.locator("main")).to_contain_text("You are hiring manager here")
    expect(manager.locator("nav.mainnav")).not_to_contain_text("Settings")
    for path in ("settings/", "settings/members/", "settings/api-keys/"):
        response = manager.goto(f"/o/{tenant_a.slug}/{path}")
        assert response.status == 404
        expect(manager.locator("h1")).to_have_text("Page not found")


def test_wrong_passwords_cool_off(new_page, tenant_a):
    page = new_page()
    for _ in range(6):
        login(page, tenant_a.recruiter.email, "not-the-password")
    expect(page.locator("main")).to_contain_text("Too many failed login attempts")
