"""CelebA in its own layout -> face crops, captions, text embeddings, packed for training.

Folder layout (CelebA's): ``img_align_celeba/NNNNNN.jpg``, ``list_attr_celeba.txt`` (a count line,
a header of the 40 attribute names, then one ``NNNNNN.jpg`` row of 40 values 1/-1 per image) and,
when present, ``list_eval_partition.txt`` (``NNNNNN.jpg 0|1|2`` for train/val/test).

Held-out split: CelebA's test partition (2) when ``list_eval_partition.txt`` exists; otherwise every
image whose numeric id is a multiple of 10 (000010.jpg, 000020.jpg, ...), a tenth of the data,
stable whatever else the folder holds. Everything else is training data.

The face crop: CelebA's aligned images put the eyes at fixed places, so one square serves all. We
take a square 148/178 of the image width, centred horizontally and at 121/218 of the height (the
ProGAN/MSG-GAN centre, widened to keep the hair, which captions talk about), scaled with the image
so the half-size copies crop the same face, then resize to the training resolution (Lanczos).
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from t2f.captions import ATTRIBUTES, captions
from t2f.text import TextEncoder

IMAGE_DIR = "img_align_celeba"
ATTR_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
PARTITIONS = {"0": "train", "1": "val", "2": "test"}
HELD_OUT = "test"
CROP_SIDE = 148 / 178  # of the image width
CROP_CENTER = (0.5, 121 / 218)  # (x of width, y of height)
PACK_FORMAT = "t2f-pack-1"
JPEG_QUALITY = 90
ENCODE_CHUNK = 4096


@dataclass
class Record:
    """One image with its 40 attributes (0/1, CelebA order) and its split."""

    file: str
    attributes: tuple[int, ...]
    split: str


@dataclass
class CelebAIndex:
    root: Path
    records: list[Record]
    skipped: Counter = field(default_factory=Counter)

    def split(self, name: str) -> list[Record]:
        """Records of one split: 'train', 'val' or 'test' (the held-out split)."""
        return [r for r in self.records if r.split == name]


def held_out_by_id(file: str) -> bool:
    """The documented fallback split: numeric ids that are multiples of 10 are held out."""
    stem = Path(file).stem
    return stem.isdigit() and int(stem) % 10 == 0


def scan_celeba(root: str | Path) -> CelebAIndex:
    """Index a CelebA-layout folder. Rows without images, images without rows and malformed rows are
    skipped and counted in one warning; a folder with nothing usable is a ValueError."""
    root = check_celeba_folder(root)
    attr_file, image_dir = root / ATTR_FILE, root / IMAGE_DIR
    lines = attr_file.read_text(encoding="utf-8", errors="replace").splitlines()
    if len(lines) < 2 or tuple(lines[1].split()) != ATTRIBUTES:
        raise ValueError(f"{attr_file}: the second line must name CelebA's 40 attributes in CelebA's order")
    partition = _read_partition(root / PARTITION_FILE)
    on_disk = {p.name for p in image_dir.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")}
    skipped: Counter = Counter()
    records, seen = [], set()
    for line in lines[2:]:
        parts = line.split()
        if not parts:
            continue
        values = parts[1:]
        if len(values) != len(ATTRIBUTES) or any(v not in ("1", "-1") for v in values):
            skipped["malformed attribute rows"] += 1
            continue
        file = parts[0]
        if file not in on_disk:
            skipped["attribute rows without an image"] += 1
            continue
        seen.add(file)
        if partition is not None:
            split = PARTITIONS.get(partition.get(file, ""), "")
            if not split:
                skipped["images missing from the partition file"] += 1
                continue
        else:
            split = HELD_OUT if held_out_by_id(file) else "train"
        records.append(Record(file, tuple(int(v == "1") for v in values), split))
    if on_disk - seen:
        skipped["images without an attribute row"] += len(on_disk - seen)
    index = CelebAIndex(root, sorted(records, key=lambda r: r.file), skipped)
    if not index.records:
        raise ValueError(f"{root} holds no usable image: no file in {IMAGE_DIR}/ has a valid row in {ATTR_FILE}")
    _warn_skipped(root, skipped)
    return index


def check_celeba_folder(root: str | Path) -> Path:
    """``root`` as a Path, or a ValueError when it lacks CelebA's attribute file or image folder."""
    root = Path(root)
    if not (root / ATTR_FILE).is_file() or not (root / IMAGE_DIR).is_dir():
        raise ValueError(f"{root} is not a CelebA folder: it needs {ATTR_FILE} and {IMAGE_DIR}/")
    return root


def _read_partition(file: Path) -> dict[str, str] | None:
    if not file.is_file():
        return None
    rows = (line.split() for line in file.read_text(encoding="utf-8").splitlines())
    return {r[0]: r[1] for r in rows if len(r) == 2}


def _warn_skipped(root: Path, skipped: Counter) -> None:
    if skipped:
        detail = ", ".join(f"{n} {what}" for what, n in sorted(skipped.items()))
        warnings.warn(f"{root}: skipped {detail}", stacklevel=3)


