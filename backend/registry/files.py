"""Registry import and export: one YAML file, or a folder with one CSV file per section.

Both hold the same sections (buildings, rooms, devices, people, cards, leaders), each a list
of records with the fields of backend/registry/model.py. Every problem is reported with the
file, the line and what is wrong, and nothing is changed unless the whole input is valid.

An input is refused before it is parsed when it is larger than ``backend.import_max_bytes``,
and while it is read once it has more than ``backend.import_max_rows`` records. A CSV cell
that a spreadsheet would run as a formula (it begins with = + - @, a tab or a carriage
return, and is not a number) is written with a leading apostrophe (OWASP "CSV injection"),
which reading takes off again, so an export imports back unchanged.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from backend.registry.model import SECTIONS, RegistryData, reference_problems

# LibYAML's parser when PyYAML was built with it: a 6,000-room file in a second, not twenty.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class ImportLimits:
    max_rows: int = 500_000
    max_bytes: int = 64_000_000


# What a spreadsheet reads as the start of a formula; a plain number is left alone.
_FORMULA = re.compile(r"[=+\-@\t\r]")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")


def neutralise(cell: str) -> str:
    """A cell that a spreadsheet would run as a formula, made text with a leading apostrophe."""
    if cell and (_FORMULA.match(cell) or cell[0] == "'") and not _NUMBER.fullmatch(cell):
        # A cell that already begins with an apostrophe gets one more, so reading is exact.
        return "'" + cell
    return cell


def restore(cell: str) -> str:
    """The cell as it was before `neutralise`."""
    return cell[1:] if cell.startswith("'") else cell


class RegistryFileError(Exception):
    """The input is not a valid registry; `problems` lists each as "file:line: problem"."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the registry input:\n  {shown}{more}")


