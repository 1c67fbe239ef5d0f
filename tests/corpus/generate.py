"""Write the labelled extraction corpus: documents in the styles analysts paste, with ground truth.

Run ``python tests/corpus/generate.py`` to rewrite ``tests/corpus/corpus.json``. The output is
deterministic (fixed seed). Each document is assembled from sentences written for this project; the
ground truth comes from what the generator put in, never from an extractor. It follows API.md: values
refanged and normalised, a URL's host and an e-mail's domain also listed under ``domain`` (or
``ip``), only globally routable IPs, and nothing for the decoys (private and documentation IPs,
version and section numbers, file names, example domains, hex that is not a hash).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 20240601
OUT = Path(__file__).with_name("corpus.json")

TLDS = ["com", "net", "org", "ru", "cn", "io", "xyz", "top", "info", "biz", "co.uk", "de", "su", "online"]
WORDS = (
    "secure login update cdn mail portal cloud sync verify account office files drive share auth "
    "pay invoice billing support service apps static api data track stats news alpha nova zeta "
    "orbit pixel quartz raven ember falcon cobalt onyx lumen vector delta matrix"
).split()
FILE_NAMES = ["update.zip", "readme.md", "install.sh", "invoice.pdf", "setup.exe", "loader.py", "run.ps1"]
FILE_NAMES += ["notes.mov", "config.pl", "payload.one", "id_rsa.pub", "main.rs"]
DECOY_DOMAINS = ["example.com", "mail.example.org", "host.example", "printer.local", "db.test"]
DECOY_DOMAINS += ["www.example.net", "intranet.corp", "router.lan", "server.invalid"]
VERSION_WORDS = ["version", "Version", "v.", "build", "release", "firmware", "section", "Section"]
SCHEMES = ["http", "https"]
PATHS = ["/", "/login.php", "/wp-content/uploads/inv.doc", "/gate.php?id=7", "/a/b/c", "/dl/payload.bin"]
PATHS += ["/index.html#top", "/api/v2/beacon", "/s/Xk29qLm", "/update/check?v=2&os=win"]


class Doc:
    """One document under construction: its text parts and the truth they imply."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.parts: list[str] = []
        self.truth: dict[str, list[str]] = {}

    def add(self, kind: str, value: str) -> None:
        """Record a true indicator, keeping first-appearance order without duplicates."""
        values = self.truth.setdefault(kind, [])
        if value not in values:
            values.append(value)

    def say(self, text: str) -> None:
        """Append text to the document."""
        self.parts.append(text)

    def text(self) -> str:
        """Return the document text."""
        return "".join(self.parts)


def public_ip(rng: random.Random) -> str:
    """Return a globally routable IPv4 address outside documentation and reserved ranges."""
    first = rng.choice([5, 23, 31, 37, 45, 46, 62, 77, 78, 80, 81, 85, 91, 93, 94, 103, 109, 141])
    first = rng.choice([first, 146, 154, 176, 178, 185, 188, 193, 194, 195, 212, 213, 217])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def private_ip(rng: random.Random) -> str:
    """Return a non-global IPv4 address: private, loopback, documentation, shared or link-local."""
    return rng.choice(
        [
            f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            f"127.0.0.{rng.randint(1, 9)}",
            f"192.0.2.{rng.randint(1, 254)}",
            f"198.51.100.{rng.randint(1, 254)}",
            f"203.0.113.{rng.randint(1, 254)}",
            f"100.64.{rng.randint(0, 63)}.{rng.randint(1, 254)}",
            f"169.254.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        ]
    )


def public_ipv6(rng: random.Random) -> str:
    """Return a global IPv6 address in compressed canonical form."""
    groups = [rng.choice(["2a01", "2606", "2a02", "2604", "2c0f"]), f"{rng.randint(1, 0xFFFF):x}"]
    return ":".join(groups) + f"::{rng.randint(1, 0xFFFF):x}"


def domain(rng: random.Random) -> str:
    """Return an invented domain name under a real public suffix."""
    name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}{rng.randint(1, 99)}.{rng.choice(TLDS)}"
    return f"{rng.choice(WORDS)}.{name}" if rng.random() < 0.4 else name


