"""Fixing every real compose file of the shared corpus must do no damage.

For each file with an HF101 or HF102 finding, in bind mode and in named-volume
mode, the fixed text must:
(a) parse; (b) validate against the compose schema whenever the original did;
(c) leave no HF101/HF102 for the services it fixed; (d) be a fixed point (a
second run changes nothing); (e) differ from the original only inside the fixed
services (and the top-level `volumes:` in named mode); (f) mean the original plus
the new mounts: with `${…}` interpolated from an empty environment and merge
keys resolved, removing the new mounts from the fixed model gives back the
original model. Where the original passes `docker-compose config` (Compose v1
on this machine; no daemon needed), the fixed file must pass too and its
resolved configuration must be the original's plus the new mounts.

Run with `-s` to see the counts and every refusal with its reason.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import support
from holdfast import fix_text
from holdfast.commented import service_region
from holdfast.config import Config
from holdfast.document import ComposeDocument
from holdfast.interpolation import Interpolator
from holdfast.mounts import parse_volume
from holdfast.project import is_legacy_v1
from holdfast.schema import schema_errors

CODES = ("HF101", "HF102")


@dataclass
class FileResult:
    name: str
    original: str
    fixed: str
    services: set[str]
    refused: list[tuple[str, str]]
    problems: list[str] = field(default_factory=list)


def _corpus() -> list[Path]:
    folder = support.shared_or_skip("corpus", "public")
    return sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml"))


def _services(data: Any) -> dict[str, Any]:
    if is_legacy_v1(data):
        return data
    services = data.get("services") if isinstance(data, dict) else None
    return services if isinstance(services, dict) else {}


def _model(text: str) -> Any:
    document = ComposeDocument("c.yml", text)
    return Interpolator({}).data(document.data)


def _targets(entries: list[Any]) -> set[str]:
    out = set()
    for entry in entries:
        mount = parse_volume(entry)
        if mount is not None:
            out.add(mount.target)
    return out


def _strip_new_mounts(original: Any, fixed: Any, services: set[str]) -> tuple[Any, Any]:
    """Remove, from both models, the mounts at targets that the fix added or replaced, and new top-level volumes."""
    import copy

    original, fixed = copy.deepcopy(original), copy.deepcopy(fixed)
    old_services, new_services = _services(original), _services(fixed)
    for name in services:
        old = old_services.get(name) if isinstance(old_services.get(name), dict) else {}
        new = new_services.get(name) if isinstance(new_services.get(name), dict) else {}
        old_list = old.get("volumes") or []
        new_list = new.get("volumes") or []
        added = [e for e in new_list if e not in old_list]
        targets = _targets(added)
        for config, entries, had in ((old, old_list, "volumes" in old), (new, new_list, "volumes" in new)):
            kept = [e for e in entries if not (_targets([e]) & targets)]
            if kept or had and "volumes" in old:
                config["volumes"] = kept
            else:
                config.pop("volumes", None)
    if not is_legacy_v1(fixed) and isinstance(fixed, dict) and isinstance(fixed.get("volumes"), dict):
        old_top = original.get("volumes") if isinstance(original.get("volumes"), dict) else None
        for key in [k for k in fixed["volumes"] if old_top is None or k not in old_top]:
            del fixed["volumes"][key]
        if old_top is None and not fixed["volumes"]:
            del fixed["volumes"]
    return original, fixed


def _skeleton(text: str, services: set[str], named: bool) -> str:
    """The text with the given services' regions (and the top-level volumes) cut out."""
    document = ComposeDocument("c.yml", text)
    lines = text.splitlines(keepends=True)
    cuts: list[tuple[int, int, str]] = []
    for name in services:
        region = service_region(document, name) if not is_legacy_v1(document.data) else _v1_region(document, name)
        if region is not None:
            cuts.append((region[0], region[1], f"<service {name}>\n"))
    if named and isinstance(document.data, dict) and "volumes" in document.data:
        key, value = document.pair("volumes")
        if key is not None:
            start = key.start_mark.line + 1
            end = document.span(value).end_line if value is not None else start
            cuts.append((start, end, "<volumes>\n"))
    out: list[str] = []
    line = 1
    for start, end, token in sorted(cuts):
        out.extend(lines[line - 1 : start - 1])
        if token != "<volumes>\n":
            out.append(token)
        line = end + 1
    out.extend(lines[line - 1 :])
    if line > len(lines) and out and not text.endswith("\n"):
        out[-1] = out[-1].rstrip("\r\n")  # the cut section ended the file without a final newline
    return "".join(out)


