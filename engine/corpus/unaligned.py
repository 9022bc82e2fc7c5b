"""Unaligned 8-byte loads and stores for numba kernels: one machine word of a byte array at any
offset, little-endian (the byte at the offset is the low byte), so that a kernel can test or copy
8 bytes at a time (the JSON scanner's string copy, the tokenizer's ASCII word scan). The caller
checks that the 8 bytes lie inside the array."""
from __future__ import annotations

import sys

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


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
