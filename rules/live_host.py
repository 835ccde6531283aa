"""HF501-HF504: findings about a live Docker host, produced by `holdfast inspect`.

These rules describe containers and volumes, not compose files, so `scope` is
"host": `holdfast lint` never runs them and their `check` yields nothing. They
are Rule classes so that `holdfast rules`, `holdfast rule HF501`, configuration
(select, ignore, severity) and the SARIF rule metadata treat them like any other
rule. The audit itself is `holdfast.apply.inspect`.
"""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class _HostRule(Rule):
    scope = "host"
    groups = ("data-safety", "live-host")

    def check(self, ctx) -> Iterable[Finding]:  # noqa: ARG002 - host findings come from `holdfast inspect`
        return iter(())


class LiveDataNotPersisted(_HostRule):
    """A running or stopped container keeps a database's data on an anonymous volume or in its writable layer.

    ## What it does
    `holdfast inspect` looks at every container on a Docker engine (every Compose
    project, v1 `mastodon_db_1` and v2 `mastodon-db-1` alike, and containers started
    without Compose), works out where its image keeps its data from the container's
    real environment, command and running major version (`PG_MAJOR`, `PGDATA`,
    `redis-server --dir`, ...), and reads the engine's `Mounts` to see what holds that
    path. It reports the path when the deepest mount holding it is an anonymous volume
    (named, with its size when the engine reports it quickly) or when no mount holds it
    at all. A tmpfs at the data path is taken as deliberate; servers with persistence
    switched off (`redis-server --save ""`) are skipped.

    ## Why it matters
    An anonymous volume survives a restart and even a Compose recreate, so everything
    looks fine until someone runs `docker compose down` then `up` (a new empty volume;
    the data is orphaned), `docker rm -v`, `down -v` or `docker volume prune` (the data
    is deleted). Data in the writable layer is lost on the next recreate. A bind mount
    on a parent folder does not help when the image declares a VOLUME deeper down:
    Docker mounts an anonymous volume on top (postgres <= 17 with a bind at
    `/var/lib/postgresql`).

    ## Example
    ```console
    $ docker inspect -f '{{json .Mounts}}' mastodon_db_1
    [{"Type":"volume","Name":"3f1c…e9","Destination":"/var/lib/postgresql/data",…}]
    ```

    ## Use instead
    ```yaml
    services:
      db:
        image: postgres:15-alpine
        volumes:
          - ./postgres:/var/lib/postgresql/data
    ```

    ## Fix
    Do not run `down`, `rm` or `prune` first. With the compose file at hand,
    `holdfast fix --apply` (or `holdfast plan` then `holdfast apply`) stops the service,
    copies the data into a bind mount, recreates the container and verifies it. Without
    Compose, stop the container, copy the data out (`docker cp ctr:/path/. ./dir`) and
    start a new container with the bind mount.

    ## References
    - Docker documentation, `docker container rm --volumes` and `docker volume prune`
    - docker-library/docs postgres: "PGDATA" and the note on /var/lib/postgresql
    - https://github.com/mastodon/mastodon/issues/1080
    """

    code = "HF501"
    name = "live-data-not-persisted"
    severity = Severity.ERROR


class LiveBindSourceEmpty(_HostRule):
    """A container's data path is a bind mount whose source is empty.

    ## What it does
    For each container whose data path is on a bind mount, asks the engine for the
    data path's contents (`GET /containers/{id}/archive`, the API behind `docker cp`;
    it works on stopped containers and on remote engines, so nothing is read from the
    local file system) and reports the path when it is missing or has no entries
    (`lost+found` aside). Servers that only write their files on the first save
    (redis, valkey, keydb) are not reported while they run.

    ## Why it matters
    A database that is running or has run writes its files into its data directory at
    once. An empty bind source means the server keeps its data somewhere else (the
    mount is at the wrong path) or the folder was moved, renamed, or mounted from the
    wrong project directory; the next start of such a container initialises a new,
    empty database while the real data sits elsewhere.

    ## Example
    ```console
    $ docker inspect -f '{{json .Mounts}}' app-db-1
    [{"Type":"bind","Source":"/srv/old-app/postgres","Destination":"/var/lib/postgresql/data",…}]
    $ ls -A /srv/old-app/postgres      # nothing
    ```

    ## Use instead
    Mount the folder that holds the data (the one with `PG_VERSION`, `mysql/`,
    `WiredTiger`, ...) at the data path the image uses for that version.

    ## Fix
    Find where the data is (`holdfast inspect` also reports orphaned volumes, HF503),
    stop the container, fix the mount source or target, and start it again. Do not let
    a server start on the empty folder if the old data is still needed.

    ## References
    - Docker documentation, "Bind mounts"
    - docker-library/docs postgres: "Where to Store Data"
    """

    code = "HF502"
    name = "live-bind-source-empty"
    severity = Severity.WARNING


