"""Reader for the IDX format of MNIST and Fashion-MNIST (LeCun's "THE IDX FILE FORMAT").

An IDX file is a 4-byte magic number — two zero bytes, a type code (0x08 = unsigned byte) and
the number of dimensions — then one big-endian uint32 per dimension, then the data in C order.
Files may be gzip-compressed. Reading the format ourselves, rather than through
tensorflow-datasets, means the bytes of a repackaged copy (Debian's `dataset-fashion-mnist`
recompresses the .gz files) need not match tfds' checksums; the decoded arrays are identical.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (plain or .gz) into a numpy array.

    `FileNotFoundError` for a missing file; `ValueError` naming the file for one that is not
    IDX (bad magic number), not gzip though named .gz, or truncated (in its gzip stream, its
    header or its data).
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            data = stream.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise ValueError(f"{path} is not a complete gzip file ({error}): it is truncated or "
                         "corrupt; IDX files end in .gz only when gzip-compressed") from None
    if not data:
        raise ValueError(f"{path} is empty, not an IDX file")
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {data[:4].hex()})")
    dtype, ndim = np.dtype(_DTYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path} is truncated: its header names {ndim} dimensions "
                         f"({header} bytes of header), the file holds {len(data)} bytes")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"{path} is truncated or corrupt: header says {shape} ({expected} bytes of data), "
            f"file holds {len(data) - header}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))