def _explain(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        where = ".".join(str(x) for x in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def _parse(
    items: dict[str, list[tuple[str, dict[str, Any]]]], existing: RegistryData | None
) -> RegistryData:
    """Validate records given per section as (where, fields); raise with every problem."""
    problems: list[str] = []
    parsed: dict[str, list[Any]] = {}
    places: dict[str, list[str]] = {}
    for section, model in SECTIONS.items():
        parsed[section], places[section] = [], []
        for where, fields in items.get(section, []):
            try:
                parsed[section].append(model.model_validate(fields))
                places[section].append(where)
            except ValidationError as e:
                problems.append(f"{where}: {_explain(e)}")
    data = RegistryData(**parsed)
    problems += [f"{places[s][i]}: {p}" for s, i, p in reference_problems(data, existing)]
    if problems:
        raise RegistryFileError(problems)
    return data


def _too_large(paths: list[Path], limits: ImportLimits) -> None:
    size = sum(p.stat().st_size for p in paths)
    if size > limits.max_bytes:
        raise RegistryFileError(
            [
                f"{paths[0] if len(paths) == 1 else paths[0].parent}: {size:,} bytes, more than "
                f"backend.import_max_bytes ({limits.max_bytes:,}); split the import or raise it"
            ]
        )


def _too_many(where: Path, rows: int, limits: ImportLimits) -> None:
    if rows > limits.max_rows:
        raise RegistryFileError(
            [
                f"{where}: more than {limits.max_rows:,} records (backend.import_max_rows); "
                "split the import or raise it"
            ]
        )


def read_yaml(
    path: Path, existing: RegistryData | None = None, limits: ImportLimits = ImportLimits()
) -> RegistryData:
    try:
        _too_large([path], limits)
        text = path.read_text(encoding="utf-8")
        # One parse gives both the nodes (for line numbers) and the data built from them.
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except OSError as e:
        raise RegistryFileError([f"{path}: cannot read: {e.strerror}"]) from None
    except yaml.YAMLError as e:
        raise RegistryFileError([f"{path}: not valid YAML: {e}"]) from None
    if data is None:
        data, root = {}, None
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode | None):
        raise RegistryFileError(
            [f"{path}:1: expected a mapping of sections ({', '.join(SECTIONS)})"]
        )
    # Line numbers come from the composed node tree, which parallels the loaded data.
    nodes = {k.value: v for k, v in root.value} if root is not None else {}
    items: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    problems = []
    for section, records in data.items():
        node = nodes.get(section)
        line = node.start_mark.line + 1 if node is not None else 1
        if section not in SECTIONS:
            problems.append(
                f"{path}:{line}: unknown section {section!r}; use {', '.join(SECTIONS)}"
            )
            continue
        if records is None:
            continue
        if not isinstance(records, list) or not isinstance(node, yaml.SequenceNode):
            problems.append(f"{path}:{line}: {section} must be a list of records")
            continue
        items[section] = []
        for record, item in zip(records, node.value, strict=True):
            where = f"{path}:{item.start_mark.line + 1}"
            if not isinstance(record, dict):
                problems.append(f"{where}: a {section} record must be a mapping of fields")
                continue
            items[section].append((where, record))
    if problems:
        raise RegistryFileError(problems)
    _too_many(path, sum(len(v) for v in items.values()), limits)
    return _parse(items, existing)


def read_csv_folder(
    folder: Path, existing: RegistryData | None = None, limits: ImportLimits = ImportLimits()
) -> RegistryData:
    """Read <section>.csv files from `folder`; a missing file is an empty section."""
    if not folder.is_dir():
        raise RegistryFileError([f"{folder}: not a folder with {', '.join(SECTIONS)} .csv files"])
    items: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    problems = []
    _too_large([p for s in SECTIONS if (p := folder / f"{s}.csv").exists()] or [folder], limits)
    rows = 0
    for section in SECTIONS:
        path = folder / f"{section}.csv"
        if not path.exists():
            continue
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            fields = SECTIONS[section].model_fields
            unknown = [c for c in reader.fieldnames or () if c not in fields]
            if unknown:
                problems.append(
                    f"{path}:1: unknown column(s) {', '.join(unknown)}; "
                    f"columns are {','.join(fields)}"
                )
                continue
            items[section] = []
            for row in reader:
                rows += 1
                _too_many(folder, rows, limits)
                items[section].append(
                    (
                        f"{path}:{reader.line_num}",
                        {k: restore(v) for k, v in row.items() if v != "" and k is not None},
                    )
                )
    if problems:
        raise RegistryFileError(problems)
    return _parse(items, existing)


def read(
    path: Path, existing: RegistryData | None = None, limits: ImportLimits = ImportLimits()
) -> RegistryData:
    """A registry from a YAML file or a folder of CSV files.

    With `existing` (the registry it will be merged into), references may point at it.
    """
    if path.is_dir():
        return read_csv_folder(path, existing, limits)
    if path.suffix.lower() in (".yaml", ".yml"):
        return read_yaml(path, existing, limits)
    raise RegistryFileError([f"{path}: give a .yaml/.yml file or a folder of .csv files"])


def _plain(data: RegistryData) -> dict[str, list[dict[str, Any]]]:
    return {
        section: [r.model_dump(mode="json", exclude_defaults=True) for r in getattr(data, section)]
        for section in SECTIONS
    }


def write_yaml(data: RegistryData, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(_plain(data), f, Dumper=dumper, allow_unicode=True, sort_keys=False, width=100)


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return neutralise(v) if isinstance(v, str) else v


def write_csv_folder(data: RegistryData, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for section, model in SECTIONS.items():
        with (folder / f"{section}.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(model.model_fields))
            w.writeheader()
            for r in getattr(data, section):
                row = r.model_dump(mode="json")
                w.writerow({k: _cell(v) for k, v in row.items()})


def write(data: RegistryData, path: Path) -> None:
    """Export to a .yaml/.yml file, or to a folder of CSV files for any other path."""
    if path.suffix.lower() in (".yaml", ".yml"):
        write_yaml(data, path)
    else:
        write_csv_folder(data, path)
