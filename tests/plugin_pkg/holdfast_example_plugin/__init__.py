"""holdfast-example-plugin: one rule, X900, registered through the `holdfast` entry-point group."""

from __future__ import annotations

from holdfast.hookspecs import hookimpl
from holdfast.model import Rule, Severity


class ImageTagLatest(Rule):
    """An image that uses the `latest` tag.

    ## What it does
    Reports every service whose `image:` ends with `:latest`.

    ## Why it matters
    `latest` moves; the next pull may run something else.

    ## Example
    ```yaml
    services:
      web:
        image: nginx:latest
    ```

    ## Use instead
    A pinned tag such as `nginx:1.27`.

    ## Fix
    None.

    ## References
    - holdfast README, "Plugins"
    """

    code = "X900"
    name = "example-image-tag-latest"
    severity = Severity.WARNING

    def check(self, ctx):
        for service in ctx.project.services.values():
            image = service.config.get("image")
            if isinstance(image, str) and image.endswith(":latest"):
                origin = service.origin("image")
                yield ctx.finding(origin, (), f"`{image}` uses the latest tag (example plugin)", service=service.name)


@hookimpl
def holdfast_rules():
    return [ImageTagLatest]
