"""Content-addressed storage (sha256) for raw submissions and logs.

A ``BlobStore`` is a small interface with a folder implementation (the default) and an
in-memory one for tests. A blob's name is its digest, so storing the same bytes twice
stores them once, and a stored blob can be checked against its name.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, NewType, Protocol

from assay.core.errors import InvalidInput, NotFound

Digest = NewType("Digest", str)
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


def digest_of(data: bytes) -> Digest:
    return Digest(hashlib.sha256(data).hexdigest())


def check_digest(digest: str) -> Digest:
    if not _DIGEST.match(digest):
        raise InvalidInput(f"not a sha256 digest: {digest!r}")
    return Digest(digest)


class BlobStore(Protocol):
    def put(self, data: bytes) -> Digest: ...

    def put_stream(self, stream: BinaryIO) -> Digest: ...

    def get(self, digest: str) -> bytes: ...

    def exists(self, digest: str) -> bool: ...


class FolderBlobStore:
    """Blobs as files under ``root/ab/cd/<digest>``, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, digest: str) -> Path:
        d = check_digest(digest)
        return self.root / d[:2] / d[2:4] / d

    def put(self, data: bytes) -> Digest:
        digest = digest_of(data)
        if not self.exists(digest):
            self._write(digest, [data])
        return digest

    def put_stream(self, stream: BinaryIO) -> Digest:
        self.root.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
            digest = Digest(hasher.hexdigest())
            target = self._path(digest)
            target.parent.mkdir(parents=True, exist_ok=True)
            Path(tmp).replace(target)
            return digest
        finally:
            Path(tmp).unlink(missing_ok=True)

    def _write(self, digest: Digest, chunks: list[bytes]) -> None:
        target = self._path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
            Path(tmp).replace(target)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def get(self, digest: str) -> bytes:
        path = self._path(digest)
        if not path.is_file():
            raise NotFound(f"no blob {digest}")
        return path.read_bytes()

    def exists(self, digest: str) -> bool:
        return self._path(digest).is_file()


class MemoryBlobStore:
    """Blobs in a dict; the store for tests that need no files."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def put(self, data: bytes) -> Digest:
        digest = digest_of(data)
        self._blobs[digest] = bytes(data)
        return digest

    def put_stream(self, stream: BinaryIO) -> Digest:
        return self.put(stream.read())

    def get(self, digest: str) -> bytes:
        try:
            return self._blobs[check_digest(digest)]
        except KeyError:
            raise NotFound(f"no blob {digest}") from None

    def exists(self, digest: str) -> bool:
        return check_digest(digest) in self._blobs
