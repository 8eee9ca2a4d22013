"""A small browser over HTTP: cookies, redirects, and the pages' own forms filled and submitted."""

import base64
import http.cookiejar
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser


class _Policy(http.cookiejar.DefaultCookiePolicy):
    """Secure cookies go back over plain http to 127.0.0.1, as a browser does for a local address."""

    def return_ok_secure(self, cookie, request):
        return True


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Response:
    method: str
    url: str
    status: int
    headers: dict
    body: str


@dataclass
class Form:
    action: str
    method: str
    fields: list = field(default_factory=list)  # [(name, value)] as the browser would submit them
    options: dict = field(default_factory=dict)  # select name -> [(value, label)]
    radios: dict = field(default_factory=dict)  # radio name -> [value]

    def names(self):
        return {name for name, _ in self.fields} | set(self.options) | set(self.radios)


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self.links, self.assets = [], [], []
        self._form = self._select = self._option = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag in ("link", "script", "img") and (a.get("href") or a.get("src")):
            self.assets.append(a.get("href") or a.get("src"))
        if tag == "form":
            self._form = Form(action=a.get("action") or "", method=(a.get("method") or "get").lower())
            self.forms.append(self._form)
        if self._form is None or not a.get("name") and tag != "option":
            return
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind == "radio":
                self._form.radios.setdefault(a["name"], []).append(a.get("value", "on"))
            if kind in ("checkbox", "radio") and "checked" not in a or kind in ("submit", "button", "file"):
                return
            self._form.fields.append((a["name"], a.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select":
            self._select = a["name"]
            self._form.options[self._select] = []
        elif tag == "option" and self._select:
            self._option = [a.get("value"), "", "selected" in a]
        elif tag == "textarea":
            self._textarea = [a["name"], ""]

    def handle_data(self, data):
        if self._option is not None:
            self._option[1] += data
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None:
            value, label, selected = self._option
            value = label.strip() if value is None else value
            self._form.options[self._select].append((value, label.strip()))
            if selected:
                self._form.fields.append((self._select, value))
            self._option = None
        elif tag == "select" and self._select:
            if not any(name == self._select for name, _ in self._form.fields) and self._form.options[self._select]:
                self._form.fields.append((self._select, self._form.options[self._select][0][0]))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._form.fields.append(tuple(self._textarea))
            self._textarea = None
        elif tag == "form":
            self._form = None


def parse(html):
    parser = _Forms()
    parser.feed(html)
    return parser


class Browser:
    def __init__(self, base_url, on_response):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar(_Policy())
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)
        self.on_response = on_response  # sees every response, redirects included
        self.page = None

    def absolute(self, url):
        return urllib.parse.urljoin(self.page.url if self.page else self.base_url + "/", url)

    def request(self, method, url, data=None, headers=None, follow=True):
        url = self.absolute(url)
        for _ in range(10):
            request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
            try:
                with self.opener.open(request, timeout=30) as raw:
                    response = Response(method, url, raw.status, dict(raw.headers), raw.read().decode("utf-8", "replace"))
            except urllib.error.HTTPError as error:
                response = Response(method, url, error.code, dict(error.headers),
                                    error.read().decode("utf-8", "replace"))
            self.on_response(response)
            if not follow or response.status not in (301, 302, 303, 307, 308):
                break
            url = urllib.parse.urljoin(url, response.headers["Location"])
            method, data, headers = "GET", None, None
        if method == "GET" or follow:
            self.page = response
        return response

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def form(self, having, action_contains=""):
        """The current page's form that has the fields `having` (and whose action contains `action_contains`)."""
        forms = [f for f in parse(self.page.body).forms
                 if set(having) <= f.names() and action_contains in self.absolute(f.action or self.page.url)]
        assert forms, f"no form with {having} on {self.page.url}:\n{self.page.body[:3000]}"
        return forms[0]

    def submit(self, form, values):
        """Submit as the browser would: the form's own fields (hidden ones, CSRF token) with `values` typed in."""
        data = [(name, value) for name, value in form.fields if name not in values]
        data += [(name, value) for name, value in values.items()]
        action = self.absolute(form.action or self.page.url)
        return self.request("POST", action, data=urllib.parse.urlencode(data).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": self.page.url})

    def post_json(self, url, payload, basic_auth):
        token = base64.b64encode(basic_auth.encode()).decode()
        return self.request("POST", url, data=json.dumps(payload).encode(), follow=False,
                            headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"})
