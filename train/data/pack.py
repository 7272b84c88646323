"""A training pack: one safetensors file of face crops (JPEG), K captions per image as embeddings with
what each caption claims, the images' attributes and the sample prompts' embeddings, cached under a key of
everything it depends on.
"""

from __future__ import annotations

import hashlib
import io
import json
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor

from t2f.captions import ATTRIBUTES, captions
from t2f.files import atomic_path
from t2f.text import TextEncoder
from train.data.celeba import (
    ATTR_FILE, CROP_CENTER, CROP_SIDE, HELD_OUT, IMAGE_DIR, PARTITION_FILE, as_folders, check_celeba_folder, load_faces,
    scan_celeba, to_resolution, warn_skipped,
)  # fmt: skip

PACK_FORMAT = "t2f-pack-2"  # 2: several folders, and captions as people write them
JPEG_QUALITY = 90
ENCODE_CHUNK = 4096


@dataclass
class Pack:
    """Training data in one file: face crops as JPEG, K caption embeddings per image, attributes."""

    jpeg: Tensor  # uint8 (total_bytes,)
    offsets: Tensor  # int64 (N + 1,)
    embeddings: Tensor  # float16 (N, K, text_dim)
    claims: Tensor  # int8 (N, K, 40): what each caption states of each attribute, 1 / 0 (negated) / -1 (unsaid)
    attributes: Tensor  # uint8 (N, 40)
    sample_embeddings: Tensor  # float16 (S, text_dim): fixed prompts for progress grids
    meta: dict

    def __len__(self) -> int:
        return self.offsets.numel() - 1

    def image(self, i: int) -> np.ndarray:
        """Decode image i at the pack's resolution: uint8 (R, R, 3)."""
        data = self.jpeg[self.offsets[i] : self.offsets[i + 1]].numpy().tobytes()
        with Image.open(io.BytesIO(data)) as im:
            return np.array(to_resolution(im.convert("RGB"), self.meta["resolution"]))  # a writable copy

    def decode_all(self, workers: int = 16) -> Tensor:
        """Every image as one uint8 (N, 3, R, R) tensor."""
        with ThreadPoolExecutor(workers) as pool:
            arrays = list(pool.map(self.image, range(len(self))))
        return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def claim_tensor(claims: list[dict[str, int]]) -> Tensor:
    """Claims ({attribute: 0 or 1} each) as int8 (N, 40) in CelebA's column order, -1 where unsaid."""
    out = torch.full((len(claims), len(ATTRIBUTES)), -1, dtype=torch.int8)
    column = {name: i for i, name in enumerate(ATTRIBUTES)}
    for row, stated in enumerate(claims):
        for name, value in stated.items():
            out[row, column[name]] = value
    return out


def pack_key(folders: tuple[Path, ...], encoder: TextEncoder, resolution: int, captions_per_image: int, split: str, prompts: list[str]) -> str:
    """Hash of everything a pack depends on: the data (each folder's attribute and partition files, image
    names and sizes), the encoder and its options, the resolution, crop, captions and sample prompts."""
    h = hashlib.sha256()
    for root in folders:
        for name in (ATTR_FILE, PARTITION_FILE):
            file = root / name
            h.update(file.read_bytes() if file.is_file() else b"-")
        for p in sorted((root / IMAGE_DIR).iterdir()):
            h.update(f"{p.name}:{p.stat().st_size};".encode())
    settings = [PACK_FORMAT, encoder.name, encoder.options(), resolution, captions_per_image, split, prompts, CROP_SIDE, CROP_CENTER, JPEG_QUALITY]
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()[:16]


