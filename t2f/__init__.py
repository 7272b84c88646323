"""T2F-MSGGAN: text-to-face generation with a multi-scale-gradient conditional GAN.

Importing the package loads no weights; ``TextToFace.from_pretrained`` does.
"""

from t2f.model import Discriminator, Generator, ModelConfig
from t2f.pipeline import FaceOutput, FaceText, TextToFace
from t2f.text import TextEncoder, get_text_encoder

__all__ = ["Discriminator", "FaceOutput", "FaceText", "Generator", "ModelConfig", "TextEncoder", "TextToFace", "get_text_encoder"]
__version__ = "0.1.0"
