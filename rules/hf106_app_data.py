"""HF106: a self-hosted application keeps its uploads, configuration or state only inside the container."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Severity
from holdfast.rules.hf101_not_persisted import StatefulDataNotPersisted


class AppDataNotPersisted(StatefulDataNotPersisted):
    """A self-hosted application whose data folder is not on a bind mount or named volume.

    ## What it does
    For every service whose image is a known self-hosted application (vaultwarden,
    nextcloud, gitea, immich, paperless-ngx, grafana, jellyfin, home assistant, any
    LinuxServer.io image, ...), works out where the application keeps its uploads,
    configuration and state for that image, tag and environment (`DATA_FOLDER`,
    `GF_PATHS_DATA`, `IMMICH_MEDIA_LOCATION`, ...) and checks that a bind mount or a
    named volume holds it in the effective project. An anonymous volume counts as
    not persisted. The analysis is HF101's; the image knowledge (`kind:
    application` in `holdfast images IMAGE`) decides which of the two rules reports.

    ## Why it matters
    Losing `/data` of vaultwarden loses every password; losing nextcloud's
    `/var/www/html`, immich's uploads or a LinuxServer.io image's `/config` loses
    files, accounts and settings. The container's writable layer goes with every
    recreate, an image VOLUME with `docker compose down` then `up`, or `rm`.

    ## Example
    ```yaml
    services:
      vaultwarden:
        image: vaultwarden/server:1.32.0
        ports: ["8080:80"]
    ```

    ## Use instead
    ```yaml
    services:
      vaultwarden:
        image: vaultwarden/server:1.32.0
        ports: ["8080:80"]
        volumes:
          - ./vw-data:/data
    ```

    ## Fix
    Safe: the same repair as HF101. Uncomment the author's commented-out `volumes:`
    block when it holds the path, otherwise add a bind mount under
    `./data/<service>` (or a named volume); an anonymous entry is replaced in place,
    as HF102's fix does. On a live host `holdfast fix` refuses while the container
    holds the data; `holdfast fix --apply` (or `plan` / `apply`) moves it first.

    ## References
    - vaultwarden wiki, "Using Docker Compose" (`./vw-data/:/data/`)
    - https://docs.linuxserver.io/general/running-our-containers/ (`/config`)
    - `holdfast images IMAGE` shows the path, the version rule and the source used
    """

    code = "HF106"
    name = "app-data-not-persisted"
    severity = Severity.WARNING
    fixable = True
    groups = ("data-safety",)
    options = {"maybe-stateful": False}
    category = "application"
    lost_states = ("image-volume", "container-layer")  # an anonymous entry: reported at the entry, below
    leave_near_misses = False  # HF105 checks data stores only: a mount beside the data is reported here

    def check(self, ctx) -> Iterable[Finding]:
        """HF101's analysis for applications, and HF102's for their anonymous `volumes:` entries (so that
        the entry itself is replaced by the fix, as for a data store)."""
        from holdfast.rules.hf102_anonymous_volume import anonymous_data_findings

        yield from super().check(ctx)
        yield from anonymous_data_findings(ctx, self.category, maybe_stateful=bool(ctx.options.get("maybe-stateful")))