def _v1_region(document: ComposeDocument, name: str) -> tuple[int, int] | None:
    key, value = document.pair(name)
    if key is None:
        return None
    return key.start_mark.line + 1, document.span(value).end_line


def _check_file(path: Path, persistence: str) -> FileResult | None:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    config = Config(fix_persistence=persistence)
    result = fix_text(text, str(path), select=CODES, unsafe=True, config=config)
    relevant = [f for f in result.remaining if f.code in CODES] + result.fixed + [f for f, _ in result.refused]
    if not relevant:
        return None
    services = {f.service for f in result.fixed if f.service}
    refused = [(f"{f.code} {f.service}", why) for f, why in result.refused]
    out = FileResult(path.name, text.lstrip("\ufeff"), result.text, services, refused)
    if not services:
        if result.text != text:
            out.problems.append("changed the text without fixing anything")
        return out
    before = ComposeDocument("c.yml", text)
    after = ComposeDocument("c.yml", result.text)
    # (a) parses, with no new syntax or duplicate-key problems
    if after.data is None or len([p for p in after.problems if p.code in ("HF001", "HF003")]) > len([p for p in before.problems if p.code in ("HF001", "HF003")]):
        out.problems.append(f"(a) does not parse: {[p.message for p in after.problems]}")
        return out
    # (b) schema
    if not schema_errors(before.data) and schema_errors(after.data):
        out.problems.append(f"(b) schema errors: {schema_errors(after.data)[:2]}")
    # (c) nothing left for the fixed services
    left = [(f.code, f.service) for f in result.remaining if f.code in CODES and f.service in services]
    if left:
        out.problems.append(f"(c) findings left: {left}")
    # (d) idempotent
    again = fix_text(result.text, str(path), select=CODES, unsafe=True, config=config)
    if again.text != result.text or again.fixed:
        out.problems.append("(d) a second run changes the text again")
    # (e) only the fixed services (and the top-level volumes in named mode) changed
    named = persistence == "named"
    old_skeleton, new_skeleton = _skeleton(text, services, named), _skeleton(result.text, services, named)
    if named and "volumes" not in (before.data or {}):  # a new last section may bring a separating blank line
        old_skeleton, new_skeleton = old_skeleton.rstrip(), new_skeleton.rstrip()
    if old_skeleton != new_skeleton:
        out.problems.append("(e) text outside the fixed services changed")
    # (f) semantically the original plus the new mounts
    original_model, fixed_model = _strip_new_mounts(_model(text), _model(result.text), services)
    if original_model != fixed_model:
        out.problems.append("(f) the fixed model minus the new mounts is not the original model")
    return out


