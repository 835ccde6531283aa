"""The families added for breadth (issue 11): each one flagged with its data path and
rule when nothing is mounted, quiet once the data path is mounted; look-alikes never flagged.

One service per family, linted through the public API like a user's compose file.
"""

from __future__ import annotations

import pytest
from holdfast.api import lint_paths
from holdfast.config import Config
from holdfast.knowledge import default_knowledge

# (image reference, rule, the data paths a mount must cover)
DATA_STORES = [
    ("hashicorp/vault:1.17", ["/vault/file"]),
    ("vault:1.13.3", ["/vault/file"]),
    ("quay.io/openbao/openbao:2.1.0", ["/openbao/file"]),
    ("edgedb/edgedb:5", ["/var/lib/edgedb/data"]),
    ("geldata/gel:6", ["/var/lib/gel/data"]),
    ("codenotary/immudb:1.9.5", ["/var/lib/immudb"]),
    ("dolthub/dolt-sql-server:1.43.0", ["/var/lib/dolt"]),
    ("cloudamqp/lavinmq:2.0", ["/var/lib/lavinmq"]),
    ("apache/rocketmq:5.3.1", ["/home/rocketmq/store"]),
    ("grafana/tempo:2.6.0", ["/var/tempo"]),
    ("grafana/pyroscope:1.9.0", ["/data"]),
    ("datalust/seq:2024.3", ["/data"]),
    ("ghcr.io/tursodatabase/libsql-server:latest", ["/var/lib/sqld"]),
    ("tdengine/tdengine:3.3.2.0", ["/var/lib/taos"]),
    ("apache/iotdb:1.3.2-standalone", ["/iotdb/data"]),
    ("victoriametrics/vmstorage:v1.102.0-cluster", ["/vmstorage-data"]),
    ("bitnami/janusgraph:1", ["/bitnami/janusgraph"]),
    ("greptime/greptimedb:v0.14.0", ["/greptimedb_data"]),
    ("greptime/greptimedb:v0.7.2", ["/tmp/greptimedb"]),
    ("graylog/graylog-datanode:6.1", ["/var/lib/graylog-datanode"]),
    ("ghcr.io/project-zot/zot-linux-amd64:v2.1.0", ["/var/lib/registry"]),
    ("rustfs/rustfs:1.0.0-alpha.58", ["/data"]),
    ("percona/percona-distribution-postgresql:16.8", ["/data/db"]),
    ("valeriansaliou/sonic:v1.4.9", ["/var/lib/sonic/store"]),
    ("marklogicdb/marklogic-db:11.2.0-ubi", ["/var/opt/MarkLogic"]),
    ("opengauss/opengauss:7.0.0-RC1", ["/var/lib/opengauss/data"]),
    ("openlink/virtuoso-opensource-7:7.2.14", ["/database"]),
    ("clickhouse/clickhouse-keeper:24.3-alpine", ["/var/lib/clickhouse-keeper"]),
    ("falkordb/falkordb:v4.4.1", ["/var/lib/falkordb/data"]),
    ("starrocks/allin1-ubuntu:3.3.22", ["/data/deploy/starrocks/fe/meta", "/data/deploy/starrocks/be/storage"]),
    ("hashicorp/nomad:1.8", ["/nomad/data"]),
    ("bitnami/clickhouse-keeper:25", ["/bitnami/clickhouse-keeper"]),
    ("public.ecr.aws/bitnami/activemq:6.1", ["/bitnami/activemq/data"]),
    ("bitnamilegacy/scylladb:2025.1", ["/bitnami/scylladb/data"]),
    ("harisekhon/hbase:2.1", ["/hbase-data"]),
    ("starrocks/fe-ubuntu:3.3.5", ["/opt/starrocks/fe/meta"]),
    ("starrocks/be-ubuntu:3.3.5", ["/opt/starrocks/be/storage"]),
    ("apache/doris:fe-3.0.5", ["/opt/apache-doris/fe/doris-meta"]),
    ("apache/doris:be-3.0.5", ["/opt/apache-doris/be/storage"]),
    ("apachepinot/pinot:1.2.0", ["/opt/pinot/data"]),
    ("vesoft/nebula-storaged:v3.8.0", ["/usr/local/nebula/data/storage"]),
    ("vesoft/nebula-metad:v3.8.0", ["/usr/local/nebula/data/meta"]),
    ("tile38/tile38:1.33.4", ["/data"]),
    ("arcadedata/arcadedb:24.11.2", ["/home/arcadedb/databases"]),
    ("apache/kudu:1.17.1", ["/var/lib/kudu"]),
]