def face_crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The face square (left, top, right, bottom) of an aligned CelebA image of this size."""
    side = CROP_SIDE * width
    cx, cy = CROP_CENTER[0] * width, CROP_CENTER[1] * height
    left, top = round(cx - side / 2), round(cy - side / 2)
    s = round(side)
    return left, top, left + s, top + s


def crop_face(path: str | Path, resolution: int) -> Image.Image:
    """Open and crop one image, shrunk to ``resolution`` when larger and kept at its own size when
    smaller (so a pack stores no upscaled pixels). Raises OSError/UnidentifiedImageError when unreadable."""
    with Image.open(path) as im:
        im.load()  # decode now: truncated files fail here, not later
        rgb = im.convert("RGB")
    face = rgb.crop(face_crop_box(*rgb.size))
    return face.resize((resolution, resolution), Image.LANCZOS) if face.width > resolution else face


def to_resolution(face: Image.Image, resolution: int) -> Image.Image:
    """Resize a square face crop to ``resolution`` (Lanczos); a no-op when it is there already."""
    return face if face.width == resolution else face.resize((resolution, resolution), Image.LANCZOS)


def load_face(path: str | Path, resolution: int) -> Image.Image:
    """One image as the model sees it: the face square at ``resolution`` x ``resolution``."""
    return to_resolution(crop_face(path, resolution), resolution)


def load_faces(
    root: Path, records: list[Record], resolution: int, *, native: bool = False, workers: int = 8
) -> tuple[list[Image.Image | None], Counter]:
    """Faces for records (None where unreadable) and the count of failures; ``native`` keeps crops
    smaller than ``resolution`` at their own size (see :func:`crop_face`)."""
    read = crop_face if native else load_face

    def one(record: Record) -> Image.Image | None:
        try:
            return read(root / IMAGE_DIR / record.file, resolution)
        except (OSError, UnidentifiedImageError, ValueError):
            return None

    with ThreadPoolExecutor(workers) as pool:
        faces = list(pool.map(one, records))
    return faces, Counter({"unreadable or truncated images": sum(f is None for f in faces)} if None in faces else {})


# --- the training pack ----------------------------------------------------------------------------


@dataclass
class Pack:
    """Training data in one file: face crops as JPEG, K caption embeddings per image, attributes."""

    jpeg: Tensor  # uint8 (total_bytes,)
    offsets: Tensor  # int64 (N + 1,)
    embeddings: Tensor  # float16 (N, K, text_dim)
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


def pack_key(root: Path, encoder: TextEncoder, resolution: int, captions_per_image: int, split: str, prompts: list[str]) -> str:
    """Hash of everything a pack depends on: the data (attribute and partition files, image names and
    sizes), the encoder and its options, the resolution, crop, captions and sample prompts."""
    h = hashlib.sha256()
    for name in (ATTR_FILE, PARTITION_FILE):
        file = root / name
        h.update(file.read_bytes() if file.is_file() else b"-")
    for p in sorted((root / IMAGE_DIR).iterdir()):
        h.update(f"{p.name}:{p.stat().st_size};".encode())
    settings = [PACK_FORMAT, encoder.name, encoder.options(), resolution, captions_per_image, split, prompts, CROP_SIDE, CROP_CENTER, JPEG_QUALITY]
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()[:16]


def prepare_pack(
    data: str | Path,
    cache_dir: str | Path,
    encoder: TextEncoder,
    *,
    resolution: int = 128,
    captions_per_image: int = 3,
    split: str = "train",
    prompts: list[str] | None = None,
    seed: int = 0,
) -> Path:
    """Build (or reuse) the pack of one split in ``cache_dir``; returns its path.

    The file name carries the key of :func:`pack_key`, so a pack is rebuilt only when the data, the
    encoder, the resolution, the captions or the prompts change.
    """
    root = check_celeba_folder(data)
    prompts = list(prompts or [])
    key = pack_key(root, encoder, resolution, captions_per_image, split, prompts)
    path = Path(cache_dir) / f"celeba-{split}-{resolution}px-{encoder.name}-{key}.pack"
    if path.is_file():
        return path
    index = scan_celeba(root)
    records = index.split(split)
    if not records:
        raise ValueError(f"{root} has no image in the {split!r} split")
    faces, failed = load_faces(root, records, resolution, native=True)
    _warn_skipped(root, failed)
    kept = [(r, f) for r, f in zip(records, faces) if f is not None]
    if not kept:
        raise ValueError(f"{root}: none of the {len(records)} images of the {split!r} split could be read")
    texts = [t for i, (r, _) in enumerate(kept) for t in captions(r.attributes, captions_per_image, seed=seed * 10_000_019 + i)]
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
        "data_name": root.resolve().name,
        "held_out_images": len(index.split(HELD_OUT)),
        "files": [r.file for r, _ in kept],
        "prompts": prompts,
        "caption_seed": seed,
    }
    tensors = {
        "jpeg": torch.from_numpy(np.concatenate(blobs)),
        "offsets": torch.from_numpy(offsets),
        "embeddings": embeddings.contiguous(),
        "attributes": torch.tensor([r.attributes for r, _ in kept], dtype=torch.uint8),
        "sample_embeddings": encoder.encode(prompts).to(torch.float16) if prompts else torch.zeros(0, encoder.dim, dtype=torch.float16),
    }
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"t2f": json.dumps(meta)})
    tmp.replace(path)
    return path


def _open_pack(path: str | Path, *, tensors: bool) -> tuple[dict, dict[str, Tensor]]:
    from safetensors import SafetensorError, safe_open

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
