"""The structural checks, one function at a time."""

from __future__ import annotations

import math
import random
import string
import subprocess
import sys
from collections import Counter

import pytest
from engine_samples import GITHUB_PAT, JWT_HS256, jwt, tckn

from tsz_otel.engine.checks import (
    CHECKS,
    TRIMS,
    card_ok,
    iban_ok,
    luhn_ok,
    shannon_entropy,
    ssn_ok,
    tckn_ok,
)


@pytest.mark.parametrize(
    ("digits", "ok"),
    [("4111111111111111", True), ("4111111111111112", False), ("79927398713", True), ("", False)],
)
def test_luhn(digits: str, ok: bool) -> None:
    assert luhn_ok(digits) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("4111 1111 1111 1111", True),  # Visa 16
        ("4222222222222", True),  # Visa 13
        ("5555555555554444", True),  # Mastercard
        ("2223003122003222", True),  # Mastercard 2-series
        ("378282246310005", True),  # Amex 15
        ("30569309025904", True),  # Diners 14
        ("6011111111111117", True),  # Discover
        ("3530111333300000", True),  # JCB
        ("4111111111111111111", False),  # Visa 19 with a bad check digit
        ("378282246310005" + "0", False),  # Amex has 15 digits, not 16
        ("9780306406157", False),  # ISBN: Luhn-valid-looking but no issuer
        ("1111111111111111", False),
    ],
)
def test_card_issuer_length_and_luhn(value: str, ok: bool) -> None:
    assert card_ok(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("DE89 3704 0044 0532 0130 00", True),
        ("GB82WEST12345698765432", True),
        ("FR7630006000011234567890189", True),
        ("NO9386011117947", True),
        ("DE89 3704 0044 0532 0130 01", False),  # mod-97
        ("DE89 3704 0044 0532 0130", False),  # DE is 22 characters
        ("ZZ12 3456 7890", False),  # no such country
    ],
)
def test_iban_mod97_and_country_length(value: str, ok: bool) -> None:
    assert iban_ok(value) is ok


def test_iban_trim_cuts_to_the_country_length() -> None:
    trim = TRIMS["iban"]
    assert trim("DE89 3704 0044 0532 0130 00 AB12") == len("DE89 3704 0044 0532 0130 00")
    assert trim("QQ12 3456") == 0


def test_tckn() -> None:
    assert tckn_ok("10000000146") is True
    assert tckn_ok(tckn("987654321")) is True
    assert tckn_ok("10000000147") is False
    assert tckn_ok("01234567890") is False


@pytest.mark.parametrize(
    ("value", "verdict"),
    [
        ("536-22-8726", True),
        ("536 22 8726", True),
        ("536228726", None),  # bare digits: ambiguous, context decides
        ("000-12-3456", False),
        ("666-12-3456", False),
        ("912-12-3456", False),
        ("536-00-8726", False),
        ("536-22-0000", False),
        ("078-05-1120", False),  # the Woolworth wallet card
        ("111-11-1111", False),
    ],
)
def test_ssn_rules(value: str, verdict: bool | None) -> None:
    assert ssn_ok(value) is verdict


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("192.168.0.1", True),
        ("127.0.9.8", True),
        ("8.8.8.8", True),
        ("256.1.1.1", False),
        ("01.2.3.4", False),
        ("0.0.0.0", False),
        ("255.255.255.255", False),
        ("255.255.240.0", False),  # a netmask
        ("2001:db8::1", True),
        ("::1", True),
        ("fe80::2bc6", True),
        ("::ffff:192.0.2.1", True),
        ("1:2:3:4:5:6:7:8", True),
        ("1::2::3", False),
        ("12::34", False),  # too little structure to tell from a ratio or scope
        ("dead::beef", False),  # no digit: an identifier, not an address
        ("10:14:42", False),
    ],
)
def test_ip(value: str, ok: bool) -> None:
    assert CHECKS["ip"](value) is ok


@pytest.mark.parametrize(
    ("value", "verdict"),
    [
        ("+1 415-555-2671", True),
        ("+81 3-6415-7733", True),
        ("+44 (0)20 8350 2479", True),
        ("(646) 990-9975", True),
        ("(11) 92049-1671", True),  # Brazil
        ("(03) 6392 0279", True),  # Australia
        ("030 84742960", True),  # Germany
        ("07907 859744", True),  # UK mobile
        ("01.05.86.23.84", True),  # France
        ("1-512-308-3005", True),
        ("2064928708", None),  # valid but bare: context decides
        ("1697607508", False),  # no such North American area code
        ("+1 123", False),
        ("+999 1234567", False),
    ],
)
def test_phone(value: str, verdict: bool | None) -> None:
    assert CHECKS["phone"](value) is verdict


