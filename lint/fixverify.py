"""Verification of fixes: a changed file must be its old data plus exactly what the fixes declare.

Its own module because it is a separate duty from running the fix loop: fixers
verify their own edits with it (`verify_change`, through `holdfast.fixing`), and the
fix loop verifies the checks of a whole pass in a few parses (`failing_checks`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from holdfast.document import ComposeDocument
from holdfast.model import Edit
from holdfast.textedits import OverlapError, apply_edits, check_edits, overlaps

_PARSE_CODES = ("HF001", "HF002", "HF003")


@dataclass(frozen=True)
class MountIntent:
    """What a mount fix may change, so the engine can check nothing else moved.

    `targets` are container paths whose entries in the service's `volumes:` may
    be added, replaced or removed; every target must end up on a bind mount or a
    named volume. `volumes` are top-level named volumes the fix may add.
    `image` / `hostname`, when set, are the values the service's `image:` /
    `hostname:` must end up with (the live-host pins); nothing else may change.
    """

    service: str
    targets: frozenset[str] = frozenset()
    volumes: frozenset[str] = frozenset()
    image: str | None = None
    hostname: str | None = None


# --------------------------------------------------------------------------- verification
def new_problems(before: ComposeDocument | None, after: ComposeDocument) -> list[str]:
    """Parse problems the edit introduced (HF001 syntax, HF002 shape, HF003 duplicate keys)."""
    old: dict[str, int] = {}
    if before is not None and before.text:
        for problem in before.problems:
            old[problem.code] = old.get(problem.code, 0) + 1
    out: list[str] = []
    for problem in after.problems:
        if problem.code not in _PARSE_CODES:
            continue
        if old.get(problem.code, 0) > 0:
            old[problem.code] -= 1
            continue
        out.append(f"line {problem.line}: {problem.message}")
    if after.data is None and not out:
        out.append("the file no longer parses")
    return out


def verify_change(before: ComposeDocument | None, after: ComposeDocument, intents: Iterable[MountIntent | None]) -> str | None:
    """None when `after` is `before` plus only what the intents allow; else the reason it is not.

    Data is compared after merge keys are resolved (`ComposeDocument.data`), so a
    fix that gives a service its own `volumes:` must carry over what it inherited.
    A fix without an intent (a cosmetic fix) must not change the data at all.
    """
    problems = new_problems(before, after)
    if problems:
        return f"it would break the file ({problems[0]})"
    old = before.data if before is not None and isinstance(before.data, dict) else {}
    new = after.data
    if not isinstance(new, dict):
        return "the file would no longer be a mapping"
    old, new = _copy(old), _copy(new)
    for intent in intents:  # a data intent says what the plain data must become (`expect(old) -> new`)
        expect = getattr(intent, "expect", None)
        if expect is not None:
            old = expect(old)
    mount_intents = [i for i in intents if isinstance(i, MountIntent)]
    allowed_volumes: set[str] = set()
    for intent in mount_intents:
        allowed_volumes |= set(intent.volumes)
    pinned: dict[str, dict[str, str]] = {}
    for intent in mount_intents:
        for key in ("image", "hostname"):
            value = getattr(intent, key)
            if value is not None:
                pinned.setdefault(intent.service, {})[key] = value
    for service, keys in pinned.items():
        problem = _check_service_keys(old, new, service, keys)
        if problem:
            return problem
    by_service: dict[str, set[str]] = {}
    for intent in mount_intents:
        if intent.targets:
            by_service.setdefault(intent.service, set()).update(intent.targets)
    for service, targets in by_service.items():
        problem = _check_service_mounts(old, new, service, targets)
        if problem:
            return problem
    if allowed_volumes or "volumes" in new or "volumes" in old:
        problem = _check_top_volumes(old, new, allowed_volumes)
        if problem:
            return problem
    if old != new:
        return f"it would change more than it should ({_first_difference(old, new)})"
    return None


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _entry_target(entry: Any) -> str | None:
    from holdfast.mounts import parse_volume

    mount = parse_volume(entry)
    return mount.target if mount is not None else None


def _services_of(data: dict[str, Any]) -> dict[str, Any] | None:
    from holdfast.project import is_legacy_v1

    if is_legacy_v1(data):  # services at the top level
        return data
    services = data.get("services")
    return services if isinstance(services, dict) else None


def _check_service_keys(old: dict[str, Any], new: dict[str, Any], service: str, keys: dict[str, str]) -> str | None:
    """The service's `image:` / `hostname:` must be exactly the pinned values; strip them from both copies."""
    old_services, new_services = _services_of(old), _services_of(new)
    new_service = new_services.get(service) if new_services is not None else None
    if not isinstance(new_service, dict):
        return f"service {service} would be missing"
    old_service = old_services.get(service) if old_services is not None else None
    if old_service is not None and not isinstance(old_service, dict):
        return f"service {service} is not a mapping"
    for key, value in keys.items():
        if new_service.get(key) != value:
            return f"service {service} would not get `{key}: {value}` (it would be {new_service.get(key)!r})"
        if old_service is not None and key in old_service:
            new_service[key] = old_service[key]
        else:
            del new_service[key]
    if old_service is None and not new_service and new_services is not None:
        del new_services[service]  # a service entry that only carried the pins (an override)
        if not new_services and new is not new_services and "services" not in old:
            del new["services"]
    return None