APPLICATIONS = [
    ("ghcr.io/shaarli/shaarli:v0.14.0", ["/var/www/shaarli/data"]),
    ("lldap/lldap:stable", ["/data"]),
    ("drakkan/sftpgo:v2.6", ["/var/lib/sftpgo", "/srv/sftpgo"]),
    ("restic/rest-server:0.13.0", ["/data"]),
    ("shaneisrael/fireshare:latest", ["/data"]),
    ("bitnami/sonarqube:10", ["/bitnami/sonarqube"]),
    ("bitnamilegacy/mastodon:4", ["/bitnami/mastodon"]),
    ("jlesage/jdownloader-2:v24.12.1", ["/config"]),
    ("ghcr.io/plankanban/planka:2.0.0", ["/app/data"]),
    ("ghcr.io/plankanban/planka:1.26.2", ["/app/public/user-avatars", "/app/public/project-background-images", "/app/private/attachments"]),
    ("mattermost/focalboard:7.10.0", ["/opt/focalboard/data"]),
    ("listmonk/listmonk:v4.1.0", ["/listmonk/uploads"]),
    ("gristlabs/grist:1.2", ["/persist"]),
    ("kimai/kimai2:apache-2.26.0", ["/opt/kimai/var/data"]),
    ("b4bz/homer:v24.12.1", ["/www/assets"]),
    ("lissy93/dashy:3.1.0", ["/app/user-data/conf.yml"]),
    ("lissy93/dashy:2.1.1", ["/app/public/conf.yml"]),
    ("uroni/urbackup-server:2.5.33", ["/var/urbackup", "/backups"]),
    ("superseriousbusiness/gotosocial:0.17.3", ["/gotosocial/storage"]),
    ("ghcr.io/girlbossceo/conduwuit:v0.4.6", ["/var/lib/conduwuit"]),
    ("technitium/dns-server:13.3.0", ["/etc/dns"]),
    ("stalwartlabs/stalwart:v0.13.0", ["/opt/stalwart"]),
    ("stalwartlabs/mail-server:v0.10.5", ["/opt/stalwart-mail"]),
    ("kanidm/server:1.4.2", ["/data"]),
    ("stonith404/pingvin-share:v1.2.0", ["/opt/app/backend/data"]),
    ("metabase/metabase:v0.50.10", ["/metabase.db"]),
    ("quay.io/keycloak/keycloak:26.0", ["/opt/keycloak/data/h2"]),
    ("checkmk/check-mk-raw:2.3.0-latest", ["/omd/sites"]),
    ("crowdsecurity/crowdsec:v1.6.3", ["/var/lib/crowdsec/data"]),
    ("archivebox/archivebox:0.7.2", ["/data"]),
    ("semaphoreui/semaphore:v2.10.22", ["/var/lib/semaphore"]),
    ("rundeck/rundeck:5.6.0", ["/home/rundeck/server/data"]),
    ("djmaze/snappymail:v2.38.2", ["/var/lib/snappymail"]),
    ("ghcr.io/silverbulletmd/silverbullet:v2", ["/space"]),
    ("henrygd/beszel:0.9.1", ["/beszel_data"]),
    ("docuseal/docuseal:1.8.1", ["/data/docuseal"]),
    ("ghcr.io/sysadminsmedia/homebox:0.15.2", ["/data"]),
    ("ghcr.io/diced/zipline:4.0.0", ["/zipline/uploads"]),
    ("mbentley/omada-controller:5.15", ["/opt/tplink/EAPController/data"]),
    ("ckulka/baikal:0.10.1-nginx", ["/var/www/baikal/Specific"]),
    ("invoiceninja/invoiceninja-debian:5.12.0", ["/var/www/html/storage"]),
    ("invoiceninja/invoiceninja-octane:5.12.0", ["/app/storage"]),
    ("bitnamilegacy/owncloud:10", ["/bitnami/owncloud"]),
    ("bitnami/orangehrm:5", ["/bitnami/orangehrm"]),
    ("bitnami/jasperreports:8", ["/bitnami/jasperreports"]),
    ("bitnami/ejbca:8", ["/bitnami/ejbca"]),
    ("bitnami/phabricator:2021", ["/bitnami/phabricator"]),
    ("bitnamilegacy/testlink:1", ["/bitnami/testlink"]),
    ("mautic/mautic:5-apache", ["/var/www/html/config", "/var/www/html/docroot/media/files", "/var/www/html/docroot/media/images"]),
    ("mautic/mautic:v4", ["/var/www/html"]),
    ("espocrm/espocrm:9.0", ["/var/www/html"]),
    ("glpi/glpi:11.0", ["/var/glpi"]),
    ("diouxx/glpi:latest", ["/var/www/html/glpi"]),
    ("twentycrm/twenty:v1.0", ["/app/packages/twenty-server/.local-storage"]),
    ("frappe/erpnext:v15.78.0", ["/home/frappe/frappe-bench/sites"]),
    ("langgenius/dify-api:1.11.1", ["/app/api/storage"]),
    ("stirlingtools/stirling-pdf:1.0.0", ["/configs"]),
    ("searxng/searxng:2025.1.1", ["/etc/searxng"]),
    ("akaunting/akaunting:3.1", ["/var/www/html/storage", "/var/www/html/modules"]),
    ("ghcr.io/go-shiori/shiori:v1.7.0", ["/shiori"]),
    ("tomsquest/docker-radicale:3.2.3.0", ["/data"]),
    ("pufferpanel/pufferpanel:v3.0.0", ["/var/lib/pufferpanel"]),
    ("bbilly1/tubearchivist:v0.4.13", ["/youtube", "/cache"]),
    ("solidnerd/bookstack:24.10", ["/var/www/bookstack/public/uploads", "/var/www/bookstack/storage/uploads"]),
    ("ghcr.io/ajnart/homarr:0.15.3", ["/app/data/configs", "/app/public/icons", "/data"]),
    ("ghcr.io/pocket-id/pocket-id:v1", ["/app/data"]),
    ("zwavejs/zwave-js-ui:9.27.0", ["/usr/src/app/store"]),
    ("ghcr.io/thomiceli/opengist:1.8", ["/opengist"]),
    ("evcc/evcc:0.131.0", ["/root/.evcc"]),
    ("mayswind/ezbookkeeping:0.8.0", ["/ezbookkeeping/data", "/ezbookkeeping/storage"]),
    ("crazymax/diun:4.28", ["/data"]),
    ("charmcli/soft-serve:v0.8.1", ["/soft-serve"]),
    ("f0rc3/gokapi:v1.9.6", ["/app/data", "/app/config"]),
    ("alexxit/go2rtc:1.9.7", ["/config"]),
    ("dullage/flatnotes:v5", ["/data"]),
    ("jevolk/tuwunel:v1.4.0", ["/var/lib/tuwunel"]),
    ("ghcr.io/sillytavern/sillytavern:1.12.11", ["/home/node/app/config", "/home/node/app/data"]),
    ("caronc/apprise:1.1", ["/config"]),
    ("ghcr.io/kieraneglin/pinchflat:v2025.1.17", ["/config", "/downloads"]),
    ("qbittorrentofficial/qbittorrent-nox:5.0.3-1", ["/config", "/downloads"]),
    ("matrixdotorg/dendrite-monolith:v0.13.8", ["/etc/dendrite"]),
    ("codercom/code-server:4.96.4", ["/home/coder/.config", "/home/coder/.local"]),
    ("ghcr.io/tale/headplane:0.5.10", ["/var/lib/headplane"]),
    ("onlyoffice/documentserver:8.2", ["/var/www/onlyoffice/Data"]),
    ("ghcr.io/music-assistant/server:2.3.6", ["/data"]),
    ("2fauth/2fauth:5.4.3", ["/2fauth"]),
    ("ghcr.io/jordan-dalby/bytestash:1.5.6", ["/data/snippets"]),
    ("ghcr.io/recyclarr/recyclarr:7.4.0", ["/config"]),
    ("ghcr.io/jorenn92/maintainerr:2.2.1", ["/opt/data"]),
    ("rommapp/romm:3.7.3", ["/romm/assets"]),
    ("crocodilestick/calibre-web-automated:V3.0.4", ["/config", "/calibre-library"]),
    ("deconzcommunity/deconz:2.28.1", ["/opt/deCONZ"]),
    ("prom/alertmanager:v0.27.0", ["/alertmanager"]),
    ("penpotapp/backend:2.3.2", ["/opt/data/assets"]),
    ("openlistteam/openlist:v4.0.0", ["/opt/openlist/data"]),
    ("bellamy/wallos:2.38.0", ["/var/www/html/db", "/var/www/html/images/uploads/logos"]),
    ("ghcr.io/nodebb/nodebb:4.0.0", ["/opt/config", "/usr/src/app/public/uploads"]),
    ("fhem/fhem:latest", ["/opt/fhem"]),
    ("localai/localai:v2.24.2-aio-cpu", ["/models"]),
    ("athou/commafeed:5.5.0-h2", ["/commafeed/data"]),
    ("ghcr.io/hargata/lubelogger:v1.4.0", ["/App/data", "/App/wwwroot/documents", "/App/wwwroot/images"]),
    ("thijsvanloef/palworld-server-docker:v1.3.0", ["/palworld"]),
    ("ghcr.io/pocketpairjp/palserver:v1.0.5.102999", ["/pal/Package/Pal/Saved"]),
    ("tombursch/kitchenowl:v0.6.4", ["/data"]),
    ("ghcr.io/papra-hq/papra:0.8.2", ["/app/app-data"]),
    ("josh5/unmanic:0.2.8", ["/config"]),
    ("mayanedms/mayanedms:s4.7", ["/var/lib/mayan"]),
    ("wolveix/satisfactory-server:v1.9.1", ["/config"]),
    ("ghcr.io/pterodactyl/wings:v1.11.13", ["/var/lib/pterodactyl"]),
    ("filebrowser/filebrowser:v2.32.0", ["/database"]),
    ("germannewsmaker/myspeed:1.0.9", ["/myspeed/data"]),
    ("selfhostedpro/yacht:v0.0.7-alpha", ["/config"]),
    ("zoraxydocker/zoraxy:v3.1.8", ["/opt/zoraxy/config"]),
    ("pawelmalak/flame:2.3.1", ["/app/data"]),
    ("zerotier/zerotier:1.14.2", ["/var/lib/zerotier-one"]),
    ("ghcr.io/thelounge/thelounge:4.4.3", ["/var/opt/thelounge"]),
    ("ghcr.io/ergochat/ergo:v2.14.0", ["/ircd"]),
    ("ghcr.io/autobrr/autobrr:v1.53.0", ["/config"]),
    ("ghcr.io/cross-seed/cross-seed:6.11.2", ["/config"]),
    ("owntracks/recorder:0.9.9", ["/store"]),
    ("kometateam/kometa:v2.1.0", ["/config"]),
    ("mtlynch/picoshare:1.4.5", ["/data"]),
    ("psitrax/psitransfer:2.2.0", ["/data"]),
    ("dockurr/windows:4.35", ["/storage"]),
    ("qemux/qemu:7.12", ["/storage"]),
    ("crazymax/rtorrent-rutorrent:5.1.5-0.9.8", ["/data"]),
    ("foxcpp/maddy:0.8.1", ["/data"]),
    ("ghcr.io/ofkm/arcane:v1.2.0", ["/app/data"]),
]