def test_jwt_header_must_be_json_with_alg() -> None:
    assert CHECKS["jwt"](JWT_HS256) is True
    assert CHECKS["jwt"](jwt({"typ": "JWT"}, {"sub": "1"})) is False
    assert CHECKS["jwt"]("eyJub3RqdXN0.e30.c2ln") is False
    assert CHECKS["jwt"]("eyJ!!!.e30.x") is False


def test_entropy() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)


def _entropy_by_formula(value: str) -> float:
    length = len(value)
    counts = Counter(value).values()
    return -sum(n / length * math.log2(n / length) for n in counts) if value else 0.0


def test_tabled_entropy_is_the_formula_bit_for_bit() -> None:
    """Thresholds compare entropies exactly: the table must not move a single bit."""
    rng = random.Random(7)
    alphabet = string.printable + "\u00e9\u00fc\u6f22"
    for _ in range(20000):
        size = rng.choice([rng.randint(0, 70), rng.randint(200, 300)])
        pool = alphabet[: rng.randint(2, len(alphabet))]
        value = "".join(rng.choices(pool, k=size))
        assert shannon_entropy(value) == _entropy_by_formula(value), value


@pytest.mark.parametrize(
    "value",
    ["sk_xxxx12345678Ab", "CHANGEME-9aZ!", "my_Example_k3y!", "<your-key-1A>", "REDACTED9a!"],
)
def test_generic_secret_rejects_placeholder_words_in_any_case(value: str) -> None:
    assert CHECKS["generic_secret"](value) is False


def test_aws_secret_rejects_hex_digests_and_low_entropy() -> None:
    check = CHECKS["aws_secret"]
    assert check("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") is None  # ambiguous: needs context
    assert check("3f786850e387550fdab836ed7e6dc881de23001b") is False  # git SHA-1
    assert check("A" * 20 + "a" * 19 + "1") is False  # not random
    assert check("short") is False
    assert check("V1OrganizationExternalKeysPostRequestGcp") is False  # an identifier


def test_aws_secret_keeps_random_keys_that_happen_to_hold_words() -> None:
    check = CHECKS["aws_secret"]
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + "/+"
    keys = ["".join(rng.choice(alphabet) for _ in range(40)) for _ in range(2000)]
    candidates = [k for k in keys if check(k) is not False]
    assert len(candidates) >= 1990  # the few others fail the mixed-case/digit/entropy tests
    assert check("ThisIsMy/Key+9wJalrXUtnFEMI7MDENGbPxRfiC") is None  # some words, mostly not


def test_generic_secret() -> None:
    check = CHECKS["generic_secret"]
    assert check("Zx8fK2mQ9vL4pR7tW1yB") is True
    assert check("Winter2024!x") is True
    assert check("os") is False
    assert check("changeme123") is False
    assert check("your-api-key-1") is False
    assert check("onlylettershere") is False


def test_github_checksum() -> None:
    check = CHECKS["github"]
    assert check(GITHUB_PAT) is True
    assert check(GITHUB_PAT[:-1] + ("0" if GITHUB_PAT[-1] != "0" else "1")) is False


def test_openai_marker() -> None:
    check = CHECKS["openai"]
    assert check("sk-" + "a1B2c3D4e5F6g7H8i9J0" + "T3Blbk" + "FJ" + "k1L2m3N4o5P6q7R8s9T0") is True
    assert check("sk-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0xy") is None
    assert check("sk-aaaaaaaaaaaaaaaaaaaaaaaaa") is False


def test_email_rules() -> None:
    check = CHECKS["email"]
    assert check("a.b@example.com") is True
    assert check(".a@example.com") is False
    assert check("a..b@example.com") is False
    assert check("a@-bad.com") is False
    assert check("x" * 65 + "@example.com") is False


def test_url_trim_drops_sentence_punctuation_but_keeps_balanced_parens() -> None:
    trim = TRIMS["url"]
    assert trim("https://u:p@h.com/x.") == len("https://u:p@h.com/x")
    assert trim("https://u:p@h.com/(a)") == len("https://u:p@h.com/(a)")
    assert trim("https://u:p@h.com/a)") == len("https://u:p@h.com/a")


