"""The built-in catalogue: every PII and secret type the engine knows, as data.

One :class:`PatternSpec` row per type. A row says what to look for (``regex``,
Python :mod:`re` syntax, compiled with ``re.ASCII`` so ``\\d``, ``\\w`` and ``\\b``
mean what they mean in RE2), how cheaply to rule it out (``trigger``, an RE2
expression that every real match contains, used by the one-pass prefilter), how
to confirm it (``checks``, names in :data:`tsz_otel.engine.checks.CHECKS`), and
how sure a finding is (``base``/``pass_score``/``fail_score`` plus ``context``
words; see :mod:`tsz_otel.engine.scoring`). Adding a type is adding a row.

Regexes here may use look-arounds (they are ours and tested against ReDoS-shaped
input); user patterns are RE2 only (:mod:`tsz_otel.engine.regex`). Each regex is
written so a match cannot start in the middle of a longer token (look-behind on
the first character) and has a bounded length (``max_len``), which the streaming
hold-back relies on.

Scores (see :mod:`tsz_otel.engine.scoring` for the model): verified high-risk
secrets and valid card numbers sit at or above the default block threshold 0.85;
PII with a structural check sits in the mask band; values that need context to
mean anything (bare digit runs, 40-character tokens) start below the allow
threshold 0.30 and only context lifts them. ``MAC_ADDRESS`` starts below the allow
threshold and has no context boost: a device identifier is not reported unless a
deployment lowers that pattern's allow threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUILTIN_PATTERNS", "PII", "SECRET", "PatternSpec", "builtin_names"]

PII = "PII"
SECRET = "SECRET"


@dataclass(frozen=True, slots=True)
class PatternSpec:
    """One detection rule (a catalogue row, or a user pattern turned into one).

    Attributes:
        name: The detection type reported (``EMAIL``, ``AWS_ACCESS_KEY``...).
        category: ``PII``, ``SECRET``, ``INJECTION`` or a user category.
        regex: The pattern. Built-ins: Python ``re`` syntax; user rows: RE2.
        trigger: RE2 expression every match contains, for the prefilter; ``None``
            means "always run" (user patterns).
        description: One line for listings and docs.
        base: Score when no check gives a verdict (or the row has no checks).
        pass_score: Score when the checks pass; ``None`` means ``base``.
        fail_score: Score when a check fails; ``0`` drops the candidate.
        checks: Names of checks; any ``False`` fails, a ``True`` passes.
        trim: Name of a trim function that cuts the candidate to size.
        group: Regex group that is the entity (``0`` whole match, ``-1`` the
            group of whichever alternative matched).
        context: Lower-case words that make the finding likelier when they occur
            within ``context_window`` characters before it.
        context_boost: Score added when a context word is present.
        context_window: How far back context words are looked for.
        max_len: Upper bound of a match's length in characters.
        allow_threshold: Per-pattern allow threshold (``None``: category/global).
        block_threshold: Per-pattern block threshold (``None``: category/global).
        active: Inactive rows are listed but never scanned.
        ignore_case: Compile the regex case-insensitively.
    """

    name: str
    category: str
    regex: str
    trigger: str | None
    description: str
    base: float
    pass_score: float | None = None
    fail_score: float = 0.0
    checks: tuple[str, ...] = ()
    trim: str | None = None
    group: int = 0
    context: tuple[str, ...] = ()
    context_boost: float = 0.0
    context_window: int = 48
    max_len: int = 64
    allow_threshold: float | None = None
    block_threshold: float | None = None
    active: bool = True
    ignore_case: bool = False


# Shared fragments. "Start of token" is asserted after the first character so the
# regex keeps a literal/charset prefix (much faster in CPython's re).
_NOT_AFTER_DIGIT = r"(?<![\d][\d])"

_PHONE = (
    # +CC international, separators between digits
    r"\+\d(?<![\w+]\+\d)(?:[ .\-()]{0,2}\d){6,14}(?![\d])"
    r"|"
    # (area) local  - US, BR, AU
    r"\((?<![\w(]\()\d{2,4}\)[ .\-]?\d{3,5}[ .\-]?\d{4}(?![\d]|[ .\-]\d)"
    r"|"
    # national formats starting with a digit
    r"\d(?<![\w+.\-/]\d)(?:"
    r"\d{2}([ .\-])\d{3}\1\d{4}"  # 415-555-2671, 415.555.2671
    r"|-\d{3}-\d{3}-\d{4}|\ \d{3}\ \d{3}\ \d{4}"  # 1-512-308-3005
    r"|\d{2,4}[ /]\d{6,8}"  # 030 84742960, 0176 66541143, 030/63745753
    r"|\d{2,3}\ \d{3,4}\ \d{4}"  # 020 7731 0435, 0161 496 0000
    r"|\d{3,4}\ \d{5,6}"  # 07907 859744, 069501 10658
    r"|\d([ .])\d{2}(?:\2\d{2}){3}"  # 06 69 26 21 89, 01.05.86.23.84
    r"|\d{9,10}"  # bare run: ambiguous, context decides
    r")(?![\d]|[ .\-/]\d|\.\d)"
)

BUILTIN_PATTERNS: tuple[PatternSpec, ...] = (
    PatternSpec(
        name="PRIVATE_KEY",
        category=SECRET,
        regex=(
            r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----"
            r"(?:(?:(?!-----)[\s\S]){0,8000}-----END \1PRIVATE KEY\2-----"
            r"|(?:[ \t]*(?:\r?\n|\\n|\\r\\n)[ \t]*[A-Za-z0-9+/=:,.\- ]{0,80}){0,120})"
        ),
        trigger=r"PRIVATE KEY",
        description="PEM private key block (PKCS#1/#8, EC, OpenSSH, PGP), whole block",
        base=0.95,
        trim="pem",
        max_len=8192,
    ),
    PatternSpec(
        name="URL_WITH_CREDENTIALS",
        category=SECRET,
        regex=(
            r"[A-Za-z](?<![A-Za-z0-9+.\-][A-Za-z])[A-Za-z0-9+.\-]{0,30}://"
            r"[^\s:/?#@\"'<>]{0,128}:[^\s/?#@\"'<>]{1,256}@[^\s/?#@\"'<>]{1,256}"
            r"(?:[/?#][^\s\"'<>]{0,1024})?"
        ),
        trigger=r"://[^\s/@]*:[^\s/@]+@",
        description="URL with a user:password part (database DSNs, git remotes)",
        base=0.9,
        trim="url",
        max_len=2048,
    ),
    PatternSpec(
        name="JWT",
        category=SECRET,
        regex=r"eyJ(?<![A-Za-z0-9_\-]eyJ)[A-Za-z0-9_\-]{5,2048}\.[A-Za-z0-9_\-]{2,4096}\.[A-Za-z0-9_\-]{0,2048}",
        trigger=r"eyJ[A-Za-z0-9_\-]+\.",
        description="JSON Web Token (header decodes to JSON with alg)",
        base=0.5,
        pass_score=0.9,
        checks=("jwt",),
        max_len=8192,
    ),
    PatternSpec(
        name="AWS_ACCESS_KEY",
        category=SECRET,
        regex=r"(?:A(?<![A-Za-z0-9]A)(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA))[A-Z2-7]{16}(?![A-Za-z0-9])",
        trigger=r"A(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA)[A-Z2-7]{16}",
        description="AWS access key id (AKIA/ASIA... + 16 base32 characters)",
        base=0.9,
        context=("aws", "access", "key"),
        context_boost=0.05,
        max_len=20,
    ),
    PatternSpec(
        name="AWS_SECRET_KEY",
        category=SECRET,
        regex=r"[A-Za-z0-9/+](?<![A-Za-z0-9/+=][A-Za-z0-9/+])[A-Za-z0-9/+]{39}(?![A-Za-z0-9/+=])",
        trigger=r"[A-Za-z0-9/+]{40}",
        description="AWS secret access key (40 random base64 characters near AWS context)",
        base=0.25,
        checks=("aws_secret",),
        context=("aws", "secret", "akia", "asia"),
        context_boost=0.6,
        context_window=96,
        max_len=40,
    ),
    PatternSpec(
        name="GITHUB_TOKEN",
        category=SECRET,
        regex=(
            r"g(?<![A-Za-z0-9_]g)(?:h[pousr]_[A-Za-z0-9]{36}"
            r"|ithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])"
        ),
        trigger=r"gh[pousr]_|github_pat_",
        description="GitHub token (ghp_/gho_/ghu_/ghs_/ghr_ with CRC32, github_pat_)",
        base=0.7,
        pass_score=0.95,
        fail_score=0.6,
        checks=("github",),
        max_len=93,
    ),
    PatternSpec(
        name="OPENAI_API_KEY",
        category=SECRET,
        regex=(
            r"sk-(?<![A-Za-z0-9_\-]sk-)(?!ant-)(?:(?:proj|svcacct|admin|None)-)?"
            r"[A-Za-z0-9_\-]{20,256}(?![A-Za-z0-9_\-])"
        ),
        trigger=r"sk-[A-Za-z0-9_\-]{20}",
        description="OpenAI API key (sk-, sk-proj-, sk-svcacct-, with the T3BlbkFJ marker)",
        base=0.7,
        pass_score=0.95,
        checks=("openai",),
        max_len=270,
    ),
    PatternSpec(
        name="SLACK_TOKEN",
        category=SECRET,
        regex=(
            r"x(?<![A-Za-z0-9]x)(?:ox[abposre]-[0-9A-Za-z\-]{10,250}"
            r"|app-\d-[A-Z0-9]{6,20}-\d{6,20}-[a-f0-9]{32,80})(?![A-Za-z0-9\-])"
            r"|https://hooks\.slack\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{16,32}"
        ),
        trigger=r"xox[abposre]-|xapp-|hooks\.slack\.com/services/",
        description="Slack bot/user/app token or incoming-webhook URL",
        base=0.6,
        pass_score=0.9,
        checks=("slack",),
        max_len=260,
    ),
    PatternSpec(
        name="STRIPE_KEY",
        category=SECRET,
        regex=(
            r"(?:[sr]k_(?<![A-Za-z0-9][sr]k_)(?:live|test)_[0-9A-Za-z]{20,247}"
            r"|whsec_(?<![A-Za-z0-9]whsec_)[A-Za-z0-9]{32,64})(?![A-Za-z0-9])"
        ),
        trigger=r"[sr]k_(?:live|test)_|whsec_",
        description="Stripe secret/restricted key or webhook signing secret",
        base=0.9,
        max_len=260,
    ),
    PatternSpec(
        name="GOOGLE_API_KEY",
        category=SECRET,
        regex=r"AIza(?<![A-Za-z0-9_\-]AIza)[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])",
        trigger=r"AIza[0-9A-Za-z_\-]{35}",
        description="Google API key (AIza + 35 characters)",
        base=0.9,
        max_len=39,
    ),
    PatternSpec(
        name="GENERIC_API_KEY",
        category=SECRET,
        regex=(
            r"(?:api[_\-]?key|apikey|api[_\-]?token|access[_\-]?token|auth[_\-]?token"
            r"|refresh[_\-]?token|client[_\-]?secret|secret[_\-]?key|app[_\-]?secret"
            r"|private[_\-]?token|password|passwd|pwd|secret|token)"
            r"[A-Za-z0-9_.\-]{0,24}[\"']?[ \t]{0,4}(?::=|=>|[:=])[ \t]{0,4}[\"'`]?"
            r"([A-Za-z0-9_\-+/=~!@#$%^&*]{8,256})(?![A-Za-z0-9_\-+/=~!@#$%^&*])"
            r"|bearer[ \t]+([A-Za-z0-9_\-+/=~.]{16,4096})(?![A-Za-z0-9_\-+/=~.])"
        ),
        trigger=r"(?i)key|token|secret|passw|pwd|bearer",
        description="Value assigned to an api_key/token/secret/password name, or a Bearer token",
        base=0.7,
        checks=("generic_secret",),
        group=-1,
        max_len=4096,
        ignore_case=True,
    ),
    PatternSpec(
        name="EMAIL",
        category=PII,
        regex=(
            r"[A-Za-z0-9_%+\-](?<![A-Za-z0-9._%+\-][A-Za-z0-9_%+\-])[A-Za-z0-9._%+\-]{0,63}"
            r"@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}\.)+[A-Za-z]{2,24}(?![A-Za-z0-9\-]|\.[A-Za-z0-9])"
        ),
        trigger=r"@[A-Za-z0-9\-]+\.",
        description="E-mail address",
        base=0.5,
        pass_score=0.65,
        checks=("email",),
        context=("mail", "contact", "reach", "from:", "to:", "write"),
        context_boost=0.1,
        max_len=254,
    ),
    PatternSpec(
        name="CREDIT_CARD",
        category=PII,
        regex=(
            r"\d" + _NOT_AFTER_DIGIT + r"(?<![\d][ \-]\d)"
            r"(?:\d{12,18}"
            r"|\d{3}([ \-])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?"
            r"|\d{3}([ \-])\d{6}\2\d{4,5})(?![\d])"
        ),
        trigger=r"\d{4}[ \-]?\d{4}[ \-]?\d{4}|\d{4}[ \-]\d{6}[ \-]\d{4}",
        description="Payment card number (issuer range, length and Luhn checked)",
        base=0.3,
        pass_score=0.9,
        checks=("card",),
        context=("card", "visa", "mastercard", "amex", "payment", "cc", "pan"),
        context_boost=0.05,
        max_len=23,
    ),
    PatternSpec(
        name="IBAN",
        category=PII,
        regex=(
            r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}"
            r"(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)(?![A-Za-z0-9])"
        ),
        trigger=r"[A-Z]{2}\d{2} ?[A-Z0-9]{4}",
        description="International bank account number (country length and mod-97 checked)",
        base=0.3,
        pass_score=0.75,
        checks=("iban",),
        trim="iban",
        context=("iban", "account", "bank", "transfer", "konto", "compte"),
        context_boost=0.05,
        max_len=42,
    ),
    PatternSpec(
        name="US_SSN",
        category=PII,
        regex=(
            r"\d" + _NOT_AFTER_DIGIT + r"(?<![\d][\-]\d)"
            r"(?:\d{2}-\d{2}-\d{4}|\d{2} \d{2} \d{4}|\d{8})(?![\d]|[\- ]\d)"
        ),
        trigger=r"\d{3}[ \-]?\d{2}[ \-]?\d{4}",
        description="US social security number (area/group/serial rules)",
        base=0.2,
        pass_score=0.55,
        checks=("ssn",),
        context=("ssn", "social security", "social sec", "ss#", "ss no", "taxpayer"),
        context_boost=0.25,
        max_len=11,
    ),
    PatternSpec(
        name="PHONE_NUMBER",
        category=PII,
        regex=_PHONE,
        trigger=r"\d[ .\-()/]{0,2}\d{2}[ .\-()/]{0,2}\d{2}",
        description="Phone number (validated with libphonenumber; bare digit runs need context)",
        base=0.15,
        pass_score=0.6,
        checks=("phone",),
        context=("phone", "tel", "call", "mobile", "cell", "fax", "whatsapp", "sms", "contact",
                 "number", "reach", "dial", "text me"),
        context_boost=0.2,
        context_window=64,
        max_len=32,
    ),
    PatternSpec(
        name="IP_ADDRESS",
        category=PII,
        regex=(
            r"\d(?<![\w.]\d)(?<![A-Za-z]/\d)\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d]|\.\d)"
            r"|[0-9A-Fa-f:](?<![\w:.][0-9A-Fa-f:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
            r"(?<=[0-9A-Fa-f:])(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?![\w:]|\.\d)"
        ),
        trigger=r"\d\.\d{1,3}\.\d{1,3}\.\d|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:?",
        description="IPv4 or IPv6 address (parsed; versions, netmasks and 0.0.0.0 rejected)",
        base=0.3,
        pass_score=0.6,
        checks=("ip",),
        context=("ip", "host", "addr", "client", "server", "from", "remote"),
        context_boost=0.1,
        max_len=45,
    ),
    PatternSpec(
        name="MAC_ADDRESS",
        category=PII,
        regex=(
            r"[0-9A-Fa-f](?<![\w:\-.][0-9A-Fa-f])[0-9A-Fa-f]([:\-])(?:[0-9A-Fa-f]{2}\1){4}"
            r"[0-9A-Fa-f]{2}(?![\w:\-]|\.\w)"
            r"|[0-9A-Fa-f](?<![\w.][0-9A-Fa-f])[0-9A-Fa-f]{3}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}(?![\w.])"
        ),
        trigger=r"[0-9A-Fa-f]{2}[:\-][0-9A-Fa-f]{2}[:\-][0-9A-Fa-f]{2}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}",
        description="MAC address (device identifier; below the default allow threshold)",
        base=0.25,
        max_len=17,
    ),
    PatternSpec(
        name="UK_NINO",
        category=PII,
        regex=(
            r"[A-CEGHJ-PR-TW-Z](?<![A-Za-z0-9][A-Z])[A-CEGHJ-NPR-TW-Z]"
            r"(?:\d{6}|\ \d{2}\ \d{2}\ \d{2}\ ?)[A-D](?![A-Za-z0-9])"
        ),
        trigger=r"[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]",
        description="UK National Insurance number",
        base=0.3,
        pass_score=0.55,
        checks=("uk_nino",),
        context=("national insurance", "nino", "ni number", "ni no", "nin"),
        context_boost=0.2,
        max_len=13,
    ),
    PatternSpec(
        name="TCKN",
        category=PII,
        regex=r"[1-9](?<![\d][1-9])\d{10}(?![\d])",
        trigger=r"[1-9]\d{10}",
        description="Turkish national identity number (T.C. Kimlik No, checksum verified)",
        base=0.3,
        pass_score=0.45,
        checks=("tckn",),
        context=("tc", "kimlik", "tckn", "identity", "citizen", "t.c."),
        context_boost=0.25,
        max_len=11,
    ),
)
"""The built-in rows, in catalogue order (ties in overlap resolution go to the earlier row)."""


def builtin_names() -> tuple[str, ...]:
    """Names of the built-in PII/secret types, in catalogue order."""
    return tuple(spec.name for spec in BUILTIN_PATTERNS)