def digest(rng: random.Random, length: int) -> str:
    """Return a random hex digest of the given length."""
    value = "".join(rng.choice("0123456789abcdef") for _ in range(length))
    return (
        value if any(c.isdigit() for c in value) and any(c.isalpha() for c in value) else digest(rng, length)
    )


def defang_name(rng: random.Random, name: str, style: str) -> str:
    """Write a dotted name in one defang style."""
    if style == "plain":
        return name
    if style == "word":
        return name.replace(".", " dot ")
    if style == "escaped":
        return name.replace(".", r"\[.\]")
    marker = {"bracket": "[.]", "paren": "(.)", "brace": "{.}", "dot": "[dot]", "spaced": " [dot] "}[style]
    if rng.random() < 0.5 and name.count(".") > 1:
        head, _, tail = name.rpartition(".")
        return f"{head}{marker}{tail}"
    return name.replace(".", marker)


NAME_STYLES = ["plain", "plain", "bracket", "bracket", "paren", "brace", "dot", "spaced", "word", "escaped"]


def defang_url(rng: random.Random, url: str) -> str:
    """Write a URL in one defang style."""
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    style = rng.choice(["plain", "hxxp", "hXXp", "sep", "colon", "full", "full", "escaped", "json"])
    if style == "plain":
        return url
    if style == "json":
        return url.replace("/", "\\/")
    fanged_scheme = scheme.replace("tt", "xx" if style != "hXXp" else "XX")
    sep = {"sep": "[://]", "colon": "[:]//", "escaped": r"\[://\]"}.get(style, "://")
    dot = r"\[.\]" if style == "escaped" else "[.]"
    if style in ("hxxp", "hXXp"):
        return f"{fanged_scheme}{sep}{host.replace('.', dot)}{slash}{path}"
    return f"{fanged_scheme if style != 'sep' else scheme}{sep}{host.replace('.', dot)}{slash}{path}"


def wrap(rng: random.Random, text: str) -> str:
    """Wrap an indicator as Markdown, quotes or brackets sometimes do."""
    style = rng.random()
    if style < 0.12:
        return f"`{text}`"
    if style < 0.2:
        return f"**{text}**"
    if style < 0.26:
        return f"({text})"
    if style < 0.32:
        return f'"{text}"'
    if style < 0.36:
        return f"<{text}>"
    return text


def add_domain(doc: Doc) -> str:
    """Return a (possibly defanged) domain and record it."""
    name = domain(doc.rng)
    doc.add("domain", name)
    return wrap(doc.rng, defang_name(doc.rng, name, doc.rng.choice(NAME_STYLES)))


def add_ip(doc: Doc) -> str:
    """Return a (possibly defanged) global IP and record it."""
    if doc.rng.random() < 0.15:
        address = public_ipv6(doc.rng)
        doc.add("ip", address)
        return wrap(doc.rng, address)
    address = public_ip(doc.rng)
    doc.add("ip", address)
    style = doc.rng.choice(["plain", "plain", "plain", "bracket", "last", "paren"])
    if style == "last":
        head, _, tail = address.rpartition(".")
        return wrap(doc.rng, f"{head}[.]{tail}")
    return wrap(doc.rng, defang_name(doc.rng, address, style))


def add_url(doc: Doc, ftp: bool = False) -> str:
    """Return a (possibly defanged) URL with a public host and record the URL and its host."""
    rng = doc.rng
    host = public_ip(rng) if rng.random() < 0.2 else domain(rng)
    port = f":{rng.choice([8080, 443, 8443, 4444])}" if rng.random() < 0.15 else ""
    if ftp:
        url = f"ftp://{host}{port}/pub/{rng.choice(WORDS)}.bin"
        written = url.replace("ftp://", "fxp://").replace(".", "[.]", 1) if rng.random() < 0.7 else url
    else:
        url = f"{rng.choice(SCHEMES)}://{host}{port}{rng.choice(PATHS)}"
        written = defang_url(rng, url)
    doc.add("url", url)
    doc.add("ip" if host[0].isdigit() else "domain", host)
    end = rng.choice(["", "", ".", ",", ")", ";", "!"])
    if end == ")":
        return f"({written})"
    return wrap(rng, written) + end if end == "" else written + end


