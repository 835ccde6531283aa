"""Image references and version numbers, as holdfast's image knowledge reads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

# --------------------------------------------------------------------------- refs

_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})


def _mask_variables(text: str) -> str:
    """Return ``text`` with every character inside ``${...}`` replaced by ``_``.

    Lets the parser find ``:``/``/``/``@`` separators without being fooled by
    ``${VAR:-default}`` left in a reference that was not interpolated.
    """
    if "${" not in text:
        return text
    out = list(text)
    depth = 0
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            if depth == 1:
                i += 2
                continue
        elif text[i] == "}" and depth:
            depth -= 1
            i += 1
            continue
        if depth:
            out[i] = "_"
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference."""

    raw: str
    registry: str | None
    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, ref: str) -> "ImageRef":
        """Parse ``ref``; never raises (garbage in, an unmatched ref out)."""
        raw = ref if isinstance(ref, str) else ("" if ref is None else str(ref))
        text = raw.strip()
        masked = _mask_variables(text)
        digest: str | None = None
        at = masked.rfind("@")
        if at >= 0:
            digest = text[at + 1 :] or None
            text, masked = text[:at], masked[:at]
        tag: str | None = None
        colon = masked.rfind(":")
        if colon > masked.rfind("/"):
            tag = text[colon + 1 :] or None
            text, masked = text[:colon], masked[:colon]
        parts = [p for p in text.split("/")]
        registry: str | None = None
        if len(parts) > 1:
            first = parts[0]
            if "." in first or ":" in first or first == "localhost":
                registry = first.lower()
                parts = parts[1:]
                if registry in _DOCKER_HUB_ALIASES:
                    registry = "docker.io"
        repository = "/".join(parts).lower()
        if repository and "/" not in repository and registry in (None, "docker.io"):
            repository = "library/" + repository
        return cls(raw=raw, registry=registry, repository=repository, tag=tag, digest=digest)

    @property
    def name(self) -> str:
        """Last path component of the repository: ``postgres``."""
        return self.repository.rsplit("/", 1)[-1]

    def candidates(self) -> tuple[str, ...]:
        """Repository spellings to match against entry globs.

        Adds ``library/<x>`` for one-component names on other registries (local
        mirrors, ``registry.k8s.io/etcd``) and strips pull-through-cache prefixes
        such as ``docker/library/postgres`` or ``dockerhub/library/postgres``.
        """
        repo = self.repository
        out = [repo]
        if repo and "/" not in repo:
            out.append("library/" + repo)
        idx = repo.find("/library/")
        if idx >= 0:
            out.append(repo[idx + 1 :])
        if self.registry:
            out.append(f"{self.registry}/{repo}")
        return tuple(dict.fromkeys(out))


# The reference grammar of the distribution spec (registry host[:port], path components, tag, digest),
# compiled on first use: lint never needs it, `holdfast images REF` does.
_REFERENCE_GRAMMAR = (
    r"(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)


def is_valid_reference(text: str) -> bool:
    """Whether ``text`` is a well-formed image reference (repository names are matched case-blind, as holdfast lowercases them)."""
    import re

    head, at, digest = text.partition("@")
    slash = head.rfind("/")
    colon = head.rfind(":")
    name_end = colon if colon > slash else len(head)
    first, sep, rest = head[:name_end].partition("/")
    # the registry host may have capitals; the path is compared lowercased
    normalised = (first + sep + rest.lower() if sep and ("." in first or ":" in first or first == "localhost") else head[:name_end].lower()) + head[name_end:] + at + digest
    return re.fullmatch(_REFERENCE_GRAMMAR, normalised) is not None


# --------------------------------------------------------------------------- versions


def _leading_int(text: str) -> int | None:
    digits = ""
    for ch in text:
        if ch.isdigit():
            digits += ch
        else:
            break
    if not digits or len(digits) > 4:
        return None
    return int(digits)


def _major_from_tag(tag: str | None, style: str = "leading") -> int | None:
    if not tag or "$" in tag:
        return None
    t = tag.strip().lower()
    if style == "pg":
        for token in t.replace("_", "-").split("-"):
            if token.startswith("pg") and token[2:3].isdigit():
                return _leading_int(token[2:])
    if t[:1] == "v" and t[1:2].isdigit():
        t = t[1:]
    return _leading_int(t)


def _major_from_version(value: str) -> int | None:
    v = value.strip()
    head, sep, rest = v.partition(":")  # Debian epoch "1:11.4.2+maria~ubu2404"
    if sep and head.isdigit() and rest[:1].isdigit():
        v = rest
    if v[:1] in "vV":
        v = v[1:]
    return _leading_int(v)


def _major_from_env(env: Mapping[str, str], names: Sequence[str]) -> int | None:
    for name in names:
        value = env.get(name)
        if value and "$" not in value:
            major = _major_from_version(value)
            if major is not None:
                return major
    return None


def _looks_pinned(tag: str) -> bool:
    t = tag.lower()
    if t.startswith("release.") or t.startswith("sha256-"):
        return True
    run = 0
    for ch in t:
        run = run + 1 if ch.isdigit() else 0
        if run >= 6:  # dates and build numbers: nightly-20231011
            return True
    for token in t.replace("_", "-").replace(".", "-").split("-"):
        if len(token) >= 7 and all(c in "0123456789abcdef" for c in token) and any(c.isdigit() for c in token):
            return True  # a commit hash
    return False


def _is_floating(ref: ImageRef, tag_major: int | None) -> bool:
    if ref.digest:
        return False
    tag = ref.tag
    if tag is None:
        return True
    if "$" in tag:
        return False  # unknown, not known to float
    if tag_major is not None:
        return False
    return not _looks_pinned(tag)


# --------------------------------------------------------------------------- commands
