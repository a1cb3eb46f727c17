"""Which attention kernel to load a local model with."""

from __future__ import annotations

import importlib.util
import logging

logger = logging.getLogger(__name__)


def choose_attention() -> str:
    """``"flash_attention_2"`` on CUDA with flash_attn installed (extra ``gpu``), else ``"sdpa"``."""
    import torch

    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        choice = "flash_attention_2"
    else:
        choice = "sdpa"
    logger.info("attention implementation: %s", choice)
    return choice