LOOK_ALIKES = [
    "vesoft/nebula-graphd:v3.8.0",
    "tombursch/kitchenowl-web:v0.6.4",
    "jlesage/baseimage-gui:debian-12-v4",
    "lscr.io/linuxserver/socket-proxy:latest",
    "linuxserver/docker-compose:2.29.7",
    "ghcr.io/linuxserver/baseimage-alpine:3.20",
    "ghcr.io/hotio/base:alpine",
]

# images whose default command keeps no data: the cases run them the way a deployment does
COMMANDS = {
    "hashicorp/vault:1.17": "server",
    "vault:1.13.3": "server",
    "quay.io/openbao/openbao:2.1.0": "server",
}

CASES = [(image, "HF101", paths) for image, paths in DATA_STORES] + [(image, "HF106", paths) for image, paths in APPLICATIONS]


def _lint(tmp_path, service: str) -> list:
    compose = tmp_path / "compose.yaml"
    compose.write_text(f"services:\n  app:\n{service}")
    return [f for f in lint_paths([str(compose)], config=Config(), select=["HF1"]) if f.code in ("HF101", "HF106")]


@pytest.mark.parametrize("image, rule, paths", CASES, ids=[c[0] for c in CASES])
def test_unmounted_data_is_flagged_with_its_path(tmp_path, image, rule, paths):
    findings = _lint(tmp_path, f"    image: {image}\n" + (f"    command: {COMMANDS[image]}\n" if image in COMMANDS else ""))
    assert [f.code for f in findings] == [rule], findings
    for path in paths:
        assert path in findings[0].message, (path, findings[0].message)


