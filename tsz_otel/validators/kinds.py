"""The four validator types, each compiled once from a ``FormatValidator`` row.

Compiling is where a bad definition is caught (RE2 syntax, JSON Schema, unknown built-in,
empty rule), so :meth:`ValidatorRegistry.add` can refuse a whole template before any of
it is applied. Running a compiled validator never raises for bad *content*.

* **BUILTIN** — a named check from :data:`BUILTINS`, looked up by ``rule`` when set,
  else by ``name`` (so ``{"name": "ORDER_IS_JSON", "type": "BUILTIN", "rule": "JSON"}``
  is an alias).
* **REGEX** — passes when the RE2 ``rule`` matches anywhere (anchor it with ``^...$``
  to match the whole text), like TSZ's ``regexp.MatchString``.
* **SCHEMA** — the text must be JSON valid against the JSON Schema in ``rule``. A
  violation is a *fail* listing paths and keywords (never values); TSZ reports it as an
  error.
* **AI_PROMPT** — asked through :class:`~tsz_otel.ai.AIClient`; see
  :mod:`tsz_otel.ai.prompts` for ``expected_response``. The registry batches these so a
  request's AI guardrails run concurrently.
"""

from __future__ import annotations

import json
import xml.parsers.expat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..engine.regex import encode_text
from ..errors import ConfigurationError
from ..models import FormatValidator
from .base import Check, CheckContext, Validator
from .toxicity import ToxicityLexicon

__all__ = [
    "BUILTINS",
    "AIPromptValidator",
    "BuiltinValidator",
    "FunctionValidator",
    "RegexValidator",
    "SchemaValidator",
    "compile_validator",
]

BuiltinCheck = Callable[[str, CheckContext], Check]


# -- BUILTIN checks ------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json(text: str, context: CheckContext) -> Check:
    try:
        json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return Check("fail", "content is not valid JSON")
    return Check("pass")


class _DoctypeForbidden(Exception):
    """Raised by the XML parser on a DOCTYPE or entity declaration."""


def _forbid(*_args: object) -> None:
    raise _DoctypeForbidden


def _xml(text: str, context: CheckContext) -> Check:
    """Well-formed XML; DTDs are refused, so entity expansion attacks cannot run."""
    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _forbid
    parser.EntityDeclHandler = _forbid
    try:
        parser.Parse(text.strip(), True)
    except _DoctypeForbidden:
        return Check("fail", "DOCTYPE and entity declarations are not accepted")
    except xml.parsers.expat.ExpatError:
        return Check("fail", "content is not well-formed XML")
    return Check("pass")


def _no_category(*categories: str) -> BuiltinCheck:
    """A check that fails when the engine reports a finding of one of ``categories``."""
    wanted = frozenset(categories)

    def check(text: str, context: CheckContext) -> Check:
        detections = context.detections()
        if detections is None:
            return Check("error", "needs the detection engine")
        found = sorted(
            {
                d.type
                for d in detections
                if (d.category or "").upper() in wanted and context.counts(d)
            }
        )
        if not found:
            return Check("pass")
        return Check("fail", f"{'/'.join(sorted(wanted))} found: {', '.join(found)}")

    return check


def _toxic_language(text: str, context: CheckContext) -> Check:
    result = ToxicityLexicon.load().score(text)
    return Check.of(not result.toxic, f"toxicity score {result.score:.2f} ({result.hits} hits)")


BUILTINS: Mapping[str, BuiltinCheck] = {
    "JSON": _json,
    "XML": _xml,
    "NO_PII": _no_category("PII"),
    "NO_SECRETS": _no_category("SECRET"),
    "NO_INJECTION": _no_category("INJECTION"),
    "TOXIC_LANGUAGE": _toxic_language,
}
"""Built-in checks by name; NO_* use the engine's detections of the same text."""


# -- compiled validators -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BuiltinValidator:
    name: str
    impl: BuiltinCheck
    type: str = "BUILTIN"

    def check(self, text: str, context: CheckContext) -> Check:
        return self.impl(text, context)


