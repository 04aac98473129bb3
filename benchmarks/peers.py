"""The three implementations under test, each used the way its users write it.

Every peer trains the same network, 784-512-256-10 (ReLU, ReLU, softmax with cross-entropy),
with Adam at learning rate 1e-3 in float32, for one epoch of shuffled mini-batches:

- ``feedforward``: ``Sequential([...], seed=0)``,
  ``compile(Adam(1e-3), "categorical_crossentropy", ["accuracy"])``,
  ``fit(x, y, epochs=1, batch_size=bs, verbose=0)``;
- ``torch``: eager PyTorch, the idiomatic loop (a shuffled index per epoch; per batch
  ``zero_grad``, forward, loss, ``backward``, ``step``), no DataLoader;
- ``sklearn``: ``MLPClassifier(hidden_layer_sizes=(512, 256), solver="adam",
  learning_rate_init=1e-3, batch_size=bs, max_iter=1)``;
- ``onnxruntime``: predict only, feedforward's model exported to ONNX and served by an
  ``InferenceSession``, the serving reference.

Frameworks are imported inside the peer that needs them, so a worker process loads only its own.
"""

from __future__ import annotations

import numpy as np

HIDDEN = (512, 256)
CLASSES = 10
LEARNING_RATE = 1e-3
SEED = 0


class Feedforward:
    name = "feedforward"

    def __init__(self):
        import feedforward as ff

        self.ff = ff

    def build(self):
        ff = self.ff
        model = ff.Sequential([ff.Dense(HIDDEN[0], activation="relu"),
                               ff.Dense(HIDDEN[1], activation="relu"),
                               ff.Dense(CLASSES, activation="softmax")], seed=SEED)
        model.compile(ff.optimizers.Adam(LEARNING_RATE), "categorical_crossentropy", ["accuracy"])
        return model

    def fit(self, model, x, y, batch_size):
        model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
        return model

    def predict(self, model, x):
        """Class probabilities ``(n, 10)`` as a NumPy array."""
        return model.predict(x)

    def predictor(self, model, x):
        """A zero-argument callable: one ``predict`` call on ``x``, as a user writes it."""
        return lambda: model.predict(x)

    def gemm_layout(self, model):
        """Per Dense layer: kernel shape and whether its input gradient is computed."""
        return [{"kernel": list(layer.params["kernel"].shape),
                 "input_grad": bool(layer.input_grad)} for layer in model.layers]


class Torch:
    name = "torch"

    def __init__(self):
        import torch

        self.torch = torch

    def build(self):
        nn = self.torch.nn
        self.torch.manual_seed(SEED)
        dims = (784, *HIDDEN, CLASSES)
        layers = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [nn.Linear(a, b), nn.ReLU()]
        module = nn.Sequential(*layers[:-1])  # logits out: CrossEntropyLoss applies log-softmax
        return module, self.torch.optim.Adam(module.parameters(), lr=LEARNING_RATE)

    def fit(self, model, x, y, batch_size):
        torch = self.torch
        module, optimizer = model
        loss_fn = torch.nn.CrossEntropyLoss()
        inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
        module.train()
        order = torch.randperm(len(inputs))
        for start in range(0, len(inputs), batch_size):
            idx = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(module(inputs[idx]), targets[idx])
            loss.backward()
            optimizer.step()
        return model

    def predict(self, model, x):
        module, _ = model
        module.eval()
        with self.torch.inference_mode():
            return self.torch.softmax(module(self.torch.from_numpy(x)), dim=1).numpy()

    def predictor(self, model, x):
        """One ``inference_mode`` forward on a ready tensor (entering the mode included)."""
        module, _ = model
        module.eval()
        tensor, torch = self.torch.from_numpy(np.ascontiguousarray(x)), self.torch

        def call():
            with torch.inference_mode():
                return module(tensor)
        return call


class Sklearn:
    name = "sklearn"

    def __init__(self):
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        # max_iter=1 is one epoch on purpose; the warning that it did not converge is noise
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        self.cls = MLPClassifier

    def build(self):
        return self.cls(hidden_layer_sizes=HIDDEN, solver="adam", learning_rate_init=LEARNING_RATE,
                        max_iter=1, random_state=SEED)

    def fit(self, model, x, y, batch_size):
        return model.set_params(batch_size=batch_size).fit(x, y)

    def predict(self, model, x):
        return model.predict_proba(x)


class OnnxRuntime:
    """ONNX Runtime serving feedforward's model: predict only (it does not train).

    The untrained feedforward model of ``Feedforward.build`` is exported with ``export_onnx``
    (its softmax included) and run by an ``InferenceSession`` on the CPU with ``threads`` intra-op
    threads, as a service would load it.
    """

    name = "onnxruntime"
    threads = 1

    def __init__(self):
        import onnxruntime

        self.ort = onnxruntime

    def build(self):
        import os
        import tempfile

        model = Feedforward().build()
        model.build(784)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.onnx")
            model.export_onnx(path)
            options = self.ort.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = self.threads, 1
            session = self.ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        return session, session.get_inputs()[0].name

    def predict(self, model, x):
        session, name = model
        return session.run(None, {name: np.ascontiguousarray(x, np.float32)})[0]

    def predictor(self, model, x):
        """One ``session.run`` on a ready float32 array."""
        session, name = model
        feed = {name: np.ascontiguousarray(x, np.float32)}
        return lambda: session.run(None, feed)


PEERS = {"feedforward": Feedforward, "torch": Torch, "sklearn": Sklearn,
         "onnxruntime": OnnxRuntime}
FIT_ONLY, PREDICT_ONLY = {"sklearn"}, {"onnxruntime"}
ALIASES = {"ff": "feedforward", "pytorch": "torch", "sk": "sklearn", "scikit-learn": "sklearn",
           "ort": "onnxruntime"}


def resolve(name: str) -> str:
    """The canonical peer name for ``name`` (``ff`` -> ``feedforward``)."""
    name = ALIASES.get(name.strip().lower(), name.strip().lower())
    if name not in PEERS:
        known = sorted(PEERS) + sorted(ALIASES)
        raise ValueError(f"unknown peer {name!r}; expected one of {known}")
    return name