@pytest.mark.parametrize("image, rule, paths", CASES, ids=[c[0] for c in CASES])
def test_mounted_data_is_quiet(tmp_path, image, rule, paths):
    volumes = "".join(f"      - ./d{i}:{path}\n" for i, path in enumerate(paths))
    assert _lint(tmp_path, f"    image: {image}\n    volumes:\n{volumes}") == []


@pytest.mark.parametrize("image", LOOK_ALIKES)
def test_look_alikes_are_not_flagged(tmp_path, image):
    assert _lint(tmp_path, f"    image: {image}\n" + (f"    command: {COMMANDS[image]}\n" if image in COMMANDS else "")) == []
    assert default_knowledge().match(image) is None


@pytest.mark.parametrize(
    "service, flagged",
    [
        ("    image: quay.io/keycloak/keycloak:26.0\n    command: start-dev\n    environment:\n      KC_DB: postgres\n", False),
        ("    image: quay.io/keycloak/keycloak:26.0\n    environment:\n      - KC_DB=dev-file\n", True),
        ("    image: quay.io/keycloak/keycloak:26.0\n    environment:\n      KC_DB: ${KC_DB}\n", True),
        ("    image: metabase/metabase:v0.50.10\n    environment:\n      MB_DB_TYPE: postgres\n", False),
        ("    image: metabase/metabase:v0.50.10\n    environment:\n      MB_DB_TYPE: h2\n      MB_DB_FILE: /srv/mb/metabase.db\n    volumes:\n      - ./mb:/srv/mb\n", False),
        ("    image: metabase/metabase:v0.50.10\n    environment:\n      MB_DB_FILE: /srv/mb/metabase.db\n", True),
        ("    image: semaphoreui/semaphore:v2.10.22\n    environment:\n      SEMAPHORE_DB_DIALECT: postgres\n", False),
        ("    image: semaphoreui/semaphore:v2.10.22\n    environment:\n      SEMAPHORE_DB_DIALECT: bolt\n", True),
        ("    image: woodpeckerci/woodpecker-server:v3\n    environment:\n      WOODPECKER_DATABASE_DRIVER: postgres\n", False),
        ("    image: woodpeckerci/woodpecker-server:v3\n    environment:\n      WOODPECKER_DATABASE_DRIVER: sqlite3\n", True),
        ("    image: traccar/traccar:6.5\n    environment:\n      CONFIG_USE_ENVIRONMENT_VARIABLES: 'true'\n      DATABASE_DRIVER: org.postgresql.Driver\n", False),
        ("    image: traccar/traccar:6.5\n", True),
        ("    image: drone/drone:2\n    environment:\n      DRONE_DATABASE_DRIVER: postgres\n", False),
        ("    image: twentycrm/twenty:v1.0\n    environment:\n      STORAGE_TYPE: s3\n", False),
        ("    image: twentycrm/twenty:v1.0\n    environment:\n      STORAGE_TYPE: local\n", True),
        ("    image: penpotapp/backend:2.3.2\n    environment:\n      PENPOT_ASSETS_STORAGE_BACKEND: assets-s3\n", False),
        ("    image: vikunja/vikunja:0.24\n    environment:\n      VIKUNJA_DATABASE_TYPE: postgres\n    volumes:\n      - ./files:/app/vikunja/files\n", False),
        ("    image: vikunja/vikunja:0.24\n    environment:\n      VIKUNJA_DATABASE_TYPE: sqlite\n    volumes:\n      - ./files:/app/vikunja/files\n", True),
        ("    image: directus/directus:11.1\n    environment:\n      DB_CLIENT: sqlite3\n      DB_FILENAME: /srv/db/data.db\n    volumes:\n      - ./db:/srv/db\n      - ./up:/directus/uploads\n", False),
    ],
)
def test_an_external_database_leaves_nothing_to_persist(tmp_path, service, flagged):
    """KC_DB=postgres, MB_DB_TYPE=postgres: the state is in the database service, not this container."""
    assert bool(_lint(tmp_path, service)) is flagged


