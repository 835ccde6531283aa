"""The base image of a Dockerfile build stage, the way BuildKit resolves it.

Only what names the base image is read: the parser directive ``# escape=``,
line continuations, the global ``ARG``s before the first ``FROM`` (their
defaults, overridden by the build's ``args``) and every ``FROM image [AS name]``.
A stage built ``FROM`` an earlier stage inherits that stage's base, so
``FROM postgres:16 AS base`` / ``FROM base AS final`` gives ``postgres:16``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

_DIRECTIVE = re.compile(r"^#\s*escape\s*=\s*([\\`])\s*$", re.IGNORECASE)
_VAR = re.compile(r"\$(?:\{(\w+)(?:(:?[-+])([^}]*))?\}|(\w+))")
# An image reference is at most a few hundred characters; a build argument that grows past this
# (each ARG doubling the one before it, say) names no image and must not eat the memory.
MAX_ARG_LENGTH = 4096


class _TooLong(ValueError):
    """A substitution grew past MAX_ARG_LENGTH."""


@dataclass(frozen=True)
class BaseImage:
    image: str | None  # None when it cannot be told (the reason is in `problem`)
    stage: str | None  # the stage's name, if it has one
    problem: str | None = None


def _instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of every instruction, continuations joined, comments dropped."""
    lines = text.splitlines()
    escape = "\\"
    for line in lines[:5]:  # parser directives come first
        match = _DIRECTIVE.match(line.strip())
        if match:
            escape = match.group(1)
            break
        if not line.startswith("#"):
            break
    out: list[tuple[str, str]] = []
    current: list[str] = []  # the parts of an instruction continued over several lines
    for raw in lines:
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # blank lines and comments, also inside a continued instruction
        part = raw.rstrip().lstrip() if current else raw.strip()
        if part.endswith(escape):
            current.append(part[:-1])  # the escape and the newline go; spaces before them stay
            continue
        current.append(part)
        out.append(_split_instruction("".join(current)))
        current = []
    if current:
        out.append(_split_instruction("".join(current)))
    return out


def _split_instruction(text: str) -> tuple[str, str]:
    parts = text.split(None, 1)
    return (parts[0].upper(), parts[1].strip() if len(parts) > 1 else "") if parts else ("", "")


def _substitute(text: str, args: Mapping[str, str | None]) -> str:
    """``text`` with the build arguments put in; _TooLong past MAX_ARG_LENGTH characters."""
    produced = 0

    def one(match: re.Match[str]) -> str:
        nonlocal produced
        name = match.group(1) or match.group(4)
        value = args.get(name, "")
        if value is None:  # an argument that grew too long: only its use fails
            raise _TooLong(name)
        op, word = match.group(2), match.group(3) or ""
        if op in (":-", "-"):
            out = value if (value or (op == "-" and name in args)) else word
        elif op in (":+", "+"):
            out = word if (value or (op == "+" and name in args)) else ""
        else:
            out = value
        produced += len(out)
        if produced > MAX_ARG_LENGTH:
            raise _TooLong(name)
        return out

    result = _VAR.sub(one, text)
    if len(result) > MAX_ARG_LENGTH:
        raise _TooLong(repr(text[:40]))
    return result


def _arg_pairs(rest: str) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = []
    for part in rest.split():
        name, eq, default = part.partition("=")
        pairs.append((name.strip(), default.strip().strip("\"'") if eq else None))
    return pairs


def base_image(text: str, build_args: Mapping[str, str] | None = None, target: str | None = None) -> BaseImage:
    """The image the ``target`` stage (the last stage when None) is built from."""
    try:
        return _base_image(text, build_args, target)
    except _TooLong as exc:
        return BaseImage(None, target, f"build argument {exc} expands to more than {MAX_ARG_LENGTH} characters")


def _base_image(text: str, build_args: Mapping[str, str] | None, target: str | None) -> BaseImage:
    build_args = dict(build_args or {})
    args: dict[str, str | None] = {}  # None: longer than MAX_ARG_LENGTH
    stages: list[tuple[str | None, str]] = []  # (name, resolved base) in order
    names: dict[str, str] = {}
    for word, rest in _instructions(text):
        if word == "ARG" and not stages:
            for name, default in _arg_pairs(rest):
                if name in build_args:
                    args[name] = build_args[name]
                elif default is not None:
                    try:
                        args[name] = _substitute(default, args)
                    except _TooLong:
                        args[name] = None
        elif word == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            if not parts:
                continue
            ref = _substitute(parts[0], args).strip()
            ref = names.get(ref.lower(), ref)
            name = parts[2].lower() if len(parts) >= 3 and parts[1].upper() == "AS" else None
            if name:
                names[name] = ref
            stages.append((name, ref))
    if not stages:
        return BaseImage(None, None, "the Dockerfile has no FROM instruction")
    if target:
        chosen = [s for s in stages if s[0] == target.lower()]
        if not chosen:
            return BaseImage(None, target, f"the Dockerfile has no stage named {target!r}")
        name, ref = chosen[-1]
    else:
        name, ref = stages[-1]
    if not ref or "$" in ref:
        return BaseImage(None, name, f"the base image of stage {name or 'last'} depends on a build argument with no value")
    if ref.lower() == "scratch":
        return BaseImage(None, name, None)
    return BaseImage(ref, name, None)
