"""recipes.pictures: a pyplot-free matplotlib Figure shown as an image/png output."""

from __future__ import annotations

import base64
import io

import pytest

from recipes import pictures


@pytest.fixture
def fig():
    from matplotlib.figure import Figure

    f = Figure(figsize=(3.0, 2.0), dpi=100)
    f.add_subplot().plot([0, 1, 2], [0, 1, 4])
    return f


def test_png_bytes_decode_with_the_figure_size(fig):
    import matplotlib.image

    png = pictures.png_bytes(fig)
    assert png.startswith(pictures.PNG_MAGIC) and len(png) > 1000
    assert pictures.png_size(png) == (300, 200)
    assert matplotlib.image.imread(io.BytesIO(png)).shape[:2] == (200, 300)


def test_png_size_rejects_other_bytes():
    with pytest.raises(ValueError, match="not a PNG"):
        pictures.png_size(b"GIF89a" + b"\0" * 30)


def test_bundle_is_base64_png_with_size_and_name(fig):
    data, meta = pictures.bundle(fig, name="drift")
    assert list(data) == ["image/png"]  # no "<Figure size ...>" text beside it
    png = base64.b64decode(data["image/png"])
    assert png.startswith(pictures.PNG_MAGIC)
    assert meta == {"image/png": {"width": 300, "height": 200, "name": "drift"}}
    assert pictures.bundle(fig)[1] == {"image/png": {"width": 300, "height": 200}}


def test_show_outside_ipython_does_nothing(fig):
    assert pictures.show(fig) is None
    assert fig.get_figwidth() == 3.0  # untouched, still usable
    assert len(pictures.png_bytes(fig)) > 0


def test_show_in_an_ipython_shell_publishes_one_png(fig, monkeypatch):
    """An InteractiveShell with a recording display publisher stands in for the kernel."""
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    published = []

    class Recorder(DisplayPublisher):
        def publish(self, data, metadata=None, **kwargs):
            published.append((data, metadata))

    shell = InteractiveShell.instance()
    monkeypatch.setattr(shell, "display_pub", Recorder(shell=shell))
    try:
        assert pictures.show(fig, name="quality") is None
    finally:
        InteractiveShell.clear_instance()
    assert len(published) == 1
    data, metadata = published[0]
    assert set(data) == {"image/png"}
    png = base64.b64decode(data["image/png"])
    assert png.startswith(pictures.PNG_MAGIC) and pictures.png_size(png) == (300, 200)
    assert metadata["image/png"]["name"] == "quality"