def _check_service_mounts(old: dict[str, Any], new: dict[str, Any], service: str, targets: set[str]) -> str | None:
    """Compare one service's mounts and strip them (and the service if it is new) from both copies."""
    from holdfast.mounts import normalise_path, parse_volume
    from holdfast.project import is_legacy_v1

    targets = {normalise_path(t) for t in targets}
    if is_legacy_v1(old) or is_legacy_v1(new):  # services at the top level
        old_services, new_services = old, new
    else:
        old_services = old.get("services") if isinstance(old.get("services"), dict) else None
        new_services = new.get("services") if isinstance(new.get("services"), dict) else None
    if new_services is None or not isinstance(new_services.get(service), dict):
        return f"service {service} would be missing"
    old_service = old_services.get(service) if old_services is not None else None
    if old_service is not None and not isinstance(old_service, dict):
        return f"service {service} is not a mapping"
    new_service = new_services[service]
    old_list = (old_service or {}).get("volumes", [])
    new_list = new_service.get("volumes", [])
    if old_list is None:
        old_list = []
    if not isinstance(old_list, list) or not isinstance(new_list, list):
        return f"the volumes of service {service} would not be a list"
    kept_old = [e for e in old_list if _entry_target(e) not in targets]
    kept_new = [e for e in new_list if _entry_target(e) not in targets]
    if kept_old != kept_new:
        return f"other mounts of service {service} would change"
    for target in targets:
        mounts = [m for m in (parse_volume(e) for e in new_list) if m is not None and m.target == target]
        if len(mounts) > 1:
            return f"service {service} would mount {target} twice"
    added = [parse_volume(e) for e in new_list if _entry_target(e) in targets]
    if not added or any(m is None or not m.persistent for m in added):
        return f"service {service} would not get a persistent mount"
    # strip what was checked
    new_service.pop("volumes", None)
    if old_service is not None:
        old_service.pop("volumes", None)
    if old_service is None:
        if new_service:
            return f"service {service} would get more than volumes"
        del new_services[service]
        if not new_services and old_services is None and "services" in new:
            del new["services"]
    return None


def _check_top_volumes(old: dict[str, Any], new: dict[str, Any], allowed: set[str]) -> str | None:
    old_volumes = old.get("volumes")
    new_volumes = new.get("volumes")
    if old_volumes == new_volumes:
        return None
    old_map = old_volumes if isinstance(old_volumes, dict) else ({} if old_volumes is None else None)
    if old_map is None or not isinstance(new_volumes, dict):
        return "the top-level volumes would change shape"
    for key, value in old_map.items():
        if key not in new_volumes or new_volumes[key] != value:
            return f"the top-level volume {key} would change"
    extra = set(new_volumes) - set(old_map)
    if not extra <= allowed:
        return f"unexpected top-level volumes {', '.join(sorted(map(str, extra - allowed)))}"
    if "volumes" in old:
        new["volumes"] = old_volumes
    else:
        del new["volumes"]
    return None


def _first_difference(old: Any, new: Any, path: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            if key not in new:
                return f"{path}{key} removed"
            if key not in old:
                return f"{path}{key} added"
            if old[key] != new[key]:
                return _first_difference(old[key], new[key], f"{path}{key}.")
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new)):
            if a != b:
                return _first_difference(a, b, f"{path}{index}.")
    return f"{path.rstrip('.') or 'the document'} changed"


