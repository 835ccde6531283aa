"""HF304: a password, secret or token written as a literal value in `environment:`."""

from __future__ import annotations

import re
from typing import Iterable

from holdfast.model import Finding, Rule, Severity

# Patterns compiled on first use (re caches them): most files never reach them, and
# compiling both at import cost about a millisecond of every cold start.
SECRET_NAME = r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|(^|_)PASS$|(^|_)PWD$)"
# Names that contain a secret word but hold a setting, not a secret.
NOT_SECRET = (
    r"(_FILE$|ALLOW_EMPTY|RANDOM_ROOT|_LENGTH|_LEN$|EXPIR|_TTL|TIMEOUT|LIFETIME|_ENABLED?$|_REQUIRED$|_URL$|_URI$|_PATH$|_DIR$|_TYPE$|_METHOD$|"
    r"_ALGORITHM$|_ALG$|_ISSUER$|_AUDIENCE$|_HEADER$|_POLICY$|_MODE$|_HOST$|_PORT$|_USER(NAME)?$|_NAME$|_ID$|_KEY_ID$|_FORMAT$|_SOURCE$|_PROVIDER$|_STORE$|_BACKEND$|_SERVICE$|CERT|_BUNDLE$|_MIN_|_MAX_|^USE_|^ENABLE_|^DISABLE_|_HASH_|_VERIFY)"
)
NON_SECRET_VALUES = {"true", "false", "yes", "no", "on", "off", "0", "1", "none", "null"}


def is_secret_name(name: str) -> bool:
    return bool(re.search(SECRET_NAME, name, re.IGNORECASE)) and not re.search(NOT_SECRET, name, re.IGNORECASE)


class SecretInEnvironment(Rule):
    """A password, secret or token is written in clear in the compose file's `environment:`.

    ## What it does
    Reports each `environment:` entry (list `- NAME=value` or mapping `NAME: value`)
    whose name says it holds a password, passphrase, secret or token
    (`POSTGRES_PASSWORD`, `JWT_SECRET`, `GITHUB_TOKEN`, `REDIS_PASS`, ...) and whose
    value is a literal. Not reported: values from `${VAR}` (the variable lives in
    `.env` or the shell), `*_FILE` variables (Docker secrets), empty values and
    names passed through from the shell (`- NAME`), values that are a file path
    (`/run/secrets/db_password`), switches such as
    `MYSQL_ALLOW_EMPTY_PASSWORD=yes` or `MYSQL_RANDOM_ROOT_PASSWORD=1`, and
    settings about secrets (`TOKEN_TTL`, `PASSWORD_MIN_LENGTH`, `SECRET_KEY_ID`).

    ## Why it matters
    A compose file is committed, copied into tickets and pasted into chats; a
    password in it is public to everyone who ever saw it, and tends to be the one
    the production database still uses. It also ends up in `docker inspect`
    output of the container.

    ## Example
    ```yaml
    services:
      db:
        image: postgres:16
        environment:
          POSTGRES_PASSWORD: hunter2
    ```

    ## Use instead
    ```yaml
        environment:
          POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it in .env}
    ```
    or `POSTGRES_PASSWORD_FILE: /run/secrets/db_password` with a Compose secret.

    ## Fix
    None automatically: move the value to `.env` (kept out of version control) or a secret.

    ## References
    - Compose documentation, "Use secrets in Compose"
    - docker-library/docs postgres: "Docker Secrets" (`POSTGRES_PASSWORD_FILE`)
    """

    code = "HF304"
    name = "secret-in-environment"
    severity = Severity.WARNING
    groups = ("security",)

    def check(self, ctx) -> Iterable[Finding]:
        from holdfast.rules._compose import items, uses_variable

        for service in ctx.project.services.values():
            for item in items(service, "environment"):
                if isinstance(item.key, int):
                    if not isinstance(item.raw, str) or "=" not in item.raw:
                        continue
                    name, _, value = item.raw.partition("=")
                else:
                    name, value = str(item.key), item.raw
                    if value is None or isinstance(value, (bool, dict, list)):
                        continue
                    value = str(value)
                name = name.strip()
                if not is_secret_name(name) or uses_variable(value) or uses_variable(name):
                    continue
                text = value.strip().strip("\"'")
                if not text or text.lower() in NON_SECRET_VALUES or (text.startswith("/") and " " not in text):
                    continue  # empty, a switch, or the path of a secret file (`/run/secrets/db`)
                yield ctx.finding(
                    item.origin,
                    (),
                    f"`{name}` of service `{service.name}` is set to a literal value in the compose file: the secret is visible to everyone who can read the file",
                    service=service.name,
                    data={"variable": name},
                )
