"""Training: the loop and what it is made of (config, batches, one step, losses, augmentation, checkpoints)."""