def test_pem_trim() -> None:
    trim = TRIMS["pem"]
    block = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
    assert trim(block) == len(block)
    assert trim("-----BEGIN PRIVATE KEY-----\nAAAA\n  \\n") == len(
        "-----BEGIN PRIVATE KEY-----\nAAAA"
    )
    assert trim("-----BEGIN PRIVATE KEY-----\n" + "A" * 20000) == 0


def test_uk_nino_prefixes() -> None:
    check = CHECKS["uk_nino"]
    assert check("AB123456C") is True
    assert check("GB123456C") is False
    assert check("NK123456C") is False


def test_every_check_is_total_on_junk() -> None:
    junk = ["", "\x00\x01", "\ud800", "💥" * 10, "-" * 50, "0" * 40, "::::", "....", "+"]
    for name, check in CHECKS.items():
        for value in junk:
            assert check(value) in (True, False, None), name
    for trim in TRIMS.values():
        for value in junk:
            assert 0 <= trim(value) <= len(value)


def _international_samples() -> list[str]:
    """Every example number the library has (each region, each type), plus the same
    numbers with the last digit changed, one digit more, one digit fewer and a trunk
    ``0`` written after the calling code (``+44 020 ...``): valid and invalid numbers
    of every calling code, in E.164 digits."""
    import phonenumbers

    samples: set[str] = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(12):  # the PhoneNumberType values
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            national = phonenumbers.national_significant_number(number)
            code = str(number.country_code)
            last = str((int(national[-1]) + 1) % 10)
            variants = (national, national[:-1] + last, national + "5", national[:-1])
            for variant in (*variants, "0" + national):
                samples.add(code + variant)
    return sorted(samples)


def test_international_numbers_decide_as_the_phonenumbers_library() -> None:
    """The compiled per-calling-code rules give ``phonenumbers.is_valid_number``'s answer."""
    import phonenumbers

    from tsz_otel.engine.checks import _international_ok

    samples = _international_samples()
    assert len(samples) > 3000
    differ = []
    for digits in samples:
        try:
            expected = phonenumbers.is_valid_number(phonenumbers.parse("+" + digits))
        except phonenumbers.NumberParseException:
            expected = False
        if _international_ok(digits) != expected:
            differ.append(digits)
    assert differ == []


def _in_a_fresh_interpreter(probe: str) -> str:
    """What ``probe`` prints, run by a new Python (first uses happen there, not here)."""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout


def test_a_calling_code_loads_only_the_regions_a_number_needs() -> None:
    """+1 has 25 regions; a US number must not load and compile the other 23 (that was
    ~11 ms on the first +1 number of a process). Checked in a fresh interpreter."""
    probe = (
        "import sys, phonenumbers\n"
        "from tsz_otel.engine.checks import phone_ok\n"
        "assert phone_ok('+1 415 555 0132')\n"
        "nanp = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]\n"
        "print(sorted(r for r in nanp if 'phonenumbers.data.region_' + r in sys.modules))\n"
    )
    loaded = _in_a_fresh_interpreter(probe).strip()
    assert loaded == "['CA', 'US']"  # CA: the national-format rules, at import


def test_first_use_of_calling_codes_from_many_threads_agrees_with_the_library() -> None:
    """Regions compile lazily; eight threads racing through first uses in a fresh
    interpreter get the library's answers, the same in every thread."""
    probe = (
        "import threading, phonenumbers\n"
        "from tsz_otel.engine.checks import phone_ok\n"
        "fmt = phonenumbers.PhoneNumberFormat.INTERNATIONAL\n"
        "nums = [phonenumbers.example_number_for_type(r, 1) for r in\n"
        "        sorted(phonenumbers.SUPPORTED_REGIONS)]\n"
        "texts = [phonenumbers.format_number(n, fmt) for n in nums if n is not None]\n"
        "out = [None] * 8\n"
        "def work(i): out[i] = [phone_ok(t) for t in texts]\n"
        "threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "want = [phonenumbers.is_valid_number(phonenumbers.parse(t)) for t in texts]\n"
        "print(len(texts), all(o == want for o in out))\n"
    )
    count, agree = _in_a_fresh_interpreter(probe).split()
    assert int(count) > 200 and agree == "True"
