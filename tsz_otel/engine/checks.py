"""Structural checks that confirm or reject a regex candidate.

A regex only says a string *looks like* an entity; a check says whether it can be
one. Every check is a plain function ``check(value) -> bool | None`` registered by
name in :data:`CHECKS`, so a catalogue row names the checks it wants and a new check
is one function plus one registry entry:

* ``True``  - the value passed a real structural test (checksum, parser, ...).
* ``False`` - the value cannot be this entity (bad checksum, impossible range).
  The candidate is dropped (or falls to the row's ``fail_score``).
* ``None``  - nothing to say either way (for example a bare 9-digit number that
  satisfies the SSN rules but could as well be any number): the row's base score
  applies and context decides.

:data:`TRIMS` holds the few functions that cut a candidate to its real length
(an IBAN is as long as its country says; a URL does not end in a full stop).
They return the number of characters to keep, ``0`` to reject the candidate.

Checks never raise on bad input and never log the value they look at.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import phonenumbers

__all__ = [
    "CHECKS",
    "IBAN_LENGTHS",
    "TRIMS",
    "Check",
    "Trim",
    "card_ok",
    "iban_ok",
    "luhn_ok",
    "shannon_entropy",
    "ssn_ok",
    "tckn_ok",
]

Check = Callable[[str], bool | None]
Trim = Callable[[str], int]

_DIGITS = frozenset("0123456789")
_NON_DIGIT = re.compile(r"[^0-9]")
_HAS_DIGIT = re.compile(r"[0-9]").search
_HAS_ALPHA = re.compile(r"[A-Za-z]").search


def _digits(value: str) -> str:
    return _NON_DIGIT.sub("", value)


# --------------------------------------------------------------------------- numbers

# Luhn's doubled digit (2d, or 2d - 9 above 9) as a byte translation of ASCII digits.
_LUHN_DOUBLED = bytes.maketrans(b"0123456789", b"0246813579")


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) checksum over a string of ASCII digits."""
    if not digits or not digits.isdigit() or not digits.isascii():
        return False
    raw = digits.encode("ascii")
    kept, doubled = raw[-1::-2], raw[-2::-2].translate(_LUHN_DOUBLED)
    total = sum(kept) + sum(doubled) - 48 * (len(kept) + len(doubled))
    return total % 10 == 0


# Issuer prefixes (IIN ranges) and the lengths each scheme issues. A Luhn-valid
# number outside these ranges (an ISBN, a tracking number) is not a card.
_CARD_SCHEMES: tuple[tuple[tuple[int, int], int, frozenset[int]], ...] = (
    # (prefix range inclusive, prefix length, allowed lengths)
    ((4, 4), 1, frozenset({13, 16, 19})),  # Visa
    ((51, 55), 2, frozenset({16})),  # Mastercard
    ((2221, 2720), 4, frozenset({16})),  # Mastercard 2-series
    ((34, 34), 2, frozenset({15})),  # American Express
    ((37, 37), 2, frozenset({15})),
    ((300, 305), 3, frozenset({14, 16, 17, 18, 19})),  # Diners Club
    ((36, 36), 2, frozenset({14, 16, 17, 18, 19})),
    ((38, 39), 2, frozenset({14, 16, 17, 18, 19})),
    ((3528, 3589), 4, frozenset({16, 17, 18, 19})),  # JCB
    ((2200, 2204), 4, frozenset({16, 17, 18, 19})),  # Mir
    ((50, 50), 2, frozenset({12, 13, 14, 15, 16, 17, 18, 19})),  # Maestro
    ((56, 58), 2, frozenset({12, 13, 14, 15, 16, 17, 18, 19})),
    ((60, 69), 2, frozenset({16, 17, 18, 19})),  # Discover, UnionPay, RuPay, Maestro
)


def card_ok(value: str) -> bool | None:
    """A payment card number: known issuer range, a length it issues, and Luhn."""
    digits = _digits(value)
    size = len(digits)
    if size < 12 or size > 19 or digits.count(digits[0]) == size:
        return False
    prefixes = (0, int(digits[0]), int(digits[:2]), int(digits[:3]), int(digits[:4]))
    for (low, high), width, lengths in _CARD_SCHEMES:
        if low <= prefixes[width] <= high and size in lengths:
            return luhn_ok(digits)
    return False