def add_email(doc: Doc) -> str:
    """Return a (possibly defanged) e-mail address and record it and its domain."""
    rng = doc.rng
    local = rng.choice(["billing", "it-support", "j.smith", "no-reply", "hr.team", "admin", "ceo_office"])
    name = domain(rng)
    doc.add("email", f"{local}@{name}")
    doc.add("domain", name)
    style = rng.choice(["plain", "at", "at_bracket", "at_paren", "words", "bracket"])
    if style == "plain":
        return wrap(rng, f"{local}@{name}")
    if style == "words":
        return f"{local} at {name.replace('.', ' dot ')}"
    at = {"at": "[@]", "at_bracket": "[at]", "at_paren": "(at)", "bracket": "[@]"}[style]
    return wrap(rng, f"{local}{at}{name.replace('.', '[.]')}")


def add_hash(doc: Doc) -> str:
    """Return a hash (sometimes upper-case) and record it lower-cased."""
    value = digest(doc.rng, doc.rng.choice([32, 40, 64, 64, 128]))
    doc.add("hash", value)
    return wrap(doc.rng, value.upper() if doc.rng.random() < 0.2 else value)


def add_cve(doc: Doc) -> str:
    """Return a CVE id and record it."""
    value = f"CVE-{doc.rng.randint(2014, 2025)}-{doc.rng.randint(1000, 49999)}"
    doc.add("cve", value)
    return value if doc.rng.random() < 0.8 else value.lower()


def decoy(rng: random.Random) -> str:
    """Return a sentence holding only things that are not indicators."""
    options = [
        lambda: f"The internal jump host {private_ip(rng)} was not involved.",
        lambda: (
            f"Upgrade to {rng.choice(VERSION_WORDS)} {rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}.{rng.randint(1, 99)} fixes it."
        ),
        lambda: f"See section {rng.randint(1, 9)}.{rng.randint(1, 9)}.{rng.randint(1, 9)} of the runbook.",
        lambda: f"The victim opened {rng.choice(FILE_NAMES)} from the share.",
        lambda: f"Dropped files: {rng.choice(FILE_NAMES)}, {rng.choice(FILE_NAMES)}.",
        lambda: (
            f"Test mail went to someone@{rng.choice(DECOY_DOMAINS)} and http://{rng.choice(DECOY_DOMAINS)}/."
        ),
        lambda: f"Build id 0x{digest(rng, 32)} is a constant, not a hash.",
        lambda: f"The session token {digest(rng, 48)} expired.",
        lambda: (
            f"GUID {digest(rng, 8)}-{digest(rng, 4)}-4{digest(rng, 3)}-a{digest(rng, 3)}-{digest(rng, 12)}."
        ),
        lambda: f"Gateway {private_ip(rng)}:8080 and DNS {private_ip(rng)} are internal.",
        lambda: "The script calls logger.info and self.name before exiting.",
        lambda: (
            f"Chrome {rng.randint(100, 130)}.0.{rng.randint(1000, 6999)}.{rng.randint(10, 250)} is current."
        ),
        lambda: "Wait 3.5 seconds, then retry; e.g. the job ran at 12:30:45 on 2024.01.05.",
        lambda: (
            f"Loopback ::1 and fe80::{rng.randint(1, 999)} are link-local. Docs use 2001:db8::{rng.randint(1, 99)}."
        ),
        lambda: f"Open /tmp/{rng.choice(FILE_NAMES)} or C:\\Users\\Public\\{rng.choice(FILE_NAMES)}.",
        lambda: f"Mixed-case hex {digest(rng, 16).upper()}{digest(rng, 16)} is a nonce.",
    ]
    return rng.choice(options)()


def report(doc: Doc) -> None:
    """A threat-report paragraph."""
    r = doc.rng
    doc.say(f"## Campaign {r.choice(WORDS).title()}\n\n")
    doc.say(f"The actor registered {add_domain(doc)} and served the loader from {add_url(doc)} ")
    doc.say(f"The payload (SHA256 {add_hash(doc)}) beacons to {add_ip(doc)} every 300 seconds.\n")
    doc.say(f"{decoy(r)} It exploits {add_cve(doc)}. Second stage: {add_url(doc)}\n")
    doc.say(f"{decoy(r)} Infrastructure also includes {add_domain(doc)} and {add_ip(doc)}.\n")


