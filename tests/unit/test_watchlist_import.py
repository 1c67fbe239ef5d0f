"""Watch list import: plain text, abuse.ch CSV exports, MISP JSON events, STIX 2.1 bundles; the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared import cli, watchlist
from shared import db as dbmod

DATA = Path(__file__).parents[1] / "data" / "watchlists"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.sqlite3'}")
    assert cli.main(["migrate"]) == 0
    db = dbmod.database_obj()
    with db.connection_context():
        yield db


def values(name: str) -> set[tuple[str, str]]:
    from shared.models import WatchEntry, WatchList

    query = WatchEntry.select().join(WatchList).where(WatchList.name == name)
    return {(e.ioc_type, e.ioc) for e in query}


@pytest.mark.parametrize(
    ("file", "fmt", "expected"),
    [
        (
            "urlhaus.csv",
            "csv",
            {("url", "http://malicious.example/bins/x86"), ("url", "https://1.0.0.9/load.php")},
        ),
        ("threatfox.csv", "csv", {("ip", "1.0.0.7"), ("domain", "c2.evil.example")}),
        (
            "malwarebazaar.csv",
            "csv",
            {
                ("hash", "d9801979104b8f74be66d341f378234877f59c31babb576329bdedc2a486b8be"),
                ("hash", "7ad78abb5b739fef9c218f09fc201442"),
                ("hash", "b15f657221fc03445223e1633cd3045469b8f6bc"),
            },
        ),
        (
            "plain.txt",
            "text",
            {
                ("ip", "1.0.0.5"),
                ("domain", "bad-domain.example"),
                ("url", "https://phish.example/login"),
                ("email", "user@spammer.example"),
                ("hash", "44d88612fea8a8f36de82e1278abb02f"),
                ("ip", "10.0.0.1"),
            },
        ),
        (
            "misp_event.json",
            "misp",
            {
                ("ip", "1.0.0.6"),
                ("domain", "campaign.example"),
                ("ip", "1.0.0.8"),
                ("hash", "a" * 64),
                ("email", "ceo@fake-bank.example"),
            },
        ),
        (
            "stix_bundle.json",
            "stix",
            {
                ("url", "http://stix.example/payload"),
                ("domain", "stix-c2.example"),
                ("hash", "b" * 64),
                ("ip", "1.0.0.4"),
                ("email", "Boss@stix.example"),
            },
        ),
    ],
)
def test_import_each_format(database, file: str, fmt: str, expected: set) -> None:
    text = (DATA / file).read_text()
    assert watchlist.detect_format(text, file) == fmt
    report = watchlist.import_file(DATA / file, "feed")
    assert values("feed") == expected
    assert report.added == len(expected)


def test_plain_text_reports_what_it_rejects(database) -> None:
    report = watchlist.import_file(DATA / "plain.txt", "incident")
    assert report.rejected == ["'not an indicator': not an IP, domain, URL, hash or e-mail address"]


def test_plain_text_comments_start_at_a_line_start_or_after_white_space(database) -> None:
    text = "# header\nhttp://evil.example/a#frag\n1.0.0.5   # C2 of the campaign\n\t# indented comment\n"
    report = watchlist.import_text(text, "fragments")
    assert report.added == 2 and report.rejected == []
    assert values("fragments") == {("url", "http://evil.example/a#frag"), ("ip", "1.0.0.5")}


def test_reimport_adds_nothing_and_replace_resets(database) -> None:
    watchlist.import_file(DATA / "plain.txt", "incident")
    again = watchlist.import_file(DATA / "plain.txt", "incident")
    assert again.added == 0 and again.already_listed == 6
    replaced = watchlist.import_file(DATA / "threatfox.csv", "incident", replace=True)
    assert replaced.added == 2 and values("incident") == {("ip", "1.0.0.7"), ("domain", "c2.evil.example")}


def test_match_exact_host_and_parent_domain(database) -> None:
    watchlist.import_file(DATA / "threatfox.csv", "threatfox")
    watchlist.import_file(DATA / "plain.txt", "allow", verdict="harmless")
    assert [h["match"] for h in watchlist.match("ip", "1.0.0.7")] == ["exact"]
    assert [h["match"] for h in watchlist.match("domain", "a.b.c2.evil.example")] == ["parent domain"]
    hit = watchlist.match("url", "http://c2.evil.example/gate.php")[0]
    assert hit["match"] == "host" and hit["list"] == "threatfox" and hit["verdict"] == "malicious"
    assert hit["added_at"] == "2026-12-01T08:05:00Z" and "QakBot" in hit["note"]
    assert watchlist.match("email", "x@bad-domain.example")[0]["match"] == "e-mail domain"
    assert watchlist.match("domain", "evil.example") == []


def test_cli_import_list_remove(database, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        cli.main(
            [
                "watchlist",
                "import",
                str(DATA / "stix_bundle.json"),
                "--name",
                "cti",
                "--verdict",
                "suspicious",
            ]
        )
        == 0
    )
    assert "cti: read 5, added 5, already listed 0, rejected 0" in capsys.readouterr().out
    assert cli.main(["watchlist", "list"]) == 0
    listing = capsys.readouterr().out
    assert "cti" in listing and "suspicious" in listing and " 5 " in listing
    assert cli.main(["watchlist", "remove", "cti"]) == 0
    assert "its 5 entries" in capsys.readouterr().out
    assert cli.main(["watchlist", "remove", "cti"]) == 1
    assert cli.main(["watchlist", "import", "/nonexistent", "--name", "x"]) == 2
