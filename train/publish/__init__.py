"""Publishing a model: export, model card, learning curve, README blocks, Hub push, attribute read-out, sheets."""
