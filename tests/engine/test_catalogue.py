"""Every catalogue type: true positives in several formats, look-alike negatives."""

from __future__ import annotations

import re

import pytest
import re2
from engine_samples import (
    AWS_ACCESS,
    AWS_SECRET,
    AWS_TEMP,
    GITHUB_FINE,
    GITHUB_OAUTH,
    GITHUB_PAT,
    GOOGLE_KEY,
    JWT_HS256,
    OPENAI_LEGACY,
    OPENAI_PROJECT,
    PEM_BODY,
    SLACK_BOT,
    SLACK_HOOK,
    STRIPE_LIVE,
    STRIPE_RESTRICTED,
    STRIPE_WEBHOOK,
    github_token,
    jwt,
    tckn,
    values,
)

from tsz_otel import Engine
from tsz_otel.engine import BUILTIN_PATTERNS, builtin_names
from tsz_otel.engine.checks import CHECKS, TRIMS

CATALOGUE_TYPES = (
    "EMAIL PHONE_NUMBER CREDIT_CARD IBAN US_SSN IP_ADDRESS MAC_ADDRESS UK_NINO TCKN "
    "AWS_ACCESS_KEY AWS_SECRET_KEY GITHUB_TOKEN OPENAI_API_KEY SLACK_TOKEN STRIPE_KEY "
    "GOOGLE_API_KEY JWT PRIVATE_KEY GENERIC_API_KEY URL_WITH_CREDENTIALS"
).split()

PEM_RSA = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}-----END RSA PRIVATE KEY-----"
PEM_PKCS8_ESCAPED = (
    "-----BEGIN PRIVATE KEY-----\\n" + PEM_BODY.replace("\n", "\\n") + "-----END PRIVATE KEY-----"
)
PEM_OPENSSH_INDENTED = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n    "
    + PEM_BODY.replace("\n", "\n    ")
    + "-----END OPENSSH PRIVATE KEY-----"
)

