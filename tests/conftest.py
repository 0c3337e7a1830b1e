import pytest


@pytest.fixture(scope="session")
def penguins():
    """Palmer penguins: four measurements, three tasks (sex has missing labels)."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    data = palmerpenguins.load_penguins()
    features = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    data = data.dropna(subset=features).reset_index(drop=True)
    return data[features], data[["species", "island", "sex"]]