@dataclass(frozen=True, slots=True)
class RegexValidator:
    name: str
    regex: Any  # a compiled re2 pattern (re2 ships no type hints)
    type: str = "REGEX"

    def check(self, text: str, context: CheckContext) -> Check:
        found = self.regex.search(encode_text(text)) is not None
        return Check.of(found, "content does not match the rule")


@dataclass(frozen=True, slots=True)
class SchemaValidator:
    name: str
    validator: Any  # a jsonschema validator instance
    type: str = "SCHEMA"
    max_listed: int = 5

    def check(self, text: str, context: CheckContext) -> Check:
        try:
            document = json.loads(text, parse_constant=_reject_constant)
        except ValueError:
            return Check("fail", "content is not valid JSON")
        errors = sorted(self.validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        if not errors:
            return Check("pass")
        listed = ", ".join(
            f"{_json_path(e.absolute_path)} ({e.validator})" for e in errors[: self.max_listed]
        )
        return Check("fail", f"{len(errors)} schema violation(s): {listed}")


@dataclass(frozen=True, slots=True)
class AIPromptValidator:
    name: str
    rule: str
    expected_response: str | None
    type: str = "AI_PROMPT"

    def check(self, text: str, context: CheckContext) -> Check:
        """Not called: the registry batches AI questions (see ``ValidatorRegistry``)."""
        return Check("error", "AI_PROMPT validators run through the registry")


@dataclass(frozen=True, slots=True)
class FunctionValidator:
    """A validator written in Python: ``fn(text)`` returns True to pass (or a Check)."""

    name: str
    fn: Callable[[str], bool | Check]
    type: str = "BUILTIN"

    def check(self, text: str, context: CheckContext) -> Check:
        outcome = self.fn(text)
        return outcome if isinstance(outcome, Check) else Check.of(bool(outcome), "check failed")


def _json_path(path: Any) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


# -- compiling -----------------------------------------------------------------------


def _compile_builtin(definition: FormatValidator) -> BuiltinValidator:
    key = (definition.rule or definition.name).strip().upper()
    impl = BUILTINS.get(key)
    if impl is None:
        known = ", ".join(sorted(BUILTINS))
        raise ConfigurationError(
            f"validator {definition.name!r}: unknown BUILTIN {key!r} (known: {known})"
        )
    return BuiltinValidator(definition.name, impl)


def _compile_regex(definition: FormatValidator) -> RegexValidator:
    import re2

    if not definition.rule:
        raise ConfigurationError(f"validator {definition.name!r}: REGEX needs a rule")
    try:
        return RegexValidator(definition.name, re2.compile(definition.rule.encode("utf-8")))
    except re2.error as exc:
        raise ConfigurationError(
            f"validator {definition.name!r}: rule is not valid RE2: {exc}"
        ) from exc


def _compile_schema(definition: FormatValidator) -> SchemaValidator:
    try:
        import jsonschema
    except ImportError as exc:  # optional dependency
        raise ConfigurationError(
            f"validator {definition.name!r}: SCHEMA needs jsonschema (pip install "
            "'tsz-otel[validators]')"
        ) from exc
    try:
        schema = json.loads(definition.rule)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
    except (ValueError, jsonschema.SchemaError) as exc:
        raise ConfigurationError(
            f"validator {definition.name!r}: rule is not a valid JSON Schema ({type(exc).__name__})"
        ) from exc
    return SchemaValidator(definition.name, cls(schema, format_checker=cls.FORMAT_CHECKER))


def _compile_ai_prompt(definition: FormatValidator) -> AIPromptValidator:
    if not definition.rule.strip():
        raise ConfigurationError(f"validator {definition.name!r}: AI_PROMPT needs a prompt rule")
    return AIPromptValidator(definition.name, definition.rule, definition.expected_response)


_COMPILERS: Mapping[str, Callable[[FormatValidator], Validator]] = {
    "BUILTIN": _compile_builtin,
    "REGEX": _compile_regex,
    "SCHEMA": _compile_schema,
    "AI_PROMPT": _compile_ai_prompt,
}


def compile_validator(definition: FormatValidator) -> Validator:
    """The runnable validator for a definition; :class:`ConfigurationError` if it is bad."""
    if not definition.name.strip():
        raise ConfigurationError("a validator needs a name")
    return _COMPILERS[definition.type](definition)
