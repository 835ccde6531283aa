"""HF301 fixer: bind a data store's published port to the loopback address (unsafe: remote clients lose access)."""

from __future__ import annotations

from typing import Any

from holdfast.document import ComposeDocument
from holdfast.fixers._layout import Refusal, add_key_to_mapping, detect_style, replace_scalar
from holdfast.fixers._mounts import RefusingFixer
from holdfast.model import Applicability, Finding, Fix
from ruamel.yaml.nodes import MappingNode, ScalarNode


def bound(entry: str, address: str) -> str:
    """`5432:5432` -> `127.0.0.1:5432:5432`; `5432` -> `127.0.0.1::5432`; `0.0.0.0:5432:5432` -> `127.0.0.1:5432:5432`."""
    host = f"[{address}]" if ":" in address else address
    text = entry.strip()
    body, slash, protocol = text.partition("/")
    parts = body.split(":")
    if body.startswith("["):
        body = body[body.index("]") + 2 :]
        parts = body.split(":")
    elif len(parts) > 2:
        parts = parts[-2:]
    if len(parts) == 1:
        parts = ["", parts[0]]
    return f"{host}:{':'.join(parts)}{slash}{protocol}"


class BindLocalhostFixer(RefusingFixer):
    title = "Publish the port on 127.0.0.1 only"
    codes = ("HF301",)

    def _edit(self, document: ComposeDocument, finding: Finding, options: dict[str, Any]) -> Fix | None:
        from holdfast.fixers._data import DataIntent, SetAt
        from holdfast.fixers._layout import is_shared
        from holdfast.fixing import MountFix

        address = str(finding.data.get("bind_address") or "127.0.0.1")
        path = tuple(finding.yaml_path)
        key, node = document.pair(*path)
        if node is None or not path or not isinstance(path[-1], int):
            raise Refusal("the port entry is not where the finding says")
        if is_shared(document, node):
            raise Refusal("the port entry is a YAML anchor reused elsewhere")
        old_value = document.data
        for step in path:
            old_value = old_value[step]
        if isinstance(node, ScalarNode):
            new_value: Any = bound(str(old_value), address)
            edit = [replace_scalar(node, new_value, flow=bool(getattr(document.node(*path[:-1]), "flow_style", False)))]
        elif isinstance(node, MappingNode):
            if "host_ip" in old_value:
                raise Refusal("the entry already names a host_ip")
            edit = add_key_to_mapping(document, node, "host_ip", address, detect_style(document))
            new_value = dict(old_value, host_ip=address)
        else:
            raise Refusal("the port entry is neither a string nor a mapping")

        return MountFix(
            title=f"Publish on {address} only",
            applicability=Applicability.UNSAFE,
            edits=tuple(edit),
            intent=DataIntent(finding.service or "", SetAt(path, new_value)),
            done=f"bound the published port to {address}",
        )
