"""``python -m train prepare``: build the training pack (cached), and the data options shared with fit."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from t2f.text import ENCODERS, MINILM_NAME, TextEncoder, get_text_encoder
from train.data.pack import prepare_pack, read_pack_meta
from train.fit.config import SAMPLE_PROMPTS, TrainConfig

DEFAULT_CACHE = Path("cache")


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """--data/--pack, --cache and the text-encoder options (shared by prepare and fit)."""
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--data", type=Path, nargs="+", help="CelebA-layout folder(s) (img_align_celeba/, list_attr_celeba.txt); several make one data set"
    )
    source.add_argument("--pack", type=Path, help="a pack made by `python -m train prepare` (no data folder needed)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where packs are cached (default: %(default)s)")
    p.add_argument("--text-encoder", choices=sorted(ENCODERS), help=f"sentence encoder (default: {MINILM_NAME})")
    p.add_argument("--infersent-model", type=Path, help="InferSent: the released infersent1.pkl / infersent2.pkl")
    p.add_argument("--word-vectors", type=Path, help="InferSent: GloVe .txt (version 1) or fastText .vec (version 2)")
    p.add_argument("--infersent-version", choices=("1", "2"), help="InferSent version (default: from the model file name)")


def encoder_from_args(args: argparse.Namespace, cfg: TrainConfig) -> TextEncoder:
    """The encoder the arguments ask for, else the one the config names."""
    name = args.text_encoder or cfg.model.text_encoder
    if name != "infersent":
        if args.infersent_model or args.word_vectors:
            raise ValueError("--infersent-model/--word-vectors need --text-encoder infersent")
        return get_text_encoder(name, cfg.model.text_encoder_options)
    options = dict(cfg.model.text_encoder_options) if cfg.model.text_encoder == "infersent" else {}
    given = {"model_path": args.infersent_model, "word_vectors": args.word_vectors, "version": args.infersent_version}
    options.update({k: str(v) for k, v in given.items() if v is not None})
    return get_text_encoder("infersent", options)


def with_encoder(cfg: TrainConfig, name: str, dim: int, options: dict) -> TrainConfig:
    """The config with its model's text-encoder fields set."""
    model = dataclasses.replace(cfg.model, text_encoder=name, text_dim=dim, text_encoder_options=dict(options))
    return dataclasses.replace(cfg, model=model)


def pack_for_training(cfg: TrainConfig, args: argparse.Namespace) -> tuple[TrainConfig, Path]:
    """The pack fit trains on (built or reused from the cache) and the config updated to its encoder."""
    if args.pack is not None:
        meta = read_pack_meta(args.pack)
        if args.text_encoder and args.text_encoder != meta["text_encoder"]:
            raise ValueError(f"{args.pack} holds {meta['text_encoder']} embeddings, not {args.text_encoder}")
        return with_encoder(cfg, meta["text_encoder"], meta["text_dim"], meta["text_encoder_options"]), args.pack
    encoder = encoder_from_args(args, cfg)
    path = prepare_pack(
        args.data,
        args.cache,
        encoder,
        resolution=cfg.model.resolution,
        captions_per_image=cfg.captions_per_image,
        prompts=list(SAMPLE_PROMPTS),
    )
    return with_encoder(cfg, encoder.name, encoder.dim, encoder.options()), path


def add_prepare_parser(subparsers) -> None:
    p = subparsers.add_parser("prepare", help="crop, caption and embed a CelebA folder into a cached training pack")
    add_data_arguments(p)
    p.add_argument("--config", type=Path, help="training config (for resolution and captions per image)")
    p.set_defaults(func=run_prepare)


def run_prepare(args: argparse.Namespace) -> int:
    if args.pack is not None:
        raise ValueError("prepare builds a pack from --data; --pack is for fit")
    cfg = TrainConfig.from_file(args.config) if args.config else TrainConfig()
    _, path = pack_for_training(cfg, args)
    meta = read_pack_meta(path)
    summary = {k: meta[k] for k in ("text_encoder", "resolution", "captions_per_image", "split")}
    print(json.dumps({"pack": str(path), "images": len(meta["files"]), "MiB": round(path.stat().st_size / 2**20, 1), **summary}))
    return 0
