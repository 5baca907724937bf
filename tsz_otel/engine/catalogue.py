"""The built-in catalogue: every PII and secret type the engine knows, as data.

One :class:`PatternSpec` row per type. A row says how sure a finding is
(``base``/``pass_score``/``fail_score`` plus ``context`` words; see
:mod:`tsz_otel.engine.scoring`), how to confirm it (``checks``, names in
:data:`tsz_otel.engine.checks.CHECKS`) and what to look for: one or more
:class:`Form` s, each a regex plus what makes it cheap to rule out. Adding a type
is adding a row; adding a way of writing it is adding a form.

Forms are Python :mod:`re` syntax compiled with ``re.ASCII`` (so ``\\d``, ``\\w``
and ``\\b`` mean what they mean in RE2) unless the row says ``unicode`` (e-mail
addresses may have non-ASCII local parts). They may use look-arounds: they are ours
and tested against ReDoS-shaped input (user patterns are RE2 only, see
:mod:`tsz_otel.engine.regex`). Every form asserts "start of token" right after its
first character (``x(?<!...x)``), which keeps a literal or character-class prefix
that CPython's matcher can skip to quickly, and every form has a bounded match
length (``max_len``), which the streaming hold-back relies on.

Scores: verified high-risk secrets and valid card numbers sit at or above the
default block threshold 0.85; PII with a structural check sits in the mask band;
values that need context to mean anything (bare digit runs, 40-character tokens)
start below the allow threshold 0.30 and only context lifts them. ``MAC_ADDRESS``
starts below the allow threshold and has no context boost: a device identifier is
not reported unless a deployment lowers that pattern's allow threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BUILTIN_PATTERNS",
    "NOT_AFTER_WINDOW",
    "PII",
    "SECRET",
    "Form",
    "PatternSpec",
    "builtin_names",
]

PII = "PII"
SECRET = "SECRET"


@dataclass(frozen=True, slots=True)
class Form:
    """One way of writing an entity: a regex and where to try it.

    Attributes:
        regex: The pattern (built-ins: Python ``re``; user patterns: RE2).
        trigger: An RE2 expression every match contains (a superset of the
            regex, without look-arounds). All triggers run together in one DFA
            pass that says which forms can match at all, and each trigger then
            locates its occurrences; the regex is only tried in a window around
            each occurrence. ``None`` means the regex runs over the whole text.
        locate: An RE2 expression to locate occurrences with instead of the
            trigger (when the trigger is a cheap necessary condition, such as a
            context word, and the occurrences are better found by shape).
        literals: Plain strings that start every trigger occurrence. When set,
            occurrences are found with ``str.find`` (cheaper than the RE2
            locator for a short text); ``literals_ignore_case`` compares them
            ASCII-case-insensitively. With ``at_trigger`` every match must
            start with one of them; if the literals are case-sensitive and the
            regex's longest possible match fits in the row's ``max_len``, the
            regex runs over the whole text with ``finditer`` (CPython skips to a
            literal prefix in C).
        lookback: Largest distance from a match's start back to the start of
            the trigger occurrence it contains.
        at_trigger: The match starts where the trigger occurrence starts: the
            regex is tried once there (``re.match``) instead of searched.
        left_class: A regex character class (``"[\\w.%+\\-]"``). If set, the
            regex is tried once (``re.match``) at the start of the run of such
            characters that ends at the occurrence (at most ``lookback`` long),
            e.g. the e-mail local part before ``@``.
        group: Regex group that is the entity (``0`` the whole match, ``-1`` the
            last group that participated, for alternations of captured values).
        scan_below: Texts shorter than this many characters skip the trigger
            windows: the regex runs over the whole text with ``finditer``, which
            costs less than locating a short text's occurrences when matches
            start with a rarer character (a digit, a capital). Only for forms
            whose every match contains a trigger occurrence, so that both ways
            find the same matches (``tests/engine/test_scanner.py`` checks it).
    """

    regex: str
    trigger: str | None = None
    locate: str | None = None
    literals: tuple[str, ...] = ()
    literals_ignore_case: bool = False
    lookback: int = 0
    at_trigger: bool = False
    left_class: str = ""
    group: int = 0
    scan_below: int = 0


@dataclass(frozen=True, slots=True)
class PatternSpec:
    """One detection rule (a catalogue row, or a user pattern turned into one).

    Attributes:
        name: The detection type reported (``EMAIL``, ``AWS_ACCESS_KEY``...).
        category: ``PII``, ``SECRET``, ``INJECTION`` or a user category.
        forms: The regexes that find candidates (see :class:`Form`).
        description: One line for listings and docs.
        base: Score when no check gives a verdict (or the row has no checks).
        pass_score: Score when the checks pass; ``None`` means ``base``.
        fail_score: Score when a check fails; ``0`` drops the candidate.
        checks: Names of checks; any ``False`` fails, otherwise a ``True`` passes.
        trim: Name of a trim function that cuts the candidate to size.
        context: Lower-case words that make the finding likelier when they occur
            within ``context_window`` characters before it.
        context_boost: Score added when a context word is present.
        context_window: How far back context words are looked for.
        max_len: Upper bound of a match's length in characters.
        allow_threshold: Per-pattern allow threshold (``None``: global).
        block_threshold: Per-pattern block threshold (``None``: category/global).
        active: Inactive rows are listed but never scanned.
        ignore_case: Compile the regexes case-insensitively.
        unicode: Compile without ``re.ASCII`` (``\\w`` then means any letter).
        builtin: Built-in rows use Python ``re``; user rows are RE2.
        hold_chars: For the streaming hold-back: the characters an entity of
            this row can consist of (``None``: any non-whitespace character).
            A text ending in a run of them may end inside an entity.
        hold_open: For entities that span lines (PEM blocks): a regex for their
            start; an opening without a ``hold_close`` after it is held back.
        hold_close: The regex that ends such an entity.
        lead_words: Words that are part of a match's meaning before its value
            (``password: ...``); the hold-back never separates them from what
            follows within ``lead_window`` characters.
        lead_window: How far after a lead word its value may start.
        not_after: A regex (case-insensitive) for what, directly before a candidate,
            makes it something else: ``version ``/``~= `` before a dotted quad. It is
            matched against the ``NOT_AFTER_WINDOW`` characters that end where the
            candidate starts, and must end there (``$``).
    """

    name: str
    category: str
    forms: tuple[Form, ...]
    description: str
    base: float
    pass_score: float | None = None
    fail_score: float = 0.0
    checks: tuple[str, ...] = ()
    trim: str | None = None
    context: tuple[str, ...] = ()
    context_boost: float = 0.0
    context_window: int = 48
    max_len: int = 64
    allow_threshold: float | None = None
    block_threshold: float | None = None
    active: bool = True
    ignore_case: bool = False
    unicode: bool = False
    builtin: bool = True
    hold_chars: str | None = None
    hold_open: str | None = None
    hold_close: str | None = None
    lead_words: tuple[str, ...] = ()
    lead_window: int = 0
    not_after: str | None = None

    @property
    def regex(self) -> str:
        """All forms as one alternation (for listings; forms are scanned separately)."""
        if len(self.forms) == 1:
            return self.forms[0].regex
        return "|".join(f"(?:{form.regex})" for form in self.forms)


# "Not preceded by a digit", asserted after the first (digit) character.
# "Not inside a word or a longer number", asserted after the first (digit) character:
# digits glued to letters are identifiers (hashes, host names), not entities.
_NOT_AFTER_WORD = r"(?<![\w][\d])"

# Secret-bearing names. A bare "key" is too common ("primary key"), so it only
# counts after api/secret/access/private/auth/signing ("API_KEY", "secret-key").
_SECRET_WORDS = (
    r"(?:(?:(?<=api)|(?<=api[_\-])|(?<=secret[_\-])|(?<=access[_\-])|(?<=private[_\-])"
    r"|(?<=auth[_\-])|(?<=signing[_\-])|(?<=client[_\-]))key"
    r"|token(?!s(?![a-z]))|secret|password|passwd|pwd)"  # "max_tokens": a count
)
_DIGITS = "0123456789"
NOT_AFTER_WINDOW = 24
"""How many characters before a candidate :attr:`PatternSpec.not_after` sees."""

# Below this many characters a digit- or capital-led form is cheaper to run over the
# whole text than to locate (measured: trigger windows cost a fixed few microseconds).
_SHORT_TEXT = 400
# The four-letter prefixes of AWS access key ids (AKIA long-term, ASIA temporary, ...).
_AWS_KEY_PREFIXES = ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ABIA", "ACCA")
_UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + _DIGITS
_SECRET_VALUE = r"[A-Za-z0-9_\-+/=~!@#$%^&*]"

BUILTIN_PATTERNS: tuple[PatternSpec, ...] = (
    PatternSpec(
        name="PRIVATE_KEY",
        category=SECRET,
        forms=(
            Form(
                regex=(
                    r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY((?: BLOCK)?)-----"
                    # the whole block up to its matching END line ...
                    r"(?:[^-]{0,12000}(?:-(?!----)[^-]{0,4000}){0,4}-----END \1PRIVATE KEY\2-----"
                    # ... or, truncated, the base64 lines that follow the header
                    r"|(?:[ \t]*(?:\r?\n|\\n|\\r\\n)[ \t]*[A-Za-z0-9+/=:,.\- ]{0,80}){0,120})"
                ),
                trigger=r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY",
                literals=("-----BEGIN ",),
                at_trigger=True,
            ),
        ),
        description="PEM private key block (PKCS#1/#8, EC, OpenSSH, PGP), the whole block",
        base=0.95,
        trim="pem",
        max_len=16384,
        hold_open=r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY|-----BEGIN[A-Z0-9 ]*\Z",
        hold_close=r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
    ),
    PatternSpec(
        name="URL_WITH_CREDENTIALS",
        category=SECRET,
        forms=(
            Form(
                regex=(
                    r"[A-Za-z](?<![A-Za-z0-9+.\-][A-Za-z])[A-Za-z0-9+.\-]{0,30}://"
                    r"[^\s:/?#@\"'<>]{0,128}:[^\s/?#@\"'<>]{1,256}@[^\s/?#@\"'<>]{1,256}"
                    r"(?:[/?#][^\s\"'<>]{0,1024})?"
                ),
                trigger=r"://[^\s/@]*:[^\s/@]+@",
                literals=("://",),
                left_class=r"[A-Za-z0-9+.\-]",
                lookback=32,
            ),
        ),
        description="URL with a user:password part (database DSNs, git remotes), the whole URL",
        base=0.9,
        trim="url",
        max_len=2048,
    ),
    PatternSpec(
        name="JWT",
        category=SECRET,
        forms=(
            Form(
                regex=(
                    r"eyJ(?<![A-Za-z0-9_\-]eyJ)[A-Za-z0-9_\-]{5,2048}\.[A-Za-z0-9_\-]{2,4096}"
                    r"\.[A-Za-z0-9_\-]{0,2048}"
                ),
                trigger=r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.",
                literals=("eyJ",),
                at_trigger=True,
            ),
        ),
        description="JSON Web Token (the header decodes to JSON naming an alg)",
        base=0.5,
        pass_score=0.9,
        checks=("jwt",),
        max_len=8197,  # the three segments at their longest, and two dots
    ),
    PatternSpec(
        name="AWS_ACCESS_KEY",
        category=SECRET,
        forms=(
            Form(
                regex=(
                    r"A(?<![A-Za-z0-9]A)(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA)"
                    r"[A-Z2-7]{16}(?![A-Za-z0-9])"
                ),
                trigger=r"A(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA)[A-Z2-7]{4}",
                literals=_AWS_KEY_PREFIXES,
                at_trigger=True,
            ),
        ),
        description="AWS access key id (AKIA/ASIA/... and 16 base32 characters)",
        base=0.9,
        max_len=20,
    ),
    PatternSpec(
        name="AWS_SECRET_KEY",
        category=SECRET,
        forms=(
            Form(
                regex=(
                    # not inside a longer base64 run; "key=<secret>" (env files) is fine
                    r"[A-Za-z0-9/+](?<![A-Za-z0-9/+][A-Za-z0-9/+])[A-Za-z0-9/+]{39}"
                    r"(?![A-Za-z0-9/+=])"
                ),
                # only considered near AWS context: without it the score stays
                # below the allow threshold anyway
                trigger=r"(?i)aws|secret|akia|asia",
                locate=r"[A-Za-z0-9/+]{40}",
                lookback=1,
            ),
        ),
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
        forms=(
            Form(
                regex=r"gh(?<![A-Za-z0-9_]gh)[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9_])",
                trigger=r"gh[pousr]_[A-Za-z0-9]{4}",
                literals=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
                at_trigger=True,
            ),
            Form(
                regex=r"github_pat_(?<![A-Za-z0-9_]github_pat_)[A-Za-z0-9]{22}_[A-Za-z0-9]{59}"
                r"(?![A-Za-z0-9_])",
                trigger=r"github_pat_",
                literals=("github_pat_",),
                at_trigger=True,
            ),
        ),
        description="GitHub token (ghp_/gho_/ghu_/ghs_/ghr_ with CRC32 checksum, github_pat_)",
        base=0.7,
        pass_score=0.95,
        fail_score=0.6,
        checks=("github",),
        max_len=93,
    ),
    PatternSpec(
        name="OPENAI_API_KEY",
        category=SECRET,
        forms=(
            Form(
                regex=(
                    r"sk-(?<![A-Za-z0-9_\-]sk-)(?!ant-)(?:(?:proj|svcacct|admin|None)-)?"
                    r"[A-Za-z0-9_\-]{20,256}(?![A-Za-z0-9_\-])"
                ),
                trigger=r"sk-[A-Za-z0-9_\-]{8}",
                literals=("sk-",),
                at_trigger=True,
            ),
        ),
        description="OpenAI API key (sk-, sk-proj-, sk-svcacct-; T3BlbkFJ marker verified)",
        base=0.7,
        pass_score=0.95,
        checks=("openai",),
        max_len=270,
    ),
    PatternSpec(
        name="SLACK_TOKEN",
        category=SECRET,
        forms=(
            Form(
                regex=r"xox(?<![A-Za-z0-9]xox)[abposre]-[0-9A-Za-z\-]{10,250}(?![A-Za-z0-9\-])",
                trigger=r"xox[abposre]-",
                literals=("xox",),
                at_trigger=True,
            ),
            Form(
                regex=r"xapp-(?<![A-Za-z0-9]xapp-)\d-[A-Z0-9]{6,20}-\d{6,20}-[a-f0-9]{32,80}"
                r"(?![A-Za-z0-9\-])",
                trigger=r"xapp-",
                literals=("xapp-",),
                at_trigger=True,
            ),
            Form(
                regex=(
                    r"https://hooks\.slack\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}"
                    r"/[A-Za-z0-9]{16,32}"
                ),
                trigger=r"https://hooks\.slack\.com/services/",
                literals=("https://hooks.slack.com/",),
                at_trigger=True,
            ),
        ),
        description="Slack bot/user/app token or incoming-webhook URL",
        base=0.6,
        pass_score=0.9,
        checks=("slack",),
        max_len=260,
    ),
    PatternSpec(
        name="STRIPE_KEY",
        category=SECRET,
        forms=(
            Form(
                regex=r"[sr]k_(?<![A-Za-z0-9][sr]k_)(?:live|test)_[0-9A-Za-z]{20,247}"
                r"(?![A-Za-z0-9])",
                trigger=r"[sr]k_(?:live|test)_",
                literals=("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
                at_trigger=True,
            ),
            Form(
                regex=r"whsec_(?<![A-Za-z0-9]whsec_)[A-Za-z0-9]{32,64}(?![A-Za-z0-9])",
                trigger=r"whsec_",
                literals=("whsec_",),
                at_trigger=True,
            ),
        ),
        description="Stripe secret or restricted key, or webhook signing secret",
        base=0.9,
        max_len=260,
    ),
    PatternSpec(
        name="GOOGLE_API_KEY",
        category=SECRET,
        forms=(
            Form(
                regex=r"AIza(?<![A-Za-z0-9_\-]AIza)[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])",
                trigger=r"AIza[0-9A-Za-z_\-]{4}",
                literals=("AIza",),
                at_trigger=True,
            ),
        ),
        description="Google API key (AIza and 35 characters)",
        base=0.9,
        max_len=39,
    ),
    PatternSpec(
        name="GENERIC_API_KEY",
        category=SECRET,
        forms=(
            Form(
                regex=(
                    _SECRET_WORDS + r"[A-Za-z0-9_.\-]{0,24}[\"']?[ \t]{0,4}(?::=|=>|[:=])[ \t]{0,4}"
                    r"[\"'`]?(" + _SECRET_VALUE + r"{8,256})(?!" + _SECRET_VALUE + r")"
                ),
                trigger=r"(?i)(?:key|token|secret|passw|pwd)[A-Za-z0-9_.\-\"' \t]{0,30}[:=]",
                literals=("key", "token", "secret", "passw", "pwd"),
                literals_ignore_case=True,
                at_trigger=True,
                group=1,
            ),
            Form(
                regex=r"bearer[ \t]+([A-Za-z0-9_\-+/=~.]{16,4096})(?![A-Za-z0-9_\-+/=~.])",
                trigger=r"(?i)bearer[ \t]",
                literals=("bearer",),
                literals_ignore_case=True,
                at_trigger=True,
                group=1,
            ),
        ),
        description="Value assigned to an api_key/token/secret/password name, or a Bearer token",
        base=0.7,
        checks=("generic_secret",),
        max_len=4096,
        ignore_case=True,
        lead_words=("key", "token", "secret", "passw", "pwd", "bearer"),
        lead_window=48,
    ),
    PatternSpec(
        name="EMAIL",
        category=PII,
        forms=(
            Form(
                # Unicode-aware (RFC 6531 local parts, IDN domains): compiled
                # without re.ASCII, see ``unicode`` below.
                regex=(
                    r"[\w%+\-](?<![\w.%+\-][\w%+\-])[\w.%+\-]{0,63}"
                    r"@[^\W_](?:[\w\-]{0,62}\.)+[^\W\d_]{2,24}(?![\w\-]|\.\w)"
                ),
                trigger=r"[\pL\pN_%+\-]@[\pL\pN][\pL\pN_\-.]*\.\pL",
                literals=("@",),
                left_class=r"[\w.%+\-]",
                lookback=64,
            ),
        ),
        description="E-mail address (internationalised local parts and domains included)",
        unicode=True,
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
        forms=(
            Form(
                regex=(
                    # not the fraction of a decimal number: "ae(1.6564411200033008937)"
                    r"\d" + _NOT_AFTER_WORD + r"(?<![\d][ \-]\d)(?<![\d][.,]\d)"
                    r"(?:\d{12,18}"
                    r"|\d{3}([ \-])\d{4}\1\d{4}\1(?:\d{4}\1\d{3}|\d{1,7})"
                    r"|\d{3}([ \-])\d{6}\2\d{4,5})(?![\w])"
                ),
                trigger=(
                    r"(?:^|[^\w])(?:\d{13,19}|\d{4}[ \-]\d{4}[ \-]\d{4}[ \-]\d"
                    r"|\d{4}[ \-]\d{6}[ \-]\d{4})"
                ),
                lookback=4,
                scan_below=_SHORT_TEXT,
            ),
        ),
        description="Payment card number (issuer range, length and Luhn checked)",
        base=0.3,
        pass_score=0.9,
        checks=("card",),
        context=("card", "visa", "mastercard", "amex", "payment", "cc", "pan"),
        context_boost=0.05,
        max_len=23,
        hold_chars=_DIGITS + " -",
    ),
    PatternSpec(
        name="IBAN",
        category=PII,
        forms=(
            Form(
                regex=(
                    r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}"
                    r"(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)(?![A-Za-z0-9])"
                ),
                trigger=r"(?:^|[^A-Za-z0-9])[A-Z][A-Z]\d\d ?[A-Z0-9]{4}",
                scan_below=_SHORT_TEXT,
            ),
        ),
        description="International bank account number (country length and mod-97 checked)",
        base=0.3,
        pass_score=0.75,
        checks=("iban",),
        trim="iban",
        context=("iban", "account", "bank", "transfer", "konto", "compte"),
        context_boost=0.05,
        max_len=42,
        hold_chars=_UPPER_ALNUM + " ",
    ),
    PatternSpec(
        name="US_SSN",
        category=PII,
        forms=(
            Form(
                regex=(
                    r"\d" + _NOT_AFTER_WORD + r"(?<![\d]-\d)"
                    r"(?:\d{2}-\d{2}-\d{4}|\d{2} \d{2} \d{4}|\d{8})(?![\w]|-\d)"
                ),
                trigger=(
                    r"(?:^|[^\w])(?:\d{3}-\d\d-\d{4}|\d{3} \d\d \d{4}|\d{9})(?:$|[^\w\-]|-\D|-$)"
                ),
                scan_below=_SHORT_TEXT,
            ),
        ),
        description="US social security number (area/group/serial rules; bare digits need context)",
        base=0.2,
        pass_score=0.55,
        checks=("ssn",),
        context=("ssn", "social security", "social sec", "ss#", "ss no", "taxpayer"),
        context_boost=0.25,
        max_len=11,
        hold_chars=_DIGITS + " -",
    ),
    PatternSpec(
        name="PHONE_NUMBER",
        category=PII,
        forms=(
            # +CC international, up to two separator characters between digits
            Form(
                regex=r"\+\d(?<![\w+]\+\d)(?:[ .\-()]{0,2}\d){6,14}(?![\d])",
                trigger=r"\+\d[ .\-()]{0,2}\d[ .\-()]{0,2}\d[ .\-()]{0,2}\d",
                literals=("+",),
                at_trigger=True,
            ),
            # (area) local: US, BR, AU
            Form(
                regex=(
                    r"\((?<![\w(]\()(?<!\d[ ]\()\d{2,4}\)[ .\-]?\d{3,5}[ .\-]?\d{4}"
                    r"(?![\d]|[ .\-]\d)"
                ),
                trigger=r"\(\d\d\d?\d?\)[ .\-]?\d\d\d",
                literals=("(",),
                at_trigger=True,
            ),
            # national formats starting with a digit
            Form(
                regex=(
                    r"\d(?<![\w+.\-/]\d)(?<!\d[ .\-/]\d)(?:"
                    r"\d{2}([ .\-])\d{3}\1\d{4}"  # 415-555-2671, 415.555.2671
                    r"|-\d{3}-\d{3}-\d{4}|\ \d{3}\ \d{3}\ \d{4}"  # 1-512-308-3005
                    r"|\d{2,4} \d{6,8}"  # 030 84742960, 0176 66541143
                    r"|(?<=0)\d{1,3}/\d{6,8}"  # 030/63745753 (trunk 0: "17253/339200" is a ratio)
                    r"|\d{2}\ \d{4}\ \d{4}|\d{3}\ \d{3}\ \d{3,4}"  # 020 7731 0435, 0450 291 770
                    r"|\d{3,5}\ \d{5,6}"  # 07907 859744, 069501 10658
                    r"|\d([ .])\d{2}(?:\2\d{2}){3}"  # 06 69 26 21 89, 01.05.86.23.84
                    r"|\d{9,10}"  # a bare run: ambiguous, context decides
                    r")(?![\d]|[ .\-/]\d|\.\d)"
                ),
                trigger=(
                    r"\d{3}[ .\-]\d{3}[ .\-]\d{4}|\d{3,5}[ /]\d{5,8}|\d{3,5} \d{3,4} \d{3}"
                    r"|\d\d[ .]\d\d[ .]\d\d[ .]\d\d[ .]\d\d|\d{10}"
                ),
                lookback=4,
                scan_below=_SHORT_TEXT,
            ),
        ),
        description="Phone number (validated with libphonenumber; bare digit runs need context)",
        base=0.15,
        pass_score=0.6,
        checks=("phone",),
        context=(
            "phone",
            "tel",
            "call",
            "mobile",
            "cell",
            "fax",
            "whatsapp",
            "sms",
            "contact",
            "number",
            "reach",
            "dial",
            "text me",
        ),
        context_boost=0.2,
        context_window=64,
        max_len=44,  # "+" and up to 14 digits, each after up to two separators
        hold_chars=_DIGITS + " .-/()+",
    ),
    PatternSpec(
        name="IP_ADDRESS",
        category=PII,
        forms=(
            Form(
                regex=(
                    r"\d(?<![\w.]\d)(?<![A-Za-z]/\d)\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3}"
                    r"(?![\d]|\.\d)"
                ),
                trigger=r"\d\.\d{1,3}\.\d{1,3}\.\d",
                lookback=3,
                scan_below=_SHORT_TEXT,
            ),
            Form(
                regex=(
                    r"[0-9A-Fa-f:](?<![\w:.][0-9A-Fa-f:])[0-9A-Fa-f]{0,3}"
                    r"(?::[0-9A-Fa-f]{0,4}){1,7}"
                    r"(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?![\w:]|\.\d)"
                ),
                trigger=(
                    r"(?i)[0-9a-f]*\d[0-9a-f]*::|::(?:[0-9a-f]{1,4}:)*[0-9a-f]*\d"
                    r"|(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}"
                ),
                lookback=40,
            ),
        ),
        description="IPv4 or IPv6 address (parsed; versions, netmasks and 0.0.0.0 rejected)",
        base=0.3,
        pass_score=0.6,
        checks=("ip",),
        # a four-part version ("version 1.2.0.4", '__version__ = "3.5.0.1"', "~= 1.4.5.0")
        # or a section number ("RFC 5890, section 2.3.2.4", "§ 1.2.1.3")
        not_after=(
            r"(?:version|release|build|firmware|section|sec\.|chapter|clause|paragraph|§)"
            r"(?:\s+(?:is|was|number|no\.?))?"  # "my version is 2.14.3.1"
            r"_*[\s:=\"'(]{0,4}$|[~=<>!]=\s*$|,v\s+$"  # ",v 1.10.2.3": an RCS $Id$
        ),
        context=("ip", "host", "addr", "client", "server", "from", "remote"),
        context_boost=0.1,
        max_len=45,
    ),
    PatternSpec(
        name="MAC_ADDRESS",
        category=PII,
        forms=(
            Form(
                regex=(
                    r"[0-9A-Fa-f](?<![\w:\-.][0-9A-Fa-f])[0-9A-Fa-f]([:\-])(?:[0-9A-Fa-f]{2}\1){4}"
                    r"[0-9A-Fa-f]{2}(?![\w:\-]|\.\w)"
                ),
                trigger=r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5}",
                scan_below=_SHORT_TEXT,
            ),
            Form(
                regex=(
                    r"[0-9A-Fa-f](?<![\w.][0-9A-Fa-f])[0-9A-Fa-f]{3}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}"
                    r"(?![\w.])"
                ),
                trigger=r"[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}",
                scan_below=_SHORT_TEXT,
            ),
        ),
        description="MAC address (device identifier; below the default allow threshold)",
        base=0.25,
        max_len=17,
    ),
    PatternSpec(
        name="UK_NINO",
        category=PII,
        forms=(
            Form(
                regex=(
                    r"[A-CEGHJ-PR-TW-Z](?<![A-Za-z0-9][A-Z])[A-CEGHJ-NPR-TW-Z]"
                    r"(?:\d{6}|\ \d{2}\ \d{2}\ \d{2}\ ?)[A-D](?![A-Za-z0-9])"
                ),
                trigger=r"(?:^|[^A-Za-z0-9])[A-Z][A-Z] ?\d\d ?\d\d ?\d\d ?[A-D]",
                scan_below=_SHORT_TEXT,
            ),
        ),
        description="UK National Insurance number",
        base=0.3,
        pass_score=0.55,
        checks=("uk_nino",),
        context=("national insurance", "nino", "ni number", "ni no", "nin"),
        context_boost=0.2,
        max_len=13,
        hold_chars=_UPPER_ALNUM + " ",
    ),
    PatternSpec(
        name="TCKN",
        category=PII,
        forms=(
            Form(
                regex=r"[1-9](?<![\w][1-9])\d{10}(?![\w])",
                trigger=r"(?:^|[^\w])[1-9]\d{10}(?:$|[^\w])",
                scan_below=_SHORT_TEXT,
            ),
        ),
        description="Turkish national identity number (T.C. Kimlik No; checksum verified)",
        base=0.3,
        pass_score=0.45,
        checks=("tckn",),
        context=("kimlik", "tckn", "t.c.", "identity", "citizen"),
        context_boost=0.25,
        max_len=11,
    ),
)
"""The built-in rows, in catalogue order (ties in overlap resolution go to the earlier row)."""


def builtin_names() -> tuple[str, ...]:
    """Names of the built-in PII/secret types, in catalogue order."""
    return tuple(spec.name for spec in BUILTIN_PATTERNS)
