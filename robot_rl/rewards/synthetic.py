"""A toy labelled store for smoke tests and examples (no twin, no rendering).

Each episode shows a square rising from the bottom of a noisy image; a frame is a success
when the square's top edge is above the middle line. Every camera sees the same square
in its own colour.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.data.episodes import EpisodeSpec, EpisodeStore


def toy_frame(
    height_frac: float, size_px: int, rng: np.random.Generator, colour: tuple[int, int, int]
) -> np.ndarray:
    """uint8 (size, size, 3): a square whose top edge is at ``height_frac`` of the image
    height above the bottom, on a noisy grey background."""
    img = rng.integers(60, 100, (size_px, size_px, 3), dtype=np.uint8)
    side = max(2, size_px // 5)
    top = round((1.0 - height_frac) * (size_px - side))
    left = int(rng.integers(0, size_px - side))
    img[top : top + side, left : left + side] = colour
    return img


def write_toy_store(
    root: str | Path,
    episodes: int = 8,
    steps: int = 10,
    size_px: int = 32,
    cameras: tuple[str, ...] = ("front", "wrist"),
    seed: int = 0,
    metadata: Mapping[str, Any] | None = None,
) -> EpisodeStore:
    """Write ``episodes`` toy episodes; half of them rise past the middle (successes).
    ``metadata`` goes into every episode's."""
    rng = np.random.default_rng(seed)
    spec = EpisodeSpec(
        state_dim=1, action_dim=1, cameras=cameras, image_shape=(size_px, size_px, 3)
    )
    store = EpisodeStore(root, spec, durable=False)
    colours = [(220, 40, 40), (40, 200, 60), (40, 60, 220)]
    for e in range(episodes):
        final = rng.uniform(0.65, 1.0) if e % 2 == 0 else rng.uniform(0.0, 0.4)
        heights = np.linspace(0.0, final, steps + 1)

        def obs(h: float) -> dict[str, object]:
            imgs = {c: toy_frame(h, size_px, rng, colours[i % 3]) for i, c in enumerate(cameras)}
            return {"state": np.zeros(1, np.float32), "images": imgs}

        store.begin_episode(obs(heights[0]), 0)
        for t in range(1, steps + 1):
            success = bool(heights[t] > 0.5)
            store.add_step(
                np.zeros(1, np.float32), float(success), obs(heights[t]), t, success=success
            )
        store.end_episode({"source": "toy", "episode": e, **(metadata or {})})
    return store


# Vision/text tower sizes of randomly initialised CLIP models. "vit-b-32" has the shapes
# of OpenAI's ViT-B/32, so its latency is that of the real model (the weights differ).
CLIP_SIZES: dict[str, dict[str, dict[str, int]]] = {
    "tiny": {
        "vision": {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        "text": {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 32,
        },
        "projection": {"projection_dim": 16},
    },
    "vit-b-32": {
        "vision": {
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "image_size": 224,
            "patch_size": 32,
        },
        "text": {
            "hidden_size": 512,
            "intermediate_size": 2048,
            "num_hidden_layers": 12,
            "num_attention_heads": 8,
            "max_position_embeddings": 77,
        },
        "projection": {"projection_dim": 512},
    },
}


def write_random_clip(root: str | Path, size: str = "tiny", seed: int = 0) -> Path:
    """Save a randomly initialised CLIP model + a character-level tokenizer in transformers
    format at ``root`` (what `ClipEmbedder` loads). For tests and latency benchmarks only:
    its similarities mean nothing."""
    import json

    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    out = Path(root)
    out.mkdir(parents=True, exist_ok=True)
    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789":
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    (out / "vocab.json").write_text(json.dumps(vocab))
    (out / "merges.txt").write_text("#version: 0.2\n")
    dims = CLIP_SIZES[size]
    text = dict(dims["text"], vocab_size=len(vocab), bos_token_id=0, eos_token_id=1, pad_token_id=1)
    cfg = CLIPConfig(
        text_config=text,
        vision_config=dims["vision"],
        projection_dim=dims["projection"]["projection_dim"],
    )
    torch.manual_seed(seed)
    CLIPModel(cfg).save_pretrained(out)
    CLIPTokenizer(str(out / "vocab.json"), str(out / "merges.txt")).save_pretrained(out)
    return out
