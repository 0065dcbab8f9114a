"""Chronicle's own pages, served by the edge beside /api/v1 (decisions 031, 032)."""

from __future__ import annotations

from starlette.routing import Route

from chronicle.config import Settings
from edge.upstream import Upstream
from edge.web.account import AccountPages
from edge.web.decks import DeckPages
from edge.web.site import Site


def pages(settings: Settings, upstream: Upstream) -> tuple[Site, list[Route]]:
    """The site (for error pages) and every page's route."""
    site = Site(settings, upstream)
    routes = [
        *AccountPages(site).routes(),
        *DeckPages(site, settings.app_url).routes(),
        Route("/static/{name}", site.static_file, methods=["GET", "HEAD"]),
    ]
    return site, routes
