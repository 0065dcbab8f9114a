"""What a page request carries besides its form: the session cookie, the CSRF check,
and the headers every page is sent with (decision 031)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

# A session token as the server issues it; anything else in the cookie is ignored
# rather than sent on (it could only be refused).
_SESSION_SHAPE = re.compile(r"chr_ses_[0-9A-Za-z]{16,100}")
_CSRF_SHAPE = re.compile(r"[0-9A-Za-z_-]{43}")

# No inline script or style anywhere: what runs is /static/app.js, nothing else.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    # Pages show who is signed in, and some a raw key once: never kept by a cache or
    # the browser's back-forward cache.
    "cache-control": "no-store",
}


@dataclass(frozen=True)
class Cookies:
    """The cookies' names and attributes, from the configured public URL."""

    secure: bool

    @classmethod
    def for_url(cls, public_url: str) -> Cookies:
        return cls(secure=urlsplit(public_url).scheme == "https")

    @property
    def session(self) -> str:
        # `__Host-`: the browser then refuses it unless Secure, Path=/ and host-only.
        return "__Host-chronicle_session" if self.secure else "chronicle_session"

    @property
    def csrf(self) -> str:
        return "__Host-chronicle_csrf" if self.secure else "chronicle_csrf"

    def session_token(self, request: Request) -> str | None:
        token = request.cookies.get(self.session, "")
        return token if _SESSION_SHAPE.fullmatch(token) else None

    def set_session(self, response: Response, token: str, expires_at: datetime) -> None:
        max_age = max(0, int((expires_at - datetime.now(UTC)).total_seconds()))
        self._set(response, self.session, token, max_age)

    def clear_session(self, response: Response) -> None:
        self._set(response, self.session, "", 0)

    def csrf_secret(self, request: Request) -> str | None:
        value = request.cookies.get(self.csrf, "")
        return value if _CSRF_SHAPE.fullmatch(value) else None

    def set_csrf(self, response: Response, secret: str) -> None:
        self._set(response, self.csrf, secret, None)

    def _set(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )


def new_csrf_secret() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(secret: str, session_token: str | None) -> str:
    """The value a form carries: tied to the browser's CSRF cookie and to its session,
    so a token seen before sign-in (or in another session) is worthless after it."""
    mac = hmac.new(secret.encode(), (session_token or "").encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def csrf_ok(request: Request, cookies: Cookies, sent: str) -> bool:
    """Whether a state-changing form came from our own page: its token matches the
    browser's CSRF cookie and session, and the browser, if it says, sent it from here."""
    secret = cookies.csrf_secret(request)
    if secret is None or not sent.isascii():
        return False
    origin = request.headers.get("origin")
    # Host, not scheme: behind a proxy ending TLS the request arrives as http.
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        return False
    expected = csrf_token(secret, cookies.session_token(request))
    return hmac.compare_digest(expected.encode(), sent.encode())


def safe_next(target: str | None, default: str) -> str:
    """`target` when it is a path on this site; else `default`. Never another origin:
    no scheme, no host, no `//` or backslash that a browser reads as one."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if "\\" in target or not target.isprintable() or not target.isascii():
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
