"""Pages and feeds off the web, fetched politely and safely.

Polite: a user agent that names the product, a time limit on the whole fetch (not only on each
read, so a server sending a byte a second cannot hold it), a size limit, and conditional
requests (ETag / Last-Modified) so an unchanged feed costs the publisher nothing.
Safe: only http and https; an address that resolves to a private, loopback, link-local or
otherwise internal network is refused unless a setting allows it (a URL given to a server must
not become a way into the server's own network), and the request goes to the very address that
was checked; redirects are followed one at a time, each checked the same way, up to a limit.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

from qa.errors import FetchError, FetchRefusedError

if TYPE_CHECKING:
    import httpx

USER_AGENT = "qa-berita (question answering over Indonesian news; fetches pages and feeds it is given)"
_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class FetchPolicy:
    """The limits of fetching (Settings.fetch_* give them)."""

    timeout_s: float
    max_bytes: int
    max_redirects: int
    allow_private: bool


@dataclass
class Fetched:
    """What a fetch brought back. `url` is where it ended, after redirects; `not_modified`
    means the validators sent still hold (HTTP 304) and `content` is empty."""

    url: str
    content: bytes
    content_type: str
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


def allowed_address(url: str, allow_private: bool) -> str | None:
    """The address to connect to for `url`, checked; FetchRefusedError naming the reason if
    `url` may not be fetched. With `allow_private`, None: any address goes, resolved as usual."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchRefusedError(f"{url}: only http:// and https:// addresses are fetched")
    if allow_private:
        return None
    try:
        addresses = [info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 80,
                                                                type=socket.SOCK_STREAM)]
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"{url}: host {parts.hostname} not found ({exc})") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise FetchRefusedError(f"{url}: refused, {parts.hostname} is a private, loopback or link-local "
                                    f"address ({ip}); allow with QA_FETCH_PRIVATE_ADDRESSES=true")
    return addresses[0]


def _request(url: str, address: str | None) -> tuple[str, dict, dict]:
    """(URL, headers, extensions) that reach `url` at the checked `address`: connecting to the
    address itself, so that a second DNS answer (rebinding) cannot send the request elsewhere;
    the Host header and TLS's server name stay those of `url`."""
    if address is None:
        return url, {}, {}
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = host + (f":{parts.port}" if parts.port else "")
    return (urlunsplit(parts._replace(netloc=netloc)), {"Host": parts.netloc.rpartition("@")[2]},
            {"sni_hostname": parts.hostname})


def fetch(url: str, policy: FetchPolicy, etag: str | None = None, last_modified: str | None = None) -> Fetched:
    """GET `url` under `policy`. FetchError (or FetchRefusedError) with a readable reason when
    it cannot be had."""
    deadline = time.monotonic() + policy.timeout_s
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    import httpx  # imported here, not at start-up: every `qa` command and server would pay for it

    timeout = httpx.Timeout(policy.timeout_s)
    try:
        with httpx.Client(follow_redirects=False, timeout=timeout, headers=headers, trust_env=False) as client:
            for _ in range(policy.max_redirects + 1):
                target, host, extensions = _request(url, allowed_address(url, policy.allow_private))
                with client.stream("GET", target, headers=host, extensions=extensions) as response:
                    if response.status_code in _REDIRECTS and response.headers.get("location"):
                        url = urljoin(url, response.headers["location"])
                        continue
                    return _received(url, response, policy, deadline)
    except httpx.TimeoutException:
        raise FetchError(f"{url}: no answer within {policy.timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {exc.__class__.__name__} ({exc})") from None
    raise FetchError(f"{url}: more than {policy.max_redirects} redirects")


def _received(url: str, response: "httpx.Response", policy: FetchPolicy, deadline: float) -> Fetched:
    validators = {"etag": response.headers.get("etag"), "last_modified": response.headers.get("last-modified")}
    if response.status_code == 304:
        return Fetched(url, b"", "", not_modified=True, **validators)
    if response.status_code >= 400:
        raise FetchError(f"{url}: the server answered HTTP {response.status_code}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchError(f"{url}: {int(declared) / 1e6:.1f} MB, more than the {policy.max_bytes / 1e6:g} MB limit")
    body = bytearray()
    for chunk in response.iter_bytes():  # as it arrives: the deadline is checked between reads
        body += chunk
        if len(body) > policy.max_bytes:
            raise FetchError(f"{url}: more than the {policy.max_bytes / 1e6:g} MB limit")
        if time.monotonic() > deadline:
            raise FetchError(f"{url}: not received within {policy.timeout_s:g} s")
    return Fetched(url, bytes(body), response.headers.get("content-type", ""), **validators)
