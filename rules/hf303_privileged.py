"""HF303: a service runs privileged."""

from __future__ import annotations

from typing import Iterable

from holdfast.model import Finding, Rule, Severity


class PrivilegedContainer(Rule):
    """A service runs with `privileged: true`.

    ## What it does
    Reports `privileged: true` on a service (in any file of the project, through
    `extends` or a merge key too). A value written with `${VAR}` is left alone.

    ## Why it matters
    A privileged container has every capability, sees every device and is not
    confined by seccomp or AppArmor: breaking out to the host is a matter of
    mounting its disk. Most images that ask for it need one capability
    (`cap_add: [NET_ADMIN]`) or one device (`devices:`).

    ## Example
    ```yaml
    services:
      vpn:
        image: example/vpn:2
        privileged: true
    ```

    ## Use instead
    ```yaml
      vpn:
        image: example/vpn:2
        cap_add: [NET_ADMIN]
        devices: ["/dev/net/tun"]
    ```

    ## Fix
    None automatically: which capabilities are needed depends on the image.

    ## References
    - Docker documentation, "Runtime privilege and Linux capabilities"
    - CIS Docker Benchmark 5.4, "Ensure that privileged containers are not used"
    """

    code = "HF303"
    name = "privileged-container"
    severity = Severity.WARNING
    groups = ("security",)

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.rules._compose import raw, uses_variable

        for service in ctx.project.services.values():
            if service.config.get("privileged") is not True:
                continue
            origin = service.origin("privileged")
            if uses_variable(raw(origin)):
                continue
            yield ctx.finding(origin, (), f"service `{service.name}` runs privileged: every capability and device, no seccomp or AppArmor confinement", service=service.name)
