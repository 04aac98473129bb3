"""Column names are never dropped or taken by position in the Python API: validation frames on
the first fit, streams of DataFrame batches, non-pandas frames, the splitter, the scalers, the
scikit-learn wrapper's saved model; duplicated names and sparse matrices are refused."""

import pickle

import numpy as np
import pandas as pd
import pytest

import feedforward as ff
from feedforward.errors import FeedforwardError


class FakeFrame:
    """A frame that is not pandas (as polars is): ``columns`` and ``to_numpy``, no ``iloc``."""

    def __init__(self, frame):
        self.columns = [str(c) for c in frame.columns]
        self._cells = frame.to_numpy()

    def to_numpy(self):
        return self._cells

    def __len__(self):
        return len(self._cells)


def table(n=120, seed=0):
    """Columns on different scales, so that taking them by position changes the answers."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n) * 5 + 3,
                       "c": rng.normal(size=n) - 2})
    return df, (df.a > 0).astype(int).to_numpy()


def model(**kw):
    m = ff.Sequential([ff.Dense(8, activation="relu"), ff.Dense(1, activation="sigmoid")],
                      seed=0, **kw)
    m.compile(ff.optimizers.Adam(0.02), "binary_crossentropy", metrics=["accuracy"])
    return m


def fitted():
    df, y = table()
    m = model(preprocessing=ff.data.StandardScaler())
    m.fit(df, y, epochs=5, verbose=0)
    return m, df, y


def loss(m, x, y):
    return m.evaluate(x, y, return_dict=True)["loss"]


class Batches:
    """A PyDataset-like stream of DataFrame batches."""

    def __init__(self, frame, y):
        self.frame, self.y = frame, y

    def __len__(self):
        return 2

    def __getitem__(self, i):
        rows = slice(i * 60, (i + 1) * 60)
        return self.frame.iloc[rows], self.y[rows]


# ------------------------------------------------------------------ validation_data
def test_first_fit_matches_the_validation_frame_by_name():
    df, y = table()
    va, yv = table(60, seed=1)
    m = model(preprocessing=ff.data.StandardScaler())
    history = m.fit(df, y, epochs=3, verbose=0, validation_data=(va[["c", "b", "a"]], yv))
    assert history.history["val_loss"][-1] == pytest.approx(loss(m, va, yv), rel=1e-5)
    assert loss(m, va.to_numpy()[:, ::-1], yv) != pytest.approx(loss(m, va, yv), rel=1e-3)


def test_first_fit_refuses_a_validation_frame_of_other_columns():
    df, y = table()
    va, yv = table(60, seed=1)
    with pytest.raises(FeedforwardError, match="x_val: its columns do not match"):
        model().fit(df, y, epochs=1, verbose=0,
                    validation_data=(va.rename(columns={"c": "z"}), yv))


# ------------------------------------------------------------------ streams
def test_evaluate_matches_a_stream_of_frames_by_name():
    m, df, y = fitted()
    want = loss(m, df, y)
    got = m.evaluate(Batches(df[["c", "b", "a"]], y), return_dict=True)["loss"]
    assert got == pytest.approx(want, rel=1e-5)


def test_fit_on_a_stream_of_frames_records_the_feature_names():
    df, y = table()
    m = model()
    m.fit(Batches(df, y), epochs=2, verbose=0)
    assert m.feature_names == ["a", "b", "c"]
    np.testing.assert_allclose(m.predict(df[["c", "b", "a"]]), m.predict(df))


def test_a_list_of_frame_batches_is_a_stream():
    df, y = table()
    batches = [(df.iloc[:60], y[:60]), (df.iloc[60:], y[60:])]
    m = model()
    m.fit(batches, epochs=2, verbose=0)
    assert m.feature_names == ["a", "b", "c"]
    assert m.evaluate(batches, return_dict=True)["loss"] == pytest.approx(loss(m, df, y),
                                                                          rel=1e-5)


# ------------------------------------------------------------------ frames other than pandas
def test_a_frame_without_iloc_is_matched_by_name():
    m, df, y = fitted()
    assert loss(m, FakeFrame(df[["c", "b", "a"]]), y) == pytest.approx(loss(m, df, y),
                                                                        rel=1e-5)
    with pytest.raises(FeedforwardError, match="unexpected 'z'"):
        m.predict(FakeFrame(df.assign(z=0.0)[["z", "a", "b"]]))


def test_fit_on_a_frame_without_iloc_records_its_names():
    df, y = table()
    m = model()
    m.fit(FakeFrame(df), y, epochs=1, verbose=0)
    assert m.feature_names == ["a", "b", "c"]


def test_table_encoder_takes_a_frame_without_iloc_by_name():
    df, y = table()
    df["colour"] = np.where(y == 1, "red", "blue")
    m = model(preprocessing=[ff.data.TableEncoder()])
    m.fit(df, y, epochs=2, verbose=0)
    reordered = FakeFrame(df[["colour", "c", "b", "a"]])
    np.testing.assert_allclose(m.predict(reordered), m.predict(df))


def test_polars_frames_are_matched_by_name():
    pl = pytest.importorskip("polars", reason="polars is not a dependency; optional check")
    m, df, y = fitted()
    assert loss(m, pl.from_pandas(df[["c", "b", "a"]]), y) == pytest.approx(loss(m, df, y),
                                                                            rel=1e-5)
    enc = model(preprocessing=[ff.data.TableEncoder()])
    enc.fit(df, y, epochs=1, verbose=0)
    np.testing.assert_allclose(enc.predict(pl.from_pandas(df[["c", "b", "a"]])),
                               enc.predict(df))


# ------------------------------------------------------------------ duplicated and bad names
def test_a_frame_naming_a_column_twice_is_refused():
    m, df, y = fitted()
    twice = df.copy()
    twice.insert(0, "a", 999.0, allow_duplicates=True)
    for call in (lambda: m.predict(twice), lambda: model().fit(twice, y, verbose=0),
                 lambda: ff.data.TableEncoder().fit(twice),
                 lambda: ff.data.StandardScaler().fit(twice)):
        with pytest.raises(FeedforwardError, match="2 columns named 'a'"):
            call()


@pytest.mark.parametrize("names", ["abc", ["a", "a", "b"], [1, 2, 3]])
def test_bad_feature_names_are_refused(names):
    m, df, _ = fitted()
    m.feature_names = names
    with pytest.raises(FeedforwardError, match="feature_names: expected"):
        m.predict(df)


@pytest.mark.parametrize("scaler", [ff.data.StandardScaler, ff.data.MinMaxScaler])
def test_scalers_match_a_frame_by_the_names_seen_in_fit(scaler):
    df, _ = table()
    s = scaler().fit(df)
    assert s.columns_ == ["a", "b", "c"]
    np.testing.assert_allclose(s.transform(df[["c", "b", "a"]]), s.transform(df))
    np.testing.assert_allclose(s.inverse_transform(s.transform(df)), df.to_numpy())
    with pytest.raises(FeedforwardError, match="missing 'a'; unexpected 'z'"):
        s.transform(df.rename(columns={"a": "z"}))
    np.testing.assert_allclose(s.transform(df.to_numpy()), s.transform(df))  # arrays: in order
    assert scaler().fit(df.to_numpy()).columns_ is None


# ------------------------------------------------------------------ sparse matrices
def test_a_sparse_matrix_is_refused_saying_how_to_pass_it():
    import scipy.sparse as sp

    x = sp.random(40, 3, density=0.5, format="csr", random_state=0)
    y = np.asarray(x.sum(axis=1)).ravel()
    m = ff.Sequential([ff.Dense(1)], seed=0)
    m.compile("sgd", "mse")
    for call in (lambda: m.fit(x, y, verbose=0), lambda: m.predict(x.tocoo()),
                 lambda: m.evaluate(x, y)):
        with pytest.raises(FeedforwardError, match=r"x: a SciPy sparse matrix .* x.toarray\(\)"):
            call()
    m.fit(x.toarray(), y, epochs=1, verbose=0)
    with pytest.raises(FeedforwardError, match=r"x_val: a SciPy sparse matrix"):
        m.fit(x.toarray(), y, epochs=1, verbose=0, validation_data=(x, y))


# ------------------------------------------------------------------ the splitter
def test_split_keeps_pandas_objects_and_their_names():
    df, y = table()
    s = ff.data.train_val_test_split(df, pd.Series(y, name="t"), seed=0)
    assert all(isinstance(p, pd.DataFrame) and list(p.columns) == ["a", "b", "c"]
               for p in s[:3])
    assert all(isinstance(p, pd.Series) for p in s[3:])
    for xp, yp in zip(s[:3], s[3:], strict=True):  # rows stay together
        np.testing.assert_array_equal(xp.index, yp.index)
        np.testing.assert_array_equal(df.loc[xp.index].to_numpy(), xp.to_numpy())
    m = model()
    m.fit(s.x_train, s.y_train, epochs=1, verbose=0)
    assert m.feature_names == ["a", "b", "c"]
    plain = ff.data.train_val_test_split(df.to_numpy(), y, seed=0)
    np.testing.assert_array_equal(plain.x_train, s.x_train.to_numpy())


# ------------------------------------------------------------------ scikit-learn wrapper
def test_sklearn_model_keeps_classes_and_feature_names(tmp_path):
    from feedforward.sklearn import NeuralNetClassifier, NeuralNetRegressor

    df, y = table()
    clf = NeuralNetClassifier(hidden_layer_sizes=(4,), epochs=2, random_state=0)
    clf.fit(df, np.where(y == 1, 3, 1))
    assert clf.model_.classes == [1, 3]
    assert clf.model_.feature_names == ["a", "b", "c"]
    clf.model_.save(tmp_path / "m.safetensors")
    back = ff.load_model(tmp_path / "m.safetensors")
    assert (back.classes, back.feature_names) == ([1, 3], ["a", "b", "c"])
    again = pickle.loads(pickle.dumps(clf)).model_
    assert (again.classes, again.feature_names) == ([1, 3], ["a", "b", "c"])
    reg = NeuralNetRegressor(hidden_layer_sizes=(4,), epochs=1, random_state=0)
    assert reg.fit(df, df.a.to_numpy()).model_.feature_names == ["a", "b", "c"]
    assert reg.fit(df.to_numpy(), df.a.to_numpy()).model_.feature_names is None


@pytest.mark.parametrize("names", ["abc", ["a", "a", "b"]])
def test_bad_feature_names_are_not_saved(names, tmp_path):
    m, _, _ = fitted()
    m.feature_names = names
    with pytest.raises(FeedforwardError, match="feature_names: expected"):
        m.save(tmp_path / "m.safetensors")
