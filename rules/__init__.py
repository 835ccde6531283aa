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
        hf107_stop_grace,
        hf108_implicit_project_name,
        hf201_obsolete_version,
        hf202_undefined_volume,
        hf203_undefined_service,
        hf204_duplicate_port,
        hf205_duplicate_container_name,
        hf206_bind_escapes,
        hf301_database_port,
        hf302_docker_socket,
        hf303_privileged,
        hf304_secret_env,
        hf401_swarm_placement,
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
        hf107_stop_grace.StatefulStopGraceTooShort,
        hf108_implicit_project_name.ImplicitProjectName,
        hf201_obsolete_version.ObsoleteVersionField,
        hf202_undefined_volume.UndefinedNamedVolume,
        hf203_undefined_service.UndefinedServiceReference,
        hf204_duplicate_port.DuplicateHostPort,
        hf205_duplicate_container_name.DuplicateContainerName,
        hf206_bind_escapes.BindSourceEscapesProject,
        hf301_database_port.DatabasePortPublished,
        hf302_docker_socket.DockerSocketMounted,
        hf303_privileged.PrivilegedContainer,
        hf304_secret_env.SecretInEnvironment,
        hf401_swarm_placement.SwarmStatefulWithoutPlacement,
        *live_host.HOST_RULES,
    ]