# Lengths of IBANs per country (SWIFT IBAN registry).
IBAN_LENGTHS: Mapping[str, int] = MappingProxyType(
    {
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
        "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
        "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
        "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
        "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
        "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
        "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
        "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
        "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
        "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
        "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
        "YE": 30,
    }
)  # fmt: skip


_IBAN_LETTERS = str.maketrans({chr(65 + i): str(10 + i) for i in range(26)})


def iban_ok(value: str) -> bool | None:
    """ISO 13616: known country, that country's length, and mod-97 == 1."""
    compact = value.replace(" ", "").upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isascii():
        return False
    if not compact.isalnum():
        return False
    numeric = (compact[4:] + compact[:4]).translate(_IBAN_LETTERS)
    return numeric.isdigit() and int(numeric) % 97 == 1


def iban_trim(value: str) -> int:
    """Cut a greedy IBAN candidate to its country's length (0 if unknown country).

    The candidate regex may run on into a following group of capitals or digits
    (``DE89 3704 ... 00 AND``); the registry length says where the IBAN ends. The
    cut must fall on a group boundary of the candidate, not inside a group.
    """
    expected = IBAN_LENGTHS.get(value[:2].upper())
    if expected is None:
        return 0
    if " " not in value:
        return expected if len(value) >= expected else 0
    seen = 0
    for group in _NON_SPACE_RUN(value):
        start, end = group.span()
        if seen + end - start >= expected:
            end = start + expected - seen  # just after the expected-th character
            if end < len(value) and value[end] != " " and " " in value[:end]:
                return 0  # the cut would fall inside a group
            return end
        seen += end - start
    return 0


_NON_SPACE_RUN = re.compile(r"[^ ]+").finditer


def tckn_ok(value: str) -> bool | None:
    """Turkish identity number: 11 digits, no leading zero, two check digits.

    Nine equal leading digits (``11111111110``, ``22222222220``: they pass the check
    digits) are filler, not an issued number.
    """
    digits = _digits(value)
    if len(digits) != 11 or digits[0] == "0" or digits[:9] == digits[0] * 9:
        return False
    d = [ord(ch) - 48 for ch in digits]
    tenth = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    return tenth == d[9] and sum(d[:10]) % 10 == d[10]


# Numbers the SSA never issues or that are famous examples.
_SSN_EXAMPLES = frozenset({"078051120", "219099999", "457555462"})


def ssn_ok(value: str) -> bool | None:
    """US SSN area/group/serial rules; a bare 9-digit run is only ``None`` (ambiguous).

    Area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
    """
    digits = _digits(value)
    if len(digits) != 9 or len(set(digits)) == 1 or digits in _SSN_EXAMPLES:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return True if len(value) > 9 else None


def uk_nino_ok(value: str) -> bool | None:
    """UK National Insurance number prefix rules (HMRC): some pairs never issued."""
    prefix = value[:2].upper()
    return prefix not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


# --------------------------------------------------------------------------- network


# Octets allowed in a netmask; a dotted quad made of these with a leading 255 is
# a mask, not an address.
_MASK_OCTETS = frozenset({"0", "128", "192", "224", "240", "248", "252", "254", "255"})


def ipv4_ok(value: str) -> bool | None:
    """A real, specific IPv4 address (not 0.0.0.0, broadcast or a netmask)."""
    parts = value.split(".")
    if len(parts) != 4:
        return False
    if _DOTTED_QUAD(value) is None:
        if value.isascii():
            return False
        for part in parts:  # non-ASCII digits: the general test
            if not part.isdigit() or len(part) > 3 or (len(part) > 1 and part[0] == "0"):
                return False
            if int(part) > 255:
                return False
    if value in ("0.0.0.0", "255.255.255.255"):
        return False
    return not (parts[0] == "255" and all(part in _MASK_OCTETS for part in parts))


# Four ASCII octets 0-255 without leading zeros: ipv4_ok's per-part test in one match.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}").fullmatch


def ipv6_ok(value: str) -> bool | None:
    """An IPv6 address per :mod:`ipaddress`, with enough structure to not be code.

    ``a::b`` style identifiers (C++ scopes, Rust paths) and ``12::34`` parse as
    IPv6; we require a digit, and three groups or a group of three or more hex
    digits (``fe80::2bc6``), or the loopback ``::1``.
    """
    if value.count(":") < 2 or not _HAS_DIGIT(value):
        return False
    groups = [group for group in value.split(":") if group]
    if len(groups) + (1 if "." in value else 0) < 3 and value != "::1":
        if not any(len(group) >= 3 for group in groups):
            return False
    return _ipv6_syntax(value)