@pytest.mark.parametrize(
    "service",
    [
        "    image: falkordb/falkordb:v4.4.1\n    environment:\n      FALKORDB_DATA_PATH: /data\n    volumes:\n      - ./fk:/data\n",
        "    image: ghcr.io/silverbulletmd/silverbullet:v2\n    environment:\n      SB_FOLDER: /notes\n    volumes:\n      - ./notes:/notes\n",
        "    image: quay.io/prometheus/alertmanager:v0.27.0\n    command: [\"--storage.path=/srv/am\"]\n    volumes:\n      - ./am:/srv/am\n",
        "    image: codenotary/immudb:1.9.5\n    command: [\"--dir=/srv/immu\"]\n    volumes:\n      - ./immu:/srv/immu\n",
        "    image: psitrax/psitransfer:2.2.0\n    environment:\n      PSITRANSFER_UPLOAD_DIR: /srv/up\n    volumes:\n      - ./up:/srv/up\n",
        "    image: tile38/tile38:1.33.4\n    command: [\"tile38-server\", \"-d\", \"/srv/t38\"]\n    volumes:\n      - ./t38:/srv/t38\n",
        "    image: apache/kudu:1.17.1\n    command: master\n    environment:\n      DATA_DIR: /srv/kudu\n    volumes:\n      - ./kudu:/srv/kudu\n",
        "    image: vesoft/nebula-storaged:v3.8.0\n    command: --meta_server_addrs=m:9559 --data_path=/data/storage\n    volumes:\n      - ./st:/data/storage\n",
        # laradock: an empty ${METABASE_DB_FILE} leaves "/metabase-data/", a directory, not a file in /
        "    image: metabase/metabase:latest\n    environment:\n      - MB_DB_FILE=/metabase-data/${METABASE_DB_FILE}\n    volumes:\n      - ./mb:/metabase-data\n",
    ],
)
def test_env_and_flags_move_the_data(tmp_path, service):
    assert _lint(tmp_path, service) == []


