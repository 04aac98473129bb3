"""Image augmentation: identities, np.rot90, scipy's bilinear rotation, translation, Augmenter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from feedforward.data import augment
from feedforward.data.augment import Augmenter, flip, gaussian_noise, mirror, rotate, translate
from feedforward.errors import FeedforwardError

RNG = np.random.default_rng(0)
IMAGES = RNG.random((6, 7, 7, 3))  # (n, h, w, c), odd size: the centre is a pixel
WIDE = RNG.random((4, 5, 8, 2))  # non-square


def layouts(images):
    """The same batch as (n, h, w, c), as (n, h, w) (first channel) and flattened, with shapes."""
    n, h, w, c = images.shape
    gray = images[..., 0]
    return [pytest.param(images, None, id="nhwc"), pytest.param(gray, None, id="nhw"),
            pytest.param(images.reshape(n, -1), (h, w, c), id="flat-rgb"),
            pytest.param(gray.reshape(n, -1), (h, w), id="flat-gray")]


def as_nhwc(x, image_shape):
    n = x.shape[0]
    if x.ndim == 2:
        return x.reshape(n, *image_shape, *(() if len(image_shape) == 3 else (1,)))
    return x if x.ndim == 4 else x[..., None]


@pytest.mark.parametrize(("x", "shape"), layouts(IMAGES))
@pytest.mark.parametrize("op", [mirror, flip])
def test_mirroring_or_flipping_twice_is_the_identity(x, shape, op):
    once = op(x, image_shape=shape)
    assert once.shape == x.shape and not np.array_equal(once, x)
    assert np.array_equal(op(once, image_shape=shape), x)


@pytest.mark.parametrize(("x", "shape"), layouts(IMAGES))
def test_mirror_reverses_columns_and_flip_reverses_rows(x, shape):
    img = as_nhwc(x, shape)
    assert np.array_equal(as_nhwc(mirror(x, shape), shape), img[:, :, ::-1])
    assert np.array_equal(as_nhwc(flip(x, shape), shape), img[:, ::-1])


@pytest.mark.parametrize(("x", "shape"), layouts(IMAGES))
@pytest.mark.parametrize(("angle", "k"), [(90, 1), (-90, -1), (180, 2), (270, 3), (450, 1)])
def test_rotation_by_multiples_of_90_degrees_equals_rot90(x, shape, angle, k):
    out = rotate(x, angle, image_shape=shape)
    assert out.shape == x.shape and out.dtype == x.dtype
    expected = np.rot90(as_nhwc(x, shape), k=k, axes=(1, 2))
    assert np.array_equal(as_nhwc(out, shape), expected)  # exact, not approximate


def test_rotation_of_uint8_images_by_90_degrees_is_exact():
    x = (RNG.random((3, 28, 28)) * 256).astype(np.uint8)
    out = rotate(x, 90)
    assert out.dtype == np.uint8 and np.array_equal(out, np.rot90(x, axes=(1, 2)))


def test_rotation_by_zero_and_four_quarter_turns_is_the_identity():
    assert np.array_equal(rotate(WIDE, 0), WIDE)
    x = IMAGES
    for _ in range(4):
        x = rotate(x, 90)
    assert np.array_equal(x, IMAGES)


@pytest.mark.parametrize("images", [IMAGES, WIDE], ids=["square", "wide"])
@pytest.mark.parametrize("angle", [13.0, -47.5, 200.0])
def test_arbitrary_rotation_matches_scipy_bilinear(images, angle):
    ndimage = pytest.importorskip("scipy.ndimage")
    # scipy's order-1 spline is bilinear; "grid-constant" interpolates with zeros outside
    expected = ndimage.rotate(images, angle, axes=(1, 2), reshape=False, order=1,
                              mode="grid-constant", cval=0.0)
    assert np.abs(rotate(images, angle) - expected).max() < 1e-9


def test_one_angle_per_image():
    angles = np.array([0, 90, 180, 270, -90, 37])
    out = rotate(IMAGES, angles)
    for i, a in enumerate(angles):
        assert np.allclose(out[i], rotate(IMAGES[i:i + 1], a)[0], atol=1e-12)
    assert np.array_equal(out[1], np.rot90(IMAGES[1]))


def test_rotation_turns_content_counterclockwise_and_fills_corners_with_zero():
    x = np.zeros((1, 5, 5))
    x[0, 0, 2] = 1.0  # a dot at the top centre
    out = rotate(x, 90)[0]
    assert out[2, 0] == 1.0 and out.sum() == 1.0  # it goes to the left centre
    ones = rotate(np.ones((1, 9, 9)), 45)[0]
    assert ones[0, 0] == 0 and ones[4, 4] == 1  # corners come from outside the image


@pytest.mark.parametrize(("x", "shape"), layouts(IMAGES))
@pytest.mark.parametrize(("dy", "dx"), [(2, 1), (-1, 3), (0, -2), (-3, -3)])
def test_translation_moves_content_by_the_offset_with_zero_fill(x, shape, dy, dx):
    out = as_nhwc(translate(x, (dy, dx), image_shape=shape), shape)
    img = as_nhwc(x, shape)
    h, w = img.shape[1:3]
    src = img[:, max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    dst = out[:, max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)]
    assert np.array_equal(dst, src)
    covered = np.zeros((h, w), dtype=bool)
    covered[max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)] = True
    assert np.all(out[:, ~covered] == 0)


def test_translation_per_image_and_beyond_the_image():
    shifts = np.array([[0, 0], [1, 0], [0, -1], [7, 0], [0, 100], [-2, 2]])
    out = translate(IMAGES, shifts)
    for i, s in enumerate(shifts):
        assert np.array_equal(out[i], translate(IMAGES[i:i + 1], s)[0])
    assert np.array_equal(out[0], IMAGES[0])
    assert not out[3].any() and not out[4].any()  # moved entirely out


def test_fractional_translation_matches_scipy_shift():
    ndimage = pytest.importorskip("scipy.ndimage")
    expected = ndimage.shift(WIDE, (0, 1.25, -2.5, 0), order=1, mode="grid-constant")
    assert np.abs(translate(WIDE, (1.25, -2.5)) - expected).max() < 1e-12


def test_gaussian_noise_statistics_and_dtypes():
    x = np.zeros((200, 10, 10), dtype=np.float32)
    out = gaussian_noise(x, 0.3, np.random.default_rng(1))
    assert out.dtype == np.float32 and out.shape == x.shape
    assert abs(out.mean()) < 0.01 and abs(out.std() - 0.3) < 0.01
    u8 = np.full((10, 4, 4), 250, dtype=np.uint8)
    noisy = gaussian_noise(u8, 20.0, 2)
    assert noisy.dtype == np.uint8 and noisy.max() == 255 and noisy.min() < 250  # clipped


@pytest.mark.parametrize("func", [mirror, flip, lambda x: rotate(x, 30),
                                  lambda x: translate(x, (1, 1)),
                                  lambda x: gaussian_noise(x, 0.1, 0)])
def test_functions_never_change_their_input(func):
    x = IMAGES.copy()
    func(x)
    assert np.array_equal(x, IMAGES)


def test_flattened_images_need_an_image_shape():
    flat = IMAGES.reshape(6, -1)
    with pytest.raises(FeedforwardError, match="image_shape"):
        mirror(flat)
    with pytest.raises(FeedforwardError, match="147"):
        mirror(flat, image_shape=(7, 7))  # 49 values per image, rows hold 147
    with pytest.raises(FeedforwardError, match="image_shape"):
        rotate(IMAGES, 10, image_shape=(7, 6))


def test_bad_angles_and_shifts_are_refused():
    with pytest.raises(FeedforwardError, match="angle"):
        rotate(IMAGES, [1, 2])
    with pytest.raises(FeedforwardError, match="shift"):
        translate(IMAGES, (1, 2, 3))
    with pytest.raises(FeedforwardError, match="std"):
        gaussian_noise(IMAGES, -1.0)


# ----------------------------------------------------------------------------- Augmenter
BATCH = RNG.random((300, 6, 6)).astype(np.float32)


def test_augmenter_keeps_shape_and_dtype_and_leaves_its_input_alone():
    aug = Augmenter(image_shape=(6, 6), hflip=True, vflip=True, rotation=20, translation=1,
                    noise=0.05)
    flat = BATCH.reshape(300, -1)
    before = flat.copy()
    out = aug(flat, np.random.default_rng(0))
    assert out.shape == flat.shape and out.dtype == np.float32
    assert np.array_equal(flat, before) and not np.array_equal(out, flat)


def test_the_same_generator_state_gives_the_same_batch():
    aug = Augmenter(hflip=True, rotation=30, translation=2, noise=0.1)
    a = aug(BATCH, np.random.default_rng(5))
    b = aug(BATCH, np.random.default_rng(5))
    c = aug(BATCH, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_an_inactive_augmenter_returns_an_equal_copy():
    aug = Augmenter()
    assert not aug.active
    out = aug(BATCH, 0)
    assert np.array_equal(out, BATCH) and out is not BATCH


@pytest.mark.parametrize(("flag", "op"), [("hflip", mirror), ("vflip", flip)])
def test_random_flips_keep_each_image_in_its_place(flag, op):
    out = Augmenter(**{flag: True})(BATCH, np.random.default_rng(0))
    same = np.all(out == BATCH, axis=(1, 2))
    flipped = np.all(out == op(BATCH), axis=(1, 2))
    assert np.all(same | flipped)  # image i comes from image i: labels stay paired
    assert 100 < flipped.sum() < 200  # probability 1/2


def test_rotation_range_draws_per_image():
    out = Augmenter(rotation=(90, 90))(BATCH, 0)
    assert np.array_equal(out, np.rot90(BATCH, axes=(1, 2)))
    out = Augmenter(rotation=45)(BATCH, np.random.default_rng(0))
    changed = ~np.all(np.isclose(out, BATCH), axis=(1, 2))
    assert changed.sum() > 290


def test_translation_draws_whole_pixel_offsets_in_range():
    t = 2
    out = Augmenter(translation=t)(BATCH, np.random.default_rng(3))
    shifts = [(dy, dx) for dy in range(-t, t + 1) for dx in range(-t, t + 1)]
    candidates = np.stack([translate(BATCH, s) for s in shifts])  # (25, n, h, w)
    match = np.all(candidates == out[None], axis=(2, 3))
    assert np.all(match.any(axis=0))  # every image is its own image shifted by some offset
    used = {shifts[i] for i in np.argmax(match, axis=0)}
    assert len(used) > 15


def test_noise_has_the_configured_standard_deviation():
    out = Augmenter(noise=0.2)(BATCH, np.random.default_rng(0))
    assert abs((out - BATCH).std() - 0.2) < 0.005


def test_config_round_trip_gives_the_same_augmentation():
    aug = Augmenter(image_shape=(6, 6), hflip=True, rotation=(-10, 25), translation=1, noise=0.1)
    again = augment.deserialize(json.loads(json.dumps(augment.serialize(aug))))
    flat = BATCH.reshape(300, -1)
    assert np.array_equal(aug(flat, 4), again(flat, 4))


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"image_shape": (28,)}, "image_shape"), ({"image_shape": (0, 28)}, "image_shape"),
    ({"hflip": 1}, "hflip"), ({"rotation": -5}, "rotation"), ({"rotation": (10, -10)}, "rotation"),
    ({"translation": 1.5}, "translation"), ({"noise": -0.1}, "noise"),
])
def test_bad_augmenter_arguments_are_refused(kwargs, word):
    with pytest.raises(FeedforwardError, match=word):
        Augmenter(**kwargs)


# ----------------------------------------------------------------------------- with a model
class Recorder:
    """An augmentation callable that records the batches it sees and mirrors them."""

    def __init__(self):
        self.sizes = []

    def __call__(self, x, rng):
        assert isinstance(rng, np.random.Generator)
        self.sizes.append(len(x))
        return mirror(x, image_shape=(6, 6))


def test_fit_augments_training_batches_only_and_never_evaluation():
    import feedforward as ff

    x = BATCH[:100].reshape(100, -1)
    y = np.arange(100) % 3
    model = ff.Sequential([ff.Dense(3, activation="softmax")], seed=0)
    model.compile("sgd", "categorical_crossentropy", ["accuracy"])
    rec = Recorder()
    model.fit(x, y, epochs=2, batch_size=32, validation_data=(x[:10], y[:10]), verbose=0,
              augment=rec)
    assert rec.sizes == [32, 32, 32, 4] * 2  # every training batch, no validation batch
    model.evaluate(x, y)
    model.predict(x)
    assert len(rec.sizes) == 8  # evaluation and prediction never augment


@pytest.mark.parametrize(("axis", "learnable"), [(1, True), (2, False)], ids=["top", "left"])
def test_fit_augments_with_labels_kept_paired(axis, learnable):
    import feedforward as ff

    # class 1 is bright in the first half (rows or columns), class 0 in the second half
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    x = rng.random((400, 6, 6)).astype(np.float32) * 0.2
    first = np.zeros((6, 6), dtype=bool)
    (first[:3] if axis == 1 else first[:, :3])[...] = True
    x += np.where(y[:, None, None] == 1, first, ~first)
    model = ff.Sequential([ff.Dense(2, activation="softmax")], seed=0)
    model.compile("sgd", "categorical_crossentropy", ["accuracy"])
    config = augment.serialize(Augmenter(image_shape=(6, 6), hflip=True))
    model.fit(x.reshape(400, -1), y, epochs=10, batch_size=16, verbose=0, augment=config)
    accuracy = model.evaluate(x.reshape(400, -1), y)[1]
    if learnable:  # mirroring keeps top and bottom: labels still match their images
        assert accuracy >= 0.98
    else:  # mirroring swaps left and right half the time: the classes become one
        assert accuracy <= 0.75
