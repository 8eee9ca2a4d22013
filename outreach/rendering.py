"""The restricted template language of recruiter emails, and rendering with sanitizing.

Templates use Django's syntax with only the documented merge fields and a few safe tags and
filters. `check_template()` walks the parsed nodes when a template is saved and refuses
anything else with its line; rendered HTML goes through nh3 (tables, inline styles and links
kept; scripts and event handlers gone); subjects lose their newlines.
"""

import re
from dataclasses import dataclass

import nh3
from django.template import Context, Engine, Library, TemplateSyntaxError, defaultfilters, defaulttags
from django.template.base import FilterExpression, Node, TextNode, VariableNode
from django.template.defaulttags import CommentNode, ForNode, IfNode

# name -> description; "for" loops may iterate over the list fields, whose items have fields too.
MERGE_FIELDS = {
    "candidate.first_name": "The candidate's first name",
    "candidate.last_name": "The candidate's last name",
    "candidate.full_name": "The candidate's full name",
    "job.title": "The job's title",
    "company.name": "Your organization's name",
    "recruiter.name": "The recruiter who made the decision",
    "recruiter.email": "The recruiter's address",
    "stage_reached": "How far the candidate got, in words (e.g. “the final interview”)",
    "rejection_reason": "The rejection reason in the candidate's words",
    "feedback.strengths": "The hiring manager's reviewed feedback: strengths",
    "feedback.improvements": "The hiring manager's reviewed feedback: areas to improve",
    "links.stay_in_touch": "Personal link to join the talent pool (prefilled form)",
    "links.preferences": "Personal link to the preference centre",
    "links.unsubscribe": "Personal one-click unsubscribe link",
    "links.confirm": "The link that confirms an opt-in (confirmation emails)",
    "matching_jobs": "Open jobs that match the candidate (a list: use a for loop)",
    "event.name": "The event's name",
    "event.date": "The event's date and time",
    "event.place": "Where the event happens, or its link",
    "event.rsvp_link": "Personal link to answer the invitation",
    "remembered.job_title": "The job the candidate got furthest in with you",
    "remembered.stage_reached": "How far they got in it, in words",
    "remembered.applied_on": "When they applied to it",
    "links.referral": "A link the candidate can pass on to a friend (campaigns with referrals)",
}
LIST_ITEM_FIELDS = {"matching_jobs": {"title", "location", "url"}}
ALLOWED_FILTERS = {
    "default", "default_if_none", "upper", "lower", "title", "capfirst", "date", "linebreaksbr", "truncatewords",
    "length", "pluralize", "yesno", "first", "last", "join",
}


def _library():
    library = Library()
    library.tag("if", defaulttags.do_if)
    library.tag("for", defaulttags.do_for)
    library.tag("comment", defaulttags.comment)
    for name in ALLOWED_FILTERS:
        library.filter(name, getattr(defaultfilters, name if name != "date" else "date"))
    return library


_LIBRARY = _library()


class RestrictedEngine(Engine):
    """An engine whose only builtins are the tags and filters above (no load, include, extends...)."""

    def __init__(self, *, autoescape):
        super().__init__(debug=True, autoescape=autoescape, libraries={}, builtins=[])
        self.template_builtins = [_LIBRARY]


HTML_ENGINE = RestrictedEngine(autoescape=True)
TEXT_ENGINE = RestrictedEngine(autoescape=False)


class TemplateProblem(ValueError):
    def __init__(self, message, line=None):
        super().__init__(f"Line {line}: {message}" if line else message)
        self.line = line


def _line_of(node, source):
    token = getattr(node, "token", None)
    if token is not None and getattr(token, "position", None):
        return source.count("\n", 0, token.position[0]) + 1
    return None


