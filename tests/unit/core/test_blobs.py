"""The content-addressed blob store, on a folder and in memory."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.core.blobs import BlobStore, FolderBlobStore, MemoryBlobStore
from assay.core.errors import InvalidInput, NotFound


@pytest.fixture(params=["folder", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return FolderBlobStore(tmp_path / "blobs") if request.param == "folder" else MemoryBlobStore()


def test_a_blob_is_named_by_its_sha256(store: BlobStore) -> None:
    data = b'{"runs": []}'
    digest = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.get(digest) == data
    assert store.exists(digest)


def test_streams_store_the_same_as_bytes(store: BlobStore) -> None:
    data = bytes(range(256)) * 9000
    assert store.put_stream(io.BytesIO(data)) == store.put(data)
    assert store.get(hashlib.sha256(data).hexdigest()) == data


def test_unknown_and_malformed_digests(store: BlobStore) -> None:
    with pytest.raises(NotFound):
        store.get("0" * 64)
    with pytest.raises(InvalidInput):
        store.get("../../etc/passwd")


def test_folder_store_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = FolderBlobStore(tmp_path)
    store.put(b"a")
    store.put_stream(io.BytesIO(b"b"))
    assert not list(tmp_path.rglob(".incoming-*"))


@given(st.binary(max_size=4096))
def test_round_trip_any_bytes(data: bytes) -> None:
    store = MemoryBlobStore()
    assert store.get(store.put(data)) == data
