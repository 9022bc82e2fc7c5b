"""Files through Spark's own Hadoop FileSystem (so ``fs.s3a.*``, HDFS and credentials apply).

The job lists its inputs, writes its checkpoints, lock, tables and manifest through the
driver JVM's ``org.apache.hadoop.fs.FileSystem`` with the session's Hadoop configuration, never
through a second filesystem layer.
"""
from __future__ import annotations

import json
import uuid
from contextlib import contextmanager


class HadoopFS:
    """A directory on the FileSystem Spark uses for ``url`` (relative paths: the default FS)."""

    def __init__(self, spark, url: str):
        jvm = spark._jvm
        self._jvm = jvm
        self._Path = jvm.org.apache.hadoop.fs.Path
        conf = spark._jsc.hadoopConfiguration()
        p = self._Path(url)
        self.fs = p.getFileSystem(conf)
        self.root = self.fs.makeQualified(p)
        self.url = self.root.toString().rstrip("/")

    def path(self, *parts: str):
        return self._Path("/".join([self.url, *parts]) if parts else self.url)

    def qualified(self, *parts: str) -> str:
        return self.path(*parts).toString()

    def exists(self, *parts: str) -> bool:
        return bool(self.fs.exists(self.path(*parts)))

    def mkdirs(self, *parts: str) -> None:
        self.fs.mkdirs(self.path(*parts))

    def delete(self, *parts: str) -> None:
        p = self.path(*parts)
        if self.fs.exists(p):
            self.fs.delete(p, True)

    def list(self, *parts: str) -> list[dict]:
        """Entries of a directory (one call): name, dir, size, mtime; [] when it is absent."""
        p = self.path(*parts)
        if not self.fs.exists(p):
            return []
        out = []
        for st in self.fs.listStatus(p):
            out.append({"name": st.getPath().getName(), "dir": bool(st.isDirectory()),
                        "size": int(st.getLen()), "mtime": int(st.getModificationTime())})
        return out

    def size(self, *parts: str) -> int:
        return int(self.fs.getFileStatus(self.path(*parts)).getLen())

    def du(self, *parts: str) -> int:
        """Bytes under a directory (one call: Hadoop's content summary); 0 when it is absent."""
        p = self.path(*parts)
        return int(self.fs.getContentSummary(p).getLength()) if self.fs.exists(p) else 0

    def parquet_rows(self, *parts: str) -> int:
        """Rows of a Parquet file, from its footer (parquet-hadoop, which Spark ships): a few
        file reads on the driver instead of a Spark job."""
        jvm = self._jvm
        conf = self.fs.getConf()
        f = jvm.org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(self.path(*parts), conf)
        reader = jvm.org.apache.parquet.hadoop.ParquetFileReader.open(f)
        try:
            return int(reader.getRecordCount())
        finally:
            reader.close()

    def read_bytes(self, *parts: str, n: int | None = None) -> bytes:
        """The file's bytes, or its first ``n`` (the file must hold at least ``n``)."""
        stream = self.fs.open(self.path(*parts))
        IOUtils = self._jvm.org.apache.commons.io.IOUtils
        try:
            return bytes(IOUtils.toByteArray(stream) if n is None
                         else IOUtils.toByteArray(stream, n))
        finally:
            stream.close()

    def read_head(self, n: int, size: int, *parts: str) -> bytes:
        """The first ``n`` bytes of a file of ``size`` bytes (all of it when shorter)."""
        return self.read_bytes(*parts, n=min(n, size))

    def read_json(self, *parts: str):
        return json.loads(self.read_bytes(*parts))

    def write_bytes(self, data: bytes, *parts: str) -> None:
        """Write to a temporary name beside the target, then rename into place."""
        final = self.path(*parts)
        tmp = self._Path(final.getParent(), f".tmp-{uuid.uuid4().hex}-{final.getName()}")
        out = self.fs.create(tmp, True)
        try:
            out.write(bytearray(data))
        finally:
            out.close()
        if self.fs.exists(final):
            self.fs.delete(final, False)
        if not self.fs.rename(tmp, final):
            self.fs.delete(tmp, False)
            raise OSError(f"could not rename {tmp.toString()} to {final.toString()}")

    def write_json(self, obj, *parts: str) -> None:
        from engine.run.output import json_file_bytes

        self.write_bytes(json_file_bytes(obj), *parts)

    def move_single_file(self, src_dir: str, dest: str, suffix: str = ".parquet") -> int:
        """The one ``part-*`` file Spark wrote into ``src_dir`` becomes ``dest``; returns its size."""
        parts = [e for e in self.list(src_dir) if not e["dir"] and e["name"].startswith("part-")
                 and e["name"].endswith(suffix)]
        if len(parts) != 1:
            raise OSError(f"expected one part file in {self.qualified(src_dir)}, found {len(parts)}")
        self.delete(dest)
        if not self.fs.rename(self.path(src_dir, parts[0]["name"]), self.path(dest)):
            raise OSError(f"could not move the table into {self.qualified(dest)}")
        self.delete(src_dir)
        return parts[0]["size"]

    @contextmanager
    def lock(self, name: str = ".tracebias.lock"):
        """Create ``name`` exclusively (``createNewFile``) or fail with one clear message."""
        from engine.run.output import lock_held_error, lock_info, lock_is_stale

        info = lock_info("spark job")
        p = self.path(name)
        self.fs.mkdirs(self.root)
        if not self.fs.createNewFile(p):
            try:
                held = self.read_json(name)
            except Exception:  # noqa: BLE001 - an empty or half-written lock file
                held = {}
            if lock_is_stale(held):
                self.delete(name)  # left by a job that died on this machine
                return (yield from self._held(name, info))
            raise lock_held_error(self.url, name, held)
        yield from self._held(name, info, created=True)

    def _held(self, name: str, info: dict, created: bool = False):
        if not created and not self.fs.createNewFile(self.path(name)):
            from engine.run.output import OutputError

            raise OutputError(f"another run took the lock of {self.url} just now")
        out = self.fs.create(self.path(name), True)
        try:
            out.write(bytearray(json.dumps(info).encode()))
        finally:
            out.close()
        try:
            yield self
        finally:
            try:
                self.delete(name)
            except Exception:  # noqa: BLE001
                pass