def _check_name(name, loop_vars, node, source):
    """A variable, in a tag or as a filter's argument, must be a documented merge field or a loop item's field."""
    root = name.split(".")[0]
    if root in loop_vars:
        allowed = LIST_ITEM_FIELDS[loop_vars[root]]
        field = name.split(".", 1)[1] if "." in name else None
        if field is not None and field not in allowed:
            raise TemplateProblem(f"“{name}”: items of {loop_vars[root]} have {', '.join(sorted(allowed))}.",
                                  _line_of(node, source))
    elif name not in MERGE_FIELDS:
        raise TemplateProblem(f"Unknown merge field “{name}”. See the list of merge fields.", _line_of(node, source))


def _check_filters(expression: FilterExpression, loop_vars, node, source):
    for func, args in expression.filters:
        if func.__name__ not in ALLOWED_FILTERS and getattr(func, "_filter_name", func.__name__) not in ALLOWED_FILTERS:
            raise TemplateProblem(f"The filter “{func.__name__}” is not allowed.", _line_of(node, source))
        for lookup, arg in args:
            # A quoted or numeric argument is a literal; anything else is looked up like a variable.
            if lookup and getattr(arg, "lookups", None) is not None:
                _check_name(arg.var, loop_vars, node, source)


def _check_variable(expression: FilterExpression, loop_vars, node, source):
    var = expression.var
    name = getattr(var, "var", None)
    if isinstance(name, str) and getattr(var, "lookups", None) is not None:
        _check_name(name, loop_vars, node, source)
    _check_filters(expression, loop_vars, node, source)


def _walk(nodelist, loop_vars, source):
    for node in nodelist:
        if isinstance(node, TextNode | CommentNode):
            continue
        if isinstance(node, VariableNode):
            _check_variable(node.filter_expression, loop_vars, node, source)
        elif isinstance(node, IfNode):
            for condition, body in node.conditions_nodelists:
                if condition is not None:
                    _check_condition(condition, loop_vars, node, source)
                _walk(body, loop_vars, source)
        elif isinstance(node, ForNode):
            sequence = node.sequence.var.var if hasattr(node.sequence.var, "var") else None
            if sequence not in LIST_ITEM_FIELDS:
                raise TemplateProblem("Only lists (matching_jobs) can be looped over.", _line_of(node, source))
            _check_filters(node.sequence, loop_vars, node, source)
            if len(node.loopvars) != 1:
                raise TemplateProblem("Loop with one name: {% for job in matching_jobs %}.", _line_of(node, source))
            _walk(node.nodelist_loop, {**loop_vars, node.loopvars[0]: sequence}, source)
            _walk(node.nodelist_empty, loop_vars, source)
        elif isinstance(node, Node) and type(node).__name__ == "ForLoopNode":
            continue
        else:
            raise TemplateProblem(f"“{type(node).__name__}” is not allowed here.", _line_of(node, source))


def _check_condition(condition, loop_vars, node, source):
    # An if condition is a tree of operators over FilterExpressions.
    for attr in ("first", "second"):
        child = getattr(condition, attr, None)
        if child is not None:
            _check_condition(child, loop_vars, node, source)
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        _check_variable(value, loop_vars, node, source)


def _names_in(expression: FilterExpression):
    var = expression.var
    name = getattr(var, "var", None)
    if isinstance(name, str) and getattr(var, "lookups", None) is not None:
        yield name
    for _func, args in expression.filters:
        for lookup, arg in args:
            if lookup and getattr(arg, "lookups", None) is not None:
                yield arg.var


def _condition_names(condition):
    for attr in ("first", "second"):
        child = getattr(condition, attr, None)
        if child is not None:
            yield from _condition_names(child)
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        yield from _names_in(value)


def _collect(nodelist, names):
    for node in nodelist:
        if isinstance(node, VariableNode):
            names.update(_names_in(node.filter_expression))
        elif isinstance(node, IfNode):
            for condition, body in node.conditions_nodelists:
                if condition is not None:
                    names.update(_condition_names(condition))
                _collect(body, names)
        elif isinstance(node, ForNode):
            names.update(_names_in(node.sequence))
            _collect(node.nodelist_loop, names)
            _collect(node.nodelist_empty, names)