_HEX_GROUP = re.compile(r"[0-9A-Fa-f]{1,4}").fullmatch


def _ipv6_syntax(value: str) -> bool:
    """RFC 4291 text form: eight groups, one ``::`` at most, optional IPv4 tail."""
    if "." in value:
        head, _, tail = value.rpartition(":")
        parts = tail.split(".")
        if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
            return False
        value = head + ":0:0"
    halves = value.split("::")
    if len(halves) > 2:
        return False
    if len(halves) == 2:
        left = halves[0].split(":") if halves[0] else []
        right = halves[1].split(":") if halves[1] else []
        groups = left + right
        if len(groups) > 7:
            return False
    else:
        groups = value.split(":")
        if len(groups) != 8:
            return False
    return all(_HEX_GROUP(group) for group in groups)


def ip_ok(value: str) -> bool | None:
    return ipv6_ok(value) if ":" in value else ipv4_ok(value)


# --------------------------------------------------------------------------- phones

# National formats are tried against the regions whose numbers are written that
# way: a leading trunk "0" is European/Australian/Asian style, ten digits without
# it North American, "(dd) ddddd-dddd" Brazilian/Australian.
_NANP_REGIONS = ("US", "CA")
_TRUNK_REGIONS = ("GB", "DE", "FR", "AU", "NL", "IT", "IN", "JP", "BR", "CH", "AT", "BE", "MX")
_PAREN_REGIONS = ("US", "CA", "BR", "AU", "AR", "MX")

# libphonenumber number types, most common first (fixed line, mobile).
_TYPE_DESCS = (
    "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "voip",
    "personal_number", "pager", "uan", "voicemail",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Desc:
    lengths: frozenset[int]
    pattern: re.Pattern[str]

    def matches(self, national: str) -> bool:
        if self.lengths and len(national) not in self.lengths:
            return False
        return self.pattern.fullmatch(national) is not None


@dataclass(frozen=True, slots=True)
class _RegionRules:
    """libphonenumber's validity rules for one region, compiled once.

    Same decision as ``phonenumbers.is_valid_number_for_region`` (the number
    matches the region's general pattern and one number-type pattern) without
    its per-call overhead, which dominates a scan of a short prompt.
    """

    region: str
    trunk: str
    keep_trunk: bool
    general: _Desc
    types: tuple[_Desc, ...]

    def valid(self, digits: str) -> bool:
        national = digits
        if self.trunk and national.startswith(self.trunk) and not self.keep_trunk:
            national = national[len(self.trunk) :]
        if len(national) < 5 or not self.general.matches(national):
            return False
        return any(desc.matches(national) for desc in self.types)


def _desc(desc: Any) -> _Desc | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return _Desc(frozenset(desc.possible_length), re.compile(desc.national_number_pattern))


def _region_rules(region: str) -> _RegionRules:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None:  # pragma: no cover - every region listed here has metadata
        raise ValueError(f"no phone metadata for {region}")
    general = _desc(meta.general_desc)
    assert general is not None
    types = tuple(d for d in (_desc(getattr(meta, name)) for name in _TYPE_DESCS) if d)
    return _RegionRules(
        region=region,
        trunk=meta.national_prefix or "",
        keep_trunk=bool(meta.leading_zero_possible) or region == "IT",
        general=general,
        types=types,
    )


_RULES: Mapping[str, _RegionRules] = MappingProxyType(
    {r: _region_rules(r) for r in dict.fromkeys(_NANP_REGIONS + _TRUNK_REGIONS + _PAREN_REGIONS)}
)


class _Territory:
    """One region sharing a country calling code, as ``is_valid_number`` sees it.

    ``leading``: the region's ``leading_digits`` (when set, they alone decide that
    a number belongs to the region); :meth:`known`: its validity rules, types in
    :func:`phonenumbers.phonenumberutil._number_type_helper`'s order (mobile only when
    its pattern differs from fixed line).

    Both are compiled on first use, each on its own: a calling code can have many
    regions (+1 has 25), a number is usually decided by the first one or two, and most
    regions are only ever asked for their leading digits. Loading and compiling a whole
    calling code up front made the first +1 number of a process cost ~11 ms. Two
    threads may both compile a part the first time; they compute the same value.
    """

    def __init__(self, metadata: Any) -> None:
        self._metadata = metadata

    @functools.cached_property
    def leading(self) -> re.Pattern[str] | None:
        pattern = self._metadata.leading_digits
        return re.compile(pattern) if pattern is not None else None

    @functools.cached_property
    def _rules(self) -> tuple[_Desc | None, tuple[_Desc, ...]]:
        return _territory_rules(self._metadata)

    def known(self, national: str) -> bool:
        """``number_type(national) != UNKNOWN`` for this region."""
        general, types = self._rules
        if general is None or not general.matches(national):
            return False
        return any(desc.matches(national) for desc in types)


_HELPER_TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line",
)  # fmt: skip


