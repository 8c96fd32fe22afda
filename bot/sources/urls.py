"""Canonical URLs: one spelling per article, whatever tracking tags or AMP variant a feed links to."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from yarl import URL

# Query parameters that only say where a click came from; the page is the same without them.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "yclid", "ysclid", "msclkid", "mc_cid", "mc_eid",
        "igshid", "_openstat", "_ga", "_gl", "amp", "from_rss", "ref_src",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str, base: str | None = None) -> str:
    """The one spelling of an article's address: resolved against `base`, scheme and host in lower case,
    default port, fragment, tracking parameters and AMP variants (`/amp`, `.amp.html`, `?amp=1`, `amp.`
    host, the AMP cache) dropped, no trailing slash except the root's. A string that is no http(s) URL is
    returned stripped (the caller decides whether it is usable)."""
    url = url.strip()
    if base:
        url = urljoin(base, url)
    try:
        # One encoding for one address: Cyrillic paths percent-encoded (upper-case hex), IDN hosts in punycode.
        parts = urlsplit(str(URL(url)))
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return url
    path = parts.path or "/"
    if host.endswith(".cdn.ampproject.org"):
        unwrapped = _unwrap_amp_cache(path)
        if unwrapped:
            return canonical_url(unwrapped)
    if host.startswith("amp."):
        host = host[4:]
    path = _fold_amp_path(path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username:
        netloc = parts.username + (f":{parts.password}" if parts.password else "") + "@" + netloc
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def _unwrap_amp_cache(path: str) -> str | None:
    """Google's AMP cache serves `https://<host with dashes>.cdn.ampproject.org/c/s/<host>/<path>`: one-letter
    segments say what is served (`c` content, `v` viewer, `s` over https), then the original address."""
    segments = path.lstrip("/").split("/")
    secure = False
    while segments and len(segments[0]) == 1:
        secure = secure or segments[0] == "s"
        segments.pop(0)
    if not segments or "." not in segments[0]:
        return None
    return ("https://" if secure else "http://") + "/".join(segments)


def _fold_amp_path(path: str) -> str:
    if path.endswith(".amp.html"):
        return path[: -len(".amp.html")] + ".html"
    if path.endswith(".amp"):
        return path[: -len(".amp")]
    trimmed = path.rstrip("/")
    if trimmed.endswith("/amp"):
        return trimmed[: -len("/amp")] or "/"
    if path.startswith("/amp/"):
        return path[len("/amp") :]
    return path


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES)