def phishing(doc: Doc) -> None:
    """Phishing mail headers and body."""
    r = doc.rng
    doc.say(f"From: {add_email(doc)}\nReply-To: {add_email(doc)}\nReceived: from mx ({add_ip(doc)})\n")
    doc.say(f"Subject: Invoice overdue\n\nPlease review: {add_url(doc)}\n{decoy(r)}\n")
    doc.say(f"Attachment hash: {add_hash(doc)}\n")


def ticket(doc: Doc) -> None:
    """A SOC ticket."""
    r = doc.rng
    doc.say(f"TICKET-{r.randint(1000, 9999)}: user reported a pop-up.\n- Host contacted {add_ip(doc)}\n")
    doc.say(f"- DNS query for {add_domain(doc)}\n- {decoy(r)}\n- Proxy log shows {add_url(doc)}\n")
    doc.say(f"- {decoy(r)}\n- Sender: {add_email(doc)}\n")


def tweet(doc: Doc) -> None:
    """A short social-media post."""
    r = doc.rng
    doc.say(f"New #phishing kit on {add_url(doc)} hosted at {add_ip(doc)} #IOC {add_hash(doc)} ")
    doc.say(f"{decoy(r)} h/t @analyst\n")


def logs(doc: Doc) -> None:
    """Log excerpts: syslog, proxy CSV and JSON lines."""
    r = doc.rng
    doc.say(f"Jan 12 10:22:01 fw01 DENY src={private_ip(r)} dst={add_ip(doc)} dport=443\n")
    doc.say(f"2024-01-12T10:22:05Z,{private_ip(r)},GET,{add_url(doc)},200\n")
    doc.say(f'{{"event":"dns","query":"{add_domain(doc)}","answer":"{add_ip(doc)}"}}\n')
    doc.say(f"{decoy(r)}\nftp session: {add_url(doc, ftp=True)}\n")


def markdown(doc: Doc) -> None:
    """A Markdown IOC table and list."""
    r = doc.rng
    doc.say("| type | value |\n|---|---|\n")
    doc.say(f"| domain | {add_domain(doc)} |\n| ip | {add_ip(doc)} |\n| hash | {add_hash(doc)} |\n")
    url = add_url(doc).rstrip(".,;!)")
    doc.say(f"\n* [{url}]({url})\n* {add_email(doc)}\n* {decoy(r)}\n* {add_cve(doc)}\n")


STYLES = [report, phishing, ticket, tweet, logs, markdown]