# (type, text, the exact value that must be detected)
POSITIVES: list[tuple[str, str, str]] = [
    ("EMAIL", "Write to jane.doe@example.com today.", "jane.doe@example.com"),
    (
        "EMAIL",
        "cc: first.last+tag@mail.sub.example.co.uk,",
        "first.last+tag@mail.sub.example.co.uk",
    ),
    ("EMAIL", '{"email": "USER_1@EXAMPLE.ORG"}', "USER_1@EXAMPLE.ORG"),
    ("EMAIL", "mailto:user@example.com", "user@example.com"),
    ("PHONE_NUMBER", "call +1 415-555-2671 now", "+1 415-555-2671"),
    ("PHONE_NUMBER", "my number is (646) 990-9975.", "(646) 990-9975"),
    ("PHONE_NUMBER", "Tel: +44 20 7946 0958", "+44 20 7946 0958"),
    ("PHONE_NUMBER", "ruf an: 030 84742960", "030 84742960"),
    ("PHONE_NUMBER", "mobile 07907 859744", "07907 859744"),
    ("PHONE_NUMBER", "tél 01.05.86.23.84", "01.05.86.23.84"),
    ("PHONE_NUMBER", "Contact: +44 (0)20 8350 2479", "+44 (0)20 8350 2479"),
    ("PHONE_NUMBER", "Phone: 2125551234", "2125551234"),
    ("CREDIT_CARD", "My card is 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("CREDIT_CARD", "card=5500-0000-0000-0004;", "5500-0000-0000-0004"),
    ("CREDIT_CARD", "amex 378282246310005", "378282246310005"),
    ("CREDIT_CARD", "amex 3714 496353 98431", "3714 496353 98431"),
    ("CREDIT_CARD", "discover 6011111111111117 ok", "6011111111111117"),
    ("IBAN", "IBAN DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00"),
    ("IBAN", "pay GB82WEST12345698765432.", "GB82WEST12345698765432"),
    ("IBAN", "FR76 3000 6000 0112 3456 7890 189 please", "FR76 3000 6000 0112 3456 7890 189"),
    ("IBAN", "iban=NL91ABNA0417164300", "NL91ABNA0417164300"),
    ("US_SSN", "SSN 536-22-8726", "536-22-8726"),
    ("US_SSN", "ssn: 536 22 8726", "536 22 8726"),
    ("US_SSN", "My SSN is 536228726.", "536228726"),
    ("US_SSN", '{"ssn": "123-45-6789"}', "123-45-6789"),
    ("IP_ADDRESS", "from 192.168.1.10 at noon", "192.168.1.10"),
    ("IP_ADDRESS", "dns 8.8.8.8.", "8.8.8.8"),
    ("IP_ADDRESS", "127.0.9.8 - - [13/Mar/2024] GET /", "127.0.9.8"),
    ("IP_ADDRESS", "v6 2001:db8::8a2e:370:7334 here", "2001:db8::8a2e:370:7334"),
    ("IP_ADDRESS", "link-local fe80::2bc6.", "fe80::2bc6"),
    ("IP_ADDRESS", "client_ip=::ffff:172.30.175.178 user", "::ffff:172.30.175.178"),
    ("IP_ADDRESS", "allowed IP ::1.", "::1"),
    ("IP_ADDRESS", "server 10.0.0.1 runs version 2", "10.0.0.1"),  # "version" after it
    ("UK_NINO", "NI number AB 12 34 56 C", "AB 12 34 56 C"),
    ("UK_NINO", "nino: JG103760A", "JG103760A"),
    ("TCKN", "TC kimlik no 12345678950", "12345678950"),
    ("TCKN", "id 10000000146", "10000000146"),
    ("AWS_ACCESS_KEY", f"key {AWS_ACCESS} in region", AWS_ACCESS),
    ("AWS_ACCESS_KEY", f'"aws_access_key_id": "{AWS_TEMP}"', AWS_TEMP),
    ("AWS_SECRET_KEY", f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET),
    ("AWS_SECRET_KEY", f"AWS secret: {AWS_SECRET}\n", AWS_SECRET),
    ("AWS_SECRET_KEY", f"[default]\naws_secret_access_key={AWS_SECRET}\n", AWS_SECRET),
    ("GITHUB_TOKEN", f"export GH_TOKEN={GITHUB_PAT}", GITHUB_PAT),
    ("GITHUB_TOKEN", f"token ({GITHUB_OAUTH}) expired", GITHUB_OAUTH),
    ("GITHUB_TOKEN", f"pat {GITHUB_FINE} ok", GITHUB_FINE),
    ("OPENAI_API_KEY", f'{{"api_key": "{OPENAI_PROJECT}"}}', OPENAI_PROJECT),
    ("OPENAI_API_KEY", f"Here is my key {OPENAI_LEGACY} - why?", OPENAI_LEGACY),
    ("SLACK_TOKEN", f"SLACK_BOT_TOKEN={SLACK_BOT}", SLACK_BOT),
    ("SLACK_TOKEN", f"post to {SLACK_HOOK} please", SLACK_HOOK),
    ("STRIPE_KEY", f"stripe.api_key = '{STRIPE_LIVE}'", STRIPE_LIVE),
    ("STRIPE_KEY", f"restricted {STRIPE_RESTRICTED}", STRIPE_RESTRICTED),
    ("STRIPE_KEY", f"signing secret {STRIPE_WEBHOOK}", STRIPE_WEBHOOK),
    ("GOOGLE_API_KEY", f"maps?key={GOOGLE_KEY}&q=1", GOOGLE_KEY),
    ("JWT", f"Authorization: Bearer {JWT_HS256}", JWT_HS256),
    ("JWT", f'{{"access_token": "{JWT_HS256}"}}', JWT_HS256),
    ("PRIVATE_KEY", f"$ cat id_rsa\n{PEM_RSA}\n$ ssh", PEM_RSA),
    ("PRIVATE_KEY", f'"private_key": "{PEM_PKCS8_ESCAPED}\\n",', PEM_PKCS8_ESCAPED),
    ("PRIVATE_KEY", f"ssh_key: |\n    {PEM_OPENSSH_INDENTED}\nhost: x", PEM_OPENSSH_INDENTED),
    ("GENERIC_API_KEY", 'api_key = "Zx8fK2mQ9vL4pR7tW1yB"', "Zx8fK2mQ9vL4pR7tW1yB"),
    ("GENERIC_API_KEY", "password: Winter2024!x", "Winter2024!x"),
    (
        "GENERIC_API_KEY",
        "Authorization: Bearer abcdEFGH1234ijklMNOP5678",
        "abcdEFGH1234ijklMNOP5678",
    ),
    ("GENERIC_API_KEY", "CLIENT_SECRET=Qm9vbXNoYWthbGFrYTE5ODQ", "Qm9vbXNoYWthbGFrYTE5ODQ"),
    (
        "URL_WITH_CREDENTIALS",
        "db: postgres://admin:s3cr3t@db.example.com:5432/app?sslmode=require ok",
        "postgres://admin:s3cr3t@db.example.com:5432/app?sslmode=require",
    ),
    (
        "URL_WITH_CREDENTIALS",
        "clone https://user:pa55@github.com/org/repo.git.",
        "https://user:pa55@github.com/org/repo.git",
    ),
    (
        "URL_WITH_CREDENTIALS",
        "REDIS_URL='redis://:pw123@cache:6379/0'",
        "redis://:pw123@cache:6379/0",
    ),
]

# (type that must NOT be reported, text)
NEGATIVES: list[tuple[str, str]] = [
    ("EMAIL", "ssh deploy@api-gw-3 'systemctl restart'"),
    ("EMAIL", "docker pull ghcr.io/acme/head@sha256:bdcb27c31e04"),
    ("EMAIL", "decorator @app.route('/x') and user@localhost"),
    ("EMAIL", "broken foo..bar@example.com address"),
    ("PHONE_NUMBER", "Job finished at 2024-03-13T07:41:00.139Z"),
    ("PHONE_NUMBER", "Please reference PO 55948923 on the invoice."),
    ("PHONE_NUMBER", "Epoch 1697607508 corresponds to March 08."),
    ("PHONE_NUMBER", "ZIP 38162-8942 and ISBN 979-58-4475-615-2"),
    ("PHONE_NUMBER", "Reference number: 3551 0447 5143 9095"),
    ("PHONE_NUMBER", "Tracking: 0599 5564 8423"),
    ("PHONE_NUMBER", "invoice 1234567890"),
    ("CREDIT_CARD", "I typed 4111 1111 1111 1112 but it is invalid"),
    ("CREDIT_CARD", "Gift card code 5275 6837 3676 4417"),
    ("CREDIT_CARD", "ISBN 9780306406157"),
    ("CREDIT_CARD", "tracking 9400 1015 3758 0568 6287 82"),
    ("CREDIT_CARD", "0000 0000 0000 0000"),
    ("IBAN", "IBAN DE89 3704 0044 0532 0130 01 was rejected: checksum mismatch."),
    ("IBAN", "code XX12 3456 7890 1234 5678"),
    ("IBAN", "short GB82 WEST 1234 5698 7654"),
    ("US_SSN", "Placeholder SSN 000-06-3307 is invalid"),
    ("US_SSN", "SSN 666-17-1886 and 912-34-5678 and 123-00-4567 and 370-27-0000"),
    ("US_SSN", "order 536228726 shipped"),
    ("US_SSN", "Case number 359-75-997 was closed"),
    ("IP_ADDRESS", "Upgrade from 1.2.3 to 10.0.19045 fixed it."),
    ("IP_ADDRESS", "firmware 10.0.25562.1952 on device"),
    ("IP_ADDRESS", '__version__ = "3.5.0.1"'),
    ("IP_ADDRESS", "(~= 1.4.5.0) matches differently; pin foo==1.2.3.4"),
    ("IP_ADDRESS", "Release 2.1.0.3 and firmware: 1.0.4.2 are out"),
    ("IP_ADDRESS", "See [RFC 5890, section 2.3.2.4] and § 1.2.1.3."),
    ("IP_ADDRESS", "My version is 2.14.3.1 and the firmware version was 1.0.2.3"),
    ("IP_ADDRESS", "RCS: @(#) $Id: strftime.c,v 1.10.2.3 2004/06/03 15:25:08 $"),
    ("IP_ADDRESS", "ping: cannot resolve 260.120.119.129: Unknown host"),
    ("IP_ADDRESS", "section 1.2.3.4.5 of the spec"),
    ("IP_ADDRESS", "Mozilla/5.0 Chrome/120.0.0.0 Safari/537.36"),
    ("IP_ADDRESS", "bind 0.0.0.0 with netmask 255.255.255.0"),
    ("IP_ADDRESS", "let m: HashMap<String, u32> = std::collections::HashMap::new();"),
    ("IP_ADDRESS", "elapsed 21:27:10, timestamps 10:14:42.308"),
    ("IP_ADDRESS", "MAC address BE:CD:5F:87:D2:45 on the switch"),
    ("MAC_ADDRESS", "MAC address FB-2D-21-85-CE-63 is whitelisted on the switch."),
    ("UK_NINO", "code GB123456A and DA123456A and AB123456E"),
    ("TCKN", "number 12345678951"),
    ("TCKN", "number 01234567890"),
    ("TCKN", "sequences from `00000000001` to `11111111110` and 22222222220"),
    ("AWS_ACCESS_KEY", "AKIA1234567890123456 and XAKIAIOSFODNN7EXAMPLE"),
    ("AWS_SECRET_KEY", "aws commit 3f786850e387550fdab836ed7e6dc881de23001b"),
    ("AWS_SECRET_KEY", f"no context here {AWS_SECRET}"),
    ("AWS_SECRET_KEY", 'Keys for AWS and GCP: "V1OrganizationExternalKeysPostRequestGcp",'),
    ("GITHUB_TOKEN", "use ghp_short and gho_ prefixes"),
    ("OPENAI_API_KEY", "task-force and sk-123 and sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123"),
    ("STRIPE_KEY", "Customer pi_b1k0q9BSFu6pHK upgraded via pk_live_abcdefghijklmnopqrst"),
    ("GOOGLE_API_KEY", "AIzaShort"),
    ("JWT", "eyJub3RqdXN0.eyJzdWIiOiIxIn0.c2ln"),
    (
        "PRIVATE_KEY",
        "-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n-----END CERTIFICATE-----",
    ),
    (
        "PRIVATE_KEY",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOC\n-----END PUBLIC KEY-----",
    ),
    ("GENERIC_API_KEY", 'api_key = os.environ["OPENAI_API_KEY"]'),
    ("GENERIC_API_KEY", "const token = process.env.GITHUB_TOKEN;"),
    ("GENERIC_API_KEY", "token: <your-token-here>"),
    ("GENERIC_API_KEY", "password: changeme123"),
    ("GENERIC_API_KEY", "primary key: id_12345abc"),
    ("GENERIC_API_KEY", "use a url such as: pkcs11:token=Root%20CA%20Certificates"),
    ("GENERIC_API_KEY", '{"max_input_tokens": batch_1_day_max_input_tokens, "max_tokens": 5}'),
    ("GENERIC_API_KEY", "token_prefix = k8s-aws-v1; secret = base64_bytes"),
    ("CREDIT_CARD", "assert besselk(1, 0.5).ae(1.6564411200033008937); z = 0.5263157894736841"),
    ("PHONE_NUMBER", "c = [17253/339200, 1]  # a ratio of two integers"),
    ("GENERIC_API_KEY", "Our policy: do not paste secrets, tokens or passwords into chat."),
    ("URL_WITH_CREDENTIALS", "see https://example.com/a?b=c and postgres://localhost:5432/db"),
]

# Look-alikes that must produce no detection at all (TSZ's upstream false positives).
CLEAN = [
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "Order number 1234567890 shipped 12/05/2024",
    "Release 1.2.3 is out; see version 4.5.6-beta.1",
    "request_id=fb4c0447-39a6-466a-93de-09c85b43fa84 trace_id=318fb24c2b1caaceb36ba150dc061975",
    "sha256sum: f8e72b528c68be4482c0c5756e1819c541462bb4ac450c5bc0e4fcf325ad2254  x.tar.gz",
    'FYI: MongoDB _id: ObjectId("6ada6102b0a332df676955fd")',
    "Temperature readings: 89.7%, 57.0%, 69.6% on 2024-03-13 at 23:18:34",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIlxV46bTcWUhZD05lNqRgoKvZgHamBhvdvA3uve05wdA alice@laptop",
    "Location: 48.48990, -4.57356 (Ávila)",
    "kubectl get pods -n x -o wide | grep ip-10-0-3-17",
]


def test_catalogue_has_exactly_the_documented_types() -> None:
    assert sorted(builtin_names()) == sorted(CATALOGUE_TYPES)
    assert {spec.category for spec in BUILTIN_PATTERNS} == {"PII", "SECRET"}


def test_catalogue_rows_are_consistent_data() -> None:
    for spec in BUILTIN_PATTERNS:
        assert all(name in CHECKS for name in spec.checks), spec.name
        assert spec.trim is None or spec.trim in TRIMS, spec.name
        assert 0.0 < spec.base <= 1.0 and spec.max_len > 0, spec.name
        assert all(word == word.lower() for word in spec.context), spec.name
        for form in spec.forms:
            re.compile(form.regex, re.ASCII)
            assert form.trigger is not None, "built-in forms must be prefiltered"
            re2.compile(form.trigger)


@pytest.mark.parametrize(("kind", "text", "expected"), POSITIVES)
def test_true_positive(engine: Engine, kind: str, text: str, expected: str) -> None:
    response = engine.detect(text)
    assert values(response, kind) == [expected], [(d.type, d.value) for d in response.detections]


@pytest.mark.parametrize(("kind", "text"), NEGATIVES)
def test_look_alike_is_not_reported(engine: Engine, kind: str, text: str) -> None:
    response = engine.detect(text)
    assert values(response, kind) == [], [(d.type, d.value) for d in response.detections]


@pytest.mark.parametrize("text", CLEAN)
def test_upstream_false_positives_do_not_happen(engine: Engine, text: str) -> None:
    assert engine.detect(text).detections == []


def test_every_type_has_positive_examples() -> None:
    covered = {kind for kind, _, _ in POSITIVES}
    assert covered == set(CATALOGUE_TYPES) - {"MAC_ADDRESS"}


@pytest.mark.parametrize("mac", ["00:1A:2B:3C:4D:5E", "00-1a-2b-3c-4d-5e", "001a.2b3c.4d5e"])
def test_mac_address_is_reported_only_when_its_allow_threshold_is_lowered(
    engine: Engine, mac: str
) -> None:
    text = f"device {mac} joined"
    assert engine.detect(text).detections == []
    engine.set_pattern_policy("MAC_ADDRESS", allow_threshold=0.2)
    assert values(engine.detect(text), "MAC_ADDRESS") == [mac]


def test_github_token_with_bad_checksum_is_masked_not_blocked(engine: Engine) -> None:
    bad = GITHUB_PAT[:-1] + ("A" if GITHUB_PAT[-1] != "A" else "B")
    good = engine.detect(f"t {GITHUB_PAT}").detections[0]
    weak = engine.detect(f"t {bad}").detections[0]
    assert (good.action, weak.action) == ("BLOCK", "MASK")
    assert weak.confidence_explanation is not None
    assert weak.confidence_explanation.validation == "failed"


def test_jwt_needs_a_decodable_header(engine: Engine) -> None:
    no_alg = jwt({"typ": "JWT"}, {"sub": "1"})
    assert values(engine.detect(f"token {no_alg}"), "JWT") == []


def test_truncated_pem_block_is_still_a_private_key(engine: Engine) -> None:
    text = f"-----BEGIN EC PRIVATE KEY-----\n{PEM_BODY}\n(the rest was cut off)"
    found = values(engine.detect(text), "PRIVATE_KEY")
    assert len(found) == 1
    assert found[0].startswith("-----BEGIN EC PRIVATE KEY-----") and PEM_BODY.strip() in found[0]


def test_tckn_sample_helper_produces_valid_numbers(engine: Engine) -> None:
    number = tckn("271828182")
    assert values(engine.detect(f"T.C. kimlik {number}"), "TCKN") == [number]


def test_github_token_helper_matches_the_catalogue(engine: Engine) -> None:
    token = github_token("gh" + "s_", "Q" * 10 + "w" * 10 + "7" * 10)
    detection = engine.detect(token).detections[0]
    assert detection.confidence_explanation is not None
    assert detection.confidence_explanation.validation == "passed"
