import pytest

import fpkit
from helpers import make_image


@pytest.fixture(scope="session")
def tiny_pipe():
    return fpkit.tiny_pipeline(seed=0)


@pytest.fixture(scope="session")
def image():
    return make_image(0)


@pytest.fixture(scope="session")
def last_image():
    return make_image(1)