HANDWRITTEN: list[tuple[str, dict[str, list[str]]]] = [
    ("contacted 1.2.3.4 and evil.com", {"ip": ["1.2.3.4"], "domain": ["evil.com"]}),
    (
        "Stage 1 hxxps[://]cdn-sync[.]top/load.php?x=1). Stage 2 at hXXp://45[.]77[.]12[.]9:8080/b "
        "— both seen on 2024-03-01. Version 2.4.1.7 of the tool; see RFC 1918 for 10.0.0.0/8.",
        {
            "url": ["https://cdn-sync.top/load.php?x=1", "http://45.77.12.9:8080/b"],
            "domain": ["cdn-sync.top"],
            "ip": ["45.77.12.9"],
        },
    ),
    (
        "Download update[.]zip (not the local update.zip) and read readme.md. Payload served from "
        "invoice-portal[.]one; the attachment invoice.one was opened.",
        {"domain": ["update.zip", "invoice-portal.one"]},
    ),
    (
        "Contact: fraud-team [at] pay-verify [dot] info or support(at)acc0unt-help(.)com. "
        "Ignore noreply@example.com and admin@printer.local.",
        {
            "email": ["fraud-team@pay-verify.info", "support@acc0unt-help.com"],
            "domain": ["pay-verify.info", "acc0unt-help.com"],
        },
    ),
    (
        "Hashes:\n* `44d88612fea8a8f36de82e1278abb02f`\n* **3395856CE81F2B7382DEE72602F798B642F14140**\n"
        "* 275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f\n"
        "Not hashes: 0x5f3759df5f3759df5f3759df5f3759df, 00000000000000000000000000000000, "
        "ffffffffffffffffffffffffffffffffffffffff.",
        {
            "hash": [
                "44d88612fea8a8f36de82e1278abb02f",
                "3395856ce81f2b7382dee72602f798b642f14140",
                "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
            ]
        },
    ),
    (
        "Exploited CVE-2021-44228 (Log4Shell) and cve-2023-23397; C2 over IPv6 2a03:2880:f12f:83:face:b00c::25de, "
        "fallback [2001:db8::1] is documentation only.",
        {"cve": ["CVE-2021-44228", "CVE-2023-23397"], "ip": ["2a03:2880:f12f:83:face:b00c:0:25de"]},
    ),
    (
        'JSON: {"url":"http:\\/\\/bad-host.ru\\/gate.php","ip":"185.220.101.4"} and markdown '
        "[login page](https://secure-login.xyz/auth) plus <http://tracker.evil-cdn.net/p>.",
        {
            "url": [
                "http://bad-host.ru/gate.php",
                "https://secure-login.xyz/auth",
                "http://tracker.evil-cdn.net/p",
            ],
            "domain": ["bad-host.ru", "secure-login.xyz", "tracker.evil-cdn.net"],
            "ip": ["185.220.101.4"],
        },
    ),
    (
        "Mirror fxp://files[.]drop-zone[.]su/pub/x.bin and h**p is not a scheme. Payload name: "
        "install.sh, loader.py and notes.md. Section 4.2.1.3 covers it.",
        {"url": ["ftp://files.drop-zone.su/pub/x.bin"], "domain": ["files.drop-zone.su"]},
    ),
    (
        # Pasted from a Word or PDF advisory: non-breaking hyphens, en and em dashes, a minus sign.
        "March bulletin: Microsoft fixed CVE\u20112023\u201123397 (Outlook elevation of privilege) and "
        "CVE\u20132023\u201324880 (SmartScreen bypass). Older: CVE\u20142022\u201430190 \u201cFollina\u201d, "
        "CVE\u22122017\u22120199 and CVE\u20102021\u201040444 (MSHTML).",
        {"cve": ["CVE-2023-23397", "CVE-2023-24880", "CVE-2022-30190", "CVE-2017-0199", "CVE-2021-40444"]},
    ),
    (
        "## Changelog\n- Rebuilt without xz 5.6.1 ([CVE-2024-3094](https://nvd.nist.gov/vuln/detail/CVE-2024-3094))\n"
        "- Log4j: `CVE-2021-44228` / `cve-2021-45046`\n- **CVE-2014-0160** (Heartbleed), [CVE-2023-44487]\n"
        "- Jenkins CVE-2018-1000861 and git CVE-2017-1000117 (7-digit ids)",
        {
            "cve": [
                "CVE-2024-3094",
                "CVE-2021-44228",
                "CVE-2021-45046",
                "CVE-2014-0160",
                "CVE-2023-44487",
                "CVE-2018-1000861",
                "CVE-2017-1000117",
            ],
            "url": ["https://nvd.nist.gov/vuln/detail/CVE-2024-3094"],
            "domain": ["nvd.nist.gov"],
        },
    ),
    (
        "Scanner export, host WS-0142:\nplugin CVE_2021_34527 PrintNightmare: vulnerable\n"
        "rule CVE_2020_1472_zerologon: vulnerable\nFile: Cve-2019-0708-bluekeep.nse\n"
        "Not ids: CVE-1998-0001 (before the list existed), CVE-2021-123, CVE-2014-00160 and the "
        "serial CVE-2021-442281234567.",
        {"cve": ["CVE-2021-34527", "CVE-2020-1472", "CVE-2019-0708"]},
    ),
]


def build(count: int = 120) -> list[dict[str, object]]:
    """Return the corpus: the hand-written documents, then generated ones."""
    rng = random.Random(SEED)
    docs: list[dict[str, object]] = []
    for index, (text, truth) in enumerate(HANDWRITTEN):
        docs.append({"id": f"hand-{index:02d}", "style": "handwritten", "text": text, "truth": truth})
    for index in range(count):
        doc = Doc(rng)
        style = STYLES[index % len(STYLES)]
        for _ in range(rng.randint(1, 3)):
            style(doc)
            doc.say("\n")
        docs.append(
            {"id": f"gen-{index:03d}", "style": style.__name__, "text": doc.text(), "truth": doc.truth}
        )
    return docs


def main() -> None:
    """Write corpus.json next to this file."""
    OUT.write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
