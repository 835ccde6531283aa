"""The built-in fixers, registered through the `holdfast` entry-point group like any plugin.

Each fixer lives in its own module and is imported inside the hook, so that a
lint run that attaches no fixes pays nothing for them.
"""

from __future__ import annotations

from holdfast.hookspecs import hookimpl


@hookimpl
def holdfast_fixers() -> list:
    from holdfast.fixers.hf101_persist import PersistDataFixer
    from holdfast.fixers.hf102_anonymous import AnonymousVolumeFixer
    from holdfast.fixers.hf105_wrong_path import WrongPathFixer
    from holdfast.fixers.hf107_stop_grace import StopGraceFixer
    from holdfast.fixers.hf201_version import VersionFieldFixer
    from holdfast.fixers.hf202_declare_volume import DeclareVolumeFixer
    from holdfast.fixers.hf301_bind_localhost import BindLocalhostFixer

    return [PersistDataFixer(), AnonymousVolumeFixer(), WrongPathFixer(), StopGraceFixer(), VersionFieldFixer(), DeclareVolumeFixer(), BindLocalhostFixer()]