def _territory_rules(metadata: Any) -> tuple[_Desc | None, tuple[_Desc, ...]]:
    types = [getattr(metadata, name) for name in _HELPER_TYPES]
    if not metadata.same_mobile_and_fixed_line_pattern:
        types.append(metadata.mobile)
    return _desc(metadata.general_desc), tuple(d for d in map(_desc, types) if d is not None)


@functools.cache
def _picker(region: str) -> _Territory | None:
    """How ``region_code_for_number`` tells whether a number is ``region``'s (``None``
    for a region without metadata). Loaded on first use of each region: importing a
    region's metadata module is most of what a first number of a calling code costs."""
    own = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
    return _Territory(own) if own is not None else None


@functools.cache
def _checker(country: int, region: str) -> _Territory | None:
    """The rules a number assigned to ``region`` is validated with
    (``is_valid_number_for_region``); ``None`` when the region cannot hold the code."""
    final = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country, region.upper())
    valid_code = region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY or (
        final is not None and final.country_code == country
    )
    return _Territory(final) if final is not None and valid_code else None


@functools.cache
def _national_prefix(country: int) -> tuple[re.Pattern[str], bool] | None:
    """The calling code's national prefix for parsing (its main region's) and whether a
    transform rule comes with it; ``None`` when it has none."""
    region = phonenumbers.region_code_for_country_code(country)
    meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country, region)
    if meta is None or not meta.national_prefix_for_parsing:
        return None
    return re.compile(meta.national_prefix_for_parsing), bool(meta.national_prefix_transform_rule)


def _prefix_applies(country: int, rest: str) -> bool:
    """Whether the library would strip or rewrite a national prefix in ``rest`` (the
    digits after the calling code) before validating it: ``+44 020 ...``, Gabon's ``06``
    numbers, Norfolk Island's five-digit numbers."""
    found = _national_prefix(country)
    if found is None:
        return False
    prefix, transforms = found
    match = prefix.match(rest)
    if match is None:
        return False
    return match.end() > 0 or (transforms and match.lastindex is not None)


def _library_valid(digits: str) -> bool:
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse("+" + digits)))
    except phonenumbers.NumberParseException:
        return False


def _valid_international(country: int, national: str) -> bool:
    """``phonenumbers.is_valid_number`` for ``+country national``, with compiled rules.

    Same decision as the library (region by leading digits or by a known number
    type, in the library's region order, then that region's validity rules)
    without building a ``PhoneNumber`` and walking metadata on every call.
    """
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country, ())
    if not regions:
        return False
    index = 0
    if len(regions) > 1:
        for index, region in enumerate(regions):  # noqa: B007 - the index is the result
            territory = _picker(region)
            if territory is None:
                continue
            leading = territory.leading
            if leading is not None:
                if leading.match(national):
                    break
            elif territory.known(national):
                break
        else:
            return False
    rules = _checker(country, regions[index])
    return rules is not None and rules.known(national)


def _international_ok(digits: str) -> bool:
    for width in (1, 2, 3):
        country = int(digits[:width])
        if country in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            rest = digits[width:]
            if len(rest) < 4:
                return False
            if _prefix_applies(country, rest):  # rare: the library's own parse decides
                return _library_valid(digits)
            # the national significant number as the library forms it: every leading
            # zero is kept ("italian leading zero" and its count)
            return _valid_international(country, rest)
    return False


def _national_ok(value: str, digits: str) -> bool:
    if value.startswith("(") and not digits.startswith("0"):
        regions: tuple[str, ...] = _PAREN_REGIONS
    elif len(digits) == 11 and digits.startswith("1"):
        return any(_RULES[r].valid(digits[1:]) for r in _NANP_REGIONS)
    elif digits.startswith("0"):
        regions = _TRUNK_REGIONS
    else:
        regions = _NANP_REGIONS
    return any(_RULES[r].valid(digits) for r in regions)


