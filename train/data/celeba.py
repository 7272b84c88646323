"""CelebA in its own layout: the index of images, attributes and splits over one or more folders, and
the face crop.

Folder layout (CelebA's): ``img_align_celeba/NNNNNN.jpg``, ``list_attr_celeba.txt`` (a count line,
a header of the 40 attribute names, then one ``NNNNNN.jpg`` row of 40 values 1/-1 per image) and,
when present, ``list_eval_partition.txt`` (``NNNNNN.jpg 0|1|2`` for train/val/test).

Several folders (say the first 10,000 ids in one and more ids in another, or all of CelebA in one) make
one index; an id found in two folders is taken from the first. Splits: each folder's
``list_eval_partition.txt`` when it has one; otherwise CelebA's own partition, which is a function of the
numeric id (:data:`CELEBA_PARTITION`: ids up to 162770 train, up to 182637 val, the rest test), so a
folder of CelebA's files splits as CelebA does with or without the file. CelebA's partitions share no
person, so the held-out split (test) is identity-disjoint from the training split.

The face crop: CelebA's aligned images put the eyes at fixed places, so one square serves all. We
take a square 148/178 of the image width, centred horizontally and at 121/218 of the height (the
ProGAN/MSG-GAN centre, widened to keep the hair, which captions talk about), scaled with the image
so that copies of another size crop the same face, then resize to the training resolution (Lanczos).
"""

from __future__ import annotations

import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from t2f.captions import ATTRIBUTES

IMAGE_DIR = "img_align_celeba"
ATTR_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
PARTITIONS = {"0": "train", "1": "val", "2": "test"}
HELD_OUT = "test"
# CelebA's official partition by numeric id (list_eval_partition.txt of the full data set): the last id of
# train and of val; every id above is test.
CELEBA_PARTITION = ((162_770, "train"), (182_637, "val"))
CROP_SIDE = 148 / 178  # of the image width
CROP_CENTER = (0.5, 121 / 218)  # (x of width, y of height)


@dataclass
class Record:
    """One image with its 40 attributes (0/1, CelebA order), its split and the folder that holds it."""

    file: str
    attributes: tuple[int, ...]
    split: str
    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / IMAGE_DIR / self.file


@dataclass
class CelebAIndex:
    folders: tuple[Path, ...]
    records: list[Record]
    skipped: Counter = field(default_factory=Counter)

    @property
    def name(self) -> str:
        """The folders' names, joined with '+': how reports and packs name the data."""
        return "+".join(f.resolve().name for f in self.folders)

    def split(self, name: str) -> list[Record]:
        """Records of one split: 'train', 'val' or 'test' (the held-out split)."""
        return [r for r in self.records if r.split == name]


def celeba_split(file: str) -> str:
    """CelebA's own partition of an image by its numeric id ('' for a name that is not one)."""
    stem = Path(file).stem
    if not stem.isdigit():
        return ""
    return next((split for last, split in CELEBA_PARTITION if int(stem) <= last), HELD_OUT)


def as_folders(data: str | Path | Sequence[str | Path]) -> tuple[Path, ...]:
    """One CelebA folder or several, as a tuple of paths (a ValueError for none)."""
    folders = (Path(data),) if isinstance(data, (str, Path)) else tuple(Path(d) for d in data)
    if not folders:
        raise ValueError("give at least one CelebA folder")
    return folders


def scan_celeba(data: str | Path | Sequence[str | Path]) -> CelebAIndex:
    """Index one CelebA-layout folder or several. Rows without images, images without rows, malformed
    rows and ids already found in an earlier folder are skipped and counted in one warning; data with
    nothing usable is a ValueError."""
    folders = tuple(check_celeba_folder(f) for f in as_folders(data))
    skipped: Counter = Counter()
    records: dict[str, Record] = {}
    for root in folders:
        for record in _scan_folder(root, skipped):
            if record.file in records:
                skipped["ids found in an earlier folder"] += 1
            else:
                records[record.file] = record
    index = CelebAIndex(folders, sorted(records.values(), key=lambda r: r.file), skipped)
    if not index.records:
        raise ValueError(f"{index.name} holds no usable image: no file in {IMAGE_DIR}/ has a valid row in {ATTR_FILE}")
    warn_skipped(index.name, skipped)
    return index


def _scan_folder(root: Path, skipped: Counter) -> list[Record]:
    attr_file, image_dir = root / ATTR_FILE, root / IMAGE_DIR
    lines = attr_file.read_text(encoding="utf-8", errors="replace").splitlines()
    if len(lines) < 2 or tuple(lines[1].split()) != ATTRIBUTES:
        raise ValueError(f"{attr_file}: the second line must name CelebA's 40 attributes in CelebA's order")
    partition = _read_partition(root / PARTITION_FILE)
    on_disk = {p.name for p in image_dir.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")}
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
        split = PARTITIONS.get(partition.get(file, ""), "") if partition is not None else celeba_split(file)
        if not split:
            what = "images missing from the partition file" if partition is not None else "images without a numeric CelebA id"
            skipped[what] += 1
            continue
        records.append(Record(file, tuple(int(v == "1") for v in values), split, root))
    if on_disk - seen:
        skipped["images without an attribute row"] += len(on_disk - seen)
    return records


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


def warn_skipped(data_name: str | Path, skipped: Counter) -> None:
    if skipped:
        detail = ", ".join(f"{n} {what}" for what, n in sorted(skipped.items()))
        warnings.warn(f"{data_name}: skipped {detail}", stacklevel=3)


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
    records: list[Record], resolution: int, *, native: bool = False, workers: int = 8
) -> tuple[list[Image.Image | None], Counter]:
    """Faces for records (None where unreadable) and the count of failures; ``native`` keeps crops
    smaller than ``resolution`` at their own size (see :func:`crop_face`)."""
    read = crop_face if native else load_face

    def one(record: Record) -> Image.Image | None:
        try:
            return read(record.path, resolution)
        except (OSError, UnidentifiedImageError, ValueError):
            return None

    with ThreadPoolExecutor(workers) as pool:
        faces = list(pool.map(one, records))
    return faces, Counter({"unreadable or truncated images": sum(f is None for f in faces)} if None in faces else {})
