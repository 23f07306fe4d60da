// The numeric core: float32 tensors, hand-written layers, losses, optimizers.
