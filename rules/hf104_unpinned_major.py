"""HF104: a stateful image whose tag does not pin the major version."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class StatefulImageUnpinnedMajor(Rule):
    """A data store's image tag can move to a new major version (`postgres:alpine`, `redis`, `mysql:latest`).

    ## What it does
    Reports stateful images with no tag, `latest`, `lts`, `stable` or a tag without
    a version number.

    ## Why it matters
    On-disk formats change between major versions. The next pull can start a new
    major on the old data directory, which then refuses to start (postgres) or is
    upgraded in place with no way back (mysql). postgres 18 also moved its data
    directory, so an old mount silently stops holding the data.

    ## Example
    ```yaml
    services:
      db:
        image: postgres:alpine
    ```

    ## Use instead
    ```yaml
        image: postgres:16-alpine
    ```

    ## Fix
    None offline (holdfast cannot know which version your data was written by);
    `holdfast plan` pins the tag to the version the container actually runs.

    ## References
    - https://github.com/docker-library/postgres/issues/37
    """

    code = "HF104"
    name = "stateful-image-unpinned-major"
    severity = Severity.WARNING
    groups = ("data-safety",)

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.persistence import project_analyses

        for analysis in project_analyses(ctx.project, ctx.knowledge):
            image = analysis.image
            if not image.floating or analysis.image_source != "image" or image.stateful != "yes":
                continue
            service = analysis.service
            tag = image.ref.tag or "latest (no tag)"
            origin = service.origin("image")
            value_node = origin.document.pair(*origin.path)[1]
            yield ctx.finding(
                origin,
                (),
                f"`{image.ref.raw}` does not pin a {image.title} major version (tag {tag}); a pull can start a new major on the existing data",
                service=service.name,
                span=origin.document.span(value_node) if value_node is not None else None,
            )
