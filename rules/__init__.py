"""The built-in rules, registered through the `holdfast` entry-point group like any plugin.

Rule modules are imported inside the hook, so a plugin listing costs nothing
until a lint actually runs.
"""

from __future__ import annotations

from holdfast.hookspecs import hookimpl


@hookimpl
def holdfast_rules() -> list[type]:
    from holdfast.rules import (
        duplicate_key,
        hf101_not_persisted,
        hf102_anonymous_volume,
        hf103_named_volume,
        hf104_unpinned_major,
        hf105_wrong_path,
        hf106_app_data,
        live_host,
        schema,
        syntax,
        unused_suppression,
    )

    return [
        unused_suppression.UnusedSuppression,
        syntax.YamlSyntaxError,
        schema.ComposeSchemaViolation,
        duplicate_key.DuplicateKey,
        hf101_not_persisted.StatefulDataNotPersisted,
        hf102_anonymous_volume.StatefulDataOnAnonymousVolume,
        hf103_named_volume.StatefulDataOnNamedVolume,
        hf104_unpinned_major.StatefulImageUnpinnedMajor,
        hf105_wrong_path.StatefulMountWrongPath,
        hf106_app_data.AppDataNotPersisted,
        *live_host.HOST_RULES,
    ]
