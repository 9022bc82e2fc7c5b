"""8 bytes at a time in numba kernels (the JSON scanner's string copy, the tokenizer's ASCII word
scan): unaligned 8-byte loads and stores -- one machine word of a byte array at any offset,
little-endian (the byte at the offset is the low byte; the caller checks that the 8 bytes lie
inside the array) -- and byte-wise tests on such a word."""
from __future__ import annotations

import sys

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


def spread(b: int) -> np.uint64:
    """The byte value b in each of the 8 bytes of a word."""
    return np.uint64(b * 0x0101010101010101)


LOW7, HIGH = spread(0x7F), spread(0x80)


@njit(cache=True, nogil=True, inline="always")
def bytes_equal(x7, b8):
    """Bit 7 set in each byte of x7 equal to the byte of b8 (``spread(b)``); x7 holds bytes below
    128 (``x & LOW7``), so the addition carries into no other byte. Bits other than bit 7 are
    noise: the caller masks with HIGH."""
    return ~((x7 ^ b8) + LOW7)


def _byte_pointer(context, builder, aryty, ary_value, idx):
    ary = context.make_array(aryty)(context, builder, ary_value)
    ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [idx], wraparound=False)
    return builder.bitcast(ptr, ir.IntType(64).as_pointer())


@intrinsic
def load8(typingctx, arr, idx):
    """arr[idx:idx + 8] (uint8) as one little-endian uint64."""
    sig = types.uint64(arr, idx)

    def codegen(context, builder, signature, args):
        v = builder.load(_byte_pointer(context, builder, signature.args[0], args[0], args[1]),
                         align=1)
        return builder.bswap(v) if sys.byteorder == "big" else v

    return sig, codegen


@intrinsic
def store8(typingctx, arr, idx, value):
    """Write the uint64 ``value`` to arr[idx:idx + 8] (uint8), little-endian."""
    sig = types.void(arr, idx, types.uint64)

    def codegen(context, builder, signature, args):
        v = args[2]
        if sys.byteorder == "big":
            v = builder.bswap(v)
        builder.store(v, _byte_pointer(context, builder, signature.args[0], args[0], args[1]),
                      align=1)
        return context.get_dummy_value()

    return sig, codegen
