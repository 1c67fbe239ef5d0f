"""Extraction: the seed example, every defang style, the decoys, the corpus, and adversarial input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from shared.iocs import psl
from shared.iocs.extract import extract, looks_like_hash, trim_url
from shared.iocs.fang import defang

CORPUS = Path(__file__).parents[1] / "corpus" / "corpus.json"


def test_seed_example() -> None:
    assert extract("contacted 1.2.3.4 and evil.com") == {"ip": ["1.2.3.4"], "domain": ["evil.com"]}


def test_empty_types_are_omitted() -> None:
    assert extract("nothing to see here.") == {}


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("evil[.]com", "domain", "evil.com"),
        ("evil(.)com", "domain", "evil.com"),
        ("evil{.}com", "domain", "evil.com"),
        ("evil[dot]com", "domain", "evil.com"),
        ("evil dot com", "domain", "evil.com"),
        (r"evil\[.\]com", "domain", "evil.com"),
        ("`evil[.]com`", "domain", "evil.com"),
        ("**EVIL.COM**", "domain", "evil.com"),
        ("hxxp[://]evil[.]com/a", "url", "http://evil.com/a"),
        ("hXXps[:]//evil[.]com/a", "url", "https://evil.com/a"),
        ("hxxps[://]evil[.]com/a", "url", "https://evil.com/a"),
        ("fxp://evil[.]com/x.bin", "url", "ftp://evil.com/x.bin"),
        ("HTTP://EVIL.COM/Path", "url", "http://evil.com/Path"),
        ("user[@]evil[.]com", "email", "user@evil.com"),
        ("user[at]evil[.]com", "email", "user@evil.com"),
        ("user at evil dot com", "email", "user@evil.com"),
        ("8.8.8[.]8", "ip", "8.8.8.8"),
        ("2606:4700:4700::1111", "ip", "2606:4700:4700::1111"),
        ("D41D8CD98F00B204E9800998ECF8427E", "hash", "d41d8cd98f00b204e9800998ecf8427e"),
        ("cve-2021-44228", "cve", "CVE-2021-44228"),
    ],
)
def test_defanged_styles_are_found_refanged(text: str, kind: str, value: str) -> None:
    assert value in extract(f"seen: {text}, later.").get(kind, [])


def test_url_host_and_email_domain_are_listed() -> None:
    found = extract("hxxp://45.33.32.156/a and https://cdn.evil.net/x and bob@mail.evil.org")
    assert found["ip"] == ["45.33.32.156"]
    assert found["domain"] == ["cdn.evil.net", "mail.evil.org"]
    assert found["email"] == ["bob@mail.evil.org"]


def test_order_of_first_appearance_and_dedup() -> None:
    found = extract("b-evil.com a-evil.com B-EVIL.com b-evil[.]com")
    assert found["domain"] == ["b-evil.com", "a-evil.com"]


@pytest.mark.parametrize(
    "text",
    [
        "hosts 10.0.0.1, 192.168.1.1, 172.16.0.5, 127.0.0.1, 100.64.1.1, 169.254.1.1",
        "docs 192.0.2.1, 198.51.100.2, 203.0.113.3, 2001:db8::1, ::1, fe80::1",
        "version 1.2.3.4, build 5.1.2600.1, section 2.3.4.5, v1.2.3.4, 1.2.3.4.5",
        "mail admin@example.com, see http://example.org/x, host.example, db.test, x.invalid, printer.local",
        "files update.zip, readme.md, install.sh, loader.py, notes.mov, /tmp/a.sh, C:\\x\\evil.com",
        "code logger.info, self.name, window.top; sentence end.It was",
        "hex 0x5f3759df5f3759df5f3759df5f3759df, 00000000000000000000000000000000, "
        "DeadBeefDeadBeefDeadBeefDeadBeef, 5f3759df5f3759df5f3759df5f3759df5f3759df5f37",
        "http://10.0.0.1/admin and http://intranet/ and https://localhost:8443/",
    ],
)
def test_decoys_are_rejected(text: str) -> None:
    assert extract(text) == {}


def test_file_like_tld_is_a_domain_when_written_defanged() -> None:
    assert extract("payload host update[.]zip") == {"domain": ["update.zip"]}
    assert extract("https://update.zip/a") == {"url": ["https://update.zip/a"], "domain": ["update.zip"]}


def test_written_defanged_is_found_on_another_line_and_for_many_labels() -> None:
    # The name is written defanged on one line and plainly on another; a code identifier too.
    text = "host cdn.update[.]zip\nfetch update.zip, logger.info\nlogger(.)info is a host"
    assert extract(text) == {"domain": ["cdn.update.zip", "update.zip", "logger.info"]}
    # More labels asked for than are read one by one: every line with a defanged dot is read.
    names = ["a.zip", "b.md", "c.py", "d.sh", "e.run", "self.name"]
    defanged = " ".join(name.replace(".", "[.]") for name in names[::2])
    plain = " ".join(names)
    assert extract(f"{plain}\n{defanged}") == {"domain": names[::2]}
    assert extract(f"{plain}\nSELF[.]name {defanged}") == {"domain": [*names[::2], "self.name"]}


@pytest.mark.parametrize(
    ("raw", "trimmed"),
    [
        ("http://a.com/x).", "http://a.com/x"),
        ("http://a.com/x_(y)", "http://a.com/x_(y)"),
        ("http://a.com/x](http://a.com/x)", "http://a.com/x"),
        ("http://a.com/?q=1,200", "http://a.com/?q=1"),
        ("http://a.com/x!?;:", "http://a.com/x"),
        ("http://a.com/x**", "http://a.com/x"),
    ],
)
def test_trim_url(raw: str, trimmed: str) -> None:
    assert trim_url(raw) == trimmed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Labels: hyphens inside, not at either end; at most 63 characters.
        ("a--b.com", {"domain": ["a--b.com"]}),
        ("ab-.com x", {}),
        ("host-.evil.com", {}),
        ("a.b-c-.org", {}),
        ("x" * 63 + ".com", {"domain": ["x" * 63 + ".com"]}),
        ("x" * 64 + ".com", {}),
        ("http://x--y.net/p", {"domain": ["x--y.net"], "url": ["http://x--y.net/p"]}),
        ("u@ab--c.io", {"domain": ["ab--c.io"], "email": ["u@ab--c.io"]}),
        # A rejected dotted quad that a hyphen or a dot continues can start a name.
        ("10.0.0.1-evil.com", {"domain": ["10.0.0.1-evil.com"]}),
        ("10.0.0.1.evil.com", {"domain": ["10.0.0.1.evil.com"]}),
        ("version 1.2.3.4-beta.io", {"domain": ["1.2.3.4-beta.io"]}),
        ("10.1.2.3-a (10.0.0.1), 192.168.1.1,evil.com", {"domain": ["evil.com"]}),
        ("8.8.8.8- 8.8.8.8. 1.2.3.4,", {"ip": ["8.8.8.8", "1.2.3.4"]}),
    ],
)
def test_label_and_dotted_quad_edges(text: str, expected: dict[str, list[str]]) -> None:
    assert extract(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("VERSION 8.8.8.8", {}),
        ("Rev: 8.8.8.8", {}),
        ("build#8.8.8.8", {}),
        ("KB 8.8.8.8", {}),
        ("sid=8.8.8.8", {}),
        ("updates 8.8.8.8", {}),
        ("from 8.8.8.8", {"ip": ["8.8.8.8"]}),
        ("server 8.8.8.8", {"ip": ["8.8.8.8"]}),
        ("self.name.io self.io", {"domain": ["self.name.io"]}),
        ("logger.info self[.]io", {"domain": ["self.io"]}),
        ("evil.Com is", {}),
        ("the host.It was", {}),
        ("ABC.It", {"domain": ["abc.it"]}),
    ],
)
def test_version_words_code_objects_and_missing_spaces(text: str, expected: dict[str, list[str]]) -> None:
    assert extract(text) == expected


def test_hash_shapes() -> None:
    assert looks_like_hash("d41d8cd98f00b204e9800998ecf8427e")
    assert not looks_like_hash("12345678901234567890123456789012")
    assert not looks_like_hash("abcdefabcdefabcdefabcdefabcdefab")
    assert not looks_like_hash("D41d8cd98f00b204e9800998ecf8427e")


def test_public_suffix_snapshot_is_bundled() -> None:
    assert psl.rules().version
    assert psl.is_registrable("evil.co.uk") and not psl.is_registrable("co.uk")
    assert not psl.is_registrable("evil.notatld")


def test_corpus_ground_truth_is_met() -> None:
    docs = json.loads(CORPUS.read_text(encoding="utf-8"))
    assert len(docs) >= 100
    misses = [doc["id"] for doc in docs if extract(doc["text"]) != doc["truth"]]
    assert misses == []


def test_defanged_text_extracts_the_same() -> None:
    text = "Beacon https://c2.evil-host.net/gate.php from bob@phish.ru to 45.33.32.156"
    assert extract(defang(text)) == extract(text)


def _adversarial(seed: int) -> list[str]:
    rng = random.Random(seed)
    size = 2_000_000
    return [
        "a." * (size // 2),
        "a-" * (size // 2) + ".",
        "1." * (size // 2),
        "a dot " * (size // 6),
        "[.]" * (size // 3),
        "http://" + "a" * size,
        "http://a.com/" + "(" * size,
        "x@" * (size // 2),
        ":" * size,
        "1:" * (size // 2),
        "f" * size,
        "".join(rng.choice("a.-:[]()@/0123456789 dotxhp") for _ in range(size)),
    ]


@pytest.mark.timeout(60)
def test_adversarial_inputs_finish() -> None:
    for text in _adversarial(7):
        assert isinstance(extract(text), dict)