class OrphanedDataVolume(_HostRule):
    """A volume that no container uses holds a database's files.

    ## What it does
    Lists the engine's dangling volumes (no container uses them) and looks at the top of
    each through a short-lived helper container that is never started: it is created
    from an image already present on the engine (never pulled), mounts the volume
    read-only, and is removed right after without touching any volume. Files such as
    `PG_VERSION`, `mysql/`, `WiredTiger`, `dump.rdb`, `appendonlydir`, `mnesia` or
    `meta.properties` name the likely data store; for PostgreSQL the message includes
    the version from `PG_VERSION`. Volumes with no recognised files are not reported.

    ## Why it matters
    `docker compose down` then `up`, `docker compose rm`, `docker rm` without `-v`, or
    an image upgrade that moved its VOLUME (postgres 17 to 18) leave the old data in an
    anonymous volume that nothing will re-attach. It looks like data loss, the data is
    still there, and the next `docker volume prune` (or `system prune --volumes`)
    deletes it for good.

    ## Example
    ```console
    $ docker volume ls -f dangling=true
    DRIVER    VOLUME NAME
    local     3f1c0b…e9
    ```

    ## Use instead
    Keep data on bind mounts or named volumes declared in the compose file, and move
    data with `holdfast fix --apply`, which verifies the copy before anything is removed.

    ## Fix
    Before any prune: back the volume up (`docker run --rm -v NAME:/from:ro -v
    $PWD:/to IMAGE tar -C /from -cf /to/NAME.tar .`) or mount it into the service
    again (`NAME:/var/lib/postgresql/data` as an `external` volume), check the data,
    and only then remove it with `docker volume rm NAME`.

    ## References
    - Docker documentation, `docker volume prune` ("removes anonymous volumes by default")
    - docker/compose `down`: anonymous volumes are not re-attached after `down`
    """

    code = "HF503"
    name = "orphaned-data-volume"
    severity = Severity.WARNING


class ProjectNameTrap(_HostRule):
    """A project's database runs on a new volume while an older volume of another project name holds its data.

    ## What it does
    For each data store container of a Compose project `NEW` whose data path is on
    a named volume `NEW_v` (labels `com.docker.compose.project=NEW`,
    `com.docker.compose.volume=v`), looks for an unused volume `OLD_v` with the same
    volume key `v`, another project name, created earlier, that holds the same
    kind of data (init markers such as `PG_VERSION`, read through a never-started,
    read-only helper container as for HF503). The finding names both volumes and
    the two ways back.

    ## Why it matters
    Compose names volumes `<project>_<volume>`, and the project name defaults to the
    folder's name. Rename or move the folder (or clone it under another name) and
    `docker compose up` creates `NEW_v`, starts an empty database on it, and leaves
    the real data in `OLD_v`. Nothing in the compose file changed, so nobody looks
    there; the next `docker volume prune --all` deletes the old data.

    ## Example
    ```console
    $ mv shop shop-prod && cd shop-prod && docker compose up -d
    $ docker volume ls
    local     shop_pgdata         # the data
    local     shop-prod_pgdata    # an empty database, in use
    ```

    ## Use instead
    A top-level `name:` in the compose file (HF108 reports its absence), so the
    volume names do not depend on the folder.

    ## Fix
    Either run the project under its old name again: add `name: OLD` at the top
    of the compose file (or `COMPOSE_PROJECT_NAME=OLD` in `.env`), then
    `docker compose down` and `docker compose up -d`; or stop the service and copy
    the old volume into the new one (`docker run --rm -v OLD_v:/from:ro -v
    NEW_v:/to IMAGE sh -c 'cp -a /from/. /to/'`), after checking nothing in the
    new database is worth keeping.

    ## References
    - Compose documentation, "Specify a project name" (the default is the folder name)
    - Compose documentation, volumes are named `<project>_<volume>` unless they set `name:`
    """

    code = "HF504"
    name = "project-name-trap"
    severity = Severity.WARNING


HOST_RULES: tuple[type[Rule], ...] = (LiveDataNotPersisted, LiveBindSourceEmpty, OrphanedDataVolume, ProjectNameTrap)