def template_fields(*sources):
    """The merge fields the sources name anywhere (shown, tested in an if, looped over); a source that does
    not parse names none."""
    names = set()
    for source in sources:
        try:
            template = HTML_ENGINE.from_string(source or "")
        except TemplateSyntaxError:
            continue
        _collect(template.nodelist, names)
    return names


def check_template(source, *, engine=HTML_ENGINE):
    """Parse `source` and refuse tags, fields and filters outside the restricted language."""
    try:
        template = engine.from_string(source)
    except TemplateSyntaxError as error:
        debug = getattr(error, "template_debug", None)
        line = debug["line"] if debug else None
        message = str(error).split(". Did you forget")[0]
        message = re.sub(r"Invalid block tag on line \d+: '([^']+)'", r"The tag “\1” is not allowed", message)
        message = re.sub(r"Invalid filter: '([^']+)'", r"The filter “\1” is not allowed", message)
        raise TemplateProblem(message, line) from error
    _walk(template.nodelist, {}, source)
    return template


ALLOWED_TAGS = {
    "a", "b", "strong", "i", "em", "u", "p", "br", "hr", "div", "span", "h1", "h2", "h3", "h4", "ul", "ol", "li",
    "table", "thead", "tbody", "tfoot", "tr", "td", "th", "img", "blockquote", "small", "center", "font",
}
ALLOWED_ATTRIBUTES = {
    "*": {"style", "align", "class", "dir"},
    "a": {"href", "title", "target"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "width", "valign", "bgcolor"},
    "th": {"colspan", "rowspan", "width", "valign", "bgcolor"},
    "table": {"width", "cellpadding", "cellspacing", "border", "bgcolor", "role"},
    "font": {"color", "size", "face"},
}


def sanitize_html(html):
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer")


def html_to_text(html):
    text = re.sub(r"(?is)<(script|style).*?</\1>", "", html)
    text = re.sub(r'(?is)<a\s[^>]*href="([^"]+)"[^>]*>(.*?)</a>', r"\2 (\1)", text)
    text = re.sub(r"(?i)<br\s*/?>", "\n", text)
    text = re.sub(r"(?i)</(p|div|h[1-4]|li|tr|table)>", "\n\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    import html as html_module

    text = html_module.unescape(text)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.strip() for line in text.splitlines())).strip()


def clean_subject(subject):
    return " ".join(subject.split())[:300]


@dataclass
class Rendered:
    subject: str
    html: str
    text: str


class TemplateRenderError(ValueError):
    """A template that failed while rendering; its message is short and never carries the merge context."""


def render_failure(error):
    """One short line about a render failure: Django's lookup errors print the whole context, so name the key."""
    from django.template.base import VariableDoesNotExist

    if isinstance(error, VariableDoesNotExist):
        key = error.params[0] if error.params else "?"
        message = f"the merge field “{key}” does not exist"
    else:
        message = f"{type(error).__name__}: {error}"
    return f"template error: {message[:200]}"


def render_email(*, subject, html_body, text_body, context):
    """Render a template's three parts with `context` (a dict of the merge fields' values).

    Any failure while rendering raises TemplateRenderError with a short reason (see render_failure).
    """
    try:
        return with_chosen(_render(subject=subject, html_body=html_body, text_body=text_body, context=context),
                           context)
    except TemplateRenderError:
        raise
    except Exception as error:
        raise TemplateRenderError(render_failure(error)) from None


def _render(*, subject, html_body, text_body, context):
    rendered_subject = clean_subject(TEXT_ENGINE.from_string(subject).render(Context(context, autoescape=False)))
    html = sanitize_html(HTML_ENGINE.from_string(html_body).render(Context(context)))
    footer_html, footer_text = marketing_footer(context, html)
    html += footer_html
    if text_body.strip():
        text = TEXT_ENGINE.from_string(text_body).render(Context(context, autoescape=False)).strip()
        if footer_text:
            text += "\n\n" + footer_text
    else:
        text = html_to_text(html)
    return Rendered(subject=rendered_subject, html=html, text=text)


