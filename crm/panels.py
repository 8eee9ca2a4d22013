"""Panels: pages owned by `crm` show boxes that higher apps register.

    register_candidate_panel("consent", order=20, render=render_consent_panel)

`render(request, candidate)` returns HTML (or None to hide the panel).
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    name: str
    order: int
    render: Callable


_candidate_panels: dict[str, Panel] = {}


def register_candidate_panel(name, *, order, render):
    _candidate_panels[name] = Panel(name=name, order=order, render=render)


def candidate_panels(request, candidate):
    rendered = []
    for panel in sorted(_candidate_panels.values(), key=lambda p: p.order):
        html = panel.render(request, candidate)
        if html:
            rendered.append(html)
    return rendered


_job_panels: dict[str, Panel] = {}


def register_job_panel(name, *, order, render):
    _job_panels[name] = Panel(name=name, order=order, render=render)


def job_panels(request, job):
    return [html for panel in sorted(_job_panels.values(), key=lambda p: p.order)
            if (html := panel.render(request, job))]


_candidate_list_panels: dict[str, Panel] = {}


def register_candidate_list_panel(name, *, order, render):
    """Boxes above the candidate list (bulk actions): `render(request, context)` gets the list's context."""
    _candidate_list_panels[name] = Panel(name=name, order=order, render=render)


def candidate_list_panels(request, context):
    return [html for panel in sorted(_candidate_list_panels.values(), key=lambda p: p.order)
            if (html := panel.render(request, context))]


_dashboard_panels: dict[str, Panel] = {}


def register_dashboard_panel(name, *, order, render):
    """Sections of the organization's dashboard: `render(request)` returns HTML or None."""
    _dashboard_panels[name] = Panel(name=name, order=order, render=render)


def dashboard_panels(request):
    return [html for panel in sorted(_dashboard_panels.values(), key=lambda p: p.order)
            if (html := panel.render(request))]