# --------------------------------------------------------------------------- docker-compose config
def _compose_config(directory: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["COMPOSE_INTERACTIVE_NO_CLI"] = "1"
    try:
        run = subprocess.run(["docker-compose", "-f", "docker-compose.yml", "config"], check=False, cwd=directory, capture_output=True, text=True, timeout=120, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return run.returncode, run.stdout if run.returncode == 0 else run.stderr


_WORKDIR = Path(tempfile.mkdtemp(prefix="holdfast-corpus-"))
_ORIGINAL_CONFIG: dict[str, tuple[int, str]] = {}  # file name -> `config` of the original (run once for both modes)
atexit.register(shutil.rmtree, _WORKDIR, True)


def _config_compare(item: FileResult) -> tuple[str, str | None]:
    """("compared" | "skipped", problem or None). Original and fixed run in the same folder (same absolute paths)."""
    from ruamel.yaml import YAML

    directory = _WORKDIR / item.name / "a" / "b" / "project"  # room for `../` paths inside the work folder
    target = directory / "docker-compose.yml"
    if item.name not in _ORIGINAL_CONFIG:
        directory.mkdir(parents=True, exist_ok=True)
        _stub_references(directory, _model(item.original))
        target.write_text(item.original, encoding="utf-8")
        _ORIGINAL_CONFIG[item.name] = _compose_config(directory)
    code, original = _ORIGINAL_CONFIG[item.name]
    if code != 0:
        return "skipped", None
    target.write_text(item.fixed, encoding="utf-8")
    code, fixed = _compose_config(directory)
    if code != 0:
        return "compared", f"docker-compose config fails on the fixed file: {fixed.strip().splitlines()[-1:]}"
    load = YAML(typ="safe", pure=True).load
    old_model, new_model = _strip_new_mounts(load(original), load(fixed), item.services)
    if old_model != new_model:
        return "compared", "docker-compose config of the fixed file is not the original's plus the new mounts"
    return "compared", None


def _stub_references(directory: Path, data: Any) -> None:
    """Empty env files and build folders the file names, so that `config` judges the YAML, not the checkout."""
    root = directory.parent.parent.parent
    for config in _services(data).values():
        if not isinstance(config, dict):
            continue
        env_files = config.get("env_file")
        env_files = [env_files] if isinstance(env_files, (str, dict)) else env_files if isinstance(env_files, list) else []
        for entry in env_files:
            name = entry.get("path") if isinstance(entry, dict) else entry
            if isinstance(name, str) and name and not os.path.isabs(name):
                path = (directory / name).resolve()
                if root in path.parents and not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text("", encoding="utf-8")
        build = config.get("build")
        context = build.get("context", ".") if isinstance(build, dict) else build
        if isinstance(context, str) and context and "://" not in context and not os.path.isabs(context):
            path = (directory / context).resolve()
            if root in path.parents or path == root:
                path.mkdir(parents=True, exist_ok=True)


def _compose_available() -> bool:
    try:
        return subprocess.run(["docker-compose", "version"], check=False, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.parametrize("persistence", ["bind", "named"])
def test_corpus_fixes_do_no_damage(persistence: str) -> None:
    results = [r for r in (_check_file(p, persistence) for p in _corpus()) if r is not None]
    failures = [f"{r.name}: {problem}" for r in results for problem in r.problems]
    fixed_files = [r for r in results if r.services]
    services = sum(len(r.services) for r in results)
    refusals = [(r.name, what, why) for r in results for what, why in r.refused]
    print(f"\n[{persistence}] corpus: {len(results)} files with HF101/HF102; fixed {services} services in {len(fixed_files)} files; refused {len(refusals)}")
    for name, what, why in refusals:
        print(f"  refused {what} in {name}: {why}")
    compared = skipped = 0
    if _compose_available():
        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(_config_compare, fixed_files))
        for item, (state, problem) in zip(fixed_files, outcomes):
            if state == "compared":
                compared += 1
            else:
                skipped += 1
                print(f"  docker-compose config fails on the original, skipped: {item.name}")
            if problem:
                failures.append(f"{item.name}: {problem}")
        print(f"[{persistence}] docker-compose config: compared {compared} files, skipped {skipped} (original fails)")
    else:
        print(f"[{persistence}] docker-compose is not installed: config comparison not run")
    assert results, "the corpus has no file with HF101/HF102: the rules or the corpus changed"
    assert services > 0
    assert not failures, "\n".join(failures)