# --- The layout of marketing emails --------------------------------------------------------------

# The words of the footer every campaign email carries, in the language the email is written in.
FOOTER_WORDS = {
    "en": {"preferences": "Your email preferences", "unsubscribe": "Unsubscribe"},
    "fr": {"preferences": "Vos préférences d'e-mail", "unsubscribe": "Se désinscrire"},
    "de": {"preferences": "Ihre E-Mail-Einstellungen", "unsubscribe": "Abmelden"},
    "es": {"preferences": "Sus preferencias de correo", "unsubscribe": "Darse de baja"},
    "nl": {"preferences": "Uw e-mailvoorkeuren", "unsubscribe": "Afmelden"},
}
# The context key a campaign email's fields set (context.campaign_fields): {"kind": "marketing", "language": ...}.
# Templates cannot name it (it is not a merge field), so no template can leave the footer out.
LAYOUT_KEY = "layout"


def marketing_layout(language):
    return {"kind": "marketing", "language": language}


def marketing_footer(context, html):
    """The footer of a campaign email: its preference-centre link (unless the body has it already) and a visible
    one-click unsubscribe link, whatever the template says. Returns (html, text); empty for other emails."""
    import html as html_module

    layout = context.get(LAYOUT_KEY)
    if not isinstance(layout, dict) or layout.get("kind") != "marketing":
        return "", ""
    words = FOOTER_WORDS.get(layout.get("language"), FOOTER_WORDS["en"])
    links = context.get("links") or {}
    html_parts, text_parts = [], []
    preferences, unsubscribe = links.get("preferences") or "", links.get("unsubscribe") or ""
    if preferences and html_module.escape(preferences) not in html and preferences not in html:
        html_parts.append(f'<a href="{html_module.escape(preferences)}">{words["preferences"]}</a>')
        text_parts.append(f"{words['preferences']}: {preferences}")
    if unsubscribe:
        html_parts.append(f'<a href="{html_module.escape(unsubscribe)}">{words["unsubscribe"]}</a>')
        text_parts.append(f"{words['unsubscribe']}: {unsubscribe}")
    if not html_parts:
        return "", ""
    footer = sanitize_html('<p style="color:#6b7280;font-size:12px">' + " · ".join(html_parts) + "</p>")
    return footer, "\n".join(text_parts)


# --- What a confirmation email asks the person to confirm -------------------------------------------

# The context key a confirmation email's fields set (consent.services.opt_in_request):
# {"heading": ..., "items": [{"topic": ..., "frequency": ...}]}, already in the email's language. It is not a
# merge field: every confirmation lists the topics and frequencies asked for, whatever its template says.
CHOSEN_KEY = "chosen"


def with_chosen(rendered, context):
    """`rendered` with the list of what the person asked for, just above the confirmation link (else at the end)."""
    import html as html_module

    chosen = context.get(CHOSEN_KEY)
    items = chosen.get("items") if isinstance(chosen, dict) else None
    if not items:
        return rendered
    heading = str(chosen.get("heading") or "")
    lines = [f"{item.get('topic', '')}: {item['frequency']}" if item.get("frequency") else str(item.get("topic", ""))
             for item in items if isinstance(item, dict)]
    block = sanitize_html(f"<p>{html_module.escape(heading)}</p><ul>"
                          + "".join(f"<li>{html_module.escape(line)}</li>" for line in lines) + "</ul>")
    html = rendered.html
    confirm = ((context.get("links") or {}).get("confirm") or "")
    at = html.find(html_module.escape(confirm)) if confirm else -1
    start = html.rfind("<p", 0, at) if at >= 0 else -1
    html = html[:start] + block + html[start:] if start >= 0 else html + block
    text = rendered.text + "\n\n" + heading + "\n" + "\n".join(f"- {line}" for line in lines)
    return Rendered(subject=rendered.subject, html=html, text=text)
