"""The main job: train an MLP on scikit-learn's digits, report test accuracy, save the model."""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import feedforward as ff

x, y = load_digits(return_X_y=True)
x = x / 16.0  # pixel intensities 0..16 -> [0, 1]
x_train, x_test, y_train, y_test = train_test_split(
    x, y, test_size=0.2, stratify=y, random_state=0)

model = ff.Sequential([
    ff.Dense(128, activation="relu", kernel_initializer="he_uniform"),
    ff.Dropout(0.2),
    ff.Dense(64, activation="relu", kernel_initializer="he_uniform"),
    ff.Dense(10, activation="softmax"),
], input_dim=64, seed=0)
model.compile(optimizer=ff.optimizers.SGD(learning_rate=0.1),
              loss="categorical_crossentropy", metrics=["accuracy"])
model.summary()
model.fit(x_train, y_train, epochs=60, batch_size=32, validation_split=0.1, verbose=1)

loss, accuracy = model.evaluate(x_test, y_test)
print(f"test loss {loss:.4f}  test accuracy {accuracy:.2%}")
print("confusion matrix (rows: true digit, columns: predicted):")
print(ff.metrics.confusion_matrix(y_test, model.predict(x_test), num_classes=10))

out = Path("runs/demo")
out.mkdir(parents=True, exist_ok=True)
model.save(out / "digits.safetensors")
reloaded = ff.load_model(out / "digits.safetensors")
assert np.array_equal(reloaded.predict(x_test), model.predict(x_test))
print(f"saved to {out / 'digits.safetensors'} (reloaded: identical predictions)")
