"""CelebA folders -> face crops, captions and text embeddings, packed in one file for training."""
