"""Loading TSZ guardrail templates (the ``/templates/import`` shape) from files and dicts.

A template is a portable policy pack: patterns, validators and (an extension)
allow/block list items. It comes as:

* a path to a ``.json``, ``.yaml`` or ``.yml`` file (other suffixes: JSON, then YAML),
* a mapping, either the import body ``{"template": {...}}`` or the bare template,
* a :class:`~tsz_otel.models.Template`.

Loading only parses and validates the shape; the engine then validates every
regex before applying anything (all-or-nothing). Errors are
:class:`~tsz_otel.errors.TemplateError` naming the source, never echoing content.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import TemplateError
from ..models import Template, TemplateImport

__all__ = ["TemplateSource", "load_template"]

TemplateSource = str | os.PathLike[str] | Mapping[str, Any] | Template


def _parse_file(path: Path) -> Any:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"template file {str(path)!r} cannot be read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise TemplateError(f"template file {str(path)!r} is not UTF-8 text") from exc
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(raw)
        if suffix in (".yaml", ".yml"):
            return yaml.safe_load(raw)
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return yaml.safe_load(raw)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(f"template file {str(path)!r} is not valid JSON/YAML") from exc


def _from_mapping(data: Any, where: str) -> Template:
    if not isinstance(data, Mapping):
        raise TemplateError(f"template {where} is not a mapping")
    try:
        if "template" in data and isinstance(data["template"], Mapping):
            return TemplateImport.model_validate(data).template
        return Template.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'template'}: {err['msg']}"
            for err in exc.errors()
        )
        raise TemplateError(f"template {where} is invalid: {problems}") from exc


def load_template(source: TemplateSource) -> Template:
    """Parse and validate a template from a path, a mapping or a ``Template``."""
    if isinstance(source, Template):
        return source
    if isinstance(source, Mapping):
        return _from_mapping(source, "(mapping)")
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        return _from_mapping(_parse_file(path), repr(str(path)))
    raise TemplateError(f"cannot load a template from a {type(source).__name__}")