def phone_ok(value: str) -> bool | None:
    """A dialable number per libphonenumber.

    ``+`` numbers are checked without a region; national formats against the
    regions that write numbers that way. A valid number written as a bare digit
    run (``2064928708``) is only ``None``: it could as well be an order number.
    """
    digits = _digits(value.replace("(0)", ""))  # "+44 (0)20 ...": optional trunk zero
    if not 7 <= len(digits) <= 15:
        return False
    try:
        if value.startswith("+"):
            return _international_ok(digits)
        if not _national_ok(value, digits):
            return False
    except (ValueError, KeyError):  # pragma: no cover - defensive: library edge cases
        return False
    return None if value.isdigit() else True


# --------------------------------------------------------------------------- secrets


def shannon_entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character."""
    if not value:
        return 0.0
    length = len(value)
    counts = Counter(value).values()
    if length > _TERMS_MAX:
        return -sum(n / length * math.log2(n / length) for n in counts)
    return -sum(map(_entropy_terms(length).__getitem__, counts))


_TERMS_MAX = 256  # longest value whose entropy terms are tabled (checks look at 64 or fewer)


@functools.cache
def _entropy_terms(length: int) -> tuple[float, ...]:
    """``n / length * log2(n / length)`` for every count ``n`` a value of ``length`` can
    have, computed as :func:`shannon_entropy` would: looking a term up instead of
    calling ``log2`` per character class gives the same sum, bit for bit, for less."""
    return (0.0, *(n / length * math.log2(n / length) for n in range(1, length + 1)))


_HEX_ONLY = re.compile(r"[0-9a-fA-F]+").fullmatch


_HAS_LOWER = re.compile(r"[a-z]").search
_HAS_UPPER = re.compile(r"[A-Z]").search
_HAS_OTHER = re.compile(r"[^A-Za-z0-9]").search


def _classes(value: str) -> int:
    found = (_HAS_LOWER(value), _HAS_UPPER(value), _HAS_DIGIT(value), _HAS_OTHER(value))
    return sum(1 for hit in found if hit)


_WORD_LIKE = re.compile(r"[A-Z]?[a-z]{3,}")
_WORDY_SHARE = 0.7
"""A 40-character value this much covered by word-like runs is an identifier
(``V1OrganizationExternalKeysPostRequestGcp``): random base64 reaches it in under
0.01 % of draws."""


def aws_secret_ok(value: str) -> bool | None:
    """40 base64 characters that look random: mixed case and digits, high entropy.

    A git SHA-1 or any hex digest is 40 characters too, but hex-only: rejected. So is a
    CamelCase identifier of that length (mostly words). Passing gives ``None``
    (ambiguous): only AWS context makes it a finding.
    """
    if len(value) != 40 or _HEX_ONLY(value):
        return False
    if not (_HAS_LOWER(value) and _HAS_UPPER(value) and _HAS_DIGIT(value)):
        return False
    if sum(map(len, _WORD_LIKE.findall(value))) >= _WORDY_SHARE * len(value):
        return False
    return None if shannon_entropy(value) >= 4.0 else False


_PLACEHOLDER_WORDS = ("xxxx", "****", "changeme", "example", "placeholder", "your", "redacted")
# any of the words in one C-level search (a generator over ``in`` tests costs more)
_PLACEHOLDER_WORD = re.compile("|".join(map(re.escape, _PLACEHOLDER_WORDS))).search


_IDENTIFIER = re.compile(r"[a-z]+\d{0,2}[a-z]*(?:[_\-][a-z]+\d{0,2}[a-z]*)+").fullmatch
"""Lower-case words joined by ``_``/``-``, a digit or two inside a word at most: a name
from code (``replaced_by_pep8``, ``base64_bytes``, ``k8s-aws-v1``), not a secret."""


def generic_secret_ok(value: str) -> bool | None:
    """A value assigned to a key/token/secret/password name that looks like a secret.

    Identifiers (``os.environ``, ``base64_bytes``), placeholders (``<your-key>``,
    ``xxxx``) and words (also URL-encoded: ``Root%20CA%20Certificates``) fail; short
    values need three character classes, long ones digits, letters and entropy.
    """
    if not (_HAS_DIGIT(value) and _HAS_ALPHA(value)):
        return False
    if _PLACEHOLDER_WORD(value.lower()) or "%20" in value:  # URL-encoded words
        return False
    if _IDENTIFIER(value):
        return False
    classes = _classes(value)
    if len(value) >= 16:
        # long and mixed is random enough; entropy only for one- or two-class values
        return True if classes >= 3 or shannon_entropy(value[:64]) >= 3.2 else False
    return True if classes >= 3 and shannon_entropy(value) >= 2.5 else False


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


_B62_VALUE: Mapping[str, int] = MappingProxyType({char: i for i, char in enumerate(_B62)})


def github_ok(value: str) -> bool | None:
    """GitHub ``gh?_`` tokens end in a base62 CRC32 of their 30-character body.

    The six checksum characters are decoded and compared with the CRC (the same
    test as encoding the CRC, which is always below ``62**6``, and comparing).
    """
    if value.startswith("github_pat_"):
        return True if len(value) >= 82 else None
    body = value[4:]
    tail = body[30:]
    if len(body) != 36 or not body.isascii() or not tail.isalnum():
        return False
    checksum = 0
    for char in tail:
        checksum = checksum * 62 + _B62_VALUE[char]
    return checksum == zlib.crc32(body[:30].encode("ascii"))


def openai_ok(value: str) -> bool | None:
    """OpenAI keys carry ``T3BlbkFJ`` (base64 of "OpenAI"); others stay ambiguous."""
    if "T3BlbkFJ" in value:
        return True
    return None if len(value) >= 40 and shannon_entropy(value) >= 3.5 else False


def slack_ok(value: str) -> bool | None:
    """Slack tokens: numeric team/user segments and a long random tail."""
    if value.startswith("https://"):
        return True
    segments = value.split("-")
    if len(segments) < 3:
        return False
    tail = segments[-1]
    return len(tail) >= 10 and any(s.isdigit() for s in segments[1:-1])


def _b64url_json(segment: str) -> object:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def jwt_ok(value: str) -> bool | None:
    """The header segment is base64url JSON naming an ``alg``."""
    try:
        header = _b64url_json(value.split(".", 1)[0])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return isinstance(header, dict) and isinstance(header.get("alg"), str)


def email_ok(value: str) -> bool | None:
    """RFC 5321 limits and no empty labels or dot runs."""
    local, _, domain = value.rpartition("@")
    if not local or len(local) > 64 or len(value) > 254:
        return False
    if local[0] == "." or local[-1] == "." or ".." in local:
        return False
    for label in domain.split("."):
        if not 0 < len(label) <= 63 or label[0] == "-" or label[-1] == "-":
            return False
    return True


_URL_TAIL = ".,;:!?'\")]}>*"


def url_trim(value: str) -> int:
    """Drop sentence punctuation the greedy URL pattern swallowed."""
    end = len(value)
    while end and value[end - 1] in _URL_TAIL:
        if value[end - 1] == ")" and value.count("(", 0, end) >= value.count(")", 0, end):
            break
        end -= 1
    return end


_PEM_MAX = 16384


def pem_trim(value: str) -> int:
    """A truncated PEM block (no END line) ends at its last non-blank character."""
    if len(value) > _PEM_MAX:
        return 0
    if "-----END" in value:
        return len(value)
    stripped = value.rstrip()
    while stripped.endswith("\\n"):  # JSON-escaped newlines in a pasted string
        stripped = stripped[:-2].rstrip()
    return len(stripped)


CHECKS: Mapping[str, Check] = MappingProxyType(
    {
        "aws_secret": aws_secret_ok,
        "card": card_ok,
        "email": email_ok,
        "generic_secret": generic_secret_ok,
        "github": github_ok,
        "iban": iban_ok,
        "ip": ip_ok,
        "jwt": jwt_ok,
        "openai": openai_ok,
        "phone": phone_ok,
        "slack": slack_ok,
        "ssn": ssn_ok,
        "tckn": tckn_ok,
        "uk_nino": uk_nino_ok,
    }
)
"""Check name -> function. Catalogue rows refer to checks by these names."""

TRIMS: Mapping[str, Trim] = MappingProxyType({"iban": iban_trim, "url": url_trim, "pem": pem_trim})
"""Trim name -> function returning how many leading characters to keep."""
