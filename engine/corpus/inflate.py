"""Streaming decompression of shards: gzip (ISA-L, zlib fallback), zstd, or none.

Each decoder turns a file object of compressed bytes into decoded pieces of at most
``MAX_OUT`` bytes, member after member (gzip) or frame after frame (zstd), and keeps track of
where in the compressed stream the current member starts, so a damaged member can be reported
as a whole (see docs/data-format.md, "What damage can be detected").

gzip is inflated with ISA-L (the ``isal`` package: ~3x zlib's speed on one core) when it is
importable, else with zlib; both check each member's CRC-32 and length at the member's end.
The piece sizes below are constants, so what is decoded before a damaged spot is detected
does not depend on the batch size.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

try:  # ISA-L's inflate: same API as zlib.decompressobj
    from isal import isal_zlib as _gzip_zlib

    GZIP_BACKEND = "isal"
except ImportError:  # pragma: no cover - exercised by the fallback test with a monkeypatch
    _gzip_zlib = zlib
    GZIP_BACKEND = "zlib"

PIECE = 1 << 16  # compressed bytes fed to a decoder at a time
MAX_OUT = 1 << 18  # decoded bytes per decoder call: a damaged spot loses at most this much


class CorruptStream(Exception):
    """The compressed stream is damaged (``kind`` "corrupt") or ends inside a member
    (``kind`` "truncated"). ``member_offset``: compressed byte offset where the member (gzip) or
    frame (zstd) being decoded starts; ``error_offset``: compressed bytes consumed when the
    damage was detected."""

    def __init__(self, message: str, kind: str, member_offset: int, error_offset: int,
                 unit: str, name: str, detail: str = ""):
        super().__init__(message)
        self.name = name  # "gzip" / "zstd"
        self.detail = detail  # the decoder's own message
        self.kind = kind
        self.member_offset = member_offset
        self.error_offset = error_offset
        self.unit = unit  # "member" (gzip) or "frame" (zstd)


def _gzip_module(backend: str | None):
    if backend is None:
        return _gzip_zlib
    if backend == "zlib":
        return zlib
    if backend == "isal":
        from isal import isal_zlib

        return isal_zlib
    raise ValueError(f"unknown gzip backend {backend!r}")


def decoded_pieces(raw, compression: str, on_member: Callable[[int], None] | None = None,
                   gzip_backend: str | None = None) -> Iterator[bytes]:
    """Decoded bytes of ``raw`` (a binary file object), piece by piece.

    ``on_member(offset)`` is called before the first piece of every member/frame after the
    first, with the member's compressed byte offset. Raises :class:`CorruptStream`.
    """
    if compression == "gzip":
        mod = _gzip_module(gzip_backend)
        errors = (zlib.error,) if mod is zlib else (mod.error, zlib.error)

        def new():
            return mod.decompressobj(wbits=31)

        def step(d, data):
            return d.decompress(data, MAX_OUT), d.unconsumed_tail

        return _members(raw, new, step, errors, "gzip", "member", on_member)
    if compression == "zstd":
        import zstandard

        dctx = zstandard.ZstdDecompressor()
        return _members(raw, dctx.decompressobj, lambda d, data: (d.decompress(data), b""),
                        (zstandard.ZstdError,), "zstd", "frame", on_member)
    if compression == "none":
        return _plain(raw)
    raise ValueError(f"unknown compression {compression!r}")


def _plain(raw) -> Iterator[bytes]:
    while True:
        out = raw.read(PIECE * 4)
        if not out:
            return
        yield out


def _members(raw, new_decoder, step, errors, name: str, unit: str,
             on_member) -> Iterator[bytes]:
    """Drive a streaming decoder over concatenated members/frames.

    ``step(decoder, data) -> (output, unconsumed input)``; a decoder with ``eof`` set hands its
    ``unused_data`` (the next member) to a fresh decoder. A stream that ends inside a member is
    truncated; zero bytes between or after members are padding.
    """
    d = new_decoder()
    started = False  # the current decoder has been fed a byte
    member_offset = 0
    base = 0  # compressed offset of the first byte of ``comp``
    while True:
        comp = raw.read(PIECE)
        if not comp:
            break
        while comp:
            if not started and member_offset > 0:
                # between members: zero bytes are padding (as gzip(1) allows at the end)
                stripped = comp.lstrip(b"\x00")
                base += len(comp) - len(stripped)
                comp = stripped
                if not comp:
                    break
                member_offset = base
                if on_member is not None:
                    on_member(member_offset)
            started = True
            try:
                out, rest = step(d, comp)
            except errors as e:
                raise CorruptStream(f"corrupt {name} data: {e}", "corrupt", member_offset,
                                    base + len(comp), unit, name, str(e)) from None
            if out:
                yield out
            if d.eof:
                unused = d.unused_data
                base += len(comp) - len(unused)
                member_offset = base
                d = new_decoder()
                started = False
                comp = unused
            else:
                base += len(comp) - len(rest)
                comp = rest
    if started and not d.eof:
        raise CorruptStream(f"truncated {name} stream (ended inside a compressed {unit})",
                            "truncated", member_offset, base, unit, name)
