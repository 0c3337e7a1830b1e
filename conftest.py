import torch

# One torch thread for tests and doctests: they run beside other processes on a
# 2-core machine, where torch's default of two spin-waiting threads can run
# 10-150x slower.
torch.set_num_threads(1)
