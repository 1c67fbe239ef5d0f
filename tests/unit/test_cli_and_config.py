"""The socbuddy command line, configuration parsing, the registry rules and IOC normalisation."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import peewee
import pytest

import plugins
from plugins import registry
from shared import cli
from shared.config import Settings, without_password
from shared.errors import ConfigError
from shared.iocs.normalize import InvalidIoc, is_global_ip, make_ioc, normalize


@pytest.fixture
def db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_keys_create_list_revoke_and_audit(db_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["migrate"]) == 0
    assert cli.main(["keys", "create", "soar"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("sb_") and len(key) == 35
    assert cli.main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "soar" in listing and key[3:11] in listing and "active" in listing and key not in listing
    assert cli.main(["keys", "revoke", "soar", "--key", "zzzzzzzz"]) == 1
    assert cli.main(["keys", "revoke", "soar"]) == 0
    capsys.readouterr()
    assert cli.main(["keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert cli.main(["keys", "revoke", "nobody"]) == 1
    assert "no service account named 'nobody'" in capsys.readouterr().err


def test_audit_json_lines(db_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    from shared import audit
    from shared import db as dbmod

    cli.main(["migrate"])
    database = dbmod.database_obj()
    with database.connection_context():
        audit.record(
            audit.Entry("GET", "/api/v1/plugins", "127.0.0.1", account="a1", key_prefix="abcdefgh"), 200, 3
        )
        audit.record(audit.Entry("POST", "/api/v1/analysis", "127.0.0.1", account="a2"), 401, 1)
    capsys.readouterr()
    assert cli.main(["audit", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["account"] for r in rows] == ["a2", "a1"]
    assert set(rows[0]) == {
        "time",
        "account",
        "key_prefix",
        "method",
        "route",
        "params",
        "status",
        "duration_ms",
        "client",
        "ioc",
        "type",
        "analysis_id",
    }
    assert cli.main(["audit", "--json", "--account", "a1"]) == 0
    assert [json.loads(x)["account"] for x in capsys.readouterr().out.splitlines()] == ["a1"]
    assert cli.main(["audit", "--since", "2999-01-01T00:00:00Z", "--json"]) == 0
    assert capsys.readouterr().out == ""


def test_commands_needing_a_database_say_so(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert cli.main(["keys", "list"]) == 2
    assert "DATABASE_URL is not set" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["keys", "list"], ["audit"], ["migrate"]])
def test_an_unreachable_database_is_one_line_not_a_traceback(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
    assert cli.main(command) == 1
    err = capsys.readouterr().err
    assert err.startswith("socbuddy: the database failed (") and "check DATABASE_URL" in err
    assert len(err.splitlines()) == 1


def test_a_database_without_the_schema_is_one_line(db_env: str, monkeypatch, capsys) -> None:
    # PostgreSQL reports a missing table as ProgrammingError (SQLite: OperationalError).
    def missing_table(args: object) -> int:
        raise peewee.ProgrammingError('relation "service_account" does not exist')

    monkeypatch.setattr(cli, "cmd_keys_list", missing_table)
    assert cli.main(["keys", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith('socbuddy: the database failed (relation "service_account" does not exist)')
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("limit", ["0", "-1", "ten"])
def test_audit_limit_must_be_a_positive_number(db_env: str, limit: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["audit", "--limit", limit])
    assert exited.value.code == 2 and "--limit" in capsys.readouterr().err


def test_a_reader_gone_away_ends_the_command_quietly(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    root = Path(__file__).parents[2]
    run = [sys.executable, "-m", "shared.cli"]
    for command in (["migrate"], ["keys", "create", "reader"]):
        subprocess.run([*run, *command], env=env, cwd=root, check=True, capture_output=True)
    child = subprocess.Popen(
        [*run, "keys", "list"], env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader goes away before the listing is written
    with child.stderr:
        err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


@pytest.mark.parametrize("command", ["web", "worker"])
def test_web_and_worker_exit_at_once_without_redis(command: str, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 2
    assert "REDIS_URL is not set" in done.stderr


def test_extract_command(tmp_path: Path, capsys) -> None:
    report = tmp_path / "report.txt"
    report.write_text("beacon to 1.2.3[.]4 and evil[.]com")
    assert cli.main(["extract", str(report)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["indicators"]["ip"] == ["1.2.3.4"] and "evil.com" in out["indicators"]["domain"]
    assert cli.main(["extract", str(tmp_path / "missing.txt")]) == 2
    assert capsys.readouterr().err.startswith("socbuddy: cannot read ")


def test_migrate_says_what_it_created(db_env: str, capsys) -> None:
    assert cli.main(["migrate"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("schema created or upgraded: table ") and "table audit_event" in first
    assert cli.main(["migrate"]) == 0
    assert capsys.readouterr().out == "schema is up to date\n"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://app:s3cret@db.internal:5432/socbuddy",
            "postgresql://app:***@db.internal:5432/socbuddy",
        ),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("postgresql://app@db/socbuddy", "postgresql://app@db/socbuddy"),
        ("sqlite:////srv/var/socbuddy.sqlite3", "sqlite:////srv/var/socbuddy.sqlite3"),
    ],
)
def test_urls_are_displayed_without_their_password(url: str, shown: str) -> None:
    assert without_password(url) == shown


def test_the_dev_banner_never_shows_a_database_password(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://app:s3cret@db.internal:5432/socbuddy"
    monkeypatch.setenv("DATABASE_URL", url)
    banner = cli._dev_banner(Settings(database_url=url), None)
    assert "s3cret" not in banner and "app:***@db.internal" in banner
    assert "  socbuddy keys create NAME" in banner
    monkeypatch.delenv("DATABASE_URL")
    sqlite = "sqlite:////srv/var/socbuddy.sqlite3"
    banner = cli._dev_banner(Settings(database_url=sqlite), None)
    assert f"DATABASE_URL={sqlite} socbuddy keys create NAME" in banner  # the embedded default, spelled out


def test_settings_parse_and_reject_bad_values() -> None:
    settings = Settings.from_env(
        {
            "SOCBUDDY_FAST_TIMEOUT": "2.5",
            "SOCBUDDY_PLUGINS": "VirusTotal, abuseipdb,",
            "VIRUSTOTAL_TIMEOUT": "4",
        }
    )
    assert settings.fast_timeout_s == 2.5
    assert settings.plugins_allow == frozenset({"virustotal", "abuseipdb"})
    assert settings.plugin_timeout_for("virustotal") == 4 and settings.plugin_timeout_for("abuseipdb") == 10
    assert Settings.from_env({}).max_body_bytes == 1024 * 1024
    with pytest.raises(ConfigError, match="SOCBUDDY_FAST_TIMEOUT"):
        Settings.from_env({"SOCBUDDY_FAST_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match="SOCBUDDY_MAX_BODY_BYTES"):
        Settings.from_env({"SOCBUDDY_MAX_BODY_BYTES": "0"})


def test_every_plugin_module_is_registered() -> None:
    # Besides the spec and the registry, only private helpers shared by one provider's plugins (_name).
    modules = {m.name for m in pkgutil.iter_modules(plugins.__path__) if not m.name.startswith("_")}
    modules -= {"spec", "registry"}
    assert modules == {m.__name__.rsplit(".", 1)[1] for m in registry.PLUGINS}
    assert len(registry.BY_NAME) == len(registry.PLUGINS)


def test_enablement_rules() -> None:
    vt = registry.spec("virustotal")
    assert registry.status(vt, Settings.from_env({})).reason == "VIRUSTOTAL_API_KEY is not set"
    assert registry.status(vt, Settings.from_env({"VIRUSTOTAL_API_KEY": "k"})).enabled
    only = Settings.from_env({"VIRUSTOTAL_API_KEY": "k", "SOCBUDDY_PLUGINS": "abuseipdb"})
    assert registry.status(vt, only).reason == "not listed in SOCBUDDY_PLUGINS"
    denied = Settings.from_env({"VIRUSTOTAL_API_KEY": "k", "SOCBUDDY_DISABLED_PLUGINS": "virustotal"})
    assert not registry.status(vt, denied).enabled


def test_hash_kind_decides_the_plugin_choice() -> None:
    settings = Settings.from_env(
        {"VIRUSTOTAL_API_KEY": "k", "JOE_SANDBOX_API_KEY": "k", "SOCBUDDY_PLUGINS": "virustotal,joe_sandbox"}
    )
    assert [p.name for p in registry.choose(settings, make_ioc("a" * 40, "hash"), None)] == [
        "virustotal",
        "joe_sandbox",
    ]
    assert registry.choose(settings, make_ioc("a" * 128, "hash"), None) == []


@pytest.mark.parametrize(
    ("value", "kind", "normal"),
    [
        (" 1.1.1[.]1 ", "ip", "1.1.1.1"),
        ("2001:DB8:0:0::1", "ip", "2001:db8::1"),
        ("[2001:db8::1]", "ip", "2001:db8::1"),
        ("Evil.Example.", "domain", "evil.example"),
        ("evil[.]com", "domain", "evil.com"),
        ("bücher.de", "domain", "xn--bcher-kva.de"),
        ("hxxps[://]Evil[.]COM/A?B=C", "url", "https://evil.com/A?B=C"),
        ("HTTP://user@Host.Example:8080/P", "url", "http://user@host.example:8080/P"),
        ("ftp://[2001:DB8::1]/x", "url", "ftp://[2001:db8::1]/x"),
        ("http://LocalHost/Admin", "url", "http://localhost/Admin"),
        ("https://intranet.:8443/x", "url", "https://intranet:8443/x"),
        ("D41D8CD98F00B204E9800998ECF8427E", "hash", "d41d8cd98f00b204e9800998ecf8427e"),
        ("Bob.Smith@Evil[.]Example", "email", "Bob.Smith@evil.example"),
        ("bob[at]evil[.]example", "email", "bob@evil.example"),
    ],
)
def test_normalize_valid(value: str, kind: str, normal: str) -> None:
    assert normalize(value, kind) == normal


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("1.1.1", "ip"),
        ("300.1.1.1", "ip"),
        ("localhost", "domain"),
        ("-bad.example", "domain"),
        ("a..b", "domain"),
        ("evil.123", "domain"),
        ("no-scheme.example/x", "url"),
        ("http://", "url"),
        ("http://[::1/x", "url"),
        ("http://2130706433/", "url"),
        ("http://0x7f000001/", "url"),
        ("http://-bad/", "url"),
        ("http://a b.example/", "url"),
        ("http://x.example:99999/", "url"),
        ("g" * 32, "hash"),
        ("a" * 33, "hash"),
        ("@evil.example", "email"),
        ("bob@", "email"),
        ("bob@localhost", "email"),
        ("   ", "ip"),
    ],
)
def test_normalize_invalid(value: str, kind: str) -> None:
    with pytest.raises(InvalidIoc):
        normalize(value, kind)


def test_global_ip_classification() -> None:
    assert is_global_ip("8.8.8.8") and is_global_ip("2606:4700::1111")
    for private in (
        "10.0.0.1",
        "127.0.0.1",
        "192.0.2.1",
        "100.64.0.1",
        "169.254.1.1",
        "::1",
        "fe80::1",
        "::ffff:10.0.0.1",
        "224.0.0.1",
    ):
        assert not is_global_ip(private), private


def test_plugins_command_lists_every_plugin_with_its_state(monkeypatch, capsys) -> None:
    monkeypatch.setenv("VIRUSTOTAL_API_KEY", "k")
    monkeypatch.setenv("VIRUSTOTAL_URL", "http://127.0.0.1:9/vt/")
    monkeypatch.delenv("ABUSEIPDB_API_KEY", raising=False)
    monkeypatch.delenv("SOCBUDDY_PLUGINS", raising=False)
    monkeypatch.setenv("SOCBUDDY_DISABLED_PLUGINS", "joe_sandbox")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("VIRUSTOTAL_RATE_LIMIT", raising=False)
    assert cli.main(["plugins", "--json"]) == 0
    rows = {r["name"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(rows) == set(registry.BY_NAME)
    assert rows["virustotal"]["enabled"] is True and rows["virustotal"]["url"] == "http://127.0.0.1:9/vt"
    assert rows["virustotal"]["key_variable"] == "VIRUSTOTAL_API_KEY (required)"
    assert rows["abuseipdb"]["status"] == "disabled: ABUSEIPDB_API_KEY is not set"
    assert rows["joe_sandbox"]["status"] == "disabled: listed in SOCBUDDY_DISABLED_PLUGINS"
    assert rows["joe_sandbox"]["mode"] == "slow"
    assert (
        rows["virustotal"]["quota"] == "4/minute, 500/day"
        and rows["virustotal"]["left"] == "? (no REDIS_URL)"
    )
    assert cli.main(["plugins"]) == 0
    assert "NAME" in capsys.readouterr().out
