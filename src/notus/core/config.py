"""Typed recipes: YAML mapped onto a dataclass, with `key=value` overrides, checked before any work.

    recipe = load_recipe(DPORecipe, "recipes/cpu/dpo.yaml", ["beta=0.2", "train.seed=1"])

Every problem (unknown key, wrong type, missing required key, missing file, failed check) is
collected and raised together as one RecipeError, so a user fixes a recipe in one pass.

Conventions for recipe dataclasses:
- a field whose metadata has ``{"file": True}`` must name an existing path (when not empty/None);
- a dataclass may define ``check(self) -> list[str]`` for cross-field rules;
- nested dataclasses are written as nested YAML mappings and overridden with dotted keys.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import math
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

import yaml

from notus.core.errors import RecipeError

T = TypeVar("T")
_MISSING = object()


def file_field(default: Any = "", **kwargs: Any) -> Any:
    """A recipe field that must name an existing file or folder."""
    return dataclasses.field(default=default, metadata={"file": True}, **kwargs)


def parse_overrides(overrides: list[str]) -> tuple[dict[str, Any], list[str]]:
    """`a.b=1` -> {"a": {"b": 1}}; values are parsed as YAML scalars (1 -> int, true -> bool)."""
    tree: dict[str, Any] = {}
    problems = []
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"override {item!r} is not key=value (example: learning_rate=5e-7)")
            continue
        try:
            value = load_yaml_text(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = tree
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                problems.append(f"override {item!r} sets a key below a value")
                break
        else:
            node[parts[-1]] = value
    return tree, problems


def merge_tree(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` over `base`, nested mappings merged key by key (how overrides apply to a recipe)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_tree(out[key], value)
        else:
            out[key] = value
    return out


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str, problems: list[str], base: Path) -> Any:
    """Return `value` converted to `tp`, or append a problem and return it unchanged."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        enums = [o for o in options if isinstance(o, type) and issubclass(o, enum.Enum)]
        if enums and isinstance(value, str):  # `SchedulerType | str` (TrainingArguments): the enum decides
            return _coerce(value, enums[0], where, problems, base)
        for option in options:
            if option is type(None):
                continue
            trial: list[str] = []
            result = _coerce(value, option, where, trial, base)
            if not trial:
                return result
        problems.append(f"{where}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
        return value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        choices = [m.value for m in tp]
        if value not in choices and value not in list(tp):
            problems.append(f"{where}: {value!r} is not one of {', '.join(map(repr, choices))}")
        return value
    if origin is Literal:
        if value not in get_args(tp):
            choices = ", ".join(repr(a) for a in get_args(tp))
            problems.append(f"{where}: {value!r} is not one of {choices}")
        return value
    if origin in (list, tuple):
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            value = [value]  # one item for a list key, as on a command line (`loss_type: sigmoid`)
        if not isinstance(value, list | tuple):
            problems.append(f"{where}: expected a list, got {type(value).__name__} {value!r}")
            return value
        (item_tp, *_) = get_args(tp) or (Any,)
        return [_coerce(v, item_tp, f"{where}[{i}]", problems, base) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a mapping of {tp.__name__} keys, got {value!r}")
            return value
        return _build(tp, value, where + ".", problems, base)
    if tp is bool:
        if not isinstance(value, bool):
            problems.append(f"{where}: expected true/false, got {type(value).__name__} {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            if isinstance(value, str):
                try:
                    number = float(value)  # YAML 1.1 reads "5e-7" as a string
                except ValueError:
                    number = None
                if number is not None and math.isfinite(number):
                    return number
            problems.append(f"{where}: expected a number, got {type(value).__name__} {value!r}")
            return value
        if not math.isfinite(value):
            problems.append(f"{where}: {value!r} is not a finite number")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{where}: expected an integer, got {type(value).__name__} {value!r}")
        return value
    if tp is str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            problems.append(f"{where}: expected a string, got {type(value).__name__} {value!r}")
        return value
    return value


def _build(cls: type[T], data: dict[str, Any], prefix: str, problems: list[str], base: Path) -> T:
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" of {cls.__name__}"
            problems.append(f"{prefix}{key}: unknown key{hint}")
    kwargs = {}
    for name, field in fields.items():
        where = prefix + name
        if name in data:
            value = _coerce(data[name], hints[name], where, problems, base)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            problems.append(f"{where}: required key is missing")
            continue
        elif dataclasses.is_dataclass(hints[name]) and field.default_factory is not dataclasses.MISSING:
            value = _build(hints[name], {}, where + ".", problems, base)
        else:
            continue
        if field.metadata.get("file") and isinstance(value, str) and value:
            if not Path(value).expanduser().exists():
                problems.append(f"{where}: file {value!r} does not exist (relative to {Path.cwd()})")
        kwargs[name] = value
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as exc:  # only reached when problems were already recorded
        problems.append(f"{prefix or cls.__name__}: {exc}")
        return None  # type: ignore[return-value]
    check = getattr(obj, "check", None)
    if callable(check) and not problems:
        problems.extend(f"{prefix}{p}" for p in check())
    return obj


def check_value(value: Any, tp: Any, where: str, problems: list[str]) -> Any:
    """`value` converted to type `tp` (nested dataclasses built); problems appended to `problems`."""
    return _coerce(value, tp, where, problems, Path.cwd())


def build_recipe(cls: type[T], data: dict[str, Any], source: str = "recipe") -> T:
    problems: list[str] = []
    obj = _build(cls, data, "", problems, Path.cwd())
    if problems:
        raise RecipeError(problems, source)
    return obj


MAX_YAML_NODES = 100_000  # after alias expansion: an "alias bomb" of a few lines expands to billions


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML (no tags that build objects) where a repeated key is an error and aliases are bounded."""

    def compose_document(self) -> yaml.Node:
        node = super().compose_document()
        sizes: dict[int, int] = {}

        def size(n: yaml.Node) -> int:
            if id(n) not in sizes:
                sizes[id(n)] = 1  # a node that contains itself counts once
                if isinstance(n, yaml.SequenceNode):
                    sizes[id(n)] += sum(size(child) for child in n.value)
                elif isinstance(n, yaml.MappingNode):
                    sizes[id(n)] += sum(size(k) + size(v) for k, v in n.value)
                if sizes[id(n)] > MAX_YAML_NODES:
                    raise yaml.YAMLError(
                        f"more than {MAX_YAML_NODES} values once aliases (*name) are expanded; "
                        "a recipe never needs that many: remove the aliases"
                    )
            return sizes[id(n)]

        if node is not None:
            size(node)
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = self.construct_scalar(key_node)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise yaml.YAMLError(
                        f"line {line}: key {key!r} appears twice (first on line {seen[key]}); keep one"
                    )
                seen[key] = line
        return super().construct_mapping(node, deep)


# YAML 1.2 booleans: only true/false. YAML 1.1 also reads yes/no/on/off as booleans, which turns
# `save_strategy: no` (a TrainingArguments choice) into False.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml_text(text: str) -> Any:
    """`yaml.safe_load` with repeated keys refused and alias expansion bounded (raises yaml.YAMLError)."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise yaml.YAMLError("nested too deeply") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise RecipeError([f"recipe file {str(path)!r} does not exist"], str(path))
    try:
        data = load_yaml_text(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise RecipeError([f"not UTF-8 text (byte {exc.start}); save the file as UTF-8"], str(path)) from None
    except OSError as exc:
        raise RecipeError([f"cannot read the file: {exc.strerror}"], str(path)) from None
    except yaml.YAMLError as exc:
        raise RecipeError([f"not valid YAML: {exc}"], str(path)) from None
    if not isinstance(data, dict):
        raise RecipeError(["the top level must be a mapping of keys to values"], str(path))
    return data


def load_recipe(cls: type[T], path: str | Path | None = None, overrides: list[str] | None = None) -> T:
    """Read YAML (optional), apply `key=value` overrides, and build a validated `cls`."""
    data = read_yaml(path) if path else {}
    tree, problems = parse_overrides(overrides or [])
    source = str(path) if path else "recipe"
    if problems:
        raise RecipeError(problems, source)
    return build_recipe(cls, merge_tree(data, tree), source)


def recipe_to_dict(recipe: Any) -> dict[str, Any]:
    return dataclasses.asdict(recipe)


def save_recipe(recipe: Any, path: str | Path) -> None:
    """Write the resolved recipe so that a run can be reproduced from its folder alone."""
    Path(path).write_text(yaml.safe_dump(recipe_to_dict(recipe), sort_keys=False), encoding="utf-8")
