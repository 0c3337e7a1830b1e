import pytest
import torch

# One torch thread: tests run beside other processes on a 2-core machine, where
# torch's default of two spin-waiting threads can run 10-150x slower.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def penguins():
    """Palmer penguins: four measurements, three tasks (sex has missing labels)."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    data = palmerpenguins.load_penguins()
    features = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    data = data.dropna(subset=features).reset_index(drop=True)
    return data[features], data[["species", "island", "sex"]]