def test_an_external_database_leaves_the_uploads(tmp_path):
    """DB_CLIENT=pg moves Directus' SQLite folder to PostgreSQL; the uploads stay in the container."""
    service = "    image: directus/directus:11.1\n    environment:\n      DB_CLIENT: pg\n"
    [finding] = _lint(tmp_path, service)
    assert "/directus/uploads" in finding.message and "/directus/database" not in finding.message
    assert _lint(tmp_path, service + "    volumes:\n      - ./up:/directus/uploads\n") == []
    [finding] = _lint(tmp_path, "    image: directus/directus:11.1\n    volumes:\n      - ./up:/directus/uploads\n")
    assert "/directus/database" in finding.message


@pytest.mark.parametrize(
    "image, family",
    [
        ("ghcr.io/element-hq/synapse:v1.120.0", "matrix-synapse"),
        ("ghcr.io/usememos/memos:0.24", "memos"),
        ("ghcr.io/dani-garcia/vaultwarden:1.32.0", "vaultwarden"),
        ("ghcr.io/dockur/windows:4.35", "dockur-windows"),
        ("qemux/qemu-docker:6.17", "qemux-qemu"),
        ("meisnate12/plex-meta-manager:v1.20.0", "kometa"),
        ("crossseed/cross-seed:5.9.2", "cross-seed"),
        ("thelounge/thelounge:4.4.3", "thelounge"),
    ],
)
def test_the_same_image_under_its_other_names(image, family):
    """Synapse moved to element-hq, memos publishes as usememos, vaultwarden also on ghcr.io/dani-garcia."""
    assert default_knowledge().match(image).id == family


def test_external_database_is_explained():
    resolved = default_knowledge().resolve("quay.io/keycloak/keycloak:26.0", env={"KC_DB": "postgres"})
    assert resolved.ephemeral == "the data is kept in an external database (KC_DB=postgres)"


def test_clickhouse_keeper_either_data_directory_counts(tmp_path):
    """A custom keeper_config.xml writes to /var/lib/clickhouse-keeper, the default one to /var/lib/clickhouse/coordination."""
    for target in ("/var/lib/clickhouse", "/var/lib/clickhouse-keeper"):
        assert _lint(tmp_path, f"    image: clickhouse/clickhouse-keeper:24.3\n    volumes:\n      - ./k:{target}\n") == []


def test_every_new_family_has_a_case():
    """A family added to the block without a case here is not tested."""
    covered = {default_knowledge().match(image).id for image, _, _ in CASES}
    ids = [e.id for e in default_knowledge()]
    first = ids.index("vault")
    assert set(ids[first:]) <= covered, sorted(set(ids[first:]) - covered)