def prepare_pack(
    data: str | Path | Sequence[str | Path],
    cache_dir: str | Path,
    encoder: TextEncoder,
    *,
    resolution: int = 128,
    captions_per_image: int = 3,
    split: str = "train",
    prompts: list[str] | None = None,
    seed: int = 0,
) -> Path:
    """Build (or reuse) the pack of one split of one CelebA folder or several in ``cache_dir``; returns its path.

    The file name carries the key of :func:`pack_key`, so a pack is rebuilt only when the data, the
    encoder, the resolution, the captions or the prompts change.
    """
    folders = tuple(check_celeba_folder(f) for f in as_folders(data))
    prompts = list(prompts or [])
    key = pack_key(folders, encoder, resolution, captions_per_image, split, prompts)
    path = Path(cache_dir) / f"celeba-{split}-{resolution}px-{encoder.name}-{key}.pack"
    if path.is_file():
        return path
    index = scan_celeba(folders)
    records = index.split(split)
    if not records:
        raise ValueError(f"{index.name} has no image in the {split!r} split")
    faces, failed = load_faces(records, resolution, native=True)
    warn_skipped(index.name, failed)
    kept = [(r, f) for r, f in zip(records, faces) if f is not None]
    if not kept:
        raise ValueError(f"{index.name}: none of the {len(records)} images of the {split!r} split could be read")
    described = [c for i, (r, _) in enumerate(kept) for c in captions(r.attributes, captions_per_image, seed=seed * 10_000_019 + i)]
    texts = [c.text for c in described]
    # In chunks, stored as float16 at once: all of CelebA's captions in float32 would take gigabytes.
    chunks = [encoder.encode(texts[i : i + ENCODE_CHUNK]).to(torch.float16) for i in range(0, len(texts), ENCODE_CHUNK)]
    embeddings = torch.cat(chunks).reshape(len(kept), captions_per_image, encoder.dim)
    blobs = []
    for _, face in kept:
        buffer = io.BytesIO()
        face.save(buffer, format="JPEG", quality=JPEG_QUALITY)
        blobs.append(np.frombuffer(buffer.getvalue(), dtype=np.uint8))
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
    meta = {
        "format": PACK_FORMAT,
        "key": key,
        "text_encoder": encoder.name,
        "text_encoder_options": encoder.options(),
        "text_dim": encoder.dim,
        "resolution": resolution,
        "captions_per_image": captions_per_image,
        "split": split,
        "data_name": index.name,
        "held_out_images": len(index.split(HELD_OUT)),
        "files": [r.file for r, _ in kept],
        "prompts": prompts,
        "caption_seed": seed,
    }
    tensors = {
        "jpeg": torch.from_numpy(np.concatenate(blobs)),
        "offsets": torch.from_numpy(offsets),
        "embeddings": embeddings.contiguous(),
        "claims": claim_tensor([c.claims for c in described]).reshape(len(kept), captions_per_image, len(ATTRIBUTES)),
        "attributes": torch.tensor([r.attributes for r, _ in kept], dtype=torch.uint8),
        "sample_embeddings": encoder.encode(prompts).to(torch.float16) if prompts else torch.zeros(0, encoder.dim, dtype=torch.float16),
    }

    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"t2f": json.dumps(meta)})
    return path


def _open_pack(path: str | Path, *, tensors: bool) -> tuple[dict, dict[str, Tensor]]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pack {path} does not exist: build it with `python -m train prepare`")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("t2f", "{}"))
            data = {k: f.get_tensor(k) for k in f.keys()} if tensors else {}
    except (SafetensorError, OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not a readable training pack: {e}") from None
    if meta.get("format") != PACK_FORMAT:
        raise ValueError(f"{path} is not a {PACK_FORMAT} training pack")
    return meta, data


def read_pack_meta(path: str | Path) -> dict:
    """A pack's metadata (encoder, resolution, files, ...) without reading its tensors."""
    return _open_pack(path, tensors=False)[0]


def load_pack(path: str | Path) -> Pack:
    """Read a pack written by :func:`prepare_pack`."""
    meta, tensors = _open_pack(path, tensors=True)
    return Pack(meta=meta, **tensors)