# --------------------------------------------------------------------------- batched verification
@dataclass
class Check:
    """One `verify_change` a fixer asked for: edits on `before` that must be exactly `intents`."""

    before: ComposeDocument
    edits: tuple[Edit, ...]
    intents: tuple[Any, ...]


def failing_checks(checks: list[Check]) -> dict[int, str]:
    """{index: reason} of the checks that fail on their own, in a few parses per document.

    Verifying each fix alone re-parses its whole file, so a file of n findings cost n
    parses (quadratic). Here the checks of one document are grouped (edits that do not
    overlap, one service per group) and a group is verified in one parse; only a group
    that fails is split in halves, and when both halves fail too their checks are
    verified one by one (fixes that clash only together). A group that passes is taken
    to pass check by check: the per-service comparison is the same; only the allowed
    top-level volumes are pooled, as in the engine's own batch check.
    """
    failing: dict[int, str] = {}
    by_document: dict[int, list[int]] = {}
    for index, check in enumerate(checks):
        try:
            check_edits(check.edits, len(check.before.text))
        except OverlapError as exc:
            failing[index] = f"malformed edit ({exc})"
            continue
        by_document.setdefault(id(check.before), []).append(index)
    for indices in by_document.values():
        for group in _groups([checks[i] for i in indices], indices):
            failing.update(_verify_group(checks, group))
    return failing


_GROUPS_TRIED = 8  # first fit over the last few groups only: hostile input must not make grouping quadratic


@dataclass
class _Group:
    indices: list[int] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)  # sorted, non-overlapping
    services: set[str] = field(default_factory=set)

    def fits(self, spans: list[tuple[int, int]], services: set[str]) -> bool:
        return not (services & self.services) and not any(overlaps(self.spans, span) for span in spans)

    def add(self, index: int, spans: list[tuple[int, int]], services: set[str]) -> None:
        import bisect

        self.indices.append(index)
        self.services |= services
        for span in spans:
            bisect.insort(self.spans, span)


def _groups(members: list[Check], indices: list[int]) -> list[list[int]]:
    """Indices grouped so that a group's edits never overlap and name each service at most once.

    A data intent (`expect`: what the whole data must become) is verified on its own.
    """
    groups: list[_Group] = []
    alone: list[list[int]] = []
    for check, index in zip(members, indices):
        if any(getattr(i, "expect", None) is not None for i in check.intents):
            alone.append([index])
            continue
        services = {i.service for i in check.intents if isinstance(i, MountIntent)}
        spans = [(e.start, e.end) for e in check.edits]
        group = next((g for g in groups[-_GROUPS_TRIED:] if g.fits(spans, services)), None)
        if group is None:
            group = _Group()
            groups.append(group)
        group.add(index, spans, services)
    return [g.indices for g in groups] + alone


def _verify_group(checks: list[Check], group: list[int], reason: str | None = None) -> dict[int, str]:
    """{index: reason} for the members of `group` that fail alone (see `failing_checks`); `reason`: the group's, when known."""
    if reason is None:
        reason = _verify_together(checks, group)
        if reason is None:
            return {}
    if len(group) == 1:
        return {group[0]: reason}
    half = len(group) // 2
    left, right = group[:half], group[half:]
    left_reason, right_reason = _verify_together(checks, left), _verify_together(checks, right)
    if left_reason is not None and right_reason is not None:  # clashes, or several bad fixes: one by one
        out: dict[int, str] = {}
        for index in group:
            own = _verify_together(checks, [index])
            if own is not None:
                out[index] = own
        return out
    if left_reason is not None:
        return _verify_group(checks, left, left_reason)
    if right_reason is not None:
        return _verify_group(checks, right, right_reason)
    return {}  # only the whole group clashes: every check passes on its own


def _verify_together(checks: list[Check], group: list[int]) -> str | None:
    before = checks[group[0]].before
    text = apply_edits(before.text, [e for i in group for e in checks[i].edits])
    after = ComposeDocument(before.path, text, has_bom=before.has_bom, real_path=before.real_path)
    return verify_change(before if before.text else None, after, [intent for i in group for intent in checks[i].intents])
