"""Resumable Parquet output: finished work goes to ``OUT.partial/part-NNNNNN.parquet`` files
(each written to a temporary name and renamed, so a part is whole or absent), and the final
``OUT`` is written once, atomically, from the previous ``OUT`` (if any) plus the parts.

A re-run reads which keys are done from both, so an interrupted run resumes where it stopped,
and a finished run with new prompts added only does the new ones. ``meta`` (a JSON-able dict)
must match between runs: a different model, lexicon or axis is an error rather than a mix.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

META_KEY = b"tracebias"


class IncompatibleOutput(ValueError):
    pass


class PartStore:
    def __init__(self, out: str | Path, meta: dict, check_keys: tuple[str, ...]):
        self.out = Path(out)
        self.dir = self.out.with_name(self.out.name + ".partial")
        self.meta = meta
        self.check_keys = check_keys
        self._n = 0

    # ---- reading what is done ------------------------------------------------------------
    def _check(self, other: dict, where: str) -> None:
        diff = [k for k in self.check_keys if other.get(k) != self.meta.get(k)]
        if diff == ["model_files"]:
            raise IncompatibleOutput(
                f"{where} was made before the files of the model in {self.meta.get('model_path')} "
                f"changed (model_files {other.get('model_files')} -> "
                f"{self.meta.get('model_files')}); choose another --out or delete {where}")
        if diff:
            k = diff[0]
            raise IncompatibleOutput(
                f"{where} was made with {k}={other.get(k)!r}, this run has {k}={self.meta.get(k)!r}; "
                f"choose another --out or delete {where}")

    def previous(self) -> pa.Table | None:
        """Rows of the finished OUT (checked compatible), or None."""
        if not self.out.exists():
            return None
        try:
            pf = pq.ParquetFile(self.out)
        except (pa.ArrowInvalid, OSError) as e:
            raise IncompatibleOutput(f"{self.out} exists but is not a Parquet file ({e})") from None
        md = pf.schema_arrow.metadata or {}
        if META_KEY not in md:
            raise IncompatibleOutput(f"{self.out} exists but was not written by this command; "
                                     "choose another --out")
        self._check(json.loads(md[META_KEY]), str(self.out))
        return pf.read()

    def parts(self) -> list[pa.Table]:
        if not self.dir.is_dir():
            return []
        mf = self.dir / "meta.json"
        if mf.is_file():
            self._check(json.loads(mf.read_text()), str(self.dir))
        tables = []
        for f in sorted(self.dir.glob("part-*.parquet")):
            tables.append(pq.read_table(f))
            self._n = max(self._n, int(f.stem.split("-")[1]) + 1)
        return tables

    # ---- writing -------------------------------------------------------------------------
    def write_part(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        mf = self.dir / "meta.json"
        if not mf.exists():
            mf.write_text(json.dumps(self.meta, indent=1, sort_keys=True))
        dest = self.dir / f"part-{self._n:06d}.parquet"
        tmp = dest.with_suffix(".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, dest)
        self._n += 1

    def finish(self, table: pa.Table) -> None:
        """Write the final OUT atomically with ``meta`` in its schema, then drop the parts."""
        md = dict(table.schema.metadata or {})
        md[META_KEY] = json.dumps(self.meta, sort_keys=True).encode()
        table = table.replace_schema_metadata(md)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.out.with_name(self.out.name + ".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, self.out)
        if self.dir.is_dir():
            shutil.rmtree(self.dir)
